package datanode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// serveTransfer accepts DataTransferProtocol connections (Hadoop's
// DataXceiverServer): one goroutine per connection, at most
// MaxTransferThreads at once; a connection over the limit is closed at
// once, as Hadoop does.
func (dn *DataNode) serveTransfer(ctx context.Context) {
	for {
		conn, err := dn.xfer.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				dn.log.Error("data transfer listener failed", zap.Error(err))
			}
			return
		}
		if int(dn.xceivers.Add(1)) > dn.cfg.MaxTransferThreads {
			dn.xceivers.Add(-1)
			dn.log.Warn("too many data transfer connections; closing the new one",
				zap.Int(KeyMaxTransferThreads, dn.cfg.MaxTransferThreads), zap.Stringer("remote", conn.RemoteAddr()))
			_ = conn.Close()
			continue
		}
		dn.conns.Store(conn, struct{}{})
		dn.wg.Add(1)
		go func() {
			defer dn.wg.Done()
			defer dn.xceivers.Add(-1)
			defer dn.conns.Delete(conn)
			defer conn.Close()
			dn.serveConn(ctx, conn)
		}()
	}
}

// xceiver serves one connection (Hadoop's DataXceiver).
type xceiver struct {
	dn   *DataNode
	conn net.Conn
	in   *bufio.Reader
	log  *zap.Logger
}

func (dn *DataNode) serveConn(ctx context.Context, conn net.Conn) {
	x := &xceiver{dn: dn, conn: conn, in: bufio.NewReaderSize(conn, 64<<10), log: dn.log.With(zap.Stringer("remote", conn.RemoteAddr()))}
	for first := true; ; first = false {
		if first || x.dn.cfg.SocketKeepalive <= 0 {
			x.readDeadline()
		} else {
			_ = x.conn.SetReadDeadline(time.Now().Add(x.dn.cfg.SocketKeepalive))
		}
		op, msg, err := datatransfer.ReadOp(x.in)
		if err != nil {
			switch {
			case errors.Is(err, datatransfer.ErrUnsupportedOp):
				x.log.Warn("unsupported data transfer operation", zap.Stringer("op", op))
				_ = x.respond(hdfspb.Status_ERROR_UNSUPPORTED, "Unsupported operation "+op.String())
			case errors.Is(err, datatransfer.ErrMalformed), errors.Is(err, datatransfer.ErrVersion):
				x.log.Error("bad data transfer request; closing the connection", zap.Error(err))
			case errors.Is(err, io.EOF), isClosed(err), ctx.Err() != nil, !first:
				// The peer is done (or went away between requests).
			default:
				x.log.Info("data transfer connection failed before a request", zap.Error(err))
			}
			return
		}
		keep := false
		switch m := msg.(type) {
		case *hdfspb.OpReadBlockProto:
			keep = x.readBlock(m)
		case *hdfspb.OpWriteBlockProto:
			x.writeBlock(ctx, m)
		case *hdfspb.OpTransferBlockProto:
			x.transferBlock(ctx, m)
		case *hdfspb.OpBlockChecksumProto:
			x.blockChecksum(m)
		case *hdfspb.OpCopyBlockProto:
			x.copyBlock(m)
		default:
			x.log.Warn("unsupported data transfer operation", zap.Stringer("op", op))
			_ = x.respond(hdfspb.Status_ERROR_UNSUPPORTED, "Unsupported operation "+op.String())
		}
		if !keep {
			return
		}
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

func (x *xceiver) readDeadline() {
	_ = x.conn.SetReadDeadline(time.Now().Add(x.dn.cfg.SocketTimeout))
}

func (x *xceiver) writeDeadline() {
	if d := x.dn.cfg.SocketWriteTimeout; d > 0 {
		_ = x.conn.SetWriteDeadline(time.Now().Add(d))
	}
}

// respond sends a BlockOpResponseProto with status and message.
func (x *xceiver) respond(st hdfspb.Status, msg string) error {
	resp := &hdfspb.BlockOpResponseProto{Status: st.Enum()}
	if msg != "" {
		resp.Message = proto.String(msg)
	}
	x.writeDeadline()
	return datatransfer.WriteResponse(x.conn, resp)
}

// blockOf names an ExtendedBlockProto as Hadoop prints it: BP-...:blk_id_gs.
func blockOf(b *hdfspb.ExtendedBlockProto) string {
	return b.GetPoolId() + ":" + storage.BlockName(b.GetBlockId(), b.GetGenerationStamp())
}

// statusOf maps a storage error to a DataTransferProtocol status.
func statusOf(err error) hdfspb.Status {
	switch {
	case errors.Is(err, storage.ErrReplicaAlreadyExists):
		return hdfspb.Status_ERROR_EXISTS
	case errors.Is(err, storage.ErrChecksum):
		return hdfspb.Status_ERROR_CHECKSUM
	case errors.Is(err, storage.ErrBadRequest):
		return hdfspb.Status_ERROR_INVALID
	}
	return hdfspb.Status_ERROR
}

func toStorageChecksum(c datatransfer.Checksum) storage.Checksum {
	return storage.Checksum{Type: storage.ChecksumType(c.Type), BytesPerChecksum: c.BytesPerChecksum}
}

func toWireChecksum(c storage.Checksum) datatransfer.Checksum {
	return datatransfer.Checksum{Type: hdfspb.ChecksumTypeProto(c.Type), BytesPerChecksum: c.BytesPerChecksum}
}

// readBlock serves READ_BLOCK (Hadoop's DataXceiver.readBlock and
// BlockSender): the answer with the checksum and the chunk-aligned start,
// the packets, the empty last packet, then the client's read status. As in
// Hadoop, the DataNode sends the stored checksums without verifying them:
// the client verifies, and a client that finds a mismatch reports the
// replica (reportBadBlocks) and reads another. It returns whether the
// connection may serve another request.
func (x *xceiver) readBlock(op *hdfspb.OpReadBlockProto) bool {
	b := op.GetHeader().GetBaseHeader().GetBlock()
	rr, err := x.dn.store.OpenReplica(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
	if err != nil {
		msg := fmt.Sprintf("opReadBlock %s received exception %v", blockOf(b), err)
		x.log.Info(msg)
		_ = x.respond(statusOf(err), msg)
		return false
	}
	defer rr.Close()
	offset, length, end := int64(op.GetOffset()), int64(op.GetLen()), rr.Length()
	if offset < 0 || offset > end || length < 0 || offset+length > end {
		msg := fmt.Sprintf("opReadBlock %s received exception java.io.IOException: Offset %d and length %d don't match block %s ( blockLen %d )",
			blockOf(b), offset, length, blockOf(b), end)
		x.log.Info(msg)
		_ = x.respond(hdfspb.Status_ERROR_INVALID, msg)
		return false
	}
	cs := rr.Checksum()
	start := rr.ChunkStart(offset)
	stop := offset + length
	if bpc := int64(cs.BytesPerChecksum); stop%bpc != 0 {
		stop = min((stop/bpc+1)*bpc, end)
	}
	wcs := toWireChecksum(cs)
	send := op.GetSendChecksums()
	if !send {
		wcs.Type = hdfspb.ChecksumTypeProto_CHECKSUM_NULL
	}
	resp := &hdfspb.BlockOpResponseProto{
		Status:             hdfspb.Status_SUCCESS.Enum(),
		ReadOpChecksumInfo: &hdfspb.ReadOpChecksumInfoProto{Checksum: wcs.Proto(), ChunkOffset: proto.Uint64(uint64(start))},
	}
	x.writeDeadline()
	if err := datatransfer.WriteResponse(x.conn, resp); err != nil {
		return false
	}
	n, err := x.dn.sendBlock(x.conn, x.writeDeadline, rr, start, stop, send, false)
	x.dn.metrics.bytesRead.Add(n)
	if err != nil {
		var ce *storage.CorruptReplicaError
		if errors.As(err, &ce) {
			x.dn.reportBadReplica(b.GetPoolId(), rr.Replica())
		}
		if !isClosed(err) {
			x.log.Info("read of block ended early", zap.String("block", blockOf(b)), zap.Error(err))
		}
		return false
	}
	x.dn.metrics.blocksRead.Add(1)
	x.readDeadline()
	st, err := datatransfer.ReadReadStatus(x.in)
	if err != nil {
		x.log.Debug("no read status from client; closing", zap.Error(err))
		return false
	}
	if st == hdfspb.Status_ERROR_CHECKSUM {
		x.log.Warn("client reports a checksum error reading block", zap.String("block", blockOf(b)))
	}
	return true
}

// packetChunks is how many chunks go in one packet (64 KiB of data with
// 512-byte chunks, Hadoop's default packet size).
func packetChunks(bpc int) int { return max(1, datatransfer.DefaultWritePacketSize/bpc) }

// sendBlock streams [start, stop) of a replica as packets (start on a chunk
// boundary), then the empty last packet (Hadoop's BlockSender.sendBlock).
// With verify, every chunk is checked against its stored checksum first
// (transfers to other DataNodes do so); a mismatch is a
// *storage.CorruptReplicaError.
func (dn *DataNode) sendBlock(w io.Writer, deadline func(), rr *storage.ReplicaReader, start, stop int64, sendSums, verify bool) (int64, error) {
	cs := rr.Checksum()
	bpc := cs.BytesPerChecksum
	chunks := packetChunks(bpc)
	data := make([]byte, chunks*bpc)
	sums := make([]byte, chunks*storage.ChecksumSize)
	var pkt []byte
	seq := int64(0)
	off := start
	for off < stop {
		want := min(int64(len(data)), stop-off)
		n, err := rr.ReadChunks(off, data[:want], sums)
		if err != nil {
			return off - start, err
		}
		nsums := int(cs.Chunks(int64(n))) * cs.Size()
		if verify {
			if i := cs.VerifySums(data[:n], sums[:nsums]); i >= 0 {
				r := rr.Replica()
				return off - start, &storage.CorruptReplicaError{BlockPoolID: r.BlockPoolID, BlockID: r.BlockID, GenStamp: r.GenStamp,
					Offset: off + int64(i*bpc), Path: r.BlockFile, Reason: "checksum mismatch"}
			}
		}
		s := sums[:nsums]
		if !sendSums {
			s = nil
		}
		pkt = datatransfer.AppendPacket(pkt[:0], datatransfer.PacketHeader{OffsetInBlock: off, Seqno: seq}, s, data[:n])
		deadline()
		if _, err := w.Write(pkt); err != nil {
			return off - start, err
		}
		seq++
		off += int64(n)
	}
	deadline()
	pkt = datatransfer.AppendPacket(pkt[:0], datatransfer.PacketHeader{OffsetInBlock: off, Seqno: seq, LastPacketInBlock: true}, nil, nil)
	_, err := w.Write(pkt)
	return off - start, err
}

// blockChecksum serves BLOCK_CHECKSUM: the MD5 of the replica's chunk
// CRCs (Hadoop's MD5MD5CRC building block).
func (x *xceiver) blockChecksum(op *hdfspb.OpBlockChecksumProto) {
	b := op.GetHeader().GetBlock()
	rr, err := x.dn.store.OpenReplica(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
	if err != nil {
		_ = x.respond(statusOf(err), fmt.Sprintf("opBlockChecksum %s received exception %v", blockOf(b), err))
		return
	}
	defer rr.Close()
	sums, err := rr.Checksums()
	if err != nil {
		_ = x.respond(statusOf(err), fmt.Sprintf("opBlockChecksum %s received exception %v", blockOf(b), err))
		return
	}
	x.dn.metrics.blockChecksumOps.Add(1)
	resp := &hdfspb.BlockOpResponseProto{
		Status:           hdfspb.Status_SUCCESS.Enum(),
		ChecksumResponse: datatransfer.BlockChecksumResponse(toWireChecksum(rr.Checksum()), sums),
	}
	x.writeDeadline()
	_ = datatransfer.WriteResponse(x.conn, resp)
}

// copyBlock serves COPY_BLOCK (the balancer's source side): the answer with
// checksum info, the whole finalized replica as packets (verified), then
// one byte 'd' (Hadoop writes a char, 2 bytes) once done.
func (x *xceiver) copyBlock(op *hdfspb.OpCopyBlockProto) {
	b := op.GetHeader().GetBlock()
	rr, err := x.dn.store.OpenReplica(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
	if err != nil {
		_ = x.respond(statusOf(err), fmt.Sprintf("opCopyBlock %s received exception %v", blockOf(b), err))
		return
	}
	defer rr.Close()
	resp := &hdfspb.BlockOpResponseProto{
		Status:             hdfspb.Status_SUCCESS.Enum(),
		ReadOpChecksumInfo: &hdfspb.ReadOpChecksumInfoProto{Checksum: toWireChecksum(rr.Checksum()).Proto(), ChunkOffset: proto.Uint64(0)},
	}
	x.writeDeadline()
	if err := datatransfer.WriteResponse(x.conn, resp); err != nil {
		return
	}
	if _, err := x.dn.sendBlock(x.conn, x.writeDeadline, rr, 0, rr.Length(), true, true); err != nil {
		var ce *storage.CorruptReplicaError
		if errors.As(err, &ce) {
			x.dn.reportBadReplica(b.GetPoolId(), rr.Replica())
		}
		x.log.Info("opCopyBlock failed", zap.String("block", blockOf(b)), zap.Error(err))
		return
	}
	_, _ = x.conn.Write([]byte{0, 'd'})
	x.log.Info("copied block", zap.String("block", blockOf(b)))
}

// xferAddr is the data transfer address of a DataNode in a target list.
func (dn *DataNode) xferAddr(d *hdfspb.DatanodeInfoProto) string {
	return dn.peerAddr(d, d.GetId().GetXferPort())
}

// ipcAddr is the IPC address of a DataNode (InterDatanodeProtocol).
func (dn *DataNode) ipcAddr(d *hdfspb.DatanodeInfoProto) string {
	return dn.peerAddr(d, d.GetId().GetIpcPort())
}

// peerAddr is another DataNode's host and port: its IP, or its host name
// with dfs.datanode.use.datanode.hostname.
func (dn *DataNode) peerAddr(d *hdfspb.DatanodeInfoProto, port uint32) string {
	id := d.GetId()
	host := id.GetIpAddr()
	if dn.cfg.UseHostname && id.GetHostName() != "" {
		host = id.GetHostName()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// selfInfo is this DataNode as a DatanodeInfoProto (the source of
// transfers).
func (dn *DataNode) selfInfo() *hdfspb.DatanodeInfoProto {
	return &hdfspb.DatanodeInfoProto{Id: dn.DatanodeID()}
}
