package namenode

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/zkfc/failover"
	"github.com/hdfsha/hdfsha/zkfc/fence"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// shippedTailing runs the benchmarks with the shipped tail-edits defaults
// and no logging, not the tests' settings.
func shippedTailing(c *Config) {
	c.Logger, c.TailPeriod, c.TailBackoffMax = nil, DefaultTailPeriod, DefaultTailBackoffMax
}

// BenchmarkHAFailoverController measures a manual failover with a warm standby, the
// way `hdfs haadmin -failover` runs it: zkfc/failover's controller over
// HAServiceProtocol RPCs (target checks, graceful fence of the old active,
// transitionToActive of the new one) against two in-process NameNodes and
// three JournalNodes on loopback. Between failovers (untimed) the active
// takes 200 mkdirs, so each new active has edits to finish tailing and a
// segment to recover. ms/failover is wall time per failover.
func BenchmarkHAFailoverController(b *testing.B) {
	h := newHACluster(b, shippedTailing)
	h.toActive(0)
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	nodes := make([]failover.Node, 2)
	for i := range nodes {
		t, err := hasvc.TargetFromConf(h.ha.NameNodeConf(b, i), h.ha.Nameservice, h.id(i))
		if err != nil {
			b.Fatal(err)
		}
		nodes[i] = failover.Node{Target: t, Service: hasvc.NewClient(c, h.nns[i].RPCAddress())}
	}
	// The old active is always reachable here, so fencing never runs; the
	// controller still wants a fencer configured, as haadmin does.
	fencer, err := fence.Parse("shell(true)", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range nodes {
		nodes[i].Fencer = fencer
	}
	ctl := failover.New(failover.DefaultConfig())
	ctx := context.Background()
	active := 0
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < 200; j++ {
			if err := mkdirErr(b, h.nns[active].RPCAddress(), fmt.Sprintf("/fo/%d/%d", i, j)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		if err := ctl.Failover(ctx, nodes[active], nodes[1-active], false, false); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		active = 1 - active
		if st := h.nns[active].HAState(); st != ha.Active {
			b.Fatalf("after failover %s is %v", h.id(active), st)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/failover")
}

// BenchmarkHAStandbyLagSustained measures how far the standby trails the active
// under sustained writes: 32 goroutines (one connection each) run b.N
// mkdirs on the active while
// a sampler notes, every millisecond, the active's synced txid (what it may
// acknowledge) and when; the lag of a sample is the time until the
// standby has applied that txid. Reports p50, p99 and max in ms.
func BenchmarkHAStandbyLagSustained(b *testing.B) {
	h := newHACluster(b, shippedTailing)
	h.toActive(0)
	active, standby := h.nns[0], h.nns[1]
	addr := active.RPCAddress()
	type sample struct {
		txid int64
		at   time.Time
	}
	var (
		mu      sync.Mutex
		pending []sample
		lags    []time.Duration
		done    atomic.Bool
		wg      sync.WaitGroup
	)
	// The watcher resolves samples as the standby applies them.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for !done.Load() || func() bool { mu.Lock(); defer mu.Unlock(); return len(pending) > 0 }() {
			applied := standby.AppliedTxID()
			now := time.Now()
			mu.Lock()
			k := 0
			for k < len(pending) && pending[k].txid <= applied {
				lags = append(lags, now.Sub(pending[k].at))
				k++
			}
			pending = pending[k:]
			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
		}
	}()
	go func() {
		defer wg.Done()
		last := int64(0)
		for !done.Load() {
			synced := active.Namesystem().Stats().SyncedTxID
			if synced > last {
				mu.Lock()
				pending = append(pending, sample{synced, time.Now()})
				mu.Unlock()
				last = synced
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var seq atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS(2) = 32 writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			i := seq.Add(1)
			err := c.Call(context.Background(), addr, namesystem.ClientProtocol, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(fmt.Sprintf("/lag/%d/%d", i%32, i)),
				Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// A last sample, so that even a run shorter than the sampler's period
	// measures one.
	mu.Lock()
	pending = append(pending, sample{active.Namesystem().Stats().SyncedTxID, time.Now()})
	mu.Unlock()
	done.Store(true)
	wg.Wait()
	if len(lags) == 0 {
		b.Fatal("no lag samples")
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-lag-ms")
	b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-lag-ms")
	b.ReportMetric(ms(lags[len(lags)-1]), "max-lag-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
