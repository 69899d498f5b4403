// Package zkfc is the ZKFC daemon, `hdfs zkfc`: Hadoop's
// DFSZKFailoverController for one NameNode. It wires the pure election
// (zkfc/elector) to the world:
//
//   - a ZooKeeper session per elector OpenSession (go-zookeeper), whose
//     session events (connected, disconnected, expired) and lock watches
//     become elector events, and whose ZooKeeper actions (create the
//     ephemeral lock, watch it, read and write the breadcrumb) run in order
//     on one worker goroutine per session;
//   - the health monitor of the local NameNode (zkfc/health), whose updates
//     become elector events through elector.FromHealth;
//   - the NameNode actions (GracefulFence: transitionToStandby of the old
//     active within ha.failover-controller.graceful-fence.rpc-timeout.ms;
//     RunFencingMethods: the old active's dfs.ha.fencing.methods;
//     BecomeActive within ha.failover-controller.new-active.rpc-timeout.ms;
//     BecomeStandby), one at a time in order, on one worker goroutine, all
//     with REQUEST_BY_ZKFC;
//   - ZKFCProtocol (zkfc/zkfcrpc) at dfs.ha.zkfc.port: cedeActive becomes
//     the elector's CedeActive and is answered at its CedeDone;
//     gracefulFailover is zkfcrpc.Graceful over this ZKFC.
//
// One driver goroutine owns the elector: it steps it with those events and
// with a Tick every Config.TickInterval, and dispatches the actions. It
// never waits for ZooKeeper or a NameNode: workers take the actions from
// unbounded queues and post results back. All decisions are the elector's.
//
// The lock and breadcrumb hold elector.NodeInfo of the local NameNode: the
// nameservice and NameNode IDs, the host and port of its HA service address
// and the port this ZKFC serves ZKFCProtocol on.
//
// What callers must do: check the start conditions first (zkutil.LocalTarget,
// CheckAutoFailover, ConnectForZKFC, CheckStart: `hdfs zkfc` does), then New,
// Start, and Stop when done. Done is closed when the elector ends the ZKFC
// (a fatal error, Err says which). Stop closes the ZooKeeper session, which
// releases the lock and keeps the breadcrumb (the next active fences this
// NameNode), leaves the NameNode's state alone, and returns after every
// goroutine the ZKFC started has ended.
package zkfc
