package zkfcrpc

import (
	"context"
	"sync"
	"time"
)

// Attempts is the record of the local ZKFC's attempts to become active and
// of its NameNode's health, shared between the ZKFC's driver (which writes
// it) and a gracefulFailover call waiting on it: the Local methods
// Healthy, AttemptMark and WaitForActiveAttempt can delegate here. The
// driver calls Record for every ActiveAttempt its elector emits and
// SetHealthy on every health change. Safe for concurrent use; the zero
// value is an unhealthy record with no attempts.
type Attempts struct {
	mu      sync.Mutex
	seq     uint64
	last    ActiveAttempt
	healthy bool
	// changed is closed, and replaced, on every change.
	changed chan struct{}
}

// Record stores the outcome of an attempt to become active.
func (a *Attempts) Record(succeeded bool, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	a.last = ActiveAttempt{Succeeded: succeeded, Status: status}
	a.notifyLocked()
}

// SetHealthy records whether the health monitor's state is SERVICE_HEALTHY.
func (a *Attempts) SetHealthy(healthy bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.healthy != healthy {
		a.healthy = healthy
		a.notifyLocked()
	}
}

// Healthy reports the last SetHealthy.
func (a *Attempts) Healthy() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.healthy
}

// Mark returns a mark of the attempts recorded so far.
func (a *Attempts) Mark() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seq
}

func (a *Attempts) notifyLocked() {
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// Wait returns the latest attempt once one is recorded after mark. It
// returns nil, nil when the NameNode is (or becomes) unhealthy first or
// when timeout passes (timeout <= 0: do not wait), and ctx's error when ctx
// ends first.
func (a *Attempts) Wait(ctx context.Context, mark uint64, timeout time.Duration) (*ActiveAttempt, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		a.mu.Lock()
		if a.seq > mark {
			r := a.last
			a.mu.Unlock()
			return &r, nil
		}
		if !a.healthy || expired == nil {
			a.mu.Unlock()
			return nil, nil
		}
		if a.changed == nil {
			a.changed = make(chan struct{})
		}
		changed := a.changed
		a.mu.Unlock()
		select {
		case <-changed:
		case <-expired:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
