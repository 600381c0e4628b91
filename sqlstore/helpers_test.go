package sqlstore_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement/placementtest"
)

// assertState fails t when two dumps differ.
func assertState(t testing.TB, what string, want, got placementtest.State) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s (-want +got):\n%s", what, d)
	}
}
