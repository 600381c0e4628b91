package memstore

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goplacement/placement"
)

// TestHashIndex checks a hashIndex against a map through random inserts,
// replacements and removals, with a seed that makes many hashes collide in
// a small table (so that probing and backward shifts wrap around).
func TestHashIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		x := newHashIndex[*provider]()
		want := map[string]*provider{}
		keys := make([]string, 40+round*20)
		for i := range keys {
			keys[i] = fmt.Sprintf("p%d-%d", round, i)
		}
		for step := range 5000 {
			k := keys[rng.IntN(len(keys))]
			p := want[k]
			switch op := rng.IntN(3); {
			case p == nil:
				p = &provider{rec: placement.ResourceProvider{UUID: k}}
				x.put(p)
				want[k] = p
			case op == 0:
				x.remove(k)
				delete(want, k)
			case op == 1:
				q := &provider{rec: p.rec} // a moved object (see move)
				x.replace(q)
				want[k] = q
			default:
				x.remove("absent-" + k) // a miss changes nothing
			}
			if x.n != len(want) {
				t.Fatalf("round %d step %d: %d entries, want %d", round, step, x.n, len(want))
			}
			if step%97 == 0 || len(want) < 8 {
				if err := checkIndex(&x); err != nil {
					t.Fatalf("round %d step %d: %v", round, step, err)
				}
				for _, k := range keys {
					if got := x.get(k); got != want[k] {
						t.Fatalf("round %d step %d: get(%s) = %p, want %p", round, step, k, got, want[k])
					}
				}
			}
		}
	}
}
