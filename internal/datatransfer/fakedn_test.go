package datatransfer

import (
	"bufio"
	"crypto/md5"
	"io"
	"net"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeDN is a minimal DataNode transfer server for the client-side tests:
// it serves READ_BLOCK from memory, runs a WRITE_BLOCK pipeline (mirroring
// to the next fake DataNode) and answers BLOCK_CHECKSUM. Its knobs inject
// the failures the tests need.
type fakeDN struct {
	t  testing.TB
	ln net.Listener
	cs Checksum

	mu         sync.Mutex
	blocks     map[uint64][]byte // block id -> replica bytes (finalized or being written)
	stages     []Stage
	statuses   []hdfspb.Status // read statuses received from readers
	syncs      int
	heartbeats int
	transfers  []*hdfspb.OpTransferBlockProto
	gens       map[uint64]uint64 // block id -> generation stamp of the current writer

	// Knobs, set before use.
	corruptAt   int64         // flip a bit of this block offset when serving reads (-1 none)
	readStatus  hdfspb.Status // non-SUCCESS: refuse reads with it
	eofAfter    int           // close a read after this many data packets (0 = never)
	failSeqno   int64         // answer this seqno's ack with ERROR for this node (noSeqno none)
	refuseWrite bool          // answer WRITE_BLOCK with ERROR
	dropAckAt   int64         // close the connection instead of acking this seqno (noSeqno none)
	replyFlags  bool          // send Hadoop 3 flags (true) or Hadoop 2 style acks
	stallAcks   chan struct{} // when set, acks wait until it is closed
	readChunks  int           // chunks per read packet (4: several packets per test read)
	discard     bool          // keep no written data (benchmarks)

	wg    sync.WaitGroup
	conns map[net.Conn]bool
}

// noSeqno turns the seqno knobs off (-1 is the heartbeat's seqno).
const noSeqno = -100

func newFakeDN(t testing.TB) *fakeDN {
	d := &fakeDN{t: t, ln: testcluster.Listen(t, "127.0.0.1"), cs: DefaultChecksum(), blocks: map[uint64][]byte{}, gens: map[uint64]uint64{},
		corruptAt: -1, failSeqno: noSeqno, dropAckAt: noSeqno, replyFlags: true, readChunks: 4, conns: map[net.Conn]bool{}}
	d.wg.Add(1)
	go d.accept()
	t.Cleanup(func() {
		d.ln.Close()
		d.mu.Lock()
		for c := range d.conns {
			c.Close()
		}
		d.mu.Unlock()
		d.wg.Wait()
	})
	return d
}

func (d *fakeDN) addr() string { return d.ln.Addr().String() }

func (d *fakeDN) info() *hdfspb.DatanodeInfoProto {
	host, port, _ := net.SplitHostPort(d.addr())
	var p uint32
	for _, c := range port {
		p = p*10 + uint32(c-'0')
	}
	return &hdfspb.DatanodeInfoProto{Id: &hdfspb.DatanodeIDProto{IpAddr: proto.String(host), HostName: proto.String("localhost"),
		DatanodeUuid: proto.String(d.addr()), XferPort: proto.Uint32(p), InfoPort: proto.Uint32(0), IpcPort: proto.Uint32(0)}}
}

func (d *fakeDN) block(id uint64) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.blocks[id]...)
}

func (d *fakeDN) accept() {
	defer d.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		d.conns[c] = true
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() {
				c.Close()
				d.mu.Lock()
				delete(d.conns, c)
				d.mu.Unlock()
			}()
			d.serve(c)
		}()
	}
}

func (d *fakeDN) serve(c net.Conn) {
	br := bufio.NewReader(c)
	op, msg, err := ReadOp(br)
	if err != nil {
		return
	}
	switch op {
	case OpReadBlock:
		d.serveRead(c, br, msg.(*hdfspb.OpReadBlockProto))
	case OpWriteBlock:
		d.serveWrite(c, br, msg.(*hdfspb.OpWriteBlockProto))
	case OpBlockChecksum:
		d.serveChecksum(c, msg.(*hdfspb.OpBlockChecksumProto))
	case OpTransferBlock:
		d.mu.Lock()
		d.transfers = append(d.transfers, msg.(*hdfspb.OpTransferBlockProto))
		d.mu.Unlock()
		_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum()})
	}
}

func (d *fakeDN) serveRead(c net.Conn, br *bufio.Reader, op *hdfspb.OpReadBlockProto) {
	if d.readStatus != hdfspb.Status_SUCCESS {
		_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: d.readStatus.Enum(), Message: proto.String("replica not found")})
		return
	}
	good := d.block(op.GetHeader().GetBaseHeader().GetBlock().GetBlockId())
	data := good
	if d.corruptAt >= 0 {
		// Sums are of the good data; the corruption is "on the wire".
		data = append([]byte(nil), good...)
		data[d.corruptAt] ^= 0x10
	}
	bpc := int64(d.cs.BytesPerChecksum)
	off, n := int64(op.GetOffset()), int64(op.GetLen())
	start := off / bpc * bpc
	end := min((off+n+bpc-1)/bpc*bpc, int64(len(data)))
	cs := d.cs
	if !op.GetSendChecksums() {
		cs = Checksum{Type: ChecksumNull, BytesPerChecksum: d.cs.BytesPerChecksum}
	}
	_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(),
		ReadOpChecksumInfo: &hdfspb.ReadOpChecksumInfoProto{Checksum: cs.Proto(), ChunkOffset: proto.Uint64(uint64(start))}})
	seq := int64(0)
	for pos := start; pos < end; seq++ {
		if d.eofAfter > 0 && seq == int64(d.eofAfter) {
			return
		}
		next := min(pos+int64(d.readChunks)*bpc, end)
		if err := WritePacket(c, PacketHeader{OffsetInBlock: pos, Seqno: seq}, cs.Compute(nil, good[pos:next]), data[pos:next]); err != nil {
			return
		}
		pos = next
	}
	if err := WritePacket(c, PacketHeader{OffsetInBlock: end, Seqno: seq, LastPacketInBlock: true}, nil, nil); err != nil {
		return
	}
	st, err := ReadReadStatus(br)
	if err == nil {
		d.mu.Lock()
		d.statuses = append(d.statuses, st)
		d.mu.Unlock()
	}
}

func (d *fakeDN) serveChecksum(c net.Conn, op *hdfspb.OpBlockChecksumProto) {
	d.mu.Lock()
	data, ok := d.blocks[op.GetHeader().GetBlock().GetBlockId()]
	d.mu.Unlock()
	if !ok {
		_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), Message: proto.String("replica not found")})
		return
	}
	sums := d.cs.Compute(nil, data)
	sum := md5.Sum(sums)
	_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(), ChecksumResponse: &hdfspb.OpBlockChecksumResponseProto{
		BytesPerCrc: proto.Uint32(uint32(d.cs.BytesPerChecksum)), CrcPerBlock: proto.Uint64(uint64(len(sums) / 4)),
		BlockChecksum: sum[:], CrcType: d.cs.Type.Enum()}})
}

func (d *fakeDN) serveWrite(c net.Conn, br *bufio.Reader, op *hdfspb.OpWriteBlockProto) {
	id := op.GetHeader().GetBaseHeader().GetBlock().GetBlockId()
	gen := op.GetLatestGenerationStamp()
	d.mu.Lock()
	// Like a real DataNode, a new generation stamp cuts off the writers of
	// older ones (still draining their connections).
	d.gens[id] = gen
	d.stages = append(d.stages, op.GetStage())
	if op.GetStage() == StageSetupCreate {
		d.blocks[id] = nil
	} else {
		// Recovery and append keep what every node acknowledged.
		d.blocks[id] = d.blocks[id][:min(int64(len(d.blocks[id])), int64(op.GetMinBytesRcvd()))]
	}
	d.mu.Unlock()
	if d.refuseWrite {
		_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), FirstBadLink: proto.String(""), Message: proto.String("refused")})
		return
	}
	var mirror net.Conn
	var mr *bufio.Reader
	if targets := op.GetTargets(); len(targets) > 0 {
		var err error
		mirror, err = net.Dial("tcp", XferAddr(targets[0]))
		bad := func() {
			_ = WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), FirstBadLink: proto.String(XferAddr(targets[0]))})
		}
		if err != nil {
			bad()
			return
		}
		defer mirror.Close()
		mr = bufio.NewReader(mirror)
		down := proto.Clone(op).(*hdfspb.OpWriteBlockProto)
		down.Targets = targets[1:]
		if err := WriteOp(mirror, OpWriteBlock, down); err != nil {
			bad()
			return
		}
		resp, err := ReadResponse(mr)
		if err != nil {
			bad()
			return
		}
		if resp.GetStatus() != hdfspb.Status_SUCCESS {
			if resp.GetFirstBadLink() == "" {
				resp.FirstBadLink = proto.String(XferAddr(targets[0]))
			}
			_ = WriteResponse(c, resp)
			return
		}
	}
	if err := WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(), FirstBadLink: proto.String("")}); err != nil {
		return
	}
	var buf []byte
	for {
		p, err := ReadPacket(br, buf)
		if err != nil {
			return
		}
		buf = p.Raw
		h := p.Header
		if mirror != nil {
			if _, err := mirror.Write(p.Raw); err != nil {
				return
			}
		}
		st := hdfspb.Status_SUCCESS
		if h.Seqno == HeartbeatSeqno {
			d.mu.Lock()
			d.heartbeats++
			d.mu.Unlock()
		} else {
			// A packet resuming a partial chunk carries the sums of its own
			// bytes, so verification starts at its first byte.
			if err := d.cs.Verify(p.Checksums, p.Data, h.OffsetInBlock); err != nil {
				st = hdfspb.Status_ERROR_CHECKSUM
			}
			d.mu.Lock()
			cur := d.blocks[id]
			if d.discard || d.gens[id] != gen {
				// Keep nothing.
			} else if int64(len(cur)) >= h.OffsetInBlock {
				d.blocks[id] = append(cur[:h.OffsetInBlock], p.Data...)
			}
			if h.SyncBlock {
				d.syncs++
			}
			d.mu.Unlock()
		}
		if h.Seqno == d.failSeqno {
			st = hdfspb.Status_ERROR
		}
		if h.Seqno == d.dropAckAt {
			return
		}
		if d.stallAcks != nil {
			<-d.stallAcks
		}
		ack := Ack{Seqno: h.Seqno, Replies: []hdfspb.Status{st}}
		if mirror != nil {
			down, err := ReadAck(mr)
			if err != nil {
				down = Ack{Seqno: h.Seqno, Replies: []hdfspb.Status{hdfspb.Status_ERROR}}
			}
			ack = down.Prepend(st)
		}
		if !d.replyFlags {
			ack.Flags = []uint32{}
		}
		if err := writeAckMaybeFlagless(c, ack); err != nil {
			return
		}
		if h.LastPacketInBlock {
			return
		}
	}
}

// writeAckMaybeFlagless sends acks without flags (Hadoop 2) when Flags is
// an empty non-nil slice.
func writeAckMaybeFlagless(w io.Writer, a Ack) error {
	if a.Flags != nil && len(a.Flags) == 0 {
		return WriteDelimited(w, &hdfspb.PipelineAckProto{Seqno: proto.Int64(a.Seqno), Reply: a.Replies, DownstreamAckTimeNanos: proto.Uint64(0)})
	}
	return WriteAck(w, a)
}

func testBlock(id uint64) *hdfspb.ExtendedBlockProto {
	return &hdfspb.ExtendedBlockProto{PoolId: proto.String("BP-1-127.0.0.1-1"), BlockId: proto.Uint64(id), GenerationStamp: proto.Uint64(1001)}
}

func testData(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
