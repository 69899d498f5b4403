package zkutil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// ErrUnreachable: no session with the quorum within the session timeout.
var ErrUnreachable = errors.New("ZooKeeper unreachable")

// Connect opens a session with cfg.Quorum and waits for it, at most
// cfg.SessionTimeout (Hadoop's ActiveStandbyElector waits as long for its
// first connection), then adds every cfg.Auth. It returns the connection and
// its event channel; the caller owns both: it must keep reading the channel
// (the client drops events it cannot deliver) and Close the connection, which
// stops the client's goroutines. The client reconnects by itself within the
// session; an expired session needs a new Connect.
//
// No session in time wraps ErrUnreachable; ctx ending returns ctx's error.
// log receives the client's own messages under the name "zookeeper".
func Connect(ctx context.Context, cfg Config, log *zap.Logger) (*zk.Conn, <-chan zk.Event, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if len(cfg.Quorum) == 0 {
		return nil, nil, badConfig("Missing required configuration '%s' for ZooKeeper quorum", KeyQuorum)
	}
	timeout := cfg.SessionTimeout
	if timeout <= 0 {
		timeout = DefaultSessionTimeout
	}
	conn, events, err := zk.Connect(cfg.Quorum, timeout, zk.WithLogger(zapLogger{log.Named("zookeeper").Sugar()}))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
wait:
	for {
		select {
		case ev := <-events:
			switch {
			case ev.State == zk.StateHasSession:
				break wait
			case ev.State == zk.StateAuthFailed:
				Close(conn, events)
				return nil, nil, fmt.Errorf("%w: %w", ErrUnreachable, zk.ErrAuthFailed)
			case ev.Err != nil:
				log.Debug("ZooKeeper connection event", zap.Stringer("state", ev.State), zap.Error(ev.Err))
			}
		case <-timer.C:
			Close(conn, events)
			log.Error(fmt.Sprintf("Connection timed out: couldn't connect to ZooKeeper in %d milliseconds", timeout.Milliseconds()))
			return nil, nil, fmt.Errorf("%w: no session with %s within %v", ErrUnreachable, strings.Join(cfg.Quorum, ","), timeout)
		case <-ctx.Done():
			Close(conn, events)
			return nil, nil, ctx.Err()
		}
	}
	for _, a := range cfg.Auth {
		if err := conn.AddAuth(a.Scheme, a.Auth); err != nil {
			Close(conn, events)
			return nil, nil, fmt.Errorf("ZooKeeper authentication with scheme %s: %w", a.Scheme, err)
		}
	}
	return conn, events, nil
}

// Close closes conn and returns once the client's goroutines have stopped:
// the client closes its event channel last, after its send and receive
// loops (which log) have ended. After Close nothing logs through the
// logger given to Connect, so a test's logger may end with the test.
func Close(conn *zk.Conn, events <-chan zk.Event) {
	conn.Close()
	for range events {
	}
}

// zapLogger gives the ZooKeeper client's messages to zap: failures at WARN,
// the rest (connected, authenticated, loops ending) at DEBUG.
type zapLogger struct{ s *zap.SugaredLogger }

func (l zapLogger) Printf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if strings.Contains(strings.ToLower(msg), "fail") {
		l.s.Warn(msg)
		return
	}
	l.s.Debug(msg)
}
