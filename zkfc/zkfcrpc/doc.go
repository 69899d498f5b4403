// Package zkfcrpc is the server side of Hadoop's ZKFCProtocol
// (org.apache.hadoop.ha.ZKFCProtocol): what `hdfs haadmin -failover` and the
// ZKFCs of the other NameNodes call on a ZKFC when automatic failover is on.
//
// It owns three things:
//
//   - Server (or Service, to share an rpc.Server): cedeActive and
//     gracefulFailover on internal/rpc with Hadoop's messages
//     (proto/commonpb/ZKFCProtocol.proto). Before a call reaches the
//     Controller it checks, as DFSZKFailoverController.checkRpcAdminAccess
//     does, that the caller is listed in dfs.cluster.administrators (ACL,
//     Hadoop's AccessControlList syntax) or is the ZKFC's own user, else
//     AccessControlException "Disallowed RPC access from <user>
//     (auth:SIMPLE) at <ip>. Not listed in dfs.cluster.administrators".
//     cedeActive's uint32 millisToCede is read as Java's int, so Hadoop's -1
//     ("rejoin now") arrives as -1.
//   - ListenAddress / ConfigFromConf: Hadoop's bind address,
//     dfs.ha.zkfc.port (8019, with .<ns>.<nn> and .<ns> suffixes) on
//     dfs.namenode.servicerpc-bind-host, else dfs.namenode.rpc-bind-host,
//     else the host of the NameNode's HA service address.
//   - Graceful: ZKFailoverController.doGracefulFailover as logic over two
//     small interfaces, Local (the ZKFC's health, election view and record
//     of active attempts) and Peer (another ZKFC's cedeActive). Its steps
//     and messages are listed on Graceful.Run and in docs/zkfc-rpc.md.
//
// What callers must do: the ZKFC daemon implements Controller (usually
// GracefulFailover = Graceful.Run over its own Local, and CedeActive =
// the elector's CedeActive event, answered at its CedeDone) and Local, whose
// WaitForActiveAttempt must return nil as soon as its NameNode turns
// unhealthy. Attempts does that part: the driver Records every
// ActiveAttempt action of its elector and calls SetHealthy on every health
// change, and Local's Healthy, AttemptMark and WaitForActiveAttempt read it. Peers are called through an rpc.Client that runs as the ZKFC's
// own user, which every ZKFC of the nameservice admits. Run Serve in a
// goroutine the daemon owns and Close the Server on shutdown; Close cancels
// the ctx of calls in progress, so a waiting gracefulFailover returns.
//
// Errors keep their Java class on the wire: Graceful returns
// ServiceFailedException (rpc.ErrServiceFailed) with Hadoop's texts, and a
// ZooKeeper or RPC failure as an IOException.
package zkfcrpc
