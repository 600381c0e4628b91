package placement_test

import (
	"testing"

	"github.com/goplacement/placement"
)

// Benchmarks of the capacity core's hot path (target: <= 20 ns/op, 0
// allocs/op):
//
//	go test -run '^$' -bench 'Check' -benchmem .

var benchSink placement.Reason

func BenchmarkCheck(b *testing.B) {
	in := placement.NewInventory("VCPU", 1024)
	in.Reserved, in.AllocationRatio, in.StepSize = 24, 16, 2
	b.ReportAllocs()
	var r placement.Reason
	for i := 0; b.Loop(); i++ {
		// Vary the usage so neither the compiler nor the branch predictor
		// sees a constant; about half the calls fit.
		r |= in.Check(int64(i&0x7fff), 2)
	}
	benchSink = r
}

func BenchmarkCheckWrite(b *testing.B) {
	in := placement.NewInventory("VCPU", 1024)
	in.Reserved, in.AllocationRatio = 24, 16
	b.ReportAllocs()
	var r placement.Reason
	for i := 0; b.Loop(); i++ {
		used := int64(i & 0x7fff)
		r |= in.CheckWrite(used, used-1, 3)
	}
	benchSink = r
}
