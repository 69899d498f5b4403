package client

import (
	"context"
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
	files      *openFiles
}

func newDFSState(c *conf.Conf, cfg Config, cl *Client) (dfsState, error) {
	d, err := loadDataConf(c, cfg.Data)
	if err != nil {
		return dfsState{}, err
	}
	s := dfsState{data: d, dial: cfg.Dial, clientName: newClientName(), files: &openFiles{}}
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
	// An empty file combines no block answers.
	var answers []*hdfspb.OpBlockChecksumResponseProto
	for _, lb := range blocks {
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
		// Hadoop's timeout: 3 s per replica plus the socket timeout.
		timeout := c.data.socketTimeout + time.Duration(len(lb.GetLocs()))*3*time.Second
		for j, dn := range lb.GetLocs() {
			r, err := datatransfer.BlockChecksum(ctx, datatransfer.OpRequest{Addr: datatransfer.XferAddr(dn), Block: b, Token: lb.GetBlockToken(),
				ClientName: c.clientName, Timeout: timeout, Dial: c.dial})
			if err == nil {
				cr = r
				break
			}
			if ctx.Err() != nil {
				return nil, err
			}
			c.log.Warn(fmt.Sprintf("src=%s, datanodes[%d]=%s", path, j, datatransfer.XferAddr(dn)), zap.Error(err))
			errs = append(errs, err)
		}
		if cr == nil {
			return nil, fmt.Errorf("`%s': Fail to get block MD5 for %s: %w", path, datatransfer.BlockName(b), errors.Join(errs...))
		}
		answers = append(answers, cr)
	}
	fc, err := datatransfer.CombineBlockChecksums(answers)
	if err != nil {
		return nil, err
	}
	return &FileChecksum{Algorithm: fc.Algorithm(), Bytes: fc.Bytes()}, nil
}
