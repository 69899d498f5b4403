package datanode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

type stage = hdfspb.OpWriteBlockProto_BlockConstructionStage

const (
	stageCreate            = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_CREATE
	stageAppend            = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND
	stageAppendRecovery    = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND_RECOVERY
	stageStreamingRecovery = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_STREAMING_RECOVERY
	stageCloseRecovery     = hdfspb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY
	stageTransferRBW       = hdfspb.OpWriteBlockProto_TRANSFER_RBW
	stageTransferFinalized = hdfspb.OpWriteBlockProto_TRANSFER_FINALIZED
)

// openWriter opens the replica writer a WRITE_BLOCK stage needs (Hadoop's
// BlockReceiver constructor).
func (dn *DataNode) openWriter(op *hdfspb.OpWriteBlockProto, st stage, cs datatransfer.Checksum) (*storage.ReplicaWriter, error) {
	b := op.GetHeader().GetBaseHeader().GetBlock()
	bpid, id, gs := b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp()
	switch st {
	case stageCreate, stageTransferRBW:
		// TRANSFER_RBW (a node added to a pipeline being recovered) writes
		// straight into rbw/ and stays RBW; Hadoop writes a temporary replica
		// and converts it, which storage has no operation for. The client's
		// PIPELINE_SETUP_STREAMING_RECOVERY takes it over next.
		return dn.store.CreateRbw(bpid, id, gs, toStorageChecksum(cs))
	case stageTransferFinalized:
		return dn.store.CreateTemporary(bpid, id, gs, toStorageChecksum(cs))
	case stageAppend:
		return dn.store.Append(bpid, id, gs, op.GetLatestGenerationStamp(), int64(op.GetMinBytesRcvd()))
	case stageAppendRecovery:
		return dn.store.RecoverAppend(bpid, id, gs, op.GetLatestGenerationStamp(), int64(op.GetMinBytesRcvd()))
	case stageStreamingRecovery:
		return dn.store.RecoverRbw(bpid, id, gs, op.GetLatestGenerationStamp(), int64(op.GetMinBytesRcvd()), int64(op.GetMaxBytesRcvd()))
	}
	return nil, fmt.Errorf("%w: stage %s is not supported by this DataNode", errUnsupportedStage, st)
}

var errUnsupportedStage = errors.New("unsupported write stage")

// writeBlock serves WRITE_BLOCK (Hadoop's DataXceiver.writeBlock,
// BlockReceiver and PacketResponder). The order on the wire:
//
//  1. open the replica for the stage, and, with targets, connect to the
//     first one and send it the same request with the targets after it;
//     a client's request (clientName set) waits for the mirror's answer;
//  2. a client's pipeline stage (not TRANSFER_*) gets the answer
//     (SUCCESS, or the mirror's status with its firstBadLink);
//  3. packets: each is forwarded downstream as received, checked against
//     its checksums and written (storage verifies at every node), and, for
//     a client's pipeline, acked upstream once the downstream ack for it
//     arrived: this node's status first, then the downstream replies;
//  4. the last (empty) packet finalizes the replica before its ack goes up,
//     and RECEIVED is reported to every NameNode; TRANSFER_* stages answer
//     SUCCESS once the replica is finalized.
func (x *xceiver) writeBlock(ctx context.Context, op *hdfspb.OpWriteBlockProto) {
	b := op.GetHeader().GetBaseHeader().GetBlock()
	st := op.GetStage()
	isClient := op.GetHeader().GetClientName() != ""
	isTransfer := st == stageTransferRBW || st == stageTransferFinalized
	log := x.log.With(zap.String("block", blockOf(b)), zap.Stringer("stage", st))
	fail := func(status hdfspb.Status, err error) {
		msg := fmt.Sprintf("opWriteBlock %s received exception %v", blockOf(b), err)
		log.Info(msg)
		if isClient {
			_ = x.respond(status, msg)
		}
	}
	if isTransfer && len(op.GetTargets()) > 0 {
		fail(hdfspb.Status_ERROR_INVALID, fmt.Errorf("%s does not support multiple targets", st))
		return
	}
	cs, err := datatransfer.ChecksumFromProto(op.GetRequestedChecksum())
	if err != nil {
		fail(hdfspb.Status_ERROR_INVALID, err)
		return
	}
	var w *storage.ReplicaWriter
	var closed storage.Replica // PIPELINE_CLOSE_RECOVERY: the replica finalized at setup
	if st == stageCloseRecovery {
		// Hadoop's fast path: no packets; every node finalizes the replica
		// under the new generation stamp as the request goes down the
		// pipeline, and the connect ack ends the operation.
		closed, err = x.dn.store.RecoverClose(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp(), op.GetLatestGenerationStamp(), int64(op.GetMinBytesRcvd()))
	} else {
		w, err = x.dn.openWriter(op, st, cs)
	}
	if err != nil {
		status := statusOf(err)
		if errors.Is(err, errUnsupportedStage) {
			status = hdfspb.Status_ERROR_UNSUPPORTED
		}
		fail(status, err)
		return
	}
	done := false
	defer func() {
		if !done && w != nil {
			if st == stageCreate && !isClient || isTransfer {
				_ = w.Abort()
			} else {
				_ = w.Close()
			}
		}
	}()
	if w != nil {
		log.Info("receiving block", zap.Stringer("src", x.conn.RemoteAddr()), zap.Stringer("dest", x.conn.LocalAddr()))
		if isClient && !isTransfer {
			x.dn.blockReceiving(w.Replica())
		}
	}

	// 1. The mirror.
	var mirror net.Conn
	var mirrorIn *bufio.Reader
	mirrorStatus, firstBadLink := hdfspb.Status_SUCCESS, ""
	if targets := op.GetTargets(); len(targets) > 0 {
		addr := x.dn.xferAddr(targets[0])
		mirror, mirrorIn, err = x.dn.connectMirror(ctx, addr, op, isClient)
		if err != nil {
			if mirror != nil {
				_ = mirror.Close()
				mirror = nil
			}
			if isClient {
				log.Error("could not set up the pipeline to the mirror", zap.String("mirror", addr), zap.Error(err))
				var se *datatransfer.StatusError
				if errors.As(err, &se) {
					mirrorStatus, firstBadLink = se.Status, se.FirstBadLink
				} else {
					mirrorStatus, firstBadLink = hdfspb.Status_ERROR, addr
				}
				resp := &hdfspb.BlockOpResponseProto{Status: mirrorStatus.Enum(), FirstBadLink: proto.String(firstBadLink)}
				x.writeDeadline()
				_ = datatransfer.WriteResponse(x.conn, resp)
				return
			}
			log.Info("could not reach the mirror; continuing without it", zap.String("mirror", addr), zap.Error(err))
		}
		if mirror != nil {
			// Stop closes it too, so a responder waiting for a downstream
			// ack does not hold Stop up.
			x.dn.conns.Store(mirror, struct{}{})
			defer x.dn.conns.Delete(mirror)
			defer mirror.Close()
		}
	}
	// 2. The connect ack.
	if isClient && !isTransfer {
		resp := &hdfspb.BlockOpResponseProto{Status: mirrorStatus.Enum(), FirstBadLink: proto.String(firstBadLink)}
		x.writeDeadline()
		if err := datatransfer.WriteResponse(x.conn, resp); err != nil {
			return
		}
	}
	if w == nil {
		done = true
		x.dn.blockReceived(closed)
		log.Info("recovered the close of block", zap.Uint64("newGenStamp", closed.GenStamp), zap.Int64("bytes", closed.NumBytes))
		if isClient {
			x.ackResentClose(mirror, mirrorIn, len(op.GetTargets()))
		}
		return
	}
	// 3 and 4.
	r := &receiver{x: x, w: w, log: log, mirror: mirror, mirrorIn: mirrorIn, targets: len(op.GetTargets()), keepRBW: st == stageTransferRBW}
	if isClient && !isTransfer {
		r.acks = make(chan pendingAck, 64)
		r.respDone = make(chan error, 1)
		go r.respond()
	}
	fin, err := r.receive()
	if err != nil {
		log.Info("opWriteBlock failed", zap.Error(err))
		return
	}
	done = true
	if isTransfer {
		x.writeDeadline()
		_ = x.respond(hdfspb.Status_SUCCESS, "")
	}
	if r.acks == nil {
		// Replication and transfers: the receiver finalized; report it.
		log.Info("received block", zap.Int64("bytes", fin.NumBytes), zap.Stringer("src", x.conn.RemoteAddr()))
	}
}

// connectMirror dials the next DataNode and sends it the request with the
// targets after it; a client's request waits for its answer (the connect
// ack), a DataNode's does not, as in Hadoop.
func (dn *DataNode) connectMirror(ctx context.Context, addr string, op *hdfspb.OpWriteBlockProto, isClient bool) (net.Conn, *bufio.Reader, error) {
	targets := op.GetTargets()
	timeout := dn.cfg.SocketTimeout + 5*time.Second*time.Duration(len(targets))
	conn, err := dn.dial(ctx, addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	next := proto.Clone(op).(*hdfspb.OpWriteBlockProto)
	next.Targets = targets[1:]
	if len(next.TargetStorageTypes) > 0 {
		next.TargetStorageTypes = next.TargetStorageTypes[1:]
	}
	if len(next.TargetStorageIds) > 0 {
		next.TargetStorageIds = next.TargetStorageIds[1:]
	}
	if len(next.TargetPinnings) > 0 {
		next.TargetPinnings = next.TargetPinnings[1:]
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := datatransfer.WriteOp(conn, datatransfer.OpWriteBlock, next); err != nil {
		return conn, nil, err
	}
	in := bufio.NewReaderSize(conn, 16<<10)
	if isClient {
		resp, err := datatransfer.ReadResponse(in)
		if err != nil {
			return conn, nil, err
		}
		if err := datatransfer.ResponseError(datatransfer.OpWriteBlock, resp); err != nil {
			var se *datatransfer.StatusError
			if errors.As(err, &se) && se.FirstBadLink == "" {
				se.FirstBadLink = addr
			}
			return conn, nil, err
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, in, nil
}

// pendingAck is a packet waiting for its ack.
type pendingAck struct {
	seqno  int64
	last   bool
	end    int64 // offset after the packet's data
	status hdfspb.Status
}

// receiver is one WRITE_BLOCK's packet loop (BlockReceiver) and, for a
// client pipeline, its ack responder (PacketResponder).
type receiver struct {
	x        *xceiver
	w        *storage.ReplicaWriter
	log      *zap.Logger
	mirror   net.Conn // nil: end of the pipeline, or the mirror failed
	mirrorIn *bufio.Reader
	targets  int

	// keepRBW leaves the replica RBW at the end instead of finalizing it
	// (TRANSFER_RBW); nothing is reported.
	keepRBW bool

	acks     chan pendingAck // nil: no responder (DataNode writes, transfers)
	respDone chan error
	final    storage.Replica
}

// receive reads packets until the last one. For a client pipeline it
// returns once the responder sent the last ack (and finalized); otherwise it
// finalizes itself.
func (r *receiver) receive() (storage.Replica, error) {
	err := r.receiveLoop()
	if r.acks != nil {
		close(r.acks)
		rerr := <-r.respDone
		if err == nil {
			err = rerr
		}
		return r.final, err
	}
	if err != nil {
		return storage.Replica{}, err
	}
	if r.keepRBW {
		rep := r.w.Replica()
		rep.NumBytes = r.w.BytesOnDisk()
		return rep, r.w.Close()
	}
	rep, err := r.w.Finalize()
	if err != nil {
		return storage.Replica{}, err
	}
	r.x.dn.blockReceived(rep)
	return rep, nil
}

func (r *receiver) receiveLoop() error {
	var buf []byte
	mirrorBroken := false
	for {
		r.x.readDeadline()
		pkt, err := datatransfer.ReadPacket(r.x.in, buf)
		if err != nil {
			if errors.Is(err, datatransfer.ErrMalformed) {
				r.log.Error("malformed packet; closing the connection", zap.Error(err))
			}
			return fmt.Errorf("reading packet: %w", err)
		}
		buf = pkt.Raw
		h := pkt.Header
		if r.mirror != nil && !mirrorBroken {
			_ = r.mirror.SetWriteDeadline(time.Now().Add(max(r.x.dn.cfg.SocketWriteTimeout, r.x.dn.cfg.SocketTimeout)))
			if _, err := r.mirror.Write(pkt.Raw); err != nil {
				r.log.Info("forwarding to the mirror failed", zap.Error(err))
				mirrorBroken = true
			}
		}
		if h.Seqno == datatransfer.HeartbeatSeqno {
			if r.acks != nil {
				r.acks <- pendingAck{seqno: h.Seqno, status: hdfspb.Status_SUCCESS}
			}
			continue
		}
		status := hdfspb.Status_SUCCESS
		if len(pkt.Data) > 0 {
			r.x.dn.metrics.bytesWritten.Add(int64(len(pkt.Data)))
			if err := r.w.WriteChunks(h.OffsetInBlock, pkt.Data, pkt.Checksums); err != nil {
				if errors.Is(err, storage.ErrChecksum) {
					r.log.Warn("checksum error in received packet", zap.Int64("offset", h.OffsetInBlock), zap.Error(err))
					if r.acks != nil {
						r.acks <- pendingAck{seqno: h.Seqno, status: hdfspb.Status_ERROR_CHECKSUM, end: h.OffsetInBlock}
					}
				}
				return fmt.Errorf("writing packet at %d: %w", h.OffsetInBlock, err)
			}
		}
		if h.SyncBlock {
			if err := r.w.Sync(); err != nil {
				return fmt.Errorf("sync: %w", err)
			}
		}
		if r.acks != nil {
			r.acks <- pendingAck{seqno: h.Seqno, last: h.LastPacketInBlock, end: h.OffsetInBlock + int64(len(pkt.Data)), status: status}
		}
		if h.LastPacketInBlock {
			return nil
		}
	}
}

// respond is the PacketResponder: for each packet in order, the downstream
// ack (if there is a mirror), then this node's ack upstream. The last
// packet's replica is finalized before its ack is sent.
func (r *receiver) respond() {
	var err error
	defer func() { r.respDone <- err }()
	mirrorOK := r.mirror != nil
	for p := range r.acks {
		var down datatransfer.Ack
		haveDown := false
		if mirrorOK && p.status == hdfspb.Status_SUCCESS {
			_ = r.mirror.SetReadDeadline(time.Now().Add(r.x.dn.cfg.SocketTimeout + 5*time.Second*time.Duration(r.targets)))
			a, rerr := datatransfer.ReadAck(r.mirrorIn)
			switch {
			case rerr != nil:
				r.log.Info("reading the downstream ack failed", zap.Error(rerr))
				mirrorOK = false
			case a.Seqno != p.seqno:
				r.log.Warn("downstream ack out of order", zap.Int64("want", p.seqno), zap.Int64("got", a.Seqno))
				mirrorOK = false
			default:
				down, haveDown = a, true
			}
			if !mirrorOK {
				// This node is fine; the one after it is not.
				up := datatransfer.Ack{Seqno: p.seqno, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS, hdfspb.Status_ERROR}}
				r.x.writeDeadline()
				_ = datatransfer.WriteAck(r.x.conn, up)
				err = errors.New("downstream DataNode failed")
				r.drain()
				return
			}
		}
		if p.last && p.status == hdfspb.Status_SUCCESS {
			rep, ferr := r.w.Finalize()
			if ferr != nil {
				p.status = hdfspb.Status_ERROR
				err = ferr
			} else {
				r.final = rep
				r.x.dn.blockReceived(rep)
				r.log.Info("received block", zap.Int64("bytes", rep.NumBytes), zap.Stringer("src", r.x.conn.RemoteAddr()))
			}
		}
		up := datatransfer.Ack{Seqno: p.seqno, Replies: []hdfspb.Status{p.status}}
		if haveDown {
			up = down.Prepend(p.status)
		}
		// Visible to readers before the writer hears of it: a client that
		// got the ack of an hflush may read the bytes from any node at once.
		if p.seqno >= 0 && p.status == hdfspb.Status_SUCCESS && !p.last && (!haveDown || down.FirstFailed() < 0) {
			r.w.SetBytesAcked(p.end)
		}
		r.x.writeDeadline()
		if werr := datatransfer.WriteAck(r.x.conn, up); werr != nil {
			err = fmt.Errorf("sending ack upstream: %w", werr)
			r.drain()
			return
		}
		if p.status != hdfspb.Status_SUCCESS {
			if err == nil {
				err = fmt.Errorf("packet %d: %s", p.seqno, p.status)
			}
			r.drain()
			return
		}
	}
}

// drain consumes the rest of the queue so the packet loop never blocks on
// a responder that gave up; closing the connection ends the loop.
func (r *receiver) drain() {
	_ = r.x.conn.Close()
	for range r.acks {
	}
}

// transferBlock serves TRANSFER_BLOCK (pipeline recovery adds a DataNode):
// this node copies its replica to the targets with stage TRANSFER_RBW or
// TRANSFER_FINALIZED, then answers.
func (x *xceiver) transferBlock(ctx context.Context, op *hdfspb.OpTransferBlockProto) {
	b := op.GetHeader().GetBaseHeader().GetBlock()
	rep, ok := x.dn.store.Get(b.GetPoolId(), b.GetBlockId())
	st := stageTransferFinalized
	if ok && rep.State == storage.StateRBW {
		st = stageTransferRBW
	}
	err := x.dn.transferReplica(ctx, b, op.GetTargets(), st, op.GetHeader().GetClientName())
	if err != nil {
		_ = x.respond(statusOf(err), fmt.Sprintf("opTransferBlock %s received exception %v", blockOf(b), err))
		return
	}
	_ = x.respond(hdfspb.Status_SUCCESS, "")
}

// transferReplica copies a replica to targets[0] (with targets[1:] after
// it): a WRITE_BLOCK from this DataNode (Hadoop's DataNode.DataTransfer).
// Checksums are verified as the replica is read; a corrupt replica is
// reported to the NameNodes and the transfer fails. With a clientName the
// target's close ack is awaited.
func (dn *DataNode) transferReplica(ctx context.Context, b *hdfspb.ExtendedBlockProto, targets []*hdfspb.DatanodeInfoProto, st stage, clientName string) error {
	if len(targets) == 0 {
		return errors.New("no targets")
	}
	dn.xmits.Add(1)
	defer dn.xmits.Add(-1)
	rr, err := dn.store.OpenReplica(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
	if err != nil {
		return err
	}
	defer rr.Close()
	rep := rr.Replica()
	addr := dn.xferAddr(targets[0])
	conn, err := dn.dial(ctx, addr, dn.cfg.SocketTimeout)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	blk := &hdfspb.ExtendedBlockProto{PoolId: proto.String(b.GetPoolId()), BlockId: proto.Uint64(rep.BlockID),
		GenerationStamp: proto.Uint64(rep.GenStamp), NumBytes: proto.Uint64(uint64(rr.Length()))}
	op := &hdfspb.OpWriteBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{
			BaseHeader: &hdfspb.BaseHeaderProto{Block: blk},
			ClientName: proto.String(clientName),
		},
		Targets:               targets[1:],
		Source:                dn.selfInfo(),
		Stage:                 st.Enum(),
		PipelineSize:          proto.Uint32(0),
		MinBytesRcvd:          proto.Uint64(0),
		MaxBytesRcvd:          proto.Uint64(0),
		LatestGenerationStamp: proto.Uint64(0),
		RequestedChecksum:     toWireChecksum(rr.Checksum()).Proto(),
	}
	deadline := func() {
		if d := dn.cfg.SocketWriteTimeout; d > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(d))
		}
	}
	deadline()
	if err := datatransfer.WriteOp(conn, datatransfer.OpWriteBlock, op); err != nil {
		return err
	}
	if _, err := dn.sendBlock(conn, deadline, rr, 0, rr.Length(), true, true); err != nil {
		var ce *storage.CorruptReplicaError
		if errors.As(err, &ce) {
			dn.reportBadReplica(b.GetPoolId(), rep)
		}
		return err
	}
	if clientName != "" || st == stageTransferFinalized || st == stageTransferRBW {
		_ = conn.SetReadDeadline(time.Now().Add(dn.cfg.SocketTimeout))
		var ack hdfspb.DNTransferAckProto
		if err := datatransfer.ReadDelimited(bufio.NewReader(conn), &ack); err != nil {
			if clientName == "" && errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading transfer ack from %s: %w", addr, err)
		}
		if ack.GetStatus() != hdfspb.Status_SUCCESS {
			return fmt.Errorf("transfer of %s to %s: %s", blockOf(blk), addr, ack.GetStatus())
		}
	}
	return nil
}

// transferBlocks carries out a TRANSFER command: each block goes to its
// targets from a goroutine of its own (stage PIPELINE_SETUP_CREATE from a
// DataNode, as Hadoop's DataNode.transferBlock sends; the receivers
// finalize and report RECEIVED themselves).
func (dn *DataNode) transferBlocks(ctx context.Context, bc *hdfspb.BlockCommandProto) {
	bpid := bc.GetBlockPoolId()
	for i, blk := range bc.GetBlocks() {
		if i >= len(bc.GetTargets()) {
			break
		}
		targets := bc.GetTargets()[i].GetDatanodes()
		b := &hdfspb.ExtendedBlockProto{PoolId: proto.String(bpid), BlockId: proto.Uint64(blk.GetBlockId()),
			GenerationStamp: proto.Uint64(blk.GetGenStamp()), NumBytes: proto.Uint64(blk.GetNumBytes())}
		var names []string
		for _, t := range targets {
			names = append(names, dn.xferAddr(t))
		}
		dn.wg.Add(1)
		go func() {
			defer dn.wg.Done()
			dn.log.Info("starting transfer", zap.String("block", blockOf(b)), zap.Strings("targets", names))
			if err := dn.transferReplica(ctx, b, targets, stageCreate, ""); err != nil {
				dn.log.Warn("transfer failed", zap.String("block", blockOf(b)), zap.Strings("targets", names), zap.Error(err))
				return
			}
			dn.metrics.blocksReplicated.Add(1)
			dn.log.Info("transferred block", zap.String("block", blockOf(b)), zap.Strings("targets", names))
		}()
	}
}

// ackResentClose serves a client that, after PIPELINE_CLOSE_RECOVERY's
// connect ack, sends the end-of-block packet again (hdfsha's BlockWriter
// resends its unacknowledged packets; Hadoop's DataStreamer drops that one
// and closes the connection, which ends this at once). Each empty packet is
// forwarded downstream and acknowledged upstream like a pipeline's; the
// replica is already final. Anything else, a silence of
// dfs.datanode.socket.reuse.keepalive, or the end of the stream ends it.
func (x *xceiver) ackResentClose(mirror net.Conn, mirrorIn *bufio.Reader, targets int) {
	wait := x.dn.cfg.SocketKeepalive
	if wait <= 0 {
		wait = 4 * time.Second
	}
	for {
		_ = x.conn.SetReadDeadline(time.Now().Add(wait))
		pkt, err := datatransfer.ReadPacket(x.in, nil)
		if err != nil || len(pkt.Data) > 0 {
			return
		}
		up := datatransfer.Ack{Seqno: pkt.Header.Seqno, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS}}
		if mirror != nil {
			_ = mirror.SetDeadline(time.Now().Add(x.dn.cfg.SocketTimeout + 5*time.Second*time.Duration(targets)))
			if _, err := mirror.Write(pkt.Raw); err != nil {
				up.Replies = append(up.Replies, hdfspb.Status_ERROR)
			} else if down, err := datatransfer.ReadAck(mirrorIn); err != nil || down.Seqno != pkt.Header.Seqno {
				up.Replies = append(up.Replies, hdfspb.Status_ERROR)
			} else {
				up = down.Prepend(hdfspb.Status_SUCCESS)
			}
		}
		x.writeDeadline()
		if err := datatransfer.WriteAck(x.conn, up); err != nil || pkt.Header.LastPacketInBlock || len(up.Replies) > 1 && up.FirstFailed() >= 0 {
			return
		}
	}
}

// dial connects to another DataNode's transfer port within timeout.
func (dn *DataNode) dial(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if dn.cfg.Dial != nil {
		return dn.cfg.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
