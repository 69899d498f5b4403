package zkfcrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/usergroups"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Protocol is the name ZKFCProtocol is served under (Hadoop's ZKFCProtocolPB).
const Protocol = hasvc.ZKFCProtocol

// HandlerCount is the number of handlers Hadoop's ZKFCRpcServer runs.
const HandlerCount = 3

// Bind-host keys the ZKFC listens on when set (Hadoop's
// DFSZKFailoverController.getZkfcServerBindHost), in order of preference.
const (
	KeyServiceRPCBindHost = "dfs.namenode.servicerpc-bind-host"
	KeyRPCBindHost        = "dfs.namenode.rpc-bind-host"
)

// Controller is what the ZKFC daemon does for the RPCs. The server has
// already checked that the caller is an administrator when it calls them.
// Errors keep their Java class on the wire (rpc.ClassOf): return
// rpc.Errorf(rpc.ErrServiceFailed, ...) for Hadoop's ServiceFailedException.
type Controller interface {
	// CedeActive is ZKFailoverController.cedeActive: millis > 0 makes the
	// local NameNode standby and keeps the ZKFC out of the election for
	// that long; millis <= 0 lets it rejoin at once. Hadoop's callers send
	// -1 for "rejoin".
	CedeActive(ctx context.Context, millis int) error
	// GracefulFailover is ZKFailoverController.gracefulFailoverToYou: make
	// the local NameNode active, coordinating with the current active's
	// ZKFC (see Graceful).
	GracefulFailover(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	// Addr is the address to listen on; ListenAddress gives Hadoop's.
	Addr string
	// Controller runs the calls. Required.
	Controller Controller
	// Admins may call (dfs.cluster.administrators).
	Admins ACL
	// LoginUser is the user the ZKFC runs as; it may always call (peer
	// ZKFCs call as that user during a graceful failover).
	LoginUser string
	// Groups maps a user to its groups for Admins' group list; nil uses
	// the operating system's groups.
	Groups func(user string) []string
	// Logger receives the access decisions; nil logs nothing.
	Logger *zap.Logger
}

// ConfigFromConf reads the listen address and the admin ACL of the ZKFC of
// NameNode nn of nameservice ns from c. The caller sets Controller and
// LoginUser.
func ConfigFromConf(c *conf.Conf, ns, nn string) (Config, error) {
	addr, err := ListenAddress(c, ns, nn)
	if err != nil {
		return Config{}, err
	}
	admins, set := c.Get(KeyAdmins)
	if !set {
		admins = " " // Hadoop's default: nobody
	}
	return Config{Addr: addr, Admins: ParseACL(admins)}, nil
}

// ListenAddress is where the ZKFC of NameNode nn of nameservice ns listens
// (Hadoop's DFSZKFailoverController.getRpcAddressToBindTo): port
// dfs.ha.zkfc.port (8019; .<ns>.<nn> and .<ns> suffixes apply), on
// dfs.namenode.servicerpc-bind-host, else dfs.namenode.rpc-bind-host, else
// the host of the NameNode's HA service address.
func ListenAddress(c *conf.Conf, ns, nn string) (string, error) {
	t, err := hasvc.TargetFromConf(c, ns, nn)
	if err != nil {
		return "", err
	}
	nc := t.Conf
	port, err := nc.GetInt(hasvc.KeyZKFCPort, hasvc.DefaultZKFCPort)
	if err != nil {
		return "", err
	}
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("%s: port %d out of range", hasvc.KeyZKFCPort, port)
	}
	host := t.Host()
	for _, k := range []string{KeyServiceRPCBindHost, KeyRPCBindHost} {
		if v := nc.GetTrimmed(k, ""); v != "" {
			host = v
			break
		}
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10)), nil
}

// Service is the ZKFCProtocol handler set: admin check, then Controller.
// Register it on an rpc.Server; Server does that on a server of its own.
type Service struct {
	cfg    Config
	log    *zap.Logger
	groups func(string) []string
}

// NewService returns the handlers for cfg (Addr is not used).
func NewService(cfg Config) (*Service, error) {
	if cfg.Controller == nil {
		return nil, errors.New("zkfcrpc: Config.Controller is required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, groups: cfg.Groups}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.groups == nil {
		s.groups = (&usergroups.OS{}).Groups
	}
	return s, nil
}

// Register serves ZKFCProtocol's methods on srv.
func (s *Service) Register(srv *rpc.Server) {
	srv.Register(Protocol,
		rpc.Unary("cedeActive", s.cedeActive),
		rpc.Unary("gracefulFailover", s.gracefulFailover),
	)
}

func (s *Service) cedeActive(ctx context.Context, req *commonpb.CedeActiveRequestProto) (*commonpb.CedeActiveResponseProto, error) {
	if err := s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	// Java sends an int in a uint32 field: -1 arrives as 0xFFFFFFFF.
	millis := int(int32(req.GetMillisToCede()))
	if err := s.cfg.Controller.CedeActive(ctx, millis); err != nil {
		return nil, err
	}
	return &commonpb.CedeActiveResponseProto{}, nil
}

func (s *Service) gracefulFailover(ctx context.Context, _ *commonpb.GracefulFailoverRequestProto) (*commonpb.GracefulFailoverResponseProto, error) {
	if err := s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	if err := s.cfg.Controller.GracefulFailover(ctx); err != nil {
		return nil, err
	}
	return &commonpb.GracefulFailoverResponseProto{}, nil
}

// checkAdmin is DFSZKFailoverController.checkRpcAdminAccess.
func (s *Service) checkAdmin(ctx context.Context) error {
	caller, ok := rpc.CallerFromContext(ctx)
	if !ok {
		return rpc.Errorf(rpc.ErrAccessControl, "Disallowed RPC access from an unknown caller. Not listed in %s", KeyAdmins)
	}
	who, from := ugiString(caller), remoteIP(caller.RemoteAddr)
	if s.cfg.Admins.Allowed(caller.User, caller.RealUser, s.groups) || (s.cfg.LoginUser != "" && caller.User == s.cfg.LoginUser) {
		s.log.Info("Allowed RPC access from " + who + " at " + from)
		return nil
	}
	msg := "Disallowed RPC access from " + who + " at " + from + ". Not listed in " + KeyAdmins
	s.log.Warn(msg)
	return rpc.Errorf(rpc.ErrAccessControl, "%s", msg)
}

// ugiString prints the caller as Hadoop's UserGroupInformation.toString
// does with SIMPLE authentication.
func ugiString(c *rpc.Caller) string {
	if c.RealUser != "" {
		return c.User + " (auth:PROXY) via " + c.RealUser + " (auth:SIMPLE)"
	}
	return c.User + " (auth:SIMPLE)"
}

// remoteIP is Hadoop's Server.getRemoteAddress: the caller's IP alone.
func remoteIP(a net.Addr) string {
	if a == nil {
		return "null"
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return strings.Trim(h, "[]")
}

// Server is a ZKFCProtocol server on a port of its own, as the ZKFC runs
// it: NewServer listens, Serve serves until Close.
type Server struct {
	srv *rpc.Server
}

// NewServer listens on cfg.Addr and registers the service. The caller runs
// Serve (typically in a goroutine it owns) and Close.
func NewServer(cfg Config) (*Server, error) {
	svc, err := NewService(cfg)
	if err != nil {
		return nil, err
	}
	rc := rpc.DefaultServerConfig()
	rc.Addr = cfg.Addr
	rc.HandlerCount = HandlerCount
	if cfg.Logger != nil {
		rc.Logger = cfg.Logger.Named("rpc")
	}
	srv, err := rpc.NewServer(rc)
	if err != nil {
		return nil, fmt.Errorf("zkfc rpc server on %s: %w", cfg.Addr, err)
	}
	svc.Register(srv)
	return &Server{srv: srv}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.srv.Addr() }

// Serve serves calls until Close; it then returns rpc.ErrServerClosed.
func (s *Server) Serve() error { return s.srv.Serve() }

// Close stops the server and waits for its handlers, cancelling the ctx of
// calls in progress (a GracefulFailover waiting for the election returns).
func (s *Server) Close() error { return s.srv.Close() }
