package namenode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
)

// recoveryState is the recovery mode's progress (RUNNING, FINISH). Its
// fields are atomics: recoveryStatus reads them from HTTP handlers while
// Start loads the namespace.
type recoveryState struct {
	// state is "" (not recovering), RecoveryRunning or RecoveryFinish.
	state atomic.Pointer[string]
	// loaded is the last txid in the namespace (the image's, then each
	// edit applied); target the txid recovery loads up to (the sink's last
	// txid when recovery started, or its newest image's if that is newer).
	loaded, target atomic.Int64
	// openSink opens the sink; nil means openSink (tests substitute
	// theirs, to stall or break it).
	openSink func(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error)
}

// Recovery states, as dfsadmin -metaStatus prints them.
const (
	RecoveryRunning = "RUNNING"
	RecoveryFinish  = "FINISH"
)

// recoveryStatus is the recovery mode's progress: state "" when not in
// recovery mode, else RecoveryRunning (loaded of target txids applied) or
// RecoveryFinish. Safe from any goroutine.
func (n *NameNode) recoveryStatus() (state string, loaded, target int64) {
	if p := n.recovery.state.Load(); p != nil {
		state = *p
	}
	return state, n.recovery.loaded.Load(), n.recovery.target.Load()
}

func (r *recoveryState) setState(s string) { r.state.Store(&s) }

// ReadOnlyMessage is what every mutation gets in recovery mode.
const ReadOnlyMessage = namesystem.ReadOnlyMessage

// recoveryTransitionRefused is the ServiceFailedException text of an HA
// transition asked of a NameNode in recovery mode.
const recoveryTransitionRefused = "NameNode is in recovery mode (" + tablestore.KeyRecoveryMode + "=true): " +
	"it serves the namespace recovered from the mirror read-only as the active and does not change HA state. " +
	"To make the cluster writable, stop it, turn recovery mode off, run hdfs namenode -initializeSharedEdits and start it again"

// checkRecoveryTransition refuses HA transitions in recovery mode
// (TransitionToStandby; TransitionToActive of the recovered active is the
// no-op success it is for any active).
func (n *NameNode) checkRecoveryTransition() error {
	if n.cfg.Mirror.RecoveryMode {
		return rpc.Errorf(rpc.ErrServiceFailed, "%s", recoveryTransitionRefused)
	}
	return nil
}

// startRecoveryLocked is Start in recovery mode (cfg.Mirror.RecoveryMode):
// the namespace comes from the sink, nothing is written to the journal,
// and the NameNode serves read-only as the active. Called under trMu and
// mu with n.started set; on error Start's cleanup runs.
//
// The load runs without mu (it may take long, and the HTTP server, started
// first, answers meanwhile: its handlers may take mu); every field it sets
// is set under mu, so Start's cleanup finds whatever it must close. Stop
// cancels a load in progress (it closes n.quit, then waits for trMu).
//
// Order:
//
//  1. lock the name directory; start the HTTP server with the handlers
//     that need no namesystem (the mirror's MetaStatus bean, NameNodeStatus);
//  2. read the namespace identity from the sink (ErrNotFound: the sink
//     holds no namespace); an existing VERSION must match it;
//  3. choose the image: the sink's newest, or the local newest if that is
//     newer; a sink image is received with image.Receive, which verifies
//     every byte (corrupt: an error naming the sink object) and publishes
//     it atomically; VERSION is written after it (its presence means the
//     directory is formatted);
//  4. open the image and apply every later edit of the sink up to the
//     target through the namesystem's one apply path (Tail over a
//     read-only journal adapter): contiguous, never skipping, stopping at
//     the first gap or corrupt batch with an error naming it;
//  5. save a local image at the recovered txid (a restart, and
//     -initializeSharedEdits, start from it);
//  6. serve: RPC server, HA state active (also in an HA nameservice), no
//     tailer, checkpointer, shipper, journal or lease monitor; state FINISH.
func (n *NameNode) startRecoveryLocked(ctx context.Context) (err error) {
	r := &n.recovery
	r.setState(RecoveryRunning)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-n.quit:
			cancel()
		case <-done:
		}
	}()

	var img image.Info
	func() {
		n.mu.Unlock()
		defer n.mu.Lock()
		img, err = n.loadFromSink(ctx)
	}()
	if err != nil {
		return fmt.Errorf("namenode: recovery from %s: %w", n.cfg.Mirror.URI(), err)
	}
	return n.serveRecoveredLocked(ctx, img)
}

// loadFromSink is steps 1 to 5 of startRecoveryLocked, without mu.
func (n *NameNode) loadFromSink(ctx context.Context) (image.Info, error) {
	r := &n.recovery
	unlock, err := lockNameDir(n.cfg.NameDir)
	if err != nil {
		return image.Info{}, err
	}
	n.mu.Lock()
	n.unlock = unlock
	n.mu.Unlock()
	if err := n.startRecoveryWeb(ctx); err != nil {
		return image.Info{}, err
	}

	open := r.openSink
	if open == nil {
		open = openSink
	}
	sink, err := open(ctx, n.cfg.Mirror)
	if err != nil {
		return image.Info{}, err
	}
	defer func() {
		if err := sink.Close(); err != nil {
			n.log.Warn("closing the mirror sink after recovery", zap.Error(err))
		}
	}()
	si, err := recoveryIdentity(ctx, sink)
	if err != nil {
		return image.Info{}, err
	}
	formatted := true
	local, err := ReadVersion(n.cfg.NameDir)
	switch {
	case errors.Is(err, ErrNotFormatted):
		formatted = false
	case err != nil:
		return image.Info{}, err
	case local.NamespaceID != si.NamespaceID || local.ClusterID != si.ClusterID || local.BlockPoolID != si.BlockPoolID || local.CTime != si.CTime:
		return image.Info{}, fmt.Errorf("%s belongs to cluster %s namespace %d block pool %s, but the sink %s holds cluster %s namespace %d block pool %s: "+
			"refusing to recover into it (use an empty name directory)",
			versionPath(n.cfg.NameDir), local.ClusterID, local.NamespaceID, local.BlockPoolID, sink, si.ClusterID, si.NamespaceID, si.BlockPoolID)
	}
	n.mu.Lock()
	n.si = si
	n.mu.Unlock()

	last, err := sink.LastTxID(ctx)
	if err != nil {
		return image.Info{}, fmt.Errorf("last txid of %s: %w", sink, err)
	}
	img, err := n.chooseRecoveryImage(ctx, sink, formatted)
	if err != nil {
		return image.Info{}, err
	}
	if !formatted {
		// VERSION last: its presence means the directory is formatted.
		if err := WriteVersion(n.cfg.NameDir, si, n.cfg.Now()); err != nil {
			return image.Info{}, err
		}
	}
	target := max(last, img.TxID)
	r.target.Store(target)
	r.loaded.Store(img.TxID)
	n.log.Info("recovery: loading", zap.String("sink", sink.String()), zap.String("image", img.Path), zap.Int64("imageTxId", img.TxID),
		zap.Int64("targetTxId", target), zap.String("clusterId", si.ClusterID))

	ns, err := image.Load(img, n.workDir(), n.nsOptions())
	if err != nil {
		return image.Info{}, err
	}
	n.mu.Lock()
	n.ns = ns
	n.mu.Unlock()
	if info := ns.Info(); info.ClusterID != si.ClusterID || info.NamespaceID != si.NamespaceID || info.BlockPoolID != si.BlockPoolID {
		return image.Info{}, fmt.Errorf("image %s belongs to cluster %s namespace %d block pool %s, but the sink %s holds cluster %s namespace %d block pool %s",
			img.Path, info.ClusterID, info.NamespaceID, info.BlockPoolID, sink, si.ClusterID, si.NamespaceID, si.BlockPoolID)
	}
	s, err := namesystem.New(n.namesystemConfig(ns, si, true))
	if err != nil {
		return image.Info{}, err
	}
	n.mu.Lock()
	n.sys = s
	n.mu.Unlock()
	n.sysp.Store(s)

	sj := &sinkJournal{sink: sink, target: target, onApplied: func(txid int64) { r.loaded.Store(txid) }}
	el, err := editlog.Open(sj, editlog.Options{Logger: n.log.Named("recovery")})
	if err != nil {
		return image.Info{}, err
	}
	got, _, err := s.Tail(ctx, el)
	el.Close()
	if err != nil {
		return image.Info{}, err
	}
	if got < target {
		return image.Info{}, fmt.Errorf("the edits of %s end at txid %d, but its last txid is %d", sink, got, target)
	}
	saved, err := image.Save(ns, n.cfg.NameDir, n.log.Named("image"))
	if err != nil {
		return image.Info{}, fmt.Errorf("saving the recovered image: %w", err)
	}
	if err := image.Purge(n.cfg.NameDir, n.cfg.CheckpointsRetained); err != nil {
		n.log.Warn("recovery: purging old images", zap.Error(err))
	}
	r.loaded.Store(saved.TxID)
	return saved, nil
}

// recoveryIdentity reads the namespace identity from the sink.
func recoveryIdentity(ctx context.Context, sink tablestore.Sink) (StorageInfo, error) {
	info, err := sink.GetInfo(ctx)
	if errors.Is(err, tablestore.ErrNotFound) {
		return StorageInfo{}, fmt.Errorf("the sink %s holds no namespace (nothing was ever mirrored to it): %w", sink, err)
	}
	if err != nil {
		return StorageInfo{}, fmt.Errorf("namespace identity in %s: %w", sink, err)
	}
	si := StorageInfo{NamespaceID: info.NamespaceID, ClusterID: info.ClusterID, BlockPoolID: info.BlockPoolID, CTime: info.CTime, LayoutVersion: info.LayoutVersion}
	if si.LayoutVersion == 0 {
		si.LayoutVersion = LayoutVersion
	}
	if si.ClusterID == "" || si.BlockPoolID == "" || si.NamespaceID == 0 {
		return StorageInfo{}, fmt.Errorf("the sink %s holds an incomplete namespace identity %+v", sink, info)
	}
	if si.LayoutVersion != LayoutVersion {
		return StorageInfo{}, fmt.Errorf("the sink %s holds a namespace of layout version %d; this NameNode reads %d", sink, si.LayoutVersion, LayoutVersion)
	}
	return si, nil
}

// chooseRecoveryImage returns the image recovery starts from: the sink's
// newest, received into the name directory, unless the directory
// (formatted) holds a newer one.
func (n *NameNode) chooseRecoveryImage(ctx context.Context, sink tablestore.Sink, formatted bool) (image.Info, error) {
	txids, err := sink.Images(ctx)
	if err != nil {
		return image.Info{}, fmt.Errorf("images of %s: %w", sink, err)
	}
	remote := int64(-1)
	if len(txids) > 0 {
		remote = txids[len(txids)-1]
	}
	if formatted {
		local, err := image.Newest(n.cfg.NameDir)
		if err != nil && !errors.Is(err, image.ErrNoImage) {
			return image.Info{}, err
		}
		if err == nil && local.TxID >= remote {
			n.log.Info("recovery: the local image is at least as new as the sink's", zap.Int64("local", local.TxID), zap.Int64("sink", remote))
			return local, nil
		}
	}
	if remote < 0 {
		return image.Info{}, fmt.Errorf("the sink %s holds no image (the shipper uploads one when it starts)", sink)
	}
	// A leftover of an interrupted recovery (no VERSION yet) is reused
	// when it verifies.
	if p := image.Path(n.cfg.NameDir, remote); !formatted {
		if _, err := os.Stat(p); err == nil {
			info := image.Info{TxID: remote, Path: p}
			if image.Verify(info) == nil {
				return info, nil
			}
			if err := os.RemoveAll(p); err != nil {
				return image.Info{}, err
			}
		}
	}
	rc, err := sink.OpenImage(ctx, remote)
	if err != nil {
		return image.Info{}, fmt.Errorf("image %d in %s: %w", remote, sink, err)
	}
	defer rc.Close()
	info, err := image.Receive(rc, n.cfg.NameDir, remote)
	if err != nil {
		var ce *image.CorruptionError
		if errors.As(err, &ce) {
			return image.Info{}, &tablestore.CorruptError{Sink: sink.String(), Object: fmt.Sprintf("image %d", remote), Reason: err.Error()}
		}
		return image.Info{}, fmt.Errorf("receiving image %d from %s: %w", remote, sink, err)
	}
	n.log.Info("recovery: received the sink's image", zap.String("image", info.Path), zap.Int64("txid", info.TxID))
	return info, nil
}

// namesystemConfig is the namesystem configuration of this NameNode over
// ns; readOnly is the recovery mode (no writer, every mutation refused).
func (n *NameNode) namesystemConfig(ns *namespace.Namespace, si StorageInfo, readOnly bool) namesystem.Config {
	host, _, _ := net.SplitHostPort(n.cfg.RPCAddress)
	return namesystem.Config{
		Namespace: ns, Logger: n.log.Named("namesystem"), Now: n.cfg.Now,
		Superuser: n.cfg.Superuser, SuperGroup: n.cfg.SuperGroup, PermissionsEnabled: n.cfg.PermissionsEnabled, Groups: n.cfg.Groups,
		Umask: n.cfg.Umask, Defaults: n.cfg.Defaults, SoftLimit: n.cfg.SoftLimit, HardLimit: n.cfg.HardLimit,
		LeaseCheckInterval: n.cfg.LeaseCheckInterval, RetryCacheExpiry: n.cfg.RetryCacheExpiry,
		SaveImage: n.saveImage, OnFailed: n.onFailed, HostName: host,
		State:  n.HAState,
		Blocks: n.cfg.Blocks, RedundancyInterval: n.cfg.RedundancyInterval,
		VersionInfo: func() *hdfspb.NamespaceInfoProto { return nsInfoProto(si) },
		ReadOnly:    readOnly,
	}
}

// startRecoveryWeb starts the HTTP server early, with the handlers that
// work without a namesystem: the mirror's MetaStatus bean (RUNNING with
// progress) and NameNodeStatus. serveRecoveredLocked registers the rest.
func (n *NameNode) startRecoveryWeb(ctx context.Context) error {
	if n.cfg.HTTPAddress == "" {
		return nil
	}
	w, err := web.New(web.Config{Address: n.cfg.HTTPAddress, Logger: n.log.Named("web")})
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	n.registerMirrorWeb(w)
	n.registerStatusBean(w)
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("http server at %s: %w", n.cfg.HTTPAddress, err)
	}
	n.mu.Lock()
	n.web = w
	n.mu.Unlock()
	return nil
}

// registerStatusBean registers the NameNodeStatus bean (registerWeb, and
// recovery's early HTTP server: it needs no namesystem).
func (n *NameNode) registerStatusBean(w *web.Server) {
	w.RegisterBean("Hadoop:service=NameNode,name=NameNodeStatus", func() map[string]any {
		return map[string]any{
			"modelerType": "org.apache.hadoop.hdfs.server.namenode.NameNode",
			"NNRole":      "NameNode", "State": n.HAState().String(), "HostAndPort": n.RPCAddress(),
			"SecurityEnabled": false, "LastHATransitionTime": n.lastTransition.Load(),
			"BytesWithFutureGenerationStamps": 0,
		}
	})
}

// serveRecoveredLocked is step 6 of startRecoveryLocked, under mu.
func (n *NameNode) serveRecoveredLocked(ctx context.Context, img image.Info) error {
	s := n.sys
	if err := s.StartReadOnly(); err != nil {
		return err
	}
	srv, err := n.newRPCServerLocked(s)
	if err != nil {
		return err
	}
	if n.web != nil {
		n.registerWeb(n.web)
	}
	// Active before the first call is served (startup is no transition:
	// lastTransition stays unset, as in Start).
	n.state.Store(int32(ha.Active))
	s.Start()
	n.startedAt = n.cfg.Now()
	n.served = make(chan struct{})
	go func() {
		defer close(n.served)
		srv.Serve()
	}()
	n.recovery.setState(RecoveryFinish)
	n.log.Info("recovery finished: NameNode active and read-only", zap.Int64("txid", img.TxID), zap.String("image", img.Path),
		zap.String("rpc", srv.Addr().String()), zap.String("http", n.httpAddressLocked()), zap.String("clusterId", n.si.ClusterID))
	return nil
}

// errSinkReadOnly refuses writes to the sink journal.
var errSinkReadOnly = errors.New("namenode: the mirror sink is read-only in recovery mode")

// errReachedTarget stops a sink read at the recovery target.
var errReachedTarget = errors.New("namenode: recovery target reached")

// sinkJournal is the read-only editlog.Journal recovery reads the sink's
// edits through, so that they reach the namespace by the one apply path
// (namesystem.Tail). It reads up to target and no further (a shipper
// still writing to the sink cannot move the goal), checks that the
// batches follow each other without a gap, and never skips: a gap or a
// *tablestore.CorruptError stops the read with an error naming the batch.
// Txids a batch repeats (an overlap, which two shippers racing across an
// image jump can leave: see tablestore.Shipper) are the same committed
// edits and are read once. Writing is refused.
type sinkJournal struct {
	sink   tablestore.Sink
	target int64
	// onApplied is called after each edit fn applied (progress).
	onApplied func(txid int64)
}

var _ editlog.Journal = (*sinkJournal)(nil)

func (j *sinkJournal) Recover(context.Context) error { return nil }
func (j *sinkJournal) StartSegment(context.Context, int64) (editlog.SegmentWriter, error) {
	return nil, errSinkReadOnly
}
func (j *sinkJournal) FinalizeSegment(context.Context, int64, int64) error { return errSinkReadOnly }
func (j *sinkJournal) Purge(context.Context, int64) error                  { return errSinkReadOnly }

// Close does nothing: the sink belongs to the recovery.
func (j *sinkJournal) Close() error   { return nil }
func (j *sinkJournal) String() string { return j.sink.String() }

func (j *sinkJournal) ReadFrom(ctx context.Context, from int64, fn func(txid int64, op []byte) error) (int64, error) {
	next := from
	if from > j.target {
		return from - 1, nil
	}
	err := j.sink.ReadEdits(ctx, from, func(b tablestore.Batch) error {
		if len(b.Ops) == 0 {
			return &tablestore.CorruptError{Sink: j.sink.String(), Object: fmt.Sprintf("edits batch at txid %d", b.First), Reason: "empty batch"}
		}
		if b.First > next {
			return fmt.Errorf("%w: %s: the batch at txid %d follows txid %d (txids %d to %d are missing)", editlog.ErrGap, j.sink, b.First, next-1, next, b.First-1)
		}
		for i, op := range b.Ops {
			txid := b.First + int64(i)
			if txid < next {
				continue
			}
			if txid > j.target {
				return errReachedTarget
			}
			if err := fn(txid, op); err != nil {
				return fmt.Errorf("%s: edits batch at txid %d: %w", j.sink, b.First, err)
			}
			next = txid + 1
			if j.onApplied != nil {
				j.onApplied(txid)
			}
		}
		if next > j.target {
			return errReachedTarget
		}
		return nil
	})
	if errors.Is(err, errReachedTarget) {
		err = nil
	}
	return next - 1, err
}
