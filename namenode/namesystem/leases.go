package namesystem

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// leaseManager is Hadoop's LeaseManager: holder → open files, path →
// holder. Changes to paths happen under the namesystem write lock (from
// applied ops); renew takes only mu.
type leaseManager struct {
	mu      sync.Mutex
	holders map[string]*lease
	paths   map[string]string // path → holder
}

type lease struct {
	holder  string
	renewed time.Time
	paths   map[string]struct{}
}

func newLeaseManager() *leaseManager {
	return &leaseManager{holders: map[string]*lease{}, paths: map[string]string{}}
}

// replace takes o's leases (o is not used afterwards).
func (m *leaseManager) replace(o *leaseManager) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holders, m.paths = o.holders, o.paths
}

func (m *leaseManager) add(holder, path string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addLocked(holder, path, now)
}

func (m *leaseManager) addLocked(holder, path string, now time.Time) {
	if old, ok := m.paths[path]; ok {
		m.removeLocked(old, path)
	}
	l := m.holders[holder]
	if l == nil {
		l = &lease{holder: holder, paths: map[string]struct{}{}}
		m.holders[holder] = l
	}
	l.renewed = now
	l.paths[path] = struct{}{}
	m.paths[path] = holder
}

func (m *leaseManager) removeLocked(holder, path string) {
	delete(m.paths, path)
	if l := m.holders[holder]; l != nil {
		delete(l.paths, path)
		if len(l.paths) == 0 {
			delete(m.holders, holder)
		}
	}
}

// under returns the leased paths equal to p or below it.
func (m *leaseManager) underLocked(p string) []string {
	var out []string
	prefix := strings.TrimSuffix(p, "/") + "/"
	for path := range m.paths {
		if path == p || strings.HasPrefix(path, prefix) || p == "/" {
			out = append(out, path)
		}
	}
	return out
}

// renew refreshes holder's lease; false when it holds none.
func (m *leaseManager) renew(holder string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.holders[holder]
	if l == nil {
		return false
	}
	l.renewed = now
	return true
}

func (m *leaseManager) holderOf(path string) (string, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.paths[path]
	if !ok {
		return "", time.Time{}, false
	}
	return h, m.holders[h].renewed, true
}

func (m *leaseManager) counts() (holders, files int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.holders), len(m.paths)
}

// expired returns (holder, path) pairs of holders whose last renewal is
// older than limit, sorted for determinism.
func (m *leaseManager) expired(now time.Time, limit time.Duration) [][2]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][2]string
	for h, l := range m.holders {
		if now.Sub(l.renewed) > limit {
			for p := range l.paths {
				out = append(out, [2]string{h, p})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1] < out[j][1] })
	return out
}

// afterApply keeps the leases in step with an applied op.
func (m *leaseManager) afterApply(op *editpb.Op, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch b := op.Body.(type) {
	case *editpb.Op_Add:
		if b.Add.ClientName != "" {
			m.addLocked(b.Add.ClientName, b.Add.Path, now)
		}
	case *editpb.Op_Append:
		m.addLocked(b.Append.ClientName, b.Append.Path, now)
	case *editpb.Op_Truncate:
		// A cut inside a block reopens the file until block recovery
		// closes it.
		if b.Truncate.UnderConstruction && b.Truncate.ClientName != "" {
			m.addLocked(b.Truncate.ClientName, b.Truncate.Path, now)
		}
	case *editpb.Op_Close:
		if h, ok := m.paths[b.Close.Path]; ok {
			m.removeLocked(h, b.Close.Path)
		}
	case *editpb.Op_Delete:
		for _, p := range m.underLocked(b.Delete.Path) {
			m.removeLocked(m.paths[p], p)
		}
	case *editpb.Op_RenameOld:
		m.renameLocked(b.RenameOld.Src, b.RenameOld.Dst)
	case *editpb.Op_Rename:
		if b.Rename.Overwrite {
			for _, p := range m.underLocked(b.Rename.Dst) {
				m.removeLocked(m.paths[p], p)
			}
		}
		m.renameLocked(b.Rename.Src, b.Rename.Dst)
	case *editpb.Op_ReassignLease:
		r := b.ReassignLease
		m.removeLocked(r.LeaseHolder, r.Path)
		m.addLocked(r.NewHolder, r.Path, now)
	}
}

func (m *leaseManager) renameLocked(src, dst string) {
	for _, p := range m.underLocked(src) {
		h := m.paths[p]
		renewed := m.holders[h].renewed
		m.removeLocked(h, p)
		np := dst + strings.TrimPrefix(p, src)
		m.addLocked(h, np, renewed)
	}
}

// leaseMonitor is Hadoop's LeaseManager.Monitor: it recovers the files of
// holders whose hard limit expired.
func (s *Namesystem) leaseMonitor() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LeaseCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.CheckLeases()
		}
	}
}

// CheckLeases recovers the files of holders past the hard limit now (the
// monitor calls it; tests call it with a fake clock).
func (s *Namesystem) CheckLeases() {
	if s.cfg.ReadOnly || s.Failed() != nil || !s.active.Load() || s.InSafeMode() {
		return // Hadoop's LeaseManager.Monitor skips safe mode
	}
	exp := s.leases.expired(s.cfg.Now(), s.cfg.HardLimit)
	if len(exp) == 0 {
		return
	}
	var last int64
	s.mu.Lock()
	if !s.active.Load() {
		s.mu.Unlock()
		return
	}
	el := s.el
	for _, hp := range exp {
		txid, closed, err := s.releaseLeaseLocked(hp[0], hp[1])
		if err != nil {
			s.log.Warn("lease recovery failed", zap.String("holder", hp[0]), zap.String("path", hp[1]), zap.Error(err))
			continue
		}
		if closed {
			s.log.Info("recovered lease past its hard limit", zap.String("holder", hp[0]), zap.String("path", hp[1]), zap.Int64("txid", txid))
		}
		last = max(last, txid)
	}
	s.mu.Unlock()
	if last > 0 {
		if err := el.Sync(s.ctxStop(), last); err != nil {
			s.log.Warn("lease recovery sync failed", zap.Error(err))
			if errors.Is(err, editlog.ErrJournalFailed) {
				s.WriterFailed(el, err)
			}
		}
	}
}

// releaseLeaseLocked is Hadoop's internalReleaseLease: a file whose
// blocks allow it is closed now (OP_CLOSE); a last block that no live
// DataNode holds is dropped first (OP_UPDATE_BLOCKS, as Hadoop removes an
// empty last block nobody reported); otherwise block recovery starts with
// a new generation stamp (OP_SET_GENSTAMP_V2) as the recovery id, and the
// file closes when the primary DataNode commits the recovery
// (commitBlockSynchronization). It returns the last txid logged and
// whether the file is closed.
func (s *Namesystem) releaseLeaseLocked(holder, path string) (int64, bool, error) {
	st, err := s.ns.ResolvePath(path)
	if err != nil {
		return 0, false, err
	}
	if st == nil || st.ClientName != holder {
		// Stale lease: the namespace no longer has the file open by holder.
		s.leases.mu.Lock()
		s.leases.removeLocked(holder, path)
		s.leases.mu.Unlock()
		return 0, true, nil
	}
	c := namespace.Call{User: s.cfg.Superuser, Now: s.nowMillis()}
	now := s.cfg.Now()
	var txid int64
	var last *editpb.Block
	if n := len(st.Blocks); n > 0 {
		last = st.Blocks[n-1]
		// Even finalized replicas go through recovery: only the DataNodes
		// know the length the writer reached.
		if _, running := s.bm.RecoveryInProgress(last.BlockId, now); running {
			return 0, false, nil
		}
		if locs, _ := s.bm.Locations(last.BlockId, "", now); len(locs) > 0 {
			op, gs := s.ns.PrepareNextGenStamp(c)
			r, err := s.logAndApplyLocked(op)
			if err != nil {
				return 0, false, err
			}
			if _, err := s.bm.StartRecovery(last.BlockId, gs, now); err != nil {
				return r.txid, false, err
			}
			s.log.Info("block recovery started", zap.String("path", path), zap.Uint64("block", last.BlockId), zap.Uint64("recoveryId", gs))
			return r.txid, false, nil
		}
		// No DataNode has it: close the file without it.
		op, err := s.ns.PrepareAbandonBlock(c, path, holder, last)
		if err != nil {
			return 0, false, err
		}
		r, err := s.logAndApplyLocked(op)
		if err != nil {
			return 0, false, err
		}
		txid = r.txid
		last = nil
		if n := len(st.Blocks); n > 1 {
			last = st.Blocks[n-2]
		}
	}
	op, err := s.ns.PrepareComplete(c, path, holder, last)
	if err != nil {
		return txid, false, err
	}
	r, err := s.logAndApplyLocked(op)
	if err != nil {
		return txid, false, err
	}
	return r.txid, true, nil
}

// recoverSoftLocked is the soft-limit half of Hadoop's recoverLeaseInternal
// for create and append: when path is open by another holder whose lease
// is past the soft limit, the file is closed first (without DataNodes its
// blocks are complete) and the call goes on against the closed file.
func (s *Namesystem) recoverSoftLocked(path, holder string) {
	h, renewed, ok := s.leases.holderOf(path)
	if !ok || h == holder || s.cfg.Now().Sub(renewed) <= s.cfg.SoftLimit {
		return
	}
	if txid, _, err := s.releaseLeaseLocked(h, path); err != nil {
		s.log.Warn("soft limit lease recovery failed", zap.String("holder", h), zap.String("path", path), zap.Error(err))
	} else if txid > 0 {
		s.log.Info("recovered lease past its soft limit", zap.String("holder", h), zap.String("path", path), zap.String("for", holder), zap.Int64("txid", txid))
	}
}
