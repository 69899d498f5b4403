// Package hasvc is the caller's side of Hadoop's HA service protocols, shared
// by `hdfs haadmin`, the failover controller (zkfc/failover) and the ZKFC
// daemon:
//
//   - Service is what a caller needs from the HA service of one NameNode:
//     MonitorHealth, GetServiceStatus, TransitionToActive and
//     TransitionToStandby, each carrying who asked (RequestSource). Client
//     implements it with HAServiceProtocol calls over internal/rpc (protocol
//     name org.apache.hadoop.ha.HAServiceProtocol, messages from
//     proto/commonpb); tests of callers implement it in memory.
//   - ZKFCClient calls a ZKFC's ZKFCProtocol (cedeActive, gracefulFailover).
//   - Target is one NameNode as an administrative command sees it (Hadoop's
//     NNHAServiceTarget): nameservice and NameNode IDs, the HA service
//     address (dfs.namenode.servicerpc-address when set, else
//     dfs.namenode.rpc-address), the ZKFC address, whether automatic failover
//     is on, and the NameNode's view of the configuration that its fencing
//     methods read. TargetFromConf builds one from configuration.
//
// Errors a NameNode answers with keep their Java class: errors.Is(err,
// rpc.ErrHealthCheckFailed) holds for a failed health check and
// errors.Is(err, rpc.ErrServiceFailed) for a refused transition.
//
// Every call is bounded by the ctx the caller passes; callers pick Hadoop's
// timeouts (ha.failover-controller.*.rpc-timeout.ms) and pass them as
// deadlines. Nothing here retries.
package hasvc
