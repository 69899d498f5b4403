package edits

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
)

const (
	// RecordHeaderSize is the size of a record's length, crc and txid
	// fields.
	RecordHeaderSize = 16
	// MaxOpSize bounds a record's op bytes (Hadoop's default
	// dfs.namenode.max.op.size is 50 MiB).
	MaxOpSize = 50 << 20
	// SegmentHeaderSize is the size of a segment file's header.
	SegmentHeaderSize = 8
	// LayoutVersion is the segment layout this package writes and reads.
	LayoutVersion = 1
)

// Magic opens every segment file.
var Magic = [4]byte{'H', 'S', 'E', 'D'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one edit: an operation stamped with its transaction id.
type Record struct {
	TxID int64
	Op   []byte
}

// EncodedSize is the number of bytes the record takes in a segment.
func EncodedSize(op []byte) int { return RecordHeaderSize + len(op) }

// AppendRecord appends the encoding of the record (txid, op) to dst. It
// returns an error if txid is not positive or op is empty or too large.
func AppendRecord(dst []byte, txid int64, op []byte) ([]byte, error) {
	if txid < 1 {
		return dst, errors.New("edits: txid must be positive")
	}
	if len(op) == 0 || len(op) > MaxOpSize {
		return dst, errors.New("edits: op size out of range")
	}
	var h [RecordHeaderSize]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(op)))
	binary.BigEndian.PutUint64(h[8:16], uint64(txid))
	crc := crc32.Update(0, castagnoli, h[8:16])
	crc = crc32.Update(crc, castagnoli, op)
	binary.BigEndian.PutUint32(h[4:8], crc)
	dst = append(dst, h[:]...)
	return append(dst, op...), nil
}

// EncodeRecord returns the encoding of r.
func EncodeRecord(r Record) ([]byte, error) {
	return AppendRecord(make([]byte, 0, EncodedSize(r.Op)), r.TxID, r.Op)
}

// DecodeRecord decodes the record at the start of b and returns it with
// the number of bytes it took. The record's Op aliases b. It returns
// ErrTruncated if b ends before the record does, and a *CorruptionError
// (with an empty File and offset 0) if the record fails a check.
func DecodeRecord(b []byte) (Record, int, error) {
	r, n, reason := decode(b)
	switch {
	case reason == "":
		return r, n, nil
	case n < 0:
		return Record{}, 0, ErrTruncated
	default:
		return Record{}, 0, &CorruptionError{Reason: reason}
	}
}

// decode is DecodeRecord without allocation on failure: reason is empty on
// success; n < 0 with a reason means truncated.
func decode(b []byte) (r Record, n int, reason string) {
	if len(b) < RecordHeaderSize {
		return Record{}, -1, "truncated header"
	}
	length := binary.BigEndian.Uint32(b[0:4])
	if length == 0 {
		return Record{}, 0, "zero op length"
	}
	if length > MaxOpSize {
		return Record{}, 0, "op length exceeds MaxOpSize"
	}
	end := RecordHeaderSize + int(length)
	if len(b) < end {
		return Record{}, -1, "truncated op"
	}
	want := binary.BigEndian.Uint32(b[4:8])
	if got := crc32.Checksum(b[8:end], castagnoli); got != want {
		return Record{}, 0, "checksum mismatch"
	}
	txid := binary.BigEndian.Uint64(b[8:16])
	if txid == 0 || txid > math.MaxInt64 {
		return Record{}, 0, "txid out of range"
	}
	return Record{TxID: int64(txid), Op: b[RecordHeaderSize:end]}, end, ""
}

// ValidateBatch checks that b holds exactly n well-formed records with
// contiguous txids starting at firstTxID, as a writer sends them to a
// JournalNode. Failures are *CorruptionError with File "journal batch" and
// the offset inside b.
func ValidateBatch(b []byte, firstTxID int64, n int) error {
	const name = "journal batch"
	off := 0
	for i := 0; i < n; i++ {
		r, k, reason := decode(b[off:])
		if reason != "" {
			return corruptf(name, int64(off), "record %d of %d: %s", i+1, n, reason)
		}
		if want := firstTxID + int64(i); r.TxID != want {
			return corruptf(name, int64(off), "record %d of %d has txid %d, want %d", i+1, n, r.TxID, want)
		}
		off += k
	}
	if off != len(b) {
		return corruptf(name, int64(off), "%d trailing bytes after %d records", len(b)-off, n)
	}
	return nil
}

// AppendSegmentHeader appends a segment header to dst.
func AppendSegmentHeader(dst []byte) []byte {
	dst = append(dst, Magic[:]...)
	return binary.BigEndian.AppendUint32(dst, LayoutVersion)
}
