package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
	"github.com/hdfsha/hdfsha/tablestore/ots"
)

// openSink opens the sink cfg names (cfg.Configured() must be true).
func openSink(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error) {
	switch cfg.Kind {
	case "file":
		s, err := filesink.Open(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("namenode: mirror %s: %w", cfg.URI(), err)
		}
		return s, nil
	case "ots":
		s, err := ots.Open(ctx, cfg.OTS)
		if err != nil {
			return nil, fmt.Errorf("namenode: mirror %s: %w", cfg.URI(), err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("namenode: no mirror sink configured")
}

// errSinkClosed: a call on a retrying sink after Close.
var errSinkClosed = errors.New("namenode: mirror sink closed")

// retryingSink opens the configured sink on first use, and again on every
// later call while opening fails: a sink that is unreachable when the
// NameNode starts (an NFS mount not there yet, Tablestore down) is an
// outage like any other. The shipper retries it with backoff and catches
// up once it opens; the NameNode never waits for it at Start.
type retryingSink struct {
	cfg  tablestore.Config
	open func(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error)
	// onOpen is told the result of every open attempt (nil: opened).
	onOpen func(error)

	mu struct {
		sync.Mutex
		s      tablestore.Sink
		closed bool
	}
}

var _ tablestore.Sink = (*retryingSink)(nil)

func newRetryingSink(cfg tablestore.Config, open func(context.Context, tablestore.Config) (tablestore.Sink, error), onOpen func(error)) *retryingSink {
	return &retryingSink{cfg: cfg, open: open, onOpen: onOpen}
}

// get returns the open sink, opening it if needed. Opens are serialized:
// concurrent callers wait for one attempt.
func (r *retryingSink) get(ctx context.Context) (tablestore.Sink, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return nil, errSinkClosed
	}
	if r.mu.s != nil {
		return r.mu.s, nil
	}
	s, err := r.open(ctx, r.cfg)
	if r.onOpen != nil {
		r.onOpen(err)
	}
	if err != nil {
		return nil, err
	}
	r.mu.s = s
	return s, nil
}

func (r *retryingSink) PutInfo(ctx context.Context, info tablestore.Info) error {
	s, err := r.get(ctx)
	if err != nil {
		return err
	}
	return s.PutInfo(ctx, info)
}

func (r *retryingSink) GetInfo(ctx context.Context) (tablestore.Info, error) {
	s, err := r.get(ctx)
	if err != nil {
		return tablestore.Info{}, err
	}
	return s.GetInfo(ctx)
}

func (r *retryingSink) PutEdits(ctx context.Context, b tablestore.Batch) error {
	s, err := r.get(ctx)
	if err != nil {
		return err
	}
	return s.PutEdits(ctx, b)
}

func (r *retryingSink) LastTxID(ctx context.Context) (int64, error) {
	s, err := r.get(ctx)
	if err != nil {
		return 0, err
	}
	return s.LastTxID(ctx)
}

func (r *retryingSink) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	s, err := r.get(ctx)
	if err != nil {
		return err
	}
	return s.ReadEdits(ctx, from, fn)
}

func (r *retryingSink) PutImage(ctx context.Context, txid int64, rd io.Reader) error {
	s, err := r.get(ctx)
	if err != nil {
		return err
	}
	return s.PutImage(ctx, txid, rd)
}

func (r *retryingSink) Images(ctx context.Context) ([]int64, error) {
	s, err := r.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Images(ctx)
}

func (r *retryingSink) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	s, err := r.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.OpenImage(ctx, txid)
}

// String names the configured sink (the same before and after it opens).
func (r *retryingSink) String() string { return r.cfg.URI() }

// Close closes the sink if it was opened; later calls fail.
func (r *retryingSink) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return nil
	}
	r.mu.closed = true
	if r.mu.s != nil {
		return r.mu.s.Close()
	}
	return nil
}
