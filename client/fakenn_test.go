package client

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const fakePool = "BP-1-127.0.0.1-1"

// fakeNameNode answers the ClientNamenodeProtocol calls the data path makes, over a
// real rpc.Server, with files in memory and blocks placed on fake DataNodes in order.
type fakeNameNode struct {
	t   *testing.T
	srv *rpc.Server
	wg  sync.WaitGroup

	mu struct {
		sync.Mutex
		dns     []*fakeDN
		files   map[string]*fakeFile
		nextID  uint64
		gs      uint64
		calls   map[string]int
		bad     []*hdfspb.LocatedBlockProto // reportBadBlocks
		updates []*hdfspb.UpdatePipelineRequestProto
		adds    []*hdfspb.AddBlockRequestProto
		// completeFalse makes the next complete calls answer false.
		completeFalse int
		// notReplicatedYet makes the next addBlock calls fail with NotReplicatedYetException.
		notReplicatedYet int
		// truncating: truncate of a file mid-block answers false and leaves the file
		// under construction until finishTruncate.
		truncating map[string]int64
	}
}

type fakeFile struct {
	blocks    []*fakeBlock
	uc        bool
	holder    string
	blockSize uint64
	repl      uint32
	id        uint64
}

type fakeBlock struct {
	b     *hdfspb.ExtendedBlockProto
	nodes []*fakeDN
}

func startFakeNameNode(t *testing.T, dns ...*fakeDN) *fakeNameNode {
	t.Helper()
	f := &fakeNameNode{t: t}
	f.mu.dns = dns
	f.mu.files = map[string]*fakeFile{}
	f.mu.nextID = 1073741825
	f.mu.gs = 1001
	f.mu.calls = map[string]int{}
	f.mu.truncating = map[string]int64{}
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	srv.Register(ClientProtocol,
		rpc.Unary("getBlockLocations", f.getBlockLocations),
		rpc.Unary("getFileInfo", f.getFileInfo),
		rpc.Unary("create", f.create),
		rpc.Unary("append", f.append),
		rpc.Unary("addBlock", f.addBlock),
		rpc.Unary("abandonBlock", f.abandonBlock),
		rpc.Unary("complete", f.complete),
		rpc.Unary("fsync", f.fsync),
		rpc.Unary("renewLease", f.renewLease),
		rpc.Unary("reportBadBlocks", f.reportBadBlocks),
		rpc.Unary("updateBlockForPipeline", f.updateBlockForPipeline),
		rpc.Unary("updatePipeline", f.updatePipeline),
		rpc.Unary("truncate", f.truncate),
	)
	f.wg.Add(1)
	go func() { defer f.wg.Done(); srv.Serve() }()
	t.Cleanup(func() { srv.Close(); f.wg.Wait() })
	return f
}

func (f *fakeNameNode) addr() string { return f.srv.Addr().String() }

func (f *fakeNameNode) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.calls[method]
}

func (f *fakeNameNode) call(method string) {
	f.mu.calls[method]++
}

func (f *fakeNameNode) file(path string) *fakeFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.files[path]
}

func (f *fakeNameNode) status(path string, ff *fakeFile) *hdfspb.HdfsFileStatusProto {
	var n uint64
	for _, b := range ff.blocks {
		n += b.b.GetNumBytes()
	}
	return &hdfspb.HdfsFileStatusProto{FileType: hdfspb.HdfsFileStatusProto_IS_FILE.Enum(), Path: []byte{}, Length: proto.Uint64(n),
		Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)}, Owner: proto.String("alice"), Group: proto.String("supergroup"),
		ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(0), BlockReplication: proto.Uint32(ff.repl), Blocksize: proto.Uint64(ff.blockSize),
		FileId: proto.Uint64(ff.id)}
}

func (f *fakeNameNode) locatedLocked(fb *fakeBlock, off uint64) *hdfspb.LocatedBlockProto {
	lb := located(proto.Clone(fb.b).(*hdfspb.ExtendedBlockProto), int64(off), fb.nodes...)
	return lb
}

func (f *fakeNameNode) getBlockLocations(ctx context.Context, req *hdfspb.GetBlockLocationsRequestProto) (*hdfspb.GetBlockLocationsResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("getBlockLocations")
	ff := f.mu.files[req.GetSrc()]
	if ff == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
	}
	lbs := &hdfspb.LocatedBlocksProto{UnderConstruction: proto.Bool(ff.uc), IsLastBlockComplete: proto.Bool(!ff.uc)}
	var off, length uint64
	for i, b := range ff.blocks {
		n := b.b.GetNumBytes()
		if off+n > req.GetOffset() && off < req.GetOffset()+req.GetLength() {
			lbs.Blocks = append(lbs.Blocks, f.locatedLocked(b, off))
		}
		if i == len(ff.blocks)-1 {
			lbs.LastBlock = f.locatedLocked(b, off)
		}
		if !(ff.uc && i == len(ff.blocks)-1) {
			length += n
		}
		off += n
	}
	if ff.uc && len(ff.blocks) > 0 {
		// The NameNode does not know the length of a block being written: the
		// reader must ask a DataNode.
		lbs.LastBlock.B.NumBytes = proto.Uint64(0)
	}
	lbs.FileLength = proto.Uint64(length)
	return &hdfspb.GetBlockLocationsResponseProto{Locations: lbs}, nil
}

func (f *fakeNameNode) getFileInfo(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff := f.mu.files[req.GetSrc()]
	if ff == nil {
		return &hdfspb.GetFileInfoResponseProto{}, nil
	}
	return &hdfspb.GetFileInfoResponseProto{Fs: f.status(req.GetSrc(), ff)}, nil
}

func (f *fakeNameNode) create(ctx context.Context, req *hdfspb.CreateRequestProto) (*hdfspb.CreateResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("create")
	if ff := f.mu.files[req.GetSrc()]; ff != nil && req.GetCreateFlag()&uint32(hdfspb.CreateFlagProto_OVERWRITE) == 0 {
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "%s for client 127.0.0.1 already exists", req.GetSrc())
	}
	f.mu.nextID++
	ff := &fakeFile{uc: true, holder: req.GetClientName(), blockSize: req.GetBlockSize(), repl: req.GetReplication(), id: f.mu.nextID}
	f.mu.files[req.GetSrc()] = ff
	return &hdfspb.CreateResponseProto{Fs: f.status(req.GetSrc(), ff)}, nil
}

func (f *fakeNameNode) append(ctx context.Context, req *hdfspb.AppendRequestProto) (*hdfspb.AppendResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("append")
	ff := f.mu.files[req.GetSrc()]
	if ff == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
	}
	if ff.uc {
		return nil, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to APPEND_FILE %s for %s: already being written", req.GetSrc(), req.GetClientName())
	}
	ff.uc, ff.holder = true, req.GetClientName()
	resp := &hdfspb.AppendResponseProto{Stat: f.status(req.GetSrc(), ff)}
	if n := len(ff.blocks); n > 0 && ff.blocks[n-1].b.GetNumBytes() < ff.blockSize {
		var off uint64
		for _, b := range ff.blocks[:n-1] {
			off += b.b.GetNumBytes()
		}
		resp.Block = f.locatedLocked(ff.blocks[n-1], off)
	}
	return resp, nil
}

func (f *fakeNameNode) checkLease(src, holder string) (*fakeFile, error) {
	ff := f.mu.files[src]
	if ff == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", src)
	}
	if !ff.uc || ff.holder != holder {
		return nil, rpc.Errorf(rpc.ErrLeaseExpired, "Client (=%s) is not the lease owner of %s", holder, src)
	}
	return ff, nil
}

// commitLocked records the length of the file's last block as the client reports it.
func commitLocked(ff *fakeFile, b *hdfspb.ExtendedBlockProto) {
	if b == nil || len(ff.blocks) == 0 {
		return
	}
	last := ff.blocks[len(ff.blocks)-1]
	if last.b.GetBlockId() == b.GetBlockId() {
		last.b.NumBytes = proto.Uint64(b.GetNumBytes())
		last.b.GenerationStamp = proto.Uint64(b.GetGenerationStamp())
	}
}

func (f *fakeNameNode) addBlock(ctx context.Context, req *hdfspb.AddBlockRequestProto) (*hdfspb.AddBlockResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("addBlock")
	f.mu.adds = append(f.mu.adds, proto.Clone(req).(*hdfspb.AddBlockRequestProto))
	if f.mu.notReplicatedYet > 0 {
		f.mu.notReplicatedYet--
		return nil, rpc.Errorf(rpc.ErrNotReplicatedYet, "Not replicated yet: %s", req.GetSrc())
	}
	ff, err := f.checkLease(req.GetSrc(), req.GetClientName())
	if err != nil {
		return nil, err
	}
	commitLocked(ff, req.GetPrevious())
	excluded := map[string]bool{}
	for _, dn := range req.GetExcludeNodes() {
		excluded[datatransfer.XferAddr(dn)] = true
	}
	var nodes []*fakeDN
	for _, dn := range f.mu.dns {
		if !excluded[dn.addr()] && len(nodes) < int(ff.repl) {
			nodes = append(nodes, dn)
		}
	}
	if len(nodes) == 0 {
		return nil, rpc.Errorf(rpc.ErrIO, "File %s could only be written to 0 of the 1 minReplication nodes. There are %d datanode(s) running and %d node(s) are excluded in this operation.",
			req.GetSrc(), len(f.mu.dns), len(excluded))
	}
	f.mu.nextID++
	f.mu.gs++
	fb := &fakeBlock{b: &hdfspb.ExtendedBlockProto{PoolId: proto.String(fakePool), BlockId: proto.Uint64(f.mu.nextID), GenerationStamp: proto.Uint64(f.mu.gs), NumBytes: proto.Uint64(0)}, nodes: nodes}
	var off uint64
	for _, b := range ff.blocks {
		off += b.b.GetNumBytes()
	}
	ff.blocks = append(ff.blocks, fb)
	return &hdfspb.AddBlockResponseProto{Block: f.locatedLocked(fb, off)}, nil
}

func (f *fakeNameNode) abandonBlock(ctx context.Context, req *hdfspb.AbandonBlockRequestProto) (*hdfspb.AbandonBlockResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("abandonBlock")
	ff, err := f.checkLease(req.GetSrc(), req.GetHolder())
	if err != nil {
		return nil, err
	}
	if n := len(ff.blocks); n > 0 && ff.blocks[n-1].b.GetBlockId() == req.GetB().GetBlockId() {
		ff.blocks = ff.blocks[:n-1]
	}
	return &hdfspb.AbandonBlockResponseProto{}, nil
}

func (f *fakeNameNode) complete(ctx context.Context, req *hdfspb.CompleteRequestProto) (*hdfspb.CompleteResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("complete")
	ff, err := f.checkLease(req.GetSrc(), req.GetClientName())
	if err != nil {
		return nil, err
	}
	commitLocked(ff, req.GetLast())
	if f.mu.completeFalse > 0 {
		f.mu.completeFalse--
		return &hdfspb.CompleteResponseProto{Result: proto.Bool(false)}, nil
	}
	ff.uc, ff.holder = false, ""
	return &hdfspb.CompleteResponseProto{Result: proto.Bool(true)}, nil
}

func (f *fakeNameNode) fsync(ctx context.Context, req *hdfspb.FsyncRequestProto) (*hdfspb.FsyncResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("fsync")
	if _, err := f.checkLease(req.GetSrc(), req.GetClient()); err != nil {
		return nil, err
	}
	return &hdfspb.FsyncResponseProto{}, nil
}

func (f *fakeNameNode) renewLease(ctx context.Context, req *hdfspb.RenewLeaseRequestProto) (*hdfspb.RenewLeaseResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("renewLease")
	return &hdfspb.RenewLeaseResponseProto{}, nil
}

func (f *fakeNameNode) reportBadBlocks(ctx context.Context, req *hdfspb.ReportBadBlocksRequestProto) (*hdfspb.ReportBadBlocksResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("reportBadBlocks")
	f.mu.bad = append(f.mu.bad, req.GetBlocks()...)
	return &hdfspb.ReportBadBlocksResponseProto{}, nil
}

func (f *fakeNameNode) blockLocked(id uint64) (*fakeFile, *fakeBlock) {
	for _, ff := range f.mu.files {
		for _, b := range ff.blocks {
			if b.b.GetBlockId() == id {
				return ff, b
			}
		}
	}
	return nil, nil
}

func (f *fakeNameNode) updateBlockForPipeline(ctx context.Context, req *hdfspb.UpdateBlockForPipelineRequestProto) (*hdfspb.UpdateBlockForPipelineResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("updateBlockForPipeline")
	ff, fb := f.blockLocked(req.GetBlock().GetBlockId())
	if fb == nil || !ff.uc || ff.holder != req.GetClientName() {
		return nil, rpc.Errorf(rpc.ErrIO, "Block %d does not exist or is not under construction", req.GetBlock().GetBlockId())
	}
	f.mu.gs++
	nb := proto.Clone(req.GetBlock()).(*hdfspb.ExtendedBlockProto)
	nb.GenerationStamp = proto.Uint64(f.mu.gs)
	return &hdfspb.UpdateBlockForPipelineResponseProto{Block: &hdfspb.LocatedBlockProto{B: nb, Offset: proto.Uint64(^uint64(0)), Corrupt: proto.Bool(false), BlockToken: emptyToken()}}, nil
}

func (f *fakeNameNode) updatePipeline(ctx context.Context, req *hdfspb.UpdatePipelineRequestProto) (*hdfspb.UpdatePipelineResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("updatePipeline")
	f.mu.updates = append(f.mu.updates, proto.Clone(req).(*hdfspb.UpdatePipelineRequestProto))
	_, fb := f.blockLocked(req.GetOldBlock().GetBlockId())
	if fb == nil {
		return nil, rpc.Errorf(rpc.ErrIO, "Block %d does not exist.", req.GetOldBlock().GetBlockId())
	}
	fb.b = proto.Clone(req.GetNewBlock()).(*hdfspb.ExtendedBlockProto)
	var nodes []*fakeDN
	for _, id := range req.GetNewNodes() {
		addr := net.JoinHostPort(id.GetIpAddr(), itoa(id.GetXferPort()))
		for _, dn := range f.mu.dns {
			if dn.addr() == addr {
				nodes = append(nodes, dn)
			}
		}
	}
	fb.nodes = nodes
	return &hdfspb.UpdatePipelineResponseProto{}, nil
}

// truncate cuts on a block boundary at once; mid-block it answers false and
// leaves the file under recovery until finishTruncate (the DataNodes' part).
func (f *fakeNameNode) truncate(ctx context.Context, req *hdfspb.TruncateRequestProto) (*hdfspb.TruncateResponseProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("truncate")
	ff := f.mu.files[req.GetSrc()]
	if ff == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
	}
	n := req.GetNewLength()
	var off uint64
	for i, b := range ff.blocks {
		end := off + b.b.GetNumBytes()
		if n <= off {
			ff.blocks = ff.blocks[:i]
			return &hdfspb.TruncateResponseProto{Result: proto.Bool(true)}, nil
		}
		if n < end {
			ff.blocks = ff.blocks[:i+1]
			ff.uc, ff.holder = true, "recovery-"+req.GetClientName()
			f.mu.truncating[req.GetSrc()] = int64(n - off)
			return &hdfspb.TruncateResponseProto{Result: proto.Bool(false)}, nil
		}
		off = end
	}
	return &hdfspb.TruncateResponseProto{Result: proto.Bool(true)}, nil
}

// finishTruncate plays the DataNodes' block recovery of a truncate: the last block is
// cut on every replica and the file closes.
func (f *fakeNameNode) finishTruncate(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff := f.mu.files[path]
	n := f.mu.truncating[path]
	last := ff.blocks[len(ff.blocks)-1]
	for _, dn := range last.nodes {
		dn.mu.Lock()
		if r := dn.mu.replicas[last.b.GetBlockId()]; r != nil {
			r.data = r.data[:n]
			r.sums = nil
		}
		dn.mu.Unlock()
	}
	last.b.NumBytes = proto.Uint64(uint64(n))
	ff.uc, ff.holder = false, ""
	delete(f.mu.truncating, path)
}

func itoa(v uint32) string { return strconv.Itoa(int(v)) }

// seed stores a closed file: data split into blocks of blockSize, each block's
// replicas on nodes (all of them).
func (f *fakeNameNode) seed(path string, blockSize int, data []byte, nodes ...*fakeDN) *fakeFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.nextID++
	ff := &fakeFile{blockSize: uint64(blockSize), repl: uint32(len(nodes)), id: f.mu.nextID}
	for off := 0; off < len(data); off += blockSize {
		part := data[off:min(len(data), off+blockSize)]
		f.mu.nextID++
		f.mu.gs++
		b := &hdfspb.ExtendedBlockProto{PoolId: proto.String(fakePool), BlockId: proto.Uint64(f.mu.nextID), GenerationStamp: proto.Uint64(f.mu.gs), NumBytes: proto.Uint64(uint64(len(part)))}
		for _, dn := range nodes {
			dn.mu.Lock()
			dn.mu.replicas[f.mu.nextID] = &fakeReplica{gs: f.mu.gs, data: append([]byte(nil), part...), sums: dn.cs.Compute(nil, part), finalized: true}
			dn.mu.Unlock()
		}
		ff.blocks = append(ff.blocks, &fakeBlock{b: b, nodes: nodes})
	}
	f.mu.files[path] = ff
	return ff
}

func testData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// observedClient is a Client of f whose logs the test can search, with short waits.
func observedClient(t *testing.T, f *fakeNameNode, opts DataOptions, set ...string) (*Client, *observer.ObservedLogs) {
	t.Helper()
	c := conf.New()
	c.Set(KeyRetryWindowBase, "10")
	c.Set(KeyLocateFollowDelay, "10")
	c.Set(KeyLastBlockLengthPeriod, "10")
	for i := 0; i+1 < len(set); i += 2 {
		c.Set(set[i], set[i+1])
	}
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, testcluster.Logger(t).Core()))
	cl, err := New(Config{Conf: c, User: "alice", Logger: log, Data: opts}, "hdfs://"+f.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, logs
}

func logged(logs *observer.ObservedLogs, substr string) bool {
	return logs.FilterMessageSnippet(substr).Len() > 0
}
