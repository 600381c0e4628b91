// Command scheduler runs several scheduler goroutines that place and resize
// instances concurrently on shared compute nodes. Claims are atomic and
// capacity-checked; resizes read the consumer's generation and write with
// it, and placement.Retry resolves the conflicts that concurrent writers
// cause. At the end the usage is audited against the allocations.
//
//	go run ./examples/scheduler [-db path/to/placement.db]
//
// The store is a fresh SQLite file (the embedded default); -db memory runs
// on the in-memory store instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/sqlstore"
)

const (
	nodes      = 4
	schedulers = 8
	perWorker  = 10
)

func main() {
	db := flag.String("db", filepath.Join(os.TempDir(), "placement-scheduler.db"), `SQLite database file (recreated), or "memory"`)
	flag.Parse()
	if err := run(context.Background(), *db); err != nil {
		log.Fatal(err)
	}
}

// openStore opens a fresh store: the in-memory one, or a new SQLite file.
func openStore(ctx context.Context, db string) (placement.Store, func() error, error) {
	if db == "memory" {
		return memstore.New(), func() error { return nil }, nil
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
	}
	s, err := sqlstore.OpenSQLite(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

func run(ctx context.Context, db string) error {
	store, closeStore, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer closeStore()
	ctx = placement.AdminContext(ctx)
	engine, err := placement.New(store)
	if err != nil {
		return err
	}
	var hosts []string
	for i := range nodes {
		cn, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("compute-%d", i)})
		if err != nil {
			return err
		}
		vcpu := placement.NewInventory(placement.ClassVCPU, 16)
		mem := placement.NewInventory(placement.ClassMemoryMB, 65536)
		if _, err := engine.ReplaceInventories(ctx, cn.UUID, placement.ExpectGeneration(cn.Generation), []placement.Inventory{vcpu, mem}); err != nil {
			return err
		}
		hosts = append(hosts, cn.UUID)
	}

	var placed, full, resized atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, schedulers)
	for w := range schedulers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range perWorker {
				consumer := placement.NewUUID()
				host, err := schedule(ctx, engine, rng, hosts, consumer)
				if err != nil {
					errs <- err
					return
				}
				if host == "" {
					full.Add(1)
					continue
				}
				placed.Add(1)
				if rng.IntN(2) == 0 {
					ok, err := resize(ctx, engine, consumer, host)
					if err != nil {
						errs <- err
						return
					}
					if ok {
						resized.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	fmt.Printf("%d schedulers: %d instances placed, %d resized, %d refused (cloud full)\n",
		schedulers, placed.Load(), resized.Load(), full.Load())
	for i, h := range hosts {
		u, err := engine.ProviderUsages(ctx, h)
		if err != nil {
			return err
		}
		fmt.Printf("compute-%d: VCPU %2d/16, MEMORY_MB %5d/65536 (generation %d)\n",
			i, u.Usages[placement.ClassVCPU], u.Usages[placement.ClassMemoryMB], u.Generation)
	}
	report, err := engine.Audit(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("audit: usage equals a recount of allocations: %v\n", report.OK())
	return nil
}

// schedule claims 1-2 VCPU and some memory for consumer on the first host
// (in random order) that fits; it returns "" when none does.
func schedule(ctx context.Context, engine *placement.Engine, rng *rand.Rand, hosts []string, consumer string) (string, error) {
	vcpu, mem := int64(1+rng.IntN(2)), int64(1024*(1+rng.IntN(4)))
	for _, i := range rng.Perm(len(hosts)) {
		err := engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: consumer,
			Generation:   placement.ExpectNewConsumer(),
			ProjectID:    "demo",
			UserID:       "scheduler",
			Allocations: []placement.Allocation{
				{ProviderUUID: hosts[i], ResourceClass: placement.ClassVCPU, Used: vcpu},
				{ProviderUUID: hosts[i], ResourceClass: placement.ClassMemoryMB, Used: mem},
			},
		})
		switch {
		case err == nil:
			return hosts[i], nil
		case errors.Is(err, placement.ErrCapacityExceeded):
			continue
		default:
			return "", err
		}
	}
	return "", nil
}

// resize adds one VCPU to a consumer's allocation on its host. It reads the
// consumer's generation and writes with it; Retry re-runs both when another
// writer changed the consumer in between.
func resize(ctx context.Context, engine *placement.Engine, consumer, host string) (bool, error) {
	err := placement.Retry(ctx, func(ctx context.Context) error {
		cur, err := engine.ConsumerAllocations(ctx, consumer)
		if err != nil {
			return err
		}
		next := make([]placement.Allocation, len(cur.Allocations))
		copy(next, cur.Allocations)
		for i := range next {
			if next[i].ResourceClass == placement.ClassVCPU {
				next[i].Used++
			}
		}
		return engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: consumer,
			Generation:   placement.ExpectGeneration(cur.Consumer.Generation),
			Allocations:  next,
		})
	})
	if errors.Is(err, placement.ErrCapacityExceeded) {
		return false, nil
	}
	return err == nil, err
}
