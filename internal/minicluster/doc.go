// Package minicluster is a small MiniDFSCluster: a NameNode (or an HA pair
// over three JournalNodes) and DataNodes, all in-process on 127.0.0.1, for
// end-to-end tests of the data path.
//
//	func TestX(t *testing.T) {
//		testcluster.CheckLeaks(t) // first
//		mc := minicluster.Start(t, minicluster.Options{DataNodes: 3, Replication: 2})
//		w, err := mc.Client().Create(ctx, "/f", client.CreateOptions{})
//		...
//		mc.StopDataNode(0)                 // killed: no goodbye to the NameNodes
//		mc.WaitFor("one dead DataNode", func() bool { return mc.LiveDataNodes() == 2 })
//		report, err := mc.Fsck("/", "-files", "-blocks", "-locations")
//	}
//
// What it owns: the daemons it starts (stopped in t.Cleanup through a
// testcluster.Group, DataNodes before NameNodes before JournalNodes), the
// clients it hands out (closed in t.Cleanup) and every directory (under
// t.TempDir). Callers must call testcluster.CheckLeaks first, and must not
// stop what the cluster started by other means than its methods.
//
// Intervals are short by default so that behaviour that takes minutes on a
// real cluster takes about a second here: heartbeats every 50 ms, dead
// detection after 2 × recheck + 10 × heartbeat = 1 s, the redundancy monitor
// every 50 ms, no safe mode extension, 1 MiB blocks (the minimum block size is
// lowered to allow them). Options and Options.Extra (Hadoop keys) override
// them. The NameNode reads no key for its lease limits (Hadoop 3.3 reads
// dfs.namenode.lease-hard-limit-sec); Options.LeaseSoftLimit and
// LeaseHardLimit set its Config directly, and the cluster's clients then
// renew their leases at a quarter of the smaller limit.
//
// Every wait (WaitFor, start-up) is a bounded poll whose bound only guards
// against a hang; tests built on the cluster assert behaviour, never timing.
//
// DataNode ports are reserved once (testcluster.ReserveAddr), so a DataNode
// restarted with RestartDataNode comes back on the same transfer, IPC and
// HTTP addresses with the same data directory, as a restarted process would.
package minicluster
