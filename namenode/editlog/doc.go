// Package editlog is the NameNode's edit log (Hadoop's FSEditLog): it
// assigns transaction ids to the namesystem's edits, writes them to a
// Journal with group commit, rolls and purges segments, replays edits at
// startup and for the standby's tailer, and latches the first journal
// failure.
//
// Edits are opaque bytes here (protobuf editpb.Op to the namesystem);
// txids start at 1 and are contiguous across segments. A segment holds no
// marker record: it is named by its first txid, and a segment without
// edits is never finalized (Roll of an empty segment is a no-op).
//
// # Journals
//
//   - QJMJournal (HA, dfs.namenode.shared.edits.dir = qjournal://...):
//     an adapter over qjm.Manager; durable = fsynced by a majority of
//     JournalNodes.
//   - LocalJournal (non-HA, dfs.namenode.edits.dir): segments in
//     <dir>/current/ in the format of package edits, through package vfs;
//     durable = fsynced to the local disk.
//
// # What callers must do
//
// Startup (and becoming active): Open → Recover → ReadFrom(lastApplied+1)
// applying each edit → StartWriting(last+1). A handler, for each change:
// under the namespace write lock, txid := Log(op) and apply(op) to the
// namespace; release the lock; Sync(ctx, txid); only then answer the
// client. A reader that would return a change whose txid may not be
// synced calls WaitSynced(ctx, txid) first. Roll for -rollEdits and
// checkpoints, Purge after a checkpoint, Close at shutdown. When OnFatal
// fires the NameNode stops serving: the log never acknowledges again.
//
// # Durability order
//
//  1. Log appends the edit to the forming batch (memory only) and returns
//     its txid. Not durable; invisible to clients.
//  2. A Sync that finds no flush in flight swaps the forming batch out
//     (a new one starts forming: the double buffer), appends it to the
//     journal's segment writer and syncs it: for the local journal one
//     write + fsync of the segment file; for QJM one journal() round
//     acknowledged by a quorum after each node's fsync.
//  3. Only after the journal's Sync returned nil is synced advanced to the
//     batch's last txid and are waiters woken: Sync(txid) returns nil only
//     when txid <= synced.
//  4. A segment's name is durable before any of its edits is
//     acknowledged: StartSegment fsyncs the new file's header and then the
//     directory (local), or returns after a quorum started it (QJM).
//     Finalization fsyncs the (fully synced) file, renames it and fsyncs
//     the directory before the next segment starts.
//  5. A journal error at 2 or 4 latches the failure before any waiter is
//     woken: synced never advances again, every pending and later Sync
//     returns an error wrapping ErrJournalFailed (even if the journal
//     recovers), and OnFatal is called once.
//
// # Concurrency
//
// One mutex guards the txid counters and the forming batch; the flush
// runs without it, marked by a flushing flag, so Log never waits for
// I/O unless the forming batch reached Options.MaxBufferedBytes. At most
// one flush is in flight. The package starts no goroutines: flushes run
// on the goroutines of Sync (or of a blocked Log), and journal I/O uses a
// context Close cancels.
package editlog
