package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Daemon is anything a test starts and must stop: a JournalNode, a NameNode, a ZKFC, a
// DataNode, a proxy. Real daemons satisfy it directly or through a small adapter.
type Daemon interface {
	// Start brings the daemon up and returns once it serves (its ports are bound), or with
	// the reason it could not. ctx bounds the start-up only; the daemon runs until Stop.
	Start(ctx context.Context) error
	// Stop shuts the daemon down and returns only after every goroutine it started has
	// exited and its ports are closed. Stop must be safe to call once after a failed Start.
	Stop() error
}

// Group starts daemons for one test and stops whatever still runs when the test ends, in
// reverse start order (DataNodes before NameNodes before JournalNodes, when started in the
// natural order). A test can stop a member early (kill the active NameNode) and start a
// new daemon under the same name.
//
// Group is safe for use from several goroutines.
type Group struct {
	t  testing.TB
	mu struct {
		sync.Mutex
		// running holds started, not yet stopped daemons in start order.
		// Invariant: names are unique.
		running []member
	}
}

type member struct {
	name string
	d    Daemon
}

// NewGroup returns an empty group whose members are stopped in t.Cleanup. A member whose
// Stop fails fails the test.
func NewGroup(t testing.TB) *Group {
	g := &Group{t: t}
	t.Cleanup(g.stopAll)
	return g
}

// Start starts d and, if that succeeds, registers it under name. A failed Start is
// followed by Stop, so a half-started daemon releases what it took.
func (g *Group) Start(ctx context.Context, name string, d Daemon) error {
	g.mu.Lock()
	for _, m := range g.mu.running {
		if m.name == name {
			g.mu.Unlock()
			return fmt.Errorf("testcluster: daemon %q is already running", name)
		}
	}
	g.mu.Unlock()

	if err := d.Start(ctx); err != nil {
		if stopErr := d.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop after failed start: %w", stopErr))
		}
		return fmt.Errorf("testcluster: start %s: %w", name, err)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.running = append(g.mu.running, member{name: name, d: d})
	return nil
}

// MustStart is Start with the test's context that fails the test on error.
func (g *Group) MustStart(name string, d Daemon) {
	g.t.Helper()
	if err := g.Start(g.t.Context(), name, d); err != nil {
		g.t.Fatal(err)
	}
}

// Stop stops the named daemon and forgets it.
func (g *Group) Stop(name string) error {
	g.mu.Lock()
	var d Daemon
	for i, m := range g.mu.running {
		if m.name == name {
			d = m.d
			g.mu.running = append(g.mu.running[:i], g.mu.running[i+1:]...)
			break
		}
	}
	g.mu.Unlock()
	if d == nil {
		return fmt.Errorf("testcluster: no running daemon %q", name)
	}
	if err := d.Stop(); err != nil {
		return fmt.Errorf("testcluster: stop %s: %w", name, err)
	}
	return nil
}

// Get returns the running daemon registered under name.
func (g *Group) Get(name string) (Daemon, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.mu.running {
		if m.name == name {
			return m.d, true
		}
	}
	return nil, false
}

// Running lists the names of running daemons in start order.
func (g *Group) Running() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make([]string, len(g.mu.running))
	for i, m := range g.mu.running {
		names[i] = m.name
	}
	return names
}

func (g *Group) stopAll() {
	g.mu.Lock()
	running := g.mu.running
	g.mu.running = nil
	g.mu.Unlock()
	for i := len(running) - 1; i >= 0; i-- {
		if err := running[i].d.Stop(); err != nil {
			g.t.Errorf("testcluster: stop %s: %v", running[i].name, err)
		}
	}
}
