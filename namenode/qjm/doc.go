// Package qjm holds the pure decisions of the quorum journal writer
// (Hadoop's QuorumJournalManager, HDFS-3077): which epoch to propose,
// which segment needs recovery, and which JournalNode's copy of that
// segment the recovery adopts. No I/O, clocks or goroutines: the networked
// client (later) asks the JournalNodes, feeds their answers here, and sends
// what these functions decide. Quorum arithmetic lives in package quorum.
//
// The recovery of a writer that takes over, as the client drives it:
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
package qjm
