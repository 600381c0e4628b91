package placement_test

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/goplacement/placement"
)

// Fuzz targets for the capacity core and the validators. Run one with e.g.
//
//	go test -run '^$' -fuzz '^FuzzCapacity$' -fuzztime 30s .
//
// Plain `go test` runs the f.Add seeds and anything saved under
// testdata/fuzz.

func FuzzCapacity(f *testing.F) {
	f.Add(int64(10), int64(0), 0.7, int64(0), int64(7))
	f.Add(int64(10), int64(0), 0.7, int64(3), int64(5))
	f.Add(int64(3), int64(0), 0.1, int64(0), int64(1))
	f.Add(int64(placement.MaxInt), int64(0), placement.MaxAllocationRatio, int64(math.MaxInt64), int64(1))
	f.Add(int64(math.MaxInt64), int64(math.MinInt64), 1.0, int64(math.MinInt64), int64(-1))
	f.Add(int64(math.MinInt64), int64(1), -1.0, int64(-1), int64(math.MinInt64))
	f.Add(int64(1<<53+1), int64(0), 1.0, int64(1<<53), int64(1))
	f.Add(int64(1<<62), int64(0), 2.0, int64(math.MaxInt64), int64(0))
	f.Add(int64(5), int64(5), math.Inf(1), int64(0), int64(0))
	f.Add(int64(5), int64(0), math.NaN(), int64(0), int64(0))
	f.Add(int64(5), int64(0), math.Inf(-1), int64(0), int64(0))
	f.Add(int64(5), int64(7), 2.0, int64(-4), int64(0))
	f.Fuzz(func(t *testing.T, total, reserved int64, ratio float64, used, amount int64) {
		c := placement.Capacity(total, reserved, ratio)
		ci := placement.CapacityInt(total, reserved, ratio)
		switch {
		case math.IsNaN(c):
			if ci != 0 {
				t.Fatalf("CapacityInt = %d for NaN capacity", ci)
			}
		case c >= 0x1p63:
			if ci != math.MaxInt64 {
				t.Fatalf("CapacityInt = %d for capacity %v, want MaxInt64", ci, c)
			}
		case c < -0x1p63:
			if ci != math.MinInt64 {
				t.Fatalf("CapacityInt = %d for capacity %v, want MinInt64", ci, c)
			}
		case float64(ci) != math.Trunc(c):
			t.Fatalf("CapacityInt = %d, want trunc(%v)", ci, c)
		}

		fits := placement.Fits(used, amount, c)
		sum := used + amount
		overflow := (amount > 0 && sum < used) || (amount < 0 && sum > used)
		if overflow && fits {
			t.Fatalf("Fits(%d, %d, %v) with an overflowing sum", used, amount, c)
		}
		if !overflow && fits != placement.AtMost(sum, c) {
			t.Fatalf("Fits(%d, %d, %v) = %v, AtMost(%d, %v) = %v", used, amount, c, fits, sum, c, !fits)
		}
		if !math.IsNaN(ratio) && !math.IsInf(ratio, 0) {
			ref := refCapacity(total, reserved, ratio)
			if rf, _ := ref.Float64(); rf != c {
				t.Fatalf("Capacity(%d, %d, %v) = %v, reference %v", total, reserved, ratio, c, rf)
			}
			if want := refFits(used, amount, ref); fits != want {
				t.Fatalf("Fits(%d, %d, %v) = %v, reference %v", used, amount, c, fits, want)
			}
			if want := refTruncClamp(ref); ci != want {
				t.Fatalf("CapacityInt(%d, %d, %v) = %d, reference %d", total, reserved, ratio, ci, want)
			}
		}

		in := placement.Inventory{Total: total, Reserved: reserved, MinUnit: 1, MaxUnit: placement.MaxInt, StepSize: 1, AllocationRatio: ratio}
		r := in.Check(used, amount)
		units := placement.CheckUnits(amount, 1, placement.MaxInt, 1)
		if (units != placement.ReasonNone && r != units) || (units == placement.ReasonNone && (r == placement.ReasonNone) != fits) {
			t.Fatalf("Check(%d, %d) = %v, units %v, fits %v", used, amount, r, units, fits)
		}
		for _, before := range []int64{used, sum, 0, math.MaxInt64} {
			w := in.CheckWrite(before, used, amount)
			want := fits || (!overflow && before > 0 && sum <= before)
			if (w == placement.ReasonNone) != want || (w != placement.ReasonNone && w != placement.ReasonCapacity) {
				t.Fatalf("CheckWrite(%d, %d, %d) = %v, want fits %v (capacity %v)", before, used, amount, w, want, c)
			}
		}
	})
}

func FuzzCheckUnits(f *testing.F) {
	f.Add(int64(1), int64(1), int64(10), int64(1))
	f.Add(int64(0), int64(1), int64(10), int64(1))
	f.Add(int64(11), int64(1), int64(10), int64(1))
	f.Add(int64(5), int64(2), int64(10), int64(2))
	f.Add(int64(4), int64(0), int64(10), int64(0))
	f.Add(int64(math.MinInt64), int64(math.MinInt64), int64(math.MaxInt64), int64(-1))
	f.Add(int64(math.MinInt64), int64(math.MinInt64), int64(math.MaxInt64), int64(math.MinInt64))
	f.Add(int64(math.MaxInt64), int64(1), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, amount, minUnit, maxUnit, step int64) {
		got := placement.CheckUnits(amount, minUnit, maxUnit, step)
		var want placement.Reason
		switch {
		case amount < minUnit:
			want = placement.ReasonMinUnit
		case amount > maxUnit:
			want = placement.ReasonMaxUnit
		case step < 1:
			want = placement.ReasonStepSize
		case new(big.Int).Rem(big.NewInt(amount), big.NewInt(step)).Sign() != 0:
			want = placement.ReasonStepSize
		}
		if got != want {
			t.Fatalf("CheckUnits(%d, %d, %d, %d) = %v, want %v", amount, minUnit, maxUnit, step, got, want)
		}
	})
}

var (
	classNameRE    = regexp.MustCompile(`^[A-Z0-9_]+$`)
	customNameRE   = regexp.MustCompile(`^CUSTOM_[A-Z0-9_]+$`)
	canonicalRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	nonHexDigitsRE = regexp.MustCompile(`[^0-9a-fA-F]`)
)

func FuzzInventoryValidate(f *testing.F) {
	f.Add("VCPU", int64(8), int64(0), int64(1), int64(placement.MaxInt), int64(1), 16.0)
	f.Add("CUSTOM_GPU", int64(placement.MaxInt), int64(placement.MaxInt), int64(placement.MaxInt), int64(placement.MaxInt), int64(placement.MaxInt), placement.MaxAllocationRatio)
	f.Add("MEMORY_MB", int64(10), int64(11), int64(1), int64(1), int64(1), 1.0)
	f.Add("MEMORY_MB", int64(10), int64(11), int64(1), int64(1), int64(1), 0.0)
	f.Add("DISK_GB", int64(0), int64(0), int64(0), int64(0), int64(0), math.NaN())
	f.Add("vcpu", int64(1), int64(-1), int64(1), int64(1), int64(1), math.Inf(1))
	f.Add("", int64(math.MaxInt64), int64(math.MinInt64), int64(math.MinInt64), int64(math.MaxInt64), int64(-1), math.Copysign(0, -1))
	f.Add(strings.Repeat("A", 256), int64(1), int64(0), int64(1), int64(1), int64(1), 1.0)
	f.Fuzz(func(t *testing.T, class string, total, reserved, minUnit, maxUnit, step int64, ratio float64) {
		in := placement.Inventory{ResourceClass: class, Total: total, Reserved: reserved, MinUnit: minUnit,
			MaxUnit: maxUnit, StepSize: step, AllocationRatio: ratio}
		err := in.Validate()
		inRange := func(v, lo int64) bool { return v >= lo && v <= placement.MaxInt }
		fieldsOK := classNameRE.MatchString(class) && len(class) <= placement.MaxNameLength &&
			inRange(total, 1) && inRange(reserved, 0) && inRange(minUnit, 1) && inRange(maxUnit, 1) && inRange(step, 1) &&
			!math.IsNaN(ratio) && ratio >= 0 && ratio <= placement.MaxAllocationRatio
		if err != nil {
			if !errors.Is(err, placement.ErrInvalid) {
				t.Fatalf("Validate() = %v, not ErrInvalid", err)
			}
			var ve *placement.ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Fatalf("Validate() = %#v, want a *ValidationError naming the field", err)
			}
			if fieldsOK && reserved <= total {
				t.Fatalf("Validate() refused a valid inventory %+v: %v", in, err)
			}
			return
		}
		if !fieldsOK {
			t.Fatalf("Validate() accepted %+v", in)
		}
		c := in.Capacity()
		if !(c >= 0) || math.IsInf(c, 0) {
			t.Fatalf("Validate() accepted %+v with capacity %v", in, c)
		}
		if ci := in.CapacityInt(); ci < 0 || !placement.AtMost(ci, c) {
			t.Fatalf("accepted %+v has integer capacity %d for %v", in, ci, c)
		}
		if reserved > total && ratio != 0 {
			t.Fatalf("Validate() accepted reserved %d above total %d with ratio %v", reserved, total, ratio)
		}
	})
}

func FuzzValidateCustomName(f *testing.F) {
	for _, s := range []string{"CUSTOM_A", "CUSTOM_", "CUSTOM", "custom_a", "CUSTOM_a", "CUSTOM_A\n", "CUSTOM_Ä",
		"CUSTOM_A-B", "CUSTOM__", "VCPU", "", "CUSTOM_" + strings.Repeat("A", 248), "CUSTOM_" + strings.Repeat("A", 249), "CUSTOM_\x00", "CUSTOM_\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := placement.ValidateCustomName("trait", name)
		want := customNameRE.MatchString(name) && len(name) <= 255
		if (err == nil) != want {
			t.Fatalf("ValidateCustomName(%q) = %v, want accepted %v", name, err, want)
		}
		if err != nil {
			var ve *placement.ValidationError
			if !errors.Is(err, placement.ErrInvalid) || !errors.As(err, &ve) || ve.Field != "trait" {
				t.Fatalf("ValidateCustomName(%q) = %#v, want ErrInvalid on field trait", name, err)
			}
		}
	})
}

func FuzzValidateConsumerType(f *testing.F) {
	for _, s := range []string{"INSTANCE", "MIGRATION", "A", "_", "0", "", "instance", "INSTANCE\n", "IN STANCE",
		"É", strings.Repeat("A", 255), strings.Repeat("A", 256), "\x00", "A\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := placement.ValidateConsumerType(name)
		want := classNameRE.MatchString(name) && len(name) <= 255
		if (err == nil) != want {
			t.Fatalf("ValidateConsumerType(%q) = %v, want accepted %v", name, err, want)
		}
		if err != nil {
			var ve *placement.ValidationError
			if !errors.Is(err, placement.ErrInvalid) || !errors.As(err, &ve) || ve.Field != "consumer_type" {
				t.Fatalf("ValidateConsumerType(%q) = %#v, want ErrInvalid on field consumer_type", name, err)
			}
		}
	})
}

// refUUIDAccepts is CanonicalUUID's documented grammar, ASCII only: an
// optional "urn:uuid:" prefix in any case, braces only at the ends, dashes
// anywhere in between, and 32 hexadecimal digits in any case. It returns the
// lower-case digits.
// refUUIDAccepts transcribes oslo_utils.uuidutils.is_uuid_like literally
// (str.replace of "urn:" and "uuid:", strip("{}"), drop dashes, 32 hex
// digits) as the reference for CanonicalUUID's fast and slow paths.
func refUUIDAccepts(s string) (string, bool) {
	t := strings.ReplaceAll(s, "urn:", "")
	t = strings.ReplaceAll(t, "uuid:", "")
	t = strings.Trim(t, "{}")
	t = strings.ReplaceAll(t, "-", "")
	if len(t) != 32 {
		return "", false
	}
	for _, c := range t {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return "", false
		}
	}
	return strings.ToLower(t), true
}

func FuzzCanonicalUUID(f *testing.F) {
	for _, s := range []string{
		"0123abcd-4567-89ef-0123-456789abcdef",
		"0123ABCD-4567-89EF-0123-456789ABCDEF",
		"0123abcd456789ef0123456789abcdef",
		"{0123abcd-4567-89ef-0123-456789abcdef}",
		"{{0123abcd456789ef0123456789abcdef}",
		"urn:uuid:0123abcd-4567-89ef-0123-456789abcdef",
		"URN:UUID:0123abcd-4567-89ef-0123-456789abcdef",
		"urn:uuid:{0123abcd-4567-89ef-0123-456789abcdef}",
		"{urn:uuid:0123abcd-4567-89ef-0123-456789abcdef}",
		"0-1-2-3-4-5-6-7-8-9-a-b-c-d-e-f-0123456789abcdef",
		"0123abcd-4567-89ef-0123-456789abcde",
		"0123abcd-4567-89ef-0123-456789abcdeg",
		"0123abcd-4567-89ef-0123-456789abcdef0",
		" 0123abcd-4567-89ef-0123-456789abcdef",
		"0123abcd-4567-89ef-0123-456789abcdef\n",
		"", "-", "{}", "urn:uuid:",
		"urn:uu\u0130d:0123abcd-4567-89ef-0123-456789abcdef",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := placement.CanonicalUUID(s)
		hex, want := refUUIDAccepts(s)
		if ok != want {
			t.Fatalf("CanonicalUUID(%q) accepted = %v, reference %v", s, ok, want)
		}
		if !ok {
			if out != "" {
				t.Fatalf("CanonicalUUID(%q) = %q, false", s, out)
			}
			if placement.IsCanonicalUUID(s) {
				t.Fatalf("IsCanonicalUUID(%q) = true for a rejected input", s)
			}
			return
		}
		if !canonicalRE.MatchString(out) {
			t.Fatalf("CanonicalUUID(%q) = %q, not canonical", s, out)
		}
		if digits := nonHexDigitsRE.ReplaceAllString(out, ""); digits != hex {
			t.Fatalf("CanonicalUUID(%q) = %q, want the digits %s", s, out, hex)
		}
		again, ok2 := placement.CanonicalUUID(out)
		if !ok2 || again != out {
			t.Fatalf("CanonicalUUID(%q) = %q, %v; not idempotent", out, again, ok2)
		}
		if !placement.IsCanonicalUUID(out) {
			t.Fatalf("IsCanonicalUUID(%q) = false", out)
		}
		if placement.IsCanonicalUUID(s) != (s == out) {
			t.Fatalf("IsCanonicalUUID(%q) = %v, canonical form %q", s, !(s == out), out)
		}
	})
}

func TestValidateCustomName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"CUSTOM_A", true},
		{"CUSTOM__", true},
		{"CUSTOM_0", true},
		{"CUSTOM_" + strings.Repeat("A", 248), true}, // 255 characters
		{"CUSTOM_" + strings.Repeat("A", 249), false},
		{"CUSTOM_", false},
		{"CUSTOM", false},
		{"VCPU", false},
		{"custom_a", false},
		{"CUSTOM_a", false},
		{"CUSTOM_A-B", false},
		{"CUSTOM_A\n", false}, // Python's re.search would accept this ($ before a final newline); Go does not
		{"CUSTOM_Ä", false},
		{"", false},
	}
	for _, tc := range tests {
		err := placement.ValidateCustomName("name", tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateCustomName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, placement.ErrInvalid) {
			t.Errorf("ValidateCustomName(%q) = %v, not ErrInvalid", tc.name, err)
		}
	}
}

func TestValidateConsumerType(t *testing.T) {
	for name, ok := range map[string]bool{
		"INSTANCE": true, "MIGRATION": true, "_": true, "0": true, strings.Repeat("A", 255): true,
		strings.Repeat("A", 256): false, "": false, "instance": false, "IN-STANCE": false, "INSTANCE\n": false, "É": false,
	} {
		if err := placement.ValidateConsumerType(name); (err == nil) != ok {
			t.Errorf("ValidateConsumerType(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

// TestCanonicalUUID checks CanonicalUUID against oslo.utils' is_uuid_like,
// which Placement uses (the doc comment promises the same acceptance).
// Expected values were computed with Python 3's uuid module and oslo's
// _format_uuid_string.
func TestCanonicalUUID(t *testing.T) {
	const h = "0123456789abcdef0123456789ABCDEF"
	const want = "01234567-89ab-cdef-0123-456789abcdef"
	tests := []struct {
		in  string
		ok  bool
		why string // what oslo's rule says about this case
	}{
		{h, true, ""},
		{want, true, ""},
		{strings.ToUpper(want), true, ""},
		{"urn:uuid:" + h, true, ""},
		{"{" + want + "}", true, ""},
		{"{{" + h + "}", true, ""},
		{"{-" + h + "}", true, ""},
		{"-----" + h, true, ""},
		{h + "\n", false, ""},
		{" " + h[1:] + " ", false, ""},
		{h[:31] + "_" + h[31:], false, ""},
		{h[:31], false, ""},
		{h + "0", false, ""},
		{"", false, ""},
		{"URN:UUID:" + h, false, "oslo strips only a lower-case \"urn:\"/\"uuid:\"; CanonicalUUID lower-cases first and accepts \"URN:UUID:\""},
		{"urn:uu\u0130d:" + h, false, "strings.ToLower maps U+0130 (İ) to 'i', so \"urn:uuİd:\" passes as the prefix"},
		{"uuid:" + h, true, "oslo removes \"urn:\" and \"uuid:\" separately; CanonicalUUID refuses a bare \"uuid:\" prefix"},
		{"urn:" + h, true, "oslo accepts a bare \"urn:\" prefix; CanonicalUUID refuses it"},
		{h[:8] + "urn:" + h[8:], true, "oslo removes \"urn:\" anywhere in the string"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := placement.CanonicalUUID(tc.in)
			if ok != tc.ok {
				t.Fatalf("CanonicalUUID(%q) = %q, %v; oslo's is_uuid_like says %v", tc.in, got, ok, tc.ok)
			}
			if ok && got != want {
				t.Fatalf("CanonicalUUID(%q) = %q, want %q", tc.in, got, want)
			}
		})
	}
}
