package zkfc

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/zkfc/elector"
	"github.com/hdfsha/hdfsha/zkfc/failover"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
	"github.com/hdfsha/hdfsha/zkfc/zkfcrpc"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

// Config configures a ZKFC. ConfigFromConf reads it from Hadoop's keys.
type Config struct {
	// Target is the local NameNode (with its nameservice, HA service
	// address and fencing view).
	Target hasvc.Target
	// Others are the other NameNodes of the nameservice, each with its
	// ZKFCAddress and fencing configuration.
	Others []hasvc.Target
	// ZK is how to reach ZooKeeper and where the election lives.
	ZK zkutil.Config
	// Health is the health monitor's timing (ha.health-monitor.*).
	Health health.Config
	// GracefulFenceTimeout is
	// ha.failover-controller.graceful-fence.rpc-timeout.ms (5 s): the
	// bound on transitionToStandby, of the local NameNode and of an old
	// active being fenced gracefully.
	GracefulFenceTimeout time.Duration
	// NewActiveTimeout is ha.failover-controller.new-active.rpc-timeout.ms
	// (60 s): the bound on transitionToActive of the local NameNode.
	NewActiveTimeout time.Duration
	// RPC is the ZKFCProtocol server's address and admin ACL; its
	// Controller and LoginUser are set by the ZKFC.
	RPC zkfcrpc.Config
	// LoginUser is the user the ZKFC runs as: the user of its RPC calls
	// (NameNodes, peer ZKFCs) and always admitted by its own server.
	LoginUser string
	// TickInterval is the elector's clock resolution (100 ms).
	TickInterval time.Duration
	// SleepAfterFailure is how long the elector stays out after a failed
	// attempt to become active (1 s).
	SleepAfterFailure time.Duration
	// Logger; nil logs nothing.
	Logger *zap.Logger
}

// ConfigFromConf reads the configuration of the ZKFC of NameNode nn of
// nameservice ns from c.
func ConfigFromConf(c *conf.Conf, ns, nn string) (Config, error) {
	var cfg Config
	var err error
	if cfg.Target, err = hasvc.TargetFromConf(c, ns, nn); err != nil {
		return Config{}, err
	}
	ids, err := hasvc.TargetIDs(c, cfg.Target.Nameservice)
	if err != nil {
		return Config{}, err
	}
	for _, id := range ids {
		if id == cfg.Target.NameNodeID {
			continue
		}
		o, err := hasvc.TargetFromConf(c, cfg.Target.Nameservice, id)
		if err != nil {
			return Config{}, err
		}
		cfg.Others = append(cfg.Others, o)
	}
	if cfg.ZK, err = zkutil.ConfigFromConf(c, cfg.Target.Nameservice, cfg.Target.NameNodeID); err != nil {
		return Config{}, err
	}
	if cfg.Health, err = health.ConfigFromConf(c); err != nil {
		return Config{}, err
	}
	fo, err := failover.ConfigFromConf(c)
	if err != nil {
		return Config{}, err
	}
	cfg.GracefulFenceTimeout = fo.GracefulFenceTimeout
	cfg.NewActiveTimeout = fo.NewActiveTimeout
	if cfg.RPC, err = zkfcrpc.ConfigFromConf(c, cfg.Target.Nameservice, cfg.Target.NameNodeID); err != nil {
		return Config{}, err
	}
	cfg.LoginUser = "hdfs"
	if u, err := user.Current(); err == nil && u.Username != "" {
		cfg.LoginUser = u.Username
	}
	cfg.TickInterval = elector.DefaultTickInterval
	cfg.SleepAfterFailure = elector.DefaultSleepAfterFailure
	return cfg, nil
}

func (c *Config) setDefaults() {
	if c.GracefulFenceTimeout <= 0 {
		c.GracefulFenceTimeout = failover.DefaultGracefulFenceTimeout
	}
	if c.NewActiveTimeout <= 0 {
		c.NewActiveTimeout = failover.DefaultNewActiveTimeout
	}
	if c.TickInterval <= 0 {
		c.TickInterval = elector.DefaultTickInterval
	}
	if c.SleepAfterFailure <= 0 {
		c.SleepAfterFailure = elector.DefaultSleepAfterFailure
	}
	if c.Health == (health.Config{}) {
		c.Health = health.DefaultConfig()
	}
	if c.ZK.SessionTimeout <= 0 {
		c.ZK.SessionTimeout = zkutil.DefaultSessionTimeout
	}
	if len(c.ZK.ACL) == 0 {
		c.ZK.ACL = zk.WorldACL(zk.PermAll) // ha.zookeeper.acl's default
	}
	if c.ZK.OpRetries <= 0 {
		c.ZK.OpRetries = zkutil.DefaultOpRetries
	}
	if c.LoginUser == "" {
		c.LoginUser = "hdfs"
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Validate checks c.
func (c Config) Validate() error {
	switch {
	case c.Target.Address == "" || c.Target.Nameservice == "" || c.Target.NameNodeID == "":
		return errors.New("zkfc: no local NameNode target")
	case len(c.ZK.Quorum) == 0:
		return fmt.Errorf("zkfc: %w: no ZooKeeper quorum", zkutil.ErrBadConfig)
	case c.ZK.WorkingZNode == "":
		return fmt.Errorf("zkfc: %w: no working znode", zkutil.ErrBadConfig)
	}
	if _, err := strconv.Atoi(portOf(c.Target.Address)); err != nil {
		return fmt.Errorf("zkfc: bad NameNode address %q", c.Target.Address)
	}
	return c.Health.Validate()
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}
