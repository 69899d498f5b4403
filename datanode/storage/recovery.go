package storage

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// ReplicaRecoveryInfo is what InitReplicaRecovery answers (Hadoop's
// ReplicaRecoveryInfo in InterDatanodeProtocol): the replica as it was
// before recovery began.
type ReplicaRecoveryInfo struct {
	BlockID       uint64
	NumBytes      int64
	GenStamp      uint64
	OriginalState State
}

// InitReplicaRecovery starts block recovery of a replica (lease recovery's
// first step, InterDatanodeProtocol.initReplicaRecovery): a writer is
// stopped, and the replica becomes RUR with recoveryID. genStamp is the
// NameNode's generation stamp of the block; the replica's may not be older,
// and recoveryID must be newer than the replica's. A replica already under a
// recovery with an equal or higher id is refused with ErrRecoveryInProgress;
// a lower one is superseded. No replica: ErrReplicaNotFound (Hadoop answers
// "not found" rather than failing).
func (s *Store) InitReplicaRecovery(bpid string, blockID, genStamp, recoveryID uint64) (ReplicaRecoveryInfo, error) {
	r, err := s.lockReplicaStopped(bpid, blockID, nil)
	if err != nil {
		return ReplicaRecoveryInfo{}, err
	}
	defer s.mu.Unlock()
	b := bpid + ":" + BlockName(blockID, genStamp)
	if r == nil {
		return ReplicaRecoveryInfo{}, fmt.Errorf("%w: Replica not found for %s", ErrReplicaNotFound, b)
	}
	if r.gs < genStamp {
		return ReplicaRecoveryInfo{}, fmt.Errorf("%w: replica.getGenerationStamp() < block.getGenerationStamp(), block=%s, replica=%s",
			ErrBadRequest, b, r.snapshot())
	}
	if r.gs >= recoveryID {
		return ReplicaRecoveryInfo{}, fmt.Errorf("%w: THIS IS NOT SUPPOSED TO HAPPEN: replica.getGenerationStamp() >= recoveryId = %d, block=%s, replica=%s",
			ErrBadRequest, recoveryID, b, r.snapshot())
	}
	if r.state == StateRUR {
		if r.recoveryID >= recoveryID {
			return ReplicaRecoveryInfo{}, fmt.Errorf("%w: rur.getRecoveryID() >= recoveryId = %d, block=%s, rur=%s",
				ErrRecoveryInProgress, recoveryID, b, r.snapshot())
		}
		s.log.Info("initReplicaRecovery: update recovery id", zap.String("block", b),
			zap.Uint64("from", r.recoveryID), zap.Uint64("to", recoveryID))
	} else {
		s.log.Info("initReplicaRecovery: changing replica state to RUR", zap.String("block", b),
			zap.Stringer("from", r.state), zap.Uint64("recoveryId", recoveryID))
		r.origState, r.state = r.state, StateRUR
	}
	r.recoveryID = recoveryID
	return ReplicaRecoveryInfo{BlockID: r.id, NumBytes: r.numBytes, GenStamp: r.gs, OriginalState: r.origState}, nil
}

// UpdateReplicaUnderRecovery ends block recovery of an RUR replica with the
// agreed result (InterDatanodeProtocol.updateReplicaUnderRecovery): the
// replica takes generation stamp recoveryID (its meta file renamed), is
// truncated to newLength (which may not exceed its length; the last partial
// chunk's checksum is recomputed) and finalized. newBlockID other than 0 and
// blockID asks for copy-on-truncate: the replica is kept as it was
// (finalized) and a copy of its first newLength bytes is stored as
// newBlockID with recoveryID; the copy is returned.
func (s *Store) UpdateReplicaUnderRecovery(bpid string, blockID, recoveryID, newBlockID uint64, newLength int64) (Replica, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return Replica{}, ErrClosed
	}
	r := s.lookupLocked(bpid, blockID)
	if r == nil {
		return Replica{}, fmt.Errorf("%w: Replica not found for %s:blk_%d", ErrReplicaNotFound, bpid, int64(blockID))
	}
	if r.state != StateRUR {
		return Replica{}, fmt.Errorf("%w: replica.getState() != RUR, replica=%s", ErrBadRequest, r.snapshot())
	}
	if r.recoveryID != recoveryID {
		return Replica{}, fmt.Errorf("%w: rur.getRecoveryID() != recoveryId = %d, rur=%s", ErrBadRequest, recoveryID, r.snapshot())
	}
	if newLength < 0 || r.numBytes < newLength {
		return Replica{}, fmt.Errorf("%w: rur.getNumBytes() < newlength = %d, rur=%s", ErrBadRequest, newLength, r.snapshot())
	}
	if newBlockID != 0 && newBlockID != blockID {
		return s.copyOnTruncateLocked(r, recoveryID, newBlockID, newLength)
	}
	if err := s.bumpGenStampLocked(r, recoveryID); err != nil {
		return Replica{}, fmt.Errorf("updating %s: %w", r.snapshot().Name(), err)
	}
	if newLength < r.numBytes {
		if err := s.truncateFiles(r.cs, r.dataPath, r.metaPath, newLength); err != nil {
			return Replica{}, fmt.Errorf("updating %s: %w", r.snapshot().Name(), err)
		}
		r.numBytes = newLength
	}
	if err := s.finalizeRecoveredLocked(r); err != nil {
		return Replica{}, err
	}
	return r.snapshot(), nil
}

// finalizeRecoveredLocked finalizes an RUR replica in place or by moving it
// out of rbw/.
func (s *Store) finalizeRecoveredLocked(r *replicaInfo) error {
	if r.origState == StateFinalized {
		r.state = StateFinalized
	} else {
		// Its writer may have stopped without fsyncing: make the files
		// durable (and exactly numBytes long) before they count as finalized.
		if err := s.truncateFiles(r.cs, r.dataPath, r.metaPath, r.numBytes); err != nil {
			return fmt.Errorf("finalizing %s: %w", r.snapshot().Name(), err)
		}
		if err := s.moveToFinalizedLocked(r); err != nil {
			return err
		}
	}
	r.bytesAcked, r.recoveryID, r.origState = r.numBytes, 0, 0
	return nil
}

// copyOnTruncateLocked stores the first n bytes of r as block newID with
// generation stamp gs (written in tmp/, then finalized) and finalizes r
// unchanged.
func (s *Store) copyOnTruncateLocked(r *replicaInfo, gs, newID uint64, n int64) (Replica, error) {
	p := s.mu.pools[r.bpid]
	if old := p.replicas[newID]; old != nil {
		return Replica{}, fmt.Errorf("%w: Block %s:%s already exists in state %s and thus cannot be created.",
			ErrReplicaAlreadyExists, r.bpid, BlockName(newID, gs), old.state)
	}
	dir := tmpDir(r.vol.root, r.bpid)
	nr := &replicaInfo{bpid: r.bpid, id: newID, gs: gs, state: StateTemporary, vol: r.vol, cs: r.cs,
		dataPath: vfs.Join(dir, BlockFileName(newID)), metaPath: vfs.Join(dir, MetaFileName(newID, gs))}
	fail := func(err error) (Replica, error) {
		s.removeFiles(nr.dataPath, nr.metaPath)
		return Replica{}, fmt.Errorf("copy-on-truncate of %s to %s: %w", r.snapshot().Name(), BlockName(newID, gs), err)
	}
	if err := s.copyFile(r.dataPath, nr.dataPath, n); err != nil {
		return fail(err)
	}
	if err := s.copyFile(r.metaPath, nr.metaPath, r.cs.MetaLength(n)); err != nil {
		return fail(err)
	}
	if err := s.truncateFiles(r.cs, nr.dataPath, nr.metaPath, n); err != nil {
		return fail(err)
	}
	nr.numBytes = n
	if err := s.moveToFinalizedLocked(nr); err != nil {
		return fail(err)
	}
	nr.bytesAcked = n
	p.replicas[newID] = nr
	if err := s.finalizeRecoveredLocked(r); err != nil {
		return Replica{}, err
	}
	return nr.snapshot(), nil
}

// copyFile copies the first n bytes of src to a new dst.
func (s *Store) copyFile(src, dst string, n int64) error {
	in, err := s.fs.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := s.fs.Create(dst)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < n; {
		k := min(int64(len(buf)), n-off)
		if err := readFull(in, buf[:k], off); err != nil {
			out.Close()
			return err
		}
		if _, err := out.Write(buf[:k]); err != nil {
			out.Close()
			return err
		}
		off += k
	}
	return out.Close()
}
