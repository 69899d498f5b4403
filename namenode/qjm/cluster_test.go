package qjm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
)

// jnCluster runs real JournalNodes in-process on reserved 127.0.0.1
// ports, so a stopped node restarts at the same address.
type jnCluster struct {
	t         testing.TB
	dirs      []string
	rpcAddrs  []string
	httpAddrs []string
	mu        sync.Mutex
	jns       []*journalnode.JournalNode // nil while stopped
}

func startJNCluster(t testing.TB, n int) *jnCluster {
	c := &jnCluster{t: t, jns: make([]*journalnode.JournalNode, n)}
	root := t.TempDir()
	for i := 0; i < n; i++ {
		c.dirs = append(c.dirs, filepath.Join(root, fmt.Sprintf("jn%d", i)))
		c.rpcAddrs = append(c.rpcAddrs, testcluster.ReserveAddr(t, "127.0.0.1"))
		c.httpAddrs = append(c.httpAddrs, testcluster.ReserveAddr(t, "127.0.0.1"))
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.jns {
			c.stop(i)
		}
	})
	return c
}

func (c *jnCluster) start(i int) {
	c.t.Helper()
	var log = testcluster.Logger(c.t).Named(fmt.Sprintf("jn%d", i))
	if _, ok := c.t.(*testing.B); ok {
		log = nil
	}
	jn, err := journalnode.New(journalnode.Config{EditsDir: c.dirs[i], RPCAddress: c.rpcAddrs[i], HTTPAddress: c.httpAddrs[i],
		CacheBytes: 8 << 20, Logger: log})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := jn.Start(context.Background()); err != nil {
		jn.Stop()
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.jns[i] = jn
	c.mu.Unlock()
}

func (c *jnCluster) stop(i int) {
	c.mu.Lock()
	jn := c.jns[i]
	c.jns[i] = nil
	c.mu.Unlock()
	if jn != nil {
		if err := jn.Stop(); err != nil {
			c.t.Error(err)
		}
	}
}

func (c *jnCluster) config() Config {
	cfg := DefaultConfig(conf.QJournal{Hosts: c.rpcAddrs, JournalID: "mycluster"}, testNS)
	cfg.User = "hdfs"
	if _, ok := c.t.(*testing.B); !ok {
		cfg.Logger = testcluster.Logger(c.t).Named("qjm")
	}
	// Short waits: a test that loses its quorum fails quickly.
	d := 3 * time.Second
	cfg.Timeouts = Timeouts{d, d, d, d, d, d, d, d, d, d}
	cfg.RPC.User = "hdfs"
	cfg.RPC.DialTimeout = time.Second
	cfg.RPC.MaxIdleTime = 10 * time.Second
	cfg.RPC.MaxResponseLength = 64 << 20
	cfg.HTTPTimeout = 3 * time.Second
	return cfg
}

func (c *jnCluster) manager(mod ...func(*Config)) *Manager {
	cfg := c.config()
	for _, f := range mod {
		f(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { m.Close() })
	return m
}

// writer formats the journal if needed and returns a recovered writer.
func (c *jnCluster) writer(mod ...func(*Config)) *Manager {
	c.t.Helper()
	m := c.manager(mod...)
	ctx := context.Background()
	if ok, err := m.IsFormatted(ctx); err != nil {
		c.t.Fatal(err)
	} else if !ok {
		if err := m.Format(ctx, false); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := m.Recover(ctx); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func TestJournalNodesWriteFinalizeRead(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNCluster(t, 3)
	for _, rpcTail := range []bool{true, false} {
		mod := func(cfg *Config) { cfg.InProgressRPC = rpcTail }
		m := c.writer(mod)
		ctx := context.Background()
		first := readAll(t, m, 1, true) + 1
		w, err := m.StartLogSegment(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, w, first, first+99)
		mustAppend(t, w, first+100, first+100)
		if err := m.FinalizeLogSegment(ctx, first, first+100); err != nil {
			t.Fatal(err)
		}
		w, err = m.StartLogSegment(ctx, first+101)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, w, first+101, first+150)
		// A reader that is not the writer sees the same: finalized over
		// HTTP, in-progress from the caches (or HTTP).
		r := c.manager(mod)
		if got := readAll(t, r, 1, false); got != first+100 {
			t.Fatalf("finalized: read to %d, want %d", got, first+100)
		}
		if got := readAll(t, r, 1, true); got != first+150 {
			t.Fatalf("all: read to %d, want %d", got, first+150)
		}
		if got := readAll(t, r, first+120, true); got != first+150 {
			t.Fatalf("tail: read to %d, want %d", got, first+150)
		}
		m.Close()
		r.Close()
	}
}

func TestJournalNodesLosingNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNCluster(t, 3)
	m := c.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 10)
	drain(t, m)
	c.stop(2)
	mustAppend(t, w, 11, 20) // a quorum of two
	mustAppend(t, w, 21, 30)
	c.stop(1)
	err = appendTxns(t, w, 31, 40)
	if !errors.Is(err, ErrQuorum) || !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("two of three down: %v", err)
	}
	for _, addr := range []string{c.rpcAddrs[1], c.rpcAddrs[2]} {
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("error does not name %s: %v", addr, err)
		}
	}
	if w.SyncedTxID() != 30 || m.CommittedTxID() != 30 {
		t.Fatalf("synced %d committed %d, want 30", w.SyncedTxID(), m.CommittedTxID())
	}
	// The nodes come back: a new writer recovers exactly what was
	// acknowledged, plus possibly the unacknowledged batch that reached
	// jn0 only if it is chosen (it is not: jn0 alone is not a quorum).
	c.start(1)
	c.start(2)
	m.Close()
	b := c.writer()
	got := readAll(t, b, 1, true)
	if got < 30 {
		t.Fatalf("recovered to %d, lost acknowledged txids", got)
	}
}

func TestJournalNodesRestartedNodeRejoins(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNCluster(t, 3)
	m := c.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 10)
	drain(t, m)
	c.stop(2)
	mustAppend(t, w, 11, 20)
	c.start(2)
	mustAppend(t, w, 21, 30) // jn2 is out of sync: skipped
	if err := m.FinalizeLogSegment(ctx, 1, 30); err != nil {
		t.Fatal(err)
	}
	w, err = m.StartLogSegment(ctx, 31)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 31, 40)
	drain(t, m)
	if oos := m.OutOfSync(); len(oos) != 0 {
		t.Fatalf("restarted node did not rejoin at segment 31: out of sync %v", oos)
	}
	// jn2 is a full member again: the writer survives losing jn0.
	c.stop(0)
	mustAppend(t, w, 41, 50)
	if err := m.FinalizeLogSegment(ctx, 31, 50); err != nil {
		t.Fatal(err)
	}
	// And a reader reading from jn1 and jn2 sees everything.
	r := c.manager()
	if got := readAll(t, r, 31, true); got != 50 {
		t.Fatalf("read to %d, want 50", got)
	}
}

func TestJournalNodesTwoWritersRace(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNCluster(t, 3)
	a := c.writer()
	ctx := context.Background()
	wa, err := a.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A writes as fast as it can until it is fenced.
	var (
		wg      sync.WaitGroup
		aErr    error
		started = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for txid := int64(1); ; txid++ {
			if err := wa.Append(txid, op(txid)); err != nil {
				aErr = err
				return
			}
			if err := wa.Flush(ctx); err != nil {
				aErr = err
				return
			}
			if txid == 20 {
				close(started)
			}
		}
	}()
	<-started
	b := c.writer()
	// Every flush A starts from now on must fail.
	afterB := wa.SyncedTxID()
	wg.Wait()
	if !errors.Is(aErr, ErrFenced) && !errors.Is(aErr, ErrWriterFailed) {
		t.Fatalf("writer A stopped with %v, want fenced", aErr)
	}
	for i := 0; i < 3; i++ {
		if err := wa.Flush(ctx); err == nil && wa.SyncedTxID() > afterB {
			t.Fatalf("writer A got an acknowledgement after B took over")
		}
	}
	// Whatever A had acknowledged is in B's recovered log.
	recovered := readAll(t, b, 1, true)
	if acked := wa.SyncedTxID(); acked > recovered {
		t.Fatalf("A acknowledged %d but B recovered only %d", acked, recovered)
	}
	wb, err := b.StartLogSegment(ctx, recovered+1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, wb, recovered+1, recovered+5)
}

func TestJournalNodesRecoveryAfterWriterCrash(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := startJNCluster(t, 3)
	a := c.writer()
	ctx := context.Background()
	w, err := a.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 20)
	drain(t, a)
	c.stop(0) // jn0 misses the last batches
	mustAppend(t, w, 21, 30)
	mustAppend(t, w, 31, 35)
	drain(t, a)
	a.Close() // crash mid-segment
	c.start(0)
	// jn0 holds 1-20, jn1 and jn2 1-35; all of 1-35 was acknowledged.
	b := c.writer()
	if got := readAll(t, b, 1, true); got != 35 {
		t.Fatalf("recovered to %d, want 35", got)
	}
	// The recovered segment is finalized on a quorum: readable as
	// finalized only.
	if got := readAll(t, b, 1, false); got != 35 {
		t.Fatalf("finalized to %d, want 35", got)
	}
	// Losing a node that had the full copy still leaves it readable.
	c.stop(1)
	r := c.manager()
	if got := readAll(t, r, 1, false); got != 35 {
		t.Fatalf("with jn1 down: read to %d, want 35", got)
	}
}
