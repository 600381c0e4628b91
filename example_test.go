package placement_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// newCloud returns an engine (trusted embedding: every operation allowed)
// and one compute node with 8 VCPU (4:1 overcommit) and 16 GiB of memory.
func newCloud(ctx context.Context) (*placement.Engine, placement.ResourceProvider) {
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		panic(err)
	}
	cn, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: "compute-1"})
	if err != nil {
		panic(err)
	}
	vcpu := placement.NewInventory(placement.ClassVCPU, 8)
	vcpu.AllocationRatio = 4
	mem := placement.NewInventory(placement.ClassMemoryMB, 16384)
	if _, err := engine.ReplaceInventories(ctx, cn.UUID, placement.ExpectGeneration(cn.Generation), []placement.Inventory{vcpu, mem}); err != nil {
		panic(err)
	}
	cn, err = engine.Provider(ctx, cn.UUID)
	if err != nil {
		panic(err)
	}
	return engine, cn
}

// Build a provider with inventory and read its capacity.
func ExampleEngine_ReplaceInventories() {
	ctx := context.Background()
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		panic(err)
	}
	cn, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: "compute-1"})
	if err != nil {
		panic(err)
	}
	vcpu := placement.NewInventory(placement.ClassVCPU, 8)
	vcpu.AllocationRatio = 4
	disk := placement.NewInventory(placement.ClassDiskGB, 10)
	disk.AllocationRatio = 0.7
	change, err := engine.ReplaceInventories(ctx, cn.UUID, placement.ExpectGeneration(cn.Generation), []placement.Inventory{vcpu, disk})
	if err != nil {
		panic(err)
	}
	fmt.Println("generation:", change.Generation)
	for _, inv := range change.Inventories {
		fmt.Printf("%s capacity %d\n", inv.ResourceClass, inv.CapacityInt())
	}
	// Output:
	// generation: 1
	// DISK_GB capacity 7
	// VCPU capacity 32
}

// Claim resources for a new consumer; an oversized claim is refused with
// every shortfall.
func ExampleEngine_SetAllocations() {
	ctx := context.Background()
	engine, cn := newCloud(ctx)
	instance := placement.NewUUID()
	err := engine.SetAllocations(ctx, placement.ConsumerAllocations{
		ConsumerUUID: instance,
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    "project-a",
		UserID:       "user-a",
		Allocations: []placement.Allocation{
			{ProviderUUID: cn.UUID, ResourceClass: placement.ClassVCPU, Used: 4},
			{ProviderUUID: cn.UUID, ResourceClass: placement.ClassMemoryMB, Used: 4096},
		},
	})
	fmt.Println("claim:", err)
	usage, _ := engine.ProviderUsages(ctx, cn.UUID)
	fmt.Println("usage:", usage.Usages)

	err = engine.SetAllocations(ctx, placement.ConsumerAllocations{
		ConsumerUUID: placement.NewUUID(),
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    "project-a",
		UserID:       "user-a",
		Allocations: []placement.Allocation{
			{ProviderUUID: cn.UUID, ResourceClass: placement.ClassVCPU, Used: 30},
			{ProviderUUID: cn.UUID, ResourceClass: placement.ClassMemoryMB, Used: 16384},
		},
	})
	var ce *placement.CapacityError
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Printf("refused: %s requested %d, used %d, capacity %.0f\n", p.Class, p.Requested, p.Used, p.Capacity)
		}
	}
	// Output:
	// claim: <nil>
	// usage: map[MEMORY_MB:4096 VCPU:4]
	// refused: MEMORY_MB requested 16384, used 4096, capacity 16384
	// refused: VCPU requested 30, used 4, capacity 32
}

// Resolve a generation conflict with Retry: the function re-reads the
// consumer's generation on every attempt.
func ExampleRetry() {
	ctx := context.Background()
	engine, cn := newCloud(ctx)
	instance := placement.NewUUID()
	claim := func(gen placement.GenerationCheck, vcpu int64) error {
		return engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: instance,
			Generation:   gen,
			Allocations:  []placement.Allocation{{ProviderUUID: cn.UUID, ResourceClass: placement.ClassVCPU, Used: vcpu}},
		})
	}
	if err := claim(placement.ExpectNewConsumer(), 2); err != nil {
		panic(err)
	}
	// A writer that believes the consumer is new is told it is not.
	err := claim(placement.ExpectNewConsumer(), 4)
	fmt.Println("stale write:", errors.Is(err, placement.ErrConcurrentUpdate))

	// Retry re-reads the generation and writes with it.
	err = placement.Retry(ctx, func(ctx context.Context) error {
		cur, err := engine.ConsumerAllocations(ctx, instance)
		if err != nil {
			return err
		}
		return claim(placement.ExpectGeneration(cur.Consumer.Generation), 4)
	})
	cur, _ := engine.ConsumerAllocations(ctx, instance)
	fmt.Println("resize:", err, "generation", cur.Consumer.Generation, "VCPU", cur.Allocations[0].Used)
	// Output:
	// stale write: true
	// resize: <nil> generation 2 VCPU 4
}

// The default policy denies a context without a caller; an admin identity
// may act.
func ExampleWithIdentity() {
	engine, err := placement.New(memstore.New()) // DefaultPolicy
	if err != nil {
		panic(err)
	}
	_, err = engine.CreateProvider(context.Background(), placement.ProviderSpec{Name: "cn"})
	fmt.Println("anonymous:", errors.Is(err, placement.ErrForbidden))

	reader := placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", Roles: []string{"reader"}, SystemScope: "all"})
	_, err = engine.CreateProvider(reader, placement.ProviderSpec{Name: "cn"})
	fmt.Println("system reader creating:", errors.Is(err, placement.ErrForbidden))
	_, err = engine.Providers(reader, placement.ProviderFilter{})
	fmt.Println("system reader listing:", err)

	_, err = engine.CreateProvider(placement.AdminContext(context.Background()), placement.ProviderSpec{Name: "cn"})
	fmt.Println("admin:", err)
	// Output:
	// anonymous: true
	// system reader creating: true
	// system reader listing: <nil>
	// admin: <nil>
}
