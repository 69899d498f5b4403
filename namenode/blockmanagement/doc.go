// Package blockmanagement is the NameNode's block manager: the DataNode
// manager (registrations, heartbeats, dead detection, racks), the block
// map (block id → file, generation stamp, length, expected replication and
// the replicas DataNodes reported), block placement, the replication
// monitor's queues, block recovery for lease recovery, and the startup
// safe mode. It models Hadoop's BlockManager, DatanodeManager,
// HeartbeatManager, BlockPlacementPolicyDefault, LowRedundancyBlocks,
// PendingReconstructionBlocks, InvalidateBlocks, CorruptReplicasMap,
// PendingDataNodeMessages and BlockManagerSafeMode, smaller.
//
// # Pure logic
//
// Manager does no I/O, starts no goroutine, reads no clock and takes no
// lock: every call that depends on time takes now, and the driver (the
// namesystem) serialises calls under its lock. Randomness in placement
// comes from Config.Intn. Output is data: Heartbeat returns the commands
// for a DataNode (TransferCommand, InvalidateCommand, RecoverCommand,
// ReRegisterCommand); the driver turns them into DatanodeProtocol protos.
//
// # What the driver must do
//
//   - At startup, PutBlock every block of the namespace (Complete unless it
//     is the last block of a file under construction), then StartSafeMode.
//   - After each applied edit, PutBlock every block of the file the op
//     touched (added block, new generation stamp or length, close,
//     replication change) and RemoveBlock every Applied.RemovedBlocks entry.
//   - Feed DatanodeProtocol calls: Register, Heartbeat (its commands are the
//     answer), BlockReport per storage, IncrementalReport, ReportBadBlock,
//     CommitBlockSynchronization.
//   - Every heartbeat recheck interval call CheckHeartbeats; every
//     dfs.namenode.redundancy.interval.seconds call ComputeWork; about every
//     second call CheckSafeMode (the extension ends with time alone).
//   - SetActive(true) when the NameNode becomes active, SetActive(false)
//     when it steps down (scheduled copies and chosen deletions are
//     forgotten; the next active decides anew).
//   - Lease recovery: StartRecovery (or StartTruncateRecovery for a cut
//     inside a block) with a generation stamp the driver logged first;
//     CommitBlockSynchronization checks the primary's answer before the
//     driver logs the close.
//
// Readers: Locations (getBlockLocations order), Status, Replicas (fsck),
// Summary (getFsStats, dfsadmin -report), Datanodes, SafeModeTip.
//
// ScriptResolver (topology.go) is the one piece that does I/O: the daemon
// builds it from net.topology.script.file.name and passes it in Config.
//
// # Dead DataNodes
//
// A node whose last heartbeat is older than Config.DeadInterval, Hadoop's
// 2 × dfs.namenode.heartbeat.recheck-interval + 10 × dfs.heartbeat.interval
// (10 min 30 s by default), is dead: its replicas leave the block map, its
// blocks become under-replicated, and its heartbeats get ErrUnregistered
// until it registers again and sends a full block report. Replicas it
// brings back beyond the expected replication are excess, and the active
// asks the holder chosen by Hadoop's rule to delete them.
//
// # Active and standby
//
// Both NameNodes run a Manager and receive every report. A standby keeps
// its map current and issues nothing; a report about a block it has not
// read in the edits yet (unknown id, or a generation stamp newer than the
// one it knows) is queued for that block and replayed by the PutBlock that
// brings the edit. SetActive(true) replays what is still queued (unknown
// blocks are then invalid), recomputes the queues, and leaves the startup
// safe mode at once if the thresholds are met: a new active knows every
// location already.
//
// # Replica accounting
//
// A replica counts (is live) when its node is alive, it is finalized with
// the block's generation stamp, and it is neither corrupt nor excess. A
// corrupt replica (a finalized copy with another generation stamp or
// length than a complete block, or reported bad) stays in the map until
// enough live replicas exist, and is then invalidated: good copies are
// made first. A complete block with fewer live replicas than expected sits
// in one of five priority queues (Hadoop's numbering: 0 one replica left,
// 1 fewer than a third, 2 other, 3 badly distributed, 4 no live replica =
// missing) unless pending reconstructions cover the gap.
package blockmanagement
