package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// ChecksumType is the checksum algorithm byte of Hadoop's DataChecksum
// header (DataChecksum.Type ids).
type ChecksumType uint8

const (
	ChecksumNull   ChecksumType = 0 // no checksums
	ChecksumCRC32  ChecksumType = 1 // CRC-32 (IEEE)
	ChecksumCRC32C ChecksumType = 2 // CRC-32C (Castagnoli), Hadoop's default
)

func (t ChecksumType) String() string {
	switch t {
	case ChecksumNull:
		return "NULL"
	case ChecksumCRC32:
		return "CRC32"
	case ChecksumCRC32C:
		return "CRC32C"
	}
	return fmt.Sprintf("ChecksumType(%d)", uint8(t))
}

// DefaultBytesPerChecksum is dfs.bytes-per-checksum's default.
const DefaultBytesPerChecksum = 512

// MaxBytesPerChecksum bounds the chunk size accepted from a client or a
// meta file: a chunk travels whole in one packet, and Hadoop's packets are
// at most 16 MiB.
const MaxBytesPerChecksum = 16 << 20

// ChecksumSize is the size of one stored checksum (any non-NULL type).
const ChecksumSize = 4

// MetaVersion is BlockMetadataHeader.VERSION, the first two bytes of a meta
// file.
const MetaVersion = 1

// MetaHeaderSize is the size of a meta file's header: 2 bytes version,
// 1 byte checksum type, 4 bytes bytesPerChecksum.
const MetaHeaderSize = 7

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	ieee       = crc32.IEEETable
)

// Checksum describes how a replica's data is checksummed: Hadoop's
// DataChecksum (type and bytesPerChecksum). The zero value means "the
// Store's default" (CRC32C and Options.BytesPerChecksum) where a Checksum is
// an argument.
type Checksum struct {
	Type             ChecksumType
	BytesPerChecksum int
}

// Size is the number of checksum bytes per chunk: 4, or 0 for NULL.
func (c Checksum) Size() int {
	if c.Type == ChecksumNull {
		return 0
	}
	return ChecksumSize
}

// Validate refuses unknown types and non-positive chunk sizes.
func (c Checksum) Validate() error {
	switch c.Type {
	case ChecksumNull, ChecksumCRC32, ChecksumCRC32C:
	default:
		return fmt.Errorf("%w: unknown checksum type %d", ErrBadRequest, uint8(c.Type))
	}
	if c.BytesPerChecksum <= 0 || c.BytesPerChecksum > MaxBytesPerChecksum {
		return fmt.Errorf("%w: bytesPerChecksum %d out of range (1 to %d)", ErrBadRequest, c.BytesPerChecksum, MaxBytesPerChecksum)
	}
	return nil
}

// Chunks is the number of chunks (and stored checksums) that n data bytes
// take: ceil(n / BytesPerChecksum).
func (c Checksum) Chunks(n int64) int64 {
	b := int64(c.BytesPerChecksum)
	return (n + b - 1) / b
}

// MetaLength is the size of the meta file of a replica of n bytes.
func (c Checksum) MetaLength(n int64) int64 {
	return MetaHeaderSize + c.Chunks(n)*int64(c.Size())
}

// Sum computes the checksum of one chunk.
func (c Checksum) Sum(chunk []byte) uint32 {
	if t := c.table(); t != nil {
		return crc32.Checksum(chunk, t)
	}
	return 0
}

func (c Checksum) table() *crc32.Table {
	switch c.Type {
	case ChecksumCRC32C:
		return castagnoli
	case ChecksumCRC32:
		return ieee
	}
	return nil
}

// AppendSums appends the big-endian checksums of data's chunks (the last one
// may be short) to dst and returns it. For NULL it returns dst unchanged.
func (c Checksum) AppendSums(dst, data []byte) []byte {
	if c.Type == ChecksumNull {
		return dst
	}
	for len(data) > 0 {
		n := min(len(data), c.BytesPerChecksum)
		dst = binary.BigEndian.AppendUint32(dst, c.Sum(data[:n]))
		data = data[n:]
	}
	return dst
}

// VerifySums checks data against sums, chunk by chunk from the start of
// data. It returns the index of the first bad chunk, or -1 when all match.
// sums must hold at least Chunks(len(data)) checksums.
func (c Checksum) VerifySums(data, sums []byte) int {
	if c.Type == ChecksumNull {
		return -1
	}
	for i := 0; len(data) > 0; i++ {
		n := min(len(data), c.BytesPerChecksum)
		if len(sums) < (i+1)*ChecksumSize || binary.BigEndian.Uint32(sums[i*ChecksumSize:]) != c.Sum(data[:n]) {
			return i
		}
		data = data[n:]
	}
	return -1
}

// ChunkChecksums computes the CRC32C checksums of data split into chunks of
// bytesPerChecksum bytes (the last one may be short), 4 big-endian bytes
// each: the checksum bytes of a DataTransferProtocol packet or of a meta
// file.
func ChunkChecksums(data []byte, bytesPerChecksum int) []byte {
	c := Checksum{Type: ChecksumCRC32C, BytesPerChecksum: bytesPerChecksum}
	return c.AppendSums(make([]byte, 0, int(c.Chunks(int64(len(data))))*ChecksumSize), data)
}

// EncodeMetaHeader renders the 7-byte meta file header.
func EncodeMetaHeader(c Checksum) []byte {
	b := make([]byte, MetaHeaderSize)
	binary.BigEndian.PutUint16(b[0:2], MetaVersion)
	b[2] = byte(c.Type)
	binary.BigEndian.PutUint32(b[3:7], uint32(c.BytesPerChecksum))
	return b
}

// DecodeMetaHeader parses a meta file header.
func DecodeMetaHeader(b []byte) (Checksum, error) {
	if len(b) < MetaHeaderSize {
		return Checksum{}, fmt.Errorf("meta header is %d bytes, want %d", len(b), MetaHeaderSize)
	}
	if v := binary.BigEndian.Uint16(b[0:2]); v != MetaVersion {
		return Checksum{}, fmt.Errorf("meta file version %d, want %d", v, MetaVersion)
	}
	bpc := binary.BigEndian.Uint32(b[3:7])
	if bpc == 0 || bpc > MaxBytesPerChecksum {
		return Checksum{}, fmt.Errorf("meta file bytesPerChecksum %d out of range", bpc)
	}
	c := Checksum{Type: ChecksumType(b[2]), BytesPerChecksum: int(bpc)}
	if err := c.Validate(); err != nil {
		return Checksum{}, err
	}
	return c, nil
}
