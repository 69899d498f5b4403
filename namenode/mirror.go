package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/qjm"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/tablestore"
)

// MetaStatusBean is the JMX bean dfsadmin -metaStatus reads.
const MetaStatusBean = "Hadoop:service=NameNode,name=MetaStatus"

const (
	// sinkStatusEvery bounds how often a NameNode that does not ship (a
	// standby) asks the sink for its high-water mark; sinkStatusTimeout
	// bounds one such question, so /jmx never hangs on a dead sink.
	sinkStatusEvery   = time.Second
	sinkStatusTimeout = 2 * time.Second
	// sinkOpenTimeout bounds opening the sink at Start.
	sinkOpenTimeout = 30 * time.Second
)

// mirrorState is the metadata mirror of a NameNode with a sink configured
// (cfg.Mirror): the sink, and the shipper while active.
//
// Lifecycle: openMirrorLocked (Start) opens the sink; startShipperLocked
// and stopShipperLocked (under trMu, on becoming active and leaving it)
// start and stop the shipper and its journal reader; closeMirror
// (closeLocked) closes the sink. The status readers (/jmx, /metrics) use
// only the atomics and remote's own mutex, never n.mu.
type mirrorState struct {
	// sink is set once by openMirrorLocked, before the HTTP server starts
	// (a retryingSink); nil when no sink is configured or in recovery
	// mode. openErr is the last failed attempt to open it (nil once open)
	// or to open the shipper's journal reader.
	sink    atomic.Pointer[sinkBox]
	openErr atomic.Pointer[string]

	// shipper runs while active (written under trMu); shipperp mirrors it
	// for status readers. reader is the shipper's own journal reader in
	// HA (nil without HA: the active's writer is read).
	shipper  *tablestore.Shipper
	shipperp atomic.Pointer[tablestore.Shipper]
	reader   *editlog.EditLog

	// remote caches the sink's high-water mark for a NameNode that does
	// not ship (standby), refreshed at most every sinkStatusEvery.
	remote struct {
		sync.Mutex
		at          time.Time
		hw, image   int64
		err         error
		initialized bool
	}

	// openSink opens the sink; nil means openSink (tests wrap the sink to
	// break it).
	openSink func(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error)
}

type sinkBox struct{ s tablestore.Sink }

func (m *mirrorState) sinkOf() tablestore.Sink {
	if b := m.sink.Load(); b != nil {
		return b.s
	}
	return nil
}

// openMirrorLocked sets up the configured sink (none: nothing to do).
// Called by Start after VERSION was read (n.si set), under trMu and mu.
// A sink that cannot be opened does not stop the NameNode (clients come
// first): the error is logged and reported by the MetaStatus bean, and
// the sink is opened again at its next use (retryingSink), so the
// shipper's backoff treats it as an outage and catches up when it opens.
func (n *NameNode) openMirrorLocked() {
	cfg := n.cfg.Mirror
	if !cfg.Configured() || cfg.RecoveryMode {
		return
	}
	open := n.mirror.openSink
	if open == nil {
		open = openSink
	}
	rs := newRetryingSink(cfg, open, func(err error) {
		if err == nil {
			n.mirror.openErr.Store(nil)
			return
		}
		msg := err.Error()
		n.mirror.openErr.Store(&msg)
	})
	n.mirror.sink.Store(&sinkBox{rs})
	ctx, cancel := context.WithTimeout(context.Background(), sinkOpenTimeout)
	defer cancel()
	if _, err := rs.get(ctx); err != nil {
		n.log.Error("cannot open the metadata mirror yet; it is retried while mirroring", zap.String("sink", cfg.URI()), zap.Error(err))
		return
	}
	n.log.Info("metadata mirror opened", zap.String("sink", cfg.URI()), zap.Bool("shipping", cfg.Enabled))
}

// startShipperLocked starts shipping committed edits when mirroring is
// enabled (the caller holds trMu, and may hold mu: this takes neither; the
// NameNode just became active, its writer EditLog is open).
func (n *NameNode) startShipperLocked() {
	m := &n.mirror
	sink := m.sinkOf()
	if m.shipper != nil || sink == nil || !n.cfg.Mirror.Enabled {
		return
	}
	src := &mirrorSource{n: n, info: tablestore.Info{NamespaceID: n.si.NamespaceID, ClusterID: n.si.ClusterID,
		BlockPoolID: n.si.BlockPoolID, CTime: n.si.CTime, LayoutVersion: n.si.LayoutVersion}}
	if n.cfg.HA {
		// A reader of its own: reading from JournalNodes takes no epoch,
		// and the writer's group commit never waits for it.
		r, err := n.openMirrorReader()
		if err != nil {
			n.log.Error("cannot open the mirror's journal reader; not mirroring", zap.Error(err))
			msg := err.Error()
			m.openErr.Store(&msg)
			return
		}
		m.reader, src.reader = r, r
	}
	s, err := tablestore.NewShipper(n.cfg.Mirror, src, sink, tablestore.ShipperOptions{Logger: n.log.Named("mirror")})
	if err != nil {
		n.log.Error("cannot start the mirror shipper", zap.Error(err))
		n.closeMirrorReader()
		return
	}
	s.Start()
	m.shipper = s
	m.shipperp.Store(s)
	n.log.Info("mirror shipper started", zap.String("sink", sink.String()))
}

// openMirrorReader opens a quorum journal reader for the shipper.
func (n *NameNode) openMirrorReader() (*editlog.EditLog, error) {
	qcfg, err := qjm.ConfigFromConf(n.cfg.Conf, n.cfg.Nameservice, n.cfg.NameNodeID, nsInfoProto(n.si))
	if err != nil {
		return nil, fmt.Errorf("namenode: mirror journal reader: %w", err)
	}
	qcfg.InProgressRPC = n.cfg.TailInProgress
	qcfg.Logger = n.log.Named("mirror.qjm")
	mgr, err := qjm.NewManager(qcfg)
	if err != nil {
		return nil, fmt.Errorf("namenode: mirror journal reader: %w", err)
	}
	el, err := editlog.Open(editlog.NewQJMJournal(mgr), editlog.Options{Logger: n.log.Named("mirror.editlog")})
	if err != nil {
		mgr.Close()
		return nil, fmt.Errorf("namenode: mirror journal reader: %w", err)
	}
	return el, nil
}

func (n *NameNode) closeMirrorReader() {
	if r := n.mirror.reader; r != nil {
		if err := r.Close(); err != nil {
			n.log.Warn("closing the mirror's journal reader", zap.Error(err))
		}
		n.mirror.reader = nil
	}
}

// stopShipperLocked stops the shipper and waits for it (the caller holds
// trMu). Safe when none runs.
func (n *NameNode) stopShipperLocked() {
	m := &n.mirror
	if s := m.shipper; s != nil {
		s.Stop()
		st := s.Status()
		n.log.Info("mirror shipper stopped", zap.Int64("shippedTxId", st.ShippedTxID), zap.Int64("committedTxId", st.CommittedTxID))
		m.shipper = nil
		m.shipperp.Store(nil)
		// The standby's view starts from what this shipper knew.
		m.remote.Lock()
		m.remote.at, m.remote.hw, m.remote.image, m.remote.err, m.remote.initialized = time.Now(), st.ShippedTxID, st.NewestImageTxID, nil, true
		m.remote.Unlock()
	}
	n.closeMirrorReader()
}

// closeMirror closes the sink (closeLocked).
func (n *NameNode) closeMirror() error {
	b := n.mirror.sink.Swap(nil)
	if b == nil {
		return nil
	}
	if err := b.s.Close(); err != nil {
		return fmt.Errorf("namenode: close mirror %s: %w", b.s, err)
	}
	return nil
}

// mirrorSource is the shipper's view of the active NameNode: the writer's
// synced txid, a journal reader, the name directory's images.
type mirrorSource struct {
	n    *NameNode
	info tablestore.Info
	// reader is the shipper's own QJM reader (HA); nil: read the active's
	// writer, whose local journal serves reads of the open segment up to
	// its synced txid and is never recovered or repaired by a read.
	reader *editlog.EditLog
}

var _ tablestore.Source = (*mirrorSource)(nil)

func (s *mirrorSource) Info() (tablestore.Info, error) { return s.info, nil }

func (s *mirrorSource) writer() *editlog.EditLog {
	if sys := s.n.namesystem(); sys != nil {
		return sys.EditLog()
	}
	return nil
}

func (s *mirrorSource) CommittedTxID() int64 {
	if el := s.writer(); el != nil {
		return el.SyncedTxID()
	}
	return 0
}

func (s *mirrorSource) ReadEdits(ctx context.Context, from int64, fn func(int64, []byte) error) error {
	el := s.reader
	if el == nil {
		if el = s.writer(); el == nil {
			return errors.New("namenode: not active: no edit log to mirror")
		}
	}
	read := false
	_, err := el.ReadFrom(ctx, from, func(txid int64, op []byte) error {
		read = true
		return fn(txid, op)
	})
	if err != nil && !read && (errors.Is(err, editlog.ErrGap) || errors.Is(err, qjm.ErrGap)) {
		return fmt.Errorf("%w: %w", tablestore.ErrEditsPurged, err)
	}
	return err
}

func (s *mirrorSource) Images() ([]int64, error) {
	infos, err := image.List(s.n.cfg.NameDir)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(infos))
	for i, in := range infos {
		out[i] = in.TxID
	}
	return out, nil
}

func (s *mirrorSource) WriteImage(ctx context.Context, txid int64, w io.Writer) error {
	return image.Stream(w, image.Info{TxID: txid, Path: image.Path(s.n.cfg.NameDir, txid)})
}

// metaStatus is the MetaStatus bean's content.
type metaStatus struct {
	state                         string
	enabled, configured, shipping bool
	sink                          string
	committed, mirrored           int64
	lagTxns                       int64
	lag, p50, p99                 time.Duration
	newestImage                   int64
	lastErr                       string
	recState                      string
	recLoaded, recTarget          int64
}

func (m metaStatus) synced() bool { return m.mirrored >= m.committed }

// metaStatusNow gathers the status without n.mu: atomics, the shipper's
// snapshot, or (not shipping) the sink's cached high-water mark.
func (n *NameNode) metaStatusNow() metaStatus {
	cfg := n.cfg.Mirror
	st := metaStatus{state: n.HAState().String(), enabled: cfg.Enabled, configured: cfg.Configured(), sink: cfg.URI(), newestImage: -1}
	st.recState, st.recLoaded, st.recTarget = n.recoveryStatus()
	if st.recState != "" {
		// Recovery mode: the namespace is what was loaded from the sink.
		st.committed, st.mirrored = st.recLoaded, st.recTarget
		return st
	}
	if p := n.mirror.openErr.Load(); p != nil {
		st.lastErr = *p
	}
	sys := n.namesystem()
	if sh := n.mirror.shipperp.Load(); sh != nil {
		st.shipping = true
		s := sh.Status()
		st.committed = s.CommittedTxID
		if sys != nil {
			if el := sys.EditLog(); el != nil {
				st.committed = max(st.committed, el.SyncedTxID())
			}
		}
		st.mirrored, st.newestImage = s.ShippedTxID, s.NewestImageTxID
		st.lag, st.p50, st.p99 = s.Lag, s.LagP50, s.LagP99
		if s.LastError != "" {
			st.lastErr = s.LastError
		}
	} else {
		if sys != nil {
			if el := sys.EditLog(); el != nil && n.HAState() == ha.Active {
				st.committed = el.SyncedTxID()
			} else {
				st.committed = sys.AppliedTxID()
			}
		}
		if sink := n.mirror.sinkOf(); sink != nil {
			hw, img, err := n.remoteHighWater(sink)
			st.mirrored, st.newestImage = hw, img
			if err != nil {
				st.lastErr = err.Error()
			}
		}
	}
	st.lagTxns = max(st.committed-st.mirrored, 0)
	return st
}

// remoteHighWater is the sink's high-water mark (last edit txid, or its
// newest image's if later) and newest image, cached for sinkStatusEvery;
// one refresh is bounded by sinkStatusTimeout.
func (n *NameNode) remoteHighWater(sink tablestore.Sink) (hw, img int64, err error) {
	r := &n.mirror.remote
	r.Lock()
	defer r.Unlock()
	if r.initialized && time.Since(r.at) < sinkStatusEvery {
		return r.hw, r.image, r.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sinkStatusTimeout)
	defer cancel()
	last, err := sink.LastTxID(ctx)
	var imgs []int64
	if err == nil {
		imgs, err = sink.Images(ctx)
	}
	r.at, r.initialized = time.Now(), true
	if err != nil {
		r.err = fmt.Errorf("read the mirror's state: %w", err)
		return r.hw, r.image, r.err
	}
	r.hw, r.image = tablestore.HighWater(last, imgs)
	r.err = nil
	return r.hw, r.image, nil
}

// registerMirrorWeb registers the MetaStatus bean and the mirror gauges.
// They work before the namespace is loaded (recovery mode registers them
// while it loads) and never take n.mu.
func (n *NameNode) registerMirrorWeb(w *web.Server) {
	w.RegisterBean(MetaStatusBean, func() map[string]any {
		st := n.metaStatusNow()
		synced := 0
		if st.synced() {
			synced = 1
		}
		return map[string]any{
			"modelerType": "MetaStatus",
			"HAState":     st.state, "Enabled": st.enabled, "Configured": st.configured, "Shipping": st.shipping, "Sink": st.sink,
			"LastCommittedTxId": st.committed, "LastMirroredTxId": st.mirrored, "Synced": synced,
			"LagTxns": st.lagTxns, "LagSeconds": st.lag.Seconds(),
			"LagP50Millis": st.p50.Milliseconds(), "LagP99Millis": st.p99.Milliseconds(),
			"NewestMirroredImageTxId": st.newestImage, "LastError": st.lastErr,
			"RecoveryState": st.recState, "RecoveryLoadedTxId": st.recLoaded, "RecoveryTargetTxId": st.recTarget,
		}
	})
	w.RegisterGauge("namenode_mirror_lag_txns", "Committed txids not yet in the metadata mirror.", func() float64 {
		return float64(n.metaStatusNow().lagTxns)
	})
	w.RegisterGauge("namenode_mirror_lag_seconds", "Age of the oldest committed txid not yet in the metadata mirror (0 when not shipping).", func() float64 {
		return n.metaStatusNow().lag.Seconds()
	})
	w.RegisterGauge("namenode_mirror_shipped_txid", "Last txid the metadata mirror holds.", func() float64 {
		return float64(n.metaStatusNow().mirrored)
	})
}
