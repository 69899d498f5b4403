package minicluster_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestCorruptReplicaEndToEnd: three DataNodes, replication 2. A byte of one
// replica of the first block is flipped on disk. A read returns the right
// data and reports the bad replica; the NameNode copies the good replica to
// the third DataNode and has the corrupt one deleted; fsck ends HEALTHY with
// two live replicas of every block, and the corrupt file is gone from disk.
func TestCorruptReplicaEndToEnd(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 3, Replication: 2})
	cl := mc.Client()
	const path = "/corrupt/data"
	data := testData(mib+mib/2, 11)
	writeOurs(t, cl, path, data, client.CreateOptions{Replication: 2, BlockSize: mib, CreateParent: true})
	// The redundancy monitor may have copied a block whose second replica
	// was not reported yet, and then deletes the excess one: wait until
	// that settles, so the replicas chosen below stay where they are.
	lbs := waitSettled(t, mc, path, 2)
	first := lbs.GetBlocks()[0]
	id := first.GetB().GetBlockId()
	bad := mc.DataNodeIndex(datatransfer.XferAddr(first.GetLocs()[0]))
	good := mc.DataNodeIndex(datatransfer.XferAddr(first.GetLocs()[1]))
	spare := 3 - bad - good
	if bad < 0 || good < 0 || mc.BlockFile(spare, id) != "" {
		t.Fatalf("replicas of blk_%d: on %v", id, first.GetLocs())
	}
	if err := mc.CorruptReplica(bad, id, 70_000); err != nil {
		t.Fatal(err)
	}

	// The reader tries the first listed replica, the corrupt one: it must
	// detect the mismatch, read from the other and report the bad one.
	mustEqual(t, "read with a corrupt replica", readOurs(t, cl, path), data)
	badAddr := mc.DataNodes[bad].Addr
	mc.WaitFor("the corrupt replica replaced and deleted", func() bool {
		// Should the NameNode have listed the good replica first, a read
		// that meets the corrupt one comes later; every read is correct.
		if got := readOurs(t, cl, path); string(got) != string(data) {
			t.Fatalf("read %d bytes differing from the %d written", len(got), len(data))
		}
		report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
		if err != nil || !fsckHealthy(report, path, 2) {
			return false
		}
		for _, b := range parseFsckBlocks(report) {
			if b.id == id && slices.Contains(b.addrs, badAddr) {
				return false
			}
		}
		return mc.BlockFile(bad, id) == "" && mc.BlockFile(spare, id) != ""
	})
	// The new replica is a good copy: read the block from each holder.
	report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fsck after recovery:\n%s", report)
	mc.StopDataNode(good)
	mustEqual(t, "read with only the re-replicated copy of block 0", readOurs(t, cl, path), data)
}

// TestWriterKilledMidFile: a writer writes one and a half blocks, hflushes
// and dies without closing (its pipeline drops, its lease is no longer
// renewed). Past the hard lease limit the NameNode recovers the lease: block
// recovery on the DataNodes settles the last block and the file closes with
// at least the hflushed length, holding exactly the bytes written up to it.
// fsck ends HEALTHY.
func TestWriterKilledMidFile(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 3, Replication: 2,
		LeaseSoftLimit: time.Second, LeaseHardLimit: 2 * time.Second})
	const path = "/killed/file"
	data := testData(mib+mib/2, 12)
	writer := mc.NewClient()
	w, err := writer.Create(testCtx(t), path, client.CreateOptions{Replication: 2, BlockSize: mib, CreateParent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	gs := lastBlockGenStamp(t, mc, path)
	w.Abort()
	_ = writer.Close()

	mc.WaitFor("lease recovery to close the file", func() bool { return !underConstruction(t, mc, 0, path) })
	var fi hdfspb.GetFileInfoResponseProto
	if err := mc.CallActive("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(path)}, &fi); err != nil {
		t.Fatal(err)
	}
	n := int(fi.GetFs().GetLength())
	if n < len(data) {
		t.Fatalf("recovered length %d, below the %d bytes hflushed", n, len(data))
	}
	mustEqual(t, "the recovered file", readOurs(t, mc.Client(), path), data[:n])
	if now := lastBlockGenStamp(t, mc, path); now <= gs {
		t.Fatalf("last block's generation stamp %d after recovery, %d before: no block recovery ran", now, gs)
	}
	mc.WaitFor("fsck HEALTHY with 2 replicas per block", func() bool {
		report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
		return err == nil && fsckHealthy(report, path, 2)
	})
}

// TestRecoverLeaseOfDeadWriter: as `hdfs debug recoverLease`, a second client
// calls recoverLease on the file of a writer that died (default lease
// limits: nothing expires during the test); the first answer is false while
// block recovery runs, later calls answer true once the file is closed with
// the hflushed bytes.
func TestRecoverLeaseOfDeadWriter(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 2, Replication: 2})
	const path = "/killed/recover"
	data := testData(mib+1000, 13)
	writer := mc.NewClient()
	w, err := writer.Create(testCtx(t), path, client.CreateOptions{Replication: 2, BlockSize: mib, CreateParent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	_ = writer.Close()

	other := mc.NewClient()
	recoverLease := func() bool {
		var r hdfspb.RecoverLeaseResponseProto
		if err := other.Call(testCtx(t), "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: proto.String(path),
			ClientName: proto.String(other.ClientName())}, &r); err != nil {
			t.Fatalf("recoverLease: %v", err)
		}
		return r.GetResult()
	}
	if recoverLease() {
		t.Fatal("recoverLease answered true at once; the last block needs block recovery")
	}
	mc.WaitFor("recoverLease to answer true", recoverLease)
	if underConstruction(t, mc, 0, path) {
		t.Fatal("recoverLease answered true but the file is still under construction")
	}
	got := readOurs(t, other, path)
	if len(got) < len(data) {
		t.Fatalf("recovered %d bytes, below the %d hflushed", len(got), len(data))
	}
	mustEqual(t, "the recovered file", got, data[:len(got)])
}

// lastBlockGenStamp is the generation stamp the active NameNode has for the
// last block of path.
func lastBlockGenStamp(t *testing.T, mc *minicluster.Cluster, path string) uint64 {
	t.Helper()
	lbs, err := mc.Locations(mc.Active(), path)
	if err != nil {
		t.Fatal(err)
	}
	if lb := lbs.GetLastBlock(); lb != nil {
		return lb.GetB().GetGenerationStamp()
	}
	bs := lbs.GetBlocks()
	if len(bs) == 0 {
		t.Fatalf("%s has no blocks", path)
	}
	return bs[len(bs)-1].GetB().GetGenerationStamp()
}
