package main

import (
	"net"

	"github.com/goplacement/placement/placementhttp"
)

// newLenientListener lets requests with a non-integer Content-Length reach
// the handler (Placement answers them with a specific 400).
func newLenientListener(ln net.Listener) net.Listener { return placementhttp.LenientListener(ln) }
