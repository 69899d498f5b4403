package client

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func lbAt(id, off, n uint64) *hdfspb.LocatedBlockProto {
	return &hdfspb.LocatedBlockProto{B: &hdfspb.ExtendedBlockProto{PoolId: proto.String("BP-1"), BlockId: proto.Uint64(id), GenerationStamp: proto.Uint64(1), NumBytes: proto.Uint64(n)}, Offset: proto.Uint64(off)}
}

func TestBlockListFindAndInsert(t *testing.T) {
	l := newBlockList(&hdfspb.LocatedBlocksProto{FileLength: proto.Uint64(250), IsLastBlockComplete: proto.Bool(true),
		Blocks: []*hdfspb.LocatedBlockProto{lbAt(1, 0, 100), lbAt(2, 100, 100)}, LastBlock: lbAt(3, 200, 50)}, 0)
	if l.length != 250 {
		t.Fatalf("length %d", l.length)
	}
	for _, c := range []struct {
		off int64
		id  uint64
	}{{0, 1}, {99, 1}, {100, 2}, {199, 2}} {
		if lb := l.find(c.off); lb == nil || lb.GetB().GetBlockId() != c.id {
			t.Fatalf("find(%d) = %v, want block %d", c.off, lb, c.id)
		}
	}
	if lb := l.find(200); lb != nil {
		t.Fatalf("find(200) = %v before the range was fetched", lb)
	}
	// A later range arrives, and a refetched copy of block 2 replaces the cached one.
	fresh := lbAt(2, 100, 100)
	fresh.Locs = []*hdfspb.DatanodeInfoProto{{}}
	l.insert([]*hdfspb.LocatedBlockProto{fresh, lbAt(3, 200, 50)})
	if lb := l.find(249); lb == nil || lb.GetB().GetBlockId() != 3 {
		t.Fatalf("find(249) = %v", lb)
	}
	if lb := l.find(150); len(lb.GetLocs()) != 1 {
		t.Fatalf("block 2 not replaced by the fresh copy")
	}
	if len(l.blocks) != 3 || l.find(250) != nil {
		t.Fatalf("blocks %d, find(250) %v", len(l.blocks), l.find(250))
	}
}

func TestBlockListUnderConstruction(t *testing.T) {
	// The NameNode counts complete blocks only; the last block's visible length
	// comes from a DataNode.
	last := lbAt(2, 100, 0)
	l := newBlockList(&hdfspb.LocatedBlocksProto{FileLength: proto.Uint64(100), UnderConstruction: proto.Bool(true), IsLastBlockComplete: proto.Bool(false),
		Blocks: []*hdfspb.LocatedBlockProto{lbAt(1, 0, 100), lbAt(2, 100, 0)}, LastBlock: last}, 42)
	if l.length != 142 {
		t.Fatalf("length %d, want 142", l.length)
	}
	if lb := l.find(141); lb == nil || lb.GetB().GetNumBytes() != 42 {
		t.Fatalf("find(141) = %v", lb)
	}
	if last.GetB().GetNumBytes() != 0 {
		t.Fatal("the NameNode's answer was modified")
	}
	// A refetch keeps the visible length.
	l.insert([]*hdfspb.LocatedBlockProto{lbAt(2, 100, 0)})
	if lb := l.find(141); lb == nil {
		t.Fatal("visible length lost on refetch")
	}
}

func TestNodeNames(t *testing.T) {
	dn := func(port uint32) *hdfspb.DatanodeInfoProto {
		return &hdfspb.DatanodeInfoProto{Id: &hdfspb.DatanodeIDProto{IpAddr: proto.String("10.0.0.1"), XferPort: proto.Uint32(port), IpcPort: proto.Uint32(port + 1)}}
	}
	lb := lbAt(7, 0, 1)
	lb.Locs = []*hdfspb.DatanodeInfoProto{dn(9866), dn(9876)}
	lb.StorageIDs = []string{"DS-a", ""}
	lb.StorageTypes = []hdfspb.StorageTypeProto{hdfspb.StorageTypeProto_DISK, hdfspb.StorageTypeProto_DISK}
	if got, want := nodeName(lb, 0), "DatanodeInfoWithStorage[10.0.0.1:9866,DS-a,DISK]"; got != want {
		t.Fatalf("nodeName = %q, want %q", got, want)
	}
	if got := nodeName(lb, 1); got != "10.0.0.1:9876" {
		t.Fatalf("nodeName without storage = %q", got)
	}
	if got := datatransfer.BlockName(lb.GetB()); got != "BP-1:blk_7_1" {
		t.Fatalf("BlockName = %q", got)
	}
	if got := ipcAddr(lb.Locs[0]); got != "10.0.0.1:9867" {
		t.Fatalf("ipcAddr = %q", got)
	}
}
