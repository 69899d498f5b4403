package minicluster_test

import (
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// TestDataNodeLossAndReturn is the harness's own walkthrough (HDFS's
// "Replication and DataNode Loss"): a DataNode holding replicas is killed;
// reads (ours and colinmarc's) go on at once; once it is declared dead the NameNode re-replicates
// to 2 live replicas and fsck is HEALTHY; restarted on the same addresses
// and data directory it comes back, and the excess replicas are deleted.
func TestDataNodeLossAndReturn(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 3, Replication: 2})
	const path = "/loss/data"
	data := testData(2*mib+mib/2, 31)
	writeOurs(t, mc.Client(), path, data, client.CreateOptions{CreateParent: true})
	lbs := waitReplicas(t, mc, 0, path, 2)
	report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
	if err != nil || !fsckHealthy(report, path, 2) || len(parseFsckBlocks(report)) != 3 {
		t.Fatalf("fsck before the loss (%v):\n%s", err, report)
	}

	victim := mc.DataNodeIndex(datatransfer.XferAddr(lbs.GetBlocks()[0].GetLocs()[0]))
	addr := mc.DataNodes[victim].Addr
	mc.StopDataNode(victim)
	mustEqual(t, "read right after the kill", readOurs(t, mc.Client(), path), data)
	mustEqual(t, "colinmarc's read right after the kill", readColinmarc(t, newColinmarc(t, mc), path), data)
	mc.WaitFor("the killed DataNode declared dead", func() bool { return mc.LiveDataNodes() == 2 })
	mc.WaitFor("re-replication to 2 live replicas", func() bool {
		report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
		return err == nil && fsckHealthy(report, path, 2) && !strings.Contains(report, addr)
	})

	mc.RestartDataNode(victim)
	if got := mc.DataNodes[victim].TransferAddress(); got != addr {
		t.Fatalf("restarted on %s, was %s", got, addr)
	}
	mc.WaitFor("3 live DataNodes", func() bool { return mc.LiveDataNodes() == 3 })
	mc.WaitFor("excess replicas deleted", func() bool {
		for _, lb := range lbs.GetBlocks() {
			n := 0
			for i := range mc.DataNodes {
				if mc.BlockFile(i, lb.GetB().GetBlockId()) != "" {
					n++
				}
			}
			if n != 2 {
				return false
			}
		}
		report, err := mc.Fsck(path, "-files", "-blocks", "-locations")
		return err == nil && fsckHealthy(report, path, 2) && strings.Contains(report, " Over-replicated blocks:\t0 (0.0 %)\n")
	})
	mustEqual(t, "read after the return", readOurs(t, mc.Client(), path), data)
}
