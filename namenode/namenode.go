package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/usergroups"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/fsck"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/namenode/qjm"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
)

// Config configures a NameNode. ConfigFromConf reads it from Hadoop keys.
type Config struct {
	// Conf is the configuration (ForNameNode applied); the journal is
	// chosen from it (dfs.namenode.shared.edits.dir or dfs.namenode.edits.dir).
	Conf                    *conf.Conf
	Nameservice, NameNodeID string
	// NameDir is the first dfs.namenode.name.dir, without file://.
	NameDir string
	// RPCAddress is dfs.namenode.rpc-address, HTTPAddress
	// dfs.namenode.http-address ("" runs no HTTP server).
	RPCAddress, HTTPAddress string
	HandlerCount            int
	// Superuser is the NameNode's own user (the OS user by default).
	Superuser          string
	SuperGroup         string
	PermissionsEnabled bool
	Umask              uint32
	Defaults           namesystem.ServerDefaults
	Limits             namespace.Limits
	// CheckpointsRetained is dfs.namenode.num.checkpoints.retained,
	// ExtraEditsRetained dfs.namenode.num.extra.edits.retained.
	CheckpointsRetained int
	ExtraEditsRetained  int64
	// Lease limits (60 s, 1 h) and monitor period (2 s); tests shorten them.
	SoftLimit, HardLimit, LeaseCheckInterval time.Duration
	RetryCacheExpiry                         time.Duration
	Logger                                   *zap.Logger
	Now                                      func() time.Time
	// Groups maps a user to its groups; the OS's groups by default.
	Groups func(user string) []string

	// HA: a nameservice with >= 2 NameNodes and a qjournal shared edits
	// dir (ConfigFromConf decides). The NameNode then starts in standby.
	HA bool
	// TailPeriod is dfs.ha.tail-edits.period and TailBackoffMax
	// dfs.ha.tail-edits.period.backoff-max: after a round that found no
	// edit the tailer sleeps TailPeriod, doubling up to TailBackoffMax;
	// after a round that found edits it tails again at once. Defaults
	// here are DefaultTailPeriod and DefaultTailBackoffMax (Hadoop: 60 s
	// and no backoff), see docs/ha.md.
	TailPeriod, TailBackoffMax time.Duration
	// TailInProgress is dfs.ha.tail-edits.in-progress (true here; Hadoop:
	// false): in-progress edits are read with getJournaledEdits.
	TailInProgress bool
	// AutoFailover is dfs.ha.automatic-failover.enabled: manual
	// transitions (REQUEST_BY_USER) are refused, ZKFC ones accepted.
	AutoFailover bool
	// DUReserved is dfs.namenode.resource.du.reserved: monitorHealth is
	// unhealthy when the name directory's volume has less space free.
	DUReserved int64

	// Blocks configures the block manager (heartbeat, dead-node,
	// replication and safe mode keys; see docs/blockmanagement.md);
	// RedundancyInterval is dfs.namenode.redundancy.interval.seconds.
	// Zero values take Hadoop's defaults.
	Blocks             blockmanagement.Config
	RedundancyInterval time.Duration

	// Mirror is the remote metadata mirror (package tablestore): the
	// active ships committed edits and images to the sink; in recovery
	// mode the NameNode loads its namespace from the sink and serves
	// read-only (docs/mirror.md).
	Mirror tablestore.Config
}

// Defaults of the tail-edits keys here (Hadoop's are 60 s and 0): the
// project's goals are a standby lag of a few ms and a failover in well
// under 300 ms.
const (
	DefaultTailPeriod     = 2 * time.Millisecond
	DefaultTailBackoffMax = time.Second
	// DefaultDUReserved is Hadoop's dfs.namenode.resource.du.reserved.
	DefaultDUReserved = 100 << 20
)

func stripFileScheme(key, d string) (string, error) {
	if rest, ok := strings.CutPrefix(d, "file://"); ok {
		d = rest
	} else if strings.Contains(d, "://") {
		return "", fmt.Errorf("namenode: %s %q: only file:// directories are supported", key, d)
	}
	if d == "" {
		return "", fmt.Errorf("namenode: %s is empty", key)
	}
	return d, nil
}

// ConfigFromConf reads the configuration of NameNode nn of nameservice ns
// ("" and "" for a non-HA cluster).
func ConfigFromConf(c *conf.Conf, ns, nn string) (Config, error) {
	var me conf.NameNode
	if ns == "" && nn == "" {
		all, err := c.AllNameNodes()
		if err != nil {
			return Config{}, err
		}
		me = all[0]
		ns, nn = me.Nameservice, me.ID
	} else {
		nns, err := c.NameNodes(ns)
		if err != nil {
			return Config{}, err
		}
		found := false
		for _, x := range nns {
			if x.ID == nn {
				me, found = x, true
			}
		}
		if !found {
			return Config{}, fmt.Errorf("namenode: no NameNode %q in nameservice %q", nn, ns)
		}
	}
	c = c.ForNameNode(ns, nn)
	cfg := Config{Conf: c, Nameservice: ns, NameNodeID: nn, RPCAddress: me.RPCAddress, HTTPAddress: me.HTTPAddress}
	dirs := c.GetStrings("dfs.namenode.name.dir")
	if len(dirs) == 0 {
		return Config{}, errors.New("namenode: dfs.namenode.name.dir is not set")
	}
	var err error
	if cfg.NameDir, err = stripFileScheme("dfs.namenode.name.dir", dirs[0]); err != nil {
		return Config{}, err
	}
	var errs []error
	geti := func(key string, def int64) int64 {
		v, err := c.GetInt(key, def)
		errs = append(errs, err)
		return v
	}
	getn := func(key string, def int) int { return int(geti(key, int64(def))) }
	// getms reads a key in milliseconds (Hadoop's getLong of a *.millis key).
	getms := func(key string, def time.Duration) time.Duration {
		return time.Duration(geti(key, def.Milliseconds())) * time.Millisecond
	}
	getb := func(key string, def bool) bool {
		v, err := c.GetBool(key, def)
		errs = append(errs, err)
		return v
	}
	getsz := func(key string, def int64) int64 {
		v, err := c.GetSize(key, def)
		errs = append(errs, err)
		return v
	}
	cfg.HandlerCount = int(geti("dfs.namenode.handler.count", 10))
	cfg.PermissionsEnabled = getb("dfs.permissions.enabled", true)
	cfg.SuperGroup = c.GetTrimmed("dfs.permissions.superusergroup", "supergroup")
	umask, uerr := parseUmask(c.GetTrimmed("fs.permissions.umask-mode", "022"))
	errs = append(errs, uerr)
	cfg.Umask = umask
	cfg.Defaults = namesystem.ServerDefaults{
		BlockSize:        uint64(getsz("dfs.blocksize", 128<<20)),
		BytesPerChecksum: uint32(geti("dfs.bytes-per-checksum", 512)),
		WritePacketSize:  uint32(geti("dfs.client-write-packet-size", 64<<10)),
		Replication:      uint32(geti("dfs.replication", 3)),
		FileBufferSize:   uint32(geti("io.file.buffer.size", 4096)),
		TrashInterval:    uint64(geti("fs.trash.interval", 0)),
	}
	cfg.Limits = namespace.DefaultLimits()
	cfg.Limits.MinReplication = uint32(geti("dfs.namenode.replication.min", 1))
	cfg.Limits.MaxReplication = uint32(geti("dfs.replication.max", 512))
	cfg.Limits.MinBlockSize = uint64(getsz("dfs.namenode.fs-limits.min-block-size", 1<<20))
	cfg.Limits.MaxComponentLength = int(geti("dfs.namenode.fs-limits.max-component-length", 255))
	cfg.Limits.MaxDirectoryItems = geti("dfs.namenode.fs-limits.max-directory-items", 1048576)
	cfg.Limits.MaxXAttrsPerINode = int(geti("dfs.namenode.fs-limits.max-xattrs-per-inode", 32))
	cfg.Limits.MaxXAttrSize = int(geti("dfs.namenode.fs-limits.max-xattr-size", 16384))
	cfg.CheckpointsRetained = int(geti("dfs.namenode.num.checkpoints.retained", 2))
	cfg.ExtraEditsRetained = geti("dfs.namenode.num.extra.edits.retained", 1000000)
	cfg.RetryCacheExpiry = getms("dfs.namenode.retrycache.expirytime.millis", 10*time.Minute)
	cfg.LeaseCheckInterval = getms("dfs.namenode.lease-recheck-interval-ms", 2*time.Second)
	getd := func(key string, def time.Duration) time.Duration {
		v, err := c.GetDuration(key, time.Second, def)
		errs = append(errs, err)
		return v
	}
	// Hadoop 3.3+ reads the hard limit from dfs.namenode.lease-hard-limit-sec
	// (hdfs-default.xml: 1200); unset, it stays at the classic 1 h.
	if _, ok := c.Get("dfs.namenode.lease-hard-limit-sec"); ok {
		cfg.HardLimit = getd("dfs.namenode.lease-hard-limit-sec", time.Hour)
	}
	cfg.TailPeriod = getd("dfs.ha.tail-edits.period", DefaultTailPeriod)
	cfg.TailBackoffMax = getd("dfs.ha.tail-edits.period.backoff-max", DefaultTailBackoffMax)
	cfg.TailInProgress = getb("dfs.ha.tail-edits.in-progress", true)
	cfg.AutoFailover = getb("dfs.ha.automatic-failover.enabled", false)
	cfg.DUReserved = getsz("dfs.namenode.resource.du.reserved", DefaultDUReserved)
	// The block manager's defaults are Hadoop's (DefaultConfig).
	bc := blockmanagement.DefaultConfig()
	bc.HeartbeatInterval = getd("dfs.heartbeat.interval", bc.HeartbeatInterval)
	bc.RecoveryTimeout = 30 * bc.HeartbeatInterval
	bc.HeartbeatRecheckInterval = getms("dfs.namenode.heartbeat.recheck-interval", bc.HeartbeatRecheckInterval)
	bc.StaleInterval = getms("dfs.namenode.stale.datanode.interval", bc.StaleInterval)
	bc.MinReplication = int(cfg.Limits.MinReplication)
	bc.MaxReplicationStreams = getn("dfs.namenode.replication.max-streams", bc.MaxReplicationStreams)
	bc.ReplicationStreamsHardLimit = getn("dfs.namenode.replication.max-streams-hard-limit", bc.ReplicationStreamsHardLimit)
	bc.WorkMultiplier = getn("dfs.namenode.replication.work.multiplier.per.iteration", bc.WorkMultiplier)
	bc.PendingReconstructionTimeout = getd("dfs.namenode.reconstruction.pending.timeout-sec", bc.PendingReconstructionTimeout)
	bc.InvalidateLimit = getn("dfs.block.invalidate.limit", bc.InvalidateLimit)
	bc.ConsiderLoad = getb("dfs.namenode.redundancy.considerLoad", bc.ConsiderLoad)
	bc.SafeModeMinDatanodes = getn("dfs.namenode.safemode.min.datanodes", bc.SafeModeMinDatanodes)
	bc.SafeModeExtension = getms("dfs.namenode.safemode.extension", bc.SafeModeExtension)
	if v := c.GetTrimmed("dfs.namenode.safemode.threshold-pct", ""); v != "" {
		// Java's Configuration.getFloat accepts "0.999f" (hdfs-default.xml).
		f, err := strconv.ParseFloat(strings.TrimRight(v, "fFdD"), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("dfs.namenode.safemode.threshold-pct %q: %w", v, err))
		}
		bc.SafeModeThresholdPct = f
	}
	if script := c.GetTrimmed("net.topology.script.file.name", ""); script != "" {
		bc.ResolveRack = blockmanagement.ScriptResolver(script, getn("net.topology.script.number.args", 100))
	}
	cfg.Blocks = bc
	cfg.RedundancyInterval = getd("dfs.namenode.redundancy.interval.seconds", 3*time.Second)
	if _, shared, err := c.SharedEditsDir(ns, nn); err != nil {
		errs = append(errs, err)
	} else if nns, err := c.NameNodes(ns); err == nil && shared && len(nns) >= 2 {
		cfg.HA = true
	}
	if cfg.Mirror, err = tablestore.ConfigFromConf(c); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("namenode: %w", err)
	}
	return cfg, nil
}

// parseUmask parses fs.permissions.umask-mode in octal ("022"); the
// symbolic form ("u=rwx,g=r-x,o=r-x") is accepted too.
func parseUmask(v string) (uint32, error) {
	if n, err := strconv.ParseUint(v, 8, 32); err == nil {
		return uint32(n) & 0o777, nil
	}
	var allowed uint32
	for _, part := range strings.Split(v, ",") {
		who, perms, ok := strings.Cut(part, "=")
		if !ok {
			return 0, fmt.Errorf("fs.permissions.umask-mode %q is not octal or symbolic", v)
		}
		var bits uint32
		for _, r := range perms {
			switch r {
			case 'r':
				bits |= 4
			case 'w':
				bits |= 2
			case 'x':
				bits |= 1
			}
		}
		for _, w := range who {
			switch w {
			case 'u':
				allowed |= bits << 6
			case 'g':
				allowed |= bits << 3
			case 'o':
				allowed |= bits
			case 'a':
				allowed |= bits<<6 | bits<<3 | bits
			}
		}
	}
	return ^allowed & 0o777, nil
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HandlerCount <= 0 {
		c.HandlerCount = 10
	}
	if c.Superuser == "" {
		c.Superuser = osUser()
	}
	if c.SuperGroup == "" {
		c.SuperGroup = "supergroup"
	}
	if c.CheckpointsRetained <= 0 {
		c.CheckpointsRetained = image.DefaultRetained
	}
	if c.Limits == (namespace.Limits{}) {
		c.Limits = namespace.DefaultLimits()
	}
	if c.Groups == nil {
		c.Groups = (&usergroups.OS{}).Groups
	}
	if c.Conf == nil {
		c.Conf = conf.New()
	}
	if c.TailPeriod <= 0 {
		c.TailPeriod = DefaultTailPeriod
	}
	if c.TailBackoffMax < 0 {
		c.TailBackoffMax = 0
	}
	if c.DUReserved == 0 {
		c.DUReserved = DefaultDUReserved
	}
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "hdfs"
}

// NameNode is the daemon.
type NameNode struct {
	cfg Config
	log *zap.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	si      StorageInfo
	ns      *namespace.Namespace
	el      *editlog.EditLog
	sys     *namesystem.Namesystem
	srv     *rpc.Server
	web     *web.Server
	served  chan struct{}
	unlock  func() error
	// startedAt is when the NameNode started serving.
	startedAt time.Time

	// trMu serializes HA transitions and Stop (Hadoop's NameNode methods
	// are synchronized). Order: trMu, then mu.
	trMu sync.Mutex
	// state is the ha.State; lastTransition the time of the last
	// transition in Unix ms. Written under trMu.
	state          atomic.Int32
	lastTransition atomic.Int64
	// reader is the EditLog the standby tails with (under trMu); on
	// becoming active it is recovered and becomes the writer (el). Each
	// active term has its own EditLog: a failed one stays failed.
	reader *editlog.EditLog
	tailer *tailer
	// tailerp mirrors tailer for monitorHealth, which takes no trMu.
	tailerp atomic.Pointer[tailer]
	// stepDown carries writer failures to haLoop, which steps down.
	stepDown chan *editlog.EditLog
	quit     chan struct{}
	quitOnce sync.Once
	haDone   chan struct{}
	// sysp mirrors sys for callbacks that must not take mu.
	sysp atomic.Pointer[namesystem.Namesystem]
	// ckpt is the running standby checkpointer (checkpointer.go).
	ckpt struct {
		sync.Mutex
		r *runningCheckpointer
	}
	// mirror is the metadata mirror (mirror.go), recovery the recovery
	// mode's progress (recovery.go).
	mirror   mirrorState
	recovery recoveryState
}

// New validates cfg and returns a NameNode that is not started.
func New(cfg Config) (*NameNode, error) {
	cfg.setDefaults()
	if cfg.NameDir == "" {
		return nil, errors.New("namenode: NameDir (dfs.namenode.name.dir) is not set")
	}
	if cfg.RPCAddress == "" {
		return nil, errors.New("namenode: RPCAddress (dfs.namenode.rpc-address) is not set")
	}
	n := &NameNode{cfg: cfg, log: cfg.Logger, stepDown: make(chan *editlog.EditLog, 4), quit: make(chan struct{})}
	n.state.Store(int32(ha.Initializing))
	return n, nil
}

func (n *NameNode) workDir() string { return filepath.Join(n.cfg.NameDir, "current", "namespace.work") }

func (n *NameNode) nsOptions() namespace.Options {
	return namespace.Options{
		Permissions: namespace.Permissions{Enabled: n.cfg.PermissionsEnabled, Superuser: n.cfg.Superuser, SuperGroup: n.cfg.SuperGroup, Groups: n.cfg.Groups},
		Limits:      n.cfg.Limits,
	}
}

// nsInfoProto is the NamespaceInfo JournalNodes check writers against.
func nsInfoProto(si StorageInfo) *hdfspb.NamespaceInfoProto {
	return &hdfspb.NamespaceInfoProto{
		BuildVersion:    proto.String("hdfsha"),
		Unused:          proto.Uint32(0),
		BlockPoolID:     proto.String(si.BlockPoolID),
		SoftwareVersion: proto.String("3.3.6"),
		StorageInfo: &hdfspb.StorageInfoProto{
			LayoutVersion: proto.Uint32(uint32(si.LayoutVersion)),
			NamespceID:    proto.Uint32(uint32(si.NamespaceID)),
			ClusterID:     proto.String(si.ClusterID),
			CTime:         proto.Uint64(uint64(si.CTime)),
		},
	}
}

// Start loads the newest image, replays the edits, and serves. It returns
// once the RPC and HTTP servers listen. Without HA the NameNode recovers
// the journal and becomes active at once; in an HA nameservice it reads
// every durable edit without taking an epoch and starts in standby,
// tailing the journal until TransitionToActive.
func (n *NameNode) Start(ctx context.Context) (err error) {
	n.trMu.Lock()
	defer n.trMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("namenode: already started")
	}
	n.started = true
	defer func() {
		if err != nil {
			n.stopTailerLocked()
			n.closeLocked()
		}
	}()
	if n.cfg.Mirror.RecoveryMode {
		return n.startRecoveryLocked(ctx)
	}
	si, err := ReadVersion(n.cfg.NameDir)
	if err != nil {
		return fmt.Errorf("namenode: %w", err)
	}
	if n.unlock, err = lockNameDir(n.cfg.NameDir); err != nil {
		return fmt.Errorf("namenode: %w", err)
	}
	n.si = si
	n.openMirrorLocked()
	// The newest image is verified once (every file's SHA-256), then copied
	// into the working directory and opened.
	img, ns, err := image.LoadNewest(n.cfg.NameDir, n.workDir(), n.nsOptions())
	if err != nil {
		return fmt.Errorf("namenode: load image from %s: %w", n.cfg.NameDir, err)
	}
	n.log.Info("loaded image", zap.String("image", img.Path), zap.Int64("txid", img.TxID))
	n.ns = ns
	if info := ns.Info(); info.ClusterID != si.ClusterID || info.NamespaceID != si.NamespaceID || info.BlockPoolID != si.BlockPoolID {
		return fmt.Errorf("namenode: image %s belongs to cluster %s namespace %d block pool %s, but %s says cluster %s namespace %d block pool %s",
			img.Path, info.ClusterID, info.NamespaceID, info.BlockPoolID, versionPath(n.cfg.NameDir), si.ClusterID, si.NamespaceID, si.BlockPoolID)
	}
	el, err := n.openEditLog()
	if err != nil {
		return err
	}
	scfg := n.namesystemConfig(ns, si, false)
	scfg.HA, scfg.OnWriterFailed = n.cfg.HA, n.onWriterFailed
	if n.cfg.HA {
		n.reader = el
	} else {
		n.el = el
		scfg.EditLog = el
	}
	s, err := namesystem.New(scfg)
	if err != nil {
		el.Close()
		n.reader, n.el = nil, nil
		return err
	}
	n.sys = s
	n.sysp.Store(s)
	if n.cfg.HA {
		// Standby: every durable edit, no epoch. A journal that cannot be
		// read yet does not stop the start (the tailer retries, and
		// monitorHealth reports it), as Hadoop's standby starts anyway.
		last, _, err := s.Tail(ctx, el)
		if err != nil {
			n.log.Warn("catching up at start failed; the tailer retries", zap.Error(err))
		}
		n.log.Info("namespace loaded; standby", zap.Int64("image", img.TxID), zap.Int64("lastTxId", last))
	} else {
		last, err := s.Replay(ctx)
		if err != nil {
			return fmt.Errorf("namenode: %w", err)
		}
		n.log.Info("namespace loaded", zap.Int64("image", img.TxID), zap.Int64("lastTxId", last))
	}

	srv, err := n.newRPCServerLocked(s)
	if err != nil {
		return err
	}
	if n.cfg.HTTPAddress != "" {
		w, err := web.New(web.Config{Address: n.cfg.HTTPAddress, Logger: n.log.Named("web")})
		if err != nil {
			return fmt.Errorf("namenode: http server: %w", err)
		}
		n.registerWeb(w)
		if err := w.Start(ctx); err != nil {
			return fmt.Errorf("namenode: http server at %s: %w", n.cfg.HTTPAddress, err)
		}
		n.web = w
	}
	s.Start()
	n.startedAt = n.cfg.Now()
	n.served = make(chan struct{})
	go func() {
		defer close(n.served)
		srv.Serve()
	}()
	if n.cfg.HA {
		n.haDone = make(chan struct{})
		go n.haLoop()
		n.startTailerLocked()
		n.state.Store(int32(ha.Standby))
		n.startCheckpointer()
		n.log.Info("NameNode standby", zap.String("rpc", srv.Addr().String()), zap.String("http", n.httpAddressLocked()), zap.String("clusterId", si.ClusterID))
		return nil
	}
	n.state.Store(int32(ha.Active))
	n.startShipperLocked()
	n.log.Info("NameNode active", zap.String("rpc", srv.Addr().String()), zap.String("http", n.httpAddressLocked()), zap.String("clusterId", si.ClusterID))
	return nil
}

// newRPCServerLocked creates the RPC server (n.srv) with every protocol
// the NameNode serves registered; the caller starts serving it.
func (n *NameNode) newRPCServerLocked(s *namesystem.Namesystem) (*rpc.Server, error) {
	rcfg := rpc.DefaultServerConfig()
	rcfg.Addr = n.cfg.RPCAddress
	rcfg.HandlerCount = n.cfg.HandlerCount
	rcfg.Logger = n.log.Named("rpc")
	srv, err := rpc.NewServer(rcfg)
	if err != nil {
		return nil, fmt.Errorf("namenode: rpc server at %s: %w", n.cfg.RPCAddress, err)
	}
	n.srv = srv
	s.Register(srv)
	s.RegisterDatanodeProtocol(srv)
	n.registerHAService(srv)
	n.registerNamenodeProtocol(srv)
	return srv, nil
}

// openEditLog opens a new EditLog over a new journal client: the reader
// a standby tails with, which becomes the writer of the next active term.
// Its fatal journal errors go to the namesystem (WriterFailed).
func (n *NameNode) openEditLog() (*editlog.EditLog, error) {
	var j editlog.Journal
	if n.cfg.HA {
		qcfg, err := qjm.ConfigFromConf(n.cfg.Conf, n.cfg.Nameservice, n.cfg.NameNodeID, nsInfoProto(n.si))
		if err != nil {
			return nil, fmt.Errorf("namenode: journal: %w", err)
		}
		qcfg.InProgressRPC = n.cfg.TailInProgress
		qcfg.Logger = n.log.Named("qjm")
		m, err := qjm.NewManager(qcfg)
		if err != nil {
			return nil, fmt.Errorf("namenode: journal: %w", err)
		}
		j = editlog.NewQJMJournal(m)
	} else {
		var err error
		j, err = editlog.JournalFromConf(n.cfg.Conf, n.cfg.Nameservice, n.cfg.NameNodeID, nsInfoProto(n.si), vfs.Default, n.log)
		if err != nil {
			return nil, fmt.Errorf("namenode: journal: %w", err)
		}
	}
	var self atomic.Pointer[editlog.EditLog]
	el, err := editlog.Open(j, editlog.Options{Logger: n.log.Named("editlog"), OnFatal: func(err error) {
		if s := n.namesystem(); s != nil {
			s.WriterFailed(self.Load(), err)
		}
	}})
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("namenode: edit log: %w", err)
	}
	self.Store(el)
	return el, nil
}

// namesystem returns the namesystem without n.mu: it is set once in
// Start, before any EditLog can fail.
func (n *NameNode) namesystem() *namesystem.Namesystem { return n.sysp.Load() }

// onFailed stops serving after a journal failure: nothing more is answered.
func (n *NameNode) onFailed(err error) {
	n.log.Error("journal failure: the NameNode stops serving", zap.Error(err))
	n.mu.Lock()
	srv := n.srv
	n.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Failed returns the namesystem's failure (nil while healthy).
func (n *NameNode) Failed() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sys == nil {
		return nil
	}
	return n.sys.Failed()
}

// Stop stops everything Start started. Safe after a failed Start, and
// more than once.
func (n *NameNode) Stop() error {
	n.quitOnce.Do(func() { close(n.quit) })
	n.mu.Lock()
	haDone := n.haDone
	n.mu.Unlock()
	if haDone != nil {
		<-haDone // a step-down in progress finishes first
	}
	// The RPC server first, without trMu: its Close waits for handlers,
	// and a transitionToActive handler may be waiting for trMu.
	n.mu.Lock()
	srv, served := n.srv, n.served
	n.mu.Unlock()
	if srv != nil {
		srv.Close()
		if served != nil {
			<-served
		}
	}
	n.stopCheckpointer()
	n.trMu.Lock()
	defer n.trMu.Unlock()
	n.stopTailerLocked()
	n.stopShipperLocked()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started && !n.stopped {
		n.state.Store(int32(ha.Stopping))
	}
	return n.closeLocked()
}

func (n *NameNode) closeLocked() error {
	if n.stopped {
		return nil
	}
	n.stopped = true
	var errs []error
	if n.srv != nil {
		if err := n.srv.Close(); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
			errs = append(errs, err)
		}
		if n.served != nil {
			<-n.served
		}
	}
	if n.web != nil {
		errs = append(errs, n.web.Stop())
	}
	if n.sys != nil {
		errs = append(errs, n.sys.Close())
	}
	if n.el != nil {
		if err := n.el.Close(); err != nil && n.sys != nil && n.sys.Failed() == nil && n.el.Failed() == nil {
			errs = append(errs, err)
		}
	}
	if n.reader != nil {
		errs = append(errs, n.reader.Close())
	}
	if n.ns != nil {
		errs = append(errs, n.ns.Close())
	}
	errs = append(errs, n.closeMirror())
	if n.unlock != nil {
		errs = append(errs, n.unlock())
	}
	return errors.Join(errs...)
}

// RPCAddress is the address the RPC server listens on.
func (n *NameNode) RPCAddress() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return n.cfg.RPCAddress
	}
	return n.srv.Addr().String()
}

// HTTPAddress is the address the HTTP server listens on.
func (n *NameNode) HTTPAddress() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.httpAddressLocked()
}

func (n *NameNode) httpAddressLocked() string {
	if n.web == nil {
		return n.cfg.HTTPAddress
	}
	return n.web.Address()
}

// Namesystem returns the namesystem (nil before Start).
func (n *NameNode) Namesystem() *namesystem.Namesystem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sys
}

// StorageInfo returns the VERSION the NameNode runs with.
func (n *NameNode) StorageInfo() StorageInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.si
}

// saveImage is saveNamespace's image step (called under the namesystem
// write lock, after the edits rolled): save, keep the retained images,
// and purge edits older than the oldest one, keeping the extra edits.
func (n *NameNode) saveImage(ctx context.Context, ns *namespace.Namespace) error {
	info, err := image.Save(ns, n.cfg.NameDir, n.log.Named("image"))
	if err != nil {
		return err
	}
	n.log.Info("saved namespace image", zap.String("image", info.Path), zap.Int64("txid", info.TxID))
	// Only the active purges the shared journal (a standby saves what it
	// tailed and leaves the edits alone): EditLog is nil unless active.
	return n.purgeOldStorage(ctx, n.namesystem().EditLog())
}

func (n *NameNode) registerWeb(w *web.Server) {
	w.ServeImages(n.imageStore())
	// fsck reads the namespace a page at a time under the read lock, as a
	// client read (refused on a standby).
	w.Handle("/fsck", fsck.Handler(fsck.Config{
		Namespace: &fsck.NamespaceWalker{Read: func(ctx context.Context, fn func(*namespace.Namespace) error) error {
			return n.sys.ReadNamespace(ctx, fn)
		}},
		Blocks:    n.sys.FsckBlocks(),
		Superuser: func(user string) bool { return !n.cfg.PermissionsEnabled || n.sys.IsSuperuser(user) },
		Logger:    n.log.Named("fsck"),
	}))
	n.registerStatusBean(w)
	w.RegisterBean("Hadoop:service=NameNode,name=FSNamesystem", func() map[string]any {
		st := n.sys.Stats()
		b := st.Blocks
		lastCkpt, sinceCkpt := n.checkpointFigures()
		return map[string]any{
			"tag.HAState": n.HAState().String(), "FilesTotal": st.FilesTotal + st.DirsTotal, "TotalLoad": 0, "BlocksTotal": b.Blocks,
			"CapacityTotal": b.Capacity, "CapacityUsed": b.DfsUsed, "CapacityRemaining": b.Remaining, "CapacityUsedNonDFS": b.NonDfsUsed,
			"NumLiveDataNodes": b.Live, "NumDeadDataNodes": b.Dead,
			"LastWrittenTransactionId": st.LastTxID, "TransactionsSinceLastCheckpoint": sinceCkpt, "LastCheckpointTime": lastCkpt,
			"UnderReplicatedBlocks": b.UnderReplicated, "CorruptBlocks": b.Corrupt, "MissingBlocks": b.Missing,
			"MissingReplOneBlocks": b.MissingReplOne, "PendingDeletionBlocks": b.PendingDeletion,
			"PendingReplicationBlocks": b.PendingReconstruction,
		}
	})
	w.RegisterBean("Hadoop:service=NameNode,name=NameNodeInfo", func() map[string]any {
		si := n.StorageInfo()
		st := n.sys.Stats()
		b := st.Blocks
		return map[string]any{"modelerType": "org.apache.hadoop.hdfs.server.namenode.FSNamesystem", "ClusterId": si.ClusterID, "BlockPoolId": si.BlockPoolID,
			"Safemode": safeModeText(st.SafeMode), "Total": b.Capacity, "Free": b.Remaining, "Used": b.DfsUsed, "NonDfsUsedSpace": b.NonDfsUsed,
			"TotalBlocks": b.Blocks, "TotalFiles": st.FilesTotal + st.DirsTotal, "NumberOfMissingBlocks": b.Missing}
	})
	w.RegisterGauge("namenode_files_total", "Files and directories in the namespace.", func() float64 { st := n.sys.Stats(); return float64(st.FilesTotal + st.DirsTotal) })
	w.RegisterGauge("namenode_last_written_txid", "Last txid logged.", func() float64 { return float64(n.sys.Stats().LastTxID) })
	w.RegisterGauge("namenode_synced_txid", "Last txid durable in the journal.", func() float64 { return float64(n.sys.Stats().SyncedTxID) })
	w.RegisterGauge("namenode_open_files", "Files under construction with a lease.", func() float64 { return float64(n.sys.Stats().OpenFiles) })
	w.RegisterGauge("namenode_ha_state", "HA state: 0 initializing or stopping, 1 active, 2 standby (HAServiceStateProto numbers).", func() float64 {
		return float64(n.HAState().Proto())
	})
	w.RegisterGauge("namenode_applied_txid", "Last txid applied to the namespace (a standby's tailing progress).", func() float64 {
		return float64(n.sys.Stats().LastTxID)
	})
	gauge := func(name, help string, f func(b blockmanagement.Summary) int64) {
		w.RegisterGauge(name, help, func() float64 { return float64(f(n.sys.Stats().Blocks)) })
	}
	gauge("namenode_blocks_total", "Blocks in the block map.", func(b blockmanagement.Summary) int64 { return b.Blocks })
	gauge("namenode_live_datanodes", "DataNodes alive (heartbeating).", func(b blockmanagement.Summary) int64 { return int64(b.Live) })
	gauge("namenode_dead_datanodes", "DataNodes declared dead.", func(b blockmanagement.Summary) int64 { return int64(b.Dead) })
	gauge("namenode_capacity_bytes", "Configured capacity of the live DataNodes.", func(b blockmanagement.Summary) int64 { return b.Capacity })
	gauge("namenode_capacity_remaining_bytes", "Remaining capacity of the live DataNodes.", func(b blockmanagement.Summary) int64 { return b.Remaining })
	gauge("namenode_under_replicated_blocks", "Blocks waiting for re-replication.", func(b blockmanagement.Summary) int64 { return b.UnderReplicated })
	gauge("namenode_missing_blocks", "Blocks with no live replica.", func(b blockmanagement.Summary) int64 { return b.Missing })
	gauge("namenode_corrupt_blocks", "Blocks with a corrupt replica.", func(b blockmanagement.Summary) int64 { return b.Corrupt })
	n.registerMirrorWeb(w)
	w.RegisterGauge("namenode_safe_mode", "1 in safe mode.", func() float64 {
		if n.sys.Stats().SafeMode {
			return 1
		}
		return 0
	})
}

func safeModeText(on bool) string {
	if on {
		return "Safe mode is ON."
	}
	return ""
}

// ---- format ----

// FormatOptions are `hdfs namenode -format`'s switches.
type FormatOptions struct {
	ClusterID      string
	Force          bool
	NonInteractive bool
	// In answers the confirmation prompt, Err receives the prompt and
	// notices (Hadoop prints them to stderr).
	In  io.Reader
	Err io.Writer
}

// ErrFormatAborted: the operator declined, or -nonInteractive met data.
var ErrFormatAborted = errors.New("namenode: format aborted")

// confirmFormat is Hadoop's Storage.confirmFormat for one directory.
func confirmFormat(dir string, o FormatOptions) (bool, error) {
	return confirmFormatOf(fmt.Sprintf("Storage Directory root= %s; location= null", dir), hasData(dir), o)
}

// confirmFormatOf asks about one storage (sd is how Hadoop names it) that
// has data or not.
func confirmFormatOf(sd string, data bool, o FormatOptions) (bool, error) {
	if !data {
		return true, nil
	}
	if o.Force {
		fmt.Fprintf(o.Err, "Data exists in %s. Formatting anyway.\n", sd)
		return true, nil
	}
	if o.NonInteractive {
		fmt.Fprintf(o.Err, "Running in non-interactive mode, and data appears to exist in %s. Not formatting.\n", sd)
		return false, nil
	}
	for {
		fmt.Fprintf(o.Err, "Re-format filesystem in %s ? (Y or N) ", sd)
		var ans string
		if _, err := fmt.Fscanln(o.In, &ans); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			if ans == "" {
				continue
			}
		}
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			fmt.Fprintln(o.Err, "Format aborted in", sd)
			return false, nil
		}
		fmt.Fprintln(o.Err, "Invalid input:", ans)
	}
}

// Format formats the name directory and the journal: VERSION, an empty
// namespace saved as image txid 0, and the JournalNodes (HA) or the local
// edits directory. It returns ErrFormatAborted when it did not format.
// dfs.namenode.support.allow.format=false refuses, as in Hadoop.
func Format(ctx context.Context, cfg Config, o FormatOptions) (StorageInfo, error) {
	cfg.setDefaults()
	if err := checkAllowFormat(cfg.Conf); err != nil {
		return StorageInfo{}, err
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	log := cfg.Logger
	qj, ha, err := cfg.Conf.SharedEditsDir(cfg.Nameservice, cfg.NameNodeID)
	if err != nil {
		return StorageInfo{}, err
	}
	var editsDir string
	if !ha {
		if editsDir, err = editlog.EditsDirFromConf(cfg.Conf); err != nil {
			return StorageInfo{}, err
		}
	}
	ok, err := confirmFormat(cfg.NameDir, o)
	if err != nil || !ok {
		return StorageInfo{}, errors.Join(ErrFormatAborted, err)
	}
	unlock, err := lockNameDir(cfg.NameDir)
	if err != nil {
		return StorageInfo{}, fmt.Errorf("namenode: %w", err)
	}
	defer unlock()
	if editsDir != "" && filepath.Clean(editsDir) != filepath.Clean(cfg.NameDir) {
		if ok, err = confirmFormat(editsDir, o); err != nil || !ok {
			return StorageInfo{}, errors.Join(ErrFormatAborted, err)
		}
	}
	now := cfg.Now()
	si, err := NewStorageInfo(o.ClusterID, now)
	if err != nil {
		return StorageInfo{}, err
	}
	var m *qjm.Manager
	if ha {
		qcfg, err := qjm.ConfigFromConf(cfg.Conf, cfg.Nameservice, cfg.NameNodeID, nsInfoProto(si))
		if err != nil {
			return StorageInfo{}, err
		}
		qcfg.Logger = log.Named("qjm")
		if m, err = qjm.NewManager(qcfg); err != nil {
			return StorageInfo{}, err
		}
		defer m.Close()
		data, err := m.HasSomeData(ctx)
		if err != nil {
			return StorageInfo{}, fmt.Errorf("namenode: %w", err)
		}
		// Hadoop names a quorum journal "QJM to [host:port, ...]".
		if ok, err = confirmFormatOf("QJM to ["+strings.Join(qj.Hosts, ", ")+"]", data, o); err != nil || !ok {
			return StorageInfo{}, errors.Join(ErrFormatAborted, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(cfg.NameDir, "current")); err != nil {
		return StorageInfo{}, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.NameDir, "current"), 0o755); err != nil {
		return StorageInfo{}, err
	}
	// The journal first: a refused journal leaves no VERSION behind.
	if ha {
		if err := m.Format(ctx, true); err != nil {
			return StorageInfo{}, fmt.Errorf("namenode: format journal: %w", err)
		}
	} else {
		if err := os.RemoveAll(filepath.Join(editsDir, "current")); err != nil {
			return StorageInfo{}, err
		}
		j, err := editlog.OpenLocal(vfs.Default, editsDir, log)
		if err != nil {
			return StorageInfo{}, err
		}
		j.Close()
	}
	work := filepath.Join(cfg.NameDir, "current", "namespace.work")
	ns, err := namespace.Open(work, namespace.Options{CacheSize: 8 << 20})
	if err != nil {
		return StorageInfo{}, err
	}
	err = ns.Format(namespace.NamespaceInfo{NamespaceID: si.NamespaceID, ClusterID: si.ClusterID, BlockPoolID: si.BlockPoolID, CTime: si.CTime},
		&editpb.Permission{Mode: 0o755, Owner: cfg.Superuser, Group: cfg.SuperGroup}, now.UnixMilli())
	if err == nil {
		_, err = image.Save(ns, cfg.NameDir, log.Named("image"))
	}
	err = errors.Join(err, ns.Close(), os.RemoveAll(work))
	if err != nil {
		return StorageInfo{}, fmt.Errorf("namenode: format namespace: %w", err)
	}
	// VERSION last: its presence means the directory is formatted.
	if err := WriteVersion(cfg.NameDir, si, now); err != nil {
		return StorageInfo{}, err
	}
	log.Info(fmt.Sprintf("Storage directory %s has been successfully formatted.", cfg.NameDir))
	log.Info("formatted", zap.String("nameDir", cfg.NameDir), zap.String("clusterId", si.ClusterID), zap.String("blockPoolId", si.BlockPoolID), zap.Int32("namespaceId", si.NamespaceID))
	return si, nil
}

// HAState is the NameNode's HA state.
func (n *NameNode) HAState() ha.State { return ha.State(n.state.Load()) }

// LastHATransitionTime is when the NameNode last changed HA state (zero
// before its first transition; startup is not one, as in Hadoop).
func (n *NameNode) LastHATransitionTime() time.Time {
	ms := n.lastTransition.Load()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// AppliedTxID is the namespace's last applied txid (0 before Start).
func (n *NameNode) AppliedTxID() int64 {
	if s := n.namesystem(); s != nil {
		return s.AppliedTxID()
	}
	return 0
}

// setState records a transition. Called under trMu.
func (n *NameNode) setState(st ha.State) {
	n.state.Store(int32(st))
	n.lastTransition.Store(n.cfg.Now().UnixMilli())
}

// ---- HA transitions ----

// TransitionToActive makes a standby active: stop checkpointing and
// tailing, read to the end of the journal, recover it with a new epoch
// (fencing every older writer), read what recovery finalized, open a new
// segment at the next txid, and serve with lease management. Already
// active: a no-op success. On failure the NameNode stays standby, tailing
// again with a fresh reader, and the error is a ServiceFailedException.
func (n *NameNode) TransitionToActive(ctx context.Context, source commonpb.HARequestSource) error {
	n.trMu.Lock()
	defer n.trMu.Unlock()
	n.log.Info("transition to active requested", zap.Stringer("source", source), zap.Stringer("state", n.HAState()))
	if !n.cfg.HA {
		return rpc.Errorf(rpc.ErrServiceFailed, "HA for namenode is not enabled")
	}
	return n.transitionLocked(ctx, ha.Active)
}

// TransitionToStandby makes an active NameNode standby: refuse client
// calls, close the writer (syncing and finalizing its segment), reload
// the namespace from the newest image if the writer had failed with edits
// applied but not durable, open a fresh reader and tail again. Already
// standby: a no-op success.
func (n *NameNode) TransitionToStandby(ctx context.Context, source commonpb.HARequestSource) error {
	n.trMu.Lock()
	defer n.trMu.Unlock()
	n.log.Info("transition to standby requested", zap.Stringer("source", source), zap.Stringer("state", n.HAState()))
	if !n.cfg.HA {
		return rpc.Errorf(rpc.ErrServiceFailed, "HA for namenode is not enabled")
	}
	if err := n.checkRecoveryTransition(); err != nil {
		return err
	}
	return n.transitionLocked(ctx, ha.Standby)
}

// transition is one run of the steps ha.Plan returned.
type transition struct {
	n *NameNode
	// writer is the EditLog StopActiveServices detached, for CloseWriter
	// and ReloadNamespace.
	writer *editlog.EditLog
	// bestEffort: CatchUp errors are logged, not returned (stepping down:
	// the tailer retries).
	bestEffort bool
}

func (n *NameNode) transitionLocked(ctx context.Context, to ha.State) error {
	from := n.HAState()
	if from == ha.Initializing || from == ha.Stopping {
		return rpc.Errorf(rpc.ErrServiceFailed, "NameNode is %s", from)
	}
	steps, err := ha.Plan(from, to)
	if err != nil {
		return rpc.Errorf(rpc.ErrServiceFailed, "%s", err.Error())
	}
	if steps == nil {
		return nil
	}
	start := time.Now()
	tr := &transition{n: n, bestEffort: to == ha.Standby}
	for _, st := range steps {
		if err := tr.run(ctx, st); err != nil {
			n.log.Error("HA transition failed", zap.Stringer("from", from), zap.Stringer("to", to), zap.Stringer("step", st), zap.Error(err))
			if to == ha.Active {
				n.backToStandbyLocked(ctx)
			}
			return rpc.Errorf(rpc.ErrServiceFailed, "Failed to transition from %s to %s at step %q: %v", from, to, st.String(), err)
		}
	}
	n.setState(to)
	n.log.Info("HA state changed", zap.Stringer("from", from), zap.Stringer("to", to), zap.Int64("txid", n.AppliedTxID()), zap.Duration("took", time.Since(start)))
	return nil
}

func (t *transition) run(ctx context.Context, st ha.Step) error {
	n := t.n
	sys := n.namesystem()
	switch st {
	case ha.StopCheckpointer:
		n.stopCheckpointer()
	case ha.StopTailing:
		n.stopTailerLocked()
	case ha.CatchUp, ha.CatchUpRecovered:
		n.mu.Lock()
		r := n.reader
		n.mu.Unlock()
		if _, _, err := sys.Tail(ctx, r); err != nil {
			if !t.bestEffort {
				return err
			}
			n.log.Warn("catching up before tailing failed; the tailer retries", zap.Error(err))
		}
	case ha.RecoverJournal:
		n.mu.Lock()
		r := n.reader
		n.mu.Unlock()
		return r.Recover(ctx)
	case ha.OpenSegment:
		n.mu.Lock()
		r := n.reader
		n.mu.Unlock()
		if err := sys.StartActive(ctx, r); err != nil {
			return err
		}
		n.mu.Lock()
		n.el, n.reader = r, nil
		n.mu.Unlock()
	case ha.StartActiveServices:
		// StartActive rebuilt the leases; the monitor acts while active.
		n.startShipperLocked()
	case ha.StopActiveServices:
		n.stopShipperLocked()
		t.writer = sys.StopActive()
	case ha.CloseWriter:
		if t.writer != nil {
			if err := t.writer.Close(); err != nil {
				n.log.Warn("closing the writer", zap.Error(err))
			}
		}
		n.mu.Lock()
		n.el = nil
		n.mu.Unlock()
	case ha.ReloadNamespace:
		if !sys.NeedsReload(t.writer) {
			return nil
		}
		n.log.Warn("the namespace holds edits the journal refused; reloading it from the newest image")
		ns, err := sys.ReloadNamespace(func() (*namespace.Namespace, error) {
			_, ns, err := image.LoadNewest(n.cfg.NameDir, n.workDir(), n.nsOptions())
			return ns, err
		})
		n.mu.Lock()
		n.ns = ns
		n.mu.Unlock()
		return err
	case ha.OpenReader:
		r, err := n.openEditLog()
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.reader = r
		n.mu.Unlock()
	case ha.StartTailing:
		n.startTailerLocked()
	case ha.StartCheckpointer:
		n.startCheckpointer()
	default:
		return fmt.Errorf("namenode: step %v is not a transition step", st)
	}
	return nil
}

// backToStandbyLocked undoes a failed transition to active: the namesystem
// refuses calls, the reader (which may hold an epoch) is closed, and a
// fresh reader tails again.
func (n *NameNode) backToStandbyLocked(ctx context.Context) {
	n.stopShipperLocked()
	sys := n.namesystem()
	w := sys.StopActive()
	n.mu.Lock()
	r := n.reader
	n.reader, n.el = nil, nil
	n.mu.Unlock()
	for _, el := range []*editlog.EditLog{w, r} {
		if el != nil {
			el.Close()
		}
	}
	if sys.NeedsReload(w) {
		tr := &transition{n: n, writer: w}
		if err := tr.run(ctx, ha.ReloadNamespace); err != nil {
			n.log.Error("reloading the namespace after a failed transition", zap.Error(err))
		}
	}
	r, err := n.openEditLog()
	if err != nil {
		n.log.Error("cannot reopen the journal reader; not tailing", zap.Error(err))
		return
	}
	n.mu.Lock()
	n.reader = r
	n.mu.Unlock()
	n.startTailerLocked()
	n.startCheckpointer()
}

// onWriterFailed is the namesystem's OnWriterFailed: haLoop steps down.
func (n *NameNode) onWriterFailed(el *editlog.EditLog, err error) {
	select {
	case n.stepDown <- el:
	default:
		n.log.Warn("step-down already pending", zap.Error(err))
	}
}

// haLoop steps down when the writer's journal fails (an old active
// fenced by a newer one). It runs from Start to Stop.
func (n *NameNode) haLoop() {
	defer close(n.haDone)
	for {
		select {
		case <-n.quit:
			return
		case el := <-n.stepDown:
			n.trMu.Lock()
			n.mu.Lock()
			current := n.el == el
			n.mu.Unlock()
			if current && n.HAState() == ha.Active {
				n.log.Warn("the journal refused this NameNode's writes; stepping down to standby")
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if err := n.transitionLocked(ctx, ha.Standby); err != nil {
					n.log.Error("stepping down failed", zap.Error(err))
				}
				cancel()
			}
			n.trMu.Unlock()
		}
	}
}
