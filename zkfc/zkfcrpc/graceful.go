package zkfcrpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// WaitSlack is what Graceful waits for the local election attempt beyond
// the cede period (Hadoop's fixed 60 s in doGracefulFailover).
const WaitSlack = 60 * time.Second

// ActiveAttempt is the outcome of the local ZKFC's latest attempt to make its
// NameNode active (Hadoop's ActiveAttemptRecord). Status is the ZKFC's
// message: "Successfully transitioned NameNode at ... to active state",
// "Couldn't make NameNode at ... active" followed by the cause, "Unable to
// fence old active: ...".
type ActiveAttempt struct {
	Succeeded bool
	Status    string
}

// Local is the ZKFC's own side as a graceful failover reads it. The ZKFC
// daemon implements it over its health monitor and elector.
type Local interface {
	// Target is the local NameNode; messages name it (Target.String) and
	// Address identifies it.
	Target() hasvc.Target
	// Healthy reports whether the health monitor's last state is
	// SERVICE_HEALTHY.
	Healthy() bool
	// Observer reports whether the local NameNode is an observer.
	Observer() bool
	// CurrentActive reads the election's lock: the NameNode holding it and
	// true, or false when no NameNode holds it. An error means ZooKeeper
	// could not be read. Only its Address (and IP) are used: the ZKFC
	// asked to cede is the matching one of Others, as in Hadoop.
	CurrentActive(ctx context.Context) (hasvc.Target, bool, error)
	// Others lists the other NameNodes of the nameservice, each with its
	// ZKFCAddress (hasvc.TargetFromConf gives both).
	Others() []hasvc.Target
	// AttemptMark returns a mark of the active attempts recorded so far.
	AttemptMark() uint64
	// WaitForActiveAttempt returns the first attempt recorded after mark.
	// It returns nil, nil when timeout passes first or as soon as the local
	// NameNode is not healthy, and ctx's error when ctx ends.
	WaitForActiveAttempt(ctx context.Context, mark uint64, timeout time.Duration) (*ActiveAttempt, error)
}

// Peer is the ZKFC of another NameNode, as ZKFCProtocol's cedeActive.
type Peer interface {
	CedeActive(ctx context.Context, millis int) error
}

// NewPeer returns the Peer at addr (a Target's ZKFCAddress) called through
// c. c should call as the ZKFC's own user, which the peer always admits.
func NewPeer(c *rpc.Client, addr string) Peer { return clientPeer{hasvc.NewZKFCClient(c, addr)} }

type clientPeer struct{ c *hasvc.ZKFCClient }

func (p clientPeer) CedeActive(ctx context.Context, millis int) error {
	// Java's int travels in a uint32 field: -1 goes as 0xFFFFFFFF.
	return p.c.CedeActive(ctx, uint32(int32(max(min(millis, math.MaxInt32), math.MinInt32))))
}

// ErrUnknownActive: the lock names a NameNode that is neither the local one
// nor one of Local.Others (the configuration and the lock disagree).
var ErrUnknownActive = errors.New("active NameNode is not a known NameNode")

// Graceful is Hadoop's ZKFailoverController.doGracefulFailover, the work
// behind a gracefulFailover call, over Local and Peer: no sockets, no clock
// of its own (the waiting is Local's).
type Graceful struct {
	Local Local
	// Peer returns the ZKFC of a NameNode of Local.Others (at its
	// ZKFCAddress), e.g. NewPeer with the ZKFC's own RPC client.
	Peer func(hasvc.Target) Peer
	// GracefulFenceTimeout is ha.failover-controller.graceful-fence.rpc-timeout.ms.
	// The other ZKFCs cede for twice it, and each cedeActive call is
	// bounded by twice it.
	GracefulFenceTimeout time.Duration
	// Logger; nil logs nothing.
	Logger *zap.Logger
}

// Run makes the local NameNode active through the election:
//
//  1. the local NameNode must be healthy and not an observer;
//  2. the current active is read from the lock: none is an error, the
//     local NameNode is success at once;
//  3. every other ZKFC, the active's last, is asked to cedeActive for twice
//     the graceful-fence timeout: the active's ZKFC makes its NameNode
//     standby and leaves the election, so this ZKFC wins it;
//  4. it waits (cede period + WaitSlack) for the local ZKFC's attempt to
//     become active;
//  5. the ZKFCs asked in step 3 are told to rejoin (cedeActive(-1)), so a
//     quick failback is possible;
//  6. the attempt's outcome is the result.
//
// Failures are ServiceFailedExceptions with Hadoop's texts; a ZooKeeper or
// RPC failure is returned wrapped (an IOException on the wire).
func (g *Graceful) Run(ctx context.Context) error {
	log := g.Logger
	if log == nil {
		log = zap.NewNop()
	}
	timeout := 2 * g.GracefulFenceTimeout
	if timeout < 0 {
		return errors.New("timeout should be non-negative.")
	}
	local := g.Local.Target()

	// Phase 1: pre-flight checks (checkEligibleForFailover).
	if !g.Local.Healthy() {
		return rpc.Errorf(rpc.ErrServiceFailed, "%s is not currently healthy. Cannot be failover target", local)
	}
	if g.Local.Observer() {
		return rpc.Errorf(rpc.ErrServiceFailed, "%s is in observer state. Cannot be failover target", local)
	}

	// Phase 2: who is active now.
	oldActive, ok, err := g.Local.CurrentActive(ctx)
	if err != nil {
		return fmt.Errorf("Unexpected ZooKeeper issue fetching active node info: %w", err)
	}
	if !ok {
		// Nobody holds the lock, so an ordinary election would have made
		// this healthy node active already: something prevents it.
		return rpc.Errorf(rpc.ErrServiceFailed, "No other node is currently active.")
	}
	if sameNode(oldActive, local) {
		log.Info(fmt.Sprintf("Local node %s is already active. No need to failover. Returning success.", local))
		return nil
	}

	// Phase 3: every other ZKFC cedes, the active's last, so that none of
	// the others grabs the lock the active gives up. A lock naming a
	// NameNode the configuration does not know stops before anyone cedes.
	var rest []hasvc.Target
	var activeNode *hasvc.Target
	for _, remote := range g.Local.Others() {
		if sameNode(remote, oldActive) {
			activeNode = &remote
			continue
		}
		rest = append(rest, remote)
	}
	if activeNode == nil {
		return fmt.Errorf("%w: %s", ErrUnknownActive, oldActive)
	}
	mark := g.Local.AttemptMark()
	var ceded []Peer
	for _, remote := range append(rest, *activeNode) {
		p, err := g.cede(ctx, log, remote, timeout)
		if err != nil {
			return err
		}
		ceded = append(ceded, p)
	}

	// Phase 4: the election runs as usual; wait for its verdict.
	attempt, err := g.Local.WaitForActiveAttempt(ctx, mark, timeout+WaitSlack)
	if err != nil {
		return err
	}
	if attempt == nil {
		if !g.Local.Healthy() {
			return rpc.Errorf(rpc.ErrServiceFailed, "Unable to become active. Service became unhealthy while trying to failover.")
		}
		log.Warn(fmt.Sprintf("%dms timeout elapsed waiting for an attempt to become active", (timeout+WaitSlack)/time.Millisecond))
		return rpc.Errorf(rpc.ErrServiceFailed, "Unable to become active. Local node did not get an opportunity to do so from ZooKeeper, "+
			"or the local node took too long to transition to active.")
	}

	// Phase 5: an attempt was made, so the others may rejoin: a quick
	// failback stays possible if this node fails right away.
	for _, p := range ceded {
		cctx, cancel := withTimeout(ctx, timeout)
		err := p.CedeActive(cctx, -1)
		cancel()
		if err != nil {
			return err
		}
	}

	if !attempt.Succeeded {
		return rpc.Errorf(rpc.ErrServiceFailed, "Failed to become active. %s", attempt.Status)
	}
	log.Info("Successfully became active. " + attempt.Status)
	return nil
}

// cede is Hadoop's cedeRemoteActive.
func (g *Graceful) cede(ctx context.Context, log *zap.Logger, remote hasvc.Target, timeout time.Duration) (Peer, error) {
	ms := int(timeout / time.Millisecond)
	log.Info(fmt.Sprintf("Asking %s to cede its active state for %dms", remote, ms))
	p := g.Peer(remote)
	cctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	if err := p.CedeActive(cctx, ms); err != nil {
		return nil, err
	}
	return p, nil
}

// withTimeout bounds a call by d; d == 0 leaves only ctx.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// sameNode is Hadoop's comparison of two targets' addresses: equal
// host:port, or equal resolved IP and port.
func sameNode(a, b hasvc.Target) bool {
	if a.Address == b.Address {
		return true
	}
	return a.IP != "" && a.IP == b.IP && a.Port() == b.Port()
}
