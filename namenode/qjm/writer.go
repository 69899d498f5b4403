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
// everything buffered as one journal() batch to every JournalNode and
// returns once a quorum has fsynced it. Append runs concurrently with
// syncs in flight, and a Sync whose txid an in-flight batch covers waits
// for that batch, so concurrent handlers get group commit. Batches are
// pipelined: a new one is handed to the channels while earlier ones are on
// the wire, and each channel merges the batches queued behind a call in
// flight into its next journal() RPC.
//
// Safe for concurrent use. After any failure the writer (and its Manager)
// is failed for good: nothing appended afterwards, nor the failed batch,
// is ever acknowledged.
type SegmentWriter struct {
	m     *Manager
	first int64

	// flushMu orders batches: a batch is handed to every channel under it,
	// so every node receives batches in txid order.
	flushMu sync.Mutex
	// inflight are the batches sent and not finished, in txid order, and
	// sent the last txid handed to the channels; both under flushMu.
	inflight []*batch
	sent     int64
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

// batch is one journal() round; done closes when err is set.
type batch struct {
	last int64
	done chan struct{}
	err  error
}

func newSegmentWriter(m *Manager, first int64) *SegmentWriter {
	w := &SegmentWriter{m: m, first: first, sent: first - 1}
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
// quorum, sending what is buffered unless a batch in flight covers txid.
// An error is final: the writer is failed, and the caller must not
// acknowledge any edit not synced before. (An error from ctx while
// waiting for another caller's batch leaves that batch running.)
func (w *SegmentWriter) Sync(ctx context.Context, txid int64) error {
	if w.synced.Load() >= txid {
		return w.errIfFailed()
	}
	w.flushMu.Lock()
	if w.synced.Load() >= txid {
		w.flushMu.Unlock()
		return w.errIfFailed()
	}
	if txid <= w.sent {
		var b *batch
		for _, x := range w.inflight {
			if x.last >= txid {
				b = x
				break
			}
		}
		if b == nil {
			// The covering batch finished between the checks above: a
			// success advanced synced, a failure abandoned the writer,
			// both before it left inflight.
			w.flushMu.Unlock()
			if w.synced.Load() >= txid {
				return w.errIfFailed()
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.mu.err != nil {
				return w.mu.err
			}
			panic(fmt.Sprintf("qjm: txid %d sent, not in flight, neither synced nor failed", txid))
		}
		w.flushMu.Unlock()
		select {
		case <-b.done:
			return b.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	if err := w.mu.err; err != nil {
		w.mu.Unlock()
		w.flushMu.Unlock()
		return err
	}
	if txid >= w.mu.next {
		w.mu.Unlock()
		w.flushMu.Unlock()
		return fmt.Errorf("qjm: sync to txid %d, but only %d was appended", txid, w.mu.next-1)
	}
	records, first, n := w.mu.buf, w.mu.bufFirst, int(w.mu.next-w.mu.bufFirst)
	// The sent slice stays referenced by queued calls on slow channels;
	// it is never reused.
	w.mu.buf, w.mu.bufFirst = nil, w.mu.next
	w.mu.Unlock()
	p, err := w.m.sendBatch(w.first, first, n, records)
	if err != nil {
		w.flushMu.Unlock()
		w.abandon(err)
		return err
	}
	b := &batch{last: first + int64(n) - 1, done: make(chan struct{})}
	w.inflight = append(w.inflight, b)
	w.sent = b.last
	w.syncs.Add(1)
	w.flushMu.Unlock()

	err = w.m.finishBatch(ctx, p, first, n)
	if err != nil {
		w.abandon(err)
	} else {
		for {
			cur := w.synced.Load()
			if b.last <= cur || w.synced.CompareAndSwap(cur, b.last) {
				break
			}
		}
	}
	b.err = err
	w.flushMu.Lock()
	for i, x := range w.inflight {
		if x == b {
			w.inflight = append(w.inflight[:i:i], w.inflight[i+1:]...)
			break
		}
	}
	w.flushMu.Unlock()
	close(b.done)
	return err
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
