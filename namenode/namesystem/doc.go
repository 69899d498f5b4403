// Package namesystem is the NameNode's FSNamesystem: it owns the one
// namesystem lock and puts the namespace (package namespace) and the edit
// log (package editlog) together behind Hadoop's ClientNamenodeProtocol.
//
// # Mutations
//
// Every mutation follows one order, and nothing else changes the
// namespace:
//
//  1. take the write lock; refuse if the namesystem failed or is in safe mode;
//  2. namespace.Prepare* checks the call and returns the op (or an error
//     with Hadoop's exception class and text, or nil for answers that
//     need no edit);
//  3. editlog.Log(op bytes) assigns the txid (memory only);
//  4. namespace.Apply(txid, op), then the in-memory side effects (leases);
//  5. release the lock;
//  6. editlog.Sync(ctx, txid): the answer leaves only after the txid is
//     durable on the journal (group commit: one sync carries many edits).
//
// An answer that needs no edit, and every error, still waits for the
// last applied txid seen under the lock to be synced: "already exists"
// must not reveal an mkdirs that is not durable yet.
//
// # Reads
//
// Reads take the read lock, read, note LastAppliedTxID, release the
// lock, and WaitSynced(that txid) before answering: no client sees a
// change that is not durable.
//
// # Failure
//
// A journal failure (editlog OnFatal) or an Apply error puts the
// namesystem in a failed state for good: every call, read or write, is
// refused with java.io.IOException, and Config.OnFailed tells the daemon,
// which stops its RPC server. Nothing is acknowledged after the failure.
//
// # HA
//
// With Config.HA the namesystem starts in standby with no writer. Every
// ClientNamenodeProtocol call has Hadoop's operation category (READ,
// WRITE, JOURNAL, UNCHECKED; see package ha); outside the active state
// every checked call is refused with org.apache.hadoop.ipc.StandbyException
// ("Operation category READ is not supported in state standby. Visit
// https://s.apache.org/sbnn-error"), checked before the retry cache and
// again under the lock. UNCHECKED calls (getHAServiceState,
// getDatanodeReport, saveNamespace, setSafeMode unless checked) pass.
//
// The daemon drives the transitions:
//
//   - standby: Tail(ctx, el) applies what a reader EditLog returns after
//     the last applied txid, one edit per write-lock hold, through the
//     same apply path as startup replay, and records retry cache entries
//     exactly as replay does.
//   - becoming active: the daemon recovers the writer's journal (new
//     epoch), Tails to its end, then StartActive(ctx, el) starts writing
//     at the next txid, rebuilds the leases (all renewed now) and serves.
//     EditLog() returns that writer while active and nil otherwise.
//   - stepping down: StopActive() refuses calls and detaches the writer;
//     the daemon closes it. A writer whose journal failed (fenced by a
//     newer active) is reported through WriterFailed: calls are refused at
//     once and Config.OnWriterFailed tells the daemon, which steps down.
//     Such a writer may have applied edits it never made durable:
//     NeedsReload says so, and ReloadNamespace swaps in the namespace of
//     the newest image before tailing resumes. Nothing unsynced was ever
//     acknowledged.
//
// Without HA a journal failure is permanent (below).
//
// # Read-only (recovery mode)
//
// With Config.ReadOnly there is never a writer (EditLog is nil). The
// daemon loads the namespace with Tail (over a journal adapter reading the
// mirror's sink), then StartReadOnly makes it active: reads are served
// (nothing is unsynced, so nothing is waited for), and every WRITE and
// JOURNAL call is refused with java.io.IOException ReadOnlyMessage,
// checked where the HA category is (checkOperation), so before the retry
// cache and before any lock. msync, setSafeMode and client bad-block
// reports change no namespace and pass (checkActive). No lease monitor
// runs and no leases are kept. DataNodes are served as usual, except that
// heartbeats carry no block deletions and no block recoveries
// (holdBackLocked): an unknown replica may hold data written after the
// last recovered edit.
//
// # Retry cache
//
// Non-idempotent calls (create, append, delete, rename, rename2, truncate,
// setXAttr, removeXAttr) are keyed by (client id, call id). A retry of a
// call in progress waits for it; a retry of a finished call gets the first
// answer without a second edit. Ops carry the rpc client id and call id,
// and replay records them again, so the cache survives a restart (as
// Hadoop's FSEditLogLoader does). A replayed entry has no payload; a retry
// that hits one is answered from the current namespace (true, or the
// file's status).
//
// # Leases
//
// A lease is a client name (holder) with the files it has open. Adds,
// closes, deletes and renames keep the leases in step with the namespace,
// on the live path and on replay alike. renewLease refreshes a holder. The
// lease monitor (a goroutine owned by the Namesystem, stopped by Close)
// recovers every file of a holder whose hard limit expired, as
// recoverLease does at once (Hadoop's internalReleaseLease): a file whose
// last block no live DataNode holds loses that block and is closed
// (OP_UPDATE_BLOCKS, OP_CLOSE); otherwise block recovery starts (a new
// generation stamp is logged as the recovery id and the primary DataNode
// gets a recover-block command), recoverLease answers false, and the file
// closes when commitBlockSynchronization brings the agreed length.
//
// # Blocks and DataNodes
//
// The block manager (package blockmanagement) lives under the same lock.
// It is loaded from the namespace's blocks in New, fed after every Apply
// on every path (live, replay, tail: feedBlocksLocked puts the touched
// file's blocks again and removes Applied.RemovedBlocks), and enters the
// startup safe mode after the first Replay or Tail. DatanodeProtocol
// (datanode.go, RegisterDatanodeProtocol) feeds it registrations,
// heartbeats, reports and recovery results in every HA state; the
// heartbeat answer carries the HA state and txid (the DataNode fence) and,
// on the active only, the commands. A goroutine owned by the Namesystem
// (blockMonitor, stopped by Close) declares DataNodes dead, runs the
// replication monitor every RedundancyInterval and moves safe mode on.
// StartActive and Replay make the block manager active (queued standby
// reports applied, safe mode left at once if the thresholds are met);
// StopActive makes it standby. Safe mode, manual or startup, belongs to
// the block manager; SafeModeException texts carry its tip.
package namesystem
