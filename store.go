package placement

import (
	"context"
	"reflect"
)

// Store is the storage SPI the Engine runs on. A Store stores and fetches; it
// never decides whether something fits or is allowed (the Engine does, with
// the capacity core). Implementations: memstore (in-process) and sqlstore
// (SQLite, PostgreSQL). Every implementation must pass placementtest's suite.
//
// A transaction is bound to the context given to View or Update: its methods
// take no context of their own and fail once that context is done.
//
// Standard resource classes and standard traits are the Engine's (generated
// Go data); a Store holds only custom classes and traits, but provider trait
// links and inventories name standard ones too.
//
// Values passed to and returned by a Store are copies: neither side may keep
// or mutate the other's slices.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot of the whole store. fn's error is returned unchanged.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in a read-write transaction: either all of fn's writes
	// become visible atomically, or (fn returned an error, ctx ended, the
	// commit failed) none does. Writes are serialisable with respect to each
	// other. fn's error is returned unchanged; fn may be run again by the
	// Store only if it has not returned yet (never after a partial commit).
	Update(ctx context.Context, fn func(Tx) error) error
}

// ProviderQuery filters providers. Zero fields do not filter; all set fields
// are ANDed. Memberships and traits are direct (on the provider itself). An
// empty any-of set inside MemberOf or Required matches nothing.
type ProviderQuery struct {
	UUID   string // exact uuid
	Name   string // exact name
	Root   string // providers whose root is this uuid
	Parent string // providers whose parent is this uuid
	// MemberOf is an AND of any-of sets of aggregate uuids.
	MemberOf [][]string
	// NotMemberOf excludes providers in any of these aggregates.
	NotMemberOf []string
	// Required is an AND of any-of sets of trait names.
	Required [][]string
	// Forbidden excludes providers having any of these traits.
	Forbidden []string
}

// ProviderResource is one inventory record of a provider together with the
// current usage of that class on it (the sum of its allocations).
type ProviderResource struct {
	Inventory
	Used int64
}

// ConsumerUsage is the usage one consumer holds of one class (summed over
// providers), with the consumer's type ("" when it has none).
type ConsumerUsage struct {
	ConsumerUUID  string
	ConsumerType  string
	ResourceClass string
	Used          int64
}

// ReadTx is a read-only view of the store. Lookups of a single missing thing
// return an error matching ErrNotFound; lists of nothing are empty (nil or
// zero-length), not an error. Lists are sorted: providers by uuid, resources
// by class, names lexically, allocations by consumer, provider, class,
// consumer usages by consumer and class.
type ReadTx interface {
	// Provider returns the provider with this uuid.
	Provider(uuid string) (ResourceProvider, error)
	// ProviderByName returns the provider with this name.
	ProviderByName(name string) (ResourceProvider, error)
	// Providers lists the providers matching q.
	Providers(q ProviderQuery) ([]ResourceProvider, error)
	// Resources lists a provider's inventories with their usage (empty for
	// a provider with no inventory; also for an unknown provider).
	Resources(provider string) ([]ProviderResource, error)
	// ProviderTraits lists the traits of a provider.
	ProviderTraits(provider string) ([]string, error)
	// ProviderAggregates lists the aggregates a provider is in.
	ProviderAggregates(provider string) ([]string, error)
	// ProviderAllocations lists the allocations held against a provider.
	ProviderAllocations(provider string) ([]AllocationRecord, error)

	// ResourceClass returns a custom resource class.
	ResourceClass(name string) (ResourceClass, error)
	// ResourceClasses lists the custom resource classes.
	ResourceClasses() ([]ResourceClass, error)
	// ResourceClassInUse reports whether some provider has inventory of the class.
	ResourceClassInUse(name string) (bool, error)

	// Trait returns a custom trait.
	Trait(name string) (Trait, error)
	// Traits lists the custom traits.
	Traits() ([]Trait, error)
	// AssociatedTraits lists the names (standard or custom) of traits that at
	// least one provider has.
	AssociatedTraits() ([]string, error)

	// Consumer returns a consumer record.
	Consumer(uuid string) (Consumer, error)
	// ConsumerAllocations lists a consumer's allocations.
	ConsumerAllocations(consumer string) ([]AllocationRecord, error)
	// ConsumerUsages sums allocations per consumer and class over the
	// consumers of a project (and of a user, when user is not empty).
	ConsumerUsages(project, user string) ([]ConsumerUsage, error)

	// MaintainedUsages lists the usage the store keeps for every inventory
	// (what Resources reports), including zeros, sorted by provider and class.
	MaintainedUsages() ([]UsageCount, error)
	// RecountedUsages sums the allocation rows per provider and class,
	// sorted by provider and class, saying whether an inventory exists for
	// each. Only the Engine's Audit calls it: it may scan every allocation.
	RecountedUsages() ([]UsageCount, error)
}

// UsageCount is a usage per provider and class, for audits.
type UsageCount struct {
	ProviderUUID  string
	ResourceClass string
	Used          int64
	// HasInventory tells whether the provider has inventory of the class.
	HasInventory bool
}

// Tx is a read-write transaction. Its reads see its own writes.
type Tx interface {
	ReadTx

	// CreateProvider inserts a provider (generation as given). A uuid or
	// name already taken is an *ExistsError.
	CreateProvider(p ResourceProvider) error
	// UpdateProvider stores a provider's name, parent, root and UpdatedAt
	// (not its generation). A name already taken is an *ExistsError.
	UpdateProvider(p ResourceProvider) error
	// DeleteProvider deletes a provider with its inventories, trait links
	// and aggregate links. The Engine has checked it has no children and no
	// allocations; a store may still refuse (an *InUseError) if it has.
	DeleteProvider(uuid string) error
	// BumpProviderGeneration sets the generation to expected+1 if it still
	// is expected (the compare-and-swap that guards every write), and
	// returns a *ConflictError otherwise.
	BumpProviderGeneration(uuid string, expected int64) error

	// PutInventory inserts or replaces a provider's inventory of a class.
	PutInventory(provider string, inv Inventory) error
	// DeleteInventory deletes a provider's inventory of a class.
	DeleteInventory(provider, class string) error

	// CreateResourceClass inserts a custom class (*ExistsError if taken).
	CreateResourceClass(rc ResourceClass) error
	// RenameResourceClass renames a custom class everywhere it is used,
	// keeping its CreatedAt and setting UpdatedAt from rc (*ExistsError if
	// the new name is taken).
	RenameResourceClass(from string, rc ResourceClass) error
	// DeleteResourceClass deletes a custom class.
	DeleteResourceClass(name string) error

	// CreateTrait inserts a custom trait (*ExistsError if taken).
	CreateTrait(t Trait) error
	// DeleteTrait deletes a custom trait.
	DeleteTrait(name string) error
	// SetProviderTraits replaces a provider's traits.
	SetProviderTraits(provider string, traits []string) error
	// SetProviderAggregates replaces a provider's aggregates.
	SetProviderAggregates(provider string, aggregates []string) error

	// CreateConsumer inserts a consumer record (*ExistsError if the uuid is taken).
	CreateConsumer(c Consumer) error
	// UpdateConsumer stores c (project, user, type, generation, UpdatedAt) if
	// the stored generation still is expected, and returns a *ConflictError
	// otherwise.
	UpdateConsumer(c Consumer, expected int64) error
	// DeleteConsumer deletes a consumer record (not its allocations).
	DeleteConsumer(uuid string) error
	// ReplaceAllocations replaces all allocations of a consumer with allocs
	// (every record names that consumer and an existing provider, each
	// provider and class at most once; amounts are positive: a store may
	// refuse anything else) and keeps the usage returned by Resources in step.
	ReplaceAllocations(consumer string, allocs []AllocationRecord) error
}

// FastReader is an optional interface of a ReadTx (and so of a Tx): the
// reads of the Engine's hottest paths (allocation writes, deleting a
// consumer's allocations) without the copies and allocations the plain
// ReadTx methods make for their results and for expected misses. A backend
// that keeps its data in memory implements it; without it the Engine uses
// the plain ReadTx methods named below, with identical results.
type FastReader interface {
	// LookupConsumer returns what Consumer returns, reporting a missing
	// record with ok false instead of an error matching ErrNotFound.
	LookupConsumer(uuid string) (c Consumer, ok bool, err error)
	// HasConsumerAllocations reports whether ConsumerAllocations would
	// return any allocation for consumer.
	HasConsumerAllocations(consumer string) (bool, error)
	// AppendConsumerAllocations appends what ConsumerAllocations returns
	// for consumer to buf and returns the extended slice (copies).
	AppendConsumerAllocations(buf []AllocationRecord, consumer string) ([]AllocationRecord, error)
	// ProviderResourcesView returns the generation of the provider with
	// this uuid and what Resources returns for it, ok false for an unknown
	// provider (where Provider returns an error matching ErrNotFound). The
	// slice may be the store's own memory: the caller must not modify it
	// and may read it only until the transaction's next write or its end.
	ProviderResourcesView(uuid string) (generation int64, res []ProviderResource, ok bool, err error)
}

// ProviderResourcesReader is an optional interface of a Store: what a View
// calling ReadTx.Provider then ReadTx.Resources returns for one provider (a
// consistent snapshot of both), without the cost of a transaction. The
// Engine's ProviderResources uses it when the Store has it and View
// otherwise, with identical results. The slice returned is a fresh copy.
type ProviderResourcesReader interface {
	// ProviderResources returns the provider with this uuid (or the error
	// ReadTx.Provider returns) and its resources.
	ProviderResources(ctx context.Context, uuid string) (ResourceProvider, []ProviderResource, error)
	// Self returns the receiver. The Engine uses the Store's optional
	// methods only when Self is the Store it was given: a type that embeds
	// a Store to override View or Update gets these methods promoted (and
	// would have its own View or Update skipped), but its Self returns the
	// embedded Store, not itself.
	Self() Store
}

// TransientTxUpdater is an optional interface of a Store: Update for a
// transaction function that keeps nothing of its Tx once it returns, so that
// the Store may hand the same Tx value to a later transaction instead of
// making a new one (a Tx kept after Update returned must otherwise go on
// failing). The Engine runs its own writes, which keep nothing, with it when
// the Store has it and with Update otherwise, with identical results.
type TransientTxUpdater interface {
	// UpdateTransient is Update, for an fn that neither uses nor keeps tx
	// after it returns.
	UpdateTransient(ctx context.Context, fn func(Tx) error) error
	// Self returns the receiver (see ProviderResourcesReader.Self).
	Self() Store
}

// UsesOptional reports whether the Engine uses o, an optional interface
// (ProviderResourcesReader, TransientTxUpdater) found on store: only when o
// is store's own, its Self being store itself (see
// ProviderResourcesReader.Self). Wrappers and test suites can check with it
// which of a Store's optional methods the Engine will call.
func UsesOptional(store Store, o interface{ Self() Store }) bool {
	self := o.Self()
	// == panics on identical dynamic types that are not comparable.
	t := reflect.TypeOf(store)
	return t == reflect.TypeOf(self) && t.Comparable() && self == store
}
