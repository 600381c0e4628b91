package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The list parameters' encoders write JSON that decodes to exactly their
// input (the fast path for plain strings and the fallback alike).
func TestListArgRoundTrip(t *testing.T) {
	vals := []string{"", "a", "7f3b0a4e-0000-4000-8000-000000000001", `quote " here`, `back\slash`, "tab\there",
		"nul \x00 one \x01", "<html> & amp", "ünïcödé ✓ 𝄞", "\u2028\u2029", "%_", "'; DROP TABLE x; --"}
	s := &Store{dialect: SQLite}
	var got []string
	if err := json.Unmarshal([]byte(s.listArg(vals)), &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(vals, got); d != "" {
		t.Errorf("listArg round trip (-want +got):\n%s", d)
	}
	// Invalid UTF-8 is left out.
	if err := json.Unmarshal([]byte(s.listArg([]string{"x", "\xff"})), &got); err != nil || !cmp.Equal(got, []string{"x"}) {
		t.Errorf("listArg with invalid UTF-8: %q, %v", got, err)
	}
	ids := []int64{0, 1, -5, 1 << 62}
	var gotIDs []int64
	if err := json.Unmarshal([]byte(idsArg(ids)), &gotIDs); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ids, gotIDs); d != "" {
		t.Errorf("idsArg round trip (-want +got):\n%s", d)
	}
	if idsArg(nil) != "[]" || s.listArg(nil) != "[]" {
		t.Errorf("empty lists: %s %s", idsArg(nil), s.listArg(nil))
	}
}
