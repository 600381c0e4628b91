package placement_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
)

// Table tests of the pure capacity core (capacity.go) and Inventory.Validate
// (DESIGN rule 4). Expected values are Python's: Python's float is an IEEE-754
// double, int * float converts the int to a double, and int <= float compares
// exact mathematical values.

const (
	minI64 = math.MinInt64
	maxI64 = math.MaxInt64
)

var (
	nan    = math.NaN()
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
	negZ   = math.Copysign(0, -1)
	two63  = 0x1p63 // 2^63, the first double above MaxInt64
)

// mul multiplies at run time: Go folds constant expressions exactly
// (10 * 0.7 is the constant 7 before any rounding), so expected IEEE products
// are computed through variables.
func mul(a, b float64) float64 { return a * b }

// sameFloat is == except that NaN equals NaN.
func sameFloat(a, b float64) bool { return a == b || (a != a && b != b) }

func TestCapacity(t *testing.T) {
	tests := []struct {
		name            string
		total, reserved int64
		ratio           float64
		want            float64
	}{
		// Python: (10 - 0) * 0.7 == 7.0. The exact product of 10 and the double
		// 0.7 (0.6999999999999999555910790149937...) is 7 - 2^-51, exactly halfway
		// between 7 - 2^-50 and 7; ties-to-even gives 7.0 (not 7.000000000000001
		// and not 6.999999999999999).
		{"10x0.7 is exactly 7", 10, 0, 0.7, 7},
		{"3x0.1", 3, 0, 0.1, 0.30000000000000004},
		{"16x0.7", 16, 0, 0.7, 11.2},
		{"1x1.1", 1, 0, 1.1, 1.1},
		{"reserved", 100, 10, 1.5, 135},
		{"reserved equals total", 5, 5, 16, 0},
		{"reserved above total", 5, 7, 2, -4},
		{"ratio 0", 10, 0, 0, 0},
		{"ratio 16", 1024, 24, 16, 16000},
		{"validated maximum", placement.MaxInt, 0, placement.MaxAllocationRatio, mul(placement.MaxInt, placement.MaxAllocationRatio)},
		{"validated maximum minus reserved", placement.MaxInt, placement.MaxInt - 1, placement.MaxAllocationRatio, placement.MaxAllocationRatio},
		{"large total rounds to double", 1<<53 + 1, 0, 1, 1 << 53},
		{"max int64", maxI64, 0, 1, two63},
		{"min int64", minI64, 0, 1, -two63},
		{"max minus min overflows, done in float64", maxI64, minI64, 1, 0x1p64},
		{"min minus max overflows, done in float64", minI64, maxI64, 1, -0x1p64},
		{"max minus -1 overflows", maxI64, -1, 1, two63},
		{"min minus 1 overflows", minI64, 1, 1, -two63},
		{"max int64 times max float64", maxI64, minI64, math.MaxFloat64, posInf},
		{"NaN ratio", 10, 0, nan, nan},
		{"+Inf ratio", 10, 0, posInf, posInf},
		{"-Inf ratio", 10, 0, negInf, negInf},
		{"0 x Inf is NaN", 10, 10, posInf, nan},
		{"negative ratio", 10, 0, -0.5, -5},
		{"negative zero ratio", 10, 0, negZ, 0},
		{"tiny ratio", 3, 0, math.SmallestNonzeroFloat64, mul(3, math.SmallestNonzeroFloat64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := placement.Capacity(tc.total, tc.reserved, tc.ratio)
			if !sameFloat(got, tc.want) {
				t.Errorf("Capacity(%d, %d, %v) = %v, want %v", tc.total, tc.reserved, tc.ratio, got, tc.want)
			}
			inv := placement.Inventory{Total: tc.total, Reserved: tc.reserved, AllocationRatio: tc.ratio}
			if m := inv.Capacity(); !sameFloat(m, got) {
				t.Errorf("Inventory.Capacity() = %v, package Capacity = %v", m, got)
			}
		})
	}
}

func TestCapacityInt(t *testing.T) {
	tests := []struct {
		name            string
		total, reserved int64
		ratio           float64
		want            int64
	}{
		{"10x0.7", 10, 0, 0.7, 7}, // Python: int(10 * 0.7) == 7
		{"3x0.1 truncates to 0", 3, 0, 0.1, 0},
		{"16x0.7 truncates", 16, 0, 0.7, 11},
		{"1.5", 3, 2, 1.5, 1},
		{"reserved above total", 5, 7, 2, -4},
		{"negative truncates toward zero", 1, 0, -0.5, 0},
		{"negative truncates toward zero 2", 3, 0, -0.5, -1},
		{"NaN gives 0", 10, 0, nan, 0},
		{"0 x Inf gives 0", 7, 7, posInf, 0},
		{"+Inf clamps", 1, 0, posInf, maxI64},
		{"-Inf clamps", 1, 0, negInf, minI64},
		{"validated maximum clamps", placement.MaxInt, 0, placement.MaxAllocationRatio, maxI64},
		{"exactly 2^63 clamps", 1 << 62, 0, 2, maxI64},
		{"largest double below 2^63", 1 << 62, 0, math.Nextafter(2, 0), 1<<63 - 1024},
		{"max int64 rounds up to 2^63 then clamps", maxI64, 0, 1, maxI64},
		{"exactly -2^63", -(1 << 62), 0, 2, minI64},
		{"below -2^63 clamps", -(1 << 62), 0, math.Nextafter(2, 3), minI64},
		{"overflowing subtraction clamps", maxI64, minI64, 1, maxI64},
		{"overflowing subtraction clamps low", minI64, maxI64, 1, minI64},
		{"integer above 2^53", 1<<53 + 2, 0, 1, 1<<53 + 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := placement.CapacityInt(tc.total, tc.reserved, tc.ratio); got != tc.want {
				t.Errorf("CapacityInt(%d, %d, %v) = %d, want %d", tc.total, tc.reserved, tc.ratio, got, tc.want)
			}
			inv := placement.Inventory{Total: tc.total, Reserved: tc.reserved, AllocationRatio: tc.ratio}
			if got := inv.CapacityInt(); got != tc.want {
				t.Errorf("Inventory.CapacityInt() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAtMost(t *testing.T) {
	tests := []struct {
		n    int64
		c    float64
		want bool
	}{
		{7, 7, true},
		{8, 7, false},
		{7, math.Nextafter(7, 8), true},
		{7, math.Nextafter(7, 0), false},
		{6, math.Nextafter(7, 0), true},
		{0, 0, true},
		{0, negZ, true},
		{0, math.SmallestNonzeroFloat64, true},
		{1, math.SmallestNonzeroFloat64, false},
		{0, -math.SmallestNonzeroFloat64, false},
		{-1, -0.5, true},
		{0, -0.5, false},
		{-1, -1.5, false},
		{-2, -1.5, true},
		// Exact comparison: 2^53+1 is not a double; rounding it first would
		// compare 2^53 <= 2^53 and wrongly say true (Python says False).
		{1<<53 + 1, 1 << 53, false},
		{1 << 53, 1 << 53, true},
		{1<<53 + 1, 1<<53 + 2, true},
		{maxI64, two63, true},
		{maxI64, 1<<63 - 1024, false},
		{1<<63 - 1024, 1<<63 - 1024, true},
		{1<<63 - 1023, 1<<63 - 1024, false},
		{maxI64, posInf, true},
		{minI64, posInf, true},
		{maxI64, math.MaxFloat64, true},
		{minI64, -two63, true},
		{minI64 + 1, -two63, false},
		{minI64, math.Nextafter(-two63, negInf), false},
		{minI64, -math.MaxFloat64, false},
		{minI64, negInf, false},
		{minI64, nan, false},
		{0, nan, false},
		{maxI64, nan, false},
		{minI64, math.Copysign(nan, -1), false},
	}
	for _, tc := range tests {
		if got := placement.AtMost(tc.n, tc.c); got != tc.want {
			t.Errorf("AtMost(%d, %v) = %v, want %v", tc.n, tc.c, got, tc.want)
		}
	}
}

func TestCheckUnits(t *testing.T) {
	tests := []struct {
		amount, min, max, step int64
		want                   placement.Reason
	}{
		{1, 1, 10, 1, placement.ReasonNone},
		{10, 1, 10, 1, placement.ReasonNone},
		{0, 1, 10, 1, placement.ReasonMinUnit},
		{11, 1, 10, 1, placement.ReasonMaxUnit},
		{4, 2, 10, 2, placement.ReasonNone},
		{5, 2, 10, 2, placement.ReasonStepSize},
		// Order: min_unit, then max_unit, then step_size.
		{1, 2, 10, 2, placement.ReasonMinUnit},
		{11, 2, 10, 2, placement.ReasonMaxUnit},
		{5, 6, 4, 1, placement.ReasonMinUnit}, // min > max refuses everything
		{6, 6, 4, 1, placement.ReasonMaxUnit},
		{-3, -10, 10, 3, placement.ReasonNone},
		{-4, -10, 10, 3, placement.ReasonStepSize},
		{0, 0, 0, 5, placement.ReasonNone},
		// A step below 1 refuses every amount instead of dividing by zero.
		{0, 0, 10, 0, placement.ReasonStepSize},
		{4, 0, 10, -1, placement.ReasonStepSize},
		{4, 0, 10, minI64, placement.ReasonStepSize},
		{minI64, minI64, maxI64, -1, placement.ReasonStepSize},
		{minI64, minI64, maxI64, 0, placement.ReasonStepSize},
		// int64 extremes.
		{minI64, minI64, maxI64, 1, placement.ReasonNone},
		{minI64, minI64, maxI64, 2, placement.ReasonNone},
		{minI64, minI64, maxI64, 3, placement.ReasonStepSize},
		{minI64, minI64 + 1, maxI64, 1, placement.ReasonMinUnit},
		{maxI64, 1, maxI64, maxI64, placement.ReasonNone},
		{maxI64, 1, maxI64 - 1, 1, placement.ReasonMaxUnit},
		{maxI64 - 1, 1, maxI64, maxI64, placement.ReasonStepSize},
		{placement.MaxInt, 1, placement.MaxInt, placement.MaxInt, placement.ReasonNone},
	}
	for _, tc := range tests {
		if got := placement.CheckUnits(tc.amount, tc.min, tc.max, tc.step); got != tc.want {
			t.Errorf("CheckUnits(%d, %d, %d, %d) = %v, want %v", tc.amount, tc.min, tc.max, tc.step, got, tc.want)
		}
	}
}

func TestFits(t *testing.T) {
	tests := []struct {
		used, amount int64
		capacity     float64
		want         bool
	}{
		{0, 7, 7, true},
		{3, 4, 7, true},
		{4, 4, 7, false},
		// DESIGN rule 4: 10 x 0.7 gives 7, so 7 units fit and 8 do not.
		{0, 7, placement.Capacity(10, 0, 0.7), true},
		{3, 4, placement.Capacity(10, 0, 0.7), true},
		{0, 8, placement.Capacity(10, 0, 0.7), false},
		{0, 11, placement.Capacity(16, 0, 0.7), true},
		{0, 12, placement.Capacity(16, 0, 0.7), false},
		{0, 1, placement.Capacity(3, 0, 0.1), false},
		{0, 0, placement.Capacity(3, 0, 0.1), true},
		{0, 1, 0, false},
		{0, 0, negZ, true},
		{5, -3, 2, true},
		{5, -2, 2, false},
		{1 << 53, 1, 1 << 53, false}, // exact: 2^53+1 > 2^53
		// An overflowing sum never fits, even an infinite capacity.
		{maxI64, 1, posInf, false},
		{1, maxI64, posInf, false},
		{minI64, -1, posInf, false},
		{-1, minI64, posInf, false},
		{maxI64, 0, posInf, true},
		{maxI64, 0, two63, true},
		{maxI64, 0, 1<<63 - 1024, false},
		{maxI64, minI64, -1, true}, // -1 <= -1, no overflow
		{minI64, 0, -two63, true},
		{0, 0, nan, false},
		{0, 0, negInf, false},
	}
	for _, tc := range tests {
		if got := placement.Fits(tc.used, tc.amount, tc.capacity); got != tc.want {
			t.Errorf("Fits(%d, %d, %v) = %v, want %v", tc.used, tc.amount, tc.capacity, got, tc.want)
		}
	}
}

func TestCheckReasonString(t *testing.T) {
	got := map[placement.Reason]string{}
	for _, r := range []placement.Reason{placement.ReasonNone, placement.ReasonNoInventory, placement.ReasonMinUnit,
		placement.ReasonMaxUnit, placement.ReasonStepSize, placement.ReasonCapacity, placement.Reason(200)} {
		got[r] = r.String()
	}
	want := map[placement.Reason]string{
		placement.ReasonNone:        "fits",
		placement.ReasonNoInventory: "no inventory",
		placement.ReasonMinUnit:     "below min_unit",
		placement.ReasonMaxUnit:     "above max_unit",
		placement.ReasonStepSize:    "not a multiple of step_size",
		placement.ReasonCapacity:    "capacity exceeded",
		placement.Reason(200):       "unknown reason",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Reason.String mismatch (-want +got):\n%s", diff)
	}
	if placement.ReasonNone != 0 {
		t.Errorf("the zero Reason must be ReasonNone")
	}
}

// inv builds an inventory for the tables below.
func inv(total, reserved, minUnit, maxUnit, step int64, ratio float64) placement.Inventory {
	return placement.Inventory{ResourceClass: "VCPU", Total: total, Reserved: reserved, MinUnit: minUnit,
		MaxUnit: maxUnit, StepSize: step, AllocationRatio: ratio}
}

func TestInventoryCheck(t *testing.T) {
	std := func(total int64, ratio float64) placement.Inventory {
		i := placement.NewInventory("VCPU", total)
		i.AllocationRatio = ratio
		return i
	}
	tests := []struct {
		name         string
		inv          placement.Inventory
		used, amount int64
		want         placement.Reason
	}{
		{"fits", std(10, 1), 0, 10, placement.ReasonNone},
		{"full", std(10, 1), 10, 1, placement.ReasonCapacity},
		{"10x0.7 takes 7", std(10, 0.7), 0, 7, placement.ReasonNone},
		{"10x0.7 takes 7 in two", std(10, 0.7), 3, 4, placement.ReasonNone},
		{"10x0.7 refuses 8", std(10, 0.7), 0, 8, placement.ReasonCapacity},
		{"3x0.1 refuses 1", std(3, 0.1), 0, 1, placement.ReasonCapacity},
		{"ratio 16", std(8, 16), 100, 28, placement.ReasonNone},
		{"ratio 16 full", std(8, 16), 100, 29, placement.ReasonCapacity},
		{"ratio 0 refuses everything", std(8, 0), 0, 1, placement.ReasonCapacity},
		{"reserved", inv(10, 3, 1, 10, 1, 1), 5, 2, placement.ReasonNone},
		{"reserved full", inv(10, 3, 1, 10, 1, 1), 5, 3, placement.ReasonCapacity},
		{"min unit first", inv(10, 0, 2, 10, 1, 1), 0, 1, placement.ReasonMinUnit},
		{"units before capacity (max)", inv(10, 0, 1, 4, 1, 1), 10, 5, placement.ReasonMaxUnit},
		{"units before capacity (step)", inv(10, 0, 1, 10, 2, 1), 10, 3, placement.ReasonStepSize},
		{"units before capacity (min)", inv(10, 0, 2, 10, 2, 1), 10, 0, placement.ReasonMinUnit},
		{"step fits", inv(10, 0, 2, 10, 2, 1), 6, 4, placement.ReasonNone},
		{"max_unit above total is allowed but capacity refuses", inv(4, 0, 1, 100, 1, 1), 0, 5, placement.ReasonCapacity},
		{"over capacity refuses more", inv(4, 0, 1, 100, 1, 1), 6, 1, placement.ReasonCapacity},
		{"NaN ratio refuses", inv(10, 0, 1, 10, 1, nan), 0, 1, placement.ReasonCapacity},
		{"+Inf ratio takes anything", inv(10, 0, 1, maxI64, 1, posInf), maxI64 - 5, 5, placement.ReasonNone},
		{"+Inf ratio, overflowing sum", inv(10, 0, 1, maxI64, 1, posInf), maxI64, 1, placement.ReasonCapacity},
		{"negative capacity", inv(1, 5, 1, 10, 1, 1), 0, 1, placement.ReasonCapacity},
		{"zero inventory refuses by step", placement.Inventory{}, 0, 0, placement.ReasonStepSize},
		{"negative used", std(10, 1), -5, 10, placement.ReasonNone},
		{"min int64 used", inv(10, 0, minI64, maxI64, 1, 1), minI64, -1, placement.ReasonCapacity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.inv.Check(tc.used, tc.amount); got != tc.want {
				t.Errorf("Check(%d, %d) on %+v = %v, want %v", tc.used, tc.amount, tc.inv, got, tc.want)
			}
		})
	}
}

func TestInventoryCheckWrite(t *testing.T) {
	cap10 := inv(10, 0, 1, 10, 1, 1)
	// shrunk: capacity 4, while 8 units are in use (an inventory write may
	// shrink below usage; Placement only warns).
	shrunk := inv(4, 0, 1, 10, 1, 1)
	tests := []struct {
		name                     string
		inv                      placement.Inventory
		before, other, requested int64
		want                     placement.Reason
	}{
		{"new consumer fits", cap10, 3, 3, 7, placement.ReasonNone},
		{"new consumer too big", cap10, 3, 3, 8, placement.ReasonCapacity},
		{"rewrite within capacity", cap10, 9, 4, 6, placement.ReasonNone},
		{"rewrite above capacity", cap10, 9, 4, 7, placement.ReasonCapacity},
		{"10x0.7 takes 7", inv(10, 0, 1, 10, 1, 0.7), 0, 0, 7, placement.ReasonNone},
		{"10x0.7 refuses 8", inv(10, 0, 1, 10, 1, 0.7), 0, 0, 8, placement.ReasonCapacity},
		// The over-capacity escape: usage 8 > capacity 4.
		{"over capacity: same total", shrunk, 8, 3, 5, placement.ReasonNone},
		{"over capacity: smaller total", shrunk, 8, 3, 2, placement.ReasonNone},
		{"over capacity: larger total", shrunk, 8, 3, 6, placement.ReasonCapacity},
		{"over capacity: new consumer", shrunk, 8, 8, 1, placement.ReasonCapacity},
		{"over capacity: back within capacity", shrunk, 8, 0, 4, placement.ReasonNone},
		// Without prior usage there is no escape: only the capacity counts.
		{"no prior usage, negative capacity", inv(1, 5, 1, 10, 1, 1), 0, 0, 0, placement.ReasonCapacity},
		{"no prior usage, NaN capacity", inv(10, 0, 1, 10, 1, nan), 0, 0, 0, placement.ReasonCapacity},
		{"no prior usage, zero capacity, nothing requested", inv(10, 0, 1, 10, 1, 0), 0, 0, 0, placement.ReasonNone},
		{"no prior usage, zero capacity", inv(10, 0, 1, 10, 1, 0), 0, 0, 1, placement.ReasonCapacity},
		{"negative prior usage", inv(1, 5, 1, 10, 1, 1), -1, -3, 0, placement.ReasonCapacity},
		{"prior usage, NaN capacity, no increase", inv(10, 0, 1, 10, 1, nan), 5, 2, 3, placement.ReasonNone},
		{"prior usage, NaN capacity, increase", inv(10, 0, 1, 10, 1, nan), 5, 2, 4, placement.ReasonCapacity},
		{"prior usage, negative capacity, decrease", inv(1, 5, 1, 10, 1, 1), 3, 0, 2, placement.ReasonNone},
		// Overflow never fits, escape or not.
		{"overflowing sum", inv(10, 0, 1, 10, 1, posInf), maxI64, maxI64, 1, placement.ReasonCapacity},
		{"overflowing negative sum", inv(10, 0, 1, 10, 1, 1), maxI64, minI64, -1, placement.ReasonCapacity},
		{"max sum, infinite capacity", inv(10, 0, 1, 10, 1, posInf), 0, maxI64 - 1, 1, placement.ReasonNone},
		{"max sum, escape", inv(10, 0, 1, 10, 1, 1), maxI64, maxI64 - 1, 1, placement.ReasonNone},
		// Units are not CheckWrite's business.
		{"units not checked", inv(10, 0, 5, 5, 5, 1), 0, 0, 3, placement.ReasonNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.inv.CheckWrite(tc.before, tc.other, tc.requested); got != tc.want {
				t.Errorf("CheckWrite(%d, %d, %d) on capacity %v = %v, want %v", tc.before, tc.other, tc.requested, tc.inv.Capacity(), got, tc.want)
			}
		})
	}
}

// extremes are int64 and float64 values at and around every boundary the
// core handles.
var (
	extremeInts = []int64{minI64, minI64 + 1, -1 << 53, -placement.MaxInt, -2, -1, 0, 1, 2, 7, 10,
		placement.MaxInt, 1 << 53, 1<<53 + 1, 1<<63 - 1024, maxI64 - 1, maxI64}
	extremeRatios = []float64{nan, posInf, negInf, -1, negZ, 0, math.SmallestNonzeroFloat64, 0.1, 0.7, 1, 16,
		placement.MaxAllocationRatio, math.MaxFloat64, -math.MaxFloat64}
)

// TestCapacityExtremesNoPanic runs every core function over a grid of
// extreme values: nothing panics, CapacityInt is Capacity truncated and
// clamped, and Fits, Check and CheckWrite agree with each other.
func TestCapacityExtremesNoPanic(t *testing.T) {
	for _, total := range extremeInts {
		for _, reserved := range extremeInts {
			for _, ratio := range extremeRatios {
				c := placement.Capacity(total, reserved, ratio)
				ci := placement.CapacityInt(total, reserved, ratio)
				switch {
				case math.IsNaN(c):
					if ci != 0 {
						t.Fatalf("CapacityInt(%d, %d, %v) = %d for NaN capacity", total, reserved, ratio, ci)
					}
				case c >= two63:
					if ci != maxI64 {
						t.Fatalf("CapacityInt(%d, %d, %v) = %d, want MaxInt64 for %v", total, reserved, ratio, ci, c)
					}
				case c < -two63:
					if ci != minI64 {
						t.Fatalf("CapacityInt(%d, %d, %v) = %d, want MinInt64 for %v", total, reserved, ratio, ci, c)
					}
				case float64(ci) != math.Trunc(c):
					t.Fatalf("CapacityInt(%d, %d, %v) = %d, want trunc(%v)", total, reserved, ratio, ci, c)
				}
				in := placement.Inventory{Total: total, Reserved: reserved, MinUnit: minI64, MaxUnit: maxI64, StepSize: 1, AllocationRatio: ratio}
				for _, used := range extremeInts {
					for _, amount := range extremeInts {
						fits := placement.Fits(used, amount, c)
						sum := used + amount
						overflow := (amount > 0 && sum < used) || (amount < 0 && sum > used)
						if want := !overflow && placement.AtMost(sum, c); fits != want {
							t.Fatalf("Fits(%d, %d, %v) = %v, want %v", used, amount, c, fits, want)
						}
						if got, want := in.Check(used, amount) == placement.ReasonNone, fits; got != want {
							t.Fatalf("Check(%d, %d) = %v, Fits = %v (capacity %v)", used, amount, got, want, c)
						}
						// A write by a new consumer (nothing rewritten) is Fits.
						if got := in.CheckWrite(0, used, amount) == placement.ReasonNone; got != fits {
							t.Fatalf("CheckWrite(0, %d, %d) = %v, Fits = %v", used, amount, got, fits)
						}
						w := in.CheckWrite(used, used, amount) == placement.ReasonNone
						if want := fits || (!overflow && used > 0 && amount <= 0); w != want {
							t.Fatalf("CheckWrite(%d, %d, %d) = %v, want %v (capacity %v)", used, used, amount, w, want, c)
						}
					}
				}
			}
		}
	}
}

func TestNewInventory(t *testing.T) {
	got := placement.NewInventory("VCPU", 8)
	want := placement.Inventory{ResourceClass: "VCPU", Total: 8, Reserved: 0, MinUnit: 1, MaxUnit: 2147483647, StepSize: 1, AllocationRatio: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewInventory mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("NewInventory(VCPU, 8).Validate() = %v", err)
	}
	if placement.MaxInt != 2147483647 || placement.MaxAllocationRatio != 3.40282e38 {
		t.Errorf("limits changed: MaxInt %d, MaxAllocationRatio %v", placement.MaxInt, placement.MaxAllocationRatio)
	}
}

func TestInventoryValidate(t *testing.T) {
	base := func(f func(*placement.Inventory)) placement.Inventory {
		i := placement.NewInventory("CUSTOM_GPU", 10)
		f(&i)
		return i
	}
	above := math.Nextafter(placement.MaxAllocationRatio, math.Inf(1))
	tests := []struct {
		name  string
		inv   placement.Inventory
		field string // "" when valid
	}{
		{"defaults", base(func(*placement.Inventory) {}), ""},
		{"standard class", placement.NewInventory("VCPU", 1), ""},
		{"all at maximum", base(func(i *placement.Inventory) {
			i.Total, i.Reserved, i.MinUnit, i.MaxUnit, i.StepSize = placement.MaxInt, placement.MaxInt, placement.MaxInt, placement.MaxInt, placement.MaxInt
			i.AllocationRatio = placement.MaxAllocationRatio
		}), ""},
		{"reserved equals total", base(func(i *placement.Inventory) { i.Reserved = 10 }), ""},
		{"min above max allowed", base(func(i *placement.Inventory) { i.MinUnit, i.MaxUnit = 5, 4 }), ""},
		{"max above total allowed", base(func(i *placement.Inventory) { i.MaxUnit = 100 }), ""},
		{"step above total allowed", base(func(i *placement.Inventory) { i.StepSize = 100 }), ""},
		{"ratio 0", base(func(i *placement.Inventory) { i.AllocationRatio = 0 }), ""},
		{"ratio -0", base(func(i *placement.Inventory) { i.AllocationRatio = negZ }), ""},
		{"tiny ratio", base(func(i *placement.Inventory) { i.AllocationRatio = math.SmallestNonzeroFloat64 }), ""},
		{"total 0", base(func(i *placement.Inventory) { i.Total = 0 }), "inventories[CUSTOM_GPU].total"},
		{"total negative", base(func(i *placement.Inventory) { i.Total = -1 }), "inventories[CUSTOM_GPU].total"},
		{"total above max", base(func(i *placement.Inventory) { i.Total = placement.MaxInt + 1 }), "inventories[CUSTOM_GPU].total"},
		{"total max int64", base(func(i *placement.Inventory) { i.Total = maxI64 }), "inventories[CUSTOM_GPU].total"},
		{"reserved negative", base(func(i *placement.Inventory) { i.Reserved = -1 }), "inventories[CUSTOM_GPU].reserved"},
		{"reserved min int64", base(func(i *placement.Inventory) { i.Reserved = minI64 }), "inventories[CUSTOM_GPU].reserved"},
		{"reserved above max", base(func(i *placement.Inventory) { i.Reserved = placement.MaxInt + 1 }), "inventories[CUSTOM_GPU].reserved"},
		{"reserved above total", base(func(i *placement.Inventory) { i.Reserved = 11 }), "inventories[CUSTOM_GPU].reserved"},
		{"min_unit 0", base(func(i *placement.Inventory) { i.MinUnit = 0 }), "inventories[CUSTOM_GPU].min_unit"},
		{"max_unit 0", base(func(i *placement.Inventory) { i.MaxUnit = 0 }), "inventories[CUSTOM_GPU].max_unit"},
		{"max_unit above max", base(func(i *placement.Inventory) { i.MaxUnit = placement.MaxInt + 1 }), "inventories[CUSTOM_GPU].max_unit"},
		{"step 0", base(func(i *placement.Inventory) { i.StepSize = 0 }), "inventories[CUSTOM_GPU].step_size"},
		{"step negative", base(func(i *placement.Inventory) { i.StepSize = -2 }), "inventories[CUSTOM_GPU].step_size"},
		{"ratio NaN", base(func(i *placement.Inventory) { i.AllocationRatio = nan }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio +Inf", base(func(i *placement.Inventory) { i.AllocationRatio = posInf }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio -Inf", base(func(i *placement.Inventory) { i.AllocationRatio = negInf }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio negative", base(func(i *placement.Inventory) { i.AllocationRatio = -0.1 }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio tiny negative", base(func(i *placement.Inventory) { i.AllocationRatio = -math.SmallestNonzeroFloat64 }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio above max", base(func(i *placement.Inventory) { i.AllocationRatio = above }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"ratio max float64", base(func(i *placement.Inventory) { i.AllocationRatio = math.MaxFloat64 }), "inventories[CUSTOM_GPU].allocation_ratio"},
		{"empty class", base(func(i *placement.Inventory) { i.ResourceClass = "" }), "resource_class"},
		{"lower-case class", base(func(i *placement.Inventory) { i.ResourceClass = "vcpu" }), "resource_class"},
		{"class with a dash", base(func(i *placement.Inventory) { i.ResourceClass = "CUSTOM-GPU" }), "resource_class"},
		{"class with a newline", base(func(i *placement.Inventory) { i.ResourceClass = "VCPU\n" }), "resource_class"},
		{"class of 256 characters", base(func(i *placement.Inventory) { i.ResourceClass = strings.Repeat("A", 256) }), "resource_class"},
		{"class of 255 characters", base(func(i *placement.Inventory) { i.ResourceClass = strings.Repeat("A", 255) }), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.inv.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if c := tc.inv.Capacity(); !(c >= 0) || math.IsInf(c, 0) {
					t.Errorf("valid inventory has capacity %v", c)
				}
				return
			}
			if !errors.Is(err, placement.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			var ve *placement.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T, want *ValidationError", err)
			}
			if ve.Field != tc.field {
				t.Errorf("Validate() field = %q, want %q (%v)", ve.Field, tc.field, err)
			}
		})
	}
}

// TestInventoryValidateReservedAboveTotalRatioZero pins down a corner:
// with allocation_ratio 0 the capacity of reserved > total is -0.0, which is
// not negative, so Validate accepts it. The inventory then refuses every
// allocation. (Whether Placement accepts it too has not been checked.)
func TestInventoryValidateReservedAboveTotalRatioZero(t *testing.T) {
	i := placement.NewInventory("VCPU", 1)
	i.Reserved, i.AllocationRatio = 5, 0
	if err := i.Validate(); err != nil {
		t.Errorf("Validate() = %v; reserved > total with ratio 0 has capacity -0", err)
	}
	if got := i.Check(0, 1); got != placement.ReasonCapacity {
		t.Errorf("Check(0, 1) = %v, want capacity exceeded", got)
	}
}
