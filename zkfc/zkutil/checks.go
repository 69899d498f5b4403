package zkutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/zkfc/fence"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Exit statuses of `hdfs zkfc`, Hadoop's ZKFailoverController codes.
const (
	// ExitClearFailed: -formatZK could not delete the existing znode.
	ExitClearFailed = 1
	// ExitFormatDenied: -formatZK found the znode and was told not to
	// clear it (answer N, or -nonInteractive).
	ExitFormatDenied = 2
	// ExitNoParentZNode: the daemon found no working znode; run -formatZK.
	ExitNoParentZNode = 3
	// ExitNoFencer: dfs.ha.fencing.methods is missing or invalid.
	ExitNoFencer = 4
	// ExitAutoFailoverNotEnabled: dfs.ha.automatic-failover.enabled is off.
	ExitAutoFailoverNotEnabled = 5
	// ExitNoZK: no session with ha.zookeeper.quorum.
	ExitNoZK = 6
)

// ExitError ends `hdfs zkfc` with Code. Msg is Hadoop's log text for the case;
// Err, when set, is the cause.
type ExitError struct {
	Code int
	Msg  string
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the status err ends `hdfs zkfc` with: 0 for nil, an
// ExitError's code, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// ErrNotHA: the local NameNode is not part of an HA nameservice, or cannot
// be identified. The texts are Hadoop's DFSZKFailoverController's.
var ErrNotHA = errors.New("zkfc: no local HA NameNode")

type notHAError struct {
	msg   string
	cause error
}

func (e *notHAError) Error() string { return e.msg }
func (e *notHAError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrNotHA}
	}
	return []error{ErrNotHA, e.cause}
}

// LocalTarget finds the NameNode this ZKFC runs beside, as `hdfs namenode`
// does (dfs.ha.namenode.id, else the configured RPC address that is local),
// and returns it as an HA target with its nameservice. localAddrs nil means
// this machine's addresses. The target's IP is resolved.
func LocalTarget(ctx context.Context, c *conf.Conf, localAddrs []net.IP) (hasvc.Target, error) {
	me, err := c.LocalNameNode("", localAddrs)
	if err != nil {
		if errors.Is(err, conf.ErrNoLocalNameNode) || errors.Is(err, conf.ErrAmbiguousNameNode) {
			return hasvc.Target{}, &notHAError{"Could not get the namenode ID of this node. " +
				"You may run zkfc on the node other than namenode.", err}
		}
		return hasvc.Target{}, err
	}
	if me.Nameservice == "" || me.ID == "" || !c.IsHA(me.Nameservice) {
		return hasvc.Target{}, &notHAError{"HA is not enabled for this namenode.", nil}
	}
	t, err := hasvc.TargetFromConf(c, me.Nameservice, me.ID)
	if err != nil {
		return hasvc.Target{}, err
	}
	t.Resolve(ctx, nil)
	return t, nil
}

// CheckAutoFailover is the ZKFC's first check: exit 5 unless
// dfs.ha.automatic-failover.enabled holds for t.
func CheckAutoFailover(t hasvc.Target) error {
	if t.AutoFailover {
		return nil
	}
	return &ExitError{Code: ExitAutoFailoverNotEnabled, Msg: "Automatic failover is not enabled for " + t.String() + "." +
		" Please ensure that automatic failover is enabled in the configuration before running the ZK failover controller."}
}

// ConnectForZKFC is Connect with the ZKFC's failure: exit 6 with Hadoop's
// message when no session could be had.
func ConnectForZKFC(ctx context.Context, cfg Config, log *zap.Logger) (*zk.Conn, <-chan zk.Event, error) {
	conn, events, err := Connect(ctx, cfg, log)
	if errors.Is(err, ErrUnreachable) {
		return nil, nil, &ExitError{Code: ExitNoZK, Err: err, Msg: fmt.Sprintf("Unable to start failover controller. "+
			"Unable to connect to ZooKeeper quorum at %s. Please check the configured value for %s "+
			"and ensure that ZooKeeper is running.", quorumString(cfg), KeyQuorum)}
	}
	return conn, events, err
}

func quorumString(cfg Config) string { return strings.Join(cfg.Quorum, ",") }

// CheckStart is what the ZKFC daemon checks once connected, before it starts
// its RPC server, health monitor and election, in Hadoop's order: the working
// znode exists (else exit 3), then t has a valid fencing configuration (else
// exit 4). methods nil means fence.StandardMethods.
func CheckStart(c *zk.Conn, cfg Config, t hasvc.Target, methods map[string]fence.Method) error {
	ok, err := ParentZNodeExists(c, cfg.WorkingZNode)
	if err != nil {
		return err
	}
	if !ok {
		return &ExitError{Code: ExitNoParentZNode, Msg: "Unable to start failover controller. Parent znode does not exist.\n" +
			"Run with -formatZK flag to initialize ZooKeeper."}
	}
	return CheckFencing(t, methods)
}

// CheckFencing is Hadoop's checkFencingConfigured as the ZKFC reports it: exit
// 4 when t has no fencing method or an invalid one.
func CheckFencing(t hasvc.Target, methods map[string]fence.Method) error {
	msg := "Fencing is not configured for " + t.String() + ".\n" +
		"You must configure a fencing method before using automatic failover."
	f, err := fence.Parse(t.FencingMethods, methods, nil)
	if err != nil {
		return &ExitError{Code: ExitNoFencer, Msg: msg, Err: err}
	}
	if f.Len() == 0 {
		return &ExitError{Code: ExitNoFencer, Msg: msg, Err: errors.New("No fencer configured for " + t.String())}
	}
	return nil
}
