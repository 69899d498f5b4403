package datatransfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Stage is a write pipeline's BlockConstructionStage.
type Stage = hdfspb.OpWriteBlockProto_BlockConstructionStage

// The stages a client sets up a pipeline with.
const (
	StageSetupCreate            = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_CREATE
	StageSetupAppend            = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND
	StageSetupAppendRecovery    = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND_RECOVERY
	StageSetupStreamingRecovery = hdfspb.OpWriteBlockProto_PIPELINE_SETUP_STREAMING_RECOVERY
	StageCloseRecovery          = hdfspb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY
)

// DefaultDatanodeWriteTimeout is dfs.datanode.socket.write.timeout's
// default, the base of how long a packet write may block.
const DefaultDatanodeWriteTimeout = 8 * time.Minute

// OutboundPacket is a packet a BlockWriter sent (or is about to send) and
// that is not acknowledged yet. It owns its bytes.
type OutboundPacket struct {
	Header    PacketHeader
	Checksums []byte
	Data      []byte

	// owner made the packet, and buf is the buffer Checksums and Data live
	// in: once its ack arrives, owner reuses buf for a later packet. A
	// packet resent by another writer (WriteRequest.Resend) is never
	// recycled there, since its owner's requests may still hold it.
	owner *BlockWriter
	buf   []byte
}

func (p *OutboundPacket) end() int64 { return p.Header.OffsetInBlock + int64(len(p.Data)) }

// WriteRequest sets up one stage of a write pipeline (OpWriteBlockProto).
type WriteRequest struct {
	// Block is the block as the DataNodes know it: for a recovery stage its
	// current (old) generation stamp; NewGenerationStamp carries the new
	// one. Its NumBytes is sent as is.
	Block *hdfspb.ExtendedBlockProto
	// NewGenerationStamp is latestGenerationStamp: the genstamp the replicas
	// take (updateBlockForPipeline's for recovery, append's for append).
	// Zero means Block's own.
	NewGenerationStamp uint64
	// Pipeline is every DataNode, in order; the writer connects to the first
	// and sends the rest as targets.
	Pipeline []*hdfspb.DatanodeInfoProto
	// StorageTypes and StorageIDs are per node, optional.
	StorageTypes []hdfspb.StorageTypeProto
	StorageIDs   []string
	Token        *commonpb.TokenProto
	ClientName   string
	Stage        Stage
	// MinBytesRcvd is what every DataNode holds already (the acked length
	// for a recovery, the block length for an append); MaxBytesRcvd is what
	// the client sent (MinBytesRcvd plus the bytes of Resend). New data
	// starts at MaxBytesRcvd.
	MinBytesRcvd, MaxBytesRcvd int64
	// Resend are the packets to send again right after setup (recovery):
	// BlockWriter.RecoveryRequest fills them in.
	Resend []OutboundPacket
	// Pending is data accepted by Write but not yet packetized; it is
	// buffered again as if written.
	Pending []byte
	// FirstSeqno numbers the first new packet (after Resend).
	FirstSeqno int64

	// Checksum is the requested checksum (DefaultChecksum when zero).
	Checksum Checksum
	// PacketSize is dfs.client-write-packet-size (DefaultWritePacketSize).
	PacketSize int
	// MaxPacketsInFlight bounds unacked packets (DefaultMaxPacketsInFlight).
	MaxPacketsInFlight int
	// Timeout is dfs.client.socket-timeout (DefaultSocketTimeout): the
	// setup answer and each ack must come within Timeout + 5 s per node,
	// and an idle writer sends a heartbeat every Timeout/2.
	Timeout time.Duration
	// WriteTimeout bounds one packet write (DefaultDatanodeWriteTimeout +
	// 5 s per node when zero).
	WriteTimeout time.Duration
	// HeartbeatInterval overrides Timeout/2.
	HeartbeatInterval time.Duration
	Dial              DialFunc
	// Logger gets debug lines about acks and failures; nil is silent.
	Logger *zap.Logger
}

// PipelineError says which DataNode of a pipeline failed, so the client can
// exclude it and recover (DataStreamer's badNodeIndex): from firstBadLink
// or the first node when setup fails, from the first non-SUCCESS reply of
// an ack, and the first node when the connection itself fails.
type PipelineError struct {
	// Index is the failed node's position in the pipeline.
	Index int
	// Node is Pipeline[Index]'s transfer address.
	Node string
	// Setup is true when the pipeline never got set up.
	Setup bool
	// Status is what the node reported (ERROR when the connection failed).
	Status hdfspb.Status
	// Seqno is the packet whose ack failed, or -1.
	Seqno int64
	Err   error
}

func (e *PipelineError) Error() string {
	what := "bad response " + e.Status.String()
	if e.Setup {
		what = "pipeline setup failed"
	}
	return fmt.Sprintf("datatransfer: %s from datanode %s (pipeline index %d, seqno %d): %v", what, e.Node, e.Index, e.Seqno, e.Err)
}

func (e *PipelineError) Unwrap() error { return e.Err }

// BlockWriter streams one block to a pipeline of DataNodes with
// WRITE_BLOCK (Hadoop's DataStreamer and ResponseProcessor, for one
// block): Write cuts data into packets of chunk-aligned checksummed data,
// a goroutine reads acks, Flush is hflush/hsync, Close sends the empty last
// packet and waits until every DataNode acknowledged it.
//
// After any failure every call returns the same *PipelineError, the
// connection is closed, and Unacked, AckedBytes and RecoveryRequest tell
// the caller how to go on with a new pipeline (updateBlockForPipeline, a
// new BlockWriter, updatePipeline). Write, Flush and Close must be called
// from one goroutine at a time; Abort may be called from any.
type BlockWriter struct {
	req          WriteRequest
	conn         net.Conn
	br           *bufio.Reader
	log          *zap.Logger
	ackTimeout   time.Duration
	writeTimeout time.Duration
	chunkData    int // data bytes of a full packet

	// Owned by the caller's goroutine.
	buf        []byte      // data not yet in a packet; starts at offset
	offset     int64       // block offset of buf[0]
	seqno      int64       // next seqno
	lastQueued atomic.Bool // the last packet is queued

	wmu      sync.Mutex // serialises packet writes (data and heartbeats)
	lastSend time.Time  // guarded by wmu
	sentLast bool       // the last packet went out; guarded by wmu

	mu struct {
		sync.Mutex
		unacked []OutboundPacket
		// free holds the buffers of this writer's acknowledged packets, for
		// the next ones (a 64 KiB allocation per packet otherwise).
		free    [][]byte
		acked   int64 // block offset every DataNode has acknowledged
		err     *PipelineError
		setupOK bool
		aborted bool // Abort ran: later I/O errors are its doing, not a node's
		lastAck bool // the last packet is acknowledged
	}
	progress chan struct{} // a signal after each ack or failure, capacity 1
	failed   chan struct{} // closed on the first failure
	quit     chan struct{} // closed by Close/Abort to stop the heartbeat
	failOnce sync.Once
	quitOnce sync.Once
	wg       sync.WaitGroup
}

// NewBlockWriter connects to the first DataNode of req.Pipeline, sets up
// the pipeline and resends req.Resend. A failed setup is a *PipelineError
// with Setup set and no writer; req.RetryRequest builds the next attempt.
// ctx bounds the setup only.
func NewBlockWriter(ctx context.Context, req WriteRequest) (*BlockWriter, error) {
	if len(req.Pipeline) == 0 {
		return nil, errors.New("datatransfer: empty write pipeline")
	}
	req.Checksum = orDefault(req.Checksum, DefaultChecksum())
	if err := req.Checksum.Validate(); err != nil {
		return nil, err
	}
	req.PacketSize = orDefault(req.PacketSize, DefaultWritePacketSize)
	req.MaxPacketsInFlight = orDefault(req.MaxPacketsInFlight, DefaultMaxPacketsInFlight)
	req.Timeout = orDefault(req.Timeout, DefaultSocketTimeout)
	req.HeartbeatInterval = orDefault(req.HeartbeatInterval, req.Timeout/2)
	n := time.Duration(len(req.Pipeline))
	w := &BlockWriter{
		req:          req,
		log:          orDefault(req.Logger, zap.NewNop()),
		ackTimeout:   req.Timeout + n*readTimeoutExtension,
		writeTimeout: orDefault(req.WriteTimeout, DefaultDatanodeWriteTimeout+n*readTimeoutExtension),
		offset:       req.MaxBytesRcvd,
		seqno:        req.FirstSeqno,
		progress:     make(chan struct{}, 1),
		failed:       make(chan struct{}),
		quit:         make(chan struct{}),
	}
	// Full packets hold as many whole chunks as fit next to the largest
	// header (DFSOutputStream.computePacketChunkSize).
	chunk := req.Checksum.BytesPerChecksum + req.Checksum.Size()
	w.chunkData = max(1, (req.PacketSize-MaxPacketHeaderLen)/chunk) * req.Checksum.BytesPerChecksum
	w.mu.acked = req.MinBytesRcvd

	addr := XferAddr(req.Pipeline[0])
	conn, err := dial(ctx, req.Dial, addr, req.Timeout)
	if err != nil {
		return nil, &PipelineError{Index: 0, Node: addr, Setup: true, Status: hdfspb.Status_ERROR, Seqno: -1, Err: err}
	}
	w.conn = conn
	w.br = bufio.NewReaderSize(conn, 4096)
	stop := watchContext(ctx, conn)
	err = w.setup()
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	w.mu.setupOK = true
	w.wg.Add(2)
	go w.readAcks()
	go w.heartbeat()
	w.buf = append(w.buf, req.Pending...)
	for i, p := range req.Resend {
		if queued, _ := w.queue(p); !queued {
			// The failure is recorded and the caller sees it on its next
			// call; the packets not resent stay unacked for the next try.
			w.mu.Lock()
			w.mu.unacked = append(w.mu.unacked, req.Resend[i:]...)
			w.mu.Unlock()
			break
		}
	}
	for _, p := range req.Resend {
		w.lastQueued.Store(w.lastQueued.Load() || p.Header.LastPacketInBlock)
		w.seqno = p.Header.Seqno + 1
	}
	return w, nil
}

func (w *BlockWriter) setup() error {
	q := w.req
	setupErr := func(idx int, st hdfspb.Status, err error) error {
		return &PipelineError{Index: idx, Node: XferAddr(q.Pipeline[idx]), Setup: true, Status: st, Seqno: -1, Err: err}
	}
	gs := q.NewGenerationStamp
	if gs == 0 {
		gs = q.Block.GetGenerationStamp()
	}
	stage := q.Stage
	op := &hdfspb.OpWriteBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{
			BaseHeader: &hdfspb.BaseHeaderProto{Block: q.Block, Token: q.Token},
			ClientName: proto.String(q.ClientName),
		},
		Targets:               q.Pipeline[1:],
		Stage:                 &stage,
		PipelineSize:          proto.Uint32(uint32(len(q.Pipeline))),
		MinBytesRcvd:          proto.Uint64(uint64(q.MinBytesRcvd)),
		MaxBytesRcvd:          proto.Uint64(uint64(q.MaxBytesRcvd)),
		LatestGenerationStamp: proto.Uint64(gs),
		RequestedChecksum:     q.Checksum.Proto(),
		CachingStrategy:       &hdfspb.CachingStrategyProto{},
	}
	if len(q.StorageTypes) == len(q.Pipeline) {
		op.StorageType = q.StorageTypes[0].Enum()
		op.TargetStorageTypes = q.StorageTypes[1:]
	}
	if len(q.StorageIDs) == len(q.Pipeline) {
		op.StorageId = proto.String(q.StorageIDs[0])
		op.TargetStorageIds = q.StorageIDs[1:]
	}
	_ = w.conn.SetDeadline(time.Now().Add(w.ackTimeout))
	if err := WriteOp(w.conn, OpWriteBlock, op); err != nil {
		return setupErr(0, hdfspb.Status_ERROR, err)
	}
	resp, err := ReadResponse(w.br)
	if err != nil {
		return setupErr(0, hdfspb.Status_ERROR, err)
	}
	if err := ResponseError(OpWriteBlock, resp); err != nil {
		// firstBadLink names the downstream node that could not be reached;
		// without it the first node is at fault (DataStreamer).
		idx := 0
		if bad := resp.GetFirstBadLink(); bad != "" {
			for i, dn := range q.Pipeline {
				if XferAddr(dn) == bad {
					idx = i
					break
				}
			}
		}
		return setupErr(idx, resp.GetStatus(), fmt.Errorf("%w, block %s, pipeline %s", err, BlockName(q.Block), PipelineString(q.Pipeline)))
	}
	w.log.Debug("pipeline set up", zap.String("block", BlockName(q.Block)), zap.Stringer("stage", stage), zap.String("pipeline", PipelineString(q.Pipeline)))
	return nil
}

// PipelineString names a pipeline in messages: "[ip:port, ip:port, ...]"
// (Hadoop's Arrays.asList of the nodes' transfer addresses).
func PipelineString(p []*hdfspb.DatanodeInfoProto) string {
	s := make([]string, len(p))
	for i, dn := range p {
		s[i] = XferAddr(dn)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// fail records the first failure, closes the connection and wakes waiters.
func (w *BlockWriter) fail(idx int, st hdfspb.Status, seqno int64, err error) {
	w.mu.Lock()
	if w.mu.err == nil && !w.mu.aborted {
		w.mu.err = &PipelineError{Index: idx, Node: XferAddr(w.req.Pipeline[idx]), Status: st, Seqno: seqno, Err: err}
		w.log.Debug("pipeline failed", zap.Error(w.mu.err))
	}
	w.mu.Unlock()
	w.failOnce.Do(func() {
		close(w.failed)
		w.conn.Close()
	})
}

// Err is the *PipelineError that stopped the writer, ErrAborted once
// Abort or Close released it without a failure, or nil.
func (w *BlockWriter) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.err != nil {
		return w.mu.err
	}
	if w.mu.aborted {
		return ErrAborted
	}
	return nil
}

// queue waits for room among the unacked packets, records p and sends it.
// queued says whether p was recorded: once it is, p is the writer's to
// resend (Unacked) even when sending failed.
func (w *BlockWriter) queue(p OutboundPacket) (queued bool, err error) {
	for {
		w.mu.Lock()
		if w.mu.err != nil {
			err := w.mu.err
			w.mu.Unlock()
			return false, err
		}
		if len(w.mu.unacked) < w.req.MaxPacketsInFlight {
			// Recorded before it is sent: its ack may come at once.
			w.mu.unacked = append(w.mu.unacked, p)
			w.mu.Unlock()
			break
		}
		w.mu.Unlock()
		if err := w.wait(); err != nil {
			return false, err
		}
	}
	if err := w.send(p.Header, p.Checksums, p.Data); err != nil {
		w.fail(0, hdfspb.Status_ERROR, p.Header.Seqno, err)
		return true, w.Err()
	}
	return true, nil
}

func (w *BlockWriter) send(h PacketHeader, sums, data []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(w.writeTimeout))
	w.lastSend = time.Now()
	w.sentLast = w.sentLast || h.LastPacketInBlock
	return WritePacket(w.conn, h, sums, data)
}

// nextPacketLen is how much data the next packet carries when full: up to
// the next chunk boundary when the block offset is inside a chunk (append,
// after hflush), so that later packets are chunk-aligned again.
func (w *BlockWriter) nextPacketLen() int {
	bpc := int64(w.req.Checksum.BytesPerChecksum)
	if r := w.offset % bpc; r != 0 {
		return int(bpc - r)
	}
	return w.chunkData
}

// sendPacket queues a packet carrying a copy of data at the current
// offset. queued says whether the packet was recorded (then it is the
// writer's to resend, and the offset and seqno moved past it).
func (w *BlockWriter) sendPacket(data []byte, sync bool) (queued bool, err error) {
	n := len(data)
	sl := w.req.Checksum.SumsLen(n)
	own := w.packetBuf(sl + n) // sums and data in one buffer
	copy(own[sl:], data)
	p := OutboundPacket{
		Header:    PacketHeader{OffsetInBlock: w.offset, Seqno: w.seqno, DataLen: int32(n), SyncBlock: sync},
		Checksums: w.req.Checksum.Compute(own[:0:sl], own[sl:]),
		Data:      own[sl:],
		owner:     w,
		buf:       own,
	}
	queued, err = w.queue(p)
	if queued {
		w.offset += int64(n)
		w.seqno++
	}
	return queued, err
}

// packetBuf returns a buffer of n bytes: a recycled one when an acked
// packet left one big enough.
func (w *BlockWriter) packetBuf(n int) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if k := len(w.mu.free); k > 0 && cap(w.mu.free[k-1]) >= n {
		b := w.mu.free[k-1][:n]
		w.mu.free = w.mu.free[:k-1]
		return b
	}
	return make([]byte, n)
}

// flushBuf packetizes everything buffered.
func (w *BlockWriter) flushBuf(sync bool) error {
	queued, err := w.sendPacket(w.buf, sync)
	if queued {
		w.buf = w.buf[:0]
	}
	return err
}

// Write sends every full packet of p and buffers the rest. It returns how
// many bytes of p the writer took: after a failure those are either in an
// unacked packet or in the buffer, and RecoveryRequest hands both on.
// Once the pipeline failed it returns 0 and the *PipelineError.
func (w *BlockWriter) Write(p []byte) (int, error) {
	if err := w.Err(); err != nil {
		return 0, err
	}
	if w.lastQueued.Load() {
		return 0, errors.New("datatransfer: write after Close")
	}
	took := 0
	for len(p) > 0 {
		n := w.nextPacketLen()
		if len(w.buf) == 0 && len(p) >= n {
			// A whole packet straight from p, without buffering it.
			queued, err := w.sendPacket(p[:n], false)
			if queued {
				took += n
				p = p[n:]
			}
			if err != nil {
				return took, err
			}
			continue
		}
		k := min(n-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		took += k
		p = p[k:]
		if len(w.buf) == n {
			if err := w.flushBuf(false); err != nil {
				return took, err
			}
		}
	}
	return took, nil
}

// Flush sends the buffered data (hflush) and waits until every DataNode
// acknowledged everything sent so far. With sync set the last packet asks
// the DataNodes to fsync (hsync), and an empty packet carries the request
// when nothing is buffered, as Hadoop does.
func (w *BlockWriter) Flush(sync bool) error {
	if err := w.Err(); err != nil {
		return err
	}
	if len(w.buf) > 0 || sync {
		if err := w.flushBuf(sync); err != nil {
			return err
		}
	}
	return w.waitAcked(w.seqno - 1)
}

// waitAcked waits until the packet seqno and all before it are acked.
func (w *BlockWriter) waitAcked(seqno int64) error {
	for {
		w.mu.Lock()
		err := w.mu.err
		done := len(w.mu.unacked) == 0 || w.mu.unacked[0].Header.Seqno > seqno
		w.mu.Unlock()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := w.wait(); err != nil {
			return err
		}
	}
}

// ErrAborted is what a BlockWriter's calls return after Abort.
var ErrAborted = errors.New("datatransfer: block writer aborted")

// wait blocks until an ack or a failure. After a failure it returns the
// *PipelineError, or ErrAborted when Abort stopped the writer.
func (w *BlockWriter) wait() error {
	select {
	case <-w.progress:
		return nil
	case <-w.failed:
		return w.Err()
	}
}

// Close sends what is buffered, waits for its acks, sends the empty last
// packet and waits until every DataNode acknowledged it: then the block is
// complete on the pipeline and the caller may call complete or addBlock.
// On failure it returns the *PipelineError (use RecoveryRequest), and the
// connection is closed either way.
func (w *BlockWriter) Close() error {
	err := w.closeBlock()
	w.Abort()
	return err
}

func (w *BlockWriter) closeBlock() error {
	if err := w.Err(); err != nil {
		return err
	}
	if !w.lastQueued.Load() {
		if len(w.buf) > 0 {
			if err := w.flushBuf(false); err != nil {
				return err
			}
		}
		// Hadoop waits for every data packet's ack before the last packet.
		if err := w.waitAcked(w.seqno - 1); err != nil {
			return err
		}
		last := OutboundPacket{Header: PacketHeader{OffsetInBlock: w.offset, Seqno: w.seqno, LastPacketInBlock: true}}
		queued, err := w.queue(last)
		if queued {
			w.lastQueued.Store(true)
			w.seqno++
		}
		if err != nil {
			return err
		}
	}
	if err := w.waitAcked(w.seqno - 1); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.mu.lastAck {
		return errors.New("datatransfer: the last packet was never acknowledged")
	}
	return nil
}

// Abort closes the connection and stops the goroutines without finishing
// the block. It is safe to call more than once and from any goroutine.
func (w *BlockWriter) Abort() {
	w.mu.Lock()
	w.mu.aborted = true
	w.mu.Unlock()
	w.quitOnce.Do(func() { close(w.quit) })
	w.failOnce.Do(func() {
		close(w.failed)
		w.conn.Close()
	})
	w.wg.Wait()
}

// readAcks is the ResponseProcessor: it matches acks to unacked packets in
// order until the last packet is acked or the pipeline fails.
func (w *BlockWriter) readAcks() {
	defer w.wg.Done()
	for {
		_ = w.conn.SetReadDeadline(time.Now().Add(w.ackTimeout))
		ack, err := ReadAck(w.br)
		if err != nil {
			w.fail(0, hdfspb.Status_ERROR, -1, fmt.Errorf("reading pipeline ack: %w", err))
			return
		}
		if st, ok := ack.OOB(); ok {
			// A DataNode is restarting (OOB_RESTART); Hadoop waits for it,
			// hdfsha treats it as that node failing.
			idx := 0
			for i := range ack.Replies {
				if ack.Status(i) == st {
					idx = i
					break
				}
			}
			w.fail(min(idx, len(w.req.Pipeline)-1), st, ack.Seqno, fmt.Errorf("out-of-band %s", st))
			return
		}
		if i := ack.FirstFailed(); i >= 0 {
			st := ack.Status(i)
			w.fail(min(i, len(w.req.Pipeline)-1), st, ack.Seqno, fmt.Errorf("bad response %s for block %s", st, BlockName(w.req.Block)))
			return
		}
		if ack.Seqno == HeartbeatSeqno {
			continue
		}
		w.mu.Lock()
		if len(w.mu.unacked) == 0 || w.mu.unacked[0].Header.Seqno != ack.Seqno {
			want := int64(-1)
			if len(w.mu.unacked) > 0 {
				want = w.mu.unacked[0].Header.Seqno
			}
			w.mu.Unlock()
			w.fail(0, hdfspb.Status_ERROR, ack.Seqno, fmt.Errorf("expecting seqno %d for block %s but received %d", want, BlockName(w.req.Block), ack.Seqno))
			return
		}
		p := w.mu.unacked[0]
		w.mu.unacked[0] = OutboundPacket{}
		w.mu.unacked = w.mu.unacked[1:]
		w.mu.acked = max(w.mu.acked, p.end())
		if p.owner == w && p.buf != nil && len(w.mu.free) < w.req.MaxPacketsInFlight {
			w.mu.free = append(w.mu.free, p.buf)
		}
		last := p.Header.LastPacketInBlock
		w.mu.lastAck = last
		w.mu.Unlock()
		select {
		case w.progress <- struct{}{}:
		default:
		}
		if last {
			return
		}
	}
}

// heartbeat sends a heartbeat packet whenever nothing was sent for
// HeartbeatInterval, so DataNodes and the ack reader do not time out while
// the writer is idle.
func (w *BlockWriter) heartbeat() {
	defer w.wg.Done()
	t := time.NewTicker(w.req.HeartbeatInterval / 2)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-w.failed:
			return
		case <-t.C:
		}
		w.mu.Lock()
		done := w.mu.lastAck
		w.mu.Unlock()
		if done {
			return
		}
		w.wmu.Lock()
		idle := time.Since(w.lastSend) >= w.req.HeartbeatInterval
		var err error
		if idle && !w.sentLast {
			_ = w.conn.SetWriteDeadline(time.Now().Add(w.writeTimeout))
			w.lastSend = time.Now()
			err = WritePacket(w.conn, PacketHeader{Seqno: HeartbeatSeqno}, nil, nil)
		}
		w.wmu.Unlock()
		if err != nil {
			w.fail(0, hdfspb.Status_ERROR, HeartbeatSeqno, err)
			return
		}
	}
}

// AckedBytes is the block offset up to which every DataNode of the
// pipeline acknowledged the data (Hadoop's bytesAcked).
func (w *BlockWriter) AckedBytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.acked
}

// SentBytes is the block offset after the last byte put in a packet
// (Hadoop's bytesSent); buffered data is not counted.
func (w *BlockWriter) SentBytes() int64 { return w.offset }

// Unacked is a copy of the packets sent and not acknowledged, in order.
func (w *BlockWriter) Unacked() []OutboundPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]OutboundPacket(nil), w.mu.unacked...)
}

// RecoveryRequest is the request that resumes this block on a new
// pipeline after a failure. It names the block by the genstamp the
// DataNodes took when this pipeline was set up and asks for newGS (from
// updateBlockForPipeline). It sets up pipeline, which leaves out the
// failed node (the caller may add a replacement), with the recovery stage
// Hadoop uses for where the failure happened. It carries the acked and
// sent lengths, the unacked packets to resend and the data still
// buffered; connection settings are kept. A failed PIPELINE_SETUP_CREATE
// has no recovery in Hadoop: the client abandons the block and asks for
// another.
func (w *BlockWriter) RecoveryRequest(newGS uint64, pipeline []*hdfspb.DatanodeInfoProto) WriteRequest {
	q := w.req
	w.mu.Lock()
	setupOK := w.mu.setupOK
	acked := w.mu.acked
	unacked := append([]OutboundPacket(nil), w.mu.unacked...)
	w.mu.Unlock()
	q.Block = proto.Clone(w.req.Block).(*hdfspb.ExtendedBlockProto)
	if setupOK && w.req.NewGenerationStamp != 0 {
		// The DataNodes took the genstamp this pipeline was set up with.
		q.Block.GenerationStamp = proto.Uint64(w.req.NewGenerationStamp)
	}
	q.NewGenerationStamp = newGS
	q.Pipeline = pipeline
	q.StorageTypes, q.StorageIDs = nil, nil
	q.Stage = recoveryStage(q.Stage, setupOK, w.lastQueued.Load())
	q.MinBytesRcvd = acked
	q.MaxBytesRcvd = w.offset
	q.Resend = unacked
	q.Pending = append([]byte(nil), w.buf...)
	q.FirstSeqno = w.seqno
	return q
}

// RetryRequest is the request for another attempt after q's setup failed
// with a *PipelineError: newGS from updateBlockForPipeline, the pipeline
// without the failed node, and the recovery stage for q's stage (an append
// becomes PIPELINE_SETUP_APPEND_RECOVERY; a recovery stays what it was).
func (q WriteRequest) RetryRequest(newGS uint64, pipeline []*hdfspb.DatanodeInfoProto) WriteRequest {
	last := false
	for _, p := range q.Resend {
		last = last || p.Header.LastPacketInBlock
	}
	q.NewGenerationStamp = newGS
	q.Pipeline = pipeline
	q.StorageTypes, q.StorageIDs = nil, nil
	q.Stage = recoveryStage(q.Stage, false, last)
	return q
}

func recoveryStage(s Stage, setupOK, lastQueued bool) Stage {
	switch {
	case lastQueued:
		return StageCloseRecovery
	case !setupOK && (s == StageSetupAppend || s == StageSetupAppendRecovery):
		return StageSetupAppendRecovery
	case !setupOK && s == StageSetupCreate:
		return StageSetupCreate
	}
	return StageSetupStreamingRecovery
}
