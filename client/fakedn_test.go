package client

import (
	"bufio"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeDN is a DataNode stand-in built on internal/datatransfer: replicas in memory,
// READ_BLOCK, WRITE_BLOCK pipelines (forwarding to the next target and acking
// packet by packet), BLOCK_CHECKSUM, and getReplicaVisibleLength on an IPC port. Tests
// kill it (Kill) or corrupt a replica (Corrupt).
type fakeDN struct {
	t    *testing.T
	name string
	info *hdfspb.DatanodeInfoProto
	ln   net.Listener
	ipc  *rpc.Server
	cs   datatransfer.Checksum
	wg   sync.WaitGroup

	mu struct {
		sync.Mutex
		replicas map[uint64]*fakeReplica
		conns    map[net.Conn]struct{}
		dead     bool
		// dieAfter kills the DataNode once it has received this many bytes of
		// packet data in writes (0 = never).
		dieAfter int64
		received int64
		reads    int // READ_BLOCK ops served
		// dropReads makes the next READ_BLOCKs end the connection after
		// dropAfter packets, as a DataNode closing an idle stream would.
		dropReads, dropAfter int
	}
}

type fakeReplica struct {
	gs        uint64
	data      []byte
	sums      []byte // stored checksums, set when finalized; nil = compute from data
	finalized bool
}

func startFakeDN(t *testing.T, name string) *fakeDN {
	t.Helper()
	d := &fakeDN{t: t, name: name, cs: datatransfer.DefaultChecksum()}
	d.mu.replicas = make(map[uint64]*fakeReplica)
	d.mu.conns = make(map[net.Conn]struct{})
	d.ln = testcluster.Listen(t, "127.0.0.1")
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.ipc = srv
	srv.Register(ClientDatanodeProtocol, rpc.Unary("getReplicaVisibleLength",
		func(ctx context.Context, req *hdfspb.GetReplicaVisibleLengthRequestProto) (*hdfspb.GetReplicaVisibleLengthResponseProto, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			r := d.mu.replicas[req.GetBlock().GetBlockId()]
			if r == nil {
				return nil, &rpc.RemoteError{Class: "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException", Message: "Replica not found for " + datatransfer.BlockName(req.GetBlock())}
			}
			return &hdfspb.GetReplicaVisibleLengthResponseProto{Length: proto.Uint64(uint64(len(r.data)))}, nil
		}))
	d.wg.Add(2)
	go func() { defer d.wg.Done(); srv.Serve() }()
	go func() { defer d.wg.Done(); d.serve() }()
	xfer := d.ln.Addr().(*net.TCPAddr).Port
	ipc := srv.Addr().(*net.TCPAddr).Port
	d.info = &hdfspb.DatanodeInfoProto{Id: &hdfspb.DatanodeIDProto{
		IpAddr: proto.String("127.0.0.1"), HostName: proto.String("localhost"), DatanodeUuid: proto.String("uuid-" + name),
		XferPort: proto.Uint32(uint32(xfer)), InfoPort: proto.Uint32(0), IpcPort: proto.Uint32(uint32(ipc)),
	}, Location: proto.String("/default-rack")}
	t.Cleanup(d.Kill)
	return d
}

func (d *fakeDN) addr() string { return d.ln.Addr().String() }

// Kill stops the DataNode at once, as kill -9 would: the listener and every open
// connection close.
func (d *fakeDN) Kill() {
	d.mu.Lock()
	if d.mu.dead {
		d.mu.Unlock()
		d.wg.Wait()
		return
	}
	d.mu.dead = true
	for c := range d.mu.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.ln.Close()
	d.ipc.Close()
	d.wg.Wait()
}

// DieAfter makes the DataNode die once it has received n more bytes of written data.
func (d *fakeDN) DieAfter(n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.dieAfter = d.mu.received + n
}

// Corrupt flips a byte of the stored replica of block id at offset off.
func (d *fakeDN) Corrupt(id uint64, off int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.mu.replicas[id]
	if r.sums == nil {
		r.sums = d.cs.Compute(nil, r.data)
	}
	r.data[off] ^= 0xff
}

func (d *fakeDN) replica(id uint64) ([]byte, uint64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.mu.replicas[id]
	if r == nil {
		return nil, 0, false
	}
	return append([]byte(nil), r.data...), r.gs, r.finalized
}

func (d *fakeDN) reads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.reads
}

func (d *fakeDN) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.mu.dead {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.mu.conns[c] = struct{}{}
		d.wg.Add(1)
		d.mu.Unlock()
		go func() {
			defer d.wg.Done()
			defer func() {
				c.Close()
				d.mu.Lock()
				delete(d.mu.conns, c)
				d.mu.Unlock()
			}()
			if err := d.handle(c); err != nil && !errors.Is(err, io.EOF) {
				d.t.Logf("fake DataNode %s: %v", d.name, err)
			}
		}()
	}
}

func (d *fakeDN) handle(c net.Conn) error {
	br := bufio.NewReader(c)
	op, msg, err := datatransfer.ReadOp(br)
	if err != nil {
		return err
	}
	switch op {
	case datatransfer.OpReadBlock:
		return d.readBlock(c, br, msg.(*hdfspb.OpReadBlockProto))
	case datatransfer.OpWriteBlock:
		return d.writeBlock(c, br, msg.(*hdfspb.OpWriteBlockProto))
	case datatransfer.OpBlockChecksum:
		return d.blockChecksum(c, msg.(*hdfspb.OpBlockChecksumProto))
	}
	return datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR_UNSUPPORTED.Enum()})
}

func errorResponse(w io.Writer, msg string) error {
	datatransfer.WriteResponse(w, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), Message: proto.String(msg)})
	return errors.New(msg)
}

func (d *fakeDN) readBlock(c net.Conn, br *bufio.Reader, req *hdfspb.OpReadBlockProto) error {
	b := req.GetHeader().GetBaseHeader().GetBlock()
	d.mu.Lock()
	d.mu.reads++
	drop, dropAfter := d.mu.dropReads > 0, int64(d.mu.dropAfter)
	if drop {
		d.mu.dropReads--
	}
	r := d.mu.replicas[b.GetBlockId()]
	var data, sums []byte
	if r != nil && r.gs >= b.GetGenerationStamp() {
		data = append([]byte(nil), r.data...)
		sums = append([]byte(nil), r.sums...)
		if r.sums == nil {
			sums = d.cs.Compute(nil, data)
		}
	}
	d.mu.Unlock()
	if r == nil {
		return errorResponse(c, "Replica not found for "+datatransfer.BlockName(b))
	}
	off, n := int64(req.GetOffset()), int64(req.GetLen())
	if off+n > int64(len(data)) {
		return errorResponse(c, fmt.Sprintf("Offset %d and length %d don't match block %s ( blockLen %d )", off, n, datatransfer.BlockName(b), len(data)))
	}
	bpc := int64(d.cs.BytesPerChecksum)
	start := off - off%bpc
	end := min(int64(len(data)), (off+n+bpc-1)/bpc*bpc)
	if err := datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(),
		ReadOpChecksumInfo: &hdfspb.ReadOpChecksumInfoProto{Checksum: d.cs.Proto(), ChunkOffset: proto.Uint64(uint64(start))}}); err != nil {
		return err
	}
	bw := bufio.NewWriter(c)
	seq := int64(0)
	for pos := start; pos < end; seq++ {
		if drop && seq == dropAfter {
			bw.Flush()
			return errors.New("dropping the read")
		}
		next := min(end, pos+64*1024)
		s := sums[pos/bpc*4 : (next+bpc-1)/bpc*4]
		if err := datatransfer.WritePacket(bw, datatransfer.PacketHeader{OffsetInBlock: pos, Seqno: seq}, s, data[pos:next]); err != nil {
			return err
		}
		pos = next
	}
	if err := datatransfer.WritePacket(bw, datatransfer.PacketHeader{OffsetInBlock: end, Seqno: seq, LastPacketInBlock: true}, nil, nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := datatransfer.ReadReadStatus(br)
	return err
}

func (d *fakeDN) blockChecksum(c net.Conn, req *hdfspb.OpBlockChecksumProto) error {
	b := req.GetHeader().GetBlock()
	d.mu.Lock()
	r := d.mu.replicas[b.GetBlockId()]
	var data []byte
	if r != nil {
		data = append([]byte(nil), r.data...)
	}
	d.mu.Unlock()
	if r == nil {
		return errorResponse(c, "Replica not found for "+datatransfer.BlockName(b))
	}
	if n := b.GetNumBytes(); n < uint64(len(data)) {
		data = data[:n]
	}
	sums := d.cs.Compute(nil, data)
	sum := md5.Sum(sums)
	return datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(),
		ChecksumResponse: &hdfspb.OpBlockChecksumResponseProto{
			BytesPerCrc: proto.Uint32(uint32(d.cs.BytesPerChecksum)), CrcPerBlock: proto.Uint64(uint64(d.cs.Chunks(len(data)))),
			BlockChecksum: sum[:], CrcType: hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C.Enum(),
		}})
}

func (d *fakeDN) writeBlock(c net.Conn, br *bufio.Reader, req *hdfspb.OpWriteBlockProto) error {
	b := req.GetHeader().GetBaseHeader().GetBlock()
	id := b.GetBlockId()
	stage := req.GetStage()
	d.mu.Lock()
	r := d.mu.replicas[id]
	switch stage {
	case hdfspb.OpWriteBlockProto_PIPELINE_SETUP_CREATE:
		if r != nil {
			d.mu.Unlock()
			return errorResponse(c, "Block "+datatransfer.BlockName(b)+" already exists")
		}
		r = &fakeReplica{gs: b.GetGenerationStamp()}
		d.mu.replicas[id] = r
	case hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND, hdfspb.OpWriteBlockProto_PIPELINE_SETUP_STREAMING_RECOVERY:
		if r == nil {
			d.mu.Unlock()
			return errorResponse(c, "Cannot recover or append a non-existent replica "+datatransfer.BlockName(b))
		}
		r.gs = req.GetLatestGenerationStamp()
		r.finalized, r.sums = false, nil
		if acked := int(req.GetMinBytesRcvd()); acked < len(r.data) && stage != hdfspb.OpWriteBlockProto_PIPELINE_SETUP_APPEND {
			r.data = r.data[:acked]
		}
	default:
		d.mu.Unlock()
		return errorResponse(c, "unsupported stage "+stage.String())
	}
	d.mu.Unlock()

	var mirror net.Conn
	var mr *bufio.Reader
	if targets := req.GetTargets(); len(targets) > 0 {
		addr := datatransfer.XferAddr(targets[0])
		var err error
		mirror, err = net.Dial("tcp", addr)
		if err == nil {
			defer mirror.Close()
			down := proto.Clone(req).(*hdfspb.OpWriteBlockProto)
			down.Targets = targets[1:]
			mr = bufio.NewReader(mirror)
			if err = datatransfer.WriteOp(mirror, datatransfer.OpWriteBlock, down); err == nil {
				var resp *hdfspb.BlockOpResponseProto
				if resp, err = datatransfer.ReadResponse(mr); err == nil && resp.GetStatus() != hdfspb.Status_SUCCESS {
					bad := resp.GetFirstBadLink()
					if bad == "" {
						bad = addr
					}
					return datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), FirstBadLink: proto.String(bad)})
				}
			}
		}
		if err != nil {
			return datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), FirstBadLink: proto.String(addr)})
		}
	}
	if err := datatransfer.WriteResponse(c, &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(), FirstBadLink: proto.String("")}); err != nil {
		return err
	}
	var buf []byte
	mirrorOK := mirror != nil
	for {
		p, err := datatransfer.ReadPacket(br, buf)
		if err != nil {
			return err
		}
		buf = p.Raw
		h := p.Header
		if h.Seqno != datatransfer.HeartbeatSeqno && len(p.Data) > 0 {
			if err := d.cs.Verify(p.Checksums, p.Data, h.OffsetInBlock); err != nil {
				return datatransfer.WriteAck(c, datatransfer.Ack{Seqno: h.Seqno, Replies: []hdfspb.Status{hdfspb.Status_ERROR_CHECKSUM}})
			}
			d.mu.Lock()
			if h.OffsetInBlock > int64(len(r.data)) {
				d.mu.Unlock()
				return fmt.Errorf("packet at %d after %d bytes", h.OffsetInBlock, len(r.data))
			}
			r.data = append(r.data[:h.OffsetInBlock], p.Data...)
			d.mu.received += int64(len(p.Data))
			die := d.mu.dieAfter > 0 && d.mu.received >= d.mu.dieAfter
			d.mu.Unlock()
			if die {
				go d.Kill()
				return errors.New("killed")
			}
		}
		if h.LastPacketInBlock {
			d.mu.Lock()
			r.finalized = true
			r.sums = d.cs.Compute(nil, r.data)
			d.mu.Unlock()
		}
		ack := datatransfer.Ack{Seqno: h.Seqno, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS}}
		if mirror != nil {
			var down datatransfer.Ack
			if mirrorOK {
				if _, err := mirror.Write(p.Raw); err != nil {
					mirrorOK = false
				} else if down, err = datatransfer.ReadAck(mr); err != nil {
					mirrorOK = false
				}
			}
			if mirrorOK {
				ack = down.Prepend(hdfspb.Status_SUCCESS)
			} else {
				ack.Replies = append(ack.Replies, hdfspb.Status_ERROR)
			}
		}
		if err := datatransfer.WriteAck(c, ack); err != nil {
			return err
		}
		if h.LastPacketInBlock {
			return nil
		}
	}
}

// located is a LocatedBlockProto for block b at offset off on nodes.
func located(b *hdfspb.ExtendedBlockProto, off int64, nodes ...*fakeDN) *hdfspb.LocatedBlockProto {
	lb := &hdfspb.LocatedBlockProto{B: b, Offset: proto.Uint64(uint64(off)), Corrupt: proto.Bool(false), BlockToken: emptyToken()}
	for i, n := range nodes {
		lb.Locs = append(lb.Locs, n.info)
		lb.StorageIDs = append(lb.StorageIDs, "DS-"+n.name+"-"+strconv.Itoa(i))
		lb.StorageTypes = append(lb.StorageTypes, hdfspb.StorageTypeProto_DISK)
	}
	return lb
}
