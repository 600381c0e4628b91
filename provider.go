package placement

import (
	"context"
	"errors"
)

// ProviderSpec describes a provider to create.
type ProviderSpec struct {
	// UUID is optional: a random one is generated when empty. Any uuid-like
	// form is accepted and stored canonical (lowercase, dashed).
	UUID string
	// Name is required, at most 200 characters, and unique.
	Name string
	// ParentUUID makes the provider a child of an existing provider; empty
	// makes it a root.
	ParentUUID string
}

// ProviderUpdate describes a change to a provider. Renaming and re-parenting
// do not change the provider's generation (as in Placement).
type ProviderUpdate struct {
	// Name is the new name (required; Placement's update accepts an empty
	// name, this library refuses it because names identify providers).
	Name string
	// SetParent applies ParentUUID; when false the parent is unchanged.
	SetParent bool
	// ParentUUID is the new parent; empty makes the provider a root
	// (un-parenting). The provider's whole subtree moves with it and gets
	// the new root.
	ParentUUID string
	// KeepParent refuses to change a parent the provider already has (to
	// another provider or to none): Placement's rule before microversion
	// 1.37. Setting a parent on a root is still allowed.
	KeepParent bool
}

// ProviderFilter selects providers. Zero fields do not filter; all set
// fields are ANDed.
type ProviderFilter struct {
	Name string
	UUID string
	// InTree selects the providers in the same tree as this provider (none
	// when it does not exist).
	InTree string
	// MemberOf is an AND of any-of sets of aggregate uuids (direct membership).
	MemberOf [][]string
	// NotMemberOf excludes providers in any of these aggregates.
	NotMemberOf []string
	// Required is an AND of any-of sets of traits the provider must have.
	Required [][]string
	// Forbidden excludes providers having any of these traits.
	Forbidden []string
	// Resources keeps the providers that themselves have capacity for every
	// amount (Placement's resources filter: min_unit, max_unit, step_size
	// and capacity, judged by the capacity core). Each class once, amounts
	// at least 1; an unknown class is ErrNotFound.
	Resources []ResourceAmount
}

// CreateProvider creates a resource provider with generation 0.
func (e *Engine) CreateProvider(ctx context.Context, spec ProviderSpec) (ResourceProvider, error) {
	if err := e.Authorize(ctx, ActionProvidersCreate, Target{}); err != nil {
		return ResourceProvider{}, err
	}
	if err := validateProviderName(spec.Name); err != nil {
		return ResourceProvider{}, err
	}
	p := ResourceProvider{Name: spec.Name}
	if spec.UUID == "" {
		p.UUID = NewUUID()
	} else {
		var err error
		if p.UUID, err = canonicalUUIDField("uuid", spec.UUID); err != nil {
			return ResourceProvider{}, err
		}
	}
	if spec.ParentUUID != "" {
		var err error
		if p.ParentUUID, err = canonicalUUIDField("parent_provider_uuid", spec.ParentUUID); err != nil {
			return ResourceProvider{}, err
		}
		if p.ParentUUID == p.UUID {
			return ResourceProvider{}, parentError(spec.ParentUUID, ErrSelfParent)
		}
	}
	p.CreatedAt = e.timestamp()
	p.UpdatedAt = p.CreatedAt
	err := e.write(ctx, func(tx Tx) error {
		if _, err := tx.Provider(p.UUID); err == nil {
			return &ExistsError{Resource: "resource provider", Field: "uuid", Value: p.UUID}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := tx.ProviderByName(p.Name); err == nil {
			return &ExistsError{Resource: "resource provider", Field: "name", Value: p.Name}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		p.RootUUID = p.UUID
		if p.ParentUUID != "" {
			parent, err := tx.Provider(p.ParentUUID)
			if errors.Is(err, ErrNotFound) {
				return parentError(p.ParentUUID, ErrParentNotFound)
			} else if err != nil {
				return err
			}
			p.RootUUID = parent.RootUUID
		}
		return tx.CreateProvider(p)
	})
	if err != nil {
		return ResourceProvider{}, err
	}
	return p, nil
}

// Provider returns the provider with this uuid (compared as given, like
// Placement's path lookups).
func (e *Engine) Provider(ctx context.Context, uuid string) (ResourceProvider, error) {
	var p ResourceProvider
	err := e.view(ctx, ActionProvidersShow, Target{}, func(tx ReadTx) error {
		var err error
		p, err = tx.Provider(uuid)
		return err
	})
	return p, err
}

// Providers lists the providers matching f, sorted by uuid. Unknown traits
// in Required or Forbidden are an error (ErrNotFound).
func (e *Engine) Providers(ctx context.Context, f ProviderFilter) ([]ResourceProvider, error) {
	var out []ResourceProvider
	if err := validateResourceAmounts("resources", f.Resources); err != nil {
		return nil, err
	}
	err := e.view(ctx, ActionProvidersList, Target{}, func(tx ReadTx) error {
		q, ok, err := providerQuery(tx, f)
		if err != nil || !ok {
			return err
		}
		if len(f.Resources) > 0 {
			out, err = providersWithCapacity(tx, CapacityQuery{ProviderQuery: q, Resources: f.Resources})
			return err
		}
		out, err = tx.Providers(q)
		return err
	})
	return out, err
}

// providerQuery turns a filter into a store query; ok is false when the
// filter can match nothing (an unknown in_tree provider).
func providerQuery(tx ReadTx, f ProviderFilter) (ProviderQuery, bool, error) {
	q := ProviderQuery{
		UUID:        f.UUID,
		Name:        f.Name,
		MemberOf:    f.MemberOf,
		NotMemberOf: f.NotMemberOf,
		Required:    f.Required,
		Forbidden:   f.Forbidden,
	}
	var names []string
	for _, set := range f.Required {
		names = append(names, set...)
	}
	names = append(names, f.Forbidden...)
	if err := requireTraits(tx, names); err != nil {
		return q, false, err
	}
	for _, r := range f.Resources {
		if _, err := lookupClass(tx, r.Class); err != nil {
			return q, false, err
		}
	}
	if f.InTree != "" {
		p, err := tx.Provider(f.InTree)
		if errors.Is(err, ErrNotFound) {
			return q, false, nil
		} else if err != nil {
			return q, false, err
		}
		q.Root = p.RootUUID
	}
	return q, true, nil
}

// UpdateProvider renames and/or re-parents a provider. Re-parenting is
// refused when the new parent is the provider itself or one of its
// descendants (a loop), and when u.KeepParent forbids it.
func (e *Engine) UpdateProvider(ctx context.Context, uuid string, u ProviderUpdate) (ResourceProvider, error) {
	if err := e.Authorize(ctx, ActionProvidersUpdate, Target{}); err != nil {
		return ResourceProvider{}, err
	}
	if err := validateProviderName(u.Name); err != nil {
		return ResourceProvider{}, err
	}
	newParent := ""
	if u.SetParent && u.ParentUUID != "" {
		var err error
		if newParent, err = canonicalUUIDField("parent_provider_uuid", u.ParentUUID); err != nil {
			return ResourceProvider{}, err
		}
	}
	var p ResourceProvider
	err := e.write(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.Provider(uuid); err != nil {
			return err
		}
		if p.Name != u.Name {
			if other, err := tx.ProviderByName(u.Name); err == nil && other.UUID != p.UUID {
				return &ExistsError{Resource: "resource provider", Field: "name", Value: u.Name}
			} else if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		p.Name = u.Name
		p.UpdatedAt = e.timestamp()
		if !u.SetParent || newParent == p.ParentUUID {
			return tx.UpdateProvider(p)
		}
		if u.KeepParent && p.ParentUUID != "" {
			if newParent == "" {
				return parentError("", ErrUnparent)
			}
			return parentError(newParent, ErrReparent)
		}
		return e.reparent(tx, &p, newParent)
	})
	if err != nil {
		return ResourceProvider{}, err
	}
	return p, nil
}

// reparent moves p (with its subtree) under newParent ("" = make it a root)
// and stores p; it updates p in place.
func (e *Engine) reparent(tx Tx, p *ResourceProvider, newParent string) error {
	subtree, err := descendants(tx, p.UUID)
	if err != nil {
		return err
	}
	newRoot := p.UUID
	if newParent != "" {
		if newParent == p.UUID || containsProvider(subtree, newParent) {
			return parentError(newParent, ErrProviderLoop)
		}
		parent, err := tx.Provider(newParent)
		if errors.Is(err, ErrNotFound) {
			return parentError(newParent, ErrParentNotFound)
		} else if err != nil {
			return err
		}
		newRoot = parent.RootUUID
	}
	p.ParentUUID = newParent
	if p.RootUUID != newRoot {
		for _, d := range subtree {
			d.RootUUID = newRoot
			d.UpdatedAt = p.UpdatedAt
			if err := tx.UpdateProvider(d); err != nil {
				return err
			}
		}
	}
	p.RootUUID = newRoot
	return tx.UpdateProvider(*p)
}

// descendants returns every provider below uuid (not uuid itself).
func descendants(tx ReadTx, uuid string) ([]ResourceProvider, error) {
	var out []ResourceProvider
	queue := []string{uuid}
	for len(queue) > 0 {
		children, err := tx.Providers(ProviderQuery{Parent: queue[0]})
		if err != nil {
			return nil, err
		}
		queue = queue[1:]
		for _, c := range children {
			out = append(out, c)
			queue = append(queue, c.UUID)
		}
	}
	return out, nil
}

func containsProvider(ps []ResourceProvider, uuid string) bool {
	for _, p := range ps {
		if p.UUID == uuid {
			return true
		}
	}
	return false
}

// DeleteProvider deletes a provider with its inventories, trait and
// aggregate links. It is refused while the provider has children
// (ErrProviderHasChildren) or allocations (ErrProviderInUse). No generation
// is checked, as in Placement.
func (e *Engine) DeleteProvider(ctx context.Context, uuid string) error {
	return e.update(ctx, ActionProvidersDelete, func(tx Tx) error {
		if _, err := tx.Provider(uuid); err != nil {
			return err
		}
		children, err := tx.Providers(ProviderQuery{Parent: uuid})
		if err != nil {
			return err
		}
		if len(children) > 0 {
			return &InUseError{Err: ErrProviderHasChildren, Resource: "resource provider", ID: uuid}
		}
		allocs, err := tx.ProviderAllocations(uuid)
		if err != nil {
			return err
		}
		if len(allocs) > 0 {
			return &InUseError{Err: ErrProviderInUse, Resource: "resource provider", ID: uuid}
		}
		return tx.DeleteProvider(uuid)
	})
}

// ProviderResources returns a provider with its inventories and their
// current usage, read in one snapshot: what a scheduler needs to judge a
// provider. It needs the permissions to show the provider, list its
// inventories and read its usages.
func (e *Engine) ProviderResources(ctx context.Context, uuid string) (ResourceProvider, []ProviderResource, error) {
	if !e.allowAll {
		for _, a := range [...]Action{ActionProvidersShow, ActionInventoriesList, ActionProviderUsages} {
			if err := e.Authorize(ctx, a, Target{}); err != nil {
				return ResourceProvider{}, nil, err
			}
		}
	}
	if r := e.resReader; r != nil {
		p, res, err := r.ProviderResources(ctx, uuid)
		if err != nil {
			return ResourceProvider{}, nil, err
		}
		return p, res, nil
	}
	var out struct {
		p   ResourceProvider
		res []ProviderResource
	}
	err := e.store.View(ctx, func(tx ReadTx) error {
		var err error
		if out.p, err = tx.Provider(uuid); err != nil {
			return err
		}
		out.res, err = tx.Resources(uuid)
		return err
	})
	if err != nil {
		return ResourceProvider{}, nil, err
	}
	return out.p, out.res, nil
}
