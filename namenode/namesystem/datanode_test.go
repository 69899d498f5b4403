package namesystem

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/fsck"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeDN speaks DatanodeProtocol to the harness over real RPC.
type fakeDN struct {
	h       *harness
	id      *hdfspb.DatanodeIDProto
	storage string
	remain  uint64
}

func newFakeDN(h *harness, i int) *fakeDN {
	return &fakeDN{h: h, storage: fmt.Sprintf("DS-%d", i), remain: 50 << 30, id: &hdfspb.DatanodeIDProto{
		IpAddr: proto.String(fmt.Sprintf("127.0.0.%d", i)), HostName: proto.String(fmt.Sprintf("dn%d", i)),
		DatanodeUuid: proto.String(fmt.Sprintf("uuid-%d", i)), XferPort: proto.Uint32(9866), InfoPort: proto.Uint32(9864), IpcPort: proto.Uint32(9867)}}
}

func (d *fakeDN) call(method string, req, resp proto.Message) {
	d.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.h.client(superuser).Call(ctx, d.h.addr, DatanodeProtocol, method, req, resp); err != nil {
		d.h.t.Fatalf("%s %s: %v", d.id.GetHostName(), method, err)
	}
}

func (d *fakeDN) reg() *hdfspb.DatanodeRegistrationProto {
	return &hdfspb.DatanodeRegistrationProto{DatanodeID: d.id,
		StorageInfo:     &hdfspb.StorageInfoProto{LayoutVersion: proto.Uint32(0), NamespceID: proto.Uint32(42), ClusterID: proto.String("CID-test"), CTime: proto.Uint64(1)},
		Keys:            &hdfspb.ExportedBlockKeysProto{IsBlockTokenEnabled: proto.Bool(false), KeyUpdateInterval: proto.Uint64(0), TokenLifeTime: proto.Uint64(0), CurrentKey: &hdfspb.BlockKeyProto{KeyId: proto.Uint32(0), ExpiryDate: proto.Uint64(0)}},
		SoftwareVersion: proto.String("3.3.6")}
}

func (d *fakeDN) register() {
	d.call("registerDatanode", &hdfspb.RegisterDatanodeRequestProto{Registration: d.reg()}, &hdfspb.RegisterDatanodeResponseProto{})
}

func (d *fakeDN) heartbeat() *hdfspb.HeartbeatResponseProto {
	resp := &hdfspb.HeartbeatResponseProto{}
	d.call("sendHeartbeat", &hdfspb.HeartbeatRequestProto{Registration: d.reg(), Reports: []*hdfspb.StorageReportProto{{
		StorageUuid: proto.String(d.storage), Capacity: proto.Uint64(100 << 30), DfsUsed: proto.Uint64(1 << 20), Remaining: proto.Uint64(d.remain),
		Storage: &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(d.storage)}}}}, resp)
	return resp
}

func (d *fakeDN) ibr(status hdfspb.ReceivedDeletedBlockInfoProto_BlockStatus, b *hdfspb.ExtendedBlockProto) {
	d.call("blockReceivedAndDeleted", &hdfspb.BlockReceivedAndDeletedRequestProto{Registration: d.reg(), BlockPoolId: proto.String("BP-1-127.0.0.1-1"),
		Blocks: []*hdfspb.StorageReceivedDeletedBlocksProto{{StorageUuid: proto.String(d.storage), Blocks: []*hdfspb.ReceivedDeletedBlockInfoProto{{
			Block:  &hdfspb.BlockProto{BlockId: b.BlockId, GenStamp: b.GenerationStamp, NumBytes: b.NumBytes},
			Status: status.Enum()}}}}}, &hdfspb.BlockReceivedAndDeletedResponseProto{})
}

func (d *fakeDN) fullReport(bs ...*hdfspb.ExtendedBlockProto) {
	longs := []uint64{uint64(len(bs)), 0}
	for _, b := range bs {
		longs = append(longs, b.GetBlockId(), b.GetNumBytes(), b.GetGenerationStamp())
	}
	longs = append(longs, ^uint64(0), ^uint64(0), ^uint64(0))
	d.call("blockReport", &hdfspb.BlockReportRequestProto{Registration: d.reg(), BlockPoolId: proto.String("BP-1-127.0.0.1-1"),
		Reports: []*hdfspb.StorageBlockReportProto{{Storage: &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(d.storage)}, Blocks: longs}}}, &hdfspb.BlockReportResponseProto{})
}

// startDNs registers DataNodes 1..n, each with a first heartbeat.
func startDNs(h *harness, n int) []*fakeDN {
	var dns []*fakeDN
	for i := 1; i <= n; i++ {
		d := newFakeDN(h, i)
		d.register()
		d.heartbeat()
		dns = append(dns, d)
	}
	return dns
}

// createWithBlock creates path for client with replication repl and adds
// its first block.
func (h *harness) createWithBlock(path, client string, repl uint32) *hdfspb.LocatedBlockProto {
	h.t.Helper()
	cr := createReq(path, client, hdfspb.CreateFlagProto_CREATE, false)
	cr.Replication = proto.Uint32(repl)
	h.mustCall(superuser, "create", cr, &hdfspb.CreateResponseProto{})
	ab := &hdfspb.AddBlockResponseProto{}
	h.mustCall(superuser, "addBlock", &hdfspb.AddBlockRequestProto{Src: str(path), ClientName: str(client)}, ab)
	return ab.GetBlock()
}

func blockCmds(r *hdfspb.HeartbeatResponseProto, a hdfspb.BlockCommandProto_Action) []*hdfspb.BlockCommandProto {
	var out []*hdfspb.BlockCommandProto
	for _, c := range r.GetCmds() {
		if c.GetBlkCmd().GetAction() == a {
			out = append(out, c.GetBlkCmd())
		}
	}
	return out
}

// waitFor polls cond (the monitor goroutine works on its own ticker).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastBlocks(c *Config) {
	c.Blocks = blockmanagement.DefaultConfig()
	c.Blocks.HeartbeatInterval = time.Second
	c.Blocks.HeartbeatRecheckInterval = 5 * time.Second
	c.Blocks.SafeModeExtension = 0
	c.Blocks.StaleInterval = time.Hour
	c.RedundancyInterval = 5 * time.Millisecond
}

// TestDatanodesWriteReplicateAndTrimExcess walks the scenario with
// fake DataNodes over real RPC: register, addBlock gets the writer's node
// first, complete waits for replication, a dead node's block is copied
// elsewhere, and when it returns the excess replica is deleted.
func TestDatanodesWriteReplicateAndTrimExcess(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	dns := []*fakeDN{newFakeDN(h, 1), newFakeDN(h, 2), newFakeDN(h, 3)}
	for _, d := range dns {
		d.register()
		if r := d.heartbeat(); r.GetHaStatus().GetState() != hdfspb.NNHAStatusHeartbeatProto_ACTIVE {
			t.Fatalf("ha status %v", r.GetHaStatus())
		}
	}
	h.mustCall(superuser, "mkdirs", mkdirsReq("/d", 0o755, true), &hdfspb.MkdirsResponseProto{})
	lb := h.createWithBlock("/d/f", "c1", 2)
	if len(lb.GetLocs()) != 2 || lb.GetLocs()[0].GetId().GetIpAddr() != "127.0.0.1" || len(lb.GetStorageIDs()) != 2 {
		t.Fatalf("addBlock locations %v (the writer at 127.0.0.1 should be first)", lb.GetLocs())
	}
	byIP := map[string]*fakeDN{}
	for _, d := range dns {
		byIP[d.id.GetIpAddr()] = d
	}
	pipeline := []*fakeDN{byIP[lb.GetLocs()[0].GetId().GetIpAddr()], byIP[lb.GetLocs()[1].GetId().GetIpAddr()]}
	var spare *fakeDN
	for _, d := range dns {
		if d != pipeline[0] && d != pipeline[1] {
			spare = d
		}
	}
	b := proto.Clone(lb.GetB()).(*hdfspb.ExtendedBlockProto)
	b.NumBytes = proto.Uint64(100)
	comp := &hdfspb.CompleteResponseProto{}
	h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str("/d/f"), ClientName: str("c1"), Last: b}, comp)
	if comp.GetResult() {
		t.Fatal("complete before any replica was reported")
	}
	for _, d := range pipeline {
		d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
	}
	h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str("/d/f"), ClientName: str("c1"), Last: b}, comp)
	if !comp.GetResult() {
		t.Fatal("complete false after both replicas")
	}
	gbl := &hdfspb.GetBlockLocationsResponseProto{}
	h.mustCall(superuser, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: str("/d/f"), Offset: proto.Uint64(0), Length: proto.Uint64(100)}, gbl)
	if bl := gbl.GetLocations().GetBlocks(); len(bl) != 1 || len(bl[0].GetLocs()) != 2 {
		t.Fatalf("getBlockLocations %v", gbl)
	}

	// pipeline[1] dies: only the others heartbeat past the dead interval.
	// Two steps, so the monitor never sees the survivors silent too long.
	dead := blockmanagement.Config{HeartbeatInterval: time.Second, HeartbeatRecheckInterval: 5 * time.Second}.DeadInterval()
	h.clock.Advance(dead - time.Second)
	pipeline[0].heartbeat()
	spare.heartbeat()
	h.clock.Advance(2 * time.Second)
	waitFor(t, "the silent DataNode to be declared dead", func() bool {
		r := &hdfspb.GetDatanodeReportResponseProto{}
		h.mustCall(superuser, "getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_DEAD.Enum()}, r)
		return len(r.GetDi()) == 1 && r.GetDi()[0].GetId().GetDatanodeUuid() == pipeline[1].id.GetDatanodeUuid()
	})
	st := &hdfspb.GetFsStatsResponseProto{}
	h.mustCall(superuser, "getFsStats", &hdfspb.GetFsStatusRequestProto{}, st)
	var transfer *hdfspb.BlockCommandProto
	waitFor(t, "a transfer command for the surviving replica", func() bool {
		if c := blockCmds(pipeline[0].heartbeat(), hdfspb.BlockCommandProto_TRANSFER); len(c) > 0 {
			transfer = c[0]
			return true
		}
		return false
	})
	if tg := transfer.GetTargets()[0].GetDatanodes(); len(tg) != 1 || tg[0].GetId().GetDatanodeUuid() != spare.id.GetDatanodeUuid() {
		t.Fatalf("transfer targets %v", tg)
	}
	spare.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
	h.mustCall(superuser, "getFsStats", &hdfspb.GetFsStatusRequestProto{}, st)
	if st.GetUnderReplicated() != 0 || st.GetMissingBlocks() != 0 {
		t.Fatalf("fs stats after re-replication %v", st)
	}

	// It comes back with its replica: one of the three copies goes.
	pipeline[1].remain = 1 << 30 // least space: Hadoop deletes there
	if r := pipeline[1].heartbeat(); len(r.GetCmds()) != 1 || r.GetCmds()[0].GetCmdType() != hdfspb.DatanodeCommandProto_RegisterCommand {
		t.Fatalf("dead node's heartbeat: %v", r.GetCmds())
	}
	pipeline[1].register()
	pipeline[1].heartbeat()
	pipeline[1].fullReport(b)
	inv := blockCmds(pipeline[1].heartbeat(), hdfspb.BlockCommandProto_INVALIDATE)
	if len(inv) != 1 || inv[0].GetBlocks()[0].GetBlockId() != b.GetBlockId() {
		t.Fatalf("invalidate %v", inv)
	}
}

// TestLeaseRecoveryWithBlockRecovery: the writer is gone; recoverLease
// starts block recovery at the pipeline's most recent node and answers
// false; commitBlockSynchronization closes the file with the length the
// DataNodes agreed on.
func TestLeaseRecoveryWithBlockRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	dns := startDNs(h, 2)
	b := h.createWithBlock("/f", "writer", 2).GetB()
	for _, d := range dns {
		d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVING, b)
	}
	rl := &hdfspb.RecoverLeaseResponseProto{}
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if rl.GetResult() {
		t.Fatal("recoverLease true while the block is being recovered")
	}
	var rec *hdfspb.RecoveringBlockProto
	for _, d := range dns {
		for _, c := range d.heartbeat().GetCmds() {
			if c.GetCmdType() == hdfspb.DatanodeCommandProto_BlockRecoveryCommand {
				rec = c.GetRecoveryCmd().GetBlocks()[0]
			}
		}
	}
	if rec == nil || rec.GetNewGenStamp() <= b.GetGenerationStamp() || len(rec.GetBlock().GetLocs()) != 2 {
		t.Fatalf("recovery command %v", rec)
	}
	// A second recoverLease while it runs changes nothing.
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if rl.GetResult() {
		t.Fatal("recoverLease true while recovering")
	}
	dns[0].call("commitBlockSynchronization", &hdfspb.CommitBlockSynchronizationRequestProto{
		Block: b, NewGenStamp: proto.Uint64(rec.GetNewGenStamp()), NewLength: proto.Uint64(77), CloseFile: proto.Bool(true), DeleteBlock: proto.Bool(false),
		NewTaragets: []*hdfspb.DatanodeIDProto{dns[0].id, dns[1].id}, NewTargetStorages: []string{"DS-1", "DS-2"},
	}, &hdfspb.CommitBlockSynchronizationResponseProto{})
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if !rl.GetResult() {
		t.Fatal("recoverLease false after commitBlockSynchronization")
	}
	if st := h.stat("/f"); st.GetLength() != 77 {
		t.Fatalf("length %d, want 77", st.GetLength())
	}
	// The namespace and the block map agree after a restart (replay).
	h.restart()
	if st := h.stat("/f"); st.GetLength() != 77 {
		t.Fatalf("length after restart %d", st.GetLength())
	}
}

// TestLeaseRecoveryWithoutReplicas: a last block no DataNode holds is
// dropped and the file closed at once.
func TestLeaseRecoveryWithoutReplicas(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	startDNs(h, 1)
	h.createWithBlock("/f", "writer", 1)
	// The pipeline's only node died before reporting anything.
	h.clock.Advance(time.Hour)
	waitFor(t, "the DataNode to be declared dead", func() bool {
		r := &hdfspb.GetDatanodeReportResponseProto{}
		h.mustCall(superuser, "getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, r)
		return len(r.GetDi()) == 0
	})
	rl := &hdfspb.RecoverLeaseResponseProto{}
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if !rl.GetResult() {
		t.Fatal("recoverLease false with no replica anywhere")
	}
	gbl := &hdfspb.GetBlockLocationsResponseProto{}
	h.mustCall(superuser, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: str("/f"), Offset: proto.Uint64(0), Length: proto.Uint64(1)}, gbl)
	if n := len(gbl.GetLocations().GetBlocks()); n != 0 {
		t.Fatalf("%d blocks left", n)
	}
}

// TestFsckBlocks: the fsck view of the block map after a write.
func TestFsckBlocks(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	d := startDNs(h, 1)[0]
	b := h.createWithBlock("/f", "c1", 1).GetB()
	fb := h.sys.FsckBlocks()
	if r := fb.Replicas(fsck.Block{ID: b.GetBlockId()}); r.Complete || len(r.Nodes) != 1 || r.Nodes[0].Node.XferAddr() != "127.0.0.1:9866" {
		t.Fatalf("under construction: %+v", r)
	}
	b.NumBytes = proto.Uint64(5)
	d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
	h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str("/f"), ClientName: str("c1"), Last: b}, &hdfspb.CompleteResponseProto{})
	if r := fb.Replicas(fsck.Block{ID: b.GetBlockId()}); !r.Complete || len(r.Nodes) != 1 || r.Nodes[0].State != fsck.Live {
		t.Fatalf("complete: %+v", r)
	}
	if c := fb.Cluster(); c.LiveDatanodes != 1 || c.Racks != 1 || c.MultiRack || c.BlockPoolID != "BP-1-127.0.0.1-1" || c.MinReplication != 1 {
		t.Fatalf("cluster %+v", c)
	}
	if ids := fb.CorruptBlocks(); len(ids) != 0 {
		t.Fatalf("corrupt %v", ids)
	}
	// append answers the last block with the replicas to write on.
	ar := &hdfspb.AppendResponseProto{}
	h.mustCall(superuser, "append", &hdfspb.AppendRequestProto{Src: str("/f"), ClientName: str("c2")}, ar)
	if locs := ar.GetBlock().GetLocs(); len(locs) != 1 || locs[0].GetId().GetDatanodeUuid() != "uuid-1" {
		t.Fatalf("append's last block locations %v", locs)
	}
}

// TestTruncateInsideBlock: truncate answers false, the primary gets a
// recovery command with the truncate block, and the file closes at the
// new length when the recovery commits.
func TestTruncateInsideBlock(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	dns := startDNs(h, 2)
	b := h.createWithBlock("/f", "c1", 2).GetB()
	b.NumBytes = proto.Uint64(100)
	for _, d := range dns {
		d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
	}
	h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str("/f"), ClientName: str("c1"), Last: b}, &hdfspb.CompleteResponseProto{})

	tr := &hdfspb.TruncateResponseProto{}
	h.mustCall(superuser, "truncate", &hdfspb.TruncateRequestProto{Src: str("/f"), NewLength: proto.Uint64(40), ClientName: str("c2")}, tr)
	if tr.GetResult() {
		t.Fatal("truncate inside a block answered true")
	}
	var rec *hdfspb.RecoveringBlockProto
	for _, d := range dns {
		for _, c := range d.heartbeat().GetCmds() {
			if c.GetCmdType() == hdfspb.DatanodeCommandProto_BlockRecoveryCommand {
				rec = c.GetRecoveryCmd().GetBlocks()[0]
			}
		}
	}
	if rec == nil || rec.GetTruncateBlock().GetNumBytes() != 40 || rec.GetTruncateBlock().GetGenStamp() != rec.GetNewGenStamp() || rec.GetBlock().GetB().GetGenerationStamp() != b.GetGenerationStamp() {
		t.Fatalf("recovery command %v", rec)
	}
	dns[0].call("commitBlockSynchronization", &hdfspb.CommitBlockSynchronizationRequestProto{
		Block: b, NewGenStamp: proto.Uint64(rec.GetNewGenStamp()), NewLength: proto.Uint64(40), CloseFile: proto.Bool(true), DeleteBlock: proto.Bool(false),
		NewTaragets: []*hdfspb.DatanodeIDProto{dns[0].id, dns[1].id}, NewTargetStorages: []string{"DS-1", "DS-2"},
	}, &hdfspb.CommitBlockSynchronizationResponseProto{})
	st := h.stat("/f")
	if st.GetLength() != 40 {
		t.Fatalf("length %d, want 40", st.GetLength())
	}
	h.restart()
	if st := h.stat("/f"); st.GetLength() != 40 {
		t.Fatalf("length after restart %d", st.GetLength())
	}
}

// TestHardLimitStartsBlockRecovery: a writer silent past the hard limit;
// the lease monitor starts block recovery instead of closing the file.
func TestHardLimitStartsBlockRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, func(c *Config) {
		fastBlocks(c)
		c.SoftLimit, c.HardLimit = time.Second, 10*time.Second
	})
	d := startDNs(h, 1)[0]
	b := h.createWithBlock("/f", "writer", 1).GetB()
	d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVING, b)
	h.clock.Advance(11 * time.Second)
	d.heartbeat()
	h.sys.CheckLeases()
	var rec *hdfspb.RecoveringBlockProto
	for _, c := range d.heartbeat().GetCmds() {
		if c.GetCmdType() == hdfspb.DatanodeCommandProto_BlockRecoveryCommand {
			rec = c.GetRecoveryCmd().GetBlocks()[0]
		}
	}
	if rec == nil {
		t.Fatal("no recovery command after the hard limit")
	}
	if st := h.stat("/f"); st == nil {
		t.Fatal("file gone")
	}
	// Still open: the monitor does not close it behind the recovery.
	h.sys.CheckLeases()
	rl := &hdfspb.RecoverLeaseResponseProto{}
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if rl.GetResult() {
		t.Fatal("file closed while its block is being recovered")
	}
	d.call("commitBlockSynchronization", &hdfspb.CommitBlockSynchronizationRequestProto{
		Block: b, NewGenStamp: proto.Uint64(rec.GetNewGenStamp()), NewLength: proto.Uint64(3), CloseFile: proto.Bool(true), DeleteBlock: proto.Bool(false),
		NewTaragets: []*hdfspb.DatanodeIDProto{d.id}, NewTargetStorages: []string{"DS-1"},
	}, &hdfspb.CommitBlockSynchronizationResponseProto{})
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: str("/f"), ClientName: str("other")}, rl)
	if !rl.GetResult() || h.stat("/f").GetLength() != 3 {
		t.Fatalf("after commit: closed %v, length %d", rl.GetResult(), h.stat("/f").GetLength())
	}
}

// TestAddBlockRetry: a retried addBlock (same previous block, the last one
// still empty) gets the block it allocated, not a second one or an error.
func TestAddBlockRetry(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	startDNs(h, 2)
	first := h.createWithBlock("/f", "c1", 2)
	again := &hdfspb.AddBlockResponseProto{}
	h.mustCall(superuser, "addBlock", &hdfspb.AddBlockRequestProto{Src: str("/f"), ClientName: str("c1")}, again)
	if first.GetB().GetBlockId() != again.GetBlock().GetB().GetBlockId() || len(again.GetBlock().GetLocs()) != 2 {
		t.Fatalf("retry gave %v, first %v", again.GetBlock(), first)
	}
	gbl := &hdfspb.GetBlockLocationsResponseProto{}
	h.mustCall(superuser, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: str("/f"), Offset: proto.Uint64(0), Length: proto.Uint64(1)}, gbl)
	if n := len(gbl.GetLocations().GetBlocks()); n != 1 {
		t.Fatalf("%d blocks after a retried addBlock", n)
	}
}

// TestGetAdditionalDatanode: a writer that lost a pipeline node gets the
// existing nodes back followed by a replacement that is neither existing
// nor excluded.
func TestGetAdditionalDatanode(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	startDNs(h, 4)
	lb := h.createWithBlock("/f", "c1", 3)
	locs := lb.GetLocs()
	if len(locs) != 3 {
		t.Fatalf("addBlock gave %d locations", len(locs))
	}
	// The pipeline lost its second node: keep the other two, exclude it.
	existing := []*hdfspb.DatanodeInfoProto{locs[0], locs[2]}
	resp := &hdfspb.GetAdditionalDatanodeResponseProto{}
	h.mustCall(superuser, "getAdditionalDatanode", &hdfspb.GetAdditionalDatanodeRequestProto{
		Src: str("/f"), Blk: lb.GetB(), Existings: existing, Excludes: []*hdfspb.DatanodeInfoProto{locs[1]},
		NumAdditionalNodes: proto.Uint32(1), ClientName: str("c1"), ExistingStorageUuids: []string{"s0", "s2"},
	}, resp)
	got := resp.GetBlock().GetLocs()
	if len(got) != 3 || got[0].GetId().GetDatanodeUuid() != locs[0].GetId().GetDatanodeUuid() || got[1].GetId().GetDatanodeUuid() != locs[2].GetId().GetDatanodeUuid() {
		t.Fatalf("getAdditionalDatanode: %v", got)
	}
	for _, l := range locs {
		if got[2].GetId().GetDatanodeUuid() == l.GetId().GetDatanodeUuid() {
			t.Fatalf("the replacement %s was in the pipeline or excluded", got[2].GetId().GetDatanodeUuid())
		}
	}
	if sids := resp.GetBlock().GetStorageIDs(); len(sids) != 3 || sids[0] != "s0" || sids[1] != "s2" || sids[2] == "" {
		t.Fatalf("storage ids %v", sids)
	}
	// Another holder's call is refused as Hadoop's lease check refuses it.
	err := h.call("someone", "getAdditionalDatanode", &hdfspb.GetAdditionalDatanodeRequestProto{
		Src: str("/f"), Blk: lb.GetB(), NumAdditionalNodes: proto.Uint32(1), ClientName: str("c2"),
	}, &hdfspb.GetAdditionalDatanodeResponseProto{})
	if err == nil {
		t.Fatal("getAdditionalDatanode by a client without the lease succeeded")
	}
}

// TestCompleteWaitsForTheLastReport: a complete that arrives before the
// DataNode's RECEIVED report waits for it (replicasChanged) instead of
// answering false and costing the client a 400 ms retry.
func TestCompleteWaitsForTheLastReport(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	d := startDNs(h, 1)[0]
	b := proto.Clone(h.createWithBlock("/f", "c1", 1).GetB()).(*hdfspb.ExtendedBlockProto)
	b.NumBytes = proto.Uint64(100)

	h.sys.mu.RLock()
	changed := h.sys.replicasChanged
	h.sys.mu.RUnlock()
	done := make(chan *hdfspb.CompleteResponseProto, 1)
	go func() {
		resp := &hdfspb.CompleteResponseProto{}
		if err := h.call(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str("/f"), ClientName: str("c1"), Last: b}, resp); err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
	select {
	case <-changed: // the report woke whoever waited
	default:
		t.Fatal("a RECEIVED report did not signal replicasChanged")
	}
	if resp := <-done; !resp.GetResult() {
		t.Fatal("complete answered false although the report arrived while it waited")
	}
}
