package datanode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const (
	testBPID      = "BP-1234-127.0.0.1-1700000000000"
	testClusterID = "CID-test"
	testNSID      = 4242
)

// fakeNN is a NameNode serving DatanodeProtocol over real RPC, recording
// what DataNodes send and handing out commands through heartbeats.
type fakeNN struct {
	t    testing.TB
	srv  *rpc.Server
	addr string

	mu         sync.Mutex
	state      hdfspb.NNHAStatusHeartbeatProto_State
	txid       uint64
	cmds       map[string][]*hdfspb.DatanodeCommandProto // by datanode uuid
	regs       map[string]*hdfspb.DatanodeRegistrationProto
	heartbeats map[string]int
	lastHB     map[string]*hdfspb.HeartbeatRequestProto
	reports    map[string][]*hdfspb.BlockReportRequestProto
	ibrs       []ibrSeen
	bad        []*hdfspb.LocatedBlockProto
	commits    []*hdfspb.CommitBlockSynchronizationRequestProto
	forget     map[string]bool // answer the next heartbeat with UnregisteredNodeException
}

type ibrSeen struct {
	uuid, storage string
	block         uint64
	gs, numBytes  uint64
	status        hdfspb.ReceivedDeletedBlockInfoProto_BlockStatus
}

func newFakeNN(t testing.TB, state hdfspb.NNHAStatusHeartbeatProto_State, txid uint64) *fakeNN {
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNN{t: t, srv: srv, addr: srv.Addr().String(), state: state, txid: txid,
		cmds: map[string][]*hdfspb.DatanodeCommandProto{}, regs: map[string]*hdfspb.DatanodeRegistrationProto{},
		heartbeats: map[string]int{}, lastHB: map[string]*hdfspb.HeartbeatRequestProto{},
		reports: map[string][]*hdfspb.BlockReportRequestProto{}, forget: map[string]bool{}}
	uuid := func(r *hdfspb.DatanodeRegistrationProto) string { return r.GetDatanodeID().GetDatanodeUuid() }
	srv.Register(DatanodeProtocol,
		rpc.Unary("versionRequest", func(ctx context.Context, _ *hdfspb.VersionRequestProto) (*hdfspb.VersionResponseProto, error) {
			return &hdfspb.VersionResponseProto{Info: &hdfspb.NamespaceInfoProto{
				BuildVersion: proto.String("test"), Unused: proto.Uint32(0), BlockPoolID: proto.String(testBPID),
				SoftwareVersion: proto.String("3.3.6"),
				StorageInfo: &hdfspb.StorageInfoProto{LayoutVersion: proto.Uint32(uint32(0xffffffc0)), NamespceID: proto.Uint32(testNSID),
					ClusterID: proto.String(testClusterID), CTime: proto.Uint64(0)},
			}}, nil
		}),
		rpc.Unary("registerDatanode", func(ctx context.Context, req *hdfspb.RegisterDatanodeRequestProto) (*hdfspb.RegisterDatanodeResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.regs[uuid(req.GetRegistration())] = req.GetRegistration()
			return &hdfspb.RegisterDatanodeResponseProto{Registration: req.GetRegistration()}, nil
		}),
		rpc.Unary("sendHeartbeat", func(ctx context.Context, req *hdfspb.HeartbeatRequestProto) (*hdfspb.HeartbeatResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := uuid(req.GetRegistration())
			if f.forget[id] {
				delete(f.forget, id)
				delete(f.regs, id)
				return nil, &rpc.RemoteError{Class: "org.apache.hadoop.hdfs.protocol.UnregisteredNodeException", Message: "Unregistered server: " + id}
			}
			f.heartbeats[id]++
			f.lastHB[id] = req
			cmds := f.cmds[id]
			delete(f.cmds, id)
			return &hdfspb.HeartbeatResponseProto{Cmds: cmds,
				HaStatus: &hdfspb.NNHAStatusHeartbeatProto{State: f.state.Enum(), Txid: proto.Uint64(f.txid)}}, nil
		}),
		rpc.Unary("blockReport", func(ctx context.Context, req *hdfspb.BlockReportRequestProto) (*hdfspb.BlockReportResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := uuid(req.GetRegistration())
			f.reports[id] = append(f.reports[id], req)
			return &hdfspb.BlockReportResponseProto{}, nil
		}),
		rpc.Unary("blockReceivedAndDeleted", func(ctx context.Context, req *hdfspb.BlockReceivedAndDeletedRequestProto) (*hdfspb.BlockReceivedAndDeletedResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := uuid(req.GetRegistration())
			for _, s := range req.GetBlocks() {
				for _, b := range s.GetBlocks() {
					f.ibrs = append(f.ibrs, ibrSeen{uuid: id, storage: s.GetStorageUuid(), block: b.GetBlock().GetBlockId(),
						gs: b.GetBlock().GetGenStamp(), numBytes: b.GetBlock().GetNumBytes(), status: b.GetStatus()})
				}
			}
			return &hdfspb.BlockReceivedAndDeletedResponseProto{}, nil
		}),
		rpc.Unary("reportBadBlocks", func(ctx context.Context, req *hdfspb.ReportBadBlocksRequestProto) (*hdfspb.ReportBadBlocksResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.bad = append(f.bad, req.GetBlocks()...)
			return &hdfspb.ReportBadBlocksResponseProto{}, nil
		}),
		rpc.Unary("commitBlockSynchronization", func(ctx context.Context, req *hdfspb.CommitBlockSynchronizationRequestProto) (*hdfspb.CommitBlockSynchronizationResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.commits = append(f.commits, req)
			return &hdfspb.CommitBlockSynchronizationResponseProto{}, nil
		}),
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve()
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return f
}

func (f *fakeNN) setHA(state hdfspb.NNHAStatusHeartbeatProto_State, txid uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.txid = state, txid
}

func (f *fakeNN) queue(uuid string, cmd *hdfspb.DatanodeCommandProto) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds[uuid] = append(f.cmds[uuid], cmd)
}

func (f *fakeNN) heartbeatCount(uuid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.heartbeats[uuid]
}

func (f *fakeNN) ibrsOf(uuid string, status hdfspb.ReceivedDeletedBlockInfoProto_BlockStatus) []ibrSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ibrSeen
	for _, e := range f.ibrs {
		if e.uuid == uuid && e.status == status {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls cond; the bound only guards against hanging forever.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testConfig is a DataNode configuration with short intervals on loopback.
func testConfig(t testing.TB, nns ...*fakeNN) Config {
	cfg := Config{
		DataDirs:            []string{t.TempDir()},
		Address:             "127.0.0.1:0",
		IPCAddress:          "127.0.0.1:0",
		HTTPAddress:         "127.0.0.1:0",
		Hostname:            "localhost",
		HeartbeatInterval:   20 * time.Millisecond,
		BlockReportInterval: time.Hour,
		MaxTransferThreads:  16,
		HandlerCount:        4,
		BytesPerChecksum:    512,
		SocketTimeout:       10 * time.Second,
		SocketWriteTimeout:  10 * time.Second,
		RetryInterval:       10 * time.Millisecond,
		Logger:              testcluster.Logger(t),
	}
	for i, nn := range nns {
		cfg.NameNodes = append(cfg.NameNodes, NameNodeAddr{ID: fmt.Sprintf("nn%d", i+1), Addr: nn.addr})
	}
	return cfg
}

// startDN starts a DataNode and waits until every NameNode registered it.
func startDN(t testing.TB, cfg Config, nns ...*fakeNN) *DataNode {
	t.Helper()
	dn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := dn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dn.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	waitFor(t, "registration", func() bool {
		for _, nn := range nns {
			if nn.heartbeatCount(dn.DatanodeUUID()) == 0 {
				return false
			}
		}
		return true
	})
	return dn
}

func info(dn *DataNode) *hdfspb.DatanodeInfoProto {
	return &hdfspb.DatanodeInfoProto{Id: dn.DatanodeID()}
}

func extBlock(id, gs, n uint64) *hdfspb.ExtendedBlockProto {
	return &hdfspb.ExtendedBlockProto{PoolId: proto.String(testBPID), BlockId: proto.Uint64(id), GenerationStamp: proto.Uint64(gs), NumBytes: proto.Uint64(n)}
}

// clientWrite writes data as one block through the pipeline first, rest...
// with WRITE_BLOCK PIPELINE_SETUP_CREATE, as a client does, and checks
// every ack.
func clientWrite(t *testing.T, b *hdfspb.ExtendedBlockProto, data []byte, first *DataNode, rest ...*DataNode) error {
	t.Helper()
	conn, err := net.Dial("tcp", first.TransferAddress())
	if err != nil {
		return err
	}
	defer conn.Close()
	var targets []*hdfspb.DatanodeInfoProto
	for _, d := range rest {
		targets = append(targets, info(d))
	}
	cs := datatransfer.DefaultChecksum()
	op := &hdfspb.OpWriteBlockProto{
		Header:                &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: b}, ClientName: proto.String("DFSClient_test")},
		Targets:               targets,
		Stage:                 stageCreate.Enum(),
		PipelineSize:          proto.Uint32(uint32(1 + len(rest))),
		MinBytesRcvd:          proto.Uint64(0),
		MaxBytesRcvd:          proto.Uint64(0),
		LatestGenerationStamp: proto.Uint64(b.GetGenerationStamp()),
		RequestedChecksum:     cs.Proto(),
	}
	if err := datatransfer.WriteOp(conn, datatransfer.OpWriteBlock, op); err != nil {
		return err
	}
	in := bufio.NewReader(conn)
	resp, err := datatransfer.ReadResponse(in)
	if err != nil {
		return err
	}
	if err := datatransfer.ResponseError(datatransfer.OpWriteBlock, resp); err != nil {
		return err
	}
	seq := int64(0)
	for off := 0; off < len(data); off += 64 << 10 {
		end := min(off+64<<10, len(data))
		sums := cs.Compute(nil, data[off:end])
		if err := datatransfer.WritePacket(conn, datatransfer.PacketHeader{OffsetInBlock: int64(off), Seqno: seq}, sums, data[off:end]); err != nil {
			return err
		}
		seq++
	}
	if err := datatransfer.WritePacket(conn, datatransfer.PacketHeader{OffsetInBlock: int64(len(data)), Seqno: seq, LastPacketInBlock: true}, nil, nil); err != nil {
		return err
	}
	for i := int64(0); i <= seq; i++ {
		ack, err := datatransfer.ReadAck(in)
		if err != nil {
			return fmt.Errorf("ack %d: %w", i, err)
		}
		if ack.Seqno != i || len(ack.Replies) != 1+len(rest) || ack.FirstFailed() >= 0 {
			return fmt.Errorf("ack %d: %+v", i, ack)
		}
	}
	return nil
}

// clientRead reads [offset, offset+n) of a block as a client does,
// verifying every checksum.
func clientRead(dn *DataNode, b *hdfspb.ExtendedBlockProto, offset, n int64) ([]byte, error) {
	conn, err := net.Dial("tcp", dn.TransferAddress())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	op := &hdfspb.OpReadBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: b}, ClientName: proto.String("DFSClient_test")},
		Offset: proto.Uint64(uint64(offset)), Len: proto.Uint64(uint64(n)), SendChecksums: proto.Bool(true),
	}
	if err := datatransfer.WriteOp(conn, datatransfer.OpReadBlock, op); err != nil {
		return nil, err
	}
	in := bufio.NewReader(conn)
	resp, err := datatransfer.ReadResponse(in)
	if err != nil {
		return nil, err
	}
	if err := datatransfer.ResponseError(datatransfer.OpReadBlock, resp); err != nil {
		return nil, err
	}
	cs, err := datatransfer.ChecksumFromProto(resp.GetReadOpChecksumInfo().GetChecksum())
	if err != nil {
		return nil, err
	}
	start := int64(resp.GetReadOpChecksumInfo().GetChunkOffset())
	var out []byte
	for {
		p, err := datatransfer.ReadPacket(in, nil)
		if err != nil {
			return nil, err
		}
		if p.Header.LastPacketInBlock {
			break
		}
		if err := cs.Verify(p.Checksums, p.Data, p.Header.OffsetInBlock); err != nil {
			_ = datatransfer.WriteReadStatus(conn, hdfspb.Status_ERROR_CHECKSUM)
			return nil, err
		}
		out = append(out, p.Data...)
	}
	if err := datatransfer.WriteReadStatus(conn, hdfspb.Status_CHECKSUM_OK); err != nil {
		return nil, err
	}
	if offset-start+n > int64(len(out)) {
		return nil, errors.New("short read")
	}
	return out[offset-start : offset-start+n], nil
}
