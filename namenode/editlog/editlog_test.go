package editlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

func opFor(txid int64) []byte { return []byte(fmt.Sprintf("op-%08d-%s", txid, "payload")) }

func openWriting(t *testing.T, j Journal, opts Options, first int64) *EditLog {
	t.Helper()
	l, err := Open(j, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.StartWriting(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestGroupCommit: 64 handlers Log and Sync concurrently; the first flush
// is held until every handler has logged, so the rest share one flush.
func TestGroupCommit(t *testing.T) {
	testcluster.CheckLeaks(t)
	const n = 64
	j := newFakeJournal()
	var logged sync.WaitGroup
	logged.Add(n)
	allLogged := make(chan struct{})
	j.syncHook = func(k int64) {
		if k == 1 {
			<-allLogged
		}
	}
	l := openWriting(t, j, Options{}, 1)
	var nsLock sync.Mutex // the namespace write lock
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nsLock.Lock()
			txid := l.Log(opFor(int64(i)))
			nsLock.Unlock()
			logged.Done()
			if err := l.Sync(context.Background(), txid); err != nil {
				errs <- err
				return
			}
			if d := j.durableTo.Load(); d < txid {
				errs <- fmt.Errorf("Sync(%d) returned before the journal had it (durable to %d)", txid, d)
			}
		}()
	}
	logged.Wait()
	close(allLogged)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := l.SyncedTxID(); got != n {
		t.Fatalf("synced %d, want %d", got, n)
	}
	f := j.syncs.Load()
	t.Logf("%d edits, %d journal syncs", n, f)
	if f >= n || f > 2 {
		t.Fatalf("%d journal syncs for %d edits: no group commit", f, n)
	}
	if f != l.Flushes() {
		t.Fatalf("Flushes() = %d, journal saw %d", l.Flushes(), f)
	}
}

// TestGroupCommitManyRounds: handlers keep logging and syncing; every
// Sync returns only after its txid is durable, and flushes < edits.
func TestGroupCommitManyRounds(t *testing.T) {
	testcluster.CheckLeaks(t)
	const handlers, per = 64, 50
	j := newFakeJournal()
	// The first journal sync waits until every handler has logged once, so
	// the edits logged meanwhile must share later syncs however the
	// goroutines are scheduled.
	var logged atomic.Int64
	j.syncHook = func(n int64) {
		for n == 1 && logged.Load() < handlers {
			time.Sleep(time.Millisecond)
		}
	}
	l := openWriting(t, j, Options{}, 1)
	var nsLock sync.Mutex
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < handlers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < per; k++ {
				nsLock.Lock()
				txid := l.Log([]byte("x"))
				nsLock.Unlock()
				logged.Add(1)
				if err := l.Sync(context.Background(), txid); err != nil {
					t.Error(err)
					return
				}
				if j.durableTo.Load() < txid {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d Syncs returned before their txid was durable", bad.Load())
	}
	total := int64(handlers * per)
	if l.SyncedTxID() != total || j.durableTo.Load() != total {
		t.Fatalf("synced %d, durable %d, want %d", l.SyncedTxID(), j.durableTo.Load(), total)
	}
	t.Logf("%d edits, %d journal syncs", total, j.syncs.Load())
	if j.syncs.Load() >= total {
		t.Fatalf("%d syncs for %d edits", j.syncs.Load(), total)
	}
}

// TestOrdering: txids are consecutive from the segment start and the
// journal receives every op under its txid, across a roll.
func TestOrdering(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	l := openWriting(t, j, Options{}, 11)
	ctx := context.Background()
	for want := int64(11); want <= 40; want++ {
		if got := l.Log(opFor(want)); got != want {
			t.Fatalf("Log returned txid %d, want %d", got, want)
		}
		if want%7 == 0 {
			if err := l.Sync(ctx, want); err != nil {
				t.Fatal(err)
			}
		}
		if want == 25 {
			seg, err := l.Roll(ctx)
			if err != nil || seg != 26 {
				t.Fatalf("Roll = %d, %v; want 26", seg, err)
			}
		}
	}
	if err := l.Sync(ctx, 40); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx, 41); err == nil {
		t.Fatal("Sync past the last logged txid succeeded")
	}
	for i, op := range j.ops(11, 40) {
		if !bytes.Equal(op, opFor(int64(11+i))) {
			t.Fatalf("txid %d holds %q", 11+i, op)
		}
	}
	var got []int64
	last, err := l.ReadFrom(ctx, 20, func(txid int64, op []byte) error {
		if !bytes.Equal(op, opFor(txid)) {
			return fmt.Errorf("txid %d: %q", txid, op)
		}
		got = append(got, txid)
		return nil
	})
	if err != nil || last != 40 || len(got) != 21 {
		t.Fatalf("ReadFrom(20) = %d, %v, %d records", last, err, len(got))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := [][2]int64{{11, 25}, {26, 40}}
	if fmt.Sprint(j.finalized) != fmt.Sprint(want) {
		t.Fatalf("finalized %v, want %v", j.finalized, want)
	}
	if !j.closed {
		t.Fatal("Close did not close the journal")
	}
}

// TestRollEmptySegment: rolling a segment without edits is a no-op.
func TestRollEmptySegment(t *testing.T) {
	j := newFakeJournal()
	l := openWriting(t, j, Options{}, 5)
	seg, err := l.Roll(context.Background())
	if err != nil || seg != 5 || len(j.finalized) != 0 {
		t.Fatalf("Roll = %d, %v, finalized %v", seg, err, j.finalized)
	}
}

// TestFailureLatch: one failed journal sync fails every waiter and every
// later Sync, calls OnFatal once, and nothing is acknowledged afterwards
// even though the journal would succeed again.
func TestFailureLatch(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	var fatals atomic.Int32
	var fatalErr atomic.Value
	l := openWriting(t, j, Options{OnFatal: func(err error) {
		fatals.Add(1)
		fatalErr.Store(err)
	}}, 1)
	ctx := context.Background()
	tx := l.Log([]byte("a"))
	if err := l.Sync(ctx, tx); err != nil {
		t.Fatal(err)
	}

	// The failing sync (the journal's 2nd) waits until 16 handlers have
	// logged, so they are all pending when it fails.
	const n = 16
	var logged sync.WaitGroup
	logged.Add(n)
	release := make(chan struct{})
	j.syncHook = func(k int64) {
		if k == 2 {
			<-release
		}
	}
	j.failSyncs.Store(1)
	var wg sync.WaitGroup
	var acked atomic.Int32
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			txid := l.Log([]byte("b"))
			logged.Done()
			err := l.Sync(ctx, txid)
			if err == nil {
				acked.Add(1)
			}
			errs <- err
		}()
	}
	logged.Wait()
	close(release)
	wg.Wait()
	close(errs)
	if acked.Load() != 0 {
		t.Fatalf("%d Syncs acknowledged edits logged before the failure", acked.Load())
	}
	for err := range errs {
		if !errors.Is(err, ErrJournalFailed) || !errors.Is(err, errInjected) {
			t.Fatalf("pending Sync: %v; want ErrJournalFailed wrapping the cause", err)
		}
	}
	durable := j.durableTo.Load()
	// The journal works again, but the log stays failed.
	for i := 0; i < 5; i++ {
		txid := l.Log([]byte("c"))
		if err := l.Sync(ctx, txid); !errors.Is(err, ErrJournalFailed) {
			t.Fatalf("Sync after failure: %v", err)
		}
	}
	if err := l.Sync(ctx, tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("Sync of a txid synced before the failure: %v", err)
	}
	if err := l.WaitSynced(ctx, tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("WaitSynced after failure: %v", err)
	}
	if _, err := l.Roll(ctx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("Roll after failure: %v", err)
	}
	if j.durableTo.Load() != durable || l.SyncedTxID() != tx {
		t.Fatalf("durable moved from %d to %d, synced %d after the failure", durable, j.durableTo.Load(), l.SyncedTxID())
	}
	if err := l.Failed(); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("Failed() = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fatals.Load() != 1 {
		t.Fatalf("OnFatal called %d times", fatals.Load())
	}
	if err, _ := fatalErr.Load().(error); !errors.Is(err, errInjected) {
		t.Fatalf("OnFatal got %v", err)
	}
	if len(j.finalized) != 0 {
		t.Fatalf("a failed log finalized %v", j.finalized)
	}
}

// TestFailureDuringRoll: a failed finalize is fatal too.
type failFinalize struct{ *fakeJournal }

func (f failFinalize) FinalizeSegment(ctx context.Context, first, last int64) error {
	return errInjected
}

func TestFailureDuringRoll(t *testing.T) {
	j := failFinalize{newFakeJournal()}
	var fatals atomic.Int32
	l := openWriting(t, j, Options{OnFatal: func(error) { fatals.Add(1) }}, 1)
	tx := l.Log([]byte("a"))
	if _, err := l.Roll(context.Background()); !errors.Is(err, ErrJournalFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("Roll: %v", err)
	}
	if err := l.Sync(context.Background(), tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("Sync: %v", err)
	}
	if fatals.Load() != 1 {
		t.Fatalf("OnFatal called %d times", fatals.Load())
	}
}

// TestOnFatalMayClose: OnFatal runs without locks held.
func TestOnFatalMayClose(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	var l *EditLog
	closed := make(chan error, 1)
	l = openWriting(t, j, Options{OnFatal: func(error) { closed <- l.Close() }}, 1)
	j.failSyncs.Store(1)
	tx := l.Log([]byte("a"))
	if err := l.Sync(context.Background(), tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

// TestWaiterContext: a waiter whose context ends gives up alone; the
// flush it waited for completes and the log stays healthy.
func TestWaiterContext(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	release := make(chan struct{})
	entered := make(chan struct{})
	j.syncHook = func(k int64) {
		if k == 1 {
			close(entered)
			<-release
		}
	}
	l := openWriting(t, j, Options{}, 1)
	tx := l.Log([]byte("a"))
	done := make(chan error, 1)
	go func() { done <- l.Sync(context.Background(), tx) }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Sync(ctx, tx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync with a cancelled context: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.Failed() != nil {
		t.Fatal(l.Failed())
	}
}

// TestBoundedBuffer: with a tiny buffer and nobody calling Sync, Log
// flushes the full batch itself instead of growing or deadlocking.
func TestBoundedBuffer(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	l := openWriting(t, j, Options{MaxBufferedBytes: 100}, 1)
	op := make([]byte, 30)
	for i := 0; i < 100; i++ {
		l.Log(op)
	}
	if j.syncs.Load() < 25 {
		t.Fatalf("%d syncs: Log did not flush a full buffer", j.syncs.Load())
	}
	if l.SyncedTxID() < 90 {
		t.Fatalf("synced %d of 100", l.SyncedTxID())
	}
	if err := l.Sync(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
}

// TestCloseSyncsPending: Close makes every logged edit durable and
// finalizes; later Syncs of unsynced txids fail with ErrClosed.
func TestCloseSyncsPending(t *testing.T) {
	j := newFakeJournal()
	l := openWriting(t, j, Options{}, 1)
	for i := 0; i < 10; i++ {
		l.Log([]byte("a"))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if j.durableTo.Load() != 10 || fmt.Sprint(j.finalized) != "[[1 10]]" {
		t.Fatalf("durable %d, finalized %v", j.durableTo.Load(), j.finalized)
	}
	if err := l.Sync(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if tx := l.Log([]byte("b")); l.Sync(context.Background(), tx) != ErrClosed {
		t.Fatal("Sync after Close did not return ErrClosed")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLogBeforeStartWritingPanics(t *testing.T) {
	l, _ := Open(newFakeJournal(), Options{})
	defer l.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	l.Log([]byte("a"))
}

func TestPurgeKeepsOpenSegment(t *testing.T) {
	j := newFakeJournal()
	l := openWriting(t, j, Options{}, 1)
	l.Log([]byte("a"))
	if _, err := l.Roll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Purge(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	if j.purged != 2 {
		t.Fatalf("purged below %d, want 2 (the open segment)", j.purged)
	}
}

// TestRollWhileLogging: rolls interleaved with concurrent handlers leave
// contiguous finalized segments holding every synced edit in order.
func TestRollWhileLogging(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	l := openWriting(t, j, Options{}, 1)
	ctx := context.Background()
	var nsLock sync.Mutex
	var wg sync.WaitGroup
	for h := 0; h < 16; h++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100; k++ {
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
	rolls := make(chan error, 1)
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := l.Roll(ctx); err != nil {
				rolls <- err
				return
			}
		}
		rolls <- nil
	}()
	wg.Wait()
	if err := <-rolls; err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	next := int64(1)
	for _, seg := range j.finalized {
		if seg[0] != next || seg[1] < seg[0] {
			t.Fatalf("segments %v: %v does not follow txid %d", j.finalized, seg, next-1)
		}
		next = seg[1] + 1
	}
	if next != 1601 {
		t.Fatalf("segments end at %d, want 1600", next-1)
	}
	for i, op := range j.ops(1, 1600) {
		if !bytes.Equal(op, opFor(int64(i+1))) {
			t.Fatalf("txid %d holds %q", i+1, op)
		}
	}
}

// TestCloseWhileSyncing: Syncs pending when Close runs get their edits
// synced by Close.
func TestCloseWhileSyncing(t *testing.T) {
	testcluster.CheckLeaks(t)
	j := newFakeJournal()
	release := make(chan struct{})
	j.syncHook = func(k int64) {
		if k == 1 {
			<-release
		}
	}
	l := openWriting(t, j, Options{}, 1)
	ctx := context.Background()
	tx1 := l.Log([]byte("a"))
	first := make(chan error, 1)
	go func() { first <- l.Sync(ctx, tx1) }()
	for l.Flushes() == 0 { // wait until the first flush is in flight
		runtime.Gosched()
	}
	tx2 := l.Log([]byte("b"))
	second := make(chan error, 1)
	go func() { second <- l.Sync(ctx, tx2) }()
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	close(release)
	for _, ch := range []chan error{first, second, closed} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if j.durableTo.Load() != 2 || fmt.Sprint(j.finalized) != "[[1 2]]" {
		t.Fatalf("durable %d, finalized %v", j.durableTo.Load(), j.finalized)
	}
}
