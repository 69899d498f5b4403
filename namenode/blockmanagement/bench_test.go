package blockmanagement

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkFullBlockReport: one DataNode's full report of 100k replicas
// against a map that has them all (the steady state every report
// interval).
func BenchmarkFullBlockReport(b *testing.B) {
	m, _ := New(DefaultConfig())
	m.SetActive(true, t0)
	m.Register(dnID(1), t0)
	m.Heartbeat("uuid-1", stats(), []string{"DS-1"}, t0)
	const n = 100_000
	reps := make([]Replica, n)
	for i := range reps {
		blk := Block{ID: uint64(1<<30 + i), GenStamp: 1001, NumBytes: 1 << 20}
		m.PutBlock(BlockSpec{Block: blk, Replication: 1, Complete: true}, t0)
		reps[i] = Replica{Block: blk}
	}
	if err := m.BlockReport("uuid-1", "DS-1", reps, t0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := m.BlockReport("uuid-1", "DS-1", reps, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/replica")
}

// BenchmarkChooseTargets: placement of three replicas among 100 nodes on
// 10 racks.
func BenchmarkChooseTargets(b *testing.B) {
	cfg := DefaultConfig()
	cfg.ResolveRack = func(ip, _ string) string { return fmt.Sprintf("/rack%d", len(ip)%10) }
	m, _ := New(cfg)
	m.SetActive(true, t0)
	for i := 1; i <= 100; i++ {
		id := dnID(i)
		id.IPAddr = fmt.Sprintf("10.0.%d.%d", i/10, i)
		m.Register(id, t0)
		m.Heartbeat(id.UUID, stats(), []string{fmt.Sprintf("DS-%d", i)}, t0)
	}
	now := t0.Add(time.Second)
	b.ResetTimer()
	for range b.N {
		if _, err := m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, Writer: "10.0.0.5", BlockSize: 128 << 20}, now); err != nil {
			b.Fatal(err)
		}
	}
}
