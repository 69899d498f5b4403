package qjm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

func op(txid int64) []byte { return []byte(fmt.Sprintf("op-%d-%s", txid, strings.Repeat("x", 40))) }

// appendTxns appends txids from..to (inclusive) and flushes them as one
// batch.
func appendTxns(t testing.TB, w *SegmentWriter, from, to int64) error {
	t.Helper()
	for txid := from; txid <= to; txid++ {
		if err := w.Append(txid, op(txid)); err != nil {
			t.Fatalf("append %d: %v", txid, err)
		}
	}
	return w.Flush(context.Background())
}

func mustAppend(t testing.TB, w *SegmentWriter, from, to int64) {
	t.Helper()
	if err := appendTxns(t, w, from, to); err != nil {
		t.Fatalf("flush %d-%d: %v", from, to, err)
	}
}

// readAll reads every edit from fromTxID and checks each is op(txid).
func readAll(t testing.TB, m *Manager, fromTxID int64, inProgressOK bool) (last int64) {
	t.Helper()
	ctx := context.Background()
	s, err := m.SelectInputStreams(ctx, fromTxID, inProgressOK)
	if err != nil {
		t.Fatalf("select from %d: %v", fromTxID, err)
	}
	defer s.Close()
	want := fromTxID
	for {
		r, err := s.Next(ctx)
		if err == io.EOF {
			return want - 1
		}
		if err != nil {
			t.Fatalf("read txid %d: %v", want, err)
		}
		if r.TxID != want || string(r.Op) != string(op(want)) {
			t.Fatalf("read txid %d %q, want txid %d", r.TxID, r.Op, want)
		}
		want++
	}
}

func TestWriteFinalizeReadBack(t *testing.T) {
	testcluster.CheckLeaks(t)
	for _, rpcTail := range []bool{true, false} {
		t.Run(fmt.Sprintf("in-progress-rpc=%v", rpcTail), func(t *testing.T) {
			fc := newFakeCluster(t, 3)
			m := fc.writer(func(c *Config) { c.InProgressRPC = rpcTail })
			ctx := context.Background()
			w, err := m.StartLogSegment(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, w, 1, 10)
			mustAppend(t, w, 11, 11)
			mustAppend(t, w, 12, 40)
			if got := m.CommittedTxID(); got != 40 {
				t.Fatalf("committed %d, want 40", got)
			}
			if err := m.FinalizeLogSegment(ctx, 1, 40); err != nil {
				t.Fatal(err)
			}
			w, err = m.StartLogSegment(ctx, 41)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, w, 41, 55)
			if got := readAll(t, m, 1, false); got != 40 {
				t.Fatalf("finalized only: read to %d, want 40", got)
			}
			if got := readAll(t, m, 1, true); got != 55 {
				t.Fatalf("with in-progress: read to %d, want 55", got)
			}
			if got := readAll(t, m, 30, true); got != 55 {
				t.Fatalf("from 30: read to %d, want 55", got)
			}
			if got := readAll(t, m, 50, true); got != 55 {
				t.Fatalf("from 50: read to %d, want 55", got)
			}
			if got := readAll(t, m, 56, true); got != 55 {
				t.Fatalf("from the end: read to %d, want nothing", got)
			}
		})
	}
}

func TestQuorumFailureNamesEveryNodeAndFailsTheWriter(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 5)
	drain(t, m)
	fc.jns[0].fail("journal", errors.New("disk full"))
	fc.jns[2].setDown(true)
	err = appendTxns(t, w, 6, 8)
	if !errors.Is(err, ErrQuorum) || !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("err = %v, want ErrQuorum and ErrWriterFailed", err)
	}
	msg := err.Error()
	for _, want := range []string{"too many exceptions to achieve quorum size 2/3", "2 exceptions thrown", "jn0:8485: disk full", "jn2:8485: call to jn2: connection refused", "write txids 6-8"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if got := w.SyncedTxID(); got != 5 {
		t.Fatalf("synced %d after the failed batch, want 5", got)
	}
	// Permanently failed, even once the nodes are back.
	fc.jns[0].fail("journal", nil)
	fc.jns[2].setDown(false)
	if err := w.Append(9, op(9)); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("append after failure: %v", err)
	}
	if err := w.Sync(ctx, 6); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("sync after failure: %v", err)
	}
	if _, err := m.StartLogSegment(ctx, 6); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("start after failure: %v", err)
	}
	if err := m.FinalizeLogSegment(ctx, 1, 5); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("finalize after failure: %v", err)
	}
}

func TestOutOfSyncNodeRejoinsAtNextSegment(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 3)
	drain(t, m)
	jn := fc.jns[1]
	jn.fail("journal", errors.New("transient"))
	mustAppend(t, w, 4, 6) // quorum of the other two
	drain(t, m)
	jn.fail("journal", nil)
	// The channel learns of the failure on its own goroutine; the next
	// quorum wait may finish before it, so wait for the channel itself.
	waitFor(t, func() bool { return slices.Contains(m.OutOfSync(), "jn1:8485") })
	before := len(jn.methods())
	mustAppend(t, w, 7, 9)
	mustAppend(t, w, 10, 12)
	if err := m.FinalizeLogSegment(ctx, 1, 12); err != nil {
		t.Fatal(err)
	}
	// Journals were skipped while out of sync: jn1 saw no journal call.
	drain(t, m)
	for _, meth := range jn.methods()[before:] {
		if meth == "journal" {
			t.Fatalf("out-of-sync node got a journal call: %v", jn.methods()[before:])
		}
	}
	w, err = m.StartLogSegment(ctx, 13)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 13, 20)
	drain(t, m)
	mustHaveRejoined(t, jn)
	if got := m.OutOfSync(); len(got) != 0 {
		t.Fatalf("still out of sync after the new segment: %v", got)
	}
	if h := jn.j.HighestWrittenTxID(); h != 20 {
		t.Fatalf("rejoined node has txid %d, want 20", h)
	}
	if got := readAll(t, m, 1, true); got != 20 {
		t.Fatalf("read to %d", got)
	}
}

// drain waits until every channel ran what was queued before.
func drain(t testing.TB, m *Manager) {
	t.Helper()
	for _, c := range m.set.chans {
		f := submit(c, nil, nil, func(context.Context, proto.Message) (struct{}, error) { return struct{}{}, nil })
		f.result()
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // guards against hanging only
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueueLimit(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer(func(c *Config) { c.QueueLimitBytes = 1000 })
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	slow := fc.jns[2]
	resume := slow.pause()
	defer resume()
	// Each batch of 8 edits is 8*(16+45) = 488 bytes: the slow node queues
	// two, the third would exceed 1000 bytes.
	mustAppend(t, w, 1, 8)
	mustAppend(t, w, 9, 16)
	c := m.set.chans[2]
	if q := c.queuedBytes(); q < 900 || q > 1000 {
		t.Fatalf("queued %d bytes, want the two batches", q)
	}
	f := c.journal(nil, 1, 17, 8, make([]byte, 488))
	if _, err := f.result(); !errors.Is(err, ErrLoggerTooFarBehind) || !strings.Contains(err.Error(), "would exceed the queue limit of 1000 bytes") {
		t.Fatalf("err = %v, want ErrLoggerTooFarBehind", err)
	}
	// The writer goes on with the other two.
	mustAppend(t, w, 17, 24)
	if !slices.Contains(m.OutOfSync(), "jn2:8485") {
		t.Fatalf("the node over its limit is not out of sync: %v", m.OutOfSync())
	}
	resume()
	drain(t, m)
	if q := c.queuedBytes(); q != 0 {
		t.Fatalf("queued %d bytes after draining", q)
	}
	if err := m.FinalizeLogSegment(ctx, 1, 24); err != nil {
		t.Fatal(err)
	}
	if _, err := m.StartLogSegment(ctx, 25); err != nil {
		t.Fatal(err)
	}
	drain(t, m)
	mustHaveRejoined(t, slow)
	if got := m.OutOfSync(); len(got) != 0 {
		t.Fatalf("out of sync after the next segment: %v", got)
	}
}

func TestTimeoutDoesNotAcknowledge(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer(func(c *Config) { c.Timeouts.WriteTxns = 100 * time.Millisecond })
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 2)
	drain(t, m)
	r1, r2 := fc.jns[0].pause(), fc.jns[1].pause()
	defer r1()
	defer r2()
	err = appendTxns(t, w, 3, 4)
	var qe *QuorumError
	if !errors.As(err, &qe) || !qe.TimedOut || !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("err = %v, want a timed out QuorumError", err)
	}
	if !strings.Contains(err.Error(), "timed out waiting 100ms for a quorum") {
		t.Fatalf("message %q", err)
	}
	r1()
	r2()
	drain(t, m)
	if w.SyncedTxID() != 2 || m.CommittedTxID() != 2 {
		t.Fatalf("synced %d committed %d after a timeout, want 2", w.SyncedTxID(), m.CommittedTxID())
	}
	if err := w.Sync(ctx, 4); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("sync after timeout: %v", err)
	}
}

func TestRequestInfoOrderAndPiggyback(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, 1, 3)
	drain(t, m) // no merging of the two batches on a lagging node
	mustAppend(t, w, 4, 6)
	drain(t, m)
	if err := m.FinalizeLogSegment(ctx, 1, 6); err != nil {
		t.Fatal(err)
	}
	drain(t, m)
	for _, jn := range fc.jns {
		jn.mu.Lock()
		reqs := jn.reqs
		jn.mu.Unlock()
		var last uint64
		for i, ri := range reqs {
			if ri.GetEpoch() != uint64(m.Epoch()) || ri.GetJournalId().GetIdentifier() != "test" {
				t.Fatalf("%s request %d: %v", jn.name, i, ri)
			}
			if ri.GetIpcSerialNumber() <= last {
				t.Fatalf("%s serials not increasing: %d after %d", jn.name, ri.GetIpcSerialNumber(), last)
			}
			last = ri.GetIpcSerialNumber()
		}
		// start, journal 1-3 (nothing committed yet), journal 4-6
		// (3 committed), finalize (6 committed).
		if n := len(reqs); n != 4 || reqs[1].CommittedTxId != nil || reqs[2].GetCommittedTxId() != 3 || reqs[3].GetCommittedTxId() != 6 {
			t.Fatalf("%s committed txids: %v", jn.name, reqs)
		}
	}
}

// TestQueuedBatchesMerge: batches queued behind a slow call go to the
// node as one journal() RPC, and every txid arrives.
func TestQueuedBatchesMerge(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.writer()
	ctx := context.Background()
	w, err := m.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, m)
	slow := fc.jns[2]
	resume := slow.pause()
	for i := int64(0); i < 5; i++ {
		mustAppend(t, w, 1+4*i, 4+4*i)
	}
	resume()
	drain(t, m)
	journals := 0
	for _, meth := range slow.methods() {
		if meth == "journal" {
			journals++
		}
	}
	if journals < 1 || journals > 2 {
		t.Fatalf("slow node got %d journal calls for 5 queued batches, want them merged", journals)
	}
	if h := slow.j.HighestWrittenTxID(); h != 20 {
		t.Fatalf("slow node has txid %d, want 20", h)
	}
	if got := m.OutOfSync(); len(got) != 0 {
		t.Fatalf("out of sync: %v", got)
	}
}

func TestFencedByNewerWriter(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	a := fc.writer()
	ctx := context.Background()
	wa, err := a.StartLogSegment(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, wa, 1, 10)
	b := fc.writer()
	if b.Epoch() <= a.Epoch() {
		t.Fatalf("epochs %d then %d", a.Epoch(), b.Epoch())
	}
	err = appendTxns(t, wa, 11, 12)
	if !errors.Is(err, ErrFenced) || !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("old writer after fencing: %v", err)
	}
	if !strings.Contains(err.Error(), "is less than the last promised epoch") {
		t.Fatalf("message %q", err)
	}
	if err := wa.Sync(ctx, 11); !errors.Is(err, ErrFenced) {
		t.Fatalf("later sync: %v", err)
	}
	// B recovered everything A had acknowledged, and nothing after.
	if got := readAll(t, b, 1, true); got != 10 {
		t.Fatalf("new writer reads to %d, want 10", got)
	}
	wb, err := b.StartLogSegment(ctx, 11)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, wb, 11, 12)
}

func TestRecoveryAfterCrashWithUnequalLengths(t *testing.T) {
	testcluster.CheckLeaks(t)
	for _, downInRecovery := range []int{-1, 2} {
		t.Run(fmt.Sprintf("down-in-recovery=%d", downInRecovery), func(t *testing.T) {
			fc := newFakeCluster(t, 3)
			a := fc.writer()
			ctx := context.Background()
			w, err := a.StartLogSegment(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, w, 1, 5)
			drain(t, a)
			fc.jns[0].setDown(true)
			mustAppend(t, w, 6, 10) // on jn1, jn2 only
			fc.jns[1].fail("journal", errors.New("lost"))
			if err := appendTxns(t, w, 11, 12); err == nil { // reaches jn2 only
				t.Fatal("batch on one node acknowledged")
			}
			drain(t, a)
			a.Close() // the writer crashes: nothing finalized
			fc.jns[0].setDown(false)
			fc.jns[1].fail("journal", nil)
			// jn0 has 1-5, jn1 1-10, jn2 1-12; acknowledged: 1-10.
			if downInRecovery >= 0 {
				fc.jns[downInRecovery].setDown(true)
			}
			b := fc.writer()
			drain(t, b)
			var end int64
			for i, jn := range fc.jns {
				if i == downInRecovery {
					continue
				}
				m, err := jn.j.GetEditLogManifest(1, true)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Logs) != 1 || m.Logs[0].InProgress || (end != 0 && m.Logs[0].EndTxID != end) {
					t.Fatalf("jn%d after recovery: %+v", i, m.Logs)
				}
				end = m.Logs[0].EndTxID
			}
			if end < 10 {
				t.Fatalf("recovered to %d, losing acknowledged txids", end)
			}
			if got := readAll(t, b, 1, true); got != end {
				t.Fatalf("read to %d, want %d", got, end)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := fc.manager()
	ctx := context.Background()
	if has, err := m.HasSomeData(ctx); err != nil || has {
		t.Fatalf("fresh: %v %v", has, err)
	}
	if ok, err := m.IsFormatted(ctx); err != nil || ok {
		t.Fatalf("fresh IsFormatted: %v %v", ok, err)
	}
	if err := m.Recover(ctx); !errors.Is(err, ErrQuorum) {
		t.Fatalf("recover unformatted: %v", err)
	}
	if err := fc.jns[1].j.Format(nsInfo(testNS), false); err != nil {
		t.Fatal(err)
	}
	if err := m.Format(ctx, false); err == nil || !strings.Contains(err.Error(), "already has data") {
		t.Fatalf("format over data: %v", err)
	}
	fc.jns[2].setDown(true)
	if _, err := m.HasSomeData(ctx); err == nil || !strings.Contains(err.Error(), "jn2:8485") {
		t.Fatalf("HasSomeData with a node down: %v", err)
	}
}

func TestEmptyQuorumMath(t *testing.T) {
	// A QuorumError for a context cancellation says so and matches it.
	e := &QuorumError{Op: "journal", Majority: 2, N: 3, Cause: context.Canceled,
		Failures: []NodeError{{Node: 1, Addr: "a:1", Err: errors.New("boom")}}}
	if !errors.Is(e, context.Canceled) || !errors.Is(e, ErrQuorum) || errors.Is(e, ErrFenced) {
		t.Fatal(e)
	}
}
