package namesystem

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// retryCache is Hadoop's RetryCache for at-most-once calls, keyed by
// (client id, call id).
type retryCache struct {
	expiry time.Duration

	mu      sync.Mutex
	entries map[retryKey]*retryEntry
	// order is insertion order for expiry.
	order []retryKey
}

type retryKey struct {
	client string
	call   int32
}

type retryEntry struct {
	done    chan struct{}
	resp    proto.Message // nil for a replayed entry
	err     error
	ok      bool // finished successfully
	expires time.Time
}

func newRetryCache(expiry time.Duration) *retryCache {
	return &retryCache{expiry: expiry, entries: map[retryKey]*retryEntry{}}
}

// maxRetryEntries bounds the cache (Hadoop bounds it by
// dfs.namenode.retrycache.heap.percent): past it the oldest finished
// entries go even before they expire.
const maxRetryEntries = 1 << 20

func (c *retryCache) expireLocked(now time.Time) {
	i := 0
	for ; i < len(c.order); i++ {
		e, ok := c.entries[c.order[i]]
		full := len(c.entries) > maxRetryEntries && ok && !e.expires.IsZero()
		if ok && !full && (e.expires.IsZero() || now.Before(e.expires)) {
			break
		}
		if ok {
			delete(c.entries, c.order[i])
		}
	}
	c.order = c.order[i:]
}

// begin returns the finished entry of a retried call (wait==nil, entry set),
// or registers a new in-progress entry and returns it as mine.
func (c *retryCache) begin(ctx context.Context, k retryKey, now time.Time) (prev *retryEntry, mine *retryEntry, err error) {
	for {
		c.mu.Lock()
		c.expireLocked(now)
		e, ok := c.entries[k]
		if !ok {
			e = &retryEntry{done: make(chan struct{})}
			c.entries[k] = e
			c.order = append(c.order, k)
			c.mu.Unlock()
			return nil, e, nil
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if e.ok {
			return e, nil, nil
		}
		// The first attempt failed: this one runs again (Hadoop removes
		// failed entries); loop to register.
	}
}

// finish completes an entry. As in Hadoop's RetryCache, only successes
// are remembered: a retry of a failed call runs again.
func (c *retryCache) finish(k retryKey, e *retryEntry, resp proto.Message, err error, now time.Time) {
	c.mu.Lock()
	e.resp, e.err, e.ok = resp, err, err == nil
	e.expires = now.Add(c.expiry)
	if !e.ok {
		delete(c.entries, k)
	}
	c.mu.Unlock()
	close(e.done)
}

// addReplayed records a finished call from a replayed op.
func (c *retryCache) addReplayed(op *editpb.Op, now time.Time) {
	if len(op.RpcClientId) == 0 {
		return
	}
	k := retryKey{string(op.RpcClientId), op.RpcCallId}
	e := &retryEntry{done: make(chan struct{}), ok: true, expires: now.Add(c.expiry)}
	close(e.done)
	c.mu.Lock()
	if _, ok := c.entries[k]; !ok {
		c.order = append(c.order, k)
	}
	c.entries[k] = e
	c.mu.Unlock()
}

func (c *retryCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// atMostOnce runs fn once per (client id, call id): a retry gets the first
// answer. replayed builds the answer for an entry rebuilt from edits.
func atMostOnce[Resp proto.Message](s *Namesystem, ctx context.Context, fn func() (Resp, error), replayed func() (Resp, error)) (Resp, error) {
	var zero Resp
	// Hadoop checks the category before the retry cache: a standby
	// answers a retry with StandbyException, never from its cache.
	if err := s.checkOperation(ha.Write); err != nil {
		return zero, err
	}
	caller, ok := rpc.CallerFromContext(ctx)
	if !ok || len(caller.ClientID) == 0 || caller.CallID < 0 {
		return fn()
	}
	k := retryKey{string(caller.ClientID), caller.CallID}
	prev, mine, err := s.cache.begin(ctx, k, s.cfg.Now())
	if err != nil {
		return zero, err
	}
	if prev != nil {
		if prev.err != nil {
			return zero, prev.err
		}
		if prev.resp == nil {
			return replayed()
		}
		return prev.resp.(Resp), nil
	}
	resp, err := fn()
	var stored proto.Message
	if err == nil {
		stored = resp
	}
	s.cache.finish(k, mine, stored, err, s.cfg.Now())
	return resp, err
}
