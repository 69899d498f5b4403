package client

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// leaseRenewer renews the client's lease on the NameNode while it has files open for
// writing, as Hadoop's LeaseRenewer does: one goroutine per Client, started when the
// first file opens for write and stopped when the last one closes (or the Client
// closes). A failed renewal is logged and retried a second later; the NameNode's hard
// limit (an hour) is far away.
type leaseRenewer struct {
	renew    func(ctx context.Context) error
	sleep    func(ctx context.Context, d time.Duration) error
	interval time.Duration
	log      *zap.Logger

	mu struct {
		sync.Mutex
		open   int // files open for writing
		cancel context.CancelFunc
		done   chan struct{}
		closed bool
	}
}

// leaseRetryInterval is how soon a failed renewal is tried again (Hadoop's renewer
// wakes up every second).
const leaseRetryInterval = time.Second

func newLeaseRenewer(renew func(ctx context.Context) error, sleep func(ctx context.Context, d time.Duration) error, interval time.Duration, log *zap.Logger) *leaseRenewer {
	return &leaseRenewer{renew: renew, sleep: sleep, interval: interval, log: log}
}

// acquire records a file opened for writing and starts the renewer if it is the first.
// It returns false when the renewer is closed (the Client was closed).
func (l *leaseRenewer) acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return false
	}
	l.mu.open++
	if l.mu.open == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		l.mu.cancel, l.mu.done = cancel, done
		go l.run(ctx, done)
	}
	return true
}

// release records a file closed (or aborted) and stops the renewer after the last one.
func (l *leaseRenewer) release() {
	l.mu.Lock()
	if l.mu.open == 0 {
		l.mu.Unlock()
		return
	}
	l.mu.open--
	var stop func()
	if l.mu.open == 0 {
		stop = l.stopLocked()
	}
	l.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// close stops the renewer for good. A nil renewer (a Client not made by New) has
// nothing to stop.
func (l *leaseRenewer) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.mu.closed = true
	l.mu.open = 0
	stop := l.stopLocked()
	l.mu.Unlock()
	stop()
}

// stopLocked cancels the running goroutine and returns a func that waits for it.
func (l *leaseRenewer) stopLocked() func() {
	cancel, done := l.mu.cancel, l.mu.done
	l.mu.cancel, l.mu.done = nil, nil
	return func() {
		if cancel != nil {
			cancel()
			<-done
		}
	}
}

func (l *leaseRenewer) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	wait := l.interval
	var failingSince time.Time
	for {
		if err := l.sleep(ctx, wait); err != nil {
			return
		}
		err := l.renew(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failingSince = time.Time{}
			wait = l.interval
			continue
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		l.log.Warn("Failed to renew lease; will retry shortly",
			zap.Duration("failing_for", time.Since(failingSince)), zap.Error(err))
		wait = min(leaseRetryInterval, l.interval)
	}
}
