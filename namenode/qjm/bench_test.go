package qjm

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// benchOp is a small edit: 84 op bytes, 100 bytes framed.
var benchOp = make([]byte, 84)

// benchWriter starts three JournalNodes on loopback (real filesystem in
// b.TempDir, fsync on every journal call) and returns an open segment.
func benchWriter(b *testing.B) (*Manager, *SegmentWriter) {
	c := startJNCluster(b, 3)
	m := c.writer(func(cfg *Config) {
		d := 30 * time.Second
		cfg.Timeouts = Timeouts{d, d, d, d, d, d, d, d, d, d}
	})
	w, err := m.StartLogSegment(context.Background(), 1)
	if err != nil {
		b.Fatal(err)
	}
	return m, w
}

// BenchmarkJournalBatch: one writer, batch edits per journal() call.
func BenchmarkJournalBatch(b *testing.B) {
	for _, batch := range []int{1, 16, 128, 1024} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			_, w := benchWriter(b)
			ctx := context.Background()
			txid := int64(1)
			b.SetBytes(int64(batch * 100))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for k := 0; k < batch; k++ {
					if err := w.Append(txid, benchOp); err != nil {
						b.Fatal(err)
					}
					txid++
				}
				if err := w.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/el.Seconds(), "edits/s")
		})
	}
}

// groupCommit is the NameNode's logSync in miniature: handlers take a
// txid and append under a lock, then wait for a sync covering it; one
// Sync carries every edit appended while the previous was in flight.
type groupCommit struct {
	mu   sync.Mutex
	w    *SegmentWriter
	next int64
}

func (g *groupCommit) log(ctx context.Context, op []byte) error {
	g.mu.Lock()
	txid := g.next
	g.next++
	err := g.w.Append(txid, op)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	return g.w.Sync(ctx, txid)
}

// BenchmarkJournalConcurrent: writers goroutines each log one edit and
// wait for it to be durable, through groupCommit. writers=1 is the
// single-edit sync latency.
func BenchmarkJournalConcurrent(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			m, w := benchWriter(b)
			g := &groupCommit{w: w, next: 1}
			ctx := context.Background()
			lat := make([][]time.Duration, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for gi := 0; gi < writers; gi++ {
				n := b.N / writers
				if gi < b.N%writers {
					n++
				}
				wg.Add(1)
				go func(gi, n int) {
					defer wg.Done()
					l := make([]time.Duration, 0, n)
					for i := 0; i < n; i++ {
						t0 := time.Now()
						if err := g.log(ctx, benchOp); err != nil {
							b.Error(err)
							return
						}
						l = append(l, time.Since(t0))
					}
					lat[gi] = l
				}(gi, n)
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(b.N)/el.Seconds(), "edits/s")
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
			b.ReportMetric(float64(b.N)/float64(max(1, m.set.chans[0].journalRPCs.Load())), "edits/rpc")
		})
	}
}
