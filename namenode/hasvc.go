package namenode

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// HAServiceProtocol is the protocol name the HA service is served under
// (Hadoop's HAServiceProtocolPB).
const HAServiceProtocol = "org.apache.hadoop.ha.HAServiceProtocol"

// journalProbeTimeout bounds monitorHealth's quorum probe.
const journalProbeTimeout = 5 * time.Second

// registerHAService serves HAServiceProtocol on srv: what haadmin and
// ZKFC call.
func (n *NameNode) registerHAService(srv *rpc.Server) {
	srv.Register(HAServiceProtocol,
		rpc.Unary("monitorHealth", n.monitorHealthRPC),
		rpc.Unary("transitionToActive", n.transitionToActiveRPC),
		rpc.Unary("transitionToStandby", n.transitionToStandbyRPC),
		rpc.Unary("transitionToObserver", n.transitionToObserverRPC),
		rpc.Unary("getServiceStatus", n.getServiceStatusRPC),
	)
}

// checkSuperuser is Hadoop's checkSuperuserPrivilege for the HA calls.
func (n *NameNode) checkSuperuser(ctx context.Context) error {
	if !n.cfg.PermissionsEnabled {
		return nil
	}
	caller, ok := rpc.CallerFromContext(ctx)
	if !ok || caller.User == n.cfg.Superuser {
		return nil
	}
	if n.cfg.Groups != nil && n.cfg.SuperGroup != "" {
		for _, g := range n.cfg.Groups(caller.User) {
			if g == n.cfg.SuperGroup {
				return nil
			}
		}
	}
	return rpc.Errorf(rpc.ErrAccessControl, "Access denied for user %s. Superuser privilege is required", caller.User)
}

// checkHAStateChange is Hadoop's NameNode.checkHaStateChange: with
// automatic failover on, only ZKFC (or a forced manual request) may move
// the NameNode; with it off, ZKFC may not.
func (n *NameNode) checkHAStateChange(ctx context.Context, src commonpb.HARequestSource) error {
	remote := ""
	if c, ok := rpc.CallerFromContext(ctx); ok && c.RemoteAddr != nil {
		remote = c.RemoteAddr.String()
	}
	switch src {
	case commonpb.HARequestSource_REQUEST_BY_USER:
		if n.cfg.AutoFailover {
			return rpc.Errorf(rpc.ErrAccessControl, "Manual HA control for this NameNode is disallowed, because automatic HA is enabled.")
		}
	case commonpb.HARequestSource_REQUEST_BY_USER_FORCED:
		if n.cfg.AutoFailover {
			n.log.Warn("allowing manual HA control even though automatic HA is enabled, because the user specified the force flag", zap.String("remote", remote))
		}
	case commonpb.HARequestSource_REQUEST_BY_ZKFC:
		if !n.cfg.AutoFailover {
			return rpc.Errorf(rpc.ErrAccessControl, "Request from ZK failover controller at %s denied since automatic HA is not enabled", remote)
		}
	}
	return nil
}

func (n *NameNode) monitorHealthRPC(ctx context.Context, _ *commonpb.MonitorHealthRequestProto) (*commonpb.MonitorHealthResponseProto, error) {
	if err := n.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	if err := n.MonitorHealth(ctx); err != nil {
		return nil, err
	}
	return &commonpb.MonitorHealthResponseProto{}, nil
}

// MonitorHealth is monitorHealth: nil when healthy, else a
// HealthCheckFailedException saying why: the namesystem failed, the name
// directory's volume has less than dfs.namenode.resource.du.reserved
// free, the journal quorum does not answer, or the standby's last tailing
// round failed.
// Without HA it always succeeds, as in Hadoop.
func (n *NameNode) MonitorHealth(ctx context.Context) error {
	if !n.cfg.HA {
		return nil
	}
	sys := n.namesystem()
	if sys == nil {
		return rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode is not started")
	}
	if err := sys.Failed(); err != nil {
		return rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode failed: %v", err)
	}
	if !n.hasResources() {
		return rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available")
	}
	if t := n.tailerp.Load(); t != nil {
		if err := t.lastError(); err != nil {
			return rpc.Errorf(rpc.ErrHealthCheckFailed, "The standby cannot tail the shared edits: %v", err)
		}
	}
	n.mu.Lock()
	el := n.el
	if el == nil {
		el = n.reader
	}
	n.mu.Unlock()
	if el != nil {
		if err := el.Failed(); err != nil {
			return rpc.Errorf(rpc.ErrHealthCheckFailed, "The edit log failed: %v", err)
		}
		if q, ok := el.Journal().(*editlog.QJMJournal); ok {
			pctx, cancel := context.WithTimeout(ctx, journalProbeTimeout)
			_, err := q.Manager().IsFormatted(pctx)
			cancel()
			if err != nil {
				return rpc.Errorf(rpc.ErrHealthCheckFailed, "The shared edits journal is unreachable: %v", err)
			}
		}
	}
	return nil
}

// hasResources is Hadoop's NameNodeResourceChecker for the name
// directory: the volume keeps at least DUReserved bytes free.
func (n *NameNode) hasResources() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.cfg.NameDir, &st); err != nil {
		n.log.Warn("cannot check the name directory's free space", zap.Error(err))
		return false
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < n.cfg.DUReserved {
		n.log.Warn("space available on the name directory's volume is below dfs.namenode.resource.du.reserved",
			zap.String("dir", n.cfg.NameDir), zap.Int64("available", free), zap.Int64("reserved", n.cfg.DUReserved))
		return false
	}
	return true
}

func (n *NameNode) transitionToActiveRPC(ctx context.Context, req *commonpb.TransitionToActiveRequestProto) (*commonpb.TransitionToActiveResponseProto, error) {
	src := req.GetReqInfo().GetReqSource()
	if err := n.checkHAStateChange(ctx, src); err != nil {
		return nil, err
	}
	if err := n.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	if err := n.TransitionToActive(ctx, src); err != nil {
		return nil, asServiceFailed(err)
	}
	return &commonpb.TransitionToActiveResponseProto{}, nil
}

func (n *NameNode) transitionToStandbyRPC(ctx context.Context, req *commonpb.TransitionToStandbyRequestProto) (*commonpb.TransitionToStandbyResponseProto, error) {
	src := req.GetReqInfo().GetReqSource()
	if err := n.checkHAStateChange(ctx, src); err != nil {
		return nil, err
	}
	if err := n.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	if err := n.TransitionToStandby(ctx, src); err != nil {
		return nil, asServiceFailed(err)
	}
	return &commonpb.TransitionToStandbyResponseProto{}, nil
}

// transitionToObserver: observers are not offered here.
func (n *NameNode) transitionToObserverRPC(ctx context.Context, req *commonpb.TransitionToObserverRequestProto) (*commonpb.TransitionToObserverResponseProto, error) {
	if err := n.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	if !n.cfg.HA {
		return nil, rpc.Errorf(rpc.ErrServiceFailed, "HA for namenode is not enabled")
	}
	return nil, rpc.Errorf(rpc.ErrServiceFailed, "Transtion from state %s to observer is not allowed.", n.HAState())
}

func (n *NameNode) getServiceStatusRPC(ctx context.Context, _ *commonpb.GetServiceStatusRequestProto) (*commonpb.GetServiceStatusResponseProto, error) {
	if err := n.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	st, ready, reason, err := n.ServiceStatus()
	if err != nil {
		return nil, err
	}
	resp := &commonpb.GetServiceStatusResponseProto{State: st.Proto().Enum(), ReadyToBecomeActive: proto.Bool(ready)}
	if !ready {
		resp.NotReadyReason = proto.String(reason)
	}
	return resp, nil
}

// ServiceStatus is getServiceStatus: the state, whether the NameNode is
// ready to become active, and why not (Hadoop's texts).
func (n *NameNode) ServiceStatus() (ha.State, bool, string, error) {
	if !n.cfg.HA {
		return 0, false, "", rpc.Errorf(rpc.ErrServiceFailed, "HA for namenode is not enabled")
	}
	st := n.HAState()
	switch st {
	case ha.Standby:
		if sys := n.namesystem(); sys != nil {
			if tip := sys.SafeModeTip(); tip != "" {
				return st, false, "The NameNode is in safemode. " + tip, nil
			}
		}
		return st, true, "", nil
	case ha.Active:
		return st, true, "", nil
	}
	return st, false, fmt.Sprintf("State is %s", st), nil
}

// asServiceFailed keeps a Java-classed error and wraps anything else as
// ServiceFailedException.
func asServiceFailed(err error) error {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return err
	}
	return rpc.Errorf(rpc.ErrServiceFailed, "%v", err)
}
