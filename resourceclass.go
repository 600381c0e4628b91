package placement

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// lookupClass returns a standard or custom resource class, or a
// *NotFoundError for resource class name.
func lookupClass(tx ReadTx, name string) (ResourceClass, error) {
	if IsStandardResourceClass(name) {
		return ResourceClass{Name: name, Standard: true}, nil
	}
	rc, err := tx.ResourceClass(name)
	if errors.Is(err, ErrNotFound) {
		return ResourceClass{}, &NotFoundError{Resource: "resource class", ID: name}
	}
	return rc, err
}

// ResourceClass returns a standard or custom resource class.
func (e *Engine) ResourceClass(ctx context.Context, name string) (ResourceClass, error) {
	var rc ResourceClass
	err := e.view(ctx, ActionResourceClassesShow, Target{}, func(tx ReadTx) error {
		var err error
		rc, err = lookupClass(tx, name)
		return err
	})
	return rc, err
}

// ResourceClasses lists the standard classes (in Placement's id order) then
// the custom ones (by name).
func (e *Engine) ResourceClasses(ctx context.Context) ([]ResourceClass, error) {
	var out []ResourceClass
	err := e.view(ctx, ActionResourceClassesList, Target{}, func(tx ReadTx) error {
		custom, err := tx.ResourceClasses()
		if err != nil {
			return err
		}
		out = make([]ResourceClass, 0, len(standardClasses)+len(custom))
		for _, n := range standardClasses {
			out = append(out, ResourceClass{Name: n, Standard: true})
		}
		slices.SortFunc(custom, func(a, b ResourceClass) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, custom...)
		return nil
	})
	return out, err
}

// CreateResourceClass creates a custom class (^CUSTOM_[A-Z0-9_]+$, at most
// 255 characters); ErrAlreadyExists if it exists.
func (e *Engine) CreateResourceClass(ctx context.Context, name string) (ResourceClass, error) {
	rc, created, err := e.ensureClass(ctx, ActionResourceClassesCreate, name)
	if err == nil && !created {
		return ResourceClass{}, &ExistsError{Resource: "resource class", Field: "name", Value: name}
	}
	return rc, err
}

// EnsureResourceClass creates a custom class unless it exists (Placement's
// create-or-confirm PUT, microversion 1.7); created tells which.
func (e *Engine) EnsureResourceClass(ctx context.Context, name string) (rc ResourceClass, created bool, err error) {
	return e.ensureClass(ctx, ActionResourceClassesUpdate, name)
}

func (e *Engine) ensureClass(ctx context.Context, action Action, name string) (rc ResourceClass, created bool, err error) {
	if err := e.Authorize(ctx, action, Target{}); err != nil {
		return ResourceClass{}, false, err
	}
	if err := ValidateCustomName("name", name); err != nil {
		return ResourceClass{}, false, err
	}
	now := e.timestamp()
	err = e.write(ctx, func(tx Tx) error {
		created = false
		var err error
		if rc, err = tx.ResourceClass(name); err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		created = true
		rc = ResourceClass{Name: name, CreatedAt: now, UpdatedAt: now}
		return tx.CreateResourceClass(rc)
	})
	return rc, created, err
}

// RenameResourceClass renames a custom class (Placement microversions 1.2
// to 1.6); inventories and allocations follow. Standard classes cannot be
// renamed (ErrInvalid with ErrStandardName).
func (e *Engine) RenameResourceClass(ctx context.Context, from, to string) (ResourceClass, error) {
	if err := e.Authorize(ctx, ActionResourceClassesUpdate, Target{}); err != nil {
		return ResourceClass{}, err
	}
	if err := ValidateCustomName("name", to); err != nil {
		return ResourceClass{}, err
	}
	var rc ResourceClass
	err := e.write(ctx, func(tx Tx) error {
		old, err := lookupClass(tx, from)
		if err != nil {
			return err
		}
		if old.Standard {
			return &ValidationError{Field: "resource class", Value: from, Rule: "standard resource classes cannot be updated", Cause: ErrStandardName}
		}
		if _, err := lookupClass(tx, to); err == nil {
			return &ExistsError{Resource: "resource class", Field: "name", Value: to}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		rc = ResourceClass{Name: to, CreatedAt: old.CreatedAt, UpdatedAt: e.timestamp()}
		return tx.RenameResourceClass(from, rc)
	})
	return rc, err
}

// DeleteResourceClass deletes a custom class. Standard classes (ErrInvalid
// with ErrStandardName) and classes some inventory uses
// (ErrResourceClassInUse) are refused.
func (e *Engine) DeleteResourceClass(ctx context.Context, name string) error {
	return e.update(ctx, ActionResourceClassesDelete, func(tx Tx) error {
		rc, err := lookupClass(tx, name)
		if err != nil {
			return err
		}
		if rc.Standard {
			return &ValidationError{Field: "resource class", Value: name, Rule: "standard resource classes cannot be deleted", Cause: ErrStandardName}
		}
		inUse, err := tx.ResourceClassInUse(name)
		if err != nil {
			return err
		}
		if inUse {
			return &InUseError{Err: ErrResourceClassInUse, Resource: "resource class", ID: name}
		}
		return tx.DeleteResourceClass(name)
	})
}
