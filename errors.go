package placement

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by the Engine wraps exactly one of
// these (a CapacityError may wrap several), so callers and the REST layer can
// tell the cases apart with errors.Is; the typed errors below carry the
// details for errors.As.
var (
	// ErrNotFound: the named provider, class, trait, inventory, consumer or
	// allocation set does not exist. Details: *NotFoundError.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique name or uuid is taken. Details: *ExistsError.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: an argument breaks a documented rule. Details: *ValidationError.
	ErrInvalid = errors.New("invalid argument")
	// ErrStandardName: the operation would change or delete a standard
	// resource class or trait. Always accompanied by ErrInvalid.
	ErrStandardName = errors.New("standard resource class or trait")
	// ErrConcurrentUpdate: a generation the write depended on has changed.
	// Details: *ConflictError. Resolve with Retry.
	ErrConcurrentUpdate = errors.New("concurrent update")
	// ErrCapacityExceeded: an allocation would take usage above capacity.
	// Details: *CapacityError.
	ErrCapacityExceeded = errors.New("capacity exceeded")
	// ErrConstraintViolated: an allocation amount breaks min_unit, max_unit
	// or step_size. Details: *CapacityError.
	ErrConstraintViolated = errors.New("allocation constraints violated")
	// ErrNoInventory: an allocation names a class the provider has no
	// inventory of. Details: *CapacityError.
	ErrNoInventory = errors.New("no inventory for resource class")
	// ErrInventoryInUse: removing inventory that has allocations. Details: *InUseError.
	ErrInventoryInUse = errors.New("inventory in use")
	// ErrProviderInUse: deleting a provider that has allocations. Details: *InUseError.
	ErrProviderInUse = errors.New("resource provider has allocations")
	// ErrProviderHasChildren: deleting a provider that has child providers. Details: *InUseError.
	ErrProviderHasChildren = errors.New("resource provider has children")
	// ErrResourceClassInUse: deleting a custom class that some inventory uses. Details: *InUseError.
	ErrResourceClassInUse = errors.New("resource class in use")
	// ErrTraitInUse: deleting a custom trait that some provider has. Details: *InUseError.
	ErrTraitInUse = errors.New("trait in use")
	// ErrForbidden: the Authorizer refused the operation. Details: *ForbiddenError.
	ErrForbidden = errors.New("forbidden")
)

// Causes of a provider create or update refusal: each accompanies ErrInvalid
// in a *ValidationError (field parent_provider_uuid), so a front end can tell
// them apart with errors.Is.
var (
	// ErrParentNotFound: the named parent provider does not exist.
	ErrParentNotFound = errors.New("parent provider does not exist")
	// ErrSelfParent: a provider cannot be its own parent.
	ErrSelfParent = errors.New("parent provider cannot be the provider itself")
	// ErrProviderLoop: the new parent is in the provider's own subtree.
	ErrProviderLoop = errors.New("creating loop in the provider tree is not allowed")
	// ErrReparent: the parent may not change (ProviderUpdate.KeepParent).
	ErrReparent = errors.New("re-parenting a provider is not allowed")
	// ErrUnparent: the parent may not be removed (ProviderUpdate.KeepParent).
	ErrUnparent = errors.New("un-parenting a provider is not allowed")
)

func parentError(value string, cause error) error {
	return &ValidationError{Field: "parent_provider_uuid", Value: value, Rule: cause.Error(), Cause: cause}
}

// NotFoundError says which thing was missing.
type NotFoundError struct {
	Resource string // "resource provider", "resource class", "trait", "inventory", "allocations"
	ID       string // its uuid or name
	Provider string // for inventories: the provider that lacks the class
}

func (e *NotFoundError) Error() string {
	if e.Provider != "" {
		return fmt.Sprintf("placement: no %s %s on resource provider %s", e.Resource, e.ID, e.Provider)
	}
	return fmt.Sprintf("placement: no %s %s", e.Resource, e.ID)
}

// Unwrap returns ErrNotFound.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ExistsError says which unique field clashed.
type ExistsError struct {
	Resource string // "resource provider", "resource class", "trait", "inventory"
	Field    string // "uuid" or "name" (for inventory: "resource_class")
	Value    string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("placement: %s with %s %q already exists", e.Resource, e.Field, e.Value)
}

// Unwrap returns ErrAlreadyExists.
func (e *ExistsError) Unwrap() error { return ErrAlreadyExists }

// ValidationError names the field and the rule an argument broke.
type ValidationError struct {
	Field string // e.g. "name", "inventories[VCPU].total", "parent_provider_uuid"
	Value string // the offending value, formatted
	Rule  string // e.g. "must be at most 200 characters"
	// Cause is an optional second sentinel (ErrStandardName) that errors.Is
	// also matches.
	Cause error
}

func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("placement: invalid %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("placement: invalid %s %s: %s", e.Field, e.Value, e.Rule)
}

// Unwrap returns ErrInvalid and the Cause, if any.
func (e *ValidationError) Unwrap() []error {
	if e.Cause != nil {
		return []error{ErrInvalid, e.Cause}
	}
	return []error{ErrInvalid}
}

func invalid(field, value, rule string) error {
	return &ValidationError{Field: field, Value: value, Rule: rule}
}

// InUseError says what blocks a delete: allocations on a provider, inventory
// classes with allocations, children of a provider, or a class or trait in use.
type InUseError struct {
	Err      error    // the sentinel: ErrInventoryInUse, ErrProviderInUse, ...
	Resource string   // "resource provider", "inventory", "resource class", "trait"
	ID       string   // provider uuid, class or trait name
	Classes  []string // for inventory: the classes that have allocations, sorted
}

func (e *InUseError) Error() string {
	if len(e.Classes) > 0 {
		return fmt.Sprintf("placement: inventory for %s on resource provider %s in use", strings.Join(e.Classes, ", "), e.ID)
	}
	return fmt.Sprintf("placement: %s %s: %v", e.Resource, e.ID, e.Err)
}

// Unwrap returns the sentinel.
func (e *InUseError) Unwrap() error { return e.Err }

// ForbiddenError says which action the Authorizer refused and why.
type ForbiddenError struct {
	Action Action
	Reason string
}

func (e *ForbiddenError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("placement: policy does not allow %s to be performed", e.Action)
	}
	return fmt.Sprintf("placement: policy does not allow %s to be performed: %s", e.Action, e.Reason)
}

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// ConflictKind tells which generation a ConflictError is about.
type ConflictKind uint8

const (
	// ProviderGeneration: a resource provider's generation changed.
	ProviderGeneration ConflictKind = iota + 1
	// ConsumerGeneration: a consumer's generation changed, or the consumer
	// appeared or disappeared.
	ConsumerGeneration
)

func (k ConflictKind) String() string {
	switch k {
	case ProviderGeneration:
		return "resource provider"
	case ConsumerGeneration:
		return "consumer"
	}
	return "unknown"
}

// ConflictError reports a stale generation. Expected is what the caller (or
// the Engine, for internal reads) believed; Actual is what is stored, with
// Exists false when the consumer has no record at all.
type ConflictError struct {
	Kind     ConflictKind
	UUID     string
	Expected GenerationCheck
	Actual   int64
	Exists   bool
	// internal marks a conflict on a generation the Engine read itself
	// (retryable inside an allocation write), not one the caller passed.
	internal bool
}

func (e *ConflictError) Error() string {
	actual := "none"
	if e.Exists {
		actual = fmt.Sprint(e.Actual)
	}
	return fmt.Sprintf("placement: %s %s generation conflict: expected %s, actual %s", e.Kind, e.UUID, e.Expected, actual)
}

// Unwrap returns ErrConcurrentUpdate.
func (e *ConflictError) Unwrap() error { return ErrConcurrentUpdate }

// Problem is one reason an allocation write does not fit: which provider and
// class, how much was asked (the per-provider, per-class sum for capacity
// problems; the single amount for unit problems), what is already used by
// other consumers and the capacity.
type Problem struct {
	Reason    Reason
	Provider  string
	Class     string
	Requested int64
	Used      int64
	Capacity  float64
	// Limit is the min_unit, max_unit or step_size that was broken.
	Limit int64
}

func (p Problem) String() string {
	switch p.Reason {
	case ReasonNoInventory:
		return fmt.Sprintf("%s on %s: no inventory", p.Class, p.Provider)
	case ReasonMinUnit:
		return fmt.Sprintf("%s on %s: amount %d below min_unit %d", p.Class, p.Provider, p.Requested, p.Limit)
	case ReasonMaxUnit:
		return fmt.Sprintf("%s on %s: amount %d above max_unit %d", p.Class, p.Provider, p.Requested, p.Limit)
	case ReasonStepSize:
		return fmt.Sprintf("%s on %s: amount %d not a multiple of step_size %d", p.Class, p.Provider, p.Requested, p.Limit)
	default:
		return fmt.Sprintf("%s on %s: requested %d, used %d, capacity %s", p.Class, p.Provider, p.Requested, p.Used, formatCapacity(p.Capacity))
	}
}

// CapacityError lists every reason an allocation write was refused, sorted by
// provider then class. errors.Is matches ErrCapacityExceeded,
// ErrConstraintViolated and ErrNoInventory for the reasons present.
type CapacityError struct {
	Problems []Problem
}

func (e *CapacityError) Error() string {
	var b strings.Builder
	b.WriteString("placement: allocation refused: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns the sentinels of the reasons present.
func (e *CapacityError) Unwrap() []error {
	var out []error
	seen := map[error]bool{}
	for _, p := range e.Problems {
		s := p.Reason.sentinel()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
