// Package placement tracks resource providers, their inventories and the
// allocations consumers hold against them, with OpenStack Placement's
// semantics (compatibility target: Placement 8.0.0, microversions
// 1.0–1.39), in-process.
//
// # Concepts
//
// A resource provider (ResourceProvider) is anything that offers resources:
// a compute node, a NUMA cell, a shared storage pool, a NIC. Providers form
// trees (a child names its parent; every provider knows its root). A
// provider has an inventory (Inventory) of each resource class it offers
// (VCPU, MEMORY_MB, DISK_GB, the other standard classes, or CUSTOM_* ones),
// qualitative traits (HW_CPU_X86_AVX2, CUSTOM_*) and aggregate memberships
// (plain uuids grouping providers). A consumer (an instance, a job) holds
// allocations: amounts of classes on providers, always written as a whole
// set per consumer.
//
// The Engine is the API. It runs over a Store (the storage SPI): memstore
// (in-process, not durable) or sqlstore (SQLite, the embedded default;
// PostgreSQL for many processes and hosts). The Engine owns every rule
// (validation, capacity, generations, authorization); stores only store.
//
// # Capacity
//
// An inventory's capacity is float64(total - reserved) * allocation_ratio
// (the IEEE double product, as Python computes it, so 10 × 0.7 holds 7).
// An amount fits when min_unit <= amount <= max_unit, amount % step_size == 0
// and used + amount <= capacity, with used + amount a checked int64 sum
// compared exactly with the double. Inventory fields are bounded as
// Placement bounds them (see Inventory.Validate), so nothing overflows.
// Shrinking an inventory below its usage is allowed; a later allocation
// write that does not increase the over-capacity total is still accepted
// (Placement bug 2104040). A refused write returns a *CapacityError that
// lists every problem: provider, class, requested, used, capacity.
//
// # Generations, conflicts and Retry
//
// Every provider and consumer has a generation, incremented by the writes
// that change it (exactly as Placement; see REFERENCE §3.8 in the design
// notes and each method's doc). A write that depends on what the caller
// read passes a GenerationCheck: ExpectGeneration(g), ExpectNewConsumer(),
// or SkipGenerationCheck() for Placement's unchecked legacy writes. When the
// stored generation differs the write changes nothing and returns a
// *ConflictError matching ErrConcurrentUpdate. Retry re-runs a function that
// re-reads and re-writes, with bounded, jittered backoff:
//
//	err := placement.Retry(ctx, func(ctx context.Context) error {
//		inv, err := engine.Inventories(ctx, rp)
//		if err != nil {
//			return err
//		}
//		_, err = engine.ReplaceInventories(ctx, rp, placement.ExpectGeneration(inv.Generation), newInv)
//		return err
//	})
//
// Allocation writes take no provider generation from the caller: the Engine
// reads each provider's generation in the same snapshot as its usage,
// compares-and-swaps it when writing, and retries internally (10 attempts by
// default, WithAllocationRetries) if another writer got there first.
//
// # Allocation candidates
//
// Engine.AllocationCandidates answers a scheduler's "where does this fit?"
// (Placement's GET /allocation_candidates): request groups with resources,
// traits, aggregates and trees, group_policy, same_subtree and
// root_required, over nested trees and sharing providers. Each allocation
// request it returns can be claimed as it is with SetAllocations; the
// claim re-checks capacity, so a candidate that another claim used up in
// the meantime is refused, never over-committed. Generation stops at a cap,
// and the order of anchors is documented on CandidateRequest (optionally
// drawn from a seed). AllocationCandidatesInto builds the answer in a
// CandidateBuffer reused from one query to the next, sparing the garbage
// collector the memory of large answers.
//
// # Authorization
//
// Every Engine method asks the Authorizer before touching the store, with
// Placement's policy rule name (an Action) and a Target. The default is
// Placement 8.0.0's default policy (DefaultPolicy): admin for writes, admin
// or system reader for reads, and a context without an Identity is denied.
// Put the caller in the context with WithIdentity (AdminContext for an
// admin), or, for trusted embedding, build the Engine with
// WithAuthorizer(AllowAll()). A denial changes nothing and matches
// ErrForbidden.
//
// # Errors
//
// Every error wraps a sentinel for errors.Is (ErrNotFound, ErrAlreadyExists,
// ErrInvalid, ErrConcurrentUpdate, ErrCapacityExceeded,
// ErrConstraintViolated, ErrNoInventory, ErrInventoryInUse, ErrProviderInUse,
// ErrProviderHasChildren, ErrResourceClassInUse, ErrTraitInUse, ErrForbidden)
// and carries its details in a type for errors.As (*NotFoundError,
// *ExistsError, *ValidationError, *ConflictError, *CapacityError,
// *InUseError, *ForbiddenError). Bad input is refused before any write.
//
// # Deliberate differences from Placement
//
//   - A failed allocation write leaves no consumer record behind (Placement
//     quirk Q1), and a new consumer written with an empty set is not
//     recorded (quirk Q2): consumer records exist exactly while they hold
//     allocations.
//   - Allocation amounts above 2147483647 are refused as invalid input
//     rather than by the max_unit check.
//   - An existing consumer rewritten without project and user keeps its own
//     (rather than taking the incomplete-consumer ids).
//   - Provider names may not be set to the empty string by an update.
//   - Reshape validates the new inventories like any inventory write.
//   - Allocation writes retry from scratch in a fresh transaction, so a
//     retry never sees generations it bumped itself (REFERENCE §4.4).
package placement
