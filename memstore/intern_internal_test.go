package memstore

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/goplacement/placement"
)

// Providers given equal trait (or aggregate) sets share one array
// (state.intern), which a later change of one provider's set leaves
// alone; sets that only join to the same key are not confused.
func TestInternSets(t *testing.T) {
	s := New()
	ctx := context.Background()
	uuid := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	err := s.Update(ctx, func(tx placement.Tx) error {
		for i := range 4 {
			if err := tx.CreateProvider(placement.ResourceProvider{UUID: uuid(i), Name: fmt.Sprint("p", i), RootUUID: uuid(i), Generation: 1}); err != nil {
				return err
			}
		}
		for i := range 3 {
			if err := tx.SetProviderTraits(uuid(i), []string{"HW_CPU_X86_SSE", "HW_CPU_X86_AVX2"}); err != nil {
				return err
			}
		}
		return tx.SetProviderTraits(uuid(3), []string{"HW_CPU_X86_AVX2\x00HW_CPU_X86_SSE"})
	})
	if err != nil {
		t.Fatal(err)
	}
	p := func(i int) *provider { return s.st.provider(uuid(i)) }
	if &p(0).traits[0] != &p(1).traits[0] || &p(1).traits[0] != &p(2).traits[0] {
		t.Errorf("equal trait sets are not shared")
	}
	if got := p(3).traits; !slices.Equal(got, []string{"HW_CPU_X86_AVX2\x00HW_CPU_X86_SSE"}) {
		t.Errorf("a set joining to the same key got %q", got)
	}
	if err := s.Update(ctx, func(tx placement.Tx) error { return tx.SetProviderTraits(uuid(1), []string{"CUSTOM_X"}) }); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if got, want := p(i).traits, []string{"HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"}; !slices.Equal(got, want) {
			t.Errorf("provider %d's traits %q after another's changed, want %q", i, got, want)
		}
	}
}
