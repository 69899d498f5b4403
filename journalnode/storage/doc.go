// Package storage is a JournalNode's on-disk journal for one journal id:
// the state behind QJournalProtocol (HDFS-3077) as plain methods, without
// RPC. The JournalNode daemon maps its RPCs onto these methods and its
// errors onto Hadoop exception classes (see errors.go).
//
// # On-disk layout
//
//	<dir>/                            the journal directory, <edits.dir>/<journalId>
//	  in_use.lock                     flock held by the JournalNode daemon while
//	                                  the journal is open (not touched here)
//	  current/
//	    VERSION                       java-properties: namespaceID, clusterID,
//	                                  cTime, storageType=JOURNAL_NODE, layoutVersion
//	    last-promised-epoch           decimal text + "\n": highest epoch promised (newEpoch)
//	    last-writer-epoch             decimal text + "\n": epoch of the last writer
//	                                  that started a segment
//	    committed-txid                12 bytes: uint64 big-endian + CRC-32C of it;
//	                                  a lower bound on the txid committed on a
//	                                  quorum (best effort, see below)
//	    edits_inprogress_<first>      the open segment (see package edits)
//	    edits_<first>-<last>          finalized segments
//	    edits_inprogress_<first>.broken  copy of a segment kept before its torn
//	                                  tail was truncated (.broken.1, .broken.2, ...
//	                                  for later repairs of the same segment)
//	    edits_inprogress_<first>.empty   a segment with no records, moved aside
//	    edits_inprogress_<first>.epoch=<E>  a segment downloaded by
//	                                  AcceptRecovery in epoch E, not yet in place
//	    paxos/<segmentTxId>           the recovery proposal accepted for that
//	                                  segment (decimal name, no padding)
//	    *.tmp                         leftovers of atomic replacement; removed on Open
//
// The journal is formatted iff current/VERSION exists. A missing epoch or
// committed-txid file reads as 0 (no promise, no writer, nothing committed).
// Names, files and small-state formats follow Hadoop's JNStorage; the segment
// bytes are this project's (package edits), so the directory is not meant to
// be shared with a Java JournalNode.
//
// # Paxos file
//
// paxos/<segmentTxId> holds one accepted proposal, 33 bytes, big-endian,
// optionally followed by a human-readable line that readers ignore:
//
//	offset  size  field
//	0       4     magic "HPXS"
//	4       8     acceptedInEpoch, uint64
//	12      8     segment startTxId, uint64 (equals the file name)
//	20      8     segment endTxId, uint64
//	28      1     flags: bit 0 = segment isInProgress
//	29      4     CRC-32C (Castagnoli) of bytes [0, 29)
//
// # Durability order
//
// Every small state file but committed-txid (VERSION, the epochs, paxos
// data) is replaced atomically: temporary file, fsync, rename, fsync of
// the directory. What is durable before a method returns nil:
//
//   - NewEpoch, and any request carrying a higher epoch: last-promised-epoch
//     is durable before the answer (a promise must survive a crash, or an
//     old writer could be accepted again).
//   - Requests carrying a higher committedTxId: committed-txid is written
//     before the request's own work, best effort as Hadoop's
//     BestEffortLongFile: overwritten in place through a handle kept open,
//     no fsync, so the journal hot path pays one fsync (the segment's) and
//     no metadata change. After a crash it may hold an older value, or
//     nothing readable (short, empty or a bad CRC), which Open reads as 0. It is only a lower bound
//     used for sanity checks (recovery refuses to drop a txid below it), so
//     lagging is safe; it never runs ahead of what a writer reported.
//   - StartLogSegment: last-writer-epoch, then removal of paxos/<txid>, then
//     the new segment file with its header is fsynced and the current
//     directory is fsynced (the name is durable).
//   - Journal: the records are written and the segment file is fsynced
//     before Journal returns; only then are they added to the edit cache
//     and counted in HighestWrittenTxID. (Unlike Hadoop, a lagging node
//     that receives already-committed txids still fsyncs.)
//   - FinalizeLogSegment: the rename to edits_<first>-<last> and the fsync of
//     the directory precede the removal of the paxos file.
//   - AcceptRecovery: the downloaded segment is fsynced under its temporary
//     name and the directory fsynced; then the paxos file is written (the
//     commit point); then the temporary file is renamed into place and the
//     directory fsynced. A crash between the commit point and the rename is
//     rolled forward by the next PrepareRecovery.
//
// # Repair
//
// On Open, and before an in-progress segment is described, finalized or
// reused, it is scanned: a torn tail (see package edits) is truncated at the
// end of the last valid record after a copy of the whole file is kept as
// <name>.broken; a segment with no valid record is moved aside to
// <name>.empty; corruption (a bad record followed by valid data) is
// returned as an error wrapping edits.ErrCorrupt and never skipped.
//
// A Journal is safe for concurrent use; like Hadoop's, every operation
// runs under one lock.
package storage
