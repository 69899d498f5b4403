package client

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ClientDatanodeProtocol is the protocol name of Hadoop's ClientDatanodeProtocol on a
// DataNode's IPC port.
const ClientDatanodeProtocol = "org.apache.hadoop.hdfs.protocol.ClientDatanodeProtocol"

// dfsState is what the data path adds to a Client (Hadoop's DFSClient): the
// configuration, the lease holder name and the lease renewer.
type dfsState struct {
	data       dataConf
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	clientName string
	leases     *leaseRenewer
}

func newDFSState(c *conf.Conf, cfg Config, cl *Client) (dfsState, error) {
	d, err := loadDataConf(c, cfg.Data)
	if err != nil {
		return dfsState{}, err
	}
	s := dfsState{data: d, dial: cfg.Dial, clientName: newClientName()}
	s.leases = newLeaseRenewer(func(ctx context.Context) error {
		return cl.Call(ctx, "renewLease", &hdfspb.RenewLeaseRequestProto{ClientName: proto.String(s.clientName)}, &hdfspb.RenewLeaseResponseProto{})
	}, func(ctx context.Context, d time.Duration) error { return cl.sleep(ctx, d) }, d.leaseRenew, cl.log.Named("LeaseRenewer"))
	return s, nil
}

// ClientName is the lease holder name this client writes under
// (DFSClient_NONMAPREDUCE_<random>_1).
func (c *Client) ClientName() string { return c.clientName }

// Truncate cuts path to newLength bytes (ClientNamenodeProtocol.truncate). It returns
// true when the NameNode truncated at once (newLength on a block boundary). Otherwise
// the last block is being recovered by the DataNodes and Truncate waits until the file
// is closed again, as `hdfs dfs -truncate -w` does, before it returns false.
func (c *Client) Truncate(ctx context.Context, path string, newLength int64) (bool, error) {
	if newLength < 0 {
		return false, fmt.Errorf("Cannot truncate to a negative file size: %d.", newLength)
	}
	var resp hdfspb.TruncateResponseProto
	if err := c.Call(ctx, "truncate", &hdfspb.TruncateRequestProto{Src: proto.String(path), NewLength: proto.Uint64(uint64(newLength)),
		ClientName: proto.String(c.clientName)}, &resp); err != nil {
		return false, err
	}
	if resp.GetResult() {
		return true, nil
	}
	for {
		if err := c.sleep(ctx, c.data.truncatePoll); err != nil {
			return false, err
		}
		var loc hdfspb.GetBlockLocationsResponseProto
		if err := c.Call(ctx, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0),
			Length: proto.Uint64(1)}, &loc); err != nil {
			return false, err
		}
		if !loc.GetLocations().GetUnderConstruction() {
			return false, nil
		}
		c.log.Debug("waiting for the truncate of " + path + " to finish")
	}
}

// FileChecksum is a file's checksum as HDFS computes it for replicated files: the MD5
// of the MD5s of each block's chunk CRCs (Hadoop's MD5MD5CRC32CastagnoliFileChecksum).
type FileChecksum struct {
	// Algorithm is Hadoop's name, e.g. "MD5-of-0MD5-of-512CRC32C".
	Algorithm string
	// Bytes is Hadoop's serialised form (FileChecksum.getBytes): bytesPerCRC as a
	// 4-byte and crcPerBlock as an 8-byte big-endian integer, then the 16-byte MD5.
	// `hdfs dfs -checksum` prints it in hex.
	Bytes []byte
}

// Length is the size of Bytes (FileChecksum.getLength).
func (f *FileChecksum) Length() int { return len(f.Bytes) }

// GetFileChecksum asks a DataNode of every block of path for the block's checksum
// (BLOCK_CHECKSUM, trying the replicas in turn) and combines them into the file
// checksum (DFSClient.getFileChecksum with dfs.checksum.combine.mode MD5MD5CRC).
func (c *Client) GetFileChecksum(ctx context.Context, path string) (*FileChecksum, error) {
	var resp hdfspb.GetBlockLocationsResponseProto
	if err := c.Call(ctx, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0),
		Length: proto.Uint64(1<<63 - 1)}, &resp); err != nil {
		return nil, err
	}
	if resp.Locations == nil {
		return nil, fmt.Errorf("File does not exist: %s", path)
	}
	blocks := resp.GetLocations().GetBlocks()
	remaining := int64(resp.GetLocations().GetFileLength())
	if len(blocks) == 0 || remaining == 0 {
		// HDFS's checksum of an empty file: the MD5 of 32 zero bytes, with the
		// CRC32 (gzip) name.
		zero := md5.Sum(make([]byte, 32))
		return newFileChecksum(0, 0, zero[:], hdfspb.ChecksumTypeProto_CHECKSUM_CRC32), nil
	}
	var (
		md5s        []byte
		bytesPerCRC uint32
		crcPerBlock uint64
		crcType     hdfspb.ChecksumTypeProto
	)
	for i, lb := range blocks {
		if remaining <= 0 {
			break
		}
		b := proto.Clone(lb.GetB()).(*hdfspb.ExtendedBlockProto)
		if int64(b.GetNumBytes()) > remaining {
			b.NumBytes = proto.Uint64(uint64(remaining))
		}
		remaining -= int64(b.GetNumBytes())
		var (
			cr   *hdfspb.OpBlockChecksumResponseProto
			errs []error
		)
		for j, dn := range lb.GetLocs() {
			r, err := c.blockChecksum(ctx, b, lb, dn)
			if err == nil {
				cr = r
				break
			}
			if ctx.Err() != nil {
				return nil, err
			}
			c.log.Warn(fmt.Sprintf("src=%s, datanodes[%d]=%s", path, j, xferAddr(dn)), zap.Error(err))
			errs = append(errs, err)
		}
		if cr == nil {
			return nil, fmt.Errorf("`%s': Fail to get block MD5 for %s: %w", path, blockName(b), errors.Join(errs...))
		}
		if i == 0 {
			bytesPerCRC, crcType = cr.GetBytesPerCrc(), cr.GetCrcType()
			if len(blocks) > 1 {
				crcPerBlock = cr.GetCrcPerBlock()
			}
		} else if cr.GetBytesPerCrc() != bytesPerCRC {
			return nil, fmt.Errorf("Byte-per-checksum not matched: bpc=%d but bytesPerCRC=%d", cr.GetBytesPerCrc(), bytesPerCRC)
		}
		if len(cr.GetBlockChecksum()) != md5.Size {
			return nil, fmt.Errorf("client: block checksum of %s has %d bytes, not an MD5", blockName(b), len(cr.GetBlockChecksum()))
		}
		md5s = append(md5s, cr.GetBlockChecksum()...)
	}
	sum := md5.Sum(md5s)
	return newFileChecksum(bytesPerCRC, crcPerBlock, sum[:], crcType), nil
}

func newFileChecksum(bytesPerCRC uint32, crcPerBlock uint64, md5sum []byte, t hdfspb.ChecksumTypeProto) *FileChecksum {
	crc := "CRC32C"
	if t == hdfspb.ChecksumTypeProto_CHECKSUM_CRC32 {
		crc = "CRC32"
	}
	b := binary.BigEndian.AppendUint32(nil, bytesPerCRC)
	b = binary.BigEndian.AppendUint64(b, crcPerBlock)
	b = append(b, md5sum...)
	return &FileChecksum{Algorithm: fmt.Sprintf("MD5-of-%dMD5-of-%d%s", crcPerBlock, bytesPerCRC, crc), Bytes: b}
}

// blockChecksum runs BLOCK_CHECKSUM for b on one DataNode.
func (c *Client) blockChecksum(ctx context.Context, b *hdfspb.ExtendedBlockProto, lb *hdfspb.LocatedBlockProto, dn *hdfspb.DatanodeInfoProto) (*hdfspb.OpBlockChecksumResponseProto, error) {
	dial := c.dial
	if dial == nil {
		d := net.Dialer{Timeout: c.data.socketTimeout}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", xferAddr(dn))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// Hadoop's timeout: 3 s per replica plus the socket timeout.
	conn.SetDeadline(time.Now().Add(c.data.socketTimeout + time.Duration(len(lb.GetLocs()))*3*time.Second))
	token := lb.GetBlockToken()
	if token == nil {
		token = emptyToken()
	}
	if err := datatransfer.WriteOp(conn, datatransfer.OpBlockChecksum, &hdfspb.OpBlockChecksumProto{
		Header:               &hdfspb.BaseHeaderProto{Block: b, Token: token},
		BlockChecksumOptions: &hdfspb.BlockChecksumOptionsProto{BlockChecksumType: hdfspb.BlockChecksumTypeProto_MD5CRC.Enum()},
	}); err != nil {
		return nil, err
	}
	resp, err := datatransfer.ReadResponse(bufio.NewReader(conn))
	if err != nil {
		return nil, err
	}
	if err := datatransfer.ResponseError(datatransfer.OpBlockChecksum, resp); err != nil {
		return nil, fmt.Errorf("for block %s from datanode %s: %w", blockName(b), xferAddr(dn), err)
	}
	if resp.GetChecksumResponse() == nil {
		return nil, fmt.Errorf("client: BLOCK_CHECKSUM answer for %s from %s has no checksum", blockName(b), xferAddr(dn))
	}
	return resp.GetChecksumResponse(), nil
}
