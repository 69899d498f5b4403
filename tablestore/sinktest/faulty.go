package sinktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hdfsha/hdfsha/tablestore"
)

// ErrDown is wrapped by every error a Faulty returns while it is down.
var ErrDown = errors.New("sinktest: sink is down")

// Faulty wraps a sink for outage tests: while down (SetDown(true)) every
// call fails with an error wrapping ErrDown, without reaching the wrapped
// sink; otherwise calls pass through. It counts calls and failures. Close
// always reaches the wrapped sink, so a test never leaks it. Safe for
// concurrent use.
type Faulty struct {
	s        tablestore.Sink
	down     atomic.Bool
	calls    atomic.Int64
	failures atomic.Int64
}

var _ tablestore.Sink = (*Faulty)(nil)

// NewFaulty wraps s, up.
func NewFaulty(s tablestore.Sink) *Faulty { return &Faulty{s: s} }

// SetDown takes the sink down (true) or brings it back (false).
func (f *Faulty) SetDown(down bool) { f.down.Store(down) }

// Down reports whether the sink is down.
func (f *Faulty) Down() bool { return f.down.Load() }

// Calls is the number of calls made (String excluded), failed or not.
func (f *Faulty) Calls() int64 { return f.calls.Load() }

// Failures is the number of calls that failed because the sink was down.
func (f *Faulty) Failures() int64 { return f.failures.Load() }

// Unwrap returns the wrapped sink.
func (f *Faulty) Unwrap() tablestore.Sink { return f.s }

// enter counts a call and returns the outage error when down.
func (f *Faulty) enter(op string) error {
	f.calls.Add(1)
	if !f.down.Load() {
		return nil
	}
	f.failures.Add(1)
	return fmt.Errorf("%s %s: %w", f.s, op, ErrDown)
}

func (f *Faulty) PutInfo(ctx context.Context, info tablestore.Info) error {
	if err := f.enter("PutInfo"); err != nil {
		return err
	}
	return f.s.PutInfo(ctx, info)
}

func (f *Faulty) GetInfo(ctx context.Context) (tablestore.Info, error) {
	if err := f.enter("GetInfo"); err != nil {
		return tablestore.Info{}, err
	}
	return f.s.GetInfo(ctx)
}

func (f *Faulty) PutEdits(ctx context.Context, b tablestore.Batch) error {
	if err := f.enter("PutEdits"); err != nil {
		return err
	}
	return f.s.PutEdits(ctx, b)
}

func (f *Faulty) LastTxID(ctx context.Context) (int64, error) {
	if err := f.enter("LastTxID"); err != nil {
		return 0, err
	}
	return f.s.LastTxID(ctx)
}

func (f *Faulty) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	if err := f.enter("ReadEdits"); err != nil {
		return err
	}
	return f.s.ReadEdits(ctx, from, fn)
}

func (f *Faulty) PutImage(ctx context.Context, txid int64, r io.Reader) error {
	if err := f.enter("PutImage"); err != nil {
		return err
	}
	return f.s.PutImage(ctx, txid, r)
}

func (f *Faulty) Images(ctx context.Context) ([]int64, error) {
	if err := f.enter("Images"); err != nil {
		return nil, err
	}
	return f.s.Images(ctx)
}

func (f *Faulty) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	if err := f.enter("OpenImage"); err != nil {
		return nil, err
	}
	return f.s.OpenImage(ctx, txid)
}

// String names the wrapped sink.
func (f *Faulty) String() string { return f.s.String() }

// Close closes the wrapped sink, even while down.
func (f *Faulty) Close() error {
	f.calls.Add(1)
	return f.s.Close()
}
