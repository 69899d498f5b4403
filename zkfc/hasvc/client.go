package hasvc

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// Protocol names on the wire.
const (
	Protocol     = "org.apache.hadoop.ha.HAServiceProtocol"
	ZKFCProtocol = "org.apache.hadoop.ha.ZKFCProtocol"
)

// RequestSource says who asks for a transition. A NameNode with automatic
// failover on refuses REQUEST_BY_USER and accepts REQUEST_BY_USER_FORCED and
// REQUEST_BY_ZKFC.
type RequestSource = commonpb.HARequestSource

// Request sources.
const (
	RequestByUser       = commonpb.HARequestSource_REQUEST_BY_USER
	RequestByUserForced = commonpb.HARequestSource_REQUEST_BY_USER_FORCED
	RequestByZKFC       = commonpb.HARequestSource_REQUEST_BY_ZKFC
)

// State is a service's HA state.
type State = commonpb.HAServiceStateProto

// HA states.
const (
	StateInitializing = commonpb.HAServiceStateProto_INITIALIZING
	StateActive       = commonpb.HAServiceStateProto_ACTIVE
	StateStandby      = commonpb.HAServiceStateProto_STANDBY
	StateObserver     = commonpb.HAServiceStateProto_OBSERVER
)

// StateName is how Hadoop prints a state (HAServiceState.toString):
// "active", "standby", "initializing", "observer".
func StateName(s State) string {
	switch s {
	case StateInitializing:
		return "initializing"
	case StateActive:
		return "active"
	case StateStandby:
		return "standby"
	case StateObserver:
		return "observer"
	}
	return fmt.Sprintf("unknown(%d)", int32(s))
}

// Status is a GetServiceStatus answer.
type Status struct {
	State State
	// ReadyToBecomeActive is meaningful for a standby.
	ReadyToBecomeActive bool
	// NotReadyReason says why a standby is not ready, when it is not.
	NotReadyReason string
}

// Service is the HA service of one NameNode, as callers use it.
// Implementations return the service's refusal as an error that keeps its
// Java class (rpc.ErrHealthCheckFailed, rpc.ErrServiceFailed, ...).
type Service interface {
	// MonitorHealth returns nil when the service is healthy.
	MonitorHealth(ctx context.Context) error
	GetServiceStatus(ctx context.Context) (Status, error)
	TransitionToActive(ctx context.Context, src RequestSource) error
	TransitionToStandby(ctx context.Context, src RequestSource) error
}

// Client is Service over HAServiceProtocol RPCs to one address.
type Client struct {
	rpc  *rpc.Client
	addr string
}

var _ Service = (*Client)(nil)

// NewClient returns a Service calling the HA service at addr ("host:port")
// through c. The caller owns c and closes it.
func NewClient(c *rpc.Client, addr string) *Client { return &Client{rpc: c, addr: addr} }

// Addr is the address the client calls.
func (c *Client) Addr() string { return c.addr }

func (c *Client) call(ctx context.Context, method string, req, resp proto.Message) error {
	return c.rpc.Call(ctx, c.addr, Protocol, method, req, resp)
}

// MonitorHealth calls monitorHealth.
func (c *Client) MonitorHealth(ctx context.Context) error {
	return c.call(ctx, "monitorHealth", &commonpb.MonitorHealthRequestProto{}, &commonpb.MonitorHealthResponseProto{})
}

// GetServiceStatus calls getServiceStatus.
func (c *Client) GetServiceStatus(ctx context.Context) (Status, error) {
	resp := &commonpb.GetServiceStatusResponseProto{}
	if err := c.call(ctx, "getServiceStatus", &commonpb.GetServiceStatusRequestProto{}, resp); err != nil {
		return Status{}, err
	}
	return Status{
		State:               resp.GetState(),
		ReadyToBecomeActive: resp.GetReadyToBecomeActive(),
		NotReadyReason:      resp.GetNotReadyReason(),
	}, nil
}

func reqInfo(src RequestSource) *commonpb.HAStateChangeRequestInfoProto {
	return &commonpb.HAStateChangeRequestInfoProto{ReqSource: src.Enum()}
}

// TransitionToActive calls transitionToActive.
func (c *Client) TransitionToActive(ctx context.Context, src RequestSource) error {
	return c.call(ctx, "transitionToActive",
		&commonpb.TransitionToActiveRequestProto{ReqInfo: reqInfo(src)}, &commonpb.TransitionToActiveResponseProto{})
}

// TransitionToStandby calls transitionToStandby.
func (c *Client) TransitionToStandby(ctx context.Context, src RequestSource) error {
	return c.call(ctx, "transitionToStandby",
		&commonpb.TransitionToStandbyRequestProto{ReqInfo: reqInfo(src)}, &commonpb.TransitionToStandbyResponseProto{})
}

// ZKFCClient calls the ZKFCProtocol of the ZKFC at one address.
type ZKFCClient struct {
	rpc  *rpc.Client
	addr string
}

// NewZKFCClient returns a client of the ZKFC at addr through c. The caller
// owns c.
func NewZKFCClient(c *rpc.Client, addr string) *ZKFCClient { return &ZKFCClient{rpc: c, addr: addr} }

// GracefulFailover asks the ZKFC to make its NameNode active, coordinating
// with the ZKFC of the current active.
func (z *ZKFCClient) GracefulFailover(ctx context.Context) error {
	return z.rpc.Call(ctx, z.addr, ZKFCProtocol, "gracefulFailover",
		&commonpb.GracefulFailoverRequestProto{}, &commonpb.GracefulFailoverResponseProto{})
}

// CedeActive asks the ZKFC to give up the active lock and stay out of the
// election for millis milliseconds.
func (z *ZKFCClient) CedeActive(ctx context.Context, millis uint32) error {
	return z.rpc.Call(ctx, z.addr, ZKFCProtocol, "cedeActive",
		&commonpb.CedeActiveRequestProto{MillisToCede: &millis}, &commonpb.CedeActiveResponseProto{})
}
