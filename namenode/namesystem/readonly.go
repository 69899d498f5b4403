package namesystem

import (
	"errors"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/ha"
)

// ReadOnlyMessage is the text of the IOException every mutation of a
// read-only namesystem (the NameNode's recovery mode) gets, JindoFS's.
const ReadOnlyMessage = "Namespace is under recovery mode, and is read-only."

// ErrNotReadOnly refuses StartReadOnly on a namesystem configured without
// Config.ReadOnly.
var ErrNotReadOnly = errors.New("namesystem: not configured read-only")

// checkWritable refuses WRITE and JOURNAL calls of a read-only namesystem
// (java.io.IOException, ReadOnlyMessage).
func (s *Namesystem) checkWritable(c ha.Category) error {
	if s.cfg.ReadOnly && (c == ha.Write || c == ha.Journal) {
		return rpc.Errorf(rpc.ErrIO, "%s", ReadOnlyMessage)
	}
	return nil
}

// ReadOnly reports whether the namesystem is read-only (recovery mode).
func (s *Namesystem) ReadOnly() bool { return s.cfg.ReadOnly }

// StartReadOnly makes a read-only namesystem serve as the active with no
// writer: reads are answered (nothing is ever waiting for a sync), every
// WRITE and JOURNAL call is refused with ReadOnlyMessage, and DataNodes get
// ACTIVE in their heartbeats. The caller loaded the namespace with Tail
// first. No leases are kept: a file left under construction stays so, as
// nobody may write it.
func (s *Namesystem) StartReadOnly() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.ReadOnly {
		return ErrNotReadOnly
	}
	if err := s.checkFailed(); err != nil {
		return err
	}
	if s.active.Load() {
		return ErrActive
	}
	s.startBlockManagementLocked()
	s.bm.SetActive(true, s.cfg.Now())
	s.active.Store(true)
	s.log.Info("namesystem active and read-only", zap.Int64("txid", s.ns.LastAppliedTxID()))
	return nil
}

// holdBackLocked drops the commands a read-only active must not give:
// deletions (a replica the recovered namespace does not know may belong to
// a file written after the last mirrored edit: deleting it would lose the
// only copy, and it costs nothing to keep it until the cluster is writable
// again) and block recoveries (their commitBlockSynchronization would be a
// mutation). Copies of under-replicated blocks go out as usual. The block
// manager queues the deletions again at the node's next report. The caller
// holds the write lock.
func (s *Namesystem) holdBackLocked(uuid string, cmds []blockmanagement.Command) []blockmanagement.Command {
	out := cmds[:0]
	held := 0
	for _, c := range cmds {
		switch c := c.(type) {
		case blockmanagement.InvalidateCommand:
			held += len(c.Blocks)
		case blockmanagement.RecoverCommand:
			held++
		default:
			out = append(out, c)
		}
	}
	if held > 0 {
		s.log.Info("read-only: holding back block deletions and recoveries", zap.String("datanode", uuid), zap.Int("blocks", held))
	}
	return out
}
