package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goplacement/placement"
)

// ErrTxClosed is returned by the methods of a transaction used after the
// View or Update that created it has returned.
var ErrTxClosed = errors.New("sqlstore: transaction closed")

// txn is the transaction handed to View (write false) and Update.
type txn struct {
	s      *Store
	ctx    context.Context
	c      *rawConn // the connection, inside database/sql's Conn.Raw
	write  bool
	closed bool
	// PostgreSQL write transactions: whether a statement has written, the
	// greatest provider uuid locked by Provider, the providers locked when
	// the transaction began (sorted), and every provider Provider was
	// asked for.
	wrote     bool
	locked    string
	prelocked []string
	asked     []string
	// The resources read together with the last provider (Provider reads
	// both in one statement where it can), handed to the Resources call
	// that follows; dropped by any write.
	resFor string
	res    []placement.ProviderResource
	resOK  bool
	// SQLite: the row ids of the consumers met.
	keys []consumerKey
	// SQLite: the row ids of the providers read by Provider and of their
	// inventories' classes, so that the allocation rows and generation
	// bumps that follow in a claim need no lookup by uuid or name. A write
	// that could end such a pairing (deleting a provider, renaming or
	// deleting a class) forgets them all.
	ids    []rowIDs
	idsBuf [4]rowIDs
	// SQLite (with a tree cache, see treecache.go): the providers whose
	// version the transaction must change (dirty, by changed) unless it
	// bumped their generation (bumped), and the providers of consumers'
	// allocation rows as last read or written (held).
	dirty, bumped []string
	held          []heldBy
	// rootsChanged: the transaction may have changed the set of roots.
	rootsChanged bool
}

// heldBy names the providers of a consumer's allocation rows.
type heldBy struct {
	consumer  string
	providers []string
}

// rowIDs pairs a provider's uuid and one of its classes with their row ids
// (class "" and id 0 for a provider without inventory).
type rowIDs struct {
	provider, class string
	pid, cid        int64
}

// rowIDsOf returns the row ids of provider and class if this transaction
// has read them.
func (t *txn) rowIDsOf(provider, class string) (pid, cid int64, ok bool) {
	for _, r := range t.ids {
		if r.provider == provider && r.class == class && r.cid != 0 {
			return r.pid, r.cid, true
		}
	}
	return 0, 0, false
}

// providerRowID returns the row id of provider if this transaction has
// read it.
func (t *txn) providerRowID(provider string) (int64, bool) {
	for _, r := range t.ids {
		if r.provider == provider {
			return r.pid, true
		}
	}
	return 0, false
}

var (
	_ placement.ReadTx = (*txn)(nil)
	_ placement.Tx     = (*txn)(nil)
)

func (t *txn) close() { t.closed = true }

func (t *txn) check() error {
	if t.closed {
		return ErrTxClosed
	}
	return t.ctx.Err()
}

// pgArgs rewrites the string arguments of a PostgreSQL statement into
// their stored form (pgEncode) and reports false when one cannot match any
// stored value (it is not valid UTF-8), so that a lookup finds nothing.
func (t *txn) pgArgs(args []any) bool {
	if t.s.dialect != PostgreSQL {
		return true
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			if !utf8.ValidString(s) {
				return false
			}
			args[i] = pgEncode(s)
		}
	}
	return true
}

// query runs a statement that returns rows. It returns errNoMatch (and no
// rows) when an argument cannot match anything stored.
func (t *txn) query(id stmtID, args ...any) (*rawRows, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if !t.pgArgs(args) {
		return nil, errNoMatch
	}
	return t.c.query(t.ctx, id, args)
}

// one scans the single row of a statement into dest; no row (or an
// argument that cannot match) is sql.ErrNoRows.
func (t *txn) one(id stmtID, args []any, dest ...any) error {
	rows, err := t.query(id, args...)
	if err == errNoMatch {
		return sql.ErrNoRows
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// writing checks that the transaction may write and notes that it does.
func (t *txn) writing() error {
	if err := t.check(); err != nil {
		return err
	}
	if !t.write {
		return errors.New("sqlstore: write in a read-only transaction")
	}
	t.wrote = true
	t.res, t.resOK = nil, false
	return nil
}

// exec runs a statement and returns the number of rows it changed. It
// returns errNoMatch (changing nothing) when an argument cannot match
// anything stored.
func (t *txn) exec(id stmtID, args ...any) (int64, error) {
	if err := t.writing(); err != nil {
		return 0, err
	}
	if !t.pgArgs(args) {
		return 0, errNoMatch
	}
	return t.c.exec(t.ctx, id, args)
}

// execOne runs a writing statement that returns one row (PostgreSQL's
// data-modifying WITH) and scans it into dest.
func (t *txn) execOne(id stmtID, args []any, dest ...any) error {
	if err := t.writing(); err != nil {
		return err
	}
	return t.one(id, args, dest...)
}

// storable checks that values to be stored can be (PostgreSQL text holds
// only valid UTF-8); field names the value in the error.
func (t *txn) storable(field string, values ...string) error {
	if t.s.dialect != PostgreSQL {
		return nil
	}
	for _, v := range values {
		if !utf8.ValidString(v) {
			return &placement.ValidationError{Field: field, Value: strconv.Quote(v),
				Rule: "must be valid UTF-8 to be stored in PostgreSQL", Cause: ErrUnstorableText}
		}
	}
	return nil
}

// fail wraps a database error with the operation's name.
func (t *txn) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTxClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if e := t.ctx.Err(); e != nil {
		return e // the statement was interrupted because the context ended
	}
	return t.s.wrap(op, err)
}

func micro(tm time.Time) int64 { return tm.UnixMicro() }

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func notFound(resource, id string) error {
	return &placement.NotFoundError{Resource: resource, ID: id}
}

// ---- reads ----

type scanner interface{ Scan(dest ...any) error }

func scanProvider(sc scanner) (placement.ResourceProvider, error) {
	var p placement.ResourceProvider
	var c, u int64
	err := sc.Scan(&p.UUID, &p.Name, &p.Generation, &p.ParentUUID, &p.RootUUID, &c, &u)
	p.CreatedAt, p.UpdatedAt = fromMicro(c), fromMicro(u)
	return p, err
}

// list runs a query and scans every row with scan.
func list[T any](t *txn, op string, id stmtID, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := t.query(id, args...)
	if err == errNoMatch {
		return nil, nil
	}
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

func scanString(r scanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

func (t *txn) provider(op string, id stmtID, key string) (placement.ResourceProvider, error) {
	rows, err := t.query(id, key)
	if err == errNoMatch {
		return placement.ResourceProvider{}, notFound("resource provider", key)
	}
	if err != nil {
		return placement.ResourceProvider{}, t.fail(op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return placement.ResourceProvider{}, t.fail(op, err)
		}
		return placement.ResourceProvider{}, notFound("resource provider", key)
	}
	p, err := scanProvider(rows)
	if err != nil {
		return placement.ResourceProvider{}, t.fail(op, err)
	}
	return p, t.fail(op, rows.Close())
}

// Provider returns the provider with this uuid.
//
// It reads the provider's inventories and usage with it, in one statement
// and snapshot, and keeps them for the Resources call that usually follows.
// In a PostgreSQL write transaction it first locks the provider's row until
// the end of the transaction (SELECT ... FOR NO KEY UPDATE, in the function
// sqlstore_lock_provider, which then reads the provider and its usage by a
// second statement, once the lock is held: a single statement that waited
// for the lock would return the provider's new row but the usage as it was
// when the statement began), so that concurrent writers on one provider
// queue instead of failing their generation compare-and-swap again and
// again. To stay free of deadlocks a transaction waits for such a lock only
// in ascending uuid order and before it has written anything; any other
// lock is taken with NOWAIT, and if the row is busy the transaction fails
// with lock_not_available (55P03). Update then runs it again, first locking
// (in order) every provider the failed attempt asked for.
func (t *txn) Provider(uuid string) (placement.ResourceProvider, error) {
	if !t.write || t.s.dialect != PostgreSQL {
		return t.providerResources(qProviderResources, uuid)
	}
	id := qProviderResources
	t.asked = append(t.asked, uuid)
	if _, held := slices.BinarySearch(t.prelocked, uuid); !held {
		id = qProviderForUpdateNowait
		if !t.wrote && uuid > t.locked {
			id = qProviderForUpdate
		}
	}
	p, err := t.providerResources(id, uuid)
	if err == nil && uuid > t.locked {
		t.locked = uuid
	}
	return p, err
}

// providerResources reads a provider with its resources (one row per
// inventory) with statement id (qProviderResources or a locking variant)
// and keeps the resources for Resources.
func (t *txn) providerResources(id stmtID, uuid string) (placement.ResourceProvider, error) {
	t.res, t.resOK = nil, false
	var p placement.ResourceProvider
	rows, err := t.query(id, uuid)
	if err == errNoMatch {
		return p, notFound("resource provider", uuid)
	}
	if err != nil {
		return p, t.fail("provider", err)
	}
	defer rows.Close()
	var res []placement.ProviderResource
	found := false
	for rows.Next() {
		var x placement.ProviderResource
		if err := scanProviderResource(rows, &p, &x); err != nil {
			return placement.ResourceProvider{}, t.fail("provider", err)
		}
		found = true
		if x.ResourceClass != "" { // "" when the provider has no inventory
			res = append(res, x)
		}
		if t.write && !t.c.pg {
			if t.ids == nil {
				t.ids = t.idsBuf[:0]
			}
			t.ids = append(t.ids, rowIDs{provider: p.UUID, class: x.ResourceClass, pid: rows.int(17), cid: rows.int(18)})
		}
	}
	if err := rows.Err(); err != nil {
		return placement.ResourceProvider{}, t.fail("provider", err)
	}
	if err := rows.Close(); err != nil {
		return placement.ResourceProvider{}, t.fail("provider", err)
	}
	if !found {
		return placement.ResourceProvider{}, notFound("resource provider", uuid)
	}
	sortResources(res)
	t.resFor, t.res, t.resOK = uuid, res, true
	return p, nil
}

// scanProviderResource reads a row of qProviderResources.
func scanProviderResource(r *rawRows, p *placement.ResourceProvider, x *placement.ProviderResource) error {
	p.UUID, p.Name, p.Generation, p.ParentUUID, p.RootUUID = r.text(0), r.text(1), r.int(2), r.text(3), r.text(4)
	p.CreatedAt, p.UpdatedAt = fromMicro(r.int(5)), fromMicro(r.int(6))
	x.ResourceClass, x.Total, x.Reserved, x.MinUnit, x.MaxUnit, x.StepSize = r.text(7), r.int(8), r.int(9), r.int(10), r.int(11), r.int(12)
	x.AllocationRatio, x.CreatedAt, x.UpdatedAt, x.Used = r.real(13), fromMicro(r.int(14)), fromMicro(r.int(15)), r.int(16)
	return r.scanErr()
}

func sortResources(res []placement.ProviderResource) {
	if len(res) > 1 {
		slices.SortFunc(res, func(a, b placement.ProviderResource) int { return strings.Compare(a.ResourceClass, b.ResourceClass) })
	}
}

// ProviderByName returns the provider with this name.
func (t *txn) ProviderByName(name string) (placement.ResourceProvider, error) {
	p, err := t.provider("provider by name", qProviderByName, name)
	var nf *placement.NotFoundError
	if errors.As(err, &nf) {
		nf.ID = name
	}
	return p, err
}

// Providers lists the providers matching q, sorted by uuid.
func (t *txn) Providers(q placement.ProviderQuery) ([]placement.ResourceProvider, error) {
	id, args := t.providerQuery(q, providerStmts{qProvidersAll, qProvidersByUUID, qProvidersByName, qProvidersByParent, qProvidersByRoot, qProvidersByTrait}, make([]any, 0, 13))
	return list(t, "providers", id, args, func(r scanner) (placement.ResourceProvider, error) { return scanProvider(r) })
}

// providerStmts are the variants of a provider query: every provider
// (filtered by the parameters that follow), or first found by uuid, name,
// parent, root or (byTrait, unless it is all) one trait of a set.
type providerStmts struct {
	all, byUUID, byName, byParent, byRoot, byTrait stmtID
}

// providerQuery chooses the variant of stmts that finds q's providers by
// the most selective index and appends the arguments of q to args (after
// the statement's own leading ones).
func (t *txn) providerQuery(q placement.ProviderQuery, stmts providerStmts, args []any) (stmtID, []any) {
	id := stmts.all
	switch {
	case q.UUID != "":
		id = stmts.byUUID
		args = append(args, q.UUID)
	case q.Name != "":
		id = stmts.byName
		args = append(args, q.Name)
	case q.Parent != "":
		id = stmts.byParent
		args = append(args, q.Parent)
	case q.Root != "":
		id = stmts.byRoot
		args = append(args, q.Root)
	case len(q.Required) > 0 && stmts.byTrait != stmts.all:
		id = stmts.byTrait
		args = append(args, t.s.listArg(q.Required[0]))
	}
	args = append(args, q.UUID, q.UUID, q.Name, q.Name, q.Root, q.Root, q.Parent, q.Parent,
		t.s.setsArg(q.MemberOf), t.s.listArg(q.NotMemberOf), t.s.setsArg(q.Required), t.s.listArg(q.Forbidden))
	return id, args
}

// Resources lists a provider's inventories with their usage, by class.
func (t *txn) Resources(provider string) ([]placement.ProviderResource, error) {
	if t.resOK && t.resFor == provider && t.check() == nil {
		res := t.res // read by Provider in this transaction, nothing written since
		t.res, t.resOK = nil, false
		return res, nil
	}
	out, err := list(t, "resources", qResources, []any{provider}, func(r scanner) (placement.ProviderResource, error) {
		var x placement.ProviderResource
		var c, u int64
		err := r.Scan(&x.ResourceClass, &x.Total, &x.Reserved, &x.MinUnit, &x.MaxUnit, &x.StepSize, &x.AllocationRatio, &c, &u, &x.Used)
		x.CreatedAt, x.UpdatedAt = fromMicro(c), fromMicro(u)
		return x, err
	})
	sortResources(out)
	return out, err
}

// ProviderTraits lists the traits of a provider.
func (t *txn) ProviderTraits(provider string) ([]string, error) {
	return list(t, "provider traits", qProviderTraits, []any{provider}, scanString)
}

// ProviderAggregates lists the aggregates a provider is in.
func (t *txn) ProviderAggregates(provider string) ([]string, error) {
	return list(t, "provider aggregates", qProviderAggregates, []any{provider}, scanString)
}

// ProviderAllocations lists the allocations held against a provider, by
// consumer and class.
func (t *txn) ProviderAllocations(provider string) ([]placement.AllocationRecord, error) {
	out, err := list(t, "provider allocations", qProviderAllocations, []any{provider}, func(r scanner) (placement.AllocationRecord, error) {
		a := placement.AllocationRecord{ProviderUUID: provider}
		err := r.Scan(&a.ConsumerUUID, &a.ResourceClass, &a.Used)
		return a, err
	})
	sortAllocations(out)
	return out, err
}

// sortAllocations sorts records by consumer, provider and class.
func sortAllocations(recs []placement.AllocationRecord) {
	if len(recs) > 1 {
		slices.SortFunc(recs, func(a, b placement.AllocationRecord) int {
			return cmp.Or(strings.Compare(a.ConsumerUUID, b.ConsumerUUID), strings.Compare(a.ProviderUUID, b.ProviderUUID),
				strings.Compare(a.ResourceClass, b.ResourceClass))
		})
	}
}

func scanClass(r scanner) (placement.ResourceClass, error) {
	var rc placement.ResourceClass
	var c, u int64
	err := r.Scan(&rc.Name, &c, &u)
	rc.CreatedAt, rc.UpdatedAt = fromMicro(c), fromMicro(u)
	return rc, err
}

// ResourceClass returns a custom resource class.
func (t *txn) ResourceClass(name string) (placement.ResourceClass, error) {
	var rc placement.ResourceClass
	var c, u int64
	err := t.one(qResourceClass, []any{name}, &rc.Name, &c, &u)
	if err == sql.ErrNoRows {
		return rc, notFound("resource class", name)
	}
	if err != nil {
		return rc, t.fail("resource class", err)
	}
	rc.CreatedAt, rc.UpdatedAt = fromMicro(c), fromMicro(u)
	return rc, nil
}

// ResourceClasses lists the custom resource classes by name.
func (t *txn) ResourceClasses() ([]placement.ResourceClass, error) {
	return list(t, "resource classes", qResourceClasses, nil, func(r scanner) (placement.ResourceClass, error) { return scanClass(r) })
}

// ResourceClassInUse reports whether some provider has inventory of the class.
func (t *txn) ResourceClassInUse(name string) (bool, error) {
	var n int64
	err := t.one(qResourceClassInUse, []any{name}, &n)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return n > 0, t.fail("resource class in use", err)
}

// Trait returns a custom trait.
func (t *txn) Trait(name string) (placement.Trait, error) {
	var tr placement.Trait
	var c, u int64
	err := t.one(qTrait, []any{name}, &tr.Name, &c, &u)
	if err == sql.ErrNoRows {
		return tr, notFound("trait", name)
	}
	if err != nil {
		return tr, t.fail("trait", err)
	}
	tr.CreatedAt, tr.UpdatedAt = fromMicro(c), fromMicro(u)
	return tr, nil
}

// Traits lists the custom traits by name.
func (t *txn) Traits() ([]placement.Trait, error) {
	return list(t, "traits", qTraits, nil, func(r scanner) (placement.Trait, error) {
		rc, err := scanClass(r)
		return placement.Trait{Name: rc.Name, CreatedAt: rc.CreatedAt, UpdatedAt: rc.UpdatedAt}, err
	})
}

// AssociatedTraits lists the traits at least one provider has.
func (t *txn) AssociatedTraits() ([]string, error) {
	return list(t, "associated traits", qAssociatedTraits, nil, scanString)
}

// Consumer returns a consumer record.
func (t *txn) Consumer(uuid string) (placement.Consumer, error) {
	var c placement.Consumer
	var id int64
	rows, err := t.query(qConsumer, uuid)
	if err == errNoMatch {
		return c, notFound("consumer", uuid)
	}
	if err != nil {
		return c, t.fail("consumer", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return c, t.fail("consumer", err)
		}
		return c, notFound("consumer", uuid)
	}
	if err := scanConsumer(rows, &c, &id); err != nil {
		return placement.Consumer{}, t.fail("consumer", err)
	}
	if err := rows.Close(); err != nil {
		return placement.Consumer{}, t.fail("consumer", err)
	}
	if t.s.dialect == SQLite {
		t.setKey(uuid, id, false)
	}
	return c, nil
}

// scanConsumer reads a row of qConsumer (SQLite's has the row id first).
func scanConsumer(r *rawRows, c *placement.Consumer, id *int64) error {
	i := 0
	if !r.c.pg {
		*id, i = r.int(0), 1
	}
	c.UUID, c.ProjectID, c.UserID, c.ConsumerType, c.Generation = r.text(i), r.text(i+1), r.text(i+2), r.text(i+3), r.int(i+4)
	c.CreatedAt, c.UpdatedAt = fromMicro(r.int(i+5)), fromMicro(r.int(i+6))
	return r.scanErr()
}

// ConsumerAllocations lists a consumer's allocations by provider and class.
func (t *txn) ConsumerAllocations(consumer string) ([]placement.AllocationRecord, error) {
	out, err := list(t, "consumer allocations", qConsumerAllocations, []any{consumer}, func(r scanner) (placement.AllocationRecord, error) {
		a := placement.AllocationRecord{ConsumerUUID: consumer}
		err := r.Scan(&a.ProviderUUID, &a.ResourceClass, &a.Used)
		return a, err
	})
	sortAllocations(out)
	if err == nil && t.write && t.s.trees != nil {
		t.hold(consumer, out)
	}
	return out, err
}

// hold records the providers of a consumer's allocation rows (see held).
func (t *txn) hold(consumer string, allocs []placement.AllocationRecord) {
	provs := make([]string, 0, len(allocs))
	for _, a := range allocs {
		provs = append(provs, a.ProviderUUID)
	}
	slices.Sort(provs)
	h := heldBy{consumer: consumer, providers: slices.Compact(provs)}
	for i := range t.held {
		if t.held[i].consumer == consumer {
			t.held[i] = h
			return
		}
	}
	t.held = append(t.held, h)
}

// holding returns the providers of a consumer's allocation rows (k is its
// row), as recorded by hold, or else read.
func (t *txn) holding(consumer string, k *consumerKey) ([]string, error) {
	if k.empty {
		return nil, nil
	}
	for _, h := range t.held {
		if h.consumer == consumer {
			return h.providers, nil
		}
	}
	return list(t, "replace allocations", qAllocationProviders, []any{k.id}, scanString)
}

// ConsumerUsages sums allocations per consumer and class over the consumers
// of a project (and user), sorted by consumer and class.
func (t *txn) ConsumerUsages(project, user string) ([]placement.ConsumerUsage, error) {
	return list(t, "consumer usages", qConsumerUsages, []any{project, user, user}, func(r scanner) (placement.ConsumerUsage, error) {
		var u placement.ConsumerUsage
		err := r.Scan(&u.ConsumerUUID, &u.ConsumerType, &u.ResourceClass, &u.Used)
		return u, err
	})
}

// MaintainedUsages lists the kept usage of every inventory.
func (t *txn) MaintainedUsages() ([]placement.UsageCount, error) {
	return list(t, "maintained usages", qMaintainedUsages, nil, func(r scanner) (placement.UsageCount, error) {
		u := placement.UsageCount{HasInventory: true}
		err := r.Scan(&u.ProviderUUID, &u.ResourceClass, &u.Used)
		return u, err
	})
}

// RecountedUsages sums the allocation rows per provider and class.
func (t *txn) RecountedUsages() ([]placement.UsageCount, error) {
	return list(t, "recounted usages", qRecountedUsages, nil, func(r scanner) (placement.UsageCount, error) {
		var u placement.UsageCount
		var inv int64
		err := r.Scan(&u.ProviderUUID, &u.ResourceClass, &u.Used, &inv)
		u.HasInventory = inv > 0
		return u, err
	})
}

// ---- writes ----

// providerID returns a provider's internal id.
func (t *txn) providerID(uuid string) (int64, error) {
	var id int64
	err := t.one(qProviderID, []any{uuid}, &id)
	if err == sql.ErrNoRows {
		return 0, notFound("resource provider", uuid)
	}
	return id, t.fail("provider id", err)
}

// CreateProvider inserts a provider.
func (t *txn) CreateProvider(p placement.ResourceProvider) error {
	if err := t.storable("resource provider", p.UUID, p.Name, p.ParentUUID, p.RootUUID); err != nil {
		return err
	}
	if p.ParentUUID != "" {
		if _, err := t.providerID(p.ParentUUID); err != nil {
			return err
		}
	}
	n, err := t.exec(qCreateProvider, p.UUID, p.Name, p.Generation, p.ParentUUID, p.RootUUID, micro(p.CreatedAt), micro(p.UpdatedAt))
	if err != nil {
		return t.fail("create provider", err)
	}
	if n == 1 {
		t.rootsChanged = t.rootsChanged || p.ParentUUID == ""
		return nil
	}
	if _, err := t.providerID(p.UUID); err == nil {
		return &placement.ExistsError{Resource: "resource provider", Field: "uuid", Value: p.UUID}
	} else if !errors.Is(err, placement.ErrNotFound) {
		return err
	}
	return &placement.ExistsError{Resource: "resource provider", Field: "name", Value: p.Name}
}

// UpdateProvider stores a provider's name, parent, root and UpdatedAt.
func (t *txn) UpdateProvider(p placement.ResourceProvider) error {
	if err := t.storable("resource provider", p.Name, p.ParentUUID, p.RootUUID); err != nil {
		return err
	}
	other, err := t.provider("update provider", qProviderByName, p.Name)
	switch {
	case err == nil && other.UUID != p.UUID:
		return &placement.ExistsError{Resource: "resource provider", Field: "name", Value: p.Name}
	case err != nil && !errors.Is(err, placement.ErrNotFound):
		return err
	}
	if p.ParentUUID != "" {
		if _, err := t.providerID(p.ParentUUID); err != nil {
			return err
		}
	}
	n, err := t.exec(qUpdateProvider, p.Name, p.ParentUUID, p.RootUUID, micro(p.UpdatedAt), p.UUID)
	if err == errNoMatch || (err == nil && n == 0) {
		return notFound("resource provider", p.UUID)
	}
	t.changed(p.UUID)
	t.rootsChanged = true // (it may have been re-parented)
	if err != nil {
		if t.s.uniqueViolation(err) {
			return &placement.ExistsError{Resource: "resource provider", Field: "name", Value: p.Name}
		}
		return t.fail("update provider", err)
	}
	return nil
}

// DeleteProvider deletes a provider with its inventories, usage rows,
// trait and aggregate links. The Engine checks first that it has no
// children and no allocations; should it have either, the store refuses
// with an *InUseError rather than leave dangling references.
func (t *txn) DeleteProvider(uuid string) error {
	id, err := t.providerID(uuid)
	if err != nil {
		return err
	}
	var children, allocs int64
	if err := t.one(qProviderDependents, []any{uuid, id}, &children, &allocs); err != nil {
		return t.fail("delete provider", err)
	}
	if children > 0 {
		return &placement.InUseError{Err: placement.ErrProviderHasChildren, Resource: "resource provider", ID: uuid}
	}
	if allocs > 0 {
		return &placement.InUseError{Err: placement.ErrProviderInUse, Resource: "resource provider", ID: uuid}
	}
	t.ids = t.ids[:0]
	t.rootsChanged = true
	for _, q := range [...]stmtID{qDeleteProviderInventories, qDeleteProviderUsages, qDeleteProviderTraits, qDeleteProviderAggregates, qDeleteProvider} {
		if _, err := t.exec(q, id); err != nil {
			return t.fail("delete provider", err)
		}
	}
	return nil
}

// BumpProviderGeneration is the compare-and-swap: generation+1 where it
// still is expected, exactly one row, or a *placement.ConflictError with
// the stored generation.
func (t *txn) BumpProviderGeneration(uuid string, expected int64) error {
	var n int64
	var err error
	if pid, ok := t.providerRowID(uuid); ok {
		n, err = t.exec(qBumpGenerationByID, pid, expected)
	} else {
		n, err = t.exec(qBumpGeneration, uuid, expected)
	}
	if err == errNoMatch {
		return notFound("resource provider", uuid)
	}
	if err != nil {
		return t.fail("bump provider generation", err)
	}
	if n == 1 {
		if t.s.trees != nil {
			t.bumped = append(t.bumped, uuid)
		}
		return nil
	}
	var actual int64
	err = t.one(qProviderGeneration, []any{uuid}, &actual)
	if err == sql.ErrNoRows {
		return notFound("resource provider", uuid)
	}
	if err != nil {
		return t.fail("provider generation", err)
	}
	return &placement.ConflictError{Kind: placement.ProviderGeneration, UUID: uuid,
		Expected: placement.ExpectGeneration(expected), Actual: actual, Exists: true}
}

// PutInventory inserts or replaces a provider's inventory of a class.
func (t *txn) PutInventory(provider string, inv placement.Inventory) error {
	n, err := t.exec(qPutInventory, inv.Total, inv.Reserved, inv.MinUnit, inv.MaxUnit, inv.StepSize, inv.AllocationRatio,
		micro(inv.CreatedAt), micro(inv.UpdatedAt), provider, inv.ResourceClass)
	if err != nil && err != errNoMatch {
		return t.fail("put inventory", err)
	}
	if n == 1 {
		if _, err := t.exec(qEnsureUsage, provider, inv.ResourceClass); err != nil {
			return t.fail("put inventory", err)
		}
		t.changed(provider)
		return nil
	}
	if _, err := t.providerID(provider); err != nil {
		return err
	}
	return notFound("resource class", inv.ResourceClass)
}

// DeleteInventory deletes a provider's inventory of a class (its usage row,
// if allocations remain, is kept).
func (t *txn) DeleteInventory(provider, class string) error {
	n, err := t.exec(qDeleteInventory, provider, class)
	if err != nil && err != errNoMatch {
		return t.fail("delete inventory", err)
	}
	if n == 1 {
		t.changed(provider)
		return nil
	}
	if _, err := t.providerID(provider); err != nil {
		return err
	}
	return &placement.NotFoundError{Resource: "inventory", ID: class, Provider: provider}
}

// CreateResourceClass inserts a custom class (id 10000 or above).
func (t *txn) CreateResourceClass(rc placement.ResourceClass) error {
	if err := t.storable("resource class", rc.Name); err != nil {
		return err
	}
	n, err := t.exec(qCreateClass, rc.Name, micro(rc.CreatedAt), micro(rc.UpdatedAt))
	if err != nil {
		return t.fail("create resource class", err)
	}
	if n == 0 {
		return &placement.ExistsError{Resource: "resource class", Field: "name", Value: rc.Name}
	}
	return nil
}

// RenameResourceClass renames a custom class; inventories and allocations
// refer to its id, so they follow.
func (t *txn) RenameResourceClass(from string, rc placement.ResourceClass) error {
	if err := t.storable("resource class", rc.Name); err != nil {
		return err
	}
	var taken int64
	if err := t.one(qClassExists, []any{rc.Name}, &taken); err != nil && err != sql.ErrNoRows {
		return t.fail("rename resource class", err)
	}
	if taken > 0 {
		return &placement.ExistsError{Resource: "resource class", Field: "name", Value: rc.Name}
	}
	t.ids = t.ids[:0]
	n, err := t.exec(qRenameClass, rc.Name, micro(rc.UpdatedAt), from)
	if err == errNoMatch || (err == nil && n == 0) {
		return notFound("resource class", from)
	}
	if err != nil {
		if t.s.uniqueViolation(err) {
			return &placement.ExistsError{Resource: "resource class", Field: "name", Value: rc.Name}
		}
		return t.fail("rename resource class", err)
	}
	return nil
}

// DeleteResourceClass deletes a custom class.
func (t *txn) DeleteResourceClass(name string) error {
	t.ids = t.ids[:0]
	if _, err := t.exec(qDeleteClassUsages, name); err != nil && err != errNoMatch {
		return t.fail("delete resource class", err)
	}
	n, err := t.exec(qDeleteClass, name)
	if err == errNoMatch || (err == nil && n == 0) {
		return notFound("resource class", name)
	}
	return t.fail("delete resource class", err)
}

// CreateTrait inserts a custom trait.
func (t *txn) CreateTrait(tr placement.Trait) error {
	if err := t.storable("trait", tr.Name); err != nil {
		return err
	}
	n, err := t.exec(qCreateTrait, tr.Name, micro(tr.CreatedAt), micro(tr.UpdatedAt))
	if err != nil {
		return t.fail("create trait", err)
	}
	if n == 0 {
		return &placement.ExistsError{Resource: "trait", Field: "name", Value: tr.Name}
	}
	return nil
}

// DeleteTrait deletes a custom trait.
func (t *txn) DeleteTrait(name string) error {
	n, err := t.exec(qDeleteTrait, name)
	if err == errNoMatch || (err == nil && n == 0) {
		return notFound("trait", name)
	}
	return t.fail("delete trait", err)
}

// setLinks replaces a provider's trait or aggregate links.
func (t *txn) setLinks(op, field string, provider string, del, ins stmtID, names []string) error {
	if err := t.storable(field, names...); err != nil {
		return err
	}
	id, err := t.providerID(provider)
	if err != nil {
		return err
	}
	t.changed(provider)
	if _, err := t.exec(del, id); err != nil {
		return t.fail(op, err)
	}
	for _, n := range names {
		if _, err := t.exec(ins, id, n); err != nil {
			return t.fail(op, err)
		}
	}
	return nil
}

// SetProviderTraits replaces a provider's traits.
func (t *txn) SetProviderTraits(provider string, traits []string) error {
	return t.setLinks("set provider traits", "traits", provider, qDeleteProviderTraits, qInsertProviderTrait, traits)
}

// SetProviderAggregates replaces a provider's aggregates.
func (t *txn) SetProviderAggregates(provider string, aggregates []string) error {
	return t.setLinks("set provider aggregates", "aggregates", provider, qDeleteProviderAggregates, qInsertProviderAggregate, aggregates)
}

// CreateConsumer inserts a consumer record.
func (t *txn) CreateConsumer(c placement.Consumer) error {
	if err := t.storable("consumer", c.UUID, c.ProjectID, c.UserID, c.ConsumerType); err != nil {
		return err
	}
	if t.s.dialect == SQLite {
		return t.liteCreateConsumer(c)
	}
	n, err := t.exec(qCreateConsumer, c.UUID, c.ProjectID, c.UserID, c.ConsumerType, c.Generation, micro(c.CreatedAt), micro(c.UpdatedAt))
	if err != nil {
		return t.fail("create consumer", err)
	}
	if n == 0 {
		return &placement.ExistsError{Resource: "consumer", Field: "uuid", Value: c.UUID}
	}
	return nil
}

// liteCreateConsumer inserts a consumer's row (SQLite), or gives its
// record back to the row kept for the allocations of a consumer without
// one.
func (t *txn) liteCreateConsumer(c placement.Consumer) error {
	if err := t.writing(); err != nil {
		return err
	}
	n, id, err := t.c.insert(qCreateConsumer, []any{c.UUID, c.ProjectID, c.UserID, c.ConsumerType, c.Generation, micro(c.CreatedAt), micro(c.UpdatedAt)})
	if err != nil {
		return t.fail("create consumer", err)
	}
	if n == 1 {
		t.setKey(c.UUID, id, true) // a new id: no allocation row refers to it
		return nil
	}
	err = t.execOne(qReviveConsumer, []any{c.ProjectID, c.UserID, c.ConsumerType, c.Generation, micro(c.CreatedAt), micro(c.UpdatedAt), c.UUID}, &id)
	if err == sql.ErrNoRows {
		return &placement.ExistsError{Resource: "consumer", Field: "uuid", Value: c.UUID}
	}
	if err != nil {
		return t.fail("create consumer", err)
	}
	t.setKey(c.UUID, id, false)
	return nil
}

// consumerKey is a consumer's row id (SQLite) as met in this transaction.
type consumerKey struct {
	uuid  string
	id    int64
	empty bool // known to hold no allocation rows
}

func (t *txn) key(uuid string) *consumerKey {
	for i := range t.keys {
		if t.keys[i].uuid == uuid {
			return &t.keys[i]
		}
	}
	return nil
}

func (t *txn) setKey(uuid string, id int64, empty bool) *consumerKey {
	if k := t.key(uuid); k != nil {
		if k.id != id {
			*k = consumerKey{uuid: uuid, id: id, empty: empty}
		}
		k.empty = k.empty || empty
		return k
	}
	t.keys = append(t.keys, consumerKey{uuid: uuid, id: id, empty: empty})
	return &t.keys[len(t.keys)-1]
}

func (t *txn) dropKey(uuid string) {
	t.keys = slices.DeleteFunc(t.keys, func(k consumerKey) bool { return k.uuid == uuid })
}

// UpdateConsumer stores c if its generation still is expected (the
// consumer's compare-and-swap), or returns a *placement.ConflictError.
func (t *txn) UpdateConsumer(c placement.Consumer, expected int64) error {
	if err := t.storable("consumer", c.ProjectID, c.UserID, c.ConsumerType); err != nil {
		return err
	}
	n, err := t.exec(qUpdateConsumer, c.ProjectID, c.UserID, c.ConsumerType, c.Generation, micro(c.UpdatedAt), c.UUID, expected)
	if err != nil && err != errNoMatch {
		return t.fail("update consumer", err)
	}
	if n == 1 {
		return nil
	}
	var actual int64
	err = t.one(qConsumerGeneration, []any{c.UUID}, &actual)
	if err != nil && err != sql.ErrNoRows {
		return t.fail("consumer generation", err)
	}
	return &placement.ConflictError{Kind: placement.ConsumerGeneration, UUID: c.UUID,
		Expected: placement.ExpectGeneration(expected), Actual: actual, Exists: err == nil}
}

// DeleteConsumer deletes a consumer record. (On SQLite the row of a
// consumer that still holds allocations stays, without its record.)
func (t *txn) DeleteConsumer(uuid string) error {
	n, err := t.exec(qDeleteConsumer, uuid)
	if err == nil && n == 1 {
		t.dropKey(uuid)
		return nil
	}
	if err == nil && t.s.dialect == SQLite {
		n, err = t.exec(qHideConsumer, uuid)
	}
	if err == errNoMatch || (err == nil && n == 0) {
		return notFound("consumer", uuid)
	}
	return t.fail("delete consumer", err)
}

// ReplaceAllocations replaces a consumer's allocation rows; the usages
// table follows through triggers, in this transaction.
func (t *txn) ReplaceAllocations(consumer string, allocs []placement.AllocationRecord) error {
	if err := t.storable("consumer", consumer); err != nil {
		return err
	}
	for i, a := range allocs {
		if a.ConsumerUUID != consumer {
			return fmt.Errorf("sqlstore: allocation of consumer %q in allocations replaced for consumer %q", a.ConsumerUUID, consumer)
		}
		if a.Used <= 0 {
			return fmt.Errorf("sqlstore: allocation of %d %s on provider %s: amount must be positive", a.Used, a.ResourceClass, a.ProviderUUID)
		}
		for _, b := range allocs[:i] {
			if a.ProviderUUID == b.ProviderUUID && a.ResourceClass == b.ResourceClass {
				return fmt.Errorf("sqlstore: two allocations of %s on provider %s for consumer %s", a.ResourceClass, a.ProviderUUID, consumer)
			}
		}
	}
	if t.s.dialect == PostgreSQL {
		rows := make([][3]any, len(allocs))
		for i, a := range allocs {
			rows[i] = [3]any{a.ProviderUUID, a.ResourceClass, a.Used}
		}
		arg, ok := t.s.allocationsArg(rows)
		if !ok {
			return t.missingAllocationTarget(allocs)
		}
		var changed, written int64
		if err := t.execOne(qReplaceAllocations, []any{arg, consumer, consumer, consumer}, &changed, &written); err != nil {
			return t.fail("replace allocations", err)
		}
		if written != int64(len(allocs)) {
			return t.missingAllocationTarget(allocs)
		}
		return nil
	}
	return t.liteReplaceAllocations(consumer, allocs)
}

// liteReplaceAllocations replaces a consumer's allocation rows (SQLite),
// which refer to the consumer's row id: the row of its record, or one kept
// (has_record = 0) for the allocations of a consumer without a record.
func (t *txn) liteReplaceAllocations(consumer string, allocs []placement.AllocationRecord) error {
	k := t.key(consumer)
	if k == nil {
		var id int64
		err := t.one(qConsumerID, []any{consumer}, &id)
		switch {
		case err == sql.ErrNoRows:
			if len(allocs) == 0 {
				return nil // no row, so no allocations
			}
			if err := t.execOne(qHiddenConsumer, []any{consumer}, &id); err != nil {
				return t.fail("replace allocations", err)
			}
			k = t.setKey(consumer, id, true)
		case err != nil:
			return t.fail("replace allocations", err)
		default:
			k = t.setKey(consumer, id, false)
		}
	}
	id := k.id
	if t.s.trees != nil {
		old, err := t.holding(consumer, k)
		if err != nil {
			return err
		}
		t.changed(old...)
		for _, a := range allocs {
			t.changed(a.ProviderUUID)
		}
		t.hold(consumer, allocs)
	}
	if !k.empty {
		if _, err := t.exec(qDeleteAllocations, id); err != nil {
			return t.fail("replace allocations", err)
		}
	}
	k.empty = len(allocs) == 0 // (the statements below do not move t.keys)
	for _, a := range allocs {
		var n int64
		var err error
		if pid, cid, ok := t.rowIDsOf(a.ProviderUUID, a.ResourceClass); ok {
			n, err = t.exec(qInsertAllocationByID, id, pid, cid, a.Used)
		} else {
			n, err = t.exec(qInsertAllocation, id, a.Used, a.ProviderUUID, a.ResourceClass)
		}
		if err != nil {
			return t.fail("replace allocations", err)
		}
		if n != 1 {
			return t.missingAllocationTarget([]placement.AllocationRecord{a})
		}
	}
	if len(allocs) == 0 {
		n, err := t.exec(qDropHiddenConsumer, id)
		if err != nil {
			return t.fail("replace allocations", err)
		}
		if n == 1 {
			t.dropKey(consumer)
		}
	}
	return nil
}

// missingAllocationTarget names the first provider or class of allocs
// that does not exist.
func (t *txn) missingAllocationTarget(allocs []placement.AllocationRecord) error {
	for _, a := range allocs {
		if _, err := t.providerID(a.ProviderUUID); err != nil {
			return err
		}
		var n int64
		if err := t.one(qClassExists, []any{a.ResourceClass}, &n); err != nil && err != sql.ErrNoRows {
			return t.fail("replace allocations", err)
		}
		if n == 0 {
			return notFound("resource class", a.ResourceClass)
		}
	}
	return errors.New("sqlstore: replace allocations: rows not inserted")
}
