package storage

import (
	"fmt"
	"io"
	"sync"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// ReplicaWriter writes one replica in rbw/ (a pipeline write) or tmp/ (a
// transfer) as packets arrive, until Finalize, Close or Abort. One
// goroutine writes (WriteChunks, Sync, Finalize); SetBytesAcked may come
// from another (the ack responder). A newer operation on the replica
// (RecoverRbw, InitReplicaRecovery, Invalidate, a newer CreateTemporary,
// Store.Close) stops the writer: its later calls fail with
// ErrWriterStopped.
type ReplicaWriter struct {
	s        *Store
	r        *replicaInfo // the map entry it writes; its fields are guarded by s.mu
	bpid     string
	id       uint64
	gs       uint64
	cs       Checksum
	dataPath string
	metaPath string

	mu struct {
		sync.Mutex
		data, meta vfs.File
		stopped    bool  // stopped, finalized, closed or aborted: files are closed
		err        error // a failed write: the files may disagree with bytesOnDisk
		bytes      int64 // valid bytes on disk
		dirSynced  bool
		// writeback is the offset up to which the data file's writeback was
		// started (startWriteback); Invariant: writeback <= bytes.
		writeback int64
	}
}

// writebackChunk is how far a writer gets ahead of the disk before it starts
// the writeback of what it wrote (sync_file_range, as Hadoop's
// dfs.datanode.sync.behind.writes, always on here): Finalize's fsync then
// finds the block on disk already (a few ms instead of ~100 ms for 128 MiB
// here), and the stream runs at the disk's pace instead of stopping for a
// whole block's fsync at each block's end.
const writebackChunk = 8 << 20

// Replica describes the replica as the writer started it (block pool, id,
// generation stamp, paths, checksum).
func (w *ReplicaWriter) Replica() Replica {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.r.snapshot()
}

// Checksum is the replica's checksum type and chunk size: the checksums
// passed to WriteChunks must be of this kind.
func (w *ReplicaWriter) Checksum() Checksum { return w.cs }

// BytesOnDisk is the number of valid bytes written so far.
func (w *ReplicaWriter) BytesOnDisk() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.bytes
}

// CreateRbw creates a replica being written by a client pipeline
// (WRITE_BLOCK, stage PIPELINE_SETUP_CREATE) in rbw/. cs is the checksum the
// client chose (the zero Checksum means CRC32C with dfs.bytes-per-checksum).
// A replica with that id in any state is refused with
// ErrReplicaAlreadyExists.
func (s *Store) CreateRbw(bpid string, blockID, genStamp uint64, cs Checksum) (*ReplicaWriter, error) {
	return s.create(bpid, blockID, genStamp, cs, StateRBW)
}

// CreateTemporary creates a replica being copied in (TRANSFER_BLOCK target,
// replication, WRITE_BLOCK stage TRANSFER_*) in tmp/. It replaces an
// unfinalized (TEMPORARY, RBW or RWR) replica with an older generation
// stamp, stopping its writer and deleting its files, as Hadoop does; any
// other existing replica is refused with ErrReplicaAlreadyExists.
func (s *Store) CreateTemporary(bpid string, blockID, genStamp uint64, cs Checksum) (*ReplicaWriter, error) {
	return s.create(bpid, blockID, genStamp, cs, StateTemporary)
}

func (s *Store) create(bpid string, id, gs uint64, cs Checksum, state State) (*ReplicaWriter, error) {
	if cs == (Checksum{}) {
		cs = s.defaultCS
	}
	if err := cs.Validate(); err != nil {
		return nil, err
	}
	r, err := s.lockReplicaStopped(bpid, id, func(r *replicaInfo) error {
		if p := s.mu.pools[bpid]; p == nil || !p.added {
			return fmt.Errorf("%w: %s", ErrBlockPoolNotAdded, bpid)
		}
		if r == nil {
			return nil
		}
		replaceable := state == StateTemporary && r.gs < gs &&
			(r.state == StateTemporary || r.state == StateRBW || r.state == StateRWR)
		if !replaceable {
			return fmt.Errorf("%w: Block %s:%s already exists in state %s and thus cannot be created.",
				ErrReplicaAlreadyExists, bpid, BlockName(id, gs), r.state)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	p := s.mu.pools[bpid]
	if r != nil {
		s.log.Info("replacing an older unfinalized replica with a transfer", zap.String("old", r.snapshot().String()),
			zap.Uint64("newGenStamp", gs))
		if err := s.removeFiles(r.dataPath, r.metaPath); err != nil {
			return nil, fmt.Errorf("deleting replaced replica %s: %w", r.snapshot().Name(), err)
		}
		delete(p.replicas, id)
	}
	v, err := s.chooseVolumeLocked(bpid)
	if err != nil {
		return nil, err
	}
	dir := rbwDir(v.root, bpid)
	if state == StateTemporary {
		dir = tmpDir(v.root, bpid)
	}
	r = &replicaInfo{bpid: bpid, id: id, gs: gs, state: state, vol: v, cs: cs,
		dataPath: vfs.Join(dir, BlockFileName(id)), metaPath: vfs.Join(dir, MetaFileName(id, gs))}
	w, err := s.newWriterLocked(r, true)
	if err != nil {
		return nil, err
	}
	p.replicas[id] = r
	return w, nil
}

// newWriterLocked opens (fresh: creates, with the meta header) the files of
// r and makes the writer its owner. r.numBytes must describe the files.
func (s *Store) newWriterLocked(r *replicaInfo, fresh bool) (*ReplicaWriter, error) {
	w := &ReplicaWriter{s: s, r: r, bpid: r.bpid, id: r.id, gs: r.gs, cs: r.cs, dataPath: r.dataPath, metaPath: r.metaPath}
	open := s.fs.OpenReadWrite
	if fresh {
		open = s.fs.Create
	}
	meta, err := open(r.metaPath)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", r.metaPath, err)
	}
	if fresh {
		if _, err := meta.Write(EncodeMetaHeader(r.cs)); err != nil {
			meta.Close()
			s.removeFiles(r.metaPath)
			return nil, fmt.Errorf("writing %s: %w", r.metaPath, err)
		}
	}
	data, err := open(r.dataPath)
	if err != nil {
		meta.Close()
		if fresh {
			s.removeFiles(r.metaPath)
		}
		return nil, fmt.Errorf("opening %s: %w", r.dataPath, err)
	}
	w.mu.data, w.mu.meta, w.mu.bytes = data, meta, r.numBytes
	r.writer, r.ackTracked, r.bytesAcked = w, false, r.numBytes
	return w, nil
}

// stop closes the files and makes later calls fail; it waits for a call in
// progress. The caller must not hold Store.mu.
func (w *ReplicaWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeFilesLocked()
}

func (w *ReplicaWriter) closeFilesLocked() error {
	if w.mu.stopped {
		return nil
	}
	w.mu.stopped = true
	err1 := w.mu.data.Close()
	err2 := w.mu.meta.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

func (w *ReplicaWriter) checkLocked() error {
	if w.mu.stopped {
		return fmt.Errorf("%w: %s", ErrWriterStopped, BlockName(w.id, w.gs))
	}
	return w.mu.err
}

// fail records a write error: the writer accepts nothing more (pipeline
// recovery, which truncates to the acknowledged length, takes over).
func (w *ReplicaWriter) failLocked(err error) error {
	w.mu.err = fmt.Errorf("writing %s: %w", BlockName(w.id, w.gs), err)
	return w.mu.err
}

// WriteChunks stores the packet data that starts at offsetInBlock, with its
// checksums: one per chunk of BytesPerChecksum bytes counted from the start
// of data (the last, and after an append or recovery also the first, may be
// short), as DataTransferProtocol packets carry them. checksums is verified
// against data (ErrChecksum on mismatch, nothing written); nil skips the
// check and computes them. They must be of the writer's Checksum(): a
// caller whose client uses another type or chunk size verifies them itself
// and passes nil.
//
// offsetInBlock may not exceed BytesOnDisk (no holes). Bytes before
// BytesOnDisk are already stored and skipped (a resent packet); when the
// write starts inside a partial last chunk the chunk's checksum is
// recomputed over the bytes on disk and the new ones.
func (w *ReplicaWriter) WriteChunks(offsetInBlock int64, data, checksums []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return err
	}
	onDisk := w.mu.bytes
	if offsetInBlock < 0 || offsetInBlock > onDisk {
		return fmt.Errorf("%w: %s: packet at offset %d, but %d bytes are on disk", ErrBadRequest, BlockName(w.id, w.gs), offsetInBlock, onDisk)
	}
	cs := w.cs
	if checksums != nil && cs.Size() > 0 {
		if need := cs.Chunks(int64(len(data))) * ChecksumSize; int64(len(checksums)) < need {
			return fmt.Errorf("%w: %s: %d checksum bytes for %d data bytes, want %d", ErrBadRequest, BlockName(w.id, w.gs), len(checksums), len(data), need)
		}
		if bad := cs.VerifySums(data, checksums); bad >= 0 {
			return fmt.Errorf("%w: Checksum error: %s at %d exp: computed vs received mismatch", ErrChecksum,
				BlockName(w.id, w.gs), offsetInBlock+int64(bad)*int64(cs.BytesPerChecksum))
		}
	}
	end := offsetInBlock + int64(len(data))
	if end <= onDisk {
		return nil
	}
	if offsetInBlock < onDisk {
		data = data[onDisk-offsetInBlock:]
		offsetInBlock = onDisk
		checksums = nil
	}
	if _, err := w.mu.data.Seek(offsetInBlock, io.SeekStart); err != nil {
		return w.failLocked(err)
	}
	if _, err := w.mu.data.Write(data); err != nil {
		return w.failLocked(err)
	}
	if cs.Size() > 0 {
		bpc := int64(cs.BytesPerChecksum)
		chunkStart := offsetInBlock / bpc * bpc
		var sums []byte
		if chunkStart == offsetInBlock && checksums != nil {
			sums = checksums[:cs.Chunks(int64(len(data)))*ChecksumSize]
		} else {
			buf := make([]byte, offsetInBlock-chunkStart+int64(len(data)))
			if err := readFull(w.mu.data, buf[:offsetInBlock-chunkStart], chunkStart); err != nil {
				return w.failLocked(err)
			}
			copy(buf[offsetInBlock-chunkStart:], data)
			sums = cs.AppendSums(nil, buf)
		}
		if _, err := w.mu.meta.Seek(MetaHeaderSize+chunkStart/bpc*ChecksumSize, io.SeekStart); err != nil {
			return w.failLocked(err)
		}
		if _, err := w.mu.meta.Write(sums); err != nil {
			return w.failLocked(err)
		}
	}
	w.mu.bytes = end
	if w.mu.writeback > end { // a recovery truncated the replica
		w.mu.writeback = end
	}
	if end-w.mu.writeback >= writebackChunk {
		startWriteback(w.mu.data, w.mu.writeback, end-w.mu.writeback)
		w.mu.writeback = end
	}
	w.s.mu.Lock()
	w.r.numBytes = end
	if !w.r.ackTracked {
		w.r.bytesAcked = end
	}
	w.s.mu.Unlock()
	return nil
}

// SetBytesAcked records how much of the replica the pipeline acknowledged
// (the responder calls it as it sends each ack upstream). It is the
// visible length for readers of an RBW replica and what RecoverRbw keeps.
// Until a writer's first call, every byte written counts as acknowledged
// (so a caller that never calls it gets readers and RecoverRbw that see
// everything on disk); from then on only what it reports.
func (w *ReplicaWriter) SetBytesAcked(n int64) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.r.writer == w {
		w.r.ackTracked = true
		w.r.bytesAcked = min(n, w.r.numBytes)
	}
}

// Sync makes the data and checksums written so far durable, and the
// replica's names too (hsync).
func (w *ReplicaWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return err
	}
	return w.syncLocked()
}

func (w *ReplicaWriter) syncLocked() error {
	if err := w.mu.data.Sync(); err != nil {
		return w.failLocked(err)
	}
	if err := w.mu.meta.Sync(); err != nil {
		return w.failLocked(err)
	}
	if !w.mu.dirSynced {
		if err := w.s.fs.SyncDir(vfs.Dir(w.dataPath)); err != nil {
			return w.failLocked(err)
		}
		w.mu.dirSynced = true
	}
	return nil
}

// Finalize completes the replica: it trims the files to BytesOnDisk, fsyncs
// them, closes them, and moves meta then data into
// finalized/subdirN/subdirM/, fsyncing both directories. Only then is the
// replica FINALIZED, in the map and on disk (see the package doc for what a
// crash in between leaves). The writer is done afterwards.
func (w *ReplicaWriter) Finalize() (Replica, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return Replica{}, err
	}
	n := w.mu.bytes
	for _, f := range []struct {
		file vfs.File
		size int64
	}{{w.mu.data, n}, {w.mu.meta, w.cs.MetaLength(n)}} {
		fi, err := f.file.Stat()
		if err != nil {
			return Replica{}, w.failLocked(err)
		}
		if fi.Size() != f.size {
			if err := f.file.Truncate(f.size); err != nil {
				return Replica{}, w.failLocked(err)
			}
		}
	}
	if !w.s.noSync {
		if err := w.mu.data.Sync(); err != nil {
			return Replica{}, w.failLocked(err)
		}
		if err := w.mu.meta.Sync(); err != nil {
			return Replica{}, w.failLocked(err)
		}
	}
	if err := w.closeFilesLocked(); err != nil {
		return Replica{}, fmt.Errorf("closing %s: %w", BlockName(w.id, w.gs), err)
	}

	s := w.s
	s.mu.Lock()
	r := w.r
	if s.mu.closed || s.lookupLocked(w.bpid, w.id) != r || r.writer != w {
		s.mu.Unlock()
		return Replica{}, fmt.Errorf("%w: %s was taken over before it was finalized", ErrWriterStopped, BlockName(w.id, w.gs))
	}
	syncDirs, err := s.renameToFinalizedLocked(r)
	if err != nil {
		r.writer = nil
		s.mu.Unlock()
		return Replica{}, err
	}
	s.mu.Unlock()

	// The directory fsyncs run without s.mu, so that other replicas'
	// writers, acks and readers do not wait for them. This is safe because
	// r still names w as its writer and w.mu is held: every other operation
	// that could change r (Invalidate, a replacing CreateTemporary,
	// RecoverRbw, RecoverAppend, RecoverClose, InitReplicaRecovery) stops
	// the writer first and so waits for Finalize to return; Append and
	// UpdateReplicaUnderRecovery refuse a replica that is not FINALIZED or
	// RUR. Store.Close may take the writer away meanwhile, but it too waits
	// for w.mu before it returns. Readers meanwhile see the replica still
	// in its old state, at the paths the renames (made under s.mu) gave it.
	syncErr := syncDirs()

	s.mu.Lock()
	defer s.mu.Unlock()
	if r.writer == w {
		r.writer = nil
	}
	r.state = StateFinalized
	if syncErr != nil {
		return Replica{}, syncErr
	}
	r.bytesAcked = r.numBytes
	return r.snapshot(), nil
}

// moveToFinalizedLocked moves r's files (durable already) into its
// finalized directory, meta first, and makes the renames durable. r becomes
// FINALIZED. On failure r is left where its files are.
func (s *Store) moveToFinalizedLocked(r *replicaInfo) error {
	syncDirs, err := s.renameToFinalizedLocked(r)
	if err != nil {
		return err
	}
	r.state = StateFinalized
	return syncDirs()
}

// renameToFinalizedLocked moves r's files into its finalized directory,
// meta first, and points r at them; r's state is left to the caller. It
// returns what makes the renames durable (an fsync of the finalized and
// the source directory), which needs no lock. On failure r is left where
// its files are.
func (s *Store) renameToFinalizedLocked(r *replicaInfo) (syncDirs func() error, err error) {
	name := BlockName(r.id, r.gs)
	dir := finalizedDir(r.vol.root, r.bpid, r.id)
	if err := vfs.MkdirAllDurable(s.fs, dir, 0o700); err != nil {
		return nil, fmt.Errorf("finalizing %s: %w", name, err)
	}
	srcDir := vfs.Dir(r.dataPath)
	meta := vfs.Join(dir, MetaFileName(r.id, r.gs))
	data := vfs.Join(dir, BlockFileName(r.id))
	if err := s.fs.Rename(r.metaPath, meta); err != nil {
		return nil, fmt.Errorf("finalizing %s: %w", name, err)
	}
	if err := s.fs.Rename(r.dataPath, data); err != nil {
		if err2 := s.fs.Rename(meta, r.metaPath); err2 != nil {
			s.log.Error("cannot move a meta file back after a failed finalize", zap.String("file", meta), zap.Error(err2))
		}
		return nil, fmt.Errorf("finalizing %s: %w", name, err)
	}
	r.dataPath, r.metaPath = data, meta
	return func() error {
		for _, d := range []string{dir, srcDir} {
			if err := s.fs.SyncDir(d); err != nil {
				return fmt.Errorf("finalizing %s: %w", name, err)
			}
		}
		return nil
	}, nil
}

// Close ends the writer without finalizing: the replica stays in its state
// (RBW: a later RecoverRbw, block recovery or restart deals with it). It is
// a no-op after Finalize, Abort or a stop.
func (w *ReplicaWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.stopped {
		return nil
	}
	err := w.closeFilesLocked()
	w.s.mu.Lock()
	if w.r.writer == w {
		w.r.writer = nil
	}
	w.s.mu.Unlock()
	return err
}

// Abort ends the writer and deletes the replica it was writing (a transfer
// or write that failed). It is a no-op when the writer was already stopped
// or finalized.
func (w *ReplicaWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.stopped {
		return nil
	}
	w.closeFilesLocked()
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupLocked(w.bpid, w.id) != w.r || w.r.writer != w {
		return nil
	}
	if err := s.removeFiles(w.dataPath, w.metaPath); err != nil {
		w.r.writer = nil
		return fmt.Errorf("deleting aborted replica %s: %w", BlockName(w.id, w.gs), err)
	}
	delete(s.mu.pools[w.bpid].replicas, w.id)
	return nil
}

// Append reopens a finalized replica for appending (WRITE_BLOCK stage
// PIPELINE_SETUP_APPEND): its generation stamp must be oldGS and its length
// expectedLen. Data and meta move to rbw/, the meta renamed for newGS, and
// the writer continues at the replica's end.
func (s *Store) Append(bpid string, blockID, oldGS, newGS uint64, expectedLen int64) (*ReplicaWriter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, ErrClosed
	}
	b := bpid + ":" + BlockName(blockID, oldGS)
	r := s.lookupLocked(bpid, blockID)
	if r == nil {
		return nil, fmt.Errorf("%w: Replica does not exist %s", ErrReplicaNotFound, b)
	}
	if r.state != StateFinalized {
		return nil, fmt.Errorf("%w: Cannot append to an unfinalized replica %s", ErrReplicaNotFound, r.snapshot())
	}
	if r.gs != oldGS {
		return nil, fmt.Errorf("%w: Cannot append to a replica with unexpected generation stamp %s. Expected GS is %d", ErrReplicaNotFound, r.snapshot(), oldGS)
	}
	if r.numBytes != expectedLen {
		return nil, fmt.Errorf("%w: Corrupted replica %s with a length of %d expected length is %d", ErrReplicaNotFound, r.snapshot(), r.numBytes, expectedLen)
	}
	if newGS < oldGS {
		return nil, fmt.Errorf("%w: The new generation stamp %d should be greater than the replica %s's generation stamp", ErrBadRequest, newGS, b)
	}
	// Data first, then meta: a crash in between leaves a finalized meta file
	// and an rbw data file without meta, which Open moves back (finalized,
	// old generation stamp, nothing appended yet).
	dir := rbwDir(r.vol.root, bpid)
	srcDir := vfs.Dir(r.dataPath)
	data := vfs.Join(dir, BlockFileName(blockID))
	meta := vfs.Join(dir, MetaFileName(blockID, newGS))
	if err := s.fs.Rename(r.dataPath, data); err != nil {
		return nil, fmt.Errorf("append %s: %w", b, err)
	}
	if err := s.fs.Rename(r.metaPath, meta); err != nil {
		if err2 := s.fs.Rename(data, r.dataPath); err2 != nil {
			s.log.Error("cannot move a block file back after a failed append", zap.String("file", data), zap.Error(err2))
		}
		return nil, fmt.Errorf("append %s: %w", b, err)
	}
	r.dataPath, r.metaPath, r.gs, r.state, r.bytesAcked = data, meta, newGS, StateRBW, r.numBytes
	for _, d := range []string{dir, srcDir} {
		if err := s.fs.SyncDir(d); err != nil {
			return nil, fmt.Errorf("append %s: %w", b, err)
		}
	}
	return s.newWriterLocked(r, false)
}

// RecoverRbw takes over an RBW replica for pipeline recovery (WRITE_BLOCK
// stage PIPELINE_SETUP_STREAMING_RECOVERY): its writer is stopped, its
// generation stamp must be within [oldGS, newGS], what the pipeline
// acknowledged must be at least minBytesRcvd and what it holds at most
// maxBytesRcvd; unacknowledged bytes are cut off (the last partial chunk's
// checksum recomputed), the meta file is renamed for newGS, and a new writer
// continues at the acknowledged length.
func (s *Store) RecoverRbw(bpid string, blockID, oldGS, newGS uint64, minBytesRcvd, maxBytesRcvd int64) (*ReplicaWriter, error) {
	b := bpid + ":" + BlockName(blockID, oldGS)
	r, err := s.lockReplicaStopped(bpid, blockID, func(r *replicaInfo) error {
		if r == nil {
			return fmt.Errorf("%w: Replica not found for %s", ErrReplicaNotFound, b)
		}
		if r.state != StateRBW {
			return fmt.Errorf("%w: Cannot recover a non-RBW replica %s", ErrReplicaNotFound, r.snapshot())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if r.gs < oldGS || r.gs > newGS {
		return nil, fmt.Errorf("%w: Cannot append to a replica with unexpected generation stamp %s. Expected GS range is [%d, %d].",
			ErrReplicaNotFound, r.snapshot(), oldGS, newGS)
	}
	acked, n := r.bytesAcked, r.numBytes
	if acked < minBytesRcvd || n > maxBytesRcvd {
		return nil, fmt.Errorf("%w: Unmatched length replica %s: BytesAcked = %d BytesRcvd = %d are not in the range of [%d, %d].",
			ErrReplicaNotFound, r.snapshot(), acked, n, minBytesRcvd, maxBytesRcvd)
	}
	// Always rewritten: a stopped writer may have left bytes, or a half-written
	// checksum, past what it counted.
	if err := s.truncateFiles(r.cs, r.dataPath, r.metaPath, acked); err != nil {
		return nil, fmt.Errorf("recovering %s: %w", b, err)
	}
	r.numBytes = acked
	if err := s.bumpGenStampLocked(r, newGS); err != nil {
		return nil, fmt.Errorf("recovering %s: %w", b, err)
	}
	return s.newWriterLocked(r, false)
}

// bumpGenStampLocked renames r's meta file for a new generation stamp, in
// place, durably.
func (s *Store) bumpGenStampLocked(r *replicaInfo, gs uint64) error {
	if r.gs == gs {
		return nil
	}
	meta := vfs.Join(vfs.Dir(r.metaPath), MetaFileName(r.id, gs))
	if err := s.fs.Rename(r.metaPath, meta); err != nil {
		return err
	}
	r.metaPath, r.gs = meta, gs
	return s.fs.SyncDir(vfs.Dir(meta))
}

// recoverCheckLocked is Hadoop's recoverCheck for append and close
// recovery: the replica must be FINALIZED or RBW (its writer already
// stopped), with a generation stamp in [oldGS, newGS] and exactly
// expectedLen bytes.
func (s *Store) recoverCheckLocked(r *replicaInfo, b string, oldGS, newGS uint64, expectedLen int64) error {
	if r == nil {
		return fmt.Errorf("%w: Replica not found for %s", ErrReplicaNotFound, b)
	}
	if r.state != StateFinalized && r.state != StateRBW {
		return fmt.Errorf("%w: Cannot recover append/close to a replica that's not FINALIZED and not RBW %s", ErrReplicaNotFound, r.snapshot())
	}
	if r.gs < oldGS || r.gs > newGS {
		return fmt.Errorf("%w: Cannot append to a replica with unexpected generation stamp %s. Expected GS range is [%d, %d].",
			ErrReplicaNotFound, r.snapshot(), oldGS, newGS)
	}
	if r.numBytes != expectedLen {
		return fmt.Errorf("%w: Corrupted replica %s with a length of %d expected length is %d", ErrReplicaNotFound, r.snapshot(), r.numBytes, expectedLen)
	}
	return nil
}

// RecoverAppend takes over a replica for a pipeline that failed while
// appending (WRITE_BLOCK stage PIPELINE_SETUP_APPEND_RECOVERY): a finalized
// replica is reopened as by Append, an RBW one has its writer stopped and
// its generation stamp moved to newGS. Either way it must hold expectedLen
// bytes with a generation stamp in [oldGS, newGS].
func (s *Store) RecoverAppend(bpid string, blockID, oldGS, newGS uint64, expectedLen int64) (*ReplicaWriter, error) {
	r, err := s.lockReplicaStopped(bpid, blockID, nil)
	if err != nil {
		return nil, err
	}
	b := bpid + ":" + BlockName(blockID, oldGS)
	if err := s.recoverCheckLocked(r, b, oldGS, newGS, expectedLen); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if r.state == StateFinalized {
		gs := r.gs
		s.mu.Unlock()
		return s.Append(bpid, blockID, gs, newGS, expectedLen)
	}
	defer s.mu.Unlock()
	if err := s.truncateFiles(r.cs, r.dataPath, r.metaPath, r.numBytes); err != nil {
		return nil, fmt.Errorf("recovering append of %s: %w", b, err)
	}
	if err := s.bumpGenStampLocked(r, newGS); err != nil {
		return nil, fmt.Errorf("recovering append of %s: %w", b, err)
	}
	r.bytesAcked = r.numBytes
	return s.newWriterLocked(r, false)
}

// RecoverClose completes a replica whose pipeline failed while closing
// (WRITE_BLOCK stage PIPELINE_CLOSE_RECOVERY): checks as RecoverAppend,
// then the generation stamp becomes newGS and an RBW replica is finalized.
func (s *Store) RecoverClose(bpid string, blockID, oldGS, newGS uint64, expectedLen int64) (Replica, error) {
	r, err := s.lockReplicaStopped(bpid, blockID, nil)
	if err != nil {
		return Replica{}, err
	}
	defer s.mu.Unlock()
	b := bpid + ":" + BlockName(blockID, oldGS)
	if err := s.recoverCheckLocked(r, b, oldGS, newGS, expectedLen); err != nil {
		return Replica{}, err
	}
	if r.state == StateRBW {
		// The stopped writer may have left bytes past numBytes.
		if err := s.truncateFiles(r.cs, r.dataPath, r.metaPath, r.numBytes); err != nil {
			return Replica{}, fmt.Errorf("recovering close of %s: %w", b, err)
		}
	}
	if err := s.bumpGenStampLocked(r, newGS); err != nil {
		return Replica{}, fmt.Errorf("recovering close of %s: %w", b, err)
	}
	if r.state == StateRBW {
		if err := s.moveToFinalizedLocked(r); err != nil {
			return Replica{}, err
		}
	}
	r.bytesAcked = r.numBytes
	return r.snapshot(), nil
}
