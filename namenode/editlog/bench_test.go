package editlog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// benchOp is a small edit: 100 op bytes (a create is about that size).
var benchOp = make([]byte, 100)

// BenchmarkEditLog: loggers goroutines each Log (under a shared lock, as
// the namesystem does) and Sync, b.N edits in all; reports edits/s and
// edits per journal sync.
func BenchmarkEditLog(b *testing.B) {
	journals := []struct {
		name string
		open func(b *testing.B) Journal
	}{
		{"local", func(b *testing.B) Journal {
			j, err := OpenLocal(vfs.Default, b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			return j
		}},
		{"qjm", func(b *testing.B) Journal {
			return startJNs(b, 3).journal(30 * time.Second)
		}},
	}
	for _, jd := range journals {
		for _, loggers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("journal=%s/loggers=%d", jd.name, loggers), func(b *testing.B) {
				benchEditLog(b, jd.open(b), loggers)
			})
		}
	}
}

func benchEditLog(b *testing.B, j Journal, loggers int) {
	ctx := context.Background()
	l, err := Open(j, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.Recover(ctx); err != nil {
		b.Fatal(err)
	}
	if err := l.StartWriting(ctx, 1); err != nil {
		b.Fatal(err)
	}
	var nsLock sync.Mutex
	var left atomic.Int64
	left.Store(int64(b.N))
	b.SetBytes(int64(len(benchOp)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < loggers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				nsLock.Lock()
				tx := l.Log(benchOp)
				nsLock.Unlock()
				if err := l.Sync(ctx, tx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "edits/s")
	b.ReportMetric(float64(b.N)/float64(max(l.Flushes(), 1)), "edits/sync")
}
