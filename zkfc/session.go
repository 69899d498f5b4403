package zkfc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/zkfc/elector"
)

// queue is an unbounded FIFO of actions: the driver never blocks on a
// worker that waits for ZooKeeper or a NameNode.
type queue struct {
	mu     sync.Mutex
	items  []elector.Action
	signal chan struct{}
}

func newQueue() *queue { return &queue{signal: make(chan struct{}, 1)} }

func (q *queue) push(a elector.Action) {
	q.mu.Lock()
	q.items = append(q.items, a)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop returns the next action, waiting for one; false once stop is closed.
func (q *queue) pop(stop <-chan struct{}) (elector.Action, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			a := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return a, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-stop:
			return elector.Action{}, false
		}
	}
}

// session is one ZooKeeper session the elector opened (OpenSession): its
// connection, the ZooKeeper actions to run in order, and the goroutines
// that report its events. Closing it closes the connection, which ends
// the client's goroutines, pending calls and watches.
type session struct {
	z      *ZKFC
	id     uint64
	ops    *queue
	closed chan struct{} // closed by close(): stop taking actions
	once   sync.Once
	done   chan struct{} // closed when the worker has closed the connection

	watchers sync.WaitGroup // lock watches waiting to fire

	mu   sync.Mutex
	conn *zk.Conn // nil until connected
}

// openSession starts session a.Session. The new connection waits until
// prev's connection is closed, so that the ephemeral lock prev may hold is
// gone before this session competes for it.
func (z *ZKFC) openSession(a elector.Action, prev *session) *session {
	s := &session{z: z, id: a.Session, ops: newQueue(), closed: make(chan struct{}), done: make(chan struct{})}
	var prevDone chan struct{}
	if prev != nil {
		prevDone = prev.done
	}
	timeout := a.SessionTimeout
	if timeout <= 0 {
		timeout = z.cfg.ZK.SessionTimeout
	}
	z.wg.Add(1)
	go s.run(prevDone, timeout)
	return s
}

func (s *session) close() { s.once.Do(func() { close(s.closed) }) }

func (s *session) getConn() *zk.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *session) run(prevDone <-chan struct{}, timeout time.Duration) {
	z := s.z
	defer z.wg.Done()
	defer close(s.done)
	if prevDone != nil {
		select {
		case <-prevDone:
		case <-s.closed:
			return
		case <-z.quit:
			return
		}
	}
	select {
	case <-s.closed:
		return
	case <-z.quit:
		return
	default:
	}
	conn, events, err := zk.Connect(z.cfg.ZK.Quorum, timeout, zk.WithLogger(zkLogger{z.log.Named("zookeeper")}))
	if err != nil {
		// Only a malformed server list fails here; the elector sees no
		// session and the operator sees why.
		z.log.Error("Unable to connect to ZooKeeper", zap.Error(err))
		<-s.closed
		return
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.forward(conn, events)
	}()
	defer func() {
		conn.Close() // ends the forwarder (the event channel closes) and the watches
		wg.Wait()
		s.watchers.Wait()
	}()
	stop := make(chan struct{})
	go func() {
		select {
		case <-s.closed:
		case <-z.quit:
		}
		close(stop)
	}()
	for {
		a, ok := s.ops.pop(stop)
		if !ok {
			return
		}
		s.do(conn, a)
	}
}

// forward turns the connection's session events into elector events. After
// an expiry the client would open a new session on the same connection;
// the elector opens its own instead, so nothing more is reported.
func (s *session) forward(conn *zk.Conn, events <-chan zk.Event) {
	z := s.z
	authed := false
	expired := false
	for ev := range events {
		if ev.Type != zk.EventSession || expired {
			continue
		}
		switch ev.State {
		case zk.StateHasSession:
			if !authed {
				authed = true
				for _, a := range z.cfg.ZK.Auth {
					if err := conn.AddAuth(a.Scheme, a.Auth); err != nil {
						z.log.Error("ZooKeeper authentication failed", zap.String("scheme", a.Scheme), zap.Error(err))
					}
				}
			}
			z.post(elector.SessionConnected{Session: s.id})
		case zk.StateDisconnected:
			z.post(elector.SessionDisconnected{Session: s.id})
		case zk.StateExpired:
			expired = true
			z.post(elector.SessionExpired{Session: s.id})
		case zk.StateAuthFailed:
			z.log.Error("ZooKeeper authentication failed")
		}
	}
}

// do runs one ZooKeeper action and reports its result.
func (s *session) do(conn *zk.Conn, a elector.Action) {
	z := s.z
	acl := z.cfg.ZK.ACL
	switch a.Kind {
	case elector.CreateLock:
		_, err := conn.Create(a.Path, a.Data, zk.FlagEphemeral, acl)
		z.post(elector.CreateLockResult{Seq: a.Seq, Code: codeOf(err)})
	case elector.WatchLock:
		exists, stat, ch, err := conn.ExistsW(a.Path)
		r := elector.WatchLockResult{Seq: a.Seq, Code: codeOf(err)}
		if err == nil {
			if exists {
				r.Mine = stat.EphemeralOwner == conn.SessionID()
			} else {
				r.Code = elector.CodeNoNode
			}
		}
		if ch != nil {
			s.watchers.Add(1)
			go s.watch(ch)
		}
		z.post(r)
	case elector.GetBreadcrumb:
		data, stat, err := conn.Get(a.Path)
		r := elector.BreadcrumbResult{Seq: a.Seq, Code: codeOf(err)}
		if err == nil {
			r.Data, r.Version = data, stat.Version
		}
		z.post(r)
	case elector.WriteBreadcrumb:
		var err error
		if a.Version < 0 {
			_, err = conn.Create(a.Path, a.Data, 0, acl)
		} else {
			_, err = conn.Set(a.Path, a.Data, a.Version)
		}
		z.post(elector.WriteBreadcrumbResult{Seq: a.Seq, Code: codeOf(err)})
	case elector.DeleteBreadcrumb:
		data, stat, err := conn.Get(a.Path)
		if err == nil && bytes.Equal(data, a.Data) {
			err = conn.Delete(a.Path, stat.Version)
		}
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			z.log.Warn("Unable to delete our own bread-crumb of being active at "+a.Path, zap.Error(err))
		}
	}
}

// watch reports the firing of a lock watch. A watch that ends because the
// connection closed or the session expired reports nothing: the session
// events say it.
func (s *session) watch(ch <-chan zk.Event) {
	defer s.watchers.Done()
	select {
	case ev, ok := <-ch:
		if !ok || ev.Type == zk.EventNotWatching {
			return
		}
		s.z.post(elector.LockChanged{Session: s.id, Deleted: ev.Type == zk.EventNodeDeleted})
	case <-s.z.quit:
	}
}

// readLock reads the lock's data for gracefulFailover: false when nobody
// holds it.
func (s *session) readLock(ctx context.Context, path string) (elector.NodeInfo, bool, error) {
	conn := s.getConn()
	if conn == nil {
		return elector.NodeInfo{}, false, errors.New("not connected to ZooKeeper")
	}
	type res struct {
		data []byte
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		data, _, err := conn.Get(path)
		ch <- res{data, err}
	}()
	var r res
	select {
	case r = <-ch:
	case <-ctx.Done():
		return elector.NodeInfo{}, false, ctx.Err()
	}
	if errors.Is(r.err, zk.ErrNoNode) {
		return elector.NodeInfo{}, false, nil
	}
	if r.err != nil {
		return elector.NodeInfo{}, false, fmt.Errorf("reading %s: %w", path, r.err)
	}
	info, err := elector.ParseNodeInfo(r.data)
	if err != nil {
		return elector.NodeInfo{}, false, fmt.Errorf("data of %s: %w", path, err)
	}
	return info, true, nil
}

// codeOf maps the client's error to the elector's ZooKeeper outcome.
func codeOf(err error) elector.Code {
	switch {
	case err == nil:
		return elector.CodeOK
	case errors.Is(err, zk.ErrNodeExists):
		return elector.CodeNodeExists
	case errors.Is(err, zk.ErrNoNode):
		return elector.CodeNoNode
	case errors.Is(err, zk.ErrBadVersion):
		return elector.CodeBadVersion
	case errors.Is(err, zk.ErrSessionExpired):
		return elector.CodeSessionExpired
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrNoServer), errors.Is(err, zk.ErrClosing):
		return elector.CodeConnectionLoss
	default:
		return elector.CodeOther
	}
}

// zkLogger gives the ZooKeeper client's messages to zap at DEBUG.
type zkLogger struct{ log *zap.Logger }

func (l zkLogger) Printf(format string, a ...any) { l.log.Debug(fmt.Sprintf(format, a...)) }
