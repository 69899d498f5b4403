package namesystem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ServerDefaults are the values getServerDefaults answers.
type ServerDefaults struct {
	BlockSize        uint64
	BytesPerChecksum uint32
	WritePacketSize  uint32
	Replication      uint32
	FileBufferSize   uint32
	TrashInterval    uint64
}

// DefaultServerDefaults returns Hadoop's defaults.
func DefaultServerDefaults() ServerDefaults {
	return ServerDefaults{BlockSize: 128 << 20, BytesPerChecksum: 512, WritePacketSize: 64 << 10, Replication: 3, FileBufferSize: 4096}
}

// Config configures a Namesystem.
type Config struct {
	// Namespace and EditLog are owned by the caller, who closes them after
	// the Namesystem. The edit log must be writing (StartWriting) before
	// the first mutation. With HA set, EditLog is nil: the namesystem
	// starts in standby and StartActive hands it a writer.
	Namespace *namespace.Namespace
	EditLog   *editlog.EditLog
	// HA starts the namesystem in standby (every checked call refused
	// with StandbyException) and makes a journal failure a step-down
	// (OnWriterFailed) instead of a permanent failure.
	HA bool
	// OnWriterFailed (HA) is called once per writer EditLog, from a
	// goroutine of its own, when its journal failed (e.g. fenced by a
	// newer writer). The namesystem already refuses calls; the daemon
	// must step down (StopActive, close the log, ReloadNamespace if
	// NeedsReload).
	OnWriterFailed func(el *editlog.EditLog, err error)
	// State reports the daemon's HA state (getHAServiceState and the
	// StandbyException text); nil: active or standby as the namesystem is.
	State  func() ha.State
	Logger *zap.Logger
	// Now is the clock (time.Now when nil); tests pass a fake one.
	Now func() time.Time
	// Superuser is the NameNode's own user; Permissions of the namespace
	// follow it, this is used for the superuser-only calls.
	Superuser  string
	SuperGroup string
	// PermissionsEnabled is dfs.permissions.enabled.
	PermissionsEnabled bool
	// Groups maps a user to its groups (nil: none).
	Groups func(user string) []string
	// Umask is fs.permissions.umask-mode.
	Umask    uint32
	Defaults ServerDefaults
	// SoftLimit and HardLimit are the lease limits (60 s, 1 h);
	// LeaseCheckInterval is how often the monitor looks (2 s).
	SoftLimit, HardLimit, LeaseCheckInterval time.Duration
	// RetryCacheExpiry is dfs.namenode.retrycache.expirytime.millis (10 min).
	RetryCacheExpiry time.Duration
	// SaveImage writes an image of ns at its last applied txid
	// (saveNamespace); nil refuses saveNamespace. It runs under the write lock.
	SaveImage func(ctx context.Context, ns *namespace.Namespace) error
	// OnFailed is called once, from a goroutine of its own, when the
	// namesystem fails (the daemon stops serving).
	OnFailed func(error)
	// HostName appears in safe mode messages.
	HostName string

	// Blocks configures the block manager (zero: Hadoop's defaults).
	Blocks blockmanagement.Config
	// RedundancyInterval is dfs.namenode.redundancy.interval.seconds (3 s):
	// how often the replication monitor schedules work.
	RedundancyInterval time.Duration
	// VersionInfo answers DatanodeProtocol.versionRequest (the namespace
	// info a DataNode checks before registering); nil refuses it.
	VersionInfo func() *hdfspb.NamespaceInfoProto

	// ReadOnly is the recovery mode (readonly.go): there is never a
	// writer (EditLog is nil), edits are loaded with Tail, StartReadOnly
	// serves as the active, and every mutation is refused with
	// ReadOnlyMessage. No lease monitor runs.
	ReadOnly bool
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Defaults == (ServerDefaults{}) {
		c.Defaults = DefaultServerDefaults()
	}
	if c.SoftLimit == 0 {
		c.SoftLimit = 60 * time.Second
	}
	if c.HardLimit == 0 {
		c.HardLimit = time.Hour
	}
	if c.LeaseCheckInterval == 0 {
		c.LeaseCheckInterval = 2 * time.Second
	}
	if c.RetryCacheExpiry == 0 {
		c.RetryCacheExpiry = 10 * time.Minute
	}
	if c.HostName == "" {
		c.HostName, _ = os.Hostname()
	}
	if c.Blocks.HeartbeatInterval == 0 {
		c.Blocks = blockmanagement.DefaultConfig()
	}
	if c.RedundancyInterval == 0 {
		c.RedundancyInterval = 3 * time.Second
	}
}

// Namesystem serves the client protocol over a namespace and an edit log.
type Namesystem struct {
	cfg Config
	log *zap.Logger

	// mu is the namesystem lock: write for Prepare through Apply, read for
	// reads. Never held while waiting for a sync.
	mu sync.RWMutex
	// ns is guarded by mu (ReloadNamespace replaces it); nsp mirrors it
	// for lock-free readers (Stats, Namespace).
	ns  *namespace.Namespace
	nsp atomic.Pointer[namespace.Namespace]
	// el is the writer, guarded by mu: set while active, nil in standby.
	// elp mirrors it for lock-free readers (EditLog, Stats).
	el  *editlog.EditLog
	elp atomic.Pointer[editlog.EditLog]
	// active: checked calls are served. Set under mu; cleared under mu,
	// or without it by a writer failure (which must not take mu: the
	// editlog may report it from under the lock).
	active atomic.Bool
	// notifiedEL is the writer whose failure OnWriterFailed was told.
	notifiedEL atomic.Pointer[editlog.EditLog]
	// bm is the block manager, guarded by mu (write lock: every call
	// may change it). It also holds the safe mode, startup and manual.
	bm *blockmanagement.Manager
	// bmStarted: the startup safe mode was entered (after the first
	// replay or tail). Set under mu; the tailer checks it without.
	bmStarted atomic.Bool

	failMu   sync.Mutex
	failed   error
	failOnce sync.Once

	// replicasChanged is closed (and replaced) when DataNodes report
	// replicas received or deleted; complete waits on it. Guarded by mu.
	replicasChanged chan struct{}

	leases *leaseManager
	cache  *retryCache

	stop chan struct{}
	// baseCtx is cancelled by Close; the monitor's syncs use it.
	baseCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// startOnce guards the monitor start.
	startOnce sync.Once
	closeOnce sync.Once
}

// ErrFailed marks calls refused because the namesystem failed.
var ErrFailed = errors.New("namesystem: failed")

// New returns a Namesystem. Call Replay (startup) before serving, and
// Start to run the lease monitor; Close stops it.
func New(cfg Config) (*Namesystem, error) {
	if cfg.Namespace == nil || (cfg.EditLog == nil && !cfg.HA && !cfg.ReadOnly) {
		return nil, errors.New("namesystem: Namespace and EditLog are required")
	}
	cfg.setDefaults()
	s := &Namesystem{
		cfg:             cfg,
		ns:              cfg.Namespace,
		el:              cfg.EditLog,
		log:             cfg.Logger,
		leases:          newLeaseManager(),
		replicasChanged: make(chan struct{}),
		cache:           newRetryCache(cfg.RetryCacheExpiry),
		stop:            make(chan struct{}),
	}
	s.nsp.Store(cfg.Namespace)
	s.elp.Store(cfg.EditLog)
	bm, err := s.newBlockManager(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("namesystem: load the block map: %w", err)
	}
	s.bm = bm
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// replicasChangedLocked wakes the calls waiting for replica reports. The
// caller holds mu for writing.
func (s *Namesystem) replicasChangedLocked() {
	close(s.replicasChanged)
	s.replicasChanged = make(chan struct{})
}

// Namespace returns the namespace (for images and metrics). It changes
// only when ReloadNamespace runs (stepping down after a writer failure).
func (s *Namesystem) Namespace() *namespace.Namespace { return s.nsp.Load() }

// EditLog returns the writer EditLog while active, nil otherwise.
func (s *Namesystem) EditLog() *editlog.EditLog {
	if !s.active.Load() {
		return nil
	}
	return s.elp.Load()
}

// Start runs the lease monitor (none when ReadOnly: a read-only
// namespace never recovers a lease) and the block monitor until Close.
func (s *Namesystem) Start() {
	s.startOnce.Do(func() {
		if !s.cfg.ReadOnly {
			s.wg.Add(1)
			go s.leaseMonitor()
		}
		s.wg.Add(1)
		go s.blockMonitor()
	})
}

// Close stops the lease monitor. It does not close the namespace or the log.
func (s *Namesystem) Close() error {
	s.closeOnce.Do(func() { close(s.stop); s.cancel() })
	s.wg.Wait()
	return nil
}

// Fail puts the namesystem in the failed state (the editlog's OnFatal).
func (s *Namesystem) Fail(err error) {
	s.failMu.Lock()
	first := s.failed == nil
	if first {
		s.failed = err
	}
	s.failMu.Unlock()
	if first {
		s.log.Error("namesystem failed; refusing every call from now on", zap.Error(err))
		if s.cfg.OnFailed != nil {
			go s.cfg.OnFailed(err)
		}
	}
}

// Failed returns the failure, nil while healthy.
func (s *Namesystem) Failed() error {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.failed
}

func (s *Namesystem) checkFailed() error {
	if err := s.Failed(); err != nil {
		return rpc.Errorf(rpc.ErrIO, "NameNode failed and is not serving: %v", err)
	}
	return nil
}

// Replay applies the edits after the namespace's last applied txid, then
// starts writing the next segment. It rebuilds the retry cache and the
// leases. Call once, before serving.
func (s *Namesystem) Replay(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.el.Recover(ctx); err != nil {
		return 0, fmt.Errorf("namesystem: recover edit log: %w", err)
	}
	from := s.ns.LastAppliedTxID() + 1
	last, err := s.el.ReadFrom(ctx, from, s.applyReplayedLocked)
	if err != nil {
		return 0, fmt.Errorf("namesystem: replay from txid %d: %w", from, err)
	}
	if last < from-1 {
		last = from - 1
	}
	if got := s.ns.LastAppliedTxID(); got != last {
		return 0, fmt.Errorf("namesystem: replay ended at txid %d but the namespace is at %d", last, got)
	}
	if err := s.el.StartWriting(ctx, last+1); err != nil {
		return 0, fmt.Errorf("namesystem: start writing at txid %d: %w", last+1, err)
	}
	if err := s.rebuildLeasesLocked(); err != nil {
		return 0, err
	}
	s.startBlockManagementLocked()
	s.bm.SetActive(true, s.cfg.Now())
	s.active.Store(true)
	s.log.Info("replayed edits", zap.Int64("from", from), zap.Int64("last", last))
	return last, nil
}

// applyReplayedLocked applies one edit read from the journal (startup
// replay, the standby's tailer, catching up before becoming active) and
// records its retry cache entry, so that a new active answers retries of
// calls its predecessor made. The caller holds the write lock.
func (s *Namesystem) applyReplayedLocked(txid int64, b []byte) error {
	op := &editpb.Op{}
	if err := proto.Unmarshal(b, op); err != nil {
		return fmt.Errorf("edit txid %d does not decode: %w: %w", txid, namespace.ErrCorrupt, err)
	}
	applied, err := s.ns.Apply(txid, op)
	if err != nil {
		return fmt.Errorf("edit txid %d: %w", txid, err)
	}
	s.feedBlocksLocked(op, applied)
	s.cache.addReplayed(op, s.cfg.Now())
	return nil
}

// rebuildLeasesLocked replaces the leases by the files under construction
// in the namespace, every lease renewed now (Hadoop renews all leases on
// becoming active: a standby renews none).
func (s *Namesystem) rebuildLeasesLocked() error {
	now := s.cfg.Now()
	lm := newLeaseManager()
	err := s.ns.ForEachUnderConstruction(func(path string, st *namespace.FileStatus) error {
		lm.add(st.ClientName, path, now)
		return nil
	})
	if err != nil {
		return err
	}
	s.leases.replace(lm)
	return nil
}

// nowMillis is the call time ops carry.
func (s *Namesystem) nowMillis() int64 { return s.cfg.Now().UnixMilli() }

// call returns the namespace.Call of the RPC in ctx; cached says whether the
// op should carry the retry cache identity.
func (s *Namesystem) call(ctx context.Context, cached bool) namespace.Call {
	c := namespace.Call{User: s.cfg.Superuser, Now: s.nowMillis()}
	if caller, ok := rpc.CallerFromContext(ctx); ok {
		c.User = caller.User
		if cached {
			c.ClientID = caller.ClientID
			c.CallID = caller.CallID
		}
	}
	return c
}

// mutateResult is what a mutation's apply step produced.
type mutateResult struct {
	txid    int64
	applied namespace.Applied
}

// mutate runs one mutation in the order doc.go draws. safeModeMsg is the
// start of the SafeModeException text ("Cannot create directory /x").
// prep runs under the write lock and returns the op (nil: no edit). after
// runs under the lock after a successful apply.
func (s *Namesystem) mutate(ctx context.Context, safeModeMsg string, prep func() (*editpb.Op, error), after func(op *editpb.Op, r mutateResult)) (mutateResult, error) {
	if err := s.checkFailed(); err != nil {
		return mutateResult{}, err
	}
	if err := s.checkOperation(ha.Write); err != nil {
		return mutateResult{}, err
	}
	s.mu.Lock()
	el := s.el
	res, waitTxID, err := s.mutateLocked(safeModeMsg, prep, after)
	s.mu.Unlock()
	if waitTxID > 0 && el != nil {
		if serr := el.Sync(ctx, waitTxID); serr != nil {
			if errors.Is(serr, editlog.ErrJournalFailed) {
				s.WriterFailed(el, serr)
			}
			return mutateResult{}, rpc.Errorf(rpc.ErrIO, "Failed to sync edit log at txid %d: %v", waitTxID, serr)
		}
	}
	return res, err
}

func (s *Namesystem) mutateLocked(safeModeMsg string, prep func() (*editpb.Op, error), after func(op *editpb.Op, r mutateResult)) (mutateResult, int64, error) {
	if err := s.checkFailed(); err != nil {
		return mutateResult{}, 0, err
	}
	if err := s.checkOperation(ha.Write); err != nil {
		return mutateResult{}, 0, err
	}
	if s.bm.InSafeMode() && safeModeMsg != "" {
		return mutateResult{}, 0, s.safeModeError(safeModeMsg)
	}
	op, err := prep()
	if err != nil || op == nil {
		return mutateResult{}, s.ns.LastAppliedTxID(), err
	}
	res, err := s.logAndApplyLocked(op)
	if err != nil {
		return mutateResult{}, 0, err
	}
	if after != nil {
		after(op, res)
	}
	return res, res.txid, nil
}

// logAndApplyLocked logs op and applies it. An apply failure is fatal.
func (s *Namesystem) logAndApplyLocked(op *editpb.Op) (mutateResult, error) {
	if s.el == nil {
		// Every path here checked the category first; a read-only
		// namesystem has no writer at all, and must never get this far.
		if err := s.checkWritable(ha.Write); err != nil {
			return mutateResult{}, err
		}
		return mutateResult{}, rpc.Errorf(rpc.ErrIO, "no edit log to write to")
	}
	b, err := proto.Marshal(op)
	if err != nil {
		return mutateResult{}, rpc.Errorf(rpc.ErrIO, "encode edit: %v", err)
	}
	txid := s.el.Log(b)
	applied, err := s.ns.Apply(txid, op)
	if err != nil {
		s.Fail(fmt.Errorf("apply txid %d: %w", txid, err))
		return mutateResult{}, rpc.Errorf(rpc.ErrIO, "NameNode failed applying txid %d: %v", txid, err)
	}
	s.leases.afterApply(op, s.cfg.Now())
	s.feedBlocksLocked(op, applied)
	return mutateResult{txid: txid, applied: applied}, nil
}

// read runs fn under the read lock and waits for the sync of the last
// applied txid before returning.
func (s *Namesystem) read(ctx context.Context, fn func() error) error {
	if err := s.checkFailed(); err != nil {
		return err
	}
	if err := s.checkOperation(ha.Read); err != nil {
		return err
	}
	s.mu.RLock()
	if err := s.checkFailed(); err != nil {
		s.mu.RUnlock()
		return err
	}
	if err := s.checkOperation(ha.Read); err != nil {
		s.mu.RUnlock()
		return err
	}
	el := s.el
	err := fn()
	txid := s.ns.LastAppliedTxID()
	s.mu.RUnlock()
	if txid > 0 && el != nil {
		if werr := el.WaitSynced(ctx, txid); werr != nil {
			return rpc.Errorf(rpc.ErrIO, "Edit log not synced at txid %d: %v", txid, werr)
		}
	}
	if ferr := s.checkFailed(); ferr != nil {
		return ferr
	}
	return err
}

// isSuperuser follows FSPermissionChecker.isSuperUser.
func (s *Namesystem) isSuperuser(user string) bool {
	if user == s.cfg.Superuser {
		return true
	}
	if s.cfg.Groups != nil && s.cfg.SuperGroup != "" {
		for _, g := range s.cfg.Groups(user) {
			if g == s.cfg.SuperGroup {
				return true
			}
		}
	}
	return false
}

func (s *Namesystem) checkSuperuser(ctx context.Context) error {
	if !s.cfg.PermissionsEnabled {
		return nil
	}
	c := s.call(ctx, false)
	if !s.isSuperuser(c.User) {
		return rpc.Errorf(rpc.ErrAccessControl, "Access denied for user %s. Superuser privilege is required", c.User)
	}
	return nil
}

// safeModeError follows FSNamesystem.newSafemodeException: the call, then
// the block manager's tip (manual, or the startup thresholds). The caller
// holds the lock.
func (s *Namesystem) safeModeError(msg string) error {
	return rpc.Errorf(rpc.ErrSafeMode, "%s. Name node is in safe mode.\n%s NamenodeHostName:%s", msg, s.bm.SafeModeTip(s.cfg.Now()), s.cfg.HostName)
}

// SafeModeTip is the explanation of the current safe mode (manual or
// startup, Hadoop's getSafeModeTip), "" out of safe mode.
func (s *Namesystem) SafeModeTip() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bm.SafeModeTip(s.cfg.Now())
}

// checkSafeMode returns the SafeModeException for msg while in safe mode.
func (s *Namesystem) checkSafeMode(msg string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.bm.InSafeMode() {
		return s.safeModeError(msg)
	}
	return nil
}

// InSafeMode reports safe mode, manual or startup.
func (s *Namesystem) InSafeMode() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bm.InSafeMode()
}

// SetSafeMode enters (manual) or leaves (manual and startup) safe mode.
func (s *Namesystem) SetSafeMode(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bm.InSafeMode() != on {
		s.log.Info("safe mode", zap.Bool("on", on))
	}
	if on {
		s.bm.EnterSafeMode()
	} else {
		s.bm.LeaveSafeMode()
	}
}

// RollEdits finalizes the open segment and returns the first txid of the
// next one.
func (s *Namesystem) RollEdits(ctx context.Context) (int64, error) {
	if err := s.checkFailed(); err != nil {
		return 0, err
	}
	if err := s.checkOperation(ha.Journal); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOperation(ha.Journal); err != nil {
		return 0, err
	}
	txid, err := s.el.Roll(ctx)
	if err != nil {
		return 0, rpc.Errorf(rpc.ErrIO, "roll edit log: %v", err)
	}
	return txid, nil
}

// SaveNamespace rolls the edits and saves an image at the last applied
// txid. Hadoop requires safe mode; so does this.
func (s *Namesystem) SaveNamespace(ctx context.Context) error {
	if err := s.checkFailed(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bm.InSafeMode() {
		return rpc.Errorf(rpc.ErrIO, "Safe mode should be turned ON in order to create namespace image.")
	}
	if s.cfg.SaveImage == nil {
		return rpc.Errorf(rpc.ErrUnsupportedOperation, "saveNamespace is not supported by this NameNode")
	}
	// A standby saves what it tailed; it has no segment to roll.
	if s.el != nil {
		if _, err := s.el.Roll(ctx); err != nil {
			return rpc.Errorf(rpc.ErrIO, "roll edit log: %v", err)
		}
		if err := s.el.WaitSynced(ctx, s.ns.LastAppliedTxID()); err != nil {
			return rpc.Errorf(rpc.ErrIO, "sync edit log: %v", err)
		}
	}
	if err := s.cfg.SaveImage(ctx, s.ns); err != nil {
		return rpc.Errorf(rpc.ErrIO, "save namespace image: %v", err)
	}
	return nil
}

// Stats is a snapshot for metrics.
type Stats struct {
	FilesTotal   int64
	DirsTotal    int64
	LastTxID     int64
	SyncedTxID   int64
	SafeMode     bool
	LeaseHolders int
	OpenFiles    int
	// Blocks are the block manager's figures (FSNamesystem's BlocksTotal,
	// UnderReplicatedBlocks, CapacityTotal, NumLiveDataNodes, ...).
	Blocks blockmanagement.Summary
}

// Stats returns counters for /jmx and /metrics.
func (s *Namesystem) Stats() Stats {
	s.mu.RLock()
	c := s.ns.Counters()
	last := s.ns.LastAppliedTxID()
	synced := last
	if s.el != nil {
		synced = s.el.SyncedTxID()
	}
	safeMode := s.bm.InSafeMode()
	blocks := s.bm.Summary(s.cfg.Now())
	s.mu.RUnlock()
	h, f := s.leases.counts()
	return Stats{FilesTotal: c.Files, DirsTotal: c.Dirs, LastTxID: last, SyncedTxID: synced, SafeMode: safeMode, LeaseHolders: h, OpenFiles: f, Blocks: blocks}
}

func (s *Namesystem) ctxStop() context.Context { return s.baseCtx }
