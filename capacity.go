package placement

import (
	"math"
	"strconv"
)

// This file is the capacity core: pure functions, no I/O, no context, no
// allocation. Every capacity decision in the library (allocation writes,
// candidate filters, provider summaries, usages, the over-capacity report of
// inventory writes) goes through it, so all call sites agree.
//
// The rule (Placement's, DESIGN rule 4):
//
//	capacity = float64(total - reserved) * allocation_ratio      (IEEE-754 double product)
//	an amount fits when
//	    min_unit <= amount <= max_unit
//	    amount % step_size == 0
//	    used + amount <= capacity
//
// where used + amount is an int64 sum checked for overflow (an overflowing sum
// never fits) and the comparison with the double capacity is exact, as in
// Python (an int64 is compared with the double's mathematical value, not
// rounded to a double first; for sums up to 2^53 this is the same as
// float64(used+amount) <= capacity). Where an integer capacity is shown
// (provider summaries, usages) it is that product truncated toward zero and
// clamped to the int64 range (Python's int(...)).
//
// Over-capacity: an inventory may be shrunk below its usage. A later write
// whose per-provider, per-class total does not exceed what was used before the
// write is then still accepted (Placement bug 2104040, 2025), so an operator
// can shrink or rewrite allocations on an over-committed provider; any write
// that increases such a total is refused.

// Reason says why an amount does not fit an inventory. The zero value
// (ReasonNone) means it fits.
type Reason uint8

const (
	// ReasonNone: the amount fits.
	ReasonNone Reason = iota
	// ReasonNoInventory: the provider has no inventory of the class.
	ReasonNoInventory
	// ReasonMinUnit: the amount is below min_unit.
	ReasonMinUnit
	// ReasonMaxUnit: the amount is above max_unit.
	ReasonMaxUnit
	// ReasonStepSize: the amount is not a multiple of step_size.
	ReasonStepSize
	// ReasonCapacity: used + amount is above the capacity.
	ReasonCapacity
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "fits"
	case ReasonNoInventory:
		return "no inventory"
	case ReasonMinUnit:
		return "below min_unit"
	case ReasonMaxUnit:
		return "above max_unit"
	case ReasonStepSize:
		return "not a multiple of step_size"
	case ReasonCapacity:
		return "capacity exceeded"
	}
	return "unknown reason"
}

func (r Reason) sentinel() error {
	switch r {
	case ReasonNoInventory:
		return ErrNoInventory
	case ReasonMinUnit, ReasonMaxUnit, ReasonStepSize:
		return ErrConstraintViolated
	}
	return ErrCapacityExceeded
}

// Capacity returns float64(total - reserved) * ratio, the capacity Placement
// checks allocations against. The subtraction is exact whenever it fits in an
// int64 (always, for validated inventories); otherwise it is done in float64.
func Capacity(total, reserved int64, ratio float64) float64 {
	d := total - reserved
	if (total^reserved)&(total^d) < 0 {
		// The subtraction overflowed: only possible outside validated ranges.
		return (float64(total) - float64(reserved)) * ratio
	}
	return float64(d) * ratio
}

// CapacityInt is Capacity truncated toward zero and clamped to the int64
// range (NaN gives 0): the integer capacity Placement shows.
func CapacityInt(total, reserved int64, ratio float64) int64 {
	return truncClamp(Capacity(total, reserved, ratio))
}

func truncClamp(c float64) int64 {
	switch {
	case c != c: // NaN
		return 0
	case c >= 0x1p63:
		return math.MaxInt64
	case c < -0x1p63:
		return math.MinInt64
	}
	return int64(c)
}

// AtMost reports whether the integer n is at most the double c, comparing
// exact values (no rounding of n); NaN compares false.
func AtMost(n int64, c float64) bool {
	switch {
	case c != c:
		return false
	case c >= 0x1p63:
		return true
	case c < -0x1p63:
		return false
	}
	// -2^63 <= c < 2^63: floor(c) is an exact int64, and n <= c ⇔ n <= floor(c).
	return n <= int64(math.Floor(c))
}

// CheckUnits checks an amount against min_unit, max_unit and step_size, in
// that order. A step_size below 1 (impossible for validated inventories)
// rejects every amount rather than dividing by zero.
func CheckUnits(amount, minUnit, maxUnit, stepSize int64) Reason {
	switch {
	case amount < minUnit:
		return ReasonMinUnit
	case amount > maxUnit:
		return ReasonMaxUnit
	case stepSize < 1 || amount%stepSize != 0:
		return ReasonStepSize
	}
	return ReasonNone
}

// Fits reports whether used + amount is at most capacity; an overflowing sum
// does not fit.
func Fits(used, amount int64, capacity float64) bool {
	s, ok := addInt64(used, amount)
	return ok && AtMost(s, capacity)
}

// addInt64 returns a + b and whether the sum did not overflow.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return s, false
	}
	return s, true
}

// Capacity is the inventory's capacity (see the package Capacity).
func (inv *Inventory) Capacity() float64 {
	return Capacity(inv.Total, inv.Reserved, inv.AllocationRatio)
}

// CapacityInt is the inventory's integer capacity (see the package CapacityInt).
func (inv *Inventory) CapacityInt() int64 {
	return CapacityInt(inv.Total, inv.Reserved, inv.AllocationRatio)
}

// Check tells whether one more amount fits on top of used: the unit rules,
// then the capacity. It is the check of the candidate filters.
func (inv *Inventory) Check(used, amount int64) Reason {
	if r := CheckUnits(amount, inv.MinUnit, inv.MaxUnit, inv.StepSize); r != ReasonNone {
		return r
	}
	if !Fits(used, amount, inv.Capacity()) {
		return ReasonCapacity
	}
	return ReasonNone
}

// CheckWrite is the capacity rule of an allocation write for one provider and
// class: other is the usage of consumers the write leaves alone, requested
// the sum of the write's new amounts, and before the usage prior to the
// write (other plus the rewritten consumers' old amounts). The write fits if
// other + requested is within capacity, or if there was usage before and the
// write does not increase it (the over-capacity escape). Unit rules apply to
// each single amount and are checked separately with CheckUnits.
func (inv *Inventory) CheckWrite(before, other, requested int64) Reason {
	s, ok := addInt64(other, requested)
	if !ok {
		return ReasonCapacity
	}
	if AtMost(s, inv.Capacity()) || (before > 0 && s <= before) {
		return ReasonNone
	}
	return ReasonCapacity
}

func formatCapacity(c float64) string {
	return strconv.FormatFloat(c, 'f', -1, 64)
}
