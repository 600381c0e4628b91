// Command quickstart builds a small cloud (three compute nodes and a shared
// storage pool) in a SQLite database, the embedded default store, places
// workloads on it, prints a usage table, and shows an oversized request
// refused with every shortfall explained.
//
//	go run ./examples/quickstart [-db path/to/placement.db]
//
// Each run starts from a fresh database file (the default lives in the
// temporary directory); afterwards it can be inspected with sqlite3.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

func main() {
	db := flag.String("db", filepath.Join(os.TempDir(), "placement-quickstart.db"), "SQLite database file (recreated)")
	flag.Parse()
	if err := run(context.Background(), *db); err != nil {
		log.Fatal(err)
	}
}

// workload is what a scheduler asks for.
type workload struct {
	name   string
	vcpu   int64
	memMB  int64
	diskGB int64
}

func run(ctx context.Context, db string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	store, err := sqlstore.OpenSQLite(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Printf("database: %s\n\n", db)

	// The quickstart embeds the engine in a trusted program: it acts as an
	// admin. (A service would put each caller's identity in the context.)
	ctx = placement.AdminContext(ctx)
	engine, err := placement.New(store)
	if err != nil {
		return err
	}

	// A shared storage pool: its DISK_GB serves every compute node in the
	// same aggregate.
	pool, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: "storage-pool"})
	if err != nil {
		return err
	}
	aggregate := placement.NewUUID()
	if _, err := engine.ReplaceInventories(ctx, pool.UUID, placement.ExpectGeneration(pool.Generation),
		[]placement.Inventory{placement.NewInventory(placement.ClassDiskGB, 2000)}); err != nil {
		return err
	}
	if err := share(ctx, engine, pool.UUID, aggregate); err != nil {
		return err
	}

	// Three compute nodes with CPU (overcommitted 4:1) and memory.
	var nodes []placement.ResourceProvider
	for i := 1; i <= 3; i++ {
		cn, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("compute-%d", i)})
		if err != nil {
			return err
		}
		vcpu := placement.NewInventory(placement.ClassVCPU, 8)
		vcpu.AllocationRatio = 4
		mem := placement.NewInventory(placement.ClassMemoryMB, 32768)
		mem.Reserved = 2048
		if _, err := engine.ReplaceInventories(ctx, cn.UUID, placement.ExpectGeneration(cn.Generation),
			[]placement.Inventory{vcpu, mem}); err != nil {
			return err
		}
		if _, err := engine.SetProviderAggregates(ctx, cn.UUID, placement.SkipGenerationCheck(), []string{aggregate}); err != nil {
			return err
		}
		nodes = append(nodes, cn)
	}

	// Place workloads: ask where each one fits (allocation candidates:
	// CPU and memory from a compute node, disk from the pool it shares),
	// then claim the first candidate. A claim is atomic and re-checks
	// capacity, so if another scheduler took the room in between, the claim
	// is refused and we ask again.
	workloads := []workload{
		{"web-1", 4, 8192, 100}, {"web-2", 4, 8192, 100}, {"db-1", 16, 16384, 500},
		{"cache-1", 2, 24576, 20}, {"batch-1", 24, 4096, 200}, {"batch-2", 8, 2048, 200},
		{"huge-1", 32, 32768, 100},
	}
	project, user := placement.NewUUID(), placement.NewUUID()
	names := map[string]string{pool.UUID: pool.Name}
	for _, cn := range nodes {
		names[cn.UUID] = cn.Name
	}
	for _, w := range workloads {
		placed, err := place(ctx, engine, w, project, user)
		if err != nil {
			return err
		}
		if placed == nil {
			fmt.Printf("%-8s does not fit anywhere\n", w.name)
			continue
		}
		var where []string
		for _, uuid := range placed.Mapping("") {
			where = append(where, names[uuid])
		}
		slices.Sort(where)
		fmt.Printf("%-8s -> %s\n", w.name, strings.Join(where, " + "))
	}

	// The usage table.
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tclass\tused\tcapacity\t")
	for _, p := range append(nodes, pool) {
		inv, err := engine.Inventories(ctx, p.UUID)
		if err != nil {
			return err
		}
		usage, err := engine.ProviderUsages(ctx, p.UUID)
		if err != nil {
			return err
		}
		for _, i := range inv.Inventories {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", p.Name, i.ResourceClass, usage.Usages[i.ResourceClass], i.CapacityInt())
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// An oversized request is refused as a whole, with every shortfall.
	fmt.Println()
	err = engine.SetAllocations(ctx, placement.ConsumerAllocations{
		ConsumerUUID: placement.NewUUID(),
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    project,
		UserID:       user,
		Allocations: []placement.Allocation{
			{ProviderUUID: nodes[0].UUID, ResourceClass: placement.ClassVCPU, Used: 64},
			{ProviderUUID: nodes[0].UUID, ResourceClass: placement.ClassMemoryMB, Used: 65536},
			{ProviderUUID: pool.UUID, ResourceClass: placement.ClassDiskGB, Used: 5000},
		},
	})
	var ce *placement.CapacityError
	if !errors.As(err, &ce) {
		return fmt.Errorf("expected a capacity error, got %v", err)
	}
	fmt.Println("oversized request refused:")
	for _, p := range ce.Problems {
		name := p.Provider
		for _, q := range append(nodes, pool) {
			if q.UUID == p.Provider {
				name = q.Name
			}
		}
		fmt.Printf("  %-13s %-9s requested %6d, used %6d, capacity %6.0f\n", name, p.Class, p.Requested, p.Used, p.Capacity)
	}
	return nil
}

// place claims w's resources on the first allocation candidate and returns
// it, or nil when no provider combination has room.
func place(ctx context.Context, engine *placement.Engine, w workload, project, user string) (*placement.AllocationRequest, error) {
	for {
		cands, err := engine.AllocationCandidates(ctx, placement.CandidateRequest{
			Groups: []placement.RequestGroup{{Resources: []placement.ResourceAmount{
				{Class: placement.ClassVCPU, Amount: w.vcpu},
				{Class: placement.ClassMemoryMB, Amount: w.memMB},
				{Class: placement.ClassDiskGB, Amount: w.diskGB},
			}}},
			Limit: 1,
		})
		if err != nil || len(cands.AllocationRequests) == 0 {
			return nil, err
		}
		choice := cands.AllocationRequests[0]
		err = engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: placement.NewUUID(),
			Generation:   placement.ExpectNewConsumer(),
			ProjectID:    project,
			UserID:       user,
			ConsumerType: "INSTANCE",
			Allocations:  choice.Allocations,
		})
		if errors.Is(err, placement.ErrCapacityExceeded) {
			continue // taken meanwhile: ask again
		}
		return &choice, err
	}
}

// share makes a provider a sharing provider of an aggregate.
func share(ctx context.Context, engine *placement.Engine, provider, aggregate string) error {
	gen, err := engine.SetProviderAggregates(ctx, provider, placement.SkipGenerationCheck(), []string{aggregate})
	if err != nil {
		return err
	}
	_, err = engine.SetProviderTraits(ctx, provider, placement.ExpectGeneration(gen), []string{placement.TraitMiscSharesViaAggregate})
	return err
}
