package placement

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// TraitFilter selects traits. Zero fields do not filter.
type TraitFilter struct {
	// NamesIn keeps only these names (Placement's name=in:A,B).
	NamesIn []string
	// Prefix keeps names starting with it (Placement's name=startswith:P).
	Prefix string
	// Associated, when set, keeps only traits that some provider has (true)
	// or that no provider has (false).
	Associated *bool
}

// EnsureTrait creates a custom trait unless it exists; created tells which.
// Standard traits cannot be created (they exist already): ErrInvalid.
func (e *Engine) EnsureTrait(ctx context.Context, name string) (created bool, err error) {
	if err := e.Authorize(ctx, ActionTraitsUpdate, Target{}); err != nil {
		return false, err
	}
	if err := ValidateCustomName("trait", name); err != nil {
		return false, err
	}
	now := e.timestamp()
	err = e.write(ctx, func(tx Tx) error {
		created = false
		if _, err := tx.Trait(name); err == nil {
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		created = true
		return tx.CreateTrait(Trait{Name: name, CreatedAt: now, UpdatedAt: now})
	})
	return created, err
}

// Trait returns a standard or custom trait.
func (e *Engine) Trait(ctx context.Context, name string) (Trait, error) {
	var t Trait
	err := e.view(ctx, ActionTraitsShow, Target{}, func(tx ReadTx) error {
		var err error
		t, err = lookupTrait(tx, name)
		return err
	})
	return t, err
}

func lookupTrait(tx ReadTx, name string) (Trait, error) {
	if IsStandardTrait(name) {
		return Trait{Name: name, Standard: true}, nil
	}
	t, err := tx.Trait(name)
	if errors.Is(err, ErrNotFound) {
		return Trait{}, &NotFoundError{Resource: "trait", ID: name}
	}
	return t, err
}

// Traits lists standard and custom traits matching f, sorted by name.
func (e *Engine) Traits(ctx context.Context, f TraitFilter) ([]Trait, error) {
	var out []Trait
	err := e.view(ctx, ActionTraitsList, Target{}, func(tx ReadTx) error {
		custom, err := tx.Traits()
		if err != nil {
			return err
		}
		var associated map[string]struct{}
		if f.Associated != nil {
			names, err := tx.AssociatedTraits()
			if err != nil {
				return err
			}
			associated = toSet(names)
		}
		var in map[string]struct{}
		if f.NamesIn != nil {
			in = toSet(f.NamesIn)
		}
		keep := func(name string) bool {
			if in != nil {
				if _, ok := in[name]; !ok {
					return false
				}
			}
			if !strings.HasPrefix(name, f.Prefix) {
				return false
			}
			if associated != nil {
				_, ok := associated[name]
				return ok == *f.Associated
			}
			return true
		}
		out = out[:0]
		for _, name := range standardTraits {
			if keep(name) {
				out = append(out, Trait{Name: name, Standard: true})
			}
		}
		for _, t := range custom {
			if keep(t.Name) {
				out = append(out, t)
			}
		}
		slices.SortFunc(out, func(a, b Trait) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
	return out, err
}

// DeleteTrait deletes a custom trait. Standard traits (ErrInvalid with
// ErrStandardName) and traits some provider has (ErrTraitInUse) are refused.
func (e *Engine) DeleteTrait(ctx context.Context, name string) error {
	return e.update(ctx, ActionTraitsDelete, func(tx Tx) error {
		if _, err := lookupTrait(tx, name); err != nil {
			return err
		}
		if !strings.HasPrefix(name, CustomPrefix) || IsStandardTrait(name) {
			return &ValidationError{Field: "trait", Value: name, Rule: "standard traits cannot be deleted", Cause: ErrStandardName}
		}
		used, err := tx.AssociatedTraits()
		if err != nil {
			return err
		}
		if slices.Contains(used, name) {
			return &InUseError{Err: ErrTraitInUse, Resource: "trait", ID: name}
		}
		return tx.DeleteTrait(name)
	})
}

// requireTraits returns a NotFoundError naming every unknown trait in names.
func requireTraits(tx ReadTx, names []string) error {
	var missing []string
	for _, n := range names {
		if IsStandardTrait(n) {
			continue
		}
		if _, err := tx.Trait(n); errors.Is(err, ErrNotFound) {
			missing = append(missing, n)
		} else if err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		return &NotFoundError{Resource: "trait", ID: strings.Join(sortedUnique(missing), ", ")}
	}
	return nil
}

// ProviderTraits returns a provider's traits, sorted, and its generation.
func (e *Engine) ProviderTraits(ctx context.Context, provider string) (traits []string, generation int64, err error) {
	return e.providerNames(ctx, ActionProviderTraitsList, provider, ReadTx.ProviderTraits)
}

// providerNames reads a provider's generation and one of its name lists
// (traits or aggregates) in one snapshot.
func (e *Engine) providerNames(ctx context.Context, action Action, provider string,
	list func(ReadTx, string) ([]string, error)) (names []string, generation int64, err error) {
	err = e.view(ctx, action, Target{}, func(tx ReadTx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		generation = p.Generation
		names, err = list(tx, provider)
		return err
	})
	return names, generation, err
}

// SetProviderTraits replaces a provider's traits. The check is compared with
// the provider generation before anything else (as Placement does); the
// generation is bumped only if the set changed. It returns the new
// generation.
func (e *Engine) SetProviderTraits(ctx context.Context, provider string, check GenerationCheck, traits []string) (int64, error) {
	if err := e.Authorize(ctx, ActionProviderTraitsUpdate, Target{}); err != nil {
		return 0, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return 0, err
	}
	for _, t := range traits {
		if t == "" || len(t) > MaxNameLength {
			return 0, invalid("traits", t, "must be 1 to 255 characters")
		}
	}
	want := sortedUnique(traits)
	var gen int64
	err := e.write(ctx, func(tx Tx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		if err := check.checkProvider(provider, p.Generation); err != nil {
			return err
		}
		if err := requireTraits(tx, want); err != nil {
			return err
		}
		gen = p.Generation
		have, err := tx.ProviderTraits(provider)
		if err != nil || slices.Equal(have, want) {
			return err
		}
		if err := tx.SetProviderTraits(provider, want); err != nil {
			return err
		}
		gen++
		return tx.BumpProviderGeneration(provider, p.Generation)
	})
	return gen, err
}

// DeleteProviderTraits removes all of a provider's traits, bumping its
// generation if it had any. Placement takes no generation here; pass
// SkipGenerationCheck for that behaviour.
func (e *Engine) DeleteProviderTraits(ctx context.Context, provider string, check GenerationCheck) error {
	if err := e.Authorize(ctx, ActionProviderTraitsDelete, Target{}); err != nil {
		return err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return err
	}
	return e.write(ctx, func(tx Tx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		if err := check.checkProvider(provider, p.Generation); err != nil {
			return err
		}
		have, err := tx.ProviderTraits(provider)
		if err != nil || len(have) == 0 {
			return err
		}
		if err := tx.SetProviderTraits(provider, nil); err != nil {
			return err
		}
		return tx.BumpProviderGeneration(provider, p.Generation)
	})
}

// ProviderAggregates returns the aggregates a provider is in, sorted, and
// its generation.
func (e *Engine) ProviderAggregates(ctx context.Context, provider string) (aggregates []string, generation int64, err error) {
	return e.providerNames(ctx, ActionAggregatesList, provider, ReadTx.ProviderAggregates)
}

// SetProviderAggregates replaces the aggregates a provider is in. Aggregate
// uuids must be uuid-like and are stored as given; duplicates are refused.
// With ExpectGeneration the generation is checked and always bumped
// (Placement 1.19 and later); with SkipGenerationCheck it is neither checked
// nor bumped (Placement 1.1 to 1.18). It returns the provider generation.
func (e *Engine) SetProviderAggregates(ctx context.Context, provider string, check GenerationCheck, aggregates []string) (int64, error) {
	if err := e.Authorize(ctx, ActionAggregatesUpdate, Target{}); err != nil {
		return 0, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return 0, err
	}
	for _, a := range aggregates {
		if _, ok := CanonicalUUID(a); !ok {
			return 0, invalid("aggregates", a, "is not a 'uuid'")
		}
	}
	want := sortedUnique(aggregates)
	if len(want) != len(aggregates) {
		return 0, invalid("aggregates", "", "has non-unique elements")
	}
	var gen int64
	err := e.write(ctx, func(tx Tx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		if err := check.checkProvider(provider, p.Generation); err != nil {
			return err
		}
		gen = p.Generation
		if err := tx.SetProviderAggregates(provider, want); err != nil {
			return err
		}
		if check.IsSkip() {
			return nil
		}
		gen++
		return tx.BumpProviderGeneration(provider, p.Generation)
	})
	return gen, err
}
