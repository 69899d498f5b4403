package datatransfer

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Checksum types (Hadoop's DataChecksum.Type ids, ChecksumTypeProto).
const (
	ChecksumNull   = hdfspb.ChecksumTypeProto_CHECKSUM_NULL
	ChecksumCRC32  = hdfspb.ChecksumTypeProto_CHECKSUM_CRC32
	ChecksumCRC32C = hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C
)

// DefaultBytesPerChecksum is dfs.bytes-per-checksum's default.
const DefaultBytesPerChecksum = 512

// maxBytesPerChecksum bounds a peer's chunk size; Hadoop has no explicit
// bound, but a chunk must fit in a packet.
const maxBytesPerChecksum = MaxPacketSize

// The tables are read-only after package initialisation.
var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)

// Checksum is a chunked checksum algorithm: one 4-byte big-endian CRC per
// BytesPerChecksum bytes of data, the last chunk possibly shorter (Hadoop's
// DataChecksum). CRC32 is java.util.zip.CRC32 (IEEE), CRC32C is
// Castagnoli. With ChecksumNull there are no sums at all.
type Checksum struct {
	Type             hdfspb.ChecksumTypeProto
	BytesPerChecksum int
}

// DefaultChecksum is what hdfsha writes: CRC32C over 512-byte chunks
// (dfs.checksum.type and dfs.bytes-per-checksum defaults).
func DefaultChecksum() Checksum {
	return Checksum{Type: ChecksumCRC32C, BytesPerChecksum: DefaultBytesPerChecksum}
}

// ChecksumFromProto validates a peer's ChecksumProto.
func ChecksumFromProto(p *hdfspb.ChecksumProto) (Checksum, error) {
	c := Checksum{Type: p.GetType(), BytesPerChecksum: int(p.GetBytesPerChecksum())}
	if err := c.Validate(); err != nil {
		return Checksum{}, err
	}
	return c, nil
}

// Validate reports an unknown type or an impossible chunk size.
func (c Checksum) Validate() error {
	switch c.Type {
	case ChecksumNull, ChecksumCRC32, ChecksumCRC32C:
	default:
		return fmt.Errorf("datatransfer: unknown checksum type %d", int32(c.Type))
	}
	if c.BytesPerChecksum <= 0 || c.BytesPerChecksum > maxBytesPerChecksum {
		return fmt.Errorf("datatransfer: invalid bytes per checksum %d", c.BytesPerChecksum)
	}
	return nil
}

// Proto is c as sent in OpWriteBlockProto.requestedChecksum and
// ReadOpChecksumInfoProto.
func (c Checksum) Proto() *hdfspb.ChecksumProto {
	t, n := c.Type, uint32(c.BytesPerChecksum)
	return &hdfspb.ChecksumProto{Type: &t, BytesPerChecksum: &n}
}

// Size is the bytes of one sum: 4, or 0 for ChecksumNull.
func (c Checksum) Size() int {
	if c.Type == ChecksumNull {
		return 0
	}
	return 4
}

// Chunks is the number of chunks (and sums) covering n bytes of data.
func (c Checksum) Chunks(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + c.BytesPerChecksum - 1) / c.BytesPerChecksum
}

// SumsLen is the bytes of sums covering n bytes of data.
func (c Checksum) SumsLen(n int) int { return c.Chunks(n) * c.Size() }

func (c Checksum) sum(chunk []byte) uint32 {
	if c.Type == ChecksumCRC32 {
		return crc32.ChecksumIEEE(chunk)
	}
	return crc32.Checksum(chunk, castagnoliTable)
}

// Compute appends to dst the sums of data, which starts at a chunk
// boundary, and returns the extended slice.
func (c Checksum) Compute(dst, data []byte) []byte {
	if c.Type == ChecksumNull {
		return dst
	}
	for len(data) > 0 {
		n := min(c.BytesPerChecksum, len(data))
		dst = binary.BigEndian.AppendUint32(dst, c.sum(data[:n]))
		data = data[n:]
	}
	return dst
}

// Verify checks data, which starts at a chunk boundary at block offset
// offset, against sums. The first mismatch is a *ChecksumError naming the
// block offset of its chunk; too few sums is ErrMalformed.
func (c Checksum) Verify(sums, data []byte, offset int64) error {
	if c.Type == ChecksumNull {
		return nil
	}
	if need := c.SumsLen(len(data)); len(sums) < need {
		return malformedf("%d bytes of checksums for %d bytes of data, want %d", len(sums), len(data), need)
	}
	for i := 0; len(data) > 0; i++ {
		n := min(c.BytesPerChecksum, len(data))
		want := binary.BigEndian.Uint32(sums[4*i:])
		if got := c.sum(data[:n]); got != want {
			return &ChecksumError{Type: c.Type, Offset: offset + int64(i*c.BytesPerChecksum), Expected: want, Computed: got}
		}
		data = data[n:]
	}
	return nil
}

// String is Hadoop's DataChecksum form, "DataChecksum(type=CRC32C, chunkSize=512)".
func (c Checksum) String() string {
	return fmt.Sprintf("DataChecksum(type=%s, chunkSize=%d)", checksumName(c.Type), c.BytesPerChecksum)
}

// ChecksumHeaderLen is the size of Hadoop's DataChecksum header.
const ChecksumHeaderLen = 5

// AppendHeader appends Hadoop's DataChecksum header: the type byte, then
// BytesPerChecksum as a 4-byte big-endian int. A block meta file starts
// with a 2-byte version (1) followed by this header.
func (c Checksum) AppendHeader(dst []byte) []byte {
	dst = append(dst, byte(c.Type))
	return binary.BigEndian.AppendUint32(dst, uint32(c.BytesPerChecksum))
}

// ParseChecksumHeader reads a DataChecksum header written by AppendHeader.
func ParseChecksumHeader(b []byte) (Checksum, error) {
	if len(b) < ChecksumHeaderLen {
		return Checksum{}, malformedf("checksum header is %d bytes, want %d", len(b), ChecksumHeaderLen)
	}
	c := Checksum{Type: hdfspb.ChecksumTypeProto(b[0]), BytesPerChecksum: int(int32(binary.BigEndian.Uint32(b[1:])))}
	if err := c.Validate(); err != nil {
		return Checksum{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// checksumName is DataChecksum.Type's name: NULL, CRC32, CRC32C.
func checksumName(t hdfspb.ChecksumTypeProto) string {
	switch t {
	case ChecksumNull:
		return "NULL"
	case ChecksumCRC32:
		return "CRC32"
	case ChecksumCRC32C:
		return "CRC32C"
	}
	return fmt.Sprintf("TYPE_%d", int32(t))
}
