package editlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/edits"
)

// DefaultMaxBufferedBytes bounds the batch forming while a flush is in
// flight (Hadoop's dfs.namenode.edits.output.buffer size is 512 KiB; a
// larger bound lets one quorum round carry a 64-handler burst).
const DefaultMaxBufferedBytes = 4 << 20

// Options configures an EditLog.
type Options struct {
	// Logger receives the log's events; nil logs nothing.
	Logger *zap.Logger
	// OnFatal is called once, from the goroutine that saw it, when the
	// first journal failure makes the log permanently failed. The
	// NameNode stops serving (Hadoop terminates). It is called without
	// any EditLog lock held, so it may call Close.
	OnFatal func(error)
	// MaxBufferedBytes bounds the op bytes of the forming batch; a Log
	// that would exceed it blocks until the batch is flushed (it starts
	// the flush itself if none is in flight). <= 0 means
	// DefaultMaxBufferedBytes.
	MaxBufferedBytes int
}

type state int

const (
	stateOpen    state = iota // reading; not writing
	stateWriting              // a segment is open
	stateClosed
)

// batch is a run of logged edits: ops of txids first, first+1, ...,
// stored back to back in data, op i ending at ends[i].
type batch struct {
	first int64
	data  []byte
	ends  []int
}

func (b *batch) len() int    { return len(b.ends) }
func (b *batch) last() int64 { return b.first + int64(len(b.ends)) - 1 }
func (b *batch) op(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]]
}
func (b *batch) reset(first int64) {
	b.first, b.data, b.ends = first, b.data[:0], b.ends[:0]
}

// EditLog assigns txids to the namesystem's edits, writes them to a
// Journal with group commit, and tells callers when their edits are
// durable. See the package documentation for the durability order.
//
// Safe for concurrent use.
type EditLog struct {
	j       Journal
	log     *zap.Logger
	onFatal func(error)
	maxBuf  int

	// ioCtx bounds journal I/O; Close cancels it. A caller's context only
	// bounds its own wait, never a flush other callers depend on (a
	// cancelled journal write would fail the log for everyone).
	ioCtx    context.Context
	ioCancel context.CancelFunc

	// fatalPending is set once, with mu.failed, and cleared by the one
	// fireFatal that calls OnFatal; an atomic so that the check after
	// every call takes no lock.
	fatalPending atomic.Bool

	mu struct {
		sync.Mutex
		state state
		// seg is the open segment (stateWriting), segFirst its first
		// txid. Only the goroutine that set flushing (or rolling) uses seg
		// outside mu.
		seg      SegmentWriter
		segFirst int64
		// logged is the last txid assigned by Log; synced the last txid
		// the journal acknowledged durable; flushedTo the last txid of the
		// flush in flight (== synced when flushing is false).
		// Invariant: synced <= flushedTo <= logged.
		// Invariant: segFirst-1 <= synced while writing.
		// synced never decreases, and never changes once failed is set.
		logged, synced, flushedTo int64
		flushing                  bool
		// forming holds the edits flushedTo+1 .. logged.
		// Invariant (until failed or closed): forming.first ==
		// flushedTo+1 and forming.last() == logged. Afterwards Log only
		// counts txids and drops ops.
		forming, spare batch
		// rolling blocks Log while Roll or Close switch segments.
		rolling bool
		// failed is the latch: once set (a *journalFailedError) it never
		// changes, and no Sync succeeds again.
		failed error
		// flushes counts journal syncs (metrics, tests).
		flushes int64
		// changed is closed and replaced whenever the fields above change
		// in a way a waiter may care about.
		changed chan struct{}
	}
}

// Open returns an EditLog over j, ready to read (ReadFrom) or to be
// recovered (Recover) and written (StartWriting). The EditLog owns j and
// closes it in Close.
func Open(j Journal, opts Options) (*EditLog, error) {
	if j == nil {
		return nil, errors.New("editlog: nil journal")
	}
	l := &EditLog{j: j, log: opts.Logger, onFatal: opts.OnFatal, maxBuf: opts.MaxBufferedBytes}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if l.maxBuf <= 0 {
		l.maxBuf = DefaultMaxBufferedBytes
	}
	l.ioCtx, l.ioCancel = context.WithCancel(context.Background())
	l.mu.changed = make(chan struct{})
	return l, nil
}

// Journal returns the journal the log writes to.
func (l *EditLog) Journal() Journal { return l.j }

// Recover prepares the journal for this writer (see Journal.Recover).
// Call it before the last ReadFrom that catches up, then StartWriting
// after the last txid read.
func (l *EditLog) Recover(ctx context.Context) error {
	l.mu.Lock()
	st := l.mu.state
	l.mu.Unlock()
	if st != stateOpen {
		return fmt.Errorf("editlog: recover while %s", st)
	}
	return l.j.Recover(ctx)
}

// ReadFrom replays every durable edit from fromTxID on (finalized and
// in-progress segments) into fn, in txid order, and returns the last txid
// read (fromTxID-1 if none). Gaps and corruption are errors naming the
// segment; an error from fn stops the replay and is returned. Used at
// startup and by the standby's tailer.
func (l *EditLog) ReadFrom(ctx context.Context, fromTxID int64, fn func(txid int64, op []byte) error) (int64, error) {
	if fromTxID < 1 {
		return 0, fmt.Errorf("editlog: read from txid %d", fromTxID)
	}
	next := fromTxID
	last, err := l.j.ReadFrom(ctx, fromTxID, func(txid int64, op []byte) error {
		if txid != next {
			return fmt.Errorf("%w: %s returned txid %d, want %d", ErrGap, l.j, txid, next)
		}
		next++
		return fn(txid, op)
	})
	if err != nil {
		return next - 1, err
	}
	if last != next-1 {
		return next - 1, fmt.Errorf("editlog: %s reported last txid %d after %d", l.j, last, next-1)
	}
	return last, nil
}

// StartWriting opens a segment at firstTxID (one past the last txid
// replayed) and makes the log writable. The journal must have been
// recovered.
func (l *EditLog) StartWriting(ctx context.Context, firstTxID int64) error {
	if firstTxID < 1 {
		return fmt.Errorf("editlog: start writing at txid %d", firstTxID)
	}
	l.mu.Lock()
	if l.mu.state != stateOpen {
		st := l.mu.state
		l.mu.Unlock()
		return fmt.Errorf("editlog: start writing while %s", st)
	}
	l.mu.state = stateWriting // claims the log; seg is still nil
	l.mu.rolling = true
	l.mu.Unlock()

	seg, err := l.j.StartSegment(ctx, firstTxID)

	defer l.fireFatal()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.rolling = false
	l.mu.logged, l.mu.synced, l.mu.flushedTo = firstTxID-1, firstTxID-1, firstTxID-1
	l.mu.forming.reset(firstTxID)
	if err != nil {
		l.failLocked(fmt.Errorf("start segment %d on %s: %w", firstTxID, l.j, err))
		return l.mu.failed
	}
	l.mu.seg, l.mu.segFirst = seg, firstTxID
	l.broadcastLocked()
	l.log.Info("edit log writing", zap.Stringer("journal", l.j), zap.Int64("segmentTxId", firstTxID))
	return nil
}

// Log assigns the next txid to op and buffers it for the next flush. It
// does no I/O unless the forming batch is full (MaxBufferedBytes): then
// it blocks until that batch has been flushed, flushing it itself if no
// flush is in flight, so a namesystem holding its write lock cannot be
// starved by handlers that have not called Sync yet.
//
// The NameNode calls Log under its namespace write lock, so txid order is
// apply order. op is copied. Nothing is durable, and no client may see
// the change, until Sync(txid) returns nil.
//
// Log panics before StartWriting, or if op is empty or larger than
// edits.MaxOpSize (the namesystem bounds op sizes). On a failed or closed
// log it still returns a fresh txid but drops op: no Sync can succeed.
func (l *EditLog) Log(op []byte) int64 {
	if len(op) == 0 || len(op) > edits.MaxOpSize {
		panic(fmt.Sprintf("editlog: op of %d bytes", len(op)))
	}
	defer l.fireFatal()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.mu.state == stateOpen:
			panic("editlog: Log before StartWriting")
		case l.mu.failed != nil || l.mu.state == stateClosed:
			l.mu.logged++
			return l.mu.logged
		case l.mu.rolling:
			l.waitLocked(nil)
			continue
		case len(l.mu.forming.data) > 0 && len(l.mu.forming.data)+len(op) > l.maxBuf:
			if !l.mu.flushing {
				l.flushLocked()
			} else {
				l.waitLocked(nil)
			}
			continue
		}
		break
	}
	l.mu.logged++
	f := &l.mu.forming
	f.data = append(f.data, op...)
	f.ends = append(f.ends, len(f.data))
	return l.mu.logged
}

// Sync returns nil once txid and every txid before it are durable on the
// journal. It is group commit: if no flush is in flight, the caller
// flushes the whole forming batch (every edit logged so far) in one
// journal sync; otherwise it waits for the flush in flight and, if that
// does not cover txid, for the next one, which some waiter starts. So at
// most one flush is in flight while the next batch forms.
//
// ctx bounds only waiting: a caller that started a flush finishes it
// (other callers depend on it; journal timeouts bound it).
//
// After a journal failure every Sync, pending or future, returns an error
// wrapping ErrJournalFailed and the cause, even for txids synced before.
func (l *EditLog) Sync(ctx context.Context, txid int64) error {
	defer l.fireFatal()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.mu.failed != nil:
			return l.mu.failed
		case l.mu.state == stateWriting && txid <= l.mu.synced:
			return nil
		case l.mu.state == stateClosed:
			if txid <= l.mu.synced {
				return nil
			}
			return ErrClosed
		case l.mu.state != stateWriting:
			return fmt.Errorf("editlog: sync to txid %d before StartWriting", txid)
		case txid > l.mu.logged:
			return fmt.Errorf("editlog: sync to txid %d, but only %d was logged", txid, l.mu.logged)
		case !l.mu.flushing && !l.mu.rolling:
			l.flushLocked()
		default:
			if err := l.waitLocked(ctx); err != nil {
				return err
			}
		}
	}
}

// WaitSynced is Sync for readers: a read that would return a change made
// by txid calls it first, so no client observes state that is not
// durable. It flushes if needed, like Sync.
func (l *EditLog) WaitSynced(ctx context.Context, txid int64) error {
	return l.Sync(ctx, txid)
}

// SyncedTxID is the last txid known durable.
func (l *EditLog) SyncedTxID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.synced
}

// LastLoggedTxID is the last txid Log assigned.
func (l *EditLog) LastLoggedTxID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.logged
}

// SegmentTxID is the first txid of the open segment (0 if not writing).
func (l *EditLog) SegmentTxID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.state != stateWriting {
		return 0
	}
	return l.mu.segFirst
}

// Flushes is the number of journal syncs so far.
func (l *EditLog) Flushes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.flushes
}

// Failed returns the latched failure (wrapping ErrJournalFailed), or nil.
func (l *EditLog) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.failed
}

// Roll syncs every logged edit, finalizes the open segment and starts the
// next one, returning its first txid (-rollEdits, checkpoints). Log
// blocks meanwhile. Rolling a segment that holds no edits does nothing
// and returns its first txid. A journal failure here is fatal, like a
// failed sync.
func (l *EditLog) Roll(ctx context.Context) (int64, error) {
	defer l.fireFatal()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.mu.rolling && l.mu.failed == nil && l.mu.state == stateWriting {
		if err := l.waitLocked(ctx); err != nil {
			return 0, err
		}
	}
	if err := l.writableLocked("roll"); err != nil {
		return 0, err
	}
	l.mu.rolling = true
	defer func() {
		l.mu.rolling = false
		l.broadcastLocked()
	}()
	if err := l.drainLocked(ctx); err != nil {
		return 0, err
	}
	first, last := l.mu.segFirst, l.mu.logged
	if last < first {
		return first, nil
	}
	if err := l.switchSegmentLocked(first, last, true); err != nil {
		return 0, err
	}
	l.log.Info("rolled edit log", zap.Int64("finalized", first), zap.Int64("last", last), zap.Int64("segmentTxId", last+1))
	return last + 1, nil
}

// Purge removes finalized segments that end before minTxIDToKeep (after a
// checkpoint). A failure is returned, not latched.
func (l *EditLog) Purge(ctx context.Context, minTxIDToKeep int64) error {
	l.mu.Lock()
	if l.mu.failed != nil {
		defer l.mu.Unlock()
		return l.mu.failed
	}
	if l.mu.state == stateClosed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.mu.state == stateWriting && minTxIDToKeep > l.mu.segFirst {
		// Never purge the open segment.
		minTxIDToKeep = l.mu.segFirst
	}
	l.mu.Unlock()
	return l.j.Purge(ctx, minTxIDToKeep)
}

// Close syncs every logged edit, finalizes the open segment if it holds
// any, and closes the journal. Pending Syncs return nil if their txid got
// synced, ErrClosed otherwise. A failed log closes without writing.
func (l *EditLog) Close() error {
	defer l.fireFatal()
	l.mu.Lock()
	for l.mu.rolling && l.mu.failed == nil && l.mu.state == stateWriting {
		l.waitLocked(nil)
	}
	var err error
	if l.mu.state == stateClosed {
		l.mu.Unlock()
		return nil
	}
	if l.mu.state == stateWriting && l.mu.failed == nil {
		l.mu.rolling = true
		err = l.drainLocked(nil)
		if err == nil && l.mu.logged >= l.mu.segFirst {
			err = l.switchSegmentLocked(l.mu.segFirst, l.mu.logged, false)
		}
	}
	if l.mu.seg != nil {
		l.mu.seg.Close() // abandoned: stays in progress for recovery
		l.mu.seg = nil
	}
	l.mu.state = stateClosed
	l.mu.rolling = false
	l.broadcastLocked()
	l.mu.Unlock()
	l.ioCancel()
	if cerr := l.j.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *EditLog) writableLocked(op string) error {
	switch {
	case l.mu.failed != nil:
		return l.mu.failed
	case l.mu.state == stateClosed:
		return ErrClosed
	case l.mu.state != stateWriting:
		return fmt.Errorf("editlog: %s before StartWriting", op)
	}
	return nil
}

// drainLocked flushes until every logged edit is synced. The caller set
// rolling, so nothing is logged meanwhile.
func (l *EditLog) drainLocked(ctx context.Context) error {
	for l.mu.synced < l.mu.logged {
		if l.mu.failed != nil {
			return l.mu.failed
		}
		if !l.mu.flushing {
			l.flushLocked()
			continue
		}
		if err := l.waitLocked(ctx); err != nil {
			return err
		}
	}
	return l.mu.failed
}

// switchSegmentLocked finalizes the open segment [first, last], all of it
// synced, and starts the next one if next is set. The caller set rolling.
// mu is released during the journal calls.
func (l *EditLog) switchSegmentLocked(first, last int64, next bool) error {
	l.mu.seg = nil
	l.mu.Unlock()
	err := l.j.FinalizeSegment(l.ioCtx, first, last)
	if err != nil {
		err = fmt.Errorf("finalize segment %d-%d on %s: %w", first, last, l.j, err)
	}
	var seg SegmentWriter
	if err == nil && next {
		seg, err = l.j.StartSegment(l.ioCtx, last+1)
		if err != nil {
			err = fmt.Errorf("start segment %d on %s: %w", last+1, l.j, err)
		}
	}
	l.mu.Lock()
	if err != nil {
		l.failLocked(err)
		return l.mu.failed
	}
	if next {
		l.mu.seg, l.mu.segFirst = seg, last+1
	}
	return nil
}

// flushLocked writes the forming batch to the journal and syncs it. The
// caller holds mu and saw !flushing && !rolling (or set rolling itself);
// mu is released during the I/O, and flushing marks the flush in flight
// so that nobody else touches seg meanwhile.
func (l *EditLog) flushLocked() {
	b := l.mu.forming
	if b.len() == 0 {
		return
	}
	l.mu.forming = l.mu.spare
	l.mu.forming.reset(b.last() + 1)
	l.mu.flushing = true
	l.mu.flushedTo = b.last()
	l.mu.flushes++
	seg := l.mu.seg
	l.mu.Unlock()

	var err error
	for i := 0; i < b.len() && err == nil; i++ {
		err = seg.Append(b.first+int64(i), b.op(i))
	}
	if err == nil {
		err = seg.Sync(l.ioCtx, b.last())
	}

	l.mu.Lock()
	l.mu.flushing = false
	l.mu.spare = b
	if err != nil {
		l.failLocked(fmt.Errorf("sync txids %d-%d to %s: %w", b.first, b.last(), l.j, err))
	} else if l.mu.failed == nil {
		if b.last() < l.mu.synced {
			panic(fmt.Sprintf("editlog: synced went back from %d to %d", l.mu.synced, b.last()))
		}
		l.mu.synced = b.last()
	}
	l.broadcastLocked()
}

// failLocked latches the first failure.
func (l *EditLog) failLocked(cause error) {
	if l.mu.failed != nil {
		return
	}
	l.mu.failed = &journalFailedError{cause: cause}
	l.fatalPending.Store(true)
	// Drop what can never be acknowledged.
	l.mu.forming.data, l.mu.forming.ends = nil, nil
	l.log.Error("edit log failed; no edit will be acknowledged any more", zap.Error(cause))
	l.broadcastLocked()
}

// fireFatal calls OnFatal once after a failure, without mu held. Public
// methods defer it before locking.
func (l *EditLog) fireFatal() {
	if !l.fatalPending.Load() || !l.fatalPending.CompareAndSwap(true, false) {
		return
	}
	l.mu.Lock()
	err := l.mu.failed
	l.mu.Unlock()
	if l.onFatal != nil {
		l.onFatal(err)
	}
}

func (l *EditLog) broadcastLocked() {
	close(l.mu.changed)
	l.mu.changed = make(chan struct{})
}

// waitLocked releases mu until the state changes or ctx (if not nil) is
// done.
func (l *EditLog) waitLocked(ctx context.Context) error {
	ch := l.mu.changed
	l.mu.Unlock()
	defer l.mu.Lock()
	if ctx == nil {
		<-ch
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s state) String() string {
	switch s {
	case stateOpen:
		return "open"
	case stateWriting:
		return "writing"
	case stateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", int(s))
}
