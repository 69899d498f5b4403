package namesystem

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/namespace"
)

// ErrActive refuses a standby-only step (tailing) on an active namesystem.
var ErrActive = errors.New("namesystem: active")

// Active reports whether the namesystem serves checked calls (it has a
// writer and no writer failure).
func (s *Namesystem) Active() bool { return s.active.Load() }

// haState is the state the StandbyException text and getHAServiceState
// report.
func (s *Namesystem) haState() ha.State {
	if s.cfg.State != nil {
		return s.cfg.State()
	}
	if s.active.Load() {
		return ha.Active
	}
	return ha.Standby
}

// checkOperation is Hadoop's FSNamesystem.checkOperation: a call of
// category c is refused with StandbyException unless the namesystem is
// active (or c is unchecked).
// A read-only namesystem (recovery mode) refuses WRITE and JOURNAL calls
// with ReadOnlyMessage once active.
func (s *Namesystem) checkOperation(c ha.Category) error {
	if err := s.checkActive(c); err != nil {
		return err
	}
	return s.checkWritable(c)
}

// checkActive is checkOperation without the read-only check: for the
// WRITE calls that change no namespace (msync, safe mode, bad block
// reports), which a read-only active serves.
func (s *Namesystem) checkActive(c ha.Category) error {
	if c == ha.Unchecked || s.active.Load() {
		return nil
	}
	st := s.haState()
	if st == ha.Active {
		// The daemon still says active while a failed writer steps down.
		st = ha.Standby
	}
	return rpc.Errorf(rpc.ErrStandby, "%s", ha.StandbyMessage(c, st))
}

// WriterFailed reports that writer el's journal failed (the editlog's
// OnFatal, or a Sync that returned ErrJournalFailed). Without HA the
// namesystem fails for good (Fail). With HA it stops serving checked
// calls at once, and OnWriterFailed is told once per writer, from a
// goroutine of its own: the daemon steps down. It takes no lock, so the
// editlog may call it from under the namesystem lock.
func (s *Namesystem) WriterFailed(el *editlog.EditLog, err error) {
	if !s.cfg.HA {
		s.Fail(err)
		return
	}
	if el == nil || s.elp.Load() != el {
		return // an old writer: already stepped down from it
	}
	s.active.Store(false)
	if s.notifiedEL.Swap(el) == el {
		return
	}
	s.log.Error("journal refused the writer; stepping down, nothing more is acknowledged", zap.Error(err))
	if s.cfg.OnWriterFailed != nil {
		go s.cfg.OnWriterFailed(el, err)
	}
}

// Tail applies every edit el can read after the namespace's last applied
// txid, each under the write lock, feeding the retry cache as startup
// replay does. It returns the last applied txid and the number of edits
// applied. It refuses an active namesystem: only a standby (or a NameNode
// becoming active, before StartActive) applies edits it did not log. An
// edit that does not apply is an error naming its txid; the namespace
// then stays at the edit before it.
func (s *Namesystem) Tail(ctx context.Context, el *editlog.EditLog) (last int64, applied int, err error) {
	if s.active.Load() {
		return 0, 0, ErrActive
	}
	s.mu.RLock()
	from := s.ns.LastAppliedTxID() + 1
	s.mu.RUnlock()
	last, err = el.ReadFrom(ctx, from, func(txid int64, b []byte) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.active.Load() {
			return ErrActive
		}
		if err := s.applyReplayedLocked(txid, b); err != nil {
			return err
		}
		applied++
		return nil
	})
	if !s.bmStarted.Load() {
		s.mu.Lock()
		s.startBlockManagementLocked()
		s.mu.Unlock()
	}
	if err != nil {
		return last, applied, fmt.Errorf("namesystem: tail edits from txid %d: %w", from, err)
	}
	if last < from-1 {
		last = from - 1
	}
	return last, applied, nil
}

// AppliedTxID is the namespace's last applied txid.
func (s *Namesystem) AppliedTxID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ns.LastAppliedTxID()
}

// StartActive makes the namesystem active with writer el. The caller
// recovered el's journal (a new epoch) and applied every edit after
// recovery with Tail: writing starts at the next txid. Leases are rebuilt
// from the files under construction, all renewed now.
func (s *Namesystem) StartActive(ctx context.Context, el *editlog.EditLog) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active.Load() {
		return ErrActive
	}
	if err := s.checkFailed(); err != nil {
		return err
	}
	next := s.ns.LastAppliedTxID() + 1
	if err := el.StartWriting(ctx, next); err != nil {
		return fmt.Errorf("namesystem: start writing at txid %d: %w", next, err)
	}
	if err := s.rebuildLeasesLocked(); err != nil {
		return err
	}
	s.el = el
	s.elp.Store(el)
	s.bm.SetActive(true, s.cfg.Now())
	s.active.Store(true)
	s.log.Info("namesystem active", zap.Int64("segmentTxId", next))
	return nil
}

// StopActive makes the namesystem refuse checked calls
// (StandbyException) and detaches its writer, which it returns (nil if
// none): the caller closes it, which syncs and finalizes what handlers
// logged. Handlers already waiting for a sync keep their writer.
func (s *Namesystem) StopActive() *editlog.EditLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active.Store(false)
	s.bm.SetActive(false, s.cfg.Now())
	el := s.el
	s.el = nil
	s.elp.Store(nil)
	return el
}

// NeedsReload reports whether the namespace holds edits the closed writer
// el did not make durable (a failed writer logged and applied them): the
// namespace must then be reloaded from an image before tailing.
func (s *Namesystem) NeedsReload(el *editlog.EditLog) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return el != nil && s.ns.LastAppliedTxID() > el.SyncedTxID()
}

// ReloadNamespace replaces the namespace: under the write lock it closes
// the current one and opens the one load returns (the newest image), then
// drops the leases (a standby keeps none). Standby only. When load fails
// the namesystem fails for good.
func (s *Namesystem) ReloadNamespace(load func() (*namespace.Namespace, error)) (*namespace.Namespace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active.Load() {
		return nil, ErrActive
	}
	old := s.ns.LastAppliedTxID()
	if err := s.ns.Close(); err != nil {
		s.log.Warn("closing the namespace before reload", zap.Error(err))
	}
	ns, err := load()
	if err != nil {
		err = fmt.Errorf("namesystem: reload namespace: %w", err)
		s.Fail(err)
		return nil, err
	}
	s.ns = ns
	s.nsp.Store(ns)
	s.leases.replace(newLeaseManager())
	// Block locations survive (they come from DataNodes), but the map
	// must match the reloaded namespace: rebuild it and replay the
	// DataNodes' knowledge at their next block reports.
	bm, err := s.newBlockManager(ns)
	if err != nil {
		err = fmt.Errorf("namesystem: reload the block map: %w", err)
		s.Fail(err)
		return nil, err
	}
	s.bm = bm
	s.bmStarted.Store(false)
	s.log.Info("namespace reloaded from an image", zap.Int64("was", old), zap.Int64("txid", ns.LastAppliedTxID()))
	return ns, nil
}
