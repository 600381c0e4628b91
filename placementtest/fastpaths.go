package placementtest

// Conformance of the optional fast paths a backend may implement
// (placement.FastReader, placement.ProviderResourcesReader,
// placement.TransientTxUpdater). The Engine takes them instead of the plain
// SPI methods whenever a backend has them, trusting their promise of
// identical results; a fast path that drifts from its plain method would make
// the Engine's answers depend on which path it happened to take, and no other
// test would notice, since the plain methods alone are checked elsewhere. So
// every check here reads the same snapshot both ways and compares. A backend
// without an interface skips its check.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
)

// init registers the fast-path tests.
func init() {
	register("FastPaths/FastReader", testFastReader)
	register("FastPaths/FastReaderOwnWrites", testFastReaderOwnWrites)
	register("FastPaths/ProviderResourcesReader", testProviderResourcesReader)
	register("FastPaths/TransientTxUpdater", testTransientTxUpdater)
}

// fastSeed is spiSeed plus what the fast paths treat specially: a provider
// without inventory, a consumer record without allocations, a consumer on
// several providers and classes, and uuids that name nothing (or name a
// thing of the other kind, to catch a backend that mixes up its indexes).
type fastSeed struct {
	spiSeed
	p5        string // a root provider with no inventory
	c3        string // a consumer record without allocations (written through the SPI)
	c4        string // on p3 DISK_GB 10 and MEMORY_MB 5, and on p4 VCPU 1
	providers []string
	consumers []string
}

// seedFast builds the state described by fastSeed.
func seedFast(t *testing.T, v *tenv) fastSeed {
	t.Helper()
	s := fastSeed{spiSeed: seedSPI(t, v), p5: fixedUUID(5), c3: fixedUUID(0xc3), c4: fixedUUID(0xc4)}
	v.rp(5, "p5")
	v.put(s.c4, mkAlloc(s.p4, "VCPU", 1), mkAlloc(s.p3, "MEMORY_MB", 5), mkAlloc(s.p3, "DISK_GB", 10))
	// The Engine deletes a consumer record when its last allocation goes,
	// so a record without allocations (which Placement can hold after a
	// partial failure, and a backend must still report) is written directly.
	checkNoErr(t, "CreateConsumer without allocations", v.store.Update(v.ctx, func(tx placement.Tx) error {
		return tx.CreateConsumer(placement.Consumer{UUID: s.c3, ProjectID: "p", UserID: "u3", ConsumerType: "MIGRATION", Generation: 1, CreatedAt: spiTime, UpdatedAt: spiTime})
	}))
	s.providers = []string{s.p1, s.p2, s.p3, s.p4, s.p5, fixedUUID(0xdead), s.c1}
	s.consumers = []string{s.c1, s.c2, s.c3, s.c4, fixedUUID(0xdeaf), s.p1}
	return s
}

// ownedOptional returns the store's optional interface T (named name), or
// skips t when the store lacks it or its Self is not the store (the Engine
// then does not use it).
func ownedOptional[T interface{ Self() placement.Store }](t *testing.T, store placement.Store, name string) T {
	t.Helper()
	o, ok := store.(T)
	if !ok {
		t.Skip("the store does not implement placement." + name)
	}
	if !placement.UsesOptional(store, o) {
		t.Skipf("the store's %s.Self is not the store: the Engine does not use it", name)
	}
	return o
}

// sortAllocationRecords compares allocation lists as multisets:
// AppendConsumerAllocations promises ConsumerAllocations' records, and the
// Engine does not depend on their order.
var sortAllocationRecords = cmpopts.SortSlices(func(a, b placement.AllocationRecord) bool {
	if c := cmpStrings(a.ConsumerUUID, b.ConsumerUUID, a.ProviderUUID, b.ProviderUUID, a.ResourceClass, b.ResourceClass); c != 0 {
		return c < 0
	}
	return a.Used < b.Used
})

// fastBufPrefix is what AppendConsumerAllocations is given to append to: the
// Engine reuses one buffer for several consumers, so a backend that resets
// or overwrites buf would corrupt the allocations read before.
var fastBufPrefix = []placement.AllocationRecord{
	{ConsumerUUID: "prefix-consumer-1", ProviderUUID: "prefix-provider", ResourceClass: "CUSTOM_PREFIX", Used: 11},
	{ConsumerUUID: "prefix-consumer-2", ProviderUUID: "prefix-provider", ResourceClass: "CUSTOM_PREFIX", Used: 22},
}

// fastReadsAgree compares every FastReader method of tx with the plain ReadTx
// methods it stands for, for each provider and consumer uuid given (known or
// not), in tx's current snapshot. where names the transaction in messages.
func fastReadsAgree(t *testing.T, where string, tx placement.ReadTx, fast placement.FastReader, providers, consumers []string) {
	t.Helper()
	for _, u := range consumers {
		want, err := tx.Consumer(u)
		if err != nil && !errors.Is(err, placement.ErrNotFound) {
			t.Fatalf("%s: Consumer(%s): %v", where, u, err)
		}
		found := err == nil
		got, ok, err := fast.LookupConsumer(u)
		switch {
		case err != nil:
			t.Errorf("%s: LookupConsumer(%s): %v (Consumer found it: %v)", where, u, err, found)
		case ok != found:
			t.Errorf("%s: LookupConsumer(%s) ok = %v, but Consumer found it: %v", where, u, ok, found)
		case ok:
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: LookupConsumer(%s) differs from Consumer (-Consumer +LookupConsumer):\n%s", where, u, d)
			}
		}

		allocs, err := tx.ConsumerAllocations(u)
		if err != nil {
			t.Fatalf("%s: ConsumerAllocations(%s): %v", where, u, err)
		}
		allocs = cloneRecords(allocs) // kept while the fast reads run
		if has, err := fast.HasConsumerAllocations(u); err != nil {
			t.Errorf("%s: HasConsumerAllocations(%s): %v", where, u, err)
		} else if has != (len(allocs) > 0) {
			t.Errorf("%s: HasConsumerAllocations(%s) = %v, but ConsumerAllocations has %d", where, u, has, len(allocs))
		}

		// After existing contents, with spare capacity: appending in place
		// is allowed, writing over buf[:len(buf)] is not.
		buf := make([]placement.AllocationRecord, len(fastBufPrefix), len(fastBufPrefix)+8)
		copy(buf, fastBufPrefix)
		out, err := fast.AppendConsumerAllocations(buf, u)
		switch {
		case err != nil:
			t.Errorf("%s: AppendConsumerAllocations(buf, %s): %v", where, u, err)
		case len(out) < len(fastBufPrefix):
			t.Errorf("%s: AppendConsumerAllocations(buf, %s) returned %d records, fewer than buf's %d", where, u, len(out), len(fastBufPrefix))
		default:
			if d := cmp.Diff(fastBufPrefix, out[:len(fastBufPrefix)]); d != "" {
				t.Errorf("%s: AppendConsumerAllocations(buf, %s) changed buf's contents (-buf +after):\n%s", where, u, d)
			}
			if d := cmp.Diff(allocs, out[len(fastBufPrefix):], equateEmpty, sortAllocationRecords); d != "" {
				t.Errorf("%s: AppendConsumerAllocations(buf, %s) appended other records than ConsumerAllocations (-ConsumerAllocations +appended):\n%s", where, u, d)
			}
		}
		// Without a buffer (the Engine's first read), then the result is
		// changed: it must be a copy, not the store's memory.
		out, err = fast.AppendConsumerAllocations(nil, u)
		if err != nil {
			t.Errorf("%s: AppendConsumerAllocations(nil, %s): %v", where, u, err)
			continue
		}
		if d := cmp.Diff(allocs, out, equateEmpty, sortAllocationRecords); d != "" {
			t.Errorf("%s: AppendConsumerAllocations(nil, %s) differs from ConsumerAllocations (-ConsumerAllocations +appended):\n%s", where, u, d)
		}
		for i := range out {
			out[i].ProviderUUID, out[i].ResourceClass, out[i].Used = "mutated", "CUSTOM_MUTATED", -1
		}
		if again, err := tx.ConsumerAllocations(u); err != nil {
			t.Fatalf("%s: ConsumerAllocations(%s): %v", where, u, err)
		} else if d := cmp.Diff(allocs, again, equateEmpty); d != "" {
			t.Errorf("%s: changing AppendConsumerAllocations' result changed the store (-before +after):\n%s", where, d)
		}
	}

	for _, u := range providers {
		want, err := tx.Provider(u)
		if err != nil && !errors.Is(err, placement.ErrNotFound) {
			t.Fatalf("%s: Provider(%s): %v", where, u, err)
		}
		found := err == nil
		res, err := tx.Resources(u)
		if err != nil {
			t.Fatalf("%s: Resources(%s): %v", where, u, err)
		}
		gen, got, ok, err := fast.ProviderResourcesView(u)
		switch {
		case err != nil:
			t.Errorf("%s: ProviderResourcesView(%s): %v (Provider found it: %v)", where, u, err, found)
		case ok != found:
			t.Errorf("%s: ProviderResourcesView(%s) ok = %v, but Provider found it: %v", where, u, ok, found)
		case ok:
			if gen != want.Generation {
				t.Errorf("%s: ProviderResourcesView(%s) generation = %d, Provider's = %d", where, u, gen, want.Generation)
			}
			// got may be the store's own memory: only read, right now.
			if d := cmp.Diff(res, got, equateEmpty); d != "" {
				t.Errorf("%s: ProviderResourcesView(%s) differs from Resources (-Resources +view):\n%s", where, u, d)
			}
		}
	}
}

// cloneRecords returns a copy of rs (nil for an empty rs).
func cloneRecords(rs []placement.AllocationRecord) []placement.AllocationRecord {
	if len(rs) == 0 {
		return nil
	}
	return append([]placement.AllocationRecord(nil), rs...)
}

// hasFastReader reports whether the store's transactions implement
// placement.FastReader (asked outside the transaction, so that a skip does
// not unwind through the store's View).
func hasFastReader(t *testing.T, v *tenv) bool {
	t.Helper()
	var ok bool
	checkNoErr(t, "View", v.store.View(v.ctx, func(tx placement.ReadTx) error {
		_, ok = tx.(placement.FastReader)
		return nil
	}))
	return ok
}

// testFastReader checks that FastReader's reads agree with the plain ones on
// a populated state, in a View and in an Update that writes nothing.
func testFastReader(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	if !hasFastReader(t, v) {
		t.Skip("the store's ReadTx does not implement placement.FastReader")
	}
	s := seedFast(t, v)
	checkNoErr(t, "View", v.store.View(v.ctx, func(tx placement.ReadTx) error {
		fastReadsAgree(t, "View", tx, tx.(placement.FastReader), s.providers, s.consumers)
		return nil
	}))
	before := v.dump()
	checkNoErr(t, "Update", v.store.Update(v.ctx, func(tx placement.Tx) error {
		fast, ok := tx.(placement.FastReader)
		if !ok {
			t.Errorf("the store's ReadTx implements placement.FastReader, its Tx does not")
			return nil
		}
		fastReadsAgree(t, "Update", tx, fast, s.providers, s.consumers)
		return nil
	}))
	v.unchanged(before, "reading through FastReader")
}

// fastStep is one write of testFastReaderOwnWrites and what the fast reads
// must show right after it (besides agreeing with the plain reads, which
// could both be stale).
type fastStep struct {
	name  string
	write func(tx placement.Tx) error
	check func(t *testing.T, fast placement.FastReader)
}

// fastOwnWriteSteps returns writes of every kind that changes what a
// FastReader reports, in an order that also exercises a backend's lookup
// caches (a thing read, changed, deleted, made again).
func fastOwnWriteSteps(s fastSeed, c9, p6 string) []fastStep {
	c9rec := placement.Consumer{UUID: c9, ProjectID: "p9", UserID: "u9", ConsumerType: "INSTANCE", Generation: 1, CreatedAt: spiTime, UpdatedAt: spiTime}
	lookup := func(t *testing.T, fast placement.FastReader, uuid string) (placement.Consumer, bool) {
		t.Helper()
		c, ok, err := fast.LookupConsumer(uuid)
		if err != nil {
			t.Fatalf("LookupConsumer(%s): %v", uuid, err)
		}
		return c, ok
	}
	has := func(t *testing.T, fast placement.FastReader, uuid string) bool {
		t.Helper()
		ok, err := fast.HasConsumerAllocations(uuid)
		if err != nil {
			t.Fatalf("HasConsumerAllocations(%s): %v", uuid, err)
		}
		return ok
	}
	view := func(t *testing.T, fast placement.FastReader, uuid string) (int64, []placement.ProviderResource, bool) {
		t.Helper()
		gen, res, ok, err := fast.ProviderResourcesView(uuid)
		if err != nil {
			t.Fatalf("ProviderResourcesView(%s): %v", uuid, err)
		}
		return gen, res, ok
	}
	var p1gen int64 // p1's generation before the bump, read in the step
	return []fastStep{
		{"create consumer c9 (looked up missing before)", func(tx placement.Tx) error {
			return tx.CreateConsumer(c9rec)
		}, func(t *testing.T, fast placement.FastReader) {
			if c, ok := lookup(t, fast, c9); !ok || !cmp.Equal(c, c9rec) {
				t.Errorf("LookupConsumer(c9) after CreateConsumer = %+v, %v; want %+v", c, ok, c9rec)
			}
			if has(t, fast, c9) {
				t.Errorf("HasConsumerAllocations(c9) = true for a new record")
			}
		}},
		{"rename CUSTOM_C1 (held by c1 on p2)", func(tx placement.Tx) error {
			return tx.RenameResourceClass("CUSTOM_C1", placement.ResourceClass{Name: "CUSTOM_FAST", UpdatedAt: spiTime})
		}, func(t *testing.T, fast placement.FastReader) {
			if _, res, ok := view(t, fast, s.p2); !ok || len(res) != 1 || res[0].ResourceClass != "CUSTOM_FAST" || res[0].Used != 3 {
				t.Errorf("ProviderResourcesView(p2) after the rename = %+v, %v; want CUSTOM_FAST used 3", res, ok)
			}
		}},
		{"inventory on p5 (had none)", func(tx placement.Tx) error {
			return tx.PutInventory(s.p5, mkInv("VCPU", 4))
		}, func(t *testing.T, fast placement.FastReader) {
			if _, res, ok := view(t, fast, s.p5); !ok || len(res) != 1 || res[0].ResourceClass != "VCPU" || res[0].Total != 4 {
				t.Errorf("ProviderResourcesView(p5) after PutInventory = %+v, %v; want VCPU total 4", res, ok)
			}
		}},
		{"allocate c9 on p5 and p3", func(tx placement.Tx) error {
			return tx.ReplaceAllocations(c9, []placement.AllocationRecord{
				{ConsumerUUID: c9, ProviderUUID: s.p5, ResourceClass: "VCPU", Used: 2},
				{ConsumerUUID: c9, ProviderUUID: s.p3, ResourceClass: "MEMORY_MB", Used: 3},
			})
		}, func(t *testing.T, fast placement.FastReader) {
			if !has(t, fast, c9) {
				t.Errorf("HasConsumerAllocations(c9) = false after ReplaceAllocations")
			}
			if _, res, _ := view(t, fast, s.p3); func() bool { r, ok := findResourceIn(res, "MEMORY_MB"); return !ok || r.Used != 8 }() {
				t.Errorf("ProviderResourcesView(p3) after ReplaceAllocations = %+v; want MEMORY_MB used 8", res)
			}
		}},
		{"free c1", func(tx placement.Tx) error {
			return tx.ReplaceAllocations(s.c1, nil)
		}, func(t *testing.T, fast placement.FastReader) {
			if has(t, fast, s.c1) {
				t.Errorf("HasConsumerAllocations(c1) = true after freeing it")
			}
			if _, ok := lookup(t, fast, s.c1); !ok {
				t.Errorf("LookupConsumer(c1) missing after freeing its allocations (the record stays)")
			}
		}},
		{"delete consumer c1", func(tx placement.Tx) error {
			return tx.DeleteConsumer(s.c1)
		}, func(t *testing.T, fast placement.FastReader) {
			if _, ok := lookup(t, fast, s.c1); ok {
				t.Errorf("LookupConsumer(c1) found a deleted record")
			}
		}},
		{"update consumer c2", func(tx placement.Tx) error {
			c, err := tx.Consumer(s.c2)
			if err != nil {
				return err
			}
			c.ProjectID, c.UpdatedAt = "p-updated", spiTime
			c.Generation++
			return tx.UpdateConsumer(c, c.Generation-1)
		}, func(t *testing.T, fast placement.FastReader) {
			if c, ok := lookup(t, fast, s.c2); !ok || c.ProjectID != "p-updated" {
				t.Errorf("LookupConsumer(c2) after UpdateConsumer = %+v, %v; want project p-updated", c, ok)
			}
		}},
		{"bump p1", func(tx placement.Tx) error {
			p, err := tx.Provider(s.p1)
			if err != nil {
				return err
			}
			p1gen = p.Generation
			return tx.BumpProviderGeneration(s.p1, p.Generation)
		}, func(t *testing.T, fast placement.FastReader) {
			if gen, _, ok := view(t, fast, s.p1); !ok || gen != p1gen+1 {
				t.Errorf("ProviderResourcesView(p1) generation after the bump = %d, %v; want %d", gen, ok, p1gen+1)
			}
		}},
		{"delete p1's unused VCPU inventory", func(tx placement.Tx) error {
			return tx.DeleteInventory(s.p1, "VCPU")
		}, func(t *testing.T, fast placement.FastReader) {
			if _, res, _ := view(t, fast, s.p1); func() bool { _, ok := findResourceIn(res, "VCPU"); return ok }() {
				t.Errorf("ProviderResourcesView(p1) after DeleteInventory still has VCPU: %+v", res)
			}
		}},
		{"create provider p6 with inventory", func(tx placement.Tx) error {
			if err := tx.CreateProvider(placement.ResourceProvider{UUID: p6, Name: "p6", ParentUUID: s.p3, RootUUID: s.p3, CreatedAt: spiTime, UpdatedAt: spiTime}); err != nil {
				return err
			}
			return tx.PutInventory(p6, mkInv("DISK_GB", 5))
		}, func(t *testing.T, fast placement.FastReader) {
			if _, res, ok := view(t, fast, p6); !ok || len(res) != 1 {
				t.Errorf("ProviderResourcesView(p6) after CreateProvider = %+v, %v; want its DISK_GB", res, ok)
			}
		}},
		{"delete provider p6", func(tx placement.Tx) error {
			return tx.DeleteProvider(p6)
		}, func(t *testing.T, fast placement.FastReader) {
			if _, _, ok := view(t, fast, p6); ok {
				t.Errorf("ProviderResourcesView(p6) found a deleted provider")
			}
		}},
		{"free and delete c9", func(tx placement.Tx) error {
			if err := tx.ReplaceAllocations(c9, nil); err != nil {
				return err
			}
			return tx.DeleteConsumer(c9)
		}, func(t *testing.T, fast placement.FastReader) {
			if _, ok := lookup(t, fast, c9); ok || has(t, fast, c9) {
				t.Errorf("c9 still visible to LookupConsumer or HasConsumerAllocations after its deletion")
			}
		}},
		{"create c9 again, allocated on p3", func(tx placement.Tx) error {
			if err := tx.CreateConsumer(c9rec); err != nil {
				return err
			}
			return tx.ReplaceAllocations(c9, []placement.AllocationRecord{{ConsumerUUID: c9, ProviderUUID: s.p3, ResourceClass: "DISK_GB", Used: 1}})
		}, func(t *testing.T, fast placement.FastReader) {
			if !has(t, fast, c9) {
				t.Errorf("HasConsumerAllocations(c9) = false after re-creating it with allocations")
			}
		}},
	}
}

// testFastReaderOwnWrites checks that FastReader's reads in an Update see the
// transaction's own writes exactly as the plain reads do, after each write,
// under Update and (if the store has it) UpdateTransient, rolled back and
// committed.
func testFastReaderOwnWrites(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	if !hasFastReader(t, v) {
		t.Skip("the store's ReadTx does not implement placement.FastReader")
	}
	s := seedFast(t, v)
	c9, p6 := fixedUUID(0xc9), fixedUUID(6)
	providers := append([]string{p6}, s.providers...)
	consumers := append([]string{c9}, s.consumers...)

	type mode struct {
		name   string
		update func(context.Context, func(placement.Tx) error) error
		commit bool
	}
	modes := []mode{{"Update rolled back", v.store.Update, false}}
	if u, ok := v.store.(placement.TransientTxUpdater); ok && placement.UsesOptional(v.store, u) {
		// The Engine's own writes run here, so its FastReader matters most.
		modes = append(modes, mode{"UpdateTransient rolled back", u.UpdateTransient, false}, mode{"UpdateTransient committed", u.UpdateTransient, true})
	} else {
		modes = append(modes, mode{"Update committed", v.store.Update, true})
	}
	for _, m := range modes {
		before := v.dump()
		err := m.update(v.ctx, func(tx placement.Tx) error {
			fast, ok := tx.(placement.FastReader)
			if !ok {
				t.Errorf("%s: the store's ReadTx implements placement.FastReader, its Tx does not", m.name)
				return errSPIBoom
			}
			for _, st := range fastOwnWriteSteps(s, c9, p6) {
				if err := st.write(tx); err != nil {
					t.Fatalf("%s: %s: %v", m.name, st.name, err)
				}
				st.check(t, fast)
				fastReadsAgree(t, m.name+": after "+st.name, tx, fast, providers, consumers)
			}
			if m.commit {
				return nil
			}
			return errSPIBoom
		})
		if m.commit {
			checkNoErr(t, m.name, err)
		} else {
			if err != errSPIBoom { //nolint:errorlint // fn's error must come back unchanged
				t.Fatalf("%s: returned %v, want fn's error", m.name, err)
			}
			v.unchanged(before, m.name)
		}
		checkNoErr(t, "View", v.store.View(v.ctx, func(tx placement.ReadTx) error {
			fastReadsAgree(t, "View after "+m.name, tx, tx.(placement.FastReader), providers, consumers)
			return nil
		}))
	}
	v.audit()
}

// fastErrorKinds are the sentinel errors a failed lookup is compared by: the
// fast path must fail the same way (errors.Is), not merely fail.
var fastErrorKinds = []error{
	placement.ErrNotFound, placement.ErrInvalid, placement.ErrForbidden, placement.ErrConcurrentUpdate,
	context.Canceled, context.DeadlineExceeded,
}

// sameErrorKind fails the test unless want and got are both nil, or both
// match the same fastErrorKinds (and, when both are *NotFoundError, name the
// same thing).
func sameErrorKind(t *testing.T, what string, want, got error) {
	t.Helper()
	if (want == nil) != (got == nil) {
		t.Errorf("%s: error %v, the plain path's %v", what, got, want)
		return
	}
	for _, kind := range fastErrorKinds {
		if errors.Is(want, kind) != errors.Is(got, kind) {
			t.Errorf("%s: error %q (%T) matches %v: %v; the plain path's %q (%T): %v",
				what, got, got, kind, errors.Is(got, kind), want, want, errors.Is(want, kind))
		}
	}
	var wnf, gnf *placement.NotFoundError
	if errors.As(want, &wnf) && errors.As(got, &gnf) {
		if d := cmp.Diff(*wnf, *gnf); d != "" {
			t.Errorf("%s: NotFoundError differs (-plain +fast):\n%s", what, d)
		}
	}
}

// testProviderResourcesReader checks that ProviderResources returns what a
// View reading Provider then Resources returns, for known and unknown
// providers, after writes, as a copy, and on a done context.
func testProviderResourcesReader(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	r := ownedOptional[placement.ProviderResourcesReader](t, v.store, "ProviderResourcesReader")
	s := seedFast(t, v)

	// compare checks one provider both ways on ctx.
	compare := func(ctx context.Context, where, uuid string) {
		t.Helper()
		var want placement.ResourceProvider
		var wantRes []placement.ProviderResource
		werr := v.store.View(ctx, func(tx placement.ReadTx) error {
			var err error
			if want, err = tx.Provider(uuid); err != nil {
				return err
			}
			wantRes, err = tx.Resources(uuid)
			return err
		})
		got, gotRes, gerr := r.ProviderResources(ctx, uuid)
		sameErrorKind(t, where+": ProviderResources("+uuid+")", werr, gerr)
		if werr != nil || gerr != nil {
			return
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: ProviderResources(%s) provider differs from the View's (-View +ProviderResources):\n%s", where, uuid, d)
		}
		if d := cmp.Diff(wantRes, gotRes, equateEmpty); d != "" {
			t.Errorf("%s: ProviderResources(%s) resources differ from the View's (-View +ProviderResources):\n%s", where, uuid, d)
		}
	}
	for _, u := range s.providers {
		compare(v.ctx, "seeded", u)
	}
	_, _, err := r.ProviderResources(v.ctx, fixedUUID(0xdead))
	checkErrIs(t, "ProviderResources of an unknown provider", err, placement.ErrNotFound)

	// After writes that change each part (generation, inventory, usage), so
	// that an answer cached or read from a stale snapshot is caught.
	v.put(s.c4, mkAlloc(s.p3, "DISK_GB", 30))
	v.setInv(s.p5, mkInv("VCPU", 4), mkInv("DISK_GB", 7))
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, s.c2))
	for _, u := range s.providers {
		compare(v.ctx, "after writes", u)
	}

	// A fresh copy: changing it must change neither the store (which both
	// paths would then agree on, hence the saved copy) nor a later answer.
	_, res, err := r.ProviderResources(v.ctx, s.p1)
	checkNoErr(t, "ProviderResources", err)
	if len(res) == 0 {
		t.Fatalf("ProviderResources(p1) returned no resources")
	}
	saved := slices.Clone(res)
	for i := range res {
		res[i].Total, res[i].Used, res[i].ResourceClass = -5, -5, "CUSTOM_MUTATED"
	}
	_, again, err := r.ProviderResources(v.ctx, s.p1)
	checkNoErr(t, "ProviderResources", err)
	if d := cmp.Diff(saved, again); d != "" {
		t.Errorf("changing ProviderResources' result changed a later one (-before +after):\n%s", d)
	}
	compare(v.ctx, "after changing a result", s.p1)

	// A done context: both paths fail alike.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	compare(ctx, "cancelled context", s.p1)
}

// fastSnapshot is a store's whole state plus the consumer records Dump does
// not reach (those without allocations), for comparing states across
// UpdateTransient and Update.
type fastSnapshot struct {
	State
	Records map[string]placement.Consumer // by uuid, found ones only
}

// snapshotFast reads s's state and the records of consumers.
func snapshotFast(t *testing.T, s placement.Store, consumers []string) fastSnapshot {
	t.Helper()
	snap := fastSnapshot{State: cloneState(Dump(t, s)), Records: map[string]placement.Consumer{}}
	checkNoErr(t, "View", s.View(context.Background(), func(tx placement.ReadTx) error {
		for _, u := range consumers {
			c, err := tx.Consumer(u)
			if errors.Is(err, placement.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			snap.Records[u] = c
		}
		return nil
	}))
	return snap
}

// testTransientTxUpdater checks that UpdateTransient behaves as Update: a
// committed fn leaves the state a plain Update leaves on an identical store,
// and an fn that fails, or whose context ends, leaves nothing; also
// repeatedly, since the store may hand the same Tx to each call.
func testTransientTxUpdater(t *testing.T, newStore NewStore) {
	// A fixed clock makes the two stores' timestamps equal.
	clock := placement.WithClock(func() time.Time { return spiTime })
	v := newTEnv(t, newStore, clock)
	u := ownedOptional[placement.TransientTxUpdater](t, v.store, "TransientTxUpdater")
	s := seedFast(t, v)
	ref := newTEnv(t, newStore, clock) // the same writes, with the plain Update
	seedFast(t, ref)
	c9 := fixedUUID(0xc9)
	consumers := append([]string{c9}, s.consumers...)
	agree := func(what string) {
		t.Helper()
		if d := cmp.Diff(snapshotFast(t, ref.store, consumers), snapshotFast(t, v.store, consumers), equateEmpty); d != "" {
			t.Fatalf("%s: the state differs from the plain Update's (-Update +UpdateTransient):\n%s", what, d)
		}
	}
	agree("seeded") // else a difference below could come from the seeding

	write := func(tx placement.Tx) error {
		if err := tx.CreateConsumer(placement.Consumer{UUID: c9, ProjectID: "p9", UserID: "u9", Generation: 1, CreatedAt: spiTime, UpdatedAt: spiTime}); err != nil {
			return err
		}
		if err := tx.PutInventory(s.p5, mkInv("VCPU", 4)); err != nil {
			return err
		}
		if err := tx.ReplaceAllocations(c9, []placement.AllocationRecord{{ConsumerUUID: c9, ProviderUUID: s.p5, ResourceClass: "VCPU", Used: 2}}); err != nil {
			return err
		}
		// c1 goes the first time (write runs again after undo, which
		// leaves c1 gone).
		if _, err := tx.Consumer(s.c1); err == nil {
			if err := tx.ReplaceAllocations(s.c1, nil); err != nil {
				return err
			}
			if err := tx.DeleteConsumer(s.c1); err != nil {
				return err
			}
		} else if !errors.Is(err, placement.ErrNotFound) {
			return err
		}
		p, err := tx.Provider(s.p5)
		if err != nil {
			return err
		}
		return tx.BumpProviderGeneration(s.p5, p.Generation)
	}
	undo := func(tx placement.Tx) error {
		if err := tx.ReplaceAllocations(c9, nil); err != nil {
			return err
		}
		if err := tx.DeleteConsumer(c9); err != nil {
			return err
		}
		return tx.DeleteInventory(s.p5, "VCPU")
	}
	// rolledBack runs fn with UpdateTransient, failing it, and checks that
	// fn's error comes back and the state is unchanged.
	rolledBack := func(what string, fn func(placement.Tx) error) {
		t.Helper()
		before := snapshotFast(t, v.store, consumers)
		err := u.UpdateTransient(v.ctx, func(tx placement.Tx) error {
			if err := fn(tx); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return errSPIBoom
		})
		if err != errSPIBoom { //nolint:errorlint // fn's error must come back unchanged
			t.Errorf("%s: UpdateTransient returned %v, want fn's error", what, err)
		}
		if d := cmp.Diff(before, snapshotFast(t, v.store, consumers), equateEmpty); d != "" {
			t.Errorf("%s: a failed UpdateTransient changed the state (-before +after):\n%s", what, d)
		}
	}
	// committed runs fn with UpdateTransient on v and with Update on ref and
	// checks that fn's writes are visible and the two states agree.
	committed := func(what string, fn func(placement.Tx) error) {
		t.Helper()
		before := snapshotFast(t, v.store, consumers)
		checkNoErr(t, what+": UpdateTransient", u.UpdateTransient(v.ctx, fn))
		checkNoErr(t, what+": Update", ref.store.Update(ref.ctx, fn))
		if cmp.Equal(before, snapshotFast(t, v.store, consumers), equateEmpty) {
			t.Errorf("%s: a committed UpdateTransient left the state unchanged", what)
		}
		agree(what)
	}

	rolledBack("writes, then an error", write)
	// Cancelled while fn runs, fn then returns nil: Update commits nothing.
	before := snapshotFast(t, v.store, consumers)
	ctx, cancel := context.WithCancel(context.Background())
	err := u.UpdateTransient(ctx, func(tx placement.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		cancel()
		return nil
	})
	cancel()
	if err == nil {
		t.Errorf("UpdateTransient whose context was cancelled during fn returned nil")
	}
	if d := cmp.Diff(before, snapshotFast(t, v.store, consumers), equateEmpty); d != "" {
		t.Errorf("UpdateTransient cancelled during fn changed the state (-before +after):\n%s", d)
	}
	committed("writes", write)
	snap := snapshotFast(t, v.store, consumers)
	if _, c1Kept := snap.Records[s.c1]; snap.Records[c9].ProjectID != "p9" || c1Kept {
		t.Errorf("after the committed UpdateTransient: c9 = %+v, c1 kept: %v; want c9 created, c1 deleted", snap.Records[c9], c1Kept)
	}
	// Again on the transaction a store may reuse: a rollback after a
	// commit, then a commit after a rollback.
	rolledBack("undo, then an error", undo)
	committed("undo", undo)
	rolledBack("writes again, then an error", write)
	committed("writes again", write)
	v.audit()
}
