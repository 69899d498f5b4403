package namesystem

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/fsck"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestStandbyQueuesReportsThenFailover: a DataNode reports a block to the
// standby before the standby read its edit; the report is queued, the
// tail replays it, the standby issues no commands, and after failover the
// new active serves the block's location at once, out of safe mode.
func TestStandbyQueuesReportsThenFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, fastBlocks)
	ctx := context.Background()
	d := newFakeDN(h, 1)
	d.register()
	d.heartbeat()
	write := func(p string) *hdfspb.ExtendedBlockProto {
		cr := createReq(p, "c1", hdfspb.CreateFlagProto_CREATE, false)
		cr.Replication = proto.Uint32(2) // one DataNode: under-replicated on purpose
		h.mustCall(superuser, "create", cr, &hdfspb.CreateResponseProto{})
		ab := &hdfspb.AddBlockResponseProto{}
		h.mustCall(superuser, "addBlock", &hdfspb.AddBlockRequestProto{Src: str(p), ClientName: str("c1")}, ab)
		b := ab.GetBlock().GetB()
		b.NumBytes = proto.Uint64(9)
		d.ibr(hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED, b)
		h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: str(p), ClientName: str("c1"), Last: b}, &hdfspb.CompleteResponseProto{})
		return b
	}
	b1 := write("/f1")

	sb := newStandbyWith(t, h, func(c *Config) {
		fastBlocks(c)
		c.Blocks.SafeModeThresholdPct = 1
		c.Blocks.SafeModeExtension = time.Hour // only a failover ends it in this test
	})
	// The standby starts: it knows /f1's block, no replica yet.
	if _, _, err := sb.Tail(ctx, h.el); err != nil {
		t.Fatal(err)
	}
	if !sb.InSafeMode() {
		t.Fatal("the standby is not in safe mode with a block and no replica")
	}
	b := write("/f2")
	reg := d.reg()
	if _, err := sb.registerDatanode(ctx, &hdfspb.RegisterDatanodeRequestProto{Registration: reg}); err != nil {
		t.Fatal(err)
	}
	hb := &hdfspb.HeartbeatRequestProto{Registration: reg, Reports: []*hdfspb.StorageReportProto{{StorageUuid: proto.String(d.storage),
		Capacity: proto.Uint64(100 << 30), Remaining: proto.Uint64(50 << 30)}}}
	r, err := sb.sendHeartbeat(ctx, hb)
	if err != nil || r.GetHaStatus().GetState() != hdfspb.NNHAStatusHeartbeatProto_STANDBY || len(r.GetCmds()) != 0 {
		t.Fatalf("standby heartbeat %v, %v", r, err)
	}
	ibr := &hdfspb.BlockReceivedAndDeletedRequestProto{Registration: reg, BlockPoolId: proto.String("BP-1-127.0.0.1-1")}
	for _, x := range []*hdfspb.ExtendedBlockProto{b1, b} {
		ibr.Blocks = append(ibr.Blocks, &hdfspb.StorageReceivedDeletedBlocksProto{StorageUuid: proto.String(d.storage), Blocks: []*hdfspb.ReceivedDeletedBlockInfoProto{{
			Block: &hdfspb.BlockProto{BlockId: x.BlockId, GenStamp: x.GenerationStamp, NumBytes: x.NumBytes}, Status: hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED.Enum()}}})
	}
	if _, err := sb.blockReceivedAndDeleted(ctx, ibr); err != nil {
		t.Fatal(err)
	}
	queued := 0
	sb.BlockManager(func(bm *blockmanagement.Manager) { queued = bm.PendingMessages() })
	if queued != 1 {
		t.Fatalf("%d reports queued, want 1", queued)
	}
	if _, _, err := sb.Tail(ctx, h.el); err != nil {
		t.Fatal(err)
	}
	if rep := sb.FsckBlocks().Replicas(fsck.Block{ID: b.GetBlockId()}); !rep.Complete || len(rep.Nodes) != 1 || rep.Nodes[0].State != fsck.Live {
		t.Fatalf("standby's replicas after the tail: %+v", rep)
	}
	// Under-replicated, but a standby schedules nothing.
	if r, _ := sb.sendHeartbeat(ctx, hb); len(r.GetCmds()) != 0 {
		t.Fatalf("standby sent commands: %v", r.GetCmds())
	}

	if !sb.InSafeMode() {
		t.Fatal("the standby left safe mode before its extension ended")
	}

	// Fail over.
	h.sys.mu.RLock()
	oldClaim := h.sys.haStatus().GetTxid()
	h.sys.mu.RUnlock()
	h.stop()
	lj, err := editlog.OpenLocal(vfs.Default, filepath.Join(h.dir, "edits"), nil)
	if err != nil {
		t.Fatal(err)
	}
	el, err := editlog.Open(lj, editlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	if err := el.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.Tail(ctx, el); err != nil {
		t.Fatal(err)
	}
	if err := sb.StartActive(ctx, el); err != nil {
		t.Fatal(err)
	}
	if sb.InSafeMode() {
		t.Fatal("the new active is in safe mode")
	}
	rctx := rpc.ContextWithCaller(ctx, &rpc.Caller{User: superuser})
	gbl, err := sb.getBlockLocations(rctx, &hdfspb.GetBlockLocationsRequestProto{Src: str("/f2"), Offset: proto.Uint64(0), Length: proto.Uint64(9)})
	if err != nil {
		t.Fatal(err)
	}
	if bl := gbl.GetLocations().GetBlocks(); len(bl) != 1 || len(bl[0].GetLocs()) != 1 || bl[0].GetLocs()[0].GetId().GetDatanodeUuid() != "uuid-1" {
		t.Fatalf("locations on the new active: %v", gbl.GetLocations())
	}
	r, err = sb.sendHeartbeat(ctx, hb)
	if err != nil || r.GetHaStatus().GetState() != hdfspb.NNHAStatusHeartbeatProto_ACTIVE {
		t.Fatalf("active heartbeat %v, %v", r, err)
	}
	// The DataNode fence: the new active claims a txid above the old
	// active's last claim before writing anything.
	if got := r.GetHaStatus().GetTxid(); got <= oldClaim {
		t.Fatalf("new active claims txid %d, the old one claimed %d", got, oldClaim)
	}
	if w := sb.StopActive(); w != el {
		t.Fatal("StopActive did not return the writer")
	}
}

// newStandbyWith is newStandby with a configuration hook, started (its
// block monitor runs).
func newStandbyWith(t *testing.T, h *harness, mut func(*Config)) *Namesystem {
	s := newPeer(t, h, "standby", func(c *Config) {
		c.HA, c.HostName = true, "nn2.test"
		mut(c)
	})
	s.Start()
	return s
}
