package placement_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementtest"
)

// Benchmarks of AllocationCandidates on the workloads, each on
// memstore with its native pushdown, with the pushdown hidden (the Engine's
// generic fallback), and wrapped by placementtest.WithCandidateIndex (an
// in-memory stand-in index); see runCandidates.
//
//	go test -run '^$' -bench BenchmarkCandidates -benchmem .

const benchAgg = "be000000-0000-4000-8000-000000000001"

var (
	benchMu     sync.Mutex
	benchStores = map[string]placement.Store{}
)

// benchStore builds (once per process) a store with a named topology,
// writing through the SPI in large transactions.
func benchStore(b *testing.B, name string, build func(tx placement.Tx, i int) error, n int) placement.Store {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchStores[name]; ok {
		return s
	}
	s := buildStore(b, build, n)
	benchStores[name] = s
	return s
}

// buildStore builds a new memstore of n providers with build.
func buildStore(b *testing.B, build func(tx placement.Tx, i int) error, n int) placement.Store {
	s := memstore.New()
	if err := fillStore(s, build, n); err != nil {
		b.Fatal(err)
	}
	return s
}

// fillStore writes n providers with build into s, 1,000 per Update.
func fillStore(s placement.Store, build func(tx placement.Tx, i int) error, n int) error {
	for lo := 0; lo < n; lo += 1000 {
		err := s.Update(context.Background(), func(tx placement.Tx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				if err := build(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func benchUUID(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }

func benchProvider(tx placement.Tx, uuid, name, parent, root string, traits []string, aggs []string, invs ...placement.Inventory) error {
	if err := tx.CreateProvider(placement.ResourceProvider{UUID: uuid, Name: name, ParentUUID: parent, RootUUID: root}); err != nil {
		return err
	}
	for _, inv := range invs {
		if err := tx.PutInventory(uuid, inv); err != nil {
			return err
		}
	}
	if len(traits) > 0 {
		if err := tx.SetProviderTraits(uuid, traits); err != nil {
			return err
		}
	}
	if len(aggs) > 0 {
		return tx.SetProviderAggregates(uuid, aggs)
	}
	return nil
}

// flatCompute: VCPU 64 (ratio 4), MEMORY_MB 262144 (reserved 2048), DISK_GB
// 4000, in one aggregate, trait HW_CPU_X86_AVX2.
func flatCompute(tx placement.Tx, i int) error {
	vcpu := placement.NewInventory(placement.ClassVCPU, 64)
	vcpu.AllocationRatio = 4
	mem := placement.NewInventory(placement.ClassMemoryMB, 262144)
	mem.Reserved = 2048
	disk := placement.NewInventory(placement.ClassDiskGB, 4000)
	// Spread uuids over the whole space, like random uuids.
	u := benchUUID(int(uint32(i)*2654435761), i)
	return benchProvider(tx, u, fmt.Sprintf("cn-%d", i), "", u, []string{"HW_CPU_X86_AVX2"}, []string{benchAgg}, disk, mem, vcpu)
}

// perfloadRequest is Placement's perfload query.
func perfloadRequest() placement.CandidateRequest {
	return placement.CandidateRequest{Groups: []placement.RequestGroup{{
		Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}, {Class: "DISK_GB", Amount: 10}, {Class: "MEMORY_MB", Amount: 256}},
		MemberOf:  [][]string{{benchAgg}},
		Required:  [][]string{{"HW_CPU_X86_AVX2"}},
	}}}
}

// nestedTree is Placement's nested perfload topology: compute node, two
// NUMA children, FPGAs and a VGPU below them.
func nestedTree(tx placement.Tx, i int) error {
	if i == 0 {
		if err := tx.CreateTrait(placement.Trait{Name: "CUSTOM_FOO"}); err != nil {
			return err
		}
	}
	id := func(k int) string { return benchUUID(int(uint32(i*8+k)*2654435761), i*8+k) }
	cn := id(0)
	mk := func(k int, name, parent string, traits []string, invs ...placement.Inventory) error {
		return benchProvider(tx, id(k), fmt.Sprintf("t%d-%s", i, name), parent, cn, traits, nil, invs...)
	}
	disk := placement.NewInventory(placement.ClassDiskGB, 20480)
	if err := benchProvider(tx, cn, fmt.Sprintf("t%d-cn", i), "", cn, []string{"COMPUTE_VOLUME_MULTI_ATTACH"}, nil, disk); err != nil {
		return err
	}
	vcpu0 := placement.NewInventory(placement.ClassVCPU, 4)
	vcpu0.Reserved = 2
	mem0 := placement.NewInventory(placement.ClassMemoryMB, 2048)
	mem0.MinUnit, mem0.StepSize = 512, 256
	if err := mk(1, "numa0", cn, []string{"HW_NUMA_ROOT"}, mem0, vcpu0); err != nil {
		return err
	}
	if err := mk(2, "fpga0", id(1), nil, placement.NewInventory(placement.ClassFPGA, 1)); err != nil {
		return err
	}
	if err := mk(3, "pgpu0", id(1), nil, placement.NewInventory(placement.ClassVGPU, 8)); err != nil {
		return err
	}
	mem1 := placement.NewInventory(placement.ClassMemoryMB, 2048)
	mem1.MinUnit, mem1.MaxUnit = 256, 1024
	if err := mk(4, "numa1", cn, []string{"CUSTOM_FOO", "HW_NUMA_ROOT"}, mem1, placement.NewInventory(placement.ClassVCPU, 4)); err != nil {
		return err
	}
	if err := mk(5, "fpga1_0", id(4), nil, placement.NewInventory(placement.ClassFPGA, 1)); err != nil {
		return err
	}
	return mk(6, "fpga1_1", id(4), nil, placement.NewInventory(placement.ClassFPGA, 1))
}

func nestedRequest() placement.CandidateRequest {
	return placement.CandidateRequest{
		Groups: []placement.RequestGroup{
			{Resources: []placement.ResourceAmount{{Class: "DISK_GB", Amount: 10}}, Required: [][]string{{"COMPUTE_VOLUME_MULTI_ATTACH"}}},
			{Suffix: "_COMPUTE", Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}, {Class: "MEMORY_MB", Amount: 256}}, Required: [][]string{{"CUSTOM_FOO"}}},
			{Suffix: "_FPGA", Resources: []placement.ResourceAmount{{Class: "FPGA", Amount: 1}}},
		},
		GroupPolicy: placement.GroupPolicyNone,
		SameSubtree: [][]string{{"_COMPUTE", "_FPGA"}},
	}
}

// wideTree: one root with 8 children of one SRIOV_NET_VF each.
func wideTree(tx placement.Tx, i int) error {
	root := benchUUID(0xb0000000, 0)
	if i == 0 {
		return benchProvider(tx, root, "wide", "", root, nil, nil)
	}
	return benchProvider(tx, benchUUID(0xb0000000, i), fmt.Sprintf("wide-%d", i), root, root, nil, nil, placement.NewInventory(placement.ClassSRIOVNetVF, 1))
}

func wideRequest() placement.CandidateRequest {
	req := placement.CandidateRequest{GroupPolicy: placement.GroupPolicyIsolate, MaxCandidates: 1000}
	for g := 1; g <= 8; g++ {
		req.Groups = append(req.Groups, placement.RequestGroup{Suffix: fmt.Sprint(g), Resources: []placement.ResourceAmount{{Class: placement.ClassSRIOVNetVF, Amount: 1}}})
	}
	return req
}

// runCandidates benchmarks req on s four ways: "memstore", the store's
// native pushdown (placement.CandidateReader); "memstore-buffer", the same
// with every answer built in one placement.CandidateBuffer; "generic", the
// same store with the pushdown hidden (the Engine's fallback over the plain
// ReadTx); and "index", the stand-in index of
// placementtest.WithCandidateIndex.
func runCandidates(b *testing.B, s placement.Store, req placement.CandidateRequest, want int) {
	for _, path := range []string{"memstore", "memstore-buffer", "generic", "index"} {
		b.Run(path, func(b *testing.B) {
			store := s
			var buf *placement.CandidateBuffer
			switch path {
			case "memstore-buffer":
				buf = new(placement.CandidateBuffer)
			case "generic":
				store = plainStore{s}
			case "index":
				store = placementtest.WithCandidateIndex(s)
			}
			runCandidatesOn(b, store, req, want, buf)
		})
	}
}

// runCandidatesOn benchmarks req on s, building the answers in buf (nil: a
// new answer each time).
func runCandidatesOn(b *testing.B, s placement.Store, req placement.CandidateRequest, want int, buf *placement.CandidateBuffer) {
	ctx := context.Background()
	e, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	got, err := e.AllocationCandidatesInto(ctx, req, buf) // warm up (and build any index)
	if err != nil {
		b.Fatal(err)
	}
	if len(got.AllocationRequests) != want {
		b.Fatalf("%d candidates, want %d", len(got.AllocationRequests), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := e.AllocationCandidatesInto(ctx, req, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// plainStore hides every method of its store's transactions but those of
// placement.ReadTx and placement.Tx.
type plainStore struct{ s placement.Store }

type plainReadTx struct{ placement.ReadTx }
type plainTx struct{ placement.Tx }

func (p plainStore) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	return p.s.View(ctx, func(tx placement.ReadTx) error { return fn(plainReadTx{tx}) })
}

func (p plainStore) Update(ctx context.Context, fn func(placement.Tx) error) error {
	return p.s.Update(ctx, func(tx placement.Tx) error { return fn(plainTx{tx}) })
}

func BenchmarkCandidatesFlat1000(b *testing.B) {
	runCandidates(b, benchStore(b, "flat1000", flatCompute, 1000), perfloadRequest(), 1000)
}

func BenchmarkCandidatesFlat10000(b *testing.B) {
	runCandidates(b, benchStore(b, "flat10000", flatCompute, 10000), perfloadRequest(), 10000)
}

func BenchmarkCandidatesFlat100000Limit50(b *testing.B) {
	runCandidates(b, benchStore(b, "flat100000", flatCompute, 100000), limit50Request(false), 50)
}

func BenchmarkCandidatesFlat100000Limit50Random(b *testing.B) {
	runCandidates(b, benchStore(b, "flat100000", flatCompute, 100000), limit50Request(true), 50)
}

// limit50Request is the perfload query with limit 50, in the default order
// or randomised with a fixed seed.
func limit50Request(random bool) placement.CandidateRequest {
	req := perfloadRequest()
	req.Limit = 50
	if random {
		req.Randomize, req.Seed = true, 42
	}
	return req
}

func BenchmarkCandidatesNested1000(b *testing.B) {
	runCandidates(b, benchStore(b, "nested1000", nestedTree, 1000), nestedRequest(), 2000)
}

func BenchmarkCandidatesWideTree(b *testing.B) {
	runCandidates(b, benchStore(b, "wide", wideTree, 9), wideRequest(), 1000)
}

// candidatesSink keeps benchmark results alive.
var candidatesSink placement.Candidates

// BenchmarkCandidatesOutputFloor builds, without any planning, an answer of
// the shape the flat benchmarks return (n candidates of 3 allocations and 1
// mapping, n summaries of 3 resources and 1 trait): the cost of the output
// alone, garbage collection included, for comparison.
func BenchmarkCandidatesOutputFloor(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			uuids := make([]string, n)
			for i := range uuids {
				uuids[i] = benchUUID(int(uint32(i)*2654435761), i)
			}
			classes := []string{placement.ClassDiskGB, placement.ClassMemoryMB, placement.ClassVCPU}
			traits := []string{"HW_CPU_X86_AVX2"}
			b.ReportAllocs()
			for range b.N {
				reqs := make([]placement.AllocationRequest, n)
				allocs := make([]placement.Allocation, 3*n)
				maps := make([]placement.GroupMapping, n)
				strs := make([]string, n)
				sums := make([]placement.ProviderSummary, n)
				res := make([]placement.SummaryResource, 3*n)
				tr := make([]string, n)
				for i := range n {
					a := allocs[i*3 : i*3+3 : i*3+3]
					for c := range 3 {
						a[c] = placement.Allocation{ProviderUUID: uuids[i], ResourceClass: classes[c], Used: int64(c + 1)}
					}
					strs[i] = uuids[i]
					maps[i] = placement.GroupMapping{Providers: strs[i : i+1 : i+1]}
					reqs[i] = placement.AllocationRequest{Allocations: a, Mappings: maps[i : i+1 : i+1]}
					r := res[i*3 : i*3+3 : i*3+3]
					for c := range 3 {
						r[c] = placement.SummaryResource{Class: classes[c], Capacity: 100, Used: 1}
					}
					tr[i] = traits[0]
					sums[i] = placement.ProviderSummary{UUID: uuids[i], RootUUID: uuids[i], Resources: r, Traits: tr[i : i+1 : i+1]}
				}
				candidatesSink = placement.Candidates{AllocationRequests: reqs, ProviderSummaries: sums}
			}
		})
	}
}

// BenchmarkStoreGC times a full garbage collection with a flat store of
// 10,000 providers live, built afresh, and reports the heap it takes per
// provider: the marking that a large answer's allocations bring on every
// few calls of the plain AllocationCandidates (see
// BenchmarkCandidatesOutputFloor). Run it alone (-bench 'BenchmarkStoreGC$'):
// the stores the other benchmarks build stay live in the process.
func BenchmarkStoreGC(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := buildStore(b, flatCompute, 10000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	for range b.N {
		runtime.GC()
	}
	b.StopTimer()
	runtime.KeepAlive(s)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/10000, "heapB/provider")
}

// BenchmarkStoreBuild times building the flat store of 10,000 providers of
// BenchmarkCandidatesFlat10000 (one Update per 1,000 providers, each
// creating the provider and setting its inventories, trait and aggregate),
// per provider: the cost of a bulk load, memstore's layout of the roots in
// uuid order included.
func BenchmarkStoreBuild(b *testing.B) {
	for b.Loop() {
		buildStore(b, flatCompute, 10000)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/provider")
}
