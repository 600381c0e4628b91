package memstore

import (
	"fmt"

	"github.com/goplacement/placement"
)

// Every write validates first and changes state only once it cannot fail,
// so a failed call changes nothing even if fn goes on and commits.

// provider returns the provider with this uuid or a NotFoundError.
func (t *writeTx) provider(uuid string) (*provider, error) {
	if p := t.lookupProvider(uuid); p != nil {
		return p, nil
	}
	return nil, providerNotFound(uuid)
}

// lookupProvider returns the provider with this uuid, or nil. The last one
// found is cached (in the Store: one Update runs at a time, and a closed
// transaction fails before it looks), for a write reads and writes the
// same few providers.
func (t *writeTx) lookupProvider(uuid string) *provider {
	s := t.s
	if p := s.lastP; p != nil && p.live && p.rec.UUID == uuid {
		return p
	}
	p := t.st.provider(uuid)
	if p != nil {
		s.lastP = p
	}
	return p
}

// lookupConsumer returns the entry of a consumer, or nil. The last one
// found, and the last uuid found missing, are cached like lookupProvider's
// (every entry a transaction creates goes through newEntry, which updates
// the cache).
func (t *writeTx) lookupConsumer(uuid string) *consumerEntry {
	s := t.s
	if e := s.lastC; e != nil && e.live && e.uuid == uuid {
		return e
	}
	if s.missed && s.missC == uuid {
		return nil
	}
	e := t.st.consumers.get(uuid)
	if e != nil {
		s.lastC = e
	} else {
		s.missC, s.missed = uuid, true
	}
	return e
}

// newEntry creates the entry of a consumer that has none.
func (t *writeTx) newEntry(uuid string) *consumerEntry {
	e := t.st.newEntry(uuid)
	t.s.lastC, t.s.missC, t.s.missed = e, "", false
	return e
}

// LookupConsumer is readTx.LookupConsumer through the transaction's cache.
func (t *writeTx) LookupConsumer(uuid string) (placement.Consumer, bool, error) {
	if err := t.check(); err != nil {
		return placement.Consumer{}, false, err
	}
	if e := t.lookupConsumer(uuid); e != nil && e.hasRec {
		return e.rec, true, nil
	}
	return placement.Consumer{}, false, nil
}

// AppendConsumerAllocations is readTx.AppendConsumerAllocations through the
// transaction's cache.
func (t *writeTx) AppendConsumerAllocations(buf []placement.AllocationRecord, consumer string) ([]placement.AllocationRecord, error) {
	if err := t.check(); err != nil {
		return buf, err
	}
	if e := t.lookupConsumer(consumer); e != nil {
		for _, a := range e.allocs {
			buf = append(buf, placement.AllocationRecord{ConsumerUUID: consumer, ProviderUUID: a.p.rec.UUID, ResourceClass: a.class, Used: a.used})
		}
	}
	return buf, nil
}

// HasConsumerAllocations is readTx.HasConsumerAllocations through the
// transaction's cache.
func (t *writeTx) HasConsumerAllocations(consumer string) (bool, error) {
	if err := t.check(); err != nil {
		return false, err
	}
	e := t.lookupConsumer(consumer)
	return e != nil && len(e.allocs) > 0, nil
}

// ProviderResourcesView is readTx.ProviderResourcesView through the
// transaction's cache. The slice returned is the provider's own: a later
// write of the transaction changes it (usage) or replaces it (inventory).
func (t *writeTx) ProviderResourcesView(uuid string) (int64, []placement.ProviderResource, bool, error) {
	if err := t.check(); err != nil {
		return 0, nil, false, err
	}
	p := t.lookupProvider(uuid)
	if p == nil {
		return 0, nil, false, nil
	}
	return p.rec.Generation, p.res, true, nil
}

// CreateProvider inserts a provider. A taken uuid or name is an
// *ExistsError; a parent that does not exist is a *NotFoundError.
func (t *writeTx) CreateProvider(rp placement.ResourceProvider) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	if st.provider(rp.UUID) != nil {
		return &placement.ExistsError{Resource: "resource provider", Field: "uuid", Value: rp.UUID}
	}
	if st.byName[rp.Name] != nil {
		return &placement.ExistsError{Resource: "resource provider", Field: "name", Value: rp.Name}
	}
	if rp.ParentUUID != "" && st.provider(rp.ParentUUID) == nil {
		return providerNotFound(rp.ParentUUID)
	}
	p := newProvider(rp)
	st.indexProvider(p)
	t.s.pushFunc(func() { st.unindexProvider(p) })
	return nil
}

// UpdateProvider stores a provider's name, parent, root and UpdatedAt. A
// name taken by another provider is an *ExistsError; an unknown provider or
// parent is a *NotFoundError.
func (t *writeTx) UpdateProvider(rp placement.ResourceProvider) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(rp.UUID)
	if err != nil {
		return err
	}
	if other := st.byName[rp.Name]; other != nil && other != p {
		return &placement.ExistsError{Resource: "resource provider", Field: "name", Value: rp.Name}
	}
	if rp.ParentUUID != "" && st.provider(rp.ParentUUID) == nil {
		return providerNotFound(rp.ParentUUID)
	}
	old := p.rec
	rec := old
	rec.Name, rec.ParentUUID, rec.RootUUID, rec.UpdatedAt = rp.Name, rp.ParentUUID, rp.RootUUID, rp.UpdatedAt
	st.setProviderRecord(p, rec)
	t.s.pushFunc(func() { st.setProviderRecord(p, old) })
	return nil
}

// DeleteProvider deletes a provider with its inventories, trait links and
// aggregate links. The Engine checks first that it has no children and no
// allocations; should it have either, the store refuses with an
// *InUseError rather than leave dangling references.
func (t *writeTx) DeleteProvider(uuid string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(uuid)
	if err != nil {
		return err
	}
	if len(st.children[uuid]) > 0 {
		return &placement.InUseError{Err: placement.ErrProviderHasChildren, Resource: "resource provider", ID: uuid}
	}
	if len(p.holders) > 0 {
		return &placement.InUseError{Err: placement.ErrProviderInUse, Resource: "resource provider", ID: uuid}
	}
	st.unindexProvider(p)
	t.s.pushFunc(func() { st.indexProvider(p) })
	return nil
}

// BumpProviderGeneration sets the generation to expected+1 if it is
// expected, and returns a *ConflictError otherwise.
func (t *writeTx) BumpProviderGeneration(uuid string, expected int64) error {
	if err := t.check(); err != nil {
		return err
	}
	p, err := t.provider(uuid)
	if err != nil {
		return err
	}
	if p.rec.Generation != expected {
		return &placement.ConflictError{Kind: placement.ProviderGeneration, UUID: uuid,
			Expected: placement.ExpectGeneration(expected), Actual: p.rec.Generation, Exists: true}
	}
	t.s.push(undoEntry{kind: undoGeneration, p: p, n: expected})
	p.rec.Generation = expected + 1
	return nil
}

// PutInventory inserts or replaces a provider's inventory of a class; the
// class's usage is kept.
func (t *writeTx) PutInventory(provider string, inv placement.Inventory) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(provider)
	if err != nil {
		return err
	}
	old, existed := st.putInventory(p, inv)
	if existed {
		t.s.pushFunc(func() { st.putInventory(p, old) })
	} else {
		class := inv.ResourceClass
		t.s.pushFunc(func() { st.deleteInventory(p, class) })
	}
	return nil
}

// DeleteInventory deletes a provider's inventory of a class. An unknown
// provider or inventory is a *NotFoundError.
func (t *writeTx) DeleteInventory(provider, class string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(provider)
	if err != nil {
		return err
	}
	if _, ok := p.findClass(class); !ok {
		return &placement.NotFoundError{Resource: "inventory", ID: class, Provider: provider}
	}
	old := st.deleteInventory(p, class)
	t.s.pushFunc(func() { st.putInventory(p, old) })
	return nil
}

// CreateResourceClass inserts a custom class (*ExistsError if taken).
func (t *writeTx) CreateResourceClass(rc placement.ResourceClass) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	if _, ok := st.classes[rc.Name]; ok {
		return &placement.ExistsError{Resource: "resource class", Field: "name", Value: rc.Name}
	}
	st.classes[rc.Name] = rc
	t.s.pushFunc(func() { delete(st.classes, rc.Name) })
	return nil
}

// RenameResourceClass renames a custom class in its record (keeping
// CreatedAt, taking UpdatedAt from rc) and in every inventory, usage and
// allocation. An unknown class is a *NotFoundError; a new name that is a
// class already, or that some inventory or usage already names, is an
// *ExistsError.
func (t *writeTx) RenameResourceClass(from string, rc placement.ResourceClass) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	old, ok := st.classes[from]
	if !ok {
		return &placement.NotFoundError{Resource: "resource class", ID: from}
	}
	to := rc.Name
	if _, taken := st.classes[to]; taken || to == from || st.classUsed(to) {
		return &placement.ExistsError{Resource: "resource class", Field: "name", Value: to}
	}
	renamed := placement.ResourceClass{Name: to, Standard: old.Standard, CreatedAt: old.CreatedAt, UpdatedAt: rc.UpdatedAt}
	delete(st.classes, from)
	st.classes[to] = renamed
	st.renameClass(from, to)
	t.s.pushFunc(func() {
		st.renameClass(to, from)
		delete(st.classes, to)
		st.classes[from] = old
	})
	return nil
}

// DeleteResourceClass deletes a custom class (*NotFoundError if unknown).
func (t *writeTx) DeleteResourceClass(name string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	old, ok := st.classes[name]
	if !ok {
		return &placement.NotFoundError{Resource: "resource class", ID: name}
	}
	delete(st.classes, name)
	t.s.pushFunc(func() { st.classes[name] = old })
	return nil
}

// CreateTrait inserts a custom trait (*ExistsError if taken).
func (t *writeTx) CreateTrait(tr placement.Trait) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	if _, ok := st.traits[tr.Name]; ok {
		return &placement.ExistsError{Resource: "trait", Field: "name", Value: tr.Name}
	}
	st.traits[tr.Name] = tr
	t.s.pushFunc(func() { delete(st.traits, tr.Name) })
	return nil
}

// DeleteTrait deletes a custom trait (*NotFoundError if unknown).
func (t *writeTx) DeleteTrait(name string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	old, ok := st.traits[name]
	if !ok {
		return &placement.NotFoundError{Resource: "trait", ID: name}
	}
	delete(st.traits, name)
	t.s.pushFunc(func() { st.traits[name] = old })
	return nil
}

// SetProviderTraits replaces a provider's traits (duplicates are dropped).
func (t *writeTx) SetProviderTraits(provider string, traits []string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(provider)
	if err != nil {
		return err
	}
	old := st.setLinks(st.byTrait, p, &p.traits, st.intern(sortedUnique(traits)))
	t.s.pushFunc(func() { st.setLinks(st.byTrait, p, &p.traits, old) })
	return nil
}

// SetProviderAggregates replaces a provider's aggregates (duplicates are
// dropped).
func (t *writeTx) SetProviderAggregates(provider string, aggregates []string) error {
	if err := t.check(); err != nil {
		return err
	}
	st := t.st
	p, err := t.provider(provider)
	if err != nil {
		return err
	}
	old := st.setLinks(st.byAgg, p, &p.aggs, st.intern(sortedUnique(aggregates)))
	t.s.pushFunc(func() { st.setLinks(st.byAgg, p, &p.aggs, old) })
	return nil
}

// CreateConsumer inserts a consumer record (*ExistsError if the uuid is
// taken).
func (t *writeTx) CreateConsumer(c placement.Consumer) error {
	if err := t.check(); err != nil {
		return err
	}
	e := t.lookupConsumer(c.UUID)
	if e != nil && e.hasRec {
		return &placement.ExistsError{Resource: "consumer", Field: "uuid", Value: c.UUID}
	}
	if e == nil {
		e = t.newEntry(c.UUID)
	}
	t.st.setRecord(e, c)
	t.s.push(undoEntry{kind: undoCreateConsumer, s: c.UUID})
	return nil
}

// UpdateConsumer stores c's project, user, type, generation and UpdatedAt
// if the stored generation is expected, and returns a *ConflictError
// otherwise (with Exists false when there is no record).
func (t *writeTx) UpdateConsumer(c placement.Consumer, expected int64) error {
	if err := t.check(); err != nil {
		return err
	}
	e := t.lookupConsumer(c.UUID)
	ok := e != nil && e.hasRec
	var old placement.Consumer
	if ok {
		old = e.rec
	}
	if !ok || old.Generation != expected {
		return &placement.ConflictError{Kind: placement.ConsumerGeneration, UUID: c.UUID,
			Expected: placement.ExpectGeneration(expected), Actual: old.Generation, Exists: ok}
	}
	rec := old
	rec.ProjectID, rec.UserID, rec.ConsumerType, rec.Generation, rec.UpdatedAt = c.ProjectID, c.UserID, c.ConsumerType, c.Generation, c.UpdatedAt
	t.st.setRecord(e, rec)
	t.s.pushConsumer(old)
	return nil
}

// DeleteConsumer deletes a consumer record, not its allocations
// (*NotFoundError if unknown).
func (t *writeTx) DeleteConsumer(uuid string) error {
	if err := t.check(); err != nil {
		return err
	}
	e := t.lookupConsumer(uuid)
	if e == nil || !e.hasRec {
		return &placement.NotFoundError{Resource: "consumer", ID: uuid}
	}
	t.s.pushConsumer(e.rec)
	t.st.removeRecord(e)
	return nil
}

// ReplaceAllocations replaces all of a consumer's allocations with allocs
// and updates the usage of the providers concerned by the difference. Every
// record must name the consumer and an existing provider (*NotFoundError
// otherwise), have a positive amount, and be the only one for its provider
// and class.
func (t *writeTx) ReplaceAllocations(consumer string, allocs []placement.AllocationRecord) error {
	if err := t.check(); err != nil {
		return err
	}
	next := t.s.scratch[:0]
	if len(allocs) > 0 {
		var last *provider
		for i := range allocs {
			a := &allocs[i]
			if a.ConsumerUUID != consumer {
				return fmt.Errorf("memstore: allocation of consumer %q in allocations replaced for consumer %q", a.ConsumerUUID, consumer)
			}
			if a.Used <= 0 {
				return fmt.Errorf("memstore: allocation of %d %s on provider %s: amount must be positive", a.Used, a.ResourceClass, a.ProviderUUID)
			}
			p := last
			if p == nil || p.rec.UUID != a.ProviderUUID {
				var err error
				if p, err = t.provider(a.ProviderUUID); err != nil {
					return err
				}
				last = p
			}
			next = append(next, allocation{p: p, class: a.ResourceClass, used: a.Used})
		}
		sortAllocations(next)
		for i := 1; i < len(next); i++ {
			if a, b := &next[i-1], &next[i]; a.p == b.p && a.class == b.class {
				return fmt.Errorf("memstore: two allocations of %s on provider %s for consumer %s", b.class, b.p.rec.UUID, consumer)
			}
		}
	}
	t.s.scratch = next[:0]
	e := t.lookupConsumer(consumer)
	if e == nil {
		if len(next) == 0 {
			return nil // nothing to replace
		}
		e = t.newEntry(consumer)
	}
	t.s.pushAllocations(consumer, e.allocs)
	t.st.setAllocations(e, next)
	return nil
}
