package memstore_test

import (
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementtest"
)

func TestConformance(t *testing.T) {
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return memstore.New() })
}
