package client

import (
	"context"
	"errors"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// The DataNode side of the data path goes through internal/datatransfer: a
// BlockReader per replica read, a BlockWriter per pipeline.

// openBlock opens a checksum-verified read of length bytes of lb at offset in the
// block, from replica lb.Locs[node].
func (c *Client) openBlock(ctx context.Context, lb *hdfspb.LocatedBlockProto, node int, offset, length int64) (io.ReadCloser, error) {
	return datatransfer.NewBlockReader(ctx, datatransfer.ReadRequest{
		Addr: datatransfer.XferAddr(lb.GetLocs()[node]), Block: lb.GetB(), Token: lb.GetBlockToken(), ClientName: c.clientName,
		Offset: offset, Length: length, Timeout: c.data.socketTimeout, Dial: c.dial,
	})
}

// writeRequest is the request that sets up a new pipeline for block on nodes at stage.
// The block's length on the wire is the file's block size, as Hadoop sends it; offset
// is where new data starts (the block's length for an append, 0 for a new block).
func (c *Client) writeRequest(block *hdfspb.ExtendedBlockProto, blockSize int64, nodes []*hdfspb.DatanodeInfoProto, storageIDs []string,
	stage datatransfer.Stage, newGS uint64, offset int64) datatransfer.WriteRequest {
	b := proto.Clone(block).(*hdfspb.ExtendedBlockProto)
	b.NumBytes = proto.Uint64(uint64(blockSize))
	return datatransfer.WriteRequest{
		Block: b, NewGenerationStamp: newGS, Pipeline: nodes, StorageIDs: storageIDs, Token: emptyToken(),
		ClientName: c.clientName, Stage: stage, MinBytesRcvd: offset, MaxBytesRcvd: offset,
		Checksum:   datatransfer.Checksum{Type: hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C, BytesPerChecksum: c.data.bytesPerChecksum},
		PacketSize: c.data.packetSize, Timeout: c.data.socketTimeout, Dial: c.dial, Logger: c.log.Named("BlockWriter"),
	}
}

// badNodeIndex is the index in nodes of the DataNode a pipeline error blames: the
// first one when it blames none.
func badNodeIndex(err error, nodes []*hdfspb.DatanodeInfoProto) int {
	var pe *datatransfer.PipelineError
	if errors.As(err, &pe) && pe.Index >= 0 && pe.Index < len(nodes) {
		return pe.Index
	}
	return 0
}
