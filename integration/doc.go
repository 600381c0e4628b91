// Package integration drives a placement server with real OpenStack
// clients (gophercloud v2's placement v1 package). It is a separate module
// so that the main module does not depend on gophercloud.
package integration
