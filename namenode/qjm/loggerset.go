package qjm

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hdfsha/hdfsha/namenode/qjm/quorum"
)

// loggerSet is the writer's channels to every JournalNode of the journal:
// Hadoop's AsyncLoggerSet. It sends one call to every channel and waits
// for a quorum of answers.
type loggerSet struct {
	chans []*channel
	// committed is the highest txid known durable on a quorum; every
	// channel piggybacks it on writer calls.
	committed atomic.Int64
}

func (s *loggerSet) majority() int { return quorum.Majority(len(s.chans)) }

func (s *loggerSet) setEpoch(e int64) {
	for _, c := range s.chans {
		c.setEpoch(e)
	}
}

// setCommitted raises the committed txid; it never moves back.
func (s *loggerSet) setCommitted(txid int64) {
	for {
		cur := s.committed.Load()
		if txid <= cur || s.committed.CompareAndSwap(cur, txid) {
			return
		}
	}
}

func (s *loggerSet) close() {
	for _, c := range s.chans {
		c.close()
	}
}

// answers holds what each node answered to one quorum call, in node
// order; ok[i] is true for a success, err[i] set for a failure, neither
// while pending.
type answers[T any] struct {
	val []T
	ok  []bool
	err []error
}

// successes returns the nodes that succeeded.
func (a *answers[T]) successes() []int {
	var out []int
	for i, ok := range a.ok {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// quorumCall sends one call to every channel (start gets the channel and
// the notification channel the call must signal) and waits until a
// majority succeeded, or so many failed that a majority cannot, or timeout
// passes, or ctx ends. It returns the answers received so far; err is a
// *QuorumError unless a majority succeeded. Calls still pending keep
// running on their channels; their answers are ignored.
func quorumCall[T any](ctx context.Context, s *loggerSet, op string, timeout time.Duration, start func(c *channel, notify chan<- int) *future[T]) (*answers[T], error) {
	return sendAll(s, start).wait(ctx, op, timeout)
}

// pendingCall is a call sent to every channel whose answers are not
// collected yet.
type pendingCall[T any] struct {
	s      *loggerSet
	notify chan int
	futs   []*future[T]
}

// sendAll submits a call to every channel, in node order.
func sendAll[T any](s *loggerSet, start func(c *channel, notify chan<- int) *future[T]) *pendingCall[T] {
	n := len(s.chans)
	p := &pendingCall[T]{s: s, notify: make(chan int, n), futs: make([]*future[T], n)}
	for i, c := range s.chans {
		p.futs[i] = start(c, p.notify)
	}
	return p
}

// wait collects answers as quorumCall describes. It may be called once.
func (p *pendingCall[T]) wait(ctx context.Context, op string, timeout time.Duration) (*answers[T], error) {
	s, n := p.s, len(p.s.chans)
	a := &answers[T]{val: make([]T, n), ok: make([]bool, n), err: make([]error, n)}
	qc := quorum.NewCall(n)
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	qerr := func() *QuorumError {
		e := &QuorumError{Op: op, Majority: quorum.Majority(n), N: n}
		for i := range s.chans {
			if a.ok[i] {
				e.Succeeded = append(e.Succeeded, s.chans[i].addr)
			} else if a.err[i] != nil {
				e.Failures = append(e.Failures, NodeError{Node: i, Addr: s.chans[i].addr, Err: a.err[i]})
			}
		}
		return e
	}
	for {
		switch qc.Result() {
		case quorum.Reached:
			return a, nil
		case quorum.Impossible:
			return a, qerr()
		}
		select {
		case i := <-p.notify:
			v, err := p.futs[i].result()
			if err != nil {
				a.err[i] = err
				qc.Fail(i)
			} else {
				a.val[i], a.ok[i] = v, true
				qc.Succeed(i)
			}
		case <-timer:
			e := qerr()
			e.TimedOut, e.Timeout = true, timeout
			return a, e
		case <-ctx.Done():
			e := qerr()
			e.Cause = ctx.Err()
			return a, e
		}
	}
}

// allCall is quorumCall that, after reaching a quorum, keeps waiting for
// the remaining nodes until each answered or the timeout passed (for
// calls whose every answer matters: format, hasSomeData, manifests).
func allCall[T any](ctx context.Context, s *loggerSet, op string, timeout time.Duration, start func(c *channel, notify chan<- int) *future[T]) (*answers[T], error) {
	n := len(s.chans)
	notify := make(chan int, n)
	futs := make([]*future[T], n)
	for i, c := range s.chans {
		futs[i] = start(c, notify)
	}
	a := &answers[T]{val: make([]T, n), ok: make([]bool, n), err: make([]error, n)}
	qc := quorum.NewCall(n)
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	var stop error
	timedOut := false
loop:
	for !qc.AllAnswered() {
		select {
		case i := <-notify:
			v, err := futs[i].result()
			if err != nil {
				a.err[i] = err
				qc.Fail(i)
			} else {
				a.val[i], a.ok[i] = v, true
				qc.Succeed(i)
			}
		case <-timer:
			timedOut = true
			break loop
		case <-ctx.Done():
			stop = ctx.Err()
			break loop
		}
	}
	if qc.Result() == quorum.Reached {
		return a, nil
	}
	e := &QuorumError{Op: op, Majority: quorum.Majority(n), N: n, TimedOut: timedOut, Cause: stop}
	if timedOut {
		e.Timeout = timeout
	}
	for i := range s.chans {
		if a.ok[i] {
			e.Succeeded = append(e.Succeeded, s.chans[i].addr)
		} else if a.err[i] != nil {
			e.Failures = append(e.Failures, NodeError{Node: i, Addr: s.chans[i].addr, Err: a.err[i]})
		}
	}
	return a, e
}
