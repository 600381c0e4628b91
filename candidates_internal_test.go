package placement

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The dense and the sparse lazy permutations draw the same sequence.
func TestLazyPermDenseSparse(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000} {
		dense := newLazyPerm(n, rand.New(rand.NewPCG(9, anchorStream)), 0)
		sparse := &lazyPerm{n: n, rng: rand.New(rand.NewPCG(9, anchorStream)), sparse: map[int]int{}}
		var a, b []int
		for dense.left() > 0 {
			a = append(a, dense.next())
			b = append(b, sparse.next())
		}
		if !slices.Equal(a, b) {
			t.Fatalf("n=%d: dense %v, sparse %v", n, a, b)
		}
		slices.Sort(a)
		for i := range a {
			if a[i] != i {
				t.Fatalf("n=%d: not a permutation: %v", n, a)
			}
		}
	}
}

// SetCandidatesFastPath turns the planner's path for trees of one provider
// (visitFast) on or off, returning the previous setting: the tests of
// package placement_test compare both paths.
func SetCandidatesFastPath(on bool) bool { return !candNoFastPath.Swap(!on) }

// HoldCandidateBuffer marks b as in use, as a call building an answer in it
// does, until the returned function is called.
func HoldCandidateBuffer(b *CandidateBuffer) (release func()) {
	b.mu.Lock()
	return b.mu.Unlock
}
