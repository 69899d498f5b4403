package zkfcrpc

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// chainLocal is ZKFC 2's Local: nn1 holds the lock, and Attempts is fed by
// ZKFC 1's cede, standing in for the election ZKFC 2 then wins.
type chainLocal struct {
	*Attempts
	self, other hasvc.Target
}

func (l chainLocal) Target() hasvc.Target { return l.self }
func (l chainLocal) Observer() bool       { return false }
func (l chainLocal) CurrentActive(context.Context) (hasvc.Target, bool, error) {
	return l.other, true, nil
}
func (l chainLocal) Others() []hasvc.Target { return []hasvc.Target{l.other} }
func (l chainLocal) AttemptMark() uint64    { return l.Mark() }
func (l chainLocal) WaitForActiveAttempt(ctx context.Context, mark uint64, d time.Duration) (*ActiveAttempt, error) {
	return l.Wait(ctx, mark, d)
}

// cedingController is ZKFC 1: a cede with a positive period lets ZKFC 2's
// election attempt happen.
type cedingController struct {
	fakeController
	peer *Attempts
}

func (c *cedingController) CedeActive(ctx context.Context, millis int) error {
	if err := c.fakeController.CedeActive(ctx, millis); err != nil {
		return err
	}
	if millis > 0 {
		c.peer.Record(true, "Successfully transitioned NameNode at /127.0.0.3:8020 to active state")
	}
	return nil
}

type gracefulController struct{ g *Graceful }

func (gracefulController) CedeActive(context.Context, int) error { return nil }
func (c gracefulController) GracefulFailover(ctx context.Context) error {
	return c.g.Run(ctx)
}

// TestGracefulFailoverOverTheWire runs the whole chain on 127.0.0.1:
// gracefulFailover on ZKFC 2, which asks ZKFC 1 to cede (10000 ms) through
// NewPeer, sees its own election attempt, and lets ZKFC 1 rejoin (-1 on
// the wire as Hadoop sends it).
func TestGracefulFailoverOverTheWire(t *testing.T) {
	testcluster.CheckLeaks(t)
	attempts := &Attempts{}
	attempts.SetHealthy(true)
	zkfc1 := &cedingController{peer: attempts}
	addr1 := startServer(t, Config{Controller: zkfc1, LoginUser: "hdfs"})

	peers, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs")) // the ZKFC's own user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peers.Close() })
	nn1 := hasvc.Target{Nameservice: "mycluster", NameNodeID: "nn1", Address: "127.0.0.2:8020", ZKFCAddress: addr1}
	nn2 := hasvc.Target{Nameservice: "mycluster", NameNodeID: "nn2", Address: "127.0.0.3:8020"}
	g := &Graceful{
		Local:                chainLocal{Attempts: attempts, self: nn2, other: nn1},
		Peer:                 func(t hasvc.Target) Peer { return NewPeer(peers, t.ZKFCAddress) },
		GracefulFenceTimeout: 5 * time.Second,
		Logger:               testcluster.Logger(t),
	}
	addr2 := startServer(t, Config{Controller: gracefulController{g}, Admins: ParseACL("admin")})

	if err := client(t, addr2, "admin", "").GracefulFailover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := zkfc1.got(), []any{10000, -1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ZKFC 1 calls %v, want %v", got, want)
	}
}
