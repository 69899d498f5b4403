package editlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

var errInjected = errors.New("injected journal failure")

// fakeJournal is an in-memory Journal that counts syncs and can fail or
// block them. durable holds the ops of synced txids.
type fakeJournal struct {
	syncs atomic.Int64
	// durableTo is the last txid made durable.
	durableTo atomic.Int64
	// failSyncs fails the next n syncs.
	failSyncs atomic.Int32
	// syncHook, if set, runs at the start of every Sync (count n from 1).
	syncHook func(n int64)

	mu        sync.Mutex
	durable   map[int64][]byte
	open      *fakeSegment
	finalized [][2]int64
	purged    int64
	closed    bool
}

func newFakeJournal() *fakeJournal { return &fakeJournal{durable: map[int64][]byte{}} }

func (j *fakeJournal) String() string                    { return "fake journal" }
func (j *fakeJournal) Recover(ctx context.Context) error { return nil }

func (j *fakeJournal) StartSegment(ctx context.Context, txid int64) (SegmentWriter, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.open != nil {
		return nil, fmt.Errorf("segment %d open", j.open.first)
	}
	j.open = &fakeSegment{j: j, first: txid, next: txid, pending: map[int64][]byte{}}
	return j.open, nil
}

func (j *fakeJournal) FinalizeSegment(ctx context.Context, first, last int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.open == nil || j.open.first != first || j.open.next != last+1 || j.durableTo.Load() < last {
		return fmt.Errorf("fake: bad finalize %d-%d", first, last)
	}
	j.open = nil
	j.finalized = append(j.finalized, [2]int64{first, last})
	return nil
}

func (j *fakeJournal) Purge(ctx context.Context, min int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.purged = min
	return nil
}

func (j *fakeJournal) ReadFrom(ctx context.Context, from int64, fn func(int64, []byte) error) (int64, error) {
	last := from - 1
	for {
		j.mu.Lock()
		op, ok := j.durable[last+1]
		j.mu.Unlock()
		if !ok {
			return last, nil
		}
		if err := fn(last+1, op); err != nil {
			return last, err
		}
		last++
	}
}

func (j *fakeJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	return nil
}

func (j *fakeJournal) ops(from, to int64) [][]byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out [][]byte
	for t := from; t <= to; t++ {
		out = append(out, j.durable[t])
	}
	return out
}

type fakeSegment struct {
	j       *fakeJournal
	first   int64
	next    int64
	pending map[int64][]byte
	failed  error
}

func (s *fakeSegment) Append(txid int64, op []byte) error {
	if txid != s.next {
		return fmt.Errorf("fake: append %d, want %d", txid, s.next)
	}
	s.pending[txid] = append([]byte(nil), op...)
	s.next++
	return nil
}

func (s *fakeSegment) Sync(ctx context.Context, upTo int64) error {
	n := s.j.syncs.Add(1)
	if s.j.syncHook != nil {
		s.j.syncHook(n)
	}
	if s.failed != nil {
		return s.failed
	}
	if s.j.failSyncs.Load() > 0 {
		s.j.failSyncs.Add(-1)
		return errInjected // once: the journal "recovers" for later calls
	}
	if upTo != s.next-1 {
		return fmt.Errorf("fake: sync to %d, appended %d", upTo, s.next-1)
	}
	s.j.mu.Lock()
	for t, op := range s.pending {
		s.j.durable[t] = op
	}
	s.j.mu.Unlock()
	clear(s.pending)
	s.j.durableTo.Store(upTo)
	return nil
}

func (s *fakeSegment) Close() error { return nil }
