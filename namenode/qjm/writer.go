package qjm

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hdfsha/hdfsha/internal/edits"
)

// SegmentWriter appends edits to the open segment and makes them durable
// on a quorum: Hadoop's QuorumOutputStream with its double buffer. Append
// frames a record into the current buffer; Sync (or Flush) sends
// everything buffered as one journal() call to every JournalNode and
// returns once a quorum has fsynced it. Append may run concurrently with
// a Sync in flight, so concurrent handlers get group commit: one sync
// carries every edit appended while the previous one was on the wire.
//
// Safe for concurrent use. After any failure the writer (and its Manager)
// is failed for good: nothing appended afterwards, nor the failed batch,
// is ever acknowledged.
type SegmentWriter struct {
	m     *Manager
	first int64

	// flushMu serializes batches: at most one journal() round at a time,
	// so batches reach every node in txid order.
	flushMu sync.Mutex
	// synced is the highest txid a quorum acknowledged, first-1 if none.
	synced atomic.Int64
	// syncs counts journal() rounds sent.
	syncs atomic.Int64

	mu struct {
		sync.Mutex
		// buf holds framed records bufFirst .. next-1 not yet sent.
		buf      []byte
		bufFirst int64
		// next is the txid the next Append must carry.
		// Invariant: synced < bufFirst <= next.
		next int64
		// err is set once the writer is finalized, abandoned or failed.
		err error
	}
}

func newSegmentWriter(m *Manager, first int64) *SegmentWriter {
	w := &SegmentWriter{m: m, first: first}
	w.synced.Store(first - 1)
	w.mu.bufFirst, w.mu.next = first, first
	return w
}

// FirstTxID is the segment's first txid.
func (w *SegmentWriter) FirstTxID() int64 { return w.first }

// SyncedTxID is the highest txid a quorum acknowledged (FirstTxID-1 if
// none).
func (w *SegmentWriter) SyncedTxID() int64 { return w.synced.Load() }

// LastTxID is the highest txid appended (FirstTxID-1 if none).
func (w *SegmentWriter) LastTxID() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.next - 1
}

// Append buffers one edit. txid must follow the previous one (the first
// is FirstTxID). Nothing is durable until a Sync covering txid returns.
func (w *SegmentWriter) Append(txid int64, op []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.err != nil {
		return w.mu.err
	}
	if txid != w.mu.next {
		return fmt.Errorf("qjm: append txid %d to segment %d, expected txid %d", txid, w.first, w.mu.next)
	}
	b, err := edits.AppendRecord(w.mu.buf, txid, op)
	if err != nil {
		return err
	}
	w.mu.buf = b
	w.mu.next++
	return nil
}

// Flush makes every edit appended so far durable on a quorum.
func (w *SegmentWriter) Flush(ctx context.Context) error {
	return w.Sync(ctx, w.LastTxID())
}

// Sync returns once txid (and every txid before it) is durable on a
// quorum, sending what is buffered if no batch in flight covers it. An
// error is final: the writer is failed, and the caller must not
// acknowledge any edit not synced before.
func (w *SegmentWriter) Sync(ctx context.Context, txid int64) error {
	if w.synced.Load() >= txid {
		return w.errIfFailed()
	}
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if w.synced.Load() >= txid {
		return w.errIfFailed()
	}
	w.mu.Lock()
	if err := w.mu.err; err != nil {
		w.mu.Unlock()
		return err
	}
	if txid >= w.mu.next {
		w.mu.Unlock()
		return fmt.Errorf("qjm: sync to txid %d, but only %d was appended", txid, w.mu.next-1)
	}
	records, first, n := w.mu.buf, w.mu.bufFirst, int(w.mu.next-w.mu.bufFirst)
	// The sent slice stays referenced by queued calls on slow channels;
	// it is never reused.
	w.mu.buf, w.mu.bufFirst = nil, w.mu.next
	w.mu.Unlock()
	w.syncs.Add(1)
	if err := w.m.sendBatch(ctx, w.first, first, n, records); err != nil {
		w.abandon(err)
		return err
	}
	w.synced.Store(first + int64(n) - 1)
	return nil
}

// errIfFailed reports a failure of the writer (or manager), which
// withdraws every acknowledgement not yet given.
func (w *SegmentWriter) errIfFailed() error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.m.mu.failed
}

// abandon makes every later call fail with err (first error wins).
func (w *SegmentWriter) abandon(err error) {
	w.mu.Lock()
	if w.mu.err == nil {
		w.mu.err = err
	}
	w.mu.buf = nil
	w.mu.Unlock()
}

// closeForFinalize closes the writer for finalization at last.
func (w *SegmentWriter) closeForFinalize(last int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.err != nil {
		return w.mu.err
	}
	if s := w.synced.Load(); s != last || w.mu.next-1 != last {
		return fmt.Errorf("qjm: finalize segment %d at txid %d, but txids up to %d are appended and %d synced", w.first, last, w.mu.next-1, s)
	}
	w.mu.err = fmt.Errorf("qjm: segment %d-%d is finalized", w.first, last)
	return nil
}
