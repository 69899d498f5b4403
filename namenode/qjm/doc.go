// Package qjm is the NameNode's client of the quorum journal (Hadoop's
// QuorumJournalManager, HDFS-3077): it writes the shared edit log to a
// majority of JournalNodes, fences older writers with epochs, recovers
// the segment a crashed writer left open, and reads edits back.
//
// The pure decisions (which epoch to propose, which segment to recover,
// whose copy wins) are functions without I/O in recovery.go; quorum
// arithmetic lives in package quorum. The driver around them:
//
//   - channel (IPCLoggerChannel): one per JournalNode; a single goroutine
//     runs its calls in submission order and completes futures. Writer
//     calls carry the epoch, an IPC serial taken at submission and the
//     committed txid. A failed journal() puts the channel out of sync:
//     journal() calls are skipped until a startLogSegment succeeds on it.
//     Unsent journal() bytes are bounded (QueueLimitBytes).
//   - loggerSet + quorumCall (AsyncLoggerSet, QuorumCall): a call goes to
//     every channel; the caller waits for a majority of successes, and
//     fails with a *QuorumError naming each node's failure when a majority
//     becomes impossible or the per-operation timeout passes.
//   - Manager: Format, HasSomeData, IsFormatted, Recover, StartLogSegment,
//     FinalizeLogSegment, PurgeLogsOlderThan, SelectInputStreams.
//   - SegmentWriter (QuorumOutputStream): Append frames edits (package
//     edits), Sync/Flush sends one journal() batch and returns when a
//     quorum fsynced it.
//
// The recovery of a writer that takes over, as Recover drives it:
//
//  1. getJournalState on every JournalNode; wait for a quorum; propose
//     NextEpoch of the answers.
//  2. newEpoch(epoch) on every node; wait for a quorum (a node that
//     promised a higher epoch refuses: another writer won).
//  3. SegmentToRecover of the newEpoch answers; if none, nothing to
//     recover.
//  4. prepareRecovery(segment) on every node; wait for a quorum.
//  5. ChooseRecovery of the prepare answers; if it says Recover,
//     acceptRecovery(decision.Segment, URL of decision.Source) on every
//     node and wait for a quorum, then finalizeLogSegment(start, end) and
//     wait for a quorum.
//
// What a caller must do: a writer error is final (ErrWriterFailed; with
// ErrFenced when a newer writer took the journal). The NameNode must stop
// acknowledging writes and step down; nothing appended after the last
// successful Sync may be reported durable. See docs/qjm.md.
package qjm
