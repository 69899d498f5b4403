// Package histcheck checks a history of acknowledged writes, as clients saw
// them, for split brain: an interval of real time in which two NameNodes both
// acted as the writer of the namespace. It is pure: callers measure, it
// judges. It does no I/O and reads no clock.
//
// # What callers record
//
// For every write that succeeded (an error, a StandbyException or a
// timeout is not an acknowledgement and is not recorded), an Op: the
// NameNode that answered, the time the call was sent and the time its
// answer arrived, read from one clock (time.Now in one process, whose
// monotonic reading makes the comparisons safe). The answering NameNode must
// be certain, so callers address each NameNode explicitly (internal/rpc to
// one address) rather than through a failover client. Recorder collects Ops
// from many goroutines.
//
// # Why a correct system yields disjoint writer periods
//
// A NameNode acknowledges a write only after the edit is synced on a
// JournalNode quorum under its epoch. A new active first wins newEpoch on a
// quorum, after which every JournalNode of that quorum rejects the old
// epoch, and any two quorums intersect: from that instant on, the old
// active cannot sync, so it cannot acknowledge. Hence in real time the
// acknowledging NameNode changes only at failovers, and between two
// failovers exactly one NameNode acknowledges.
//
// A client does not see the instant of an acknowledgement, only that it lies
// in the window [Send, Ack] of its call. So the checker reasons from
// windows:
//
//   - A NameNode's writes, ordered by send time, form one writer period
//     [first Send, latest Ack] until a write acknowledged by another NameNode
//     lies entirely in between: sent at or after the latest Ack of the period
//     so far and answered at or before the next Send. Such a write proves the
//     other NameNode acknowledged in between, so the writer changed (and
//     changed back): the period is split there.
//   - Periods of different NameNodes must then be disjoint. If one starts
//     before the other ends, both NameNodes acknowledged writes whose windows
//     interleave with no proof of a failover in between: Check returns a
//     *Violation naming both periods, the first write of the later period and
//     the first write of the earlier one answered after it was sent.
//
// Equal timestamps count as ordered: an ack read at t and a send read at t
// are consistent with "acknowledged, then sent", since the real
// acknowledgement precedes the client's reading of it and the real arrival
// follows the send. So touching periods ([.., t] and [t, ..]) do not
// overlap, and a foreign write whose window touches both neighbours still
// splits. The allowed clock and latency slack is zero.
//
// The check is conservative. It flags the real split brain (an old active
// acknowledging after the new one did, including a write sent only after the
// new active's first acknowledgement), and also a history no single writer
// could explain without a complete failover inside one call's window: the
// old active's answer taking longer to reach its client than the whole
// takeover (fencing, newEpoch, recovery, a new segment and a write). An
// in-process test cluster is far from that; a history flagged there is a bug.
//
// # Writer changes
//
// Report.Changes counts the changes of writer between consecutive periods
// (by start). A test compares it with the failovers it caused: each
// failover that moved the active while writers kept writing is one change;
// a change no failover explains means the periods were split by writes of a
// NameNode that should not have acknowledged.
package histcheck
