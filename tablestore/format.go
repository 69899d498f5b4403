package tablestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/hdfsha/hdfsha/internal/edits"
)

// The byte layouts of EncodeBatch and EncodeInfo are drawn in doc.go
// ("Formats"). Every sink stores these bytes, so a batch or an identity
// carries its own checksum whatever the sink.

const (
	// FormatVersion is the version byte of both encodings.
	FormatVersion = 1
	// BatchHeaderSize is the fixed part before a batch's first op.
	BatchHeaderSize = 24
	// BatchOpOverhead is the length prefix of each op.
	BatchOpOverhead = 4
	// TrailerSize is the CRC32C that ends every encoding.
	TrailerSize = 4
	// MaxBatchEncodedSize bounds an encoded batch (its length field is a
	// uint32; the shipper's batches are far smaller).
	MaxBatchEncodedSize = 1 << 30
	// MaxIDLen bounds the cluster and block pool ids in an Info.
	MaxIDLen = 1024

	infoFixedSize = 32 // magic .. length of the block pool id: all but the ids and the trailer
)

var (
	batchMagic = [4]byte{'H', 'M', 'E', 'B'} // hdfsha mirror edit batch
	infoMagic  = [4]byte{'H', 'M', 'I', 'D'} // hdfsha mirror identity
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Decoding errors. Every error DecodeBatch and DecodeInfo return matches
// one of these and also ErrCorrupt (errors.Is); its text says what and
// where. Sinks report them as a *CorruptError naming the object
// (NewCorruptError).
var (
	// ErrTruncated: the data ends before its declared length.
	ErrTruncated = errors.New("truncated")
	// ErrBadMagic: the data is not an encoding of this kind at all.
	ErrBadMagic = errors.New("bad magic")
	// ErrBadVersion: an encoding version this build does not read.
	ErrBadVersion = errors.New("unsupported format version")
	// ErrBadChecksum: the CRC32C over the content does not match.
	ErrBadChecksum = errors.New("checksum mismatch")
	// ErrBadCount: the op count disagrees with the ops present.
	ErrBadCount = errors.New("op count mismatch")
	// ErrBadLength: a length field that cannot be right (zero or
	// oversized op, overlong id, trailing bytes after the declared end).
	ErrBadLength = errors.New("bad length")
	// ErrBadTxID: a first txid below 1, or a range past the largest txid.
	ErrBadTxID = errors.New("bad txid")
)

// formatError is a decoding error: its text is precise, and it matches
// both its kind and ErrCorrupt.
type formatError struct {
	kind error
	msg  string
}

func (e *formatError) Error() string   { return e.msg }
func (e *formatError) Unwrap() []error { return []error{e.kind, ErrCorrupt} }

func formatErr(what string, kind error, format string, args ...any) error {
	return &formatError{kind: kind, msg: what + ": " + kind.Error() + ": " + fmt.Sprintf(format, args...)}
}

// NewCorruptError names the object a decoding (or other integrity)
// error was found in.
func NewCorruptError(sink, object string, err error) *CorruptError {
	return &CorruptError{Sink: sink, Object: object, Reason: err.Error()}
}

// CheckBatch reports whether b can be stored: at least one op, a first
// txid of at least 1, no op empty or larger than edits.MaxOpSize, a last
// txid that fits an int64, and an encoding of at most
// MaxBatchEncodedSize bytes. Sinks call it in PutEdits before encoding.
func CheckBatch(b Batch) error {
	if len(b.Ops) == 0 {
		return errors.New("tablestore: empty batch")
	}
	if b.First < 1 {
		return fmt.Errorf("tablestore: batch first txid %d, must be at least 1", b.First)
	}
	if b.First > math.MaxInt64-int64(len(b.Ops))+1 {
		return fmt.Errorf("tablestore: batch of %d ops from txid %d overflows the txid range", len(b.Ops), b.First)
	}
	size := BatchHeaderSize + TrailerSize
	for i, op := range b.Ops {
		if len(op) == 0 || len(op) > edits.MaxOpSize {
			return fmt.Errorf("tablestore: op of txid %d has %d bytes, must be 1 to %d", b.First+int64(i), len(op), edits.MaxOpSize)
		}
		size += BatchOpOverhead + len(op)
		if size > MaxBatchEncodedSize {
			return fmt.Errorf("tablestore: batch from txid %d encodes to more than %d bytes", b.First, MaxBatchEncodedSize)
		}
	}
	return nil
}

// EncodedBatchSize is the length of EncodeBatch(b).
func EncodedBatchSize(b Batch) int {
	n := BatchHeaderSize + TrailerSize
	for _, op := range b.Ops {
		n += BatchOpOverhead + len(op)
	}
	return n
}

// EncodeBatch encodes b. b must pass CheckBatch; DecodeBatch rejects the
// encoding of a batch that does not.
func EncodeBatch(b Batch) []byte {
	n := EncodedBatchSize(b)
	buf := make([]byte, BatchHeaderSize, n)
	copy(buf[0:4], batchMagic[:])
	buf[4] = FormatVersion
	binary.BigEndian.PutUint32(buf[8:12], uint32(n))
	binary.BigEndian.PutUint32(buf[12:16], uint32(len(b.Ops)))
	binary.BigEndian.PutUint64(buf[16:24], uint64(b.First))
	for _, op := range b.Ops {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(op)))
		buf = append(buf, op...)
	}
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// checkFrame verifies what both encodings share: magic, version, declared
// length and the trailing checksum. It returns the content between the
// magic and the trailer's start (data[:n-4]) on success.
func checkFrame(what string, magic [4]byte, data []byte, minSize int) ([]byte, error) {
	if len(data) < len(magic) {
		if string(data) == string(magic[:len(data)]) {
			return nil, formatErr(what, ErrTruncated, "%d bytes", len(data))
		}
		return nil, formatErr(what, ErrBadMagic, "%d bytes that are not %q", len(data), magic[:])
	}
	if [4]byte(data[:4]) != magic {
		return nil, formatErr(what, ErrBadMagic, "starts with %q, not %q", data[:4], magic[:])
	}
	if len(data) < minSize {
		return nil, formatErr(what, ErrTruncated, "%d bytes, shorter than the smallest encoding (%d)", len(data), minSize)
	}
	if data[4] != FormatVersion || data[5] != 0 || data[6] != 0 || data[7] != 0 {
		return nil, formatErr(what, ErrBadVersion, "version %d (flags %x), this build reads %d", data[4], data[5:8], FormatVersion)
	}
	declared := int64(binary.BigEndian.Uint32(data[8:12]))
	switch {
	case declared < int64(minSize):
		return nil, formatErr(what, ErrBadLength, "declared length %d is below the smallest encoding (%d)", declared, minSize)
	case declared > int64(len(data)):
		return nil, formatErr(what, ErrTruncated, "%d of %d bytes", len(data), declared)
	case declared < int64(len(data)):
		return nil, formatErr(what, ErrBadLength, "%d bytes after the declared end at %d", int64(len(data))-declared, declared)
	}
	body := data[:len(data)-TrailerSize]
	want := binary.BigEndian.Uint32(data[len(data)-TrailerSize:])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, formatErr(what, ErrBadChecksum, "crc32c %08x, stored %08x", got, want)
	}
	return body, nil
}

// DecodeBatch decodes an EncodeBatch encoding, verifying its checksum
// and structure; it never allocates more than len(data) justifies. The
// returned ops alias data. Errors match ErrCorrupt and one of the
// Err* decoding errors above.
func DecodeBatch(data []byte) (Batch, error) {
	const what = "edit batch"
	body, err := checkFrame(what, batchMagic, data, BatchHeaderSize+TrailerSize)
	if err != nil {
		return Batch{}, err
	}
	count := int64(binary.BigEndian.Uint32(body[12:16]))
	first := int64(binary.BigEndian.Uint64(body[16:24]))
	rest := body[BatchHeaderSize:]
	switch {
	case count == 0:
		return Batch{}, formatErr(what, ErrBadCount, "no ops")
	case count > int64(len(rest)/(BatchOpOverhead+1)):
		return Batch{}, formatErr(what, ErrBadCount, "%d ops declared, at most %d fit in %d bytes", count, len(rest)/(BatchOpOverhead+1), len(rest))
	case first < 1:
		return Batch{}, formatErr(what, ErrBadTxID, "first txid %d", first)
	case first > math.MaxInt64-count+1:
		return Batch{}, formatErr(what, ErrBadTxID, "%d ops from txid %d overflow the txid range", count, first)
	}
	ops := make([][]byte, count)
	for i := range ops {
		if len(rest) < BatchOpOverhead {
			return Batch{}, formatErr(what, ErrBadCount, "%d ops declared, the data ends after %d", count, i)
		}
		n := int64(binary.BigEndian.Uint32(rest[:BatchOpOverhead]))
		rest = rest[BatchOpOverhead:]
		switch {
		case n == 0 || n > edits.MaxOpSize:
			return Batch{}, formatErr(what, ErrBadLength, "op %d (txid %d) claims %d bytes, must be 1 to %d", i, first+int64(i), n, edits.MaxOpSize)
		case n > int64(len(rest)):
			return Batch{}, formatErr(what, ErrBadLength, "op %d (txid %d) claims %d bytes, %d remain", i, first+int64(i), n, len(rest))
		}
		ops[i] = rest[:n:n]
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return Batch{}, formatErr(what, ErrBadCount, "%d bytes left after the %d declared ops", len(rest), count)
	}
	return Batch{First: first, Ops: ops}, nil
}

// CheckInfo reports whether info can be stored: ids no longer than
// MaxIDLen bytes.
func CheckInfo(info Info) error {
	if len(info.ClusterID) > MaxIDLen || len(info.BlockPoolID) > MaxIDLen {
		return fmt.Errorf("tablestore: cluster id (%d bytes) or block pool id (%d bytes) longer than %d", len(info.ClusterID), len(info.BlockPoolID), MaxIDLen)
	}
	return nil
}

// EncodeInfo encodes info. info must pass CheckInfo.
func EncodeInfo(info Info) []byte {
	n := infoFixedSize + len(info.ClusterID) + len(info.BlockPoolID) + TrailerSize
	buf := make([]byte, infoFixedSize, n)
	copy(buf[0:4], infoMagic[:])
	buf[4] = FormatVersion
	binary.BigEndian.PutUint32(buf[8:12], uint32(n))
	binary.BigEndian.PutUint32(buf[12:16], uint32(info.NamespaceID))
	binary.BigEndian.PutUint32(buf[16:20], uint32(info.LayoutVersion))
	binary.BigEndian.PutUint64(buf[20:28], uint64(info.CTime))
	binary.BigEndian.PutUint16(buf[28:30], uint16(len(info.ClusterID)))
	binary.BigEndian.PutUint16(buf[30:32], uint16(len(info.BlockPoolID)))
	buf = append(buf, info.ClusterID...)
	buf = append(buf, info.BlockPoolID...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// DecodeInfo decodes an EncodeInfo encoding, verifying its checksum.
// Errors match ErrCorrupt and one of the Err* decoding errors above.
func DecodeInfo(data []byte) (Info, error) {
	const what = "namespace identity"
	body, err := checkFrame(what, infoMagic, data, infoFixedSize+TrailerSize)
	if err != nil {
		return Info{}, err
	}
	cl := int(binary.BigEndian.Uint16(body[28:30]))
	bl := int(binary.BigEndian.Uint16(body[30:32]))
	if cl > MaxIDLen || bl > MaxIDLen {
		return Info{}, formatErr(what, ErrBadLength, "cluster id of %d bytes, block pool id of %d, at most %d each", cl, bl, MaxIDLen)
	}
	if want := infoFixedSize + cl + bl; len(body) != want {
		return Info{}, formatErr(what, ErrBadLength, "ids of %d and %d bytes need %d bytes before the checksum, have %d", cl, bl, want, len(body))
	}
	ids := body[infoFixedSize:]
	return Info{
		NamespaceID:   int32(binary.BigEndian.Uint32(body[12:16])),
		LayoutVersion: int32(binary.BigEndian.Uint32(body[16:20])),
		CTime:         int64(binary.BigEndian.Uint64(body[20:28])),
		ClusterID:     string(ids[:cl]),
		BlockPoolID:   string(ids[cl : cl+bl]),
	}, nil
}
