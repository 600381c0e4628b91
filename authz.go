package placement

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Identity is the caller of an Engine operation, carried in the context
// (WithIdentity). It mirrors an OpenStack request context: a user, the
// project the token is scoped to (empty when system-scoped), the roles, and
// the system scope ("all" for a system-scoped token).
type Identity struct {
	UserID      string
	ProjectID   string
	Roles       []string
	SystemScope string
}

// HasRole reports whether the identity has role r (case-insensitive, as
// oslo.policy compares roles).
func (id Identity) HasRole(r string) bool {
	return slices.ContainsFunc(id.Roles, func(x string) bool { return strings.EqualFold(x, r) })
}

type identityKey struct{}

// WithIdentity returns a context that carries id as the caller.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	id.Roles = slices.Clone(id.Roles)
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the caller carried by ctx, if any.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// AdminContext returns a context whose caller is a system-scoped admin, for
// programs and tests that embed the Engine with the default policy.
func AdminContext(ctx context.Context) context.Context {
	return WithIdentity(ctx, Identity{UserID: "admin", Roles: []string{"admin", "member", "reader"}, SystemScope: "all"})
}

// Action is a policy rule name, as Placement names them.
type Action string

// The actions the Engine asks the Authorizer about: Placement's policy rule
// names, one per API operation.
const (
	ActionProvidersList         Action = "placement:resource_providers:list"
	ActionProvidersCreate       Action = "placement:resource_providers:create"
	ActionProvidersShow         Action = "placement:resource_providers:show"
	ActionProvidersUpdate       Action = "placement:resource_providers:update"
	ActionProvidersDelete       Action = "placement:resource_providers:delete"
	ActionInventoriesList       Action = "placement:resource_providers:inventories:list"
	ActionInventoriesCreate     Action = "placement:resource_providers:inventories:create"
	ActionInventoriesShow       Action = "placement:resource_providers:inventories:show"
	ActionInventoriesUpdate     Action = "placement:resource_providers:inventories:update"
	ActionInventoriesDelete     Action = "placement:resource_providers:inventories:delete"
	ActionAggregatesList        Action = "placement:resource_providers:aggregates:list"
	ActionAggregatesUpdate      Action = "placement:resource_providers:aggregates:update"
	ActionProviderUsages        Action = "placement:resource_providers:usages"
	ActionProviderAllocations   Action = "placement:resource_providers:allocations:list"
	ActionProviderTraitsList    Action = "placement:resource_providers:traits:list"
	ActionProviderTraitsUpdate  Action = "placement:resource_providers:traits:update"
	ActionProviderTraitsDelete  Action = "placement:resource_providers:traits:delete"
	ActionAllocationsList       Action = "placement:allocations:list"
	ActionAllocationsManage     Action = "placement:allocations:manage"
	ActionAllocationsUpdate     Action = "placement:allocations:update"
	ActionAllocationsDelete     Action = "placement:allocations:delete"
	ActionAllocationCandidates  Action = "placement:allocation_candidates:list"
	ActionTraitsList            Action = "placement:traits:list"
	ActionTraitsShow            Action = "placement:traits:show"
	ActionTraitsUpdate          Action = "placement:traits:update"
	ActionTraitsDelete          Action = "placement:traits:delete"
	ActionResourceClassesList   Action = "placement:resource_classes:list"
	ActionResourceClassesCreate Action = "placement:resource_classes:create"
	ActionResourceClassesShow   Action = "placement:resource_classes:show"
	ActionResourceClassesUpdate Action = "placement:resource_classes:update"
	ActionResourceClassesDelete Action = "placement:resource_classes:delete"
	ActionUsages                Action = "placement:usages"
	ActionReshape               Action = "placement:reshaper:reshape"
)

// Target is what an action applies to, for policy rules that look at it
// (only placement:usages does by default: a project reader may read the
// totals of its own project).
type Target struct {
	ProjectID string
	UserID    string
}

// Authorizer decides whether the caller in ctx may perform action on target.
// It returns nil to allow and an error to deny; the Engine wraps a denial so
// that it matches ErrForbidden.
type Authorizer interface {
	Authorize(ctx context.Context, action Action, target Target) error
}

// AuthorizerFunc adapts a function to the Authorizer interface.
type AuthorizerFunc func(ctx context.Context, action Action, target Target) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, action Action, target Target) error {
	return f(ctx, action, target)
}

// AllowAll returns an Authorizer that allows every action, with or without an
// identity: for trusted embedding, where the caller is the program itself.
func AllowAll() Authorizer { return allowAll{} }

// allowAll is AllowAll's Authorizer; the Engine skips asking it.
type allowAll struct{}

func (allowAll) Authorize(context.Context, Action, Target) error { return nil }

// DefaultPolicy returns Placement 8.0.0's default policy as deployed with
// oslo.policy's legacy defaults (enforce_new_defaults and enforce_scope
// off), which is what Placement's *-legacy-rbac tests expect:
//
//   - reads (list, show, usages, candidates): role admin, or role reader with
//     system scope "all";
//   - writes (create, update, delete, manage, reshape): role admin;
//   - placement:usages: as reads, or role reader in the project being asked about.
//
// A context without an Identity is denied.
func DefaultPolicy() Authorizer { return defaultPolicy{} }

type defaultPolicy struct{}

func (defaultPolicy) Authorize(ctx context.Context, action Action, target Target) error {
	id, ok := IdentityFrom(ctx)
	if !ok {
		return &ForbiddenError{Action: action, Reason: "no caller identity in the context"}
	}
	if id.HasRole("admin") {
		return nil
	}
	systemReader := id.HasRole("reader") && id.SystemScope == "all"
	switch {
	case action == ActionUsages:
		if systemReader || (id.HasRole("reader") && id.ProjectID != "" && id.ProjectID == target.ProjectID) {
			return nil
		}
	case isReadAction(action):
		if systemReader {
			return nil
		}
	}
	return &ForbiddenError{Action: action}
}

func isReadAction(a Action) bool {
	s := string(a)
	return strings.HasSuffix(s, ":list") || strings.HasSuffix(s, ":show") || a == ActionProviderUsages
}

// Authorize asks the Engine's Authorizer whether the caller in ctx may
// perform action on target. Every Engine operation calls it before touching
// the store; it is exported so that a front end (the REST layer) can refuse a
// request before parsing its body, as Placement does. A denial matches
// ErrForbidden.
func (e *Engine) Authorize(ctx context.Context, action Action, target Target) error {
	if e.allowAll {
		return nil
	}
	err := e.authz.Authorize(ctx, action, target)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrForbidden) {
		return err
	}
	return &ForbiddenError{Action: action, Reason: err.Error()}
}
