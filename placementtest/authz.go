package placementtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
)

// Authorization (DESIGN rule 6, REFERENCE §8.8): every Engine operation asks
// the Authorizer with Placement's policy rule name before touching the
// store, a denial matches ErrForbidden and changes nothing, and the default
// policy is Placement 8.0.0's legacy defaults.

// init registers the authorization tests.
func init() {
	register("Authz/DenyAll", testAuthzDenyAll)
	register("Authz/Actions", testAuthzActions)
	register("Authz/Complete", testAuthzComplete)
	register("Authz/DefaultPolicy", testAuthzDefaultPolicy)
}

// authzCall is one Engine method called with plausible arguments on a store
// seeded by seedSPI.
type authzCall struct {
	method string
	// actions are the policy rules the method asks about, in order (most
	// ask one); target is the target of each.
	actions []placement.Action
	target  placement.Target
	read    bool
	call    func(ctx context.Context, e *placement.Engine, s spiSeed) error
}

// authzCalls lists every exported Engine method that takes a context.
func authzCalls() []authzCall {
	skip := placement.SkipGenerationCheck()
	newConsumer := fixedUUID(0xc9)
	return []authzCall{
		{"CreateProvider", acts(placement.ActionProvidersCreate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "new", ParentUUID: s.p1})
			return err
		}},
		{"Provider", acts(placement.ActionProvidersShow), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Provider(ctx, s.p1)
			return err
		}},
		{"Providers", acts(placement.ActionProvidersList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Providers(ctx, placement.ProviderFilter{InTree: s.p2, Required: [][]string{{"CUSTOM_T1"}}})
			return err
		}},
		{"UpdateProvider", acts(placement.ActionProvidersUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.UpdateProvider(ctx, s.p3, placement.ProviderUpdate{Name: "p3-renamed", SetParent: true, ParentUUID: s.p1})
			return err
		}},
		{"DeleteProvider", acts(placement.ActionProvidersDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.DeleteProvider(ctx, s.p4)
		}},
		{"Inventories", acts(placement.ActionInventoriesList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Inventories(ctx, s.p1)
			return err
		}},
		{"Inventory", acts(placement.ActionInventoriesShow), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, _, err := e.Inventory(ctx, s.p1, "VCPU")
			return err
		}},
		{"ReplaceInventories", acts(placement.ActionInventoriesUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ReplaceInventories(ctx, s.p3, placement.ExpectGeneration(1), []placement.Inventory{mkInv("DISK_GB", 50)})
			return err
		}},
		{"CreateInventory", acts(placement.ActionInventoriesCreate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.CreateInventory(ctx, s.p3, mkInv("VCPU", 4))
			return err
		}},
		{"UpdateInventory", acts(placement.ActionInventoriesUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.UpdateInventory(ctx, s.p3, placement.ExpectGeneration(1), mkInv("DISK_GB", 50))
			return err
		}},
		{"DeleteInventory", acts(placement.ActionInventoriesDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.DeleteInventory(ctx, s.p3, skip, "MEMORY_MB")
			return err
		}},
		{"DeleteInventories", acts(placement.ActionInventoriesDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.DeleteInventories(ctx, s.p3, skip)
			return err
		}},
		{"ResourceClass", acts(placement.ActionResourceClassesShow), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ResourceClass(ctx, "CUSTOM_C1")
			return err
		}},
		{"ResourceClasses", acts(placement.ActionResourceClassesList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ResourceClasses(ctx)
			return err
		}},
		{"CreateResourceClass", acts(placement.ActionResourceClassesCreate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.CreateResourceClass(ctx, "CUSTOM_NEW")
			return err
		}},
		{"EnsureResourceClass", acts(placement.ActionResourceClassesUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, _, err := e.EnsureResourceClass(ctx, "CUSTOM_NEW")
			return err
		}},
		{"RenameResourceClass", acts(placement.ActionResourceClassesUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.RenameResourceClass(ctx, "CUSTOM_C2", "CUSTOM_NEW")
			return err
		}},
		{"DeleteResourceClass", acts(placement.ActionResourceClassesDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.DeleteResourceClass(ctx, "CUSTOM_C2")
		}},
		{"EnsureTrait", acts(placement.ActionTraitsUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.EnsureTrait(ctx, "CUSTOM_NEW")
			return err
		}},
		{"Trait", acts(placement.ActionTraitsShow), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Trait(ctx, "CUSTOM_T1")
			return err
		}},
		{"Traits", acts(placement.ActionTraitsList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			yes := true
			_, err := e.Traits(ctx, placement.TraitFilter{Associated: &yes})
			return err
		}},
		{"DeleteTrait", acts(placement.ActionTraitsDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.DeleteTrait(ctx, "CUSTOM_T2")
		}},
		{"ProviderTraits", acts(placement.ActionProviderTraitsList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, _, err := e.ProviderTraits(ctx, s.p1)
			return err
		}},
		{"SetProviderTraits", acts(placement.ActionProviderTraitsUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.SetProviderTraits(ctx, s.p3, placement.ExpectGeneration(1), []string{"HW_CPU_X86_AVX2", "CUSTOM_T2"})
			return err
		}},
		{"DeleteProviderTraits", acts(placement.ActionProviderTraitsDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.DeleteProviderTraits(ctx, s.p1, skip)
		}},
		{"ProviderAggregates", acts(placement.ActionAggregatesList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, _, err := e.ProviderAggregates(ctx, s.p1)
			return err
		}},
		{"SetProviderAggregates", acts(placement.ActionAggregatesUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.SetProviderAggregates(ctx, s.p3, placement.ExpectGeneration(1), []string{s.a1, s.a3})
			return err
		}},
		{"SetAllocations", acts(placement.ActionAllocationsUpdate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: newConsumer, Generation: placement.ExpectNewConsumer(), ProjectID: "p", UserID: "u",
				Allocations: []placement.Allocation{mkAlloc(s.p1, "VCPU", 1)}})
		}},
		{"SetAllocationsMulti", acts(placement.ActionAllocationsManage), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.SetAllocationsMulti(ctx, []placement.ConsumerAllocations{
				{ConsumerUUID: newConsumer, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(s.p3, "DISK_GB", 1)}},
				{ConsumerUUID: s.c2, Generation: placement.ExpectGeneration(1)},
			})
		}},
		{"DeleteAllocations", acts(placement.ActionAllocationsDelete), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.DeleteAllocations(ctx, s.c1)
		}},
		{"ConsumerAllocations", acts(placement.ActionAllocationsList), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ConsumerAllocations(ctx, s.c1)
			return err
		}},
		{"ProviderAllocations", acts(placement.ActionProviderAllocations), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ProviderAllocations(ctx, s.p1)
			return err
		}},
		{"ProviderUsages", acts(placement.ActionProviderUsages), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.ProviderUsages(ctx, s.p1)
			return err
		}},
		{"Usages", acts(placement.ActionUsages), placement.Target{ProjectID: "p", UserID: "u"}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Usages(ctx, placement.UsageQuery{ProjectID: "p", UserID: "u"})
			return err
		}},
		{"Reshape", acts(placement.ActionReshape), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.Reshape(ctx, placement.ReshapeRequest{
				Inventories: []placement.ProviderInventoryUpdate{{ProviderUUID: s.p3, Generation: placement.ExpectGeneration(1), Inventories: []placement.Inventory{mkInv("DISK_GB", 100), mkInv("VGPU", 2)}}},
				Allocations: []placement.ConsumerAllocations{{ConsumerUUID: newConsumer, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(s.p3, "VGPU", 1)}}},
			})
		}},
		{"ProviderResources", acts(placement.ActionProvidersShow, placement.ActionInventoriesList, placement.ActionProviderUsages), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, _, err := e.ProviderResources(ctx, s.p1)
			return err
		}},
		{"AllocationCandidates", acts(placement.ActionAllocationCandidates), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.AllocationCandidates(ctx, placement.CandidateRequest{Groups: []placement.RequestGroup{
				{Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}}, Required: [][]string{{"CUSTOM_T1"}}},
			}})
			return err
		}},
		{"AllocationCandidatesInto", acts(placement.ActionAllocationCandidates), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.AllocationCandidatesInto(ctx, placement.CandidateRequest{Groups: []placement.RequestGroup{
				{Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}}},
			}}, new(placement.CandidateBuffer))
			return err
		}},
		{"Audit", acts(placement.ActionProviderAllocations), placement.Target{}, true, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			_, err := e.Audit(ctx)
			return err
		}},
		{"Authorize", acts(placement.ActionProvidersCreate), placement.Target{}, false, func(ctx context.Context, e *placement.Engine, s spiSeed) error {
			return e.Authorize(ctx, placement.ActionProvidersCreate, placement.Target{})
		}},
	}
}

// acts is a shorthand for a list of actions.
func acts(a ...placement.Action) []placement.Action { return a }

// countingStore counts the transactions started on a store.
type countingStore struct {
	placement.Store
	views, updates atomic.Int64
}

// View counts and runs a read transaction.
func (c *countingStore) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

// Update counts and runs a write transaction.
func (c *countingStore) Update(ctx context.Context, fn func(placement.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// authzRecorder is an Authorizer that records what it is asked and answers
// with err.
type authzRecorder struct {
	mu      sync.Mutex
	actions []placement.Action
	targets []placement.Target
	err     error
}

// Authorize records the question and answers r.err.
func (r *authzRecorder) Authorize(_ context.Context, action placement.Action, target placement.Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, action)
	r.targets = append(r.targets, target)
	return r.err
}

// reset returns and forgets what was asked.
func (r *authzRecorder) reset() ([]placement.Action, []placement.Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, tg := r.actions, r.targets
	r.actions, r.targets = nil, nil
	return a, tg
}

// checkForbidden checks that err is a denial of action.
func checkForbidden(t *testing.T, what string, err error, action placement.Action) {
	t.Helper()
	checkErrIs(t, what, err, placement.ErrForbidden)
	if err == nil {
		return
	}
	if fe := errAs[*placement.ForbiddenError](t, what, err); fe.Action != action {
		t.Errorf("%s: ForbiddenError.Action = %q, want %q", what, fe.Action, action)
	}
}

// testAuthzDenyAll calls every Engine operation with an Authorizer that
// denies everything: each fails with ErrForbidden before touching the store.
func testAuthzDenyAll(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	s := seedSPI(t, v)
	before := v.dump()
	denied := errors.New("denied by the test")
	cs := &countingStore{Store: v.store}
	var asked atomic.Int64
	e, err := placement.New(cs, placement.WithAuthorizer(placement.AuthorizerFunc(func(context.Context, placement.Action, placement.Target) error {
		asked.Add(1)
		return denied
	})))
	checkNoErr(t, "placement.New", err)
	for _, c := range authzCalls() {
		for _, ctx := range []context.Context{context.Background(), placement.AdminContext(context.Background())} {
			asked.Store(0)
			err := c.call(ctx, e, s)
			checkForbidden(t, c.method, err, c.actions[0])
			if asked.Load() != 1 {
				t.Errorf("%s: the Authorizer was asked %d times, want once", c.method, asked.Load())
			}
		}
	}
	if n, m := cs.views.Load(), cs.updates.Load(); n != 0 || m != 0 {
		t.Errorf("denied operations started %d read and %d write transactions, want none", n, m)
	}
	v.unchanged(before, "denied operations")

	// An Authorizer's own ForbiddenError comes back as it is.
	own := &placement.ForbiddenError{Action: placement.ActionProvidersList, Reason: "own"}
	e2, err := placement.New(v.store, placement.WithAuthorizer(placement.AuthorizerFunc(func(context.Context, placement.Action, placement.Target) error { return own })))
	checkNoErr(t, "placement.New", err)
	_, err = e2.Providers(context.Background(), placement.ProviderFilter{})
	if !errors.Is(err, placement.ErrForbidden) || errAs[*placement.ForbiddenError](t, "own", err).Reason != "own" {
		t.Errorf("an Authorizer's ForbiddenError came back as %v", err)
	}
}

// testAuthzActions checks the policy rule names and targets each operation
// asks about.
func testAuthzActions(t *testing.T, newStore NewStore) {
	for _, c := range authzCalls() {
		t.Run(c.method, func(t *testing.T) {
			v := newTEnv(t, newStore)
			s := seedSPI(t, v)
			rec := &authzRecorder{}
			e, err := placement.New(v.store, placement.WithAuthorizer(rec))
			checkNoErr(t, "placement.New", err)
			if err := c.call(context.Background(), e, s); err != nil {
				t.Fatalf("%s with an allowing Authorizer: %v (the call's arguments must be valid)", c.method, err)
			}
			actions, targets := rec.reset()
			if d := cmp.Diff(c.actions, actions); d != "" {
				t.Errorf("%s asked for (-want +got):\n%s", c.method, d)
			}
			var wantTargets []placement.Target
			for range c.actions {
				wantTargets = append(wantTargets, c.target)
			}
			if d := cmp.Diff(wantTargets, targets, equateEmpty); d != "" {
				t.Errorf("%s asked about target (-want +got):\n%s", c.method, d)
			}
		})
	}
}

// testAuthzComplete fails when an exported Engine method that takes a
// context is missing from authzCalls: every operation must be checked.
func testAuthzComplete(t *testing.T, _ NewStore) {
	covered := map[string]bool{}
	for _, c := range authzCalls() {
		covered[c.method] = true
	}
	ctxType := reflect.TypeFor[context.Context]()
	et := reflect.TypeFor[*placement.Engine]()
	var missing []string
	for i := 0; i < et.NumMethod(); i++ {
		m := et.Method(i)
		if m.Type.NumIn() >= 2 && m.Type.In(1) == ctxType && !covered[m.Name] {
			missing = append(missing, m.Name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("Engine methods not covered by the authorization tests (add them to authzCalls): %v", missing)
	}
	for name := range covered {
		if _, ok := et.MethodByName(name); !ok {
			t.Errorf("authzCalls lists %s, which is not an Engine method", name)
		}
	}
}

// testAuthzDefaultPolicy checks DefaultPolicy for several callers.
func testAuthzDefaultPolicy(t *testing.T, newStore NewStore) {
	calls := authzCalls()
	identities := []struct {
		name string
		ctx  context.Context
		// allowed reports whether c is allowed for this caller.
		allowed func(c authzCall) bool
	}{
		{"no identity", context.Background(), func(authzCall) bool { return false }},
		{"admin (AdminContext)", placement.AdminContext(context.Background()), func(authzCall) bool { return true }},
		{"project admin", placement.WithIdentity(context.Background(), placement.Identity{UserID: "a", ProjectID: "x", Roles: []string{"Admin"}}), func(authzCall) bool { return true }},
		{"system reader", placement.WithIdentity(context.Background(), placement.Identity{UserID: "r", Roles: []string{"reader"}, SystemScope: "all"}), func(c authzCall) bool { return c.read }},
		{"reader without system scope", placement.WithIdentity(context.Background(), placement.Identity{UserID: "r", Roles: []string{"reader"}}), func(authzCall) bool { return false }},
		{"system member", placement.WithIdentity(context.Background(), placement.Identity{UserID: "m", Roles: []string{"member"}, SystemScope: "all"}), func(authzCall) bool { return false }},
		{"project reader", placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", ProjectID: "p", Roles: []string{"reader", "member"}}), func(c authzCall) bool { return c.method == "Usages" }},
		{"reader of another project", placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", ProjectID: "q", Roles: []string{"reader"}}), func(authzCall) bool { return false }},
		{"project member", placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", ProjectID: "p", Roles: []string{"member"}}), func(authzCall) bool { return false }},
		{"service", placement.WithIdentity(context.Background(), placement.Identity{UserID: "nova", ProjectID: "service", Roles: []string{"service"}}), func(authzCall) bool { return false }},
	}
	for _, id := range identities {
		t.Run(id.name, func(t *testing.T) {
			// Denied calls all run on one store, which must not change.
			v := newTEnv(t, newStore)
			s := seedSPI(t, v)
			e, err := placement.New(v.store)
			checkNoErr(t, "placement.New", err)
			before := v.dump()
			for _, c := range calls {
				if c.read && id.allowed(c) {
					// Reads do not change anything: same store.
					if err := c.call(id.ctx, e, s); err != nil {
						t.Errorf("%s: %v, want allowed", c.method, err)
					}
					continue
				}
				if !id.allowed(c) {
					checkForbidden(t, c.method, c.call(id.ctx, e, s), c.actions[0])
				}
			}
			v.unchanged(before, "denied and read-only operations")
			// Allowed writes run on the same store, one after the other (so
			// some may fail for other reasons: Authz/Actions checks that
			// each succeeds alone); none may be refused.
			for _, c := range calls {
				if c.read || !id.allowed(c) {
					continue
				}
				if err := c.call(id.ctx, e, s); errors.Is(err, placement.ErrForbidden) {
					t.Errorf("%s: %v, want allowed", c.method, err)
				}
			}
		})
	}

	// A project reader may read its own project's usages only.
	v := newTEnv(t, newStore)
	seedSPI(t, v)
	e, err := placement.New(v.store)
	checkNoErr(t, "placement.New", err)
	reader := placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", ProjectID: "p", Roles: []string{"reader"}})
	got, err := e.Usages(reader, placement.UsageQuery{ProjectID: "p", ConsumerType: placement.AllConsumerTypes})
	checkNoErr(t, "Usages of the reader's project", err)
	if got["all"].Usages["VCPU"] != 2 || got["all"].Usages["MEMORY_MB"] != 100 {
		t.Errorf("Usages of the reader's project = %+v", got)
	}
	_, err = e.Usages(reader, placement.UsageQuery{ProjectID: "other"})
	checkForbidden(t, "Usages of another project", err, placement.ActionUsages)
	_, err = e.ProviderUsages(reader, fixedUUID(1))
	checkForbidden(t, "ProviderUsages as a project reader", err, placement.ActionProviderUsages)
	_, err = e.Providers(reader, placement.ProviderFilter{})
	checkForbidden(t, "Providers as a project reader", err, placement.ActionProvidersList)

	// The identity in the context is a copy: changing the caller's roles
	// afterwards does not change what the context carries.
	roles := []string{"reader"}
	ctx := placement.WithIdentity(context.Background(), placement.Identity{UserID: "r", Roles: roles, SystemScope: "all"})
	roles[0] = "admin"
	_, err = e.CreateProvider(ctx, placement.ProviderSpec{Name: "sneaky"})
	checkForbidden(t, "CreateProvider after mutating the roles slice", err, placement.ActionProvidersCreate)
}
