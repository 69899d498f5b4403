package minicluster_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestColinmarcFailoverMidWrite: colinmarc/hdfs/v2, given both NameNodes,
// writes a multi-block file; once the first block is done, nn1 hands over
// to nn2 (haadmin -failover). colinmarc meets StandbyException on its next
// NameNode call, moves to nn2, and the write goes on and closes there. The
// file reads back identical through colinmarc and through our client.
func TestColinmarcFailoverMidWrite(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{HA: true, DataNodes: 3, Replication: 2})
	cm := newColinmarc(t, mc)
	if err := cm.MkdirAll("/ha", 0o755); err != nil {
		t.Fatal(err)
	}
	const path = "/ha/colinmarc"
	data := testData(3*mib+mib/2, 21)
	w, err := cm.CreateFile(path, 2, mib, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// Past the first block boundary: colinmarc closed block 0 (all acks in)
	// and allocated block 1 with addBlock on nn1.
	split := mib + mib/4
	if _, err := w.Write(data[:split]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mc.Failover(0, 1)
	if _, err := w.Write(data[split:]); err != nil {
		t.Fatalf("colinmarc write after failover: %v", err)
	}
	closeColinmarc(t, w)
	if mc.Active() != 1 {
		t.Fatalf("active NameNode is %d, want nn2", mc.Active())
	}
	mustEqual(t, "colinmarc reads the file written across the failover", readColinmarc(t, newColinmarc(t, mc), path), data)
	mustEqual(t, "ours reads the file written across the failover", readOurs(t, mc.Client(), path), data)
	if lbs := waitReplicas(t, mc, 1, path, 2); len(lbs.GetBlocks()) != 4 || lbs.GetFileLength() != uint64(len(data)) {
		t.Fatalf("nn2 has %d blocks, length %d", len(lbs.GetBlocks()), lbs.GetFileLength())
	}
}

// TestFailoverMidWrite: the same with our client on hdfs://mycluster; it
// hflushes before the failover, and after it the write, the block
// allocations and complete go to nn2.
func TestFailoverMidWrite(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{HA: true, DataNodes: 3, Replication: 2})
	const path = "/ha/ours"
	data := testData(2*mib+mib/2, 22)
	w, err := mc.Client().Create(testCtx(t), path, client.CreateOptions{Replication: 2, BlockSize: mib, CreateParent: true})
	if err != nil {
		t.Fatal(err)
	}
	split := mib + mib/4
	if _, err := w.Write(data[:split]); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	mc.Failover(0, 1)
	if _, err := w.Write(data[split:]); err != nil {
		t.Fatalf("write after failover: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close after failover: %v", err)
	}
	mustEqual(t, "ours reads the file written across the failover", readOurs(t, mc.Client(), path), data)
	mustEqual(t, "colinmarc reads the file written across the failover", readColinmarc(t, newColinmarc(t, mc), path), data)
}

// TestHALocationsAfterFailover: the standby processes the DataNodes' reports
// as they come. Once it holds every replica of a file, a failover makes it
// active, and at once (no wait, no new report) it is out of safe mode and
// getBlockLocations lists every replica of every block.
func TestHALocationsAfterFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{HA: true, DataNodes: 3, Replication: 3})
	const path = "/ha/locations"
	data := testData(2*mib+mib/2, 23)
	writeOurs(t, mc.Client(), path, data, client.CreateOptions{Replication: 3, BlockSize: mib, CreateParent: true})
	lbs := waitReplicas(t, mc, 0, path, 3)
	for _, lb := range lbs.GetBlocks() {
		id := lb.GetB().GetBlockId()
		mc.WaitFor("the standby to know every replica", func() bool { return mc.KnownReplicas(1, id) == 3 })
	}
	mc.Failover(0, 1)

	after, err := mc.Locations(1, path)
	if err != nil {
		t.Fatalf("getBlockLocations on the new active: %v", err)
	}
	if len(after.GetBlocks()) != 3 || after.GetFileLength() != uint64(len(data)) {
		t.Fatalf("new active: %d blocks, length %d", len(after.GetBlocks()), after.GetFileLength())
	}
	for i, lb := range after.GetBlocks() {
		if len(lb.GetLocs()) != 3 {
			t.Errorf("block %d: %d locations on the new active right after failover, want 3", i, len(lb.GetLocs()))
		}
		if lb.GetB().GetBlockId() != lbs.GetBlocks()[i].GetB().GetBlockId() {
			t.Errorf("block %d: id %d, nn1 had %d", i, lb.GetB().GetBlockId(), lbs.GetBlocks()[i].GetB().GetBlockId())
		}
	}
	if mc.NameNodes[1].Namesystem().InSafeMode() {
		t.Error("the new active is in safe mode")
	}
	if err := mc.CallNameNode(1, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String("/ha/after"),
		Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{}); err != nil {
		t.Errorf("mkdirs on the new active right after failover: %v", err)
	}
	mustEqual(t, "read after failover", readOurs(t, mc.Client(), path), data)
}

// TestHAReplicationAfterFailover: after nn1 hands over to nn2, a DataNode
// holding replicas dies. nn2 declares it dead and re-replicates, and the
// DataNodes obey nn2 (the fence moved with the failover): fsck on nn2 ends
// HEALTHY with two live replicas per block, none on the dead node, and the
// file reads back.
func TestHAReplicationAfterFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{HA: true, DataNodes: 3, Replication: 2})
	const path = "/ha/rereplicate"
	data := testData(2*mib+mib/2, 24)
	writeOurs(t, mc.Client(), path, data, client.CreateOptions{CreateParent: true})
	lbs := waitSettled(t, mc, path, 2)
	for _, lb := range lbs.GetBlocks() {
		id := lb.GetB().GetBlockId()
		mc.WaitFor("the standby to know both replicas", func() bool { return mc.KnownReplicas(1, id) == 2 })
	}
	mc.Failover(0, 1)
	victim := mc.DataNodeIndex(datatransfer.XferAddr(lbs.GetBlocks()[0].GetLocs()[0]))
	addr := mc.DataNodes[victim].Addr
	mc.StopDataNode(victim)
	mc.WaitFor("nn2 to declare the DataNode dead", func() bool { return mc.LiveDataNodes() == 2 })
	mc.WaitFor("nn2 to restore two live replicas", func() bool {
		report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
		return err == nil && fsckHealthy(report, path, 2) && !strings.Contains(report, addr)
	})
	mustEqual(t, "read after re-replication", readOurs(t, mc.Client(), path), data)
}
