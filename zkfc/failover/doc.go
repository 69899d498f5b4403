// Package failover is the manual failover controller: Hadoop's
// FailoverController, used by `hdfs haadmin -failover` and, later, by the
// ZKFC when it takes over from another NameNode.
//
// Controller.Failover takes the two NameNodes as Nodes: a hasvc.Target
// (address and names, for messages), a hasvc.Service (the HA service calls)
// and a Fencer (zkfc/fence.Fencer, nil when dfs.ha.fencing.methods is not
// set). It opens no sockets and reads no clock itself: its I/O goes through
// those interfaces, bounded by deadlines derived from the caller's ctx, so
// every branch is tested with in-memory services.
//
// The steps and what each outcome means:
//
//  1. pre-checks on the target: not the same address as the source, a
//     standby, ready to become active (forceActive waives this) and healthy;
//     otherwise nothing has changed and the error says why
//  2. graceful fence: ask the source to become standby within
//     ha.failover-controller.graceful-fence.rpc-timeout.ms (5 s)
//  3. fencing: when step 2 failed, or forceFence is set, run the source's
//     fencing methods; when every method fails, stop: the target stays
//     standby and the source may still be active
//  4. make the target active within
//     ha.failover-controller.new-active.rpc-timeout.ms (60 s); when that
//     fails and the source was only gracefully fenced, fail back (fence the
//     target, force the source active again)
//
// Errors are *FailedError wrapping ErrFailoverFailed, with Hadoop's
// FailoverFailedException messages, or ErrNoFencer.
package failover
