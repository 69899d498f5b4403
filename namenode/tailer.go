package namenode

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
)

// tailer is the standby's EditLogTailer: it applies what the journal
// holds after the namespace's last applied txid, over and over. A round
// that applied edits is followed by the next at once (a warm standby
// stays a few ms behind under sustained writes); an empty round sleeps
// period, doubling up to backoffMax (Hadoop's exponential backoff) while
// the journal stays idle. A failed round (journal unreachable, gap) is
// logged and retried after the same sleep; the error is kept for
// monitorHealth. The NameNode owns it: startTailerLocked, stopTailerLocked.
type tailer struct {
	sys                *namesystem.Namesystem
	el                 *editlog.EditLog
	period, backoffMax time.Duration
	log                *zap.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu struct {
		sync.Mutex
		// err is the last round's error (nil after a good round).
		err error
	}
}

// nextSleep is the pause after a round: none after a round that applied
// edits, else the previous pause doubled (starting at period, at most
// backoffMax; no backoff when backoffMax <= period).
func nextSleep(prev, period, backoffMax time.Duration, applied int) time.Duration {
	if applied > 0 {
		return 0
	}
	if backoffMax <= period {
		return period
	}
	if prev <= 0 {
		return period
	}
	return min(prev*2, backoffMax)
}

func (t *tailer) run(ctx context.Context) {
	defer close(t.done)
	var sleep time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		_, applied, err := t.sys.Tail(ctx, t.el)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		prev := t.mu.err
		t.mu.err = err
		t.mu.Unlock()
		if err != nil {
			if errors.Is(err, namesystem.ErrActive) {
				return
			}
			if prev == nil {
				t.log.Warn("tailing edits failed; retrying", zap.Error(err))
			}
		} else if prev != nil {
			t.log.Info("tailing edits again")
		}
		sleep = nextSleep(sleep, t.period, t.backoffMax, applied)
		if sleep == 0 {
			continue
		}
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// lastError is the last round's error, nil while tailing works.
func (t *tailer) lastError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.err
}

// startTailerLocked starts tailing with n.reader (the caller holds trMu).
func (n *NameNode) startTailerLocked() {
	if n.tailer != nil || n.reader == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &tailer{sys: n.namesystem(), el: n.reader, period: n.cfg.TailPeriod, backoffMax: n.cfg.TailBackoffMax,
		log: n.log.Named("tailer"), cancel: cancel, done: make(chan struct{})}
	n.tailer = t
	n.tailerp.Store(t)
	go t.run(ctx)
}

// stopTailerLocked stops the tailer and waits for its round (the caller
// holds trMu). An edit being applied finishes; the rest of the round is
// abandoned, and the next reader starts after the last applied txid.
func (n *NameNode) stopTailerLocked() {
	t := n.tailer
	if t == nil {
		return
	}
	t.cancel()
	<-t.done
	n.tailer = nil
	n.tailerp.Store(nil)
}
