package datatransfer

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// OpRequest names a DataNode and a block for the one-shot operations
// (BLOCK_CHECKSUM, TRANSFER_BLOCK).
type OpRequest struct {
	// Addr is the DataNode's transfer address, "ip:port".
	Addr       string
	Block      *hdfspb.ExtendedBlockProto
	Token      *commonpb.TokenProto
	ClientName string
	// Timeout bounds the dial and the wait for the answer
	// (DefaultSocketTimeout when zero). TRANSFER_BLOCK answers only after
	// the copy: give it room.
	Timeout time.Duration
	Dial    DialFunc
}

// roundTrip sends one op and reads its answer, which must be SUCCESS.
func roundTrip(ctx context.Context, q OpRequest, op Op, msg proto.Message) (*hdfspb.BlockOpResponseProto, error) {
	q.Timeout = orDefault(q.Timeout, DefaultSocketTimeout)
	conn, err := dial(ctx, q.Dial, q.Addr, q.Timeout)
	if err != nil {
		return nil, fmt.Errorf("datatransfer: connect to %s: %w", q.Addr, err)
	}
	defer conn.Close()
	stop := watchContext(ctx, conn)
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(q.Timeout))
	return request(conn, bufio.NewReaderSize(conn, 512), q.Addr, q.Block, op, msg)
}

// BlockChecksum asks a DataNode for a replica's MD5-of-CRCs (BLOCK_CHECKSUM
// with the MD5CRC option, what Hadoop's FileChecksumHelper sends).
func BlockChecksum(ctx context.Context, q OpRequest) (*hdfspb.OpBlockChecksumResponseProto, error) {
	typ := hdfspb.BlockChecksumTypeProto_MD5CRC
	resp, err := roundTrip(ctx, q, OpBlockChecksum, &hdfspb.OpBlockChecksumProto{
		Header:               &hdfspb.BaseHeaderProto{Block: q.Block, Token: q.Token},
		BlockChecksumOptions: &hdfspb.BlockChecksumOptionsProto{BlockChecksumType: &typ},
	})
	if err != nil {
		return nil, err
	}
	cr := resp.GetChecksumResponse()
	if cr == nil || len(cr.GetBlockChecksum()) != md5.Size {
		return nil, malformedf("%s answer from %s carries no MD5", OpBlockChecksum, q.Addr)
	}
	return cr, nil
}

// TransferBlock asks the DataNode at q.Addr to copy its replica of q.Block
// to targets (TRANSFER_BLOCK), as a client does to add a DataNode to a
// pipeline being recovered. It returns once the DataNode answered.
func TransferBlock(ctx context.Context, q OpRequest, targets []*hdfspb.DatanodeInfoProto, storageTypes []hdfspb.StorageTypeProto, storageIDs []string) error {
	_, err := roundTrip(ctx, q, OpTransferBlock, &hdfspb.OpTransferBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{
			BaseHeader: &hdfspb.BaseHeaderProto{Block: q.Block, Token: q.Token},
			ClientName: proto.String(q.ClientName),
		},
		Targets:            targets,
		TargetStorageTypes: storageTypes,
		TargetStorageIds:   storageIDs,
	})
	return err
}

// BlockChecksumResponse is what a DataNode answers BLOCK_CHECKSUM with for
// a replica whose chunk sums (the meta file after its header) are sums:
// the MD5 of the sums, and their count as crcPerBlock.
func BlockChecksumResponse(c Checksum, sums []byte) *hdfspb.OpBlockChecksumResponseProto {
	sum := md5.Sum(sums)
	n := 0
	if c.Size() > 0 {
		n = len(sums) / c.Size()
	}
	return &hdfspb.OpBlockChecksumResponseProto{
		BytesPerCrc:   proto.Uint32(uint32(c.BytesPerChecksum)),
		CrcPerBlock:   proto.Uint64(uint64(n)),
		BlockChecksum: sum[:],
		CrcType:       c.Type.Enum(),
	}
}

// FileChecksum is HDFS's default file checksum, MD5MD5CRC32FileChecksum:
// the MD5 of the blocks' MD5-of-CRCs, in file order.
type FileChecksum struct {
	BytesPerCRC uint32
	// CRCPerBlock is the first block's CRC count when the file has more
	// than one block, else 0 (Hadoop's FileChecksumHelper).
	CRCPerBlock uint64
	// CRCType names the algorithm: CRC32C or CRC32 when every block agrees;
	// CRC32 for mixed types and empty files, as Hadoop's base class does.
	CRCType hdfspb.ChecksumTypeProto
	MD5     [md5.Size]byte
}

// CombineBlockChecksums builds the file checksum from each block's
// BLOCK_CHECKSUM answer, in file order (no blocks: an empty file): the MD5 of
// the block MD5s in Hadoop's zero-padded buffer (see hadoopBufferSize).
func CombineBlockChecksums(blocks []*hdfspb.OpBlockChecksumResponseProto) (FileChecksum, error) {
	var f FileChecksum
	var all []byte
	mixed := false
	for i, b := range blocks {
		if len(b.GetBlockChecksum()) != md5.Size {
			return FileChecksum{}, malformedf("block %d checksum is %d bytes, want %d", i, len(b.GetBlockChecksum()), md5.Size)
		}
		if i == 0 {
			f.BytesPerCRC = b.GetBytesPerCrc()
			f.CRCType = b.GetCrcType()
			if len(blocks) > 1 {
				f.CRCPerBlock = b.GetCrcPerBlock()
			}
		} else {
			if b.GetBytesPerCrc() != f.BytesPerCRC {
				return FileChecksum{}, fmt.Errorf("datatransfer: byte-per-checksum not matched: bpc=%d but bytesPerCRC=%d", b.GetBytesPerCrc(), f.BytesPerCRC)
			}
			mixed = mixed || b.GetCrcType() != f.CRCType
		}
		all = append(all, b.GetBlockChecksum()...)
	}
	if mixed || len(blocks) == 0 || f.CRCType == ChecksumNull {
		f.CRCType = ChecksumCRC32
	}
	f.MD5 = md5.Sum(append(all, make([]byte, hadoopBufferSize(len(all))-len(all))...))
	return f, nil
}

// hadoopBufferSize is the length of the backing array of Hadoop's DataOutputBuffer after
// n bytes were appended 16 at a time: 32 at first, doubling whenever it is full.
// FileChecksumHelper digests that whole array, zeros past the last block MD5 included,
// so the file MD5 covers them too (a one-block file's MD5 covers its block MD5 and 16
// zero bytes; an empty file's, 32 zero bytes).
func hadoopBufferSize(n int) int {
	size := 32
	for size < n {
		size *= 2
	}
	return size
}

// Algorithm is Hadoop's algorithm name, "MD5-of-<crcPerBlock>MD5-of-<bytesPerCRC><CRC32C|CRC32>",
// e.g. "MD5-of-0MD5-of-512CRC32C" for a one-block file.
func (f FileChecksum) Algorithm() string {
	return fmt.Sprintf("MD5-of-%dMD5-of-%d%s", f.CRCPerBlock, f.BytesPerCRC, checksumName(f.CRCType))
}

// Bytes is the checksum's serialised form (getBytes, what `hadoop fs
// -checksum` prints in hex): bytesPerCRC as int32, crcPerBlock as int64,
// both big-endian, then the 16-byte MD5.
func (f FileChecksum) Bytes() []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 28), f.BytesPerCRC)
	b = binary.BigEndian.AppendUint64(b, f.CRCPerBlock)
	return append(b, f.MD5[:]...)
}

// String is Hadoop's toString, "<algorithm>:<md5 hex>".
func (f FileChecksum) String() string {
	return fmt.Sprintf("%s:%x", f.Algorithm(), f.MD5)
}
