package placement_test

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/goplacement/placement"
)

// Property tests of the capacity core with pgregory.net/rapid.
//
// Each property runs rapid's default number of checks (100), which keeps the
// whole package test fast. For a heavier run use rapid's own flags, e.g.
//
//	go test -run 'Prop' -rapid.checks=100000 -rapid.steps=200 .
//
// (-rapid.seed reproduces a run; failures are saved under testdata/rapid.)

// genInt64 draws int64s biased towards the interesting ones: small values,
// the int64 and Placement boundaries, the edge of exact doubles (2^53) and
// arbitrary values.
func genInt64() *rapid.Generator[int64] {
	return rapid.OneOf(
		rapid.Int64(),
		rapid.Int64Range(-64, 64),
		rapid.Int64Range(-placement.MaxInt, placement.MaxInt),
		rapid.Int64Range(1<<53-4096, 1<<53+4096),
		rapid.Int64Range(math.MaxInt64-4096, math.MaxInt64),
		rapid.Int64Range(math.MinInt64, math.MinInt64+4096),
		rapid.SampledFrom(extremeInts),
	)
}

// genFiniteFloat draws finite doubles: any bit pattern, small ranges, and
// the values a ratio typically takes.
func genFiniteFloat() *rapid.Generator[float64] {
	bits := rapid.Map(rapid.Uint64(), math.Float64frombits)
	return rapid.OneOf(
		bits.Filter(func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }),
		rapid.Float64(),
		rapid.Float64Range(-4, 4),
		rapid.Float64Range(-0x1p64, 0x1p64),
		rapid.SampledFrom([]float64{0, negZ, 0.1, 0.5, 0.7, 1, 1.5, 16, placement.MaxAllocationRatio,
			math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, two63, -two63,
			math.Nextafter(two63, 0), math.Nextafter(-two63, negInf)}),
	)
}

// genRatio draws finite ratios >= 0.
func genRatio() *rapid.Generator[float64] {
	return genFiniteFloat().Filter(func(f float64) bool { return f >= 0 })
}

// refCapacity computes the capacity with math/big: the difference total -
// reserved exactly (big.Int), rounded to 53 bits (what float64(int64) does),
// times the ratio rounded to 53 bits: the IEEE double product, without using
// float64 arithmetic. When the difference does not fit in an int64 the core
// documents that it subtracts in float64, and the reference does the same
// (each operand rounded to 53 bits, then the difference rounded).
func refCapacity(total, reserved int64, ratio float64) *big.Float {
	d := new(big.Int).Sub(big.NewInt(total), big.NewInt(reserved))
	df := new(big.Float).SetPrec(53)
	if d.IsInt64() {
		df.SetInt(d)
	} else {
		t := new(big.Float).SetPrec(53).SetInt64(total)
		r := new(big.Float).SetPrec(53).SetInt64(reserved)
		df.Sub(t, r)
	}
	return new(big.Float).SetPrec(53).Mul(df, new(big.Float).SetPrec(53).SetFloat64(ratio))
}

// refFits: used + amount (exact, big.Int) is an int64 and is at most the
// reference capacity (exact comparison).
func refFits(used, amount int64, capacity *big.Float) bool {
	s := new(big.Int).Add(big.NewInt(used), big.NewInt(amount))
	return s.IsInt64() && new(big.Float).SetInt(s).Cmp(capacity) <= 0
}

// refTruncClamp truncates toward zero and clamps to the int64 range.
func refTruncClamp(c *big.Float) int64 {
	i, _ := c.Int(nil)
	switch {
	case i.Cmp(big.NewInt(math.MaxInt64)) > 0:
		return math.MaxInt64
	case i.Cmp(big.NewInt(math.MinInt64)) < 0:
		return math.MinInt64
	}
	return i.Int64()
}

// Property 1: capacity is non-decreasing in total and non-increasing in
// reserved (for a finite ratio >= 0), and monotone in the ratio in the
// direction of total - reserved's sign. CapacityInt follows.
func TestPropCapacityMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genInt64().Draw(t, "total1"), genInt64().Draw(t, "total2")
		r1, r2 := genInt64().Draw(t, "reserved1"), genInt64().Draw(t, "reserved2")
		x, y := genRatio().Draw(t, "ratio1"), genRatio().Draw(t, "ratio2")
		a, b = min(a, b), max(a, b)
		r1, r2 = min(r1, r2), max(r1, r2)
		x, y = min(x, y), max(x, y)

		if ca, cb := placement.Capacity(a, r1, x), placement.Capacity(b, r1, x); !(ca <= cb) {
			t.Fatalf("not monotone in total: Capacity(%d, %d, %v) = %v > Capacity(%d, ...) = %v", a, r1, x, ca, b, cb)
		}
		if ca, cb := placement.CapacityInt(a, r1, x), placement.CapacityInt(b, r1, x); ca > cb {
			t.Fatalf("CapacityInt not monotone in total: %d > %d", ca, cb)
		}
		if c1, c2 := placement.Capacity(a, r1, x), placement.Capacity(a, r2, x); !(c1 >= c2) {
			t.Fatalf("not anti-monotone in reserved: Capacity(%d, %d, %v) = %v < Capacity(%d, %d, %v) = %v", a, r1, x, c1, a, r2, x, c2)
		}
		if c1, c2 := placement.CapacityInt(a, r1, x), placement.CapacityInt(a, r2, x); c1 < c2 {
			t.Fatalf("CapacityInt not anti-monotone in reserved: %d < %d", c1, c2)
		}
		cx, cy := placement.Capacity(a, r1, x), placement.Capacity(a, r1, y)
		ix, iy := placement.CapacityInt(a, r1, x), placement.CapacityInt(a, r1, y)
		if a >= r1 { // (a - r1 fits or is a large positive: the difference is >= 0)
			if !(cx <= cy) || ix > iy {
				t.Fatalf("not monotone in ratio: Capacity(%d, %d, %v) = %v > Capacity(..., %v) = %v", a, r1, x, cx, y, cy)
			}
		} else if !(cx >= cy) || ix < iy {
			t.Fatalf("not anti-monotone in ratio for a negative difference: %v < %v", cx, cy)
		}
	})
}

// Property 2: a sequence of random allocation writes, each applied only if
// CheckUnits accepts every amount and CheckWrite accepts every class, never
// takes usage above capacity; only an inventory shrink can, and while usage
// is above capacity it never increases.
func TestPropCapacityAllocationWrites(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newAllocModel(t)
		t.Repeat(map[string]func(*rapid.T){
			"write":           m.write,
			"shrinking write": m.shrink,
			"delete":          m.delete,
			"new inventory":   m.reshape,
			"":                m.invariant,
		})
	})
}

const modelConsumers = 4

type allocModel struct {
	invs  []placement.Inventory
	usage []int64   // per class
	held  [][]int64 // per consumer, per class
	// ceiling[k] >= 0 when class k was put over capacity by an inventory
	// change: usage may not exceed it until it is back within capacity.
	ceiling []int64
}

func genModelInventory(t *rapid.T, label string) placement.Inventory {
	total := rapid.Int64Range(1, 30).Draw(t, label+".total")
	i := placement.NewInventory("CUSTOM_X", total)
	i.Reserved = rapid.Int64Range(0, total).Draw(t, label+".reserved")
	i.MinUnit = rapid.Int64Range(1, 3).Draw(t, label+".min_unit")
	i.MaxUnit = rapid.Int64Range(i.MinUnit, 30).Draw(t, label+".max_unit")
	i.StepSize = rapid.Int64Range(1, 3).Draw(t, label+".step_size")
	i.AllocationRatio = rapid.OneOf(
		rapid.SampledFrom([]float64{0, 0.1, 0.5, 0.7, 1, 1.5, 2, 16}),
		rapid.Float64Range(0, 4),
	).Draw(t, label+".allocation_ratio")
	if err := i.Validate(); err != nil {
		t.Fatalf("generated inventory %+v: %v", i, err)
	}
	return i
}

// genBatchInventory is genModelInventory with more room, so that batches
// of several entries fit often enough.
func genBatchInventory(t *rapid.T, label string) placement.Inventory {
	total := rapid.Int64Range(1, 60).Draw(t, label+".total")
	i := placement.NewInventory("CUSTOM_X", total)
	i.Reserved = rapid.Int64Range(0, total/4).Draw(t, label+".reserved")
	i.MinUnit = rapid.Int64Range(1, 3).Draw(t, label+".min_unit")
	i.MaxUnit = rapid.Int64Range(i.MinUnit, 30).Draw(t, label+".max_unit")
	i.StepSize = rapid.Int64Range(1, 3).Draw(t, label+".step_size")
	i.AllocationRatio = rapid.OneOf(
		rapid.SampledFrom([]float64{0.7, 1, 1.5, 2, 16}),
		rapid.Float64Range(0.5, 4),
	).Draw(t, label+".allocation_ratio")
	if err := i.Validate(); err != nil {
		t.Fatalf("generated inventory %+v: %v", i, err)
	}
	return i
}

func newAllocModel(t *rapid.T) *allocModel {
	n := rapid.IntRange(1, 3).Draw(t, "classes")
	m := &allocModel{usage: make([]int64, n), ceiling: make([]int64, n), held: make([][]int64, modelConsumers)}
	for k := 0; k < n; k++ {
		m.invs = append(m.invs, genModelInventory(t, fmt.Sprintf("inv%d", k)))
		m.ceiling[k] = -1
	}
	for c := range m.held {
		m.held[c] = make([]int64, n)
	}
	return m
}

// over is the model's own capacity test: the values are small, so float64
// compares exactly.
func (m *allocModel) over(k int, used int64) bool {
	return float64(used) > float64(m.invs[k].Total-m.invs[k].Reserved)*m.invs[k].AllocationRatio
}

func (m *allocModel) write(t *rapid.T)  { m.doWrite(t, false) }
func (m *allocModel) shrink(t *rapid.T) { m.doWrite(t, true) }

// doWrite replaces one consumer's allocations; a shrinking write keeps or
// lowers every amount (the over-capacity escape's shape).
func (m *allocModel) doWrite(t *rapid.T, shrinking bool) {
	c := rapid.IntRange(0, modelConsumers-1).Draw(t, "consumer")
	amounts := make([]int64, len(m.invs)) // 0: the class is not in the write
	for k := range amounts {
		amounts[k] = m.genAmount(t, c, k, shrinking)
	}
	accepted, want := true, true
	for k, a := range amounts {
		if a == 0 {
			continue // the class is not in the write: only decreases
		}
		in := m.invs[k]
		before := m.usage[k]
		other := before - m.held[c][k]
		if placement.CheckUnits(a, in.MinUnit, in.MaxUnit, in.StepSize) != placement.ReasonNone ||
			in.CheckWrite(before, other, a) != placement.ReasonNone {
			accepted = false
		}
		unitsOK := a >= in.MinUnit && a <= in.MaxUnit && a%in.StepSize == 0
		after := other + a
		if !unitsOK || (m.over(k, after) && !(before > 0 && after <= before)) {
			want = false
		}
	}
	if accepted != want {
		t.Fatalf("write %v by consumer %d: accepted %v, model says %v (usage %v, held %v, inventories %+v)",
			amounts, c, accepted, want, m.usage, m.held[c], m.invs)
	}
	if !accepted {
		return
	}
	for k, a := range amounts {
		before := m.usage[k]
		after := before - m.held[c][k] + a
		if m.over(k, after) {
			if !m.over(k, before) {
				t.Fatalf("class %d: write took usage from %d to %d above capacity %v", k, before, after, m.invs[k].Capacity())
			}
			if after > before {
				t.Fatalf("class %d: usage above capacity increased from %d to %d", k, before, after)
			}
			m.ceiling[k] = after
		} else {
			m.ceiling[k] = -1
		}
		m.usage[k], m.held[c][k] = after, a
	}
}

// genAmount draws consumer c's new amount of class k: none, the same as
// now, a valid amount, a valid amount not above the current one (the shapes
// of the over-capacity escape), or anything.
func (m *allocModel) genAmount(t *rapid.T, c, k int, shrinking bool) int64 {
	in, held := m.invs[k], m.held[c][k]
	lo := (in.MinUnit + in.StepSize - 1) / in.StepSize // smallest valid multiple of the step, in steps
	hi := in.MaxUnit / in.StepSize
	label := fmt.Sprintf("amount%d", k)
	kinds := rapid.IntRange(0, 4)
	if shrinking {
		kinds = rapid.IntRange(1, 3)
	}
	switch kinds.Draw(t, label+".kind") {
	case 0:
		return 0
	case 1:
		return held
	case 2:
		if lo <= hi {
			return in.StepSize * rapid.Int64Range(lo, min(hi, lo+12)).Draw(t, label)
		}
	case 3:
		if h := min(hi, held/in.StepSize); lo <= h {
			return in.StepSize * rapid.Int64Range(lo, h).Draw(t, label)
		}
	}
	return rapid.Int64Range(0, 35).Draw(t, label)
}

func (m *allocModel) delete(t *rapid.T) {
	c := rapid.IntRange(0, modelConsumers-1).Draw(t, "consumer")
	for k := range m.invs {
		m.usage[k] -= m.held[c][k]
		m.held[c][k] = 0
		if m.over(k, m.usage[k]) {
			m.ceiling[k] = m.usage[k]
		} else {
			m.ceiling[k] = -1
		}
	}
}

func (m *allocModel) reshape(t *rapid.T) {
	k := rapid.IntRange(0, len(m.invs)-1).Draw(t, "class")
	m.invs[k] = genModelInventory(t, "new")
	if m.over(k, m.usage[k]) {
		m.ceiling[k] = m.usage[k]
	} else {
		m.ceiling[k] = -1
	}
}

func (m *allocModel) invariant(t *rapid.T) {
	for k := range m.invs {
		var sum int64
		for c := range m.held {
			sum += m.held[c][k]
		}
		if sum != m.usage[k] || sum < 0 {
			t.Fatalf("class %d: usage %d, allocations sum to %d", k, m.usage[k], sum)
		}
		if m.over(k, m.usage[k]) && (m.ceiling[k] < 0 || m.usage[k] > m.ceiling[k]) {
			t.Fatalf("class %d: usage %d above capacity %v without a shrink (ceiling %d)", k, m.usage[k], m.invs[k].Capacity(), m.ceiling[k])
		}
		// Over capacity exactly when the core says so.
		if got := !placement.AtMost(m.usage[k], m.invs[k].Capacity()); got != m.over(k, m.usage[k]) {
			t.Fatalf("class %d: AtMost disagrees with the model at usage %d, capacity %v", k, m.usage[k], m.invs[k].Capacity())
		}
	}
}

// Property 3: a batch of (provider, class, amount) entries fits iff every
// amount meets min/max/step and every per-provider, per-class sum fits; the
// verdict does not depend on the order of the entries, and checking the
// entries one at a time with Inventory.Check (adding each accepted amount to
// the usage) gives the same verdict in any order.
func TestPropCapacityBatchOrder(t *testing.T) {
	type key struct{ p, c int }
	type entry struct {
		key
		amount int64
	}
	rapid.Check(t, func(t *rapid.T) {
		invs := map[key]placement.Inventory{}
		used := map[key]int64{}
		for p := 0; p < 3; p++ {
			for c := 0; c < 2; c++ {
				k := key{p, c}
				if rapid.IntRange(0, 7).Draw(t, fmt.Sprintf("has%v", k)) == 7 {
					continue // no inventory of this class on this provider
				}
				in := genBatchInventory(t, fmt.Sprintf("inv%v", k))
				invs[k] = in
				used[k] = rapid.Int64Range(0, in.CapacityInt()/4+1).Draw(t, fmt.Sprintf("used%v", k))
			}
		}
		var keys []key
		for p := 0; p < 3; p++ {
			for c := 0; c < 2; c++ {
				if _, ok := invs[key{p, c}]; ok {
					keys = append(keys, key{p, c})
				}
			}
		}
		// Entries mostly name an existing inventory with a valid amount, so
		// that the capacity decides; sometimes anything.
		genEntry := rapid.Custom(func(t *rapid.T) entry {
			if len(keys) == 0 || rapid.IntRange(0, 24).Draw(t, "wild") == 24 {
				return entry{key{rapid.IntRange(0, 2).Draw(t, "p"), rapid.IntRange(0, 1).Draw(t, "c")}, rapid.Int64Range(0, 20).Draw(t, "amount")}
			}
			k := rapid.SampledFrom(keys).Draw(t, "key")
			in := invs[k]
			lo, hi := (in.MinUnit+in.StepSize-1)/in.StepSize, in.MaxUnit/in.StepSize
			if lo > hi {
				return entry{k, rapid.Int64Range(0, 20).Draw(t, "amount")}
			}
			return entry{k, in.StepSize * rapid.Int64Range(lo, min(hi, lo+2)).Draw(t, "steps")}
		})
		batch := rapid.SliceOfN(genEntry, 1, 6).Draw(t, "batch")

		// verdict: units of each entry, then each per-key sum with CheckWrite
		// (a new consumer: before == other == used).
		verdict := func(b []entry) bool {
			sums := map[key]int64{}
			for _, e := range b {
				in, ok := invs[e.key]
				if !ok || placement.CheckUnits(e.amount, in.MinUnit, in.MaxUnit, in.StepSize) != placement.ReasonNone {
					return false
				}
				sums[e.key] += e.amount
			}
			for k, s := range sums {
				in := invs[k]
				if in.CheckWrite(used[k], used[k], s) != placement.ReasonNone {
					return false
				}
			}
			return true
		}
		sequential := func(b []entry) bool {
			acc := map[key]int64{}
			for _, e := range b {
				in, ok := invs[e.key]
				if !ok || in.Check(used[e.key]+acc[e.key], e.amount) != placement.ReasonNone {
					return false
				}
				acc[e.key] += e.amount
			}
			return true
		}
		// reference: plain arithmetic on small values.
		want := func() bool {
			sums := map[key]int64{}
			for _, e := range batch {
				in, ok := invs[e.key]
				if !ok || e.amount < in.MinUnit || e.amount > in.MaxUnit || e.amount%in.StepSize != 0 {
					return false
				}
				sums[e.key] += e.amount
			}
			for k, s := range sums {
				in := invs[k]
				if float64(used[k]+s) > float64(in.Total-in.Reserved)*in.AllocationRatio {
					return false
				}
			}
			return true
		}()
		perm := rapid.Permutation(batch).Draw(t, "permutation")
		got := []bool{verdict(batch), verdict(perm), sequential(batch), sequential(perm)}
		for i, g := range got {
			if g != want {
				t.Fatalf("verdict %d (batch, permuted, sequential, sequential permuted) = %v, want %v; batch %v, permuted %v, inventories %+v, used %v",
					i, g, want, batch, perm, invs, used)
			}
		}
	})
}

// Property 4: Capacity is the IEEE product, and Fits and AtMost agree with
// exact math/big arithmetic for arbitrary int64 inputs and finite ratios.
func TestPropFitsMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total, reserved := genInt64().Draw(t, "total"), genInt64().Draw(t, "reserved")
		ratio := genFiniteFloat().Draw(t, "ratio")
		used, amount := genInt64().Draw(t, "used"), genInt64().Draw(t, "amount")

		ref := refCapacity(total, reserved, ratio)
		c := placement.Capacity(total, reserved, ratio)
		if rf, _ := ref.Float64(); rf != c || math.Signbit(rf) != math.Signbit(c) {
			t.Fatalf("Capacity(%d, %d, %v) = %v, reference %v", total, reserved, ratio, c, rf)
		}
		if got, want := placement.Fits(used, amount, c), refFits(used, amount, ref); got != want {
			t.Fatalf("Fits(%d, %d, %v) = %v, reference %v", used, amount, c, got, want)
		}
		in := placement.Inventory{Total: total, Reserved: reserved, MinUnit: math.MinInt64, MaxUnit: math.MaxInt64, StepSize: 1, AllocationRatio: ratio}
		if got, want := in.Check(used, amount) == placement.ReasonNone, refFits(used, amount, ref); got != want {
			t.Fatalf("Check(%d, %d) on capacity %v = %v, reference %v", used, amount, c, got, want)
		}

		// AtMost against any double, infinities included.
		n := genInt64().Draw(t, "n")
		x := rapid.OneOf(genFiniteFloat(), rapid.SampledFrom([]float64{posInf, negInf}),
			rapid.Map(genInt64(), func(i int64) float64 { return float64(i) })).Draw(t, "x")
		if got, want := placement.AtMost(n, x), new(big.Float).SetInt64(n).Cmp(big.NewFloat(x)) <= 0; got != want {
			t.Fatalf("AtMost(%d, %v) = %v, want %v", n, x, got, want)
		}
		if placement.AtMost(n, math.NaN()) {
			t.Fatalf("AtMost(%d, NaN) = true", n)
		}
	})
}

// Property 5: CapacityInt is the exact product truncated toward zero and
// clamped to the int64 range.
func TestPropCapacityIntMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total, reserved := genInt64().Draw(t, "total"), genInt64().Draw(t, "reserved")
		ratio := genFiniteFloat().Draw(t, "ratio")
		want := refTruncClamp(refCapacity(total, reserved, ratio))
		if got := placement.CapacityInt(total, reserved, ratio); got != want {
			t.Fatalf("CapacityInt(%d, %d, %v) = %d, want %d", total, reserved, ratio, got, want)
		}
	})
}

// TestCapacityOverflowPathVersusExactDifference documents what the float64 fallback
// of Capacity (used only when total - reserved overflows an int64, which
// validated inventories never do) gives compared with rounding the exact
// difference once.
func TestCapacityOverflowPathVersusExactDifference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := rapid.Int64Range(1<<62, math.MaxInt64).Draw(t, "total")
		reserved := rapid.Int64Range(math.MinInt64, -1<<62).Draw(t, "reserved")
		d := new(big.Int).Sub(big.NewInt(total), big.NewInt(reserved))
		if d.IsInt64() {
			t.Skip("no overflow")
		}
		exact, _ := new(big.Float).SetPrec(53).SetInt(d).Float64()
		if got := placement.Capacity(total, reserved, 1); got != exact {
			// Double rounding may differ from a single rounding by one ulp.
			if math.Abs(got-exact) > 2*(math.Nextafter(exact, posInf)-exact) {
				t.Fatalf("Capacity(%d, %d, 1) = %v, exact difference rounds to %v", total, reserved, got, exact)
			}
		}
	})
}
