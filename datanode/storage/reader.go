package storage

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// ReplicaReader reads a replica's data and stored checksums for READ_BLOCK,
// BLOCK_CHECKSUM and transfers. It keeps its own open files, so a replica
// deleted or moved meanwhile stays readable until Close. Not safe for
// concurrent use.
type ReplicaReader struct {
	replica Replica
	length  int64
	cs      Checksum
	data    vfs.File
	meta    vfs.File
	// computed: checksums are computed from the data rather than read
	// (an RBW replica, whose last chunk's stored checksum may be rewritten
	// at any moment).
	computed bool
}

// OpenReplica opens a replica for reading. Finalized replicas are read whole,
// RBW ones up to what the pipeline acknowledged, RUR ones as their state
// before recovery; RWR and TEMPORARY ones are not readable. A replica whose generation stamp is older than genStamp
// is refused; a newer one is served (the client's block is stale, as
// Hadoop's BlockSender allows): Replica().GenStamp says which.
func (s *Store) OpenReplica(bpid string, blockID, genStamp uint64) (*ReplicaReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, ErrClosed
	}
	b := bpid + ":" + BlockName(blockID, genStamp)
	r := s.lookupLocked(bpid, blockID)
	if r == nil {
		return nil, fmt.Errorf("%w: Replica not found for %s", ErrReplicaNotFound, b)
	}
	if r.gs < genStamp {
		return nil, fmt.Errorf("%w: Replica gen stamp < block genstamp, block=%s, replica=%s", ErrReplicaNotFound, b, r.snapshot())
	}
	rr := &ReplicaReader{replica: r.snapshot(), cs: r.cs}
	state := r.state
	if state == StateRUR {
		// Under recovery, a replica reads as it did before (Hadoop's
		// ReplicaUnderRecovery.getVisibleLength).
		state = r.origState
	}
	switch state {
	case StateFinalized:
		rr.length = r.numBytes
	case StateRBW:
		rr.length, rr.computed = r.bytesAcked, true
	default:
		return nil, fmt.Errorf("%w: Replica is not readable, block=%s, replica=%s", ErrReplicaNotFound, b, r.snapshot())
	}
	var err error
	if rr.data, err = s.fs.Open(r.dataPath); err != nil {
		return nil, fmt.Errorf("opening %s: %w", r.dataPath, err)
	}
	if rr.meta, err = s.fs.Open(r.metaPath); err != nil {
		rr.data.Close()
		return nil, fmt.Errorf("opening %s: %w", r.metaPath, err)
	}
	return rr, nil
}

// Replica describes the replica as it was opened.
func (rr *ReplicaReader) Replica() Replica { return rr.replica }

// Length is the number of readable bytes.
func (rr *ReplicaReader) Length() int64 { return rr.length }

// Checksum is the replica's checksum type and chunk size.
func (rr *ReplicaReader) Checksum() Checksum { return rr.cs }

// ChunkStart rounds offset down to the start of its chunk: where a READ_BLOCK
// answer must begin so that checksums can be sent.
func (rr *ReplicaReader) ChunkStart(offset int64) int64 {
	bpc := int64(rr.cs.BytesPerChecksum)
	return offset / bpc * bpc
}

// ReadAt reads data like io.ReaderAt, within Length.
func (rr *ReplicaReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrBadRequest, off)
	}
	if off >= rr.length {
		return 0, io.EOF
	}
	want := min(int64(len(p)), rr.length-off)
	if err := readFull(rr.data, p[:want], off); err != nil {
		return 0, rr.shortRead(err)
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// shortRead turns a data file that ends too early into a
// CorruptReplicaError.
func (rr *ReplicaReader) shortRead(err error) error {
	if err == io.ErrUnexpectedEOF {
		return rr.corrupt(-1, rr.replica.BlockFile, "block file is shorter than the replica")
	}
	return err
}

// shortMeta turns a meta file that ends too early into a
// CorruptReplicaError.
func (rr *ReplicaReader) shortMeta(err error) error {
	if err == io.ErrUnexpectedEOF {
		return rr.corrupt(-1, rr.replica.MetaFile, "meta file is shorter than the replica needs")
	}
	return err
}

// corrupt is a CorruptReplicaError about the replica.
func (rr *ReplicaReader) corrupt(offset int64, path, reason string) *CorruptReplicaError {
	r := rr.replica
	return &CorruptReplicaError{BlockPoolID: r.BlockPoolID, BlockID: r.BlockID, GenStamp: r.GenStamp, Offset: offset, Path: path, Reason: reason}
}

// ReadChunks reads whole chunks starting at offset (a chunk boundary) into
// data, up to len(data) bytes and the end of the replica, and their
// checksums into checksums (which needs room for Chunks(n) of them, or may
// be nil for a NULL checksum). It returns the number of data bytes; io.EOF
// when offset is at or past Length. Checksums come from the meta file as
// stored, like Hadoop's BlockSender: a reader's client verifies them.
func (rr *ReplicaReader) ReadChunks(offset int64, data, checksums []byte) (int, error) {
	bpc := int64(rr.cs.BytesPerChecksum)
	if offset >= rr.length && offset >= 0 {
		return 0, io.EOF
	}
	if offset < 0 || offset%bpc != 0 {
		return 0, fmt.Errorf("%w: offset %d is not a chunk boundary (%d bytes per checksum)", ErrBadRequest, offset, bpc)
	}
	n := min(int64(len(data)), rr.length-offset)
	if n < int64(len(data)) {
		data = data[:n]
	}
	if err := readFull(rr.data, data, offset); err != nil {
		return 0, rr.shortRead(err)
	}
	if rr.cs.Size() == 0 {
		return int(n), nil
	}
	need := rr.cs.Chunks(n) * ChecksumSize
	if int64(len(checksums)) < need {
		return 0, fmt.Errorf("%w: room for %d checksum bytes, %d needed", ErrBadRequest, len(checksums), need)
	}
	if rr.computed {
		rr.cs.AppendSums(checksums[:0], data)
		return int(n), nil
	}
	if err := readFull(rr.meta, checksums[:need], MetaHeaderSize+offset/bpc*ChecksumSize); err != nil {
		return 0, rr.shortMeta(err)
	}
	return int(n), nil
}

// Checksums returns every stored checksum of the replica (for
// BLOCK_CHECKSUM's MD5 of CRCs), computed for an RBW replica.
func (rr *ReplicaReader) Checksums() ([]byte, error) {
	out := make([]byte, 0, rr.cs.Chunks(rr.length)*int64(rr.cs.Size()))
	chunks := rr.bufferChunks()
	buf := make([]byte, chunks*rr.cs.BytesPerChecksum)
	sums := make([]byte, chunks*ChecksumSize)
	for off := int64(0); off < rr.length; {
		n, err := rr.ReadChunks(off, buf, sums)
		if err != nil {
			return nil, err
		}
		out = append(out, sums[:rr.cs.Chunks(int64(n))*int64(rr.cs.Size())]...)
		off += int64(n)
	}
	return out, nil
}

// Verify recomputes the checksum of every chunk and compares it with the
// stored one (the block scanner's check, or a client's checksum error
// confirmed): a mismatch is a *CorruptReplicaError naming the first bad
// chunk. For an RBW replica it checks the meta file up to the acknowledged
// length.
func (rr *ReplicaReader) Verify() error {
	if rr.cs.Size() == 0 {
		return nil
	}
	bpc := int64(rr.cs.BytesPerChecksum)
	chunks := rr.bufferChunks()
	buf := make([]byte, int64(chunks)*bpc)
	stored := make([]byte, chunks*ChecksumSize)
	for off := int64(0); off < rr.length; {
		n := min(int64(len(buf)), rr.length-off)
		if err := readFull(rr.data, buf[:n], off); err != nil {
			return rr.shortRead(err)
		}
		need := rr.cs.Chunks(n) * ChecksumSize
		if err := readFull(rr.meta, stored[:need], MetaHeaderSize+off/bpc*ChecksumSize); err != nil {
			return rr.shortMeta(err)
		}
		if bad := rr.cs.VerifySums(buf[:n], stored[:need]); bad >= 0 {
			at := off + int64(bad)*bpc
			got := rr.cs.Sum(buf[int64(bad)*bpc : min(int64(bad+1)*bpc, n)])
			return rr.corrupt(at, rr.replica.BlockFile,
				fmt.Sprintf("checksum %08x computed, %08x stored", got, binary.BigEndian.Uint32(stored[bad*ChecksumSize:])))
		}
		off += n
	}
	return nil
}

// bufferChunks is how many chunks Verify and Checksums read at a time:
// about 256 KiB, at least one chunk.
func (rr *ReplicaReader) bufferChunks() int {
	return max(1, (256<<10)/rr.cs.BytesPerChecksum)
}

// Close closes the files.
func (rr *ReplicaReader) Close() error {
	err1 := rr.data.Close()
	err2 := rr.meta.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
