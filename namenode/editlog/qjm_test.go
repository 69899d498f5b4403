package editlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode/qjm"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

var testNS = &hdfspb.NamespaceInfoProto{
	BuildVersion:    proto.String("test"),
	Unused:          proto.Uint32(0),
	BlockPoolID:     proto.String("BP-1"),
	SoftwareVersion: proto.String("3.3.6"),
	StorageInfo: &hdfspb.StorageInfoProto{
		LayoutVersion: proto.Uint32(uint32(0xffffffc2)), // -62
		NamespceID:    proto.Uint32(4242),
		ClusterID:     proto.String("CID-test"),
		CTime:         proto.Uint64(0),
	},
}

// jnCluster runs real JournalNodes in-process on reserved 127.0.0.1
// ports.
type jnCluster struct {
	t        testing.TB
	dirs     []string
	rpcAddrs []string
	http     []string
	jns      []*journalnode.JournalNode
}

func startJNs(t testing.TB, n int) *jnCluster {
	c := &jnCluster{t: t, jns: make([]*journalnode.JournalNode, n)}
	root := t.TempDir()
	for i := 0; i < n; i++ {
		c.dirs = append(c.dirs, filepath.Join(root, fmt.Sprintf("jn%d", i)))
		c.rpcAddrs = append(c.rpcAddrs, testcluster.ReserveAddr(t, "127.0.0.1"))
		c.http = append(c.http, testcluster.ReserveAddr(t, "127.0.0.1"))
		var log = testcluster.Logger(t).Named(fmt.Sprintf("jn%d", i))
		if _, ok := t.(*testing.B); ok {
			log = nil
		}
		jn, err := journalnode.New(journalnode.Config{EditsDir: c.dirs[i], RPCAddress: c.rpcAddrs[i],
			HTTPAddress: c.http[i], CacheBytes: 8 << 20, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := jn.Start(context.Background()); err != nil {
			jn.Stop()
			t.Fatal(err)
		}
		c.jns[i] = jn
	}
	t.Cleanup(func() {
		for i := range c.jns {
			c.stop(i)
		}
	})
	return c
}

func (c *jnCluster) stop(i int) {
	if jn := c.jns[i]; jn != nil {
		c.jns[i] = nil
		if err := jn.Stop(); err != nil {
			c.t.Error(err)
		}
	}
}

// journal returns a QJMJournal on a formatted journal; timeout bounds
// every quorum wait.
func (c *jnCluster) journal(timeout time.Duration) *QJMJournal {
	c.t.Helper()
	cfg := qjm.DefaultConfig(conf.QJournal{Hosts: c.rpcAddrs, JournalID: "mycluster"}, testNS)
	cfg.User = "hdfs"
	if _, ok := c.t.(*testing.B); !ok {
		cfg.Logger = testcluster.Logger(c.t).Named("qjm")
	}
	d := timeout
	cfg.Timeouts = qjm.Timeouts{StartSegment: d, PrepareRecovery: d, AcceptRecovery: d, FinalizeSegment: d,
		SelectInputStreams: d, GetJournalState: d, NewEpoch: d, WriteTxns: d, Format: d, Purge: d}
	cfg.RPC.User = "hdfs"
	cfg.RPC.DialTimeout = time.Second
	cfg.RPC.MaxIdleTime = 10 * time.Second
	cfg.RPC.MaxResponseLength = 64 << 20
	cfg.HTTPTimeout = timeout
	m, err := qjm.NewManager(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := m.IsFormatted(ctx); err != nil {
		m.Close()
		c.t.Fatal(err)
	} else if !ok {
		if err := m.Format(ctx, false); err != nil {
			m.Close()
			c.t.Fatal(err)
		}
	}
	return NewQJMJournal(m)
}

// TestQJMWriteRollReplay: handlers write through three real JournalNodes
// with group commit, the log rolls, and a new writer recovers and replays
// every acknowledged edit across segments.
func TestQJMWriteRollReplay(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNs(t, 3)
	ctx := context.Background()
	l, err := Open(c.journal(5*time.Second), Options{Logger: testcluster.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if last := replay(t, l); last != 0 {
		t.Fatalf("fresh journal replays to %d", last)
	}
	if err := l.StartWriting(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var nsLock sync.Mutex
	write := func(handlers, per int) {
		var wg sync.WaitGroup
		for h := 0; h < handlers; h++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < per; k++ {
					nsLock.Lock()
					tx := l.Log(opFor(l.LastLoggedTxID() + 1))
					nsLock.Unlock()
					if err := l.Sync(ctx, tx); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	write(16, 10)
	if seg, err := l.Roll(ctx); err != nil || seg != 161 {
		t.Fatalf("Roll = %d, %v", seg, err)
	}
	write(8, 5)
	t.Logf("%d edits in %d journal syncs", l.SyncedTxID(), l.Flushes())
	if l.Flushes() >= l.SyncedTxID() {
		t.Fatalf("%d syncs for %d edits", l.Flushes(), l.SyncedTxID())
	}
	// Replay while writing: finalized segment + in-progress one.
	if last := replay(t, l); last != 200 {
		t.Fatalf("replay while writing ends at %d", last)
	}
	// The writer crashes (its segment stays open); a new writer recovers.
	l.Log(opFor(201))
	if err := l.Sync(ctx, 201); err != nil {
		t.Fatal(err)
	}
	j2 := c.journal(5 * time.Second)
	l2, _ := Open(j2, Options{})
	defer l2.Close()
	if err := l2.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	last := replay(t, l2)
	if last != 201 {
		t.Fatalf("replay after recovery ends at %d, want 201", last)
	}
	if err := l2.StartWriting(ctx, last+1); err != nil {
		t.Fatal(err)
	}
	// The old writer is fenced: its next sync fails, fatally.
	l.Log(opFor(202))
	if err := l.Sync(ctx, 202); !errors.Is(err, ErrJournalFailed) || !errors.Is(err, qjm.ErrFenced) {
		t.Fatalf("fenced writer's Sync: %v", err)
	}
	logSync(t, l2, 10)
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestQJMQuorumLoss: with two of three JournalNodes stopped, Sync fails
// within the configured timeout, the latch fires once, and nothing is
// acknowledged afterwards.
func TestQJMQuorumLoss(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNs(t, 3)
	ctx := context.Background()
	var fatals atomic.Int32
	l, err := Open(c.journal(2*time.Second), Options{OnFatal: func(error) { fatals.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.StartWriting(ctx, 1); err != nil {
		t.Fatal(err)
	}
	logSync(t, l, 20)
	c.stop(1)
	logSync(t, l, 5) // a majority is still up
	c.stop(2)

	const n = 8
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := l.Log([]byte("lost"))
			errs <- l.Sync(ctx, tx)
		}()
	}
	wg.Wait()
	// Bounded by the 2s write timeout (refused connections fail sooner);
	// the bound here is loose on purpose.
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("Syncs took %v to fail", el)
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrJournalFailed) || !errors.Is(err, qjm.ErrQuorum) {
			t.Fatalf("Sync without a quorum: %v", err)
		}
	}
	if fatals.Load() != 1 {
		t.Fatalf("OnFatal called %d times", fatals.Load())
	}
	if got := l.SyncedTxID(); got != 25 {
		t.Fatalf("synced %d after quorum loss, want 25", got)
	}
	tx := l.Log([]byte("later"))
	if err := l.Sync(ctx, tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("later Sync: %v", err)
	}
}

// TestQJMEmptySegmentLeftOpen: a writer that closes with an empty open
// segment leaves it for the next writer, which recovers and starts at the
// same txid.
func TestQJMEmptySegmentLeftOpen(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNs(t, 3)
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		l, err := Open(c.journal(5*time.Second), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Recover(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		last := replay(t, l)
		if last != int64(5*round) {
			t.Fatalf("round %d: replay ends at %d", round, last)
		}
		if err := l.StartWriting(ctx, last+1); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round > 0 {
			// Roll an empty segment, then log into it and roll again.
			if seg, err := l.Roll(ctx); err != nil || seg != last+1 {
				t.Fatalf("round %d: Roll = %d, %v", round, seg, err)
			}
		}
		logSync(t, l, 5)
		if _, err := l.Roll(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil { // the new segment is empty
			t.Fatal(err)
		}
	}
}
