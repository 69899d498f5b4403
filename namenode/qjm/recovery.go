package qjm

import (
	"errors"
	"fmt"
)

// SegmentState describes a segment on one JournalNode: Hadoop's
// SegmentStateProto.
type SegmentState struct {
	StartTxID  int64
	EndTxID    int64
	InProgress bool
}

func (s SegmentState) String() string {
	state := "finalized"
	if s.InProgress {
		state = "in-progress"
	}
	return fmt.Sprintf("%d-%d %s", s.StartTxID, s.EndTxID, state)
}

// PrepareResponse is one JournalNode's answer to prepareRecovery: Hadoop's
// PrepareRecoveryResponseProto, with the node that sent it.
type PrepareResponse struct {
	// Node identifies the JournalNode (its index in the writer's list).
	Node int
	// Segment is the node's segment (or the proposal it accepted), nil if
	// it has none.
	Segment *SegmentState
	// AcceptedInEpoch is the epoch in which the node accepted a recovery
	// proposal for this unfinalized segment, if HasAcceptedInEpoch.
	AcceptedInEpoch    int64
	HasAcceptedInEpoch bool
	// LastWriterEpoch is the epoch of the last writer that started a
	// segment on the node.
	LastWriterEpoch int64
	// LastCommittedTxID, if HasLastCommittedTxID, is the node's lower
	// bound on the committed txid.
	LastCommittedTxID    int64
	HasLastCommittedTxID bool
}

// seenEpoch is the newest epoch in which this copy of the segment was
// written or accepted.
func (r PrepareResponse) seenEpoch() int64 {
	if r.HasAcceptedInEpoch && r.AcceptedInEpoch > r.LastWriterEpoch {
		return r.AcceptedInEpoch
	}
	return r.LastWriterEpoch
}

// Errors of the recovery choice. Each is a protocol invariant broken by
// the answers (Hadoop raises AssertionError or IllegalArgumentException):
// the writer must not proceed.
var (
	// ErrSegmentMismatch: an answer describes a segment with another start.
	ErrSegmentMismatch = errors.New("qjm: prepareRecovery answers describe different segments")
	// ErrFinalizedMismatch: two nodes finalized the segment with different
	// ends.
	ErrFinalizedMismatch = errors.New("qjm: finalized segments with different lengths")
	// ErrCommittedBeyondRecovery: a node saw a txid committed beyond the
	// end of the chosen segment; recovering would lose committed edits.
	ErrCommittedBeyondRecovery = errors.New("qjm: a committed txid lies beyond the recovered segment")
)

// CompareRecovery orders two answers about the same segment as recovery
// sources, as Hadoop's SegmentRecoveryComparator: it returns >0 if a is
// better, <0 if b is, 0 if they are equally good.
//
//  1. An answer with a segment beats one without.
//  2. A finalized segment beats an in-progress one. Two finalized
//     segments must agree on their end (else ErrFinalizedMismatch).
//  3. Between in-progress segments, the one seen in the newer epoch wins,
//     where a copy's epoch is the larger of the epoch that accepted it in
//     an earlier recovery and the node's last writer epoch. A newer writer
//     may have restarted the segment shorter (it crashed right after
//     starting it), and an accepted proposal may be shorter than an
//     unaccepted longer tail: length alone would resurrect dead txids.
//  4. Then the longer segment wins.
func CompareRecovery(a, b PrepareResponse) (int, error) {
	if (a.Segment != nil) != (b.Segment != nil) {
		if a.Segment != nil {
			return 1, nil
		}
		return -1, nil
	}
	if a.Segment == nil {
		return 0, nil
	}
	as, bs := *a.Segment, *b.Segment
	if as.StartTxID != bs.StartTxID {
		return 0, fmt.Errorf("%w: %v and %v do not have the same start txid", ErrSegmentMismatch, as, bs)
	}
	if as.InProgress != bs.InProgress {
		if !as.InProgress {
			return 1, nil
		}
		return -1, nil
	}
	if !as.InProgress {
		if as.EndTxID != bs.EndTxID {
			return 0, fmt.Errorf("%w: %v (node %d) and %v (node %d)", ErrFinalizedMismatch, as, a.Node, bs, b.Node)
		}
		return 0, nil
	}
	if ae, be := a.seenEpoch(), b.seenEpoch(); ae != be {
		return cmp64(ae, be), nil
	}
	return cmp64(as.EndTxID, bs.EndTxID), nil
}

func cmp64(a, b int64) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// RecoveryDecision is what the writer does with a segment after prepare.
type RecoveryDecision struct {
	// Recover is false when no answer had the segment: it was started on
	// too few nodes to matter, and nothing is to be done.
	Recover bool
	// Segment is what every node is asked to accept, then finalize.
	Segment SegmentState
	// Source is the node whose copy the others fetch.
	Source int
	// Sources lists every node whose answer ties with Source, Source
	// first, so a fetch can fall back to another copy.
	Sources []int
	// ReusesAccepted is true when the chosen answer is a proposal accepted
	// in an earlier, unfinished recovery.
	ReusesAccepted bool
}

// ChooseRecovery picks the copy of segment segmentTxID to recover from the
// prepareRecovery answers of a quorum: the best answer by CompareRecovery
// (the earliest in resps among equals). It also checks that no node had
// seen a txid committed beyond the chosen end.
func ChooseRecovery(segmentTxID int64, resps []PrepareResponse) (RecoveryDecision, error) {
	if len(resps) == 0 {
		return RecoveryDecision{}, errors.New("qjm: no prepareRecovery answers")
	}
	for _, r := range resps {
		if r.Segment != nil && r.Segment.StartTxID != segmentTxID {
			return RecoveryDecision{}, fmt.Errorf("%w: node %d answered %v for segment %d", ErrSegmentMismatch, r.Node, *r.Segment, segmentTxID)
		}
	}
	best := 0
	for i := 1; i < len(resps); i++ {
		c, err := CompareRecovery(resps[i], resps[best])
		if err != nil {
			return RecoveryDecision{}, err
		}
		if c > 0 {
			best = i
		}
	}
	// Comparisons against the best only are enough to find it, but two
	// finalized copies that disagree must be caught even if neither is it.
	for i := range resps {
		for k := i + 1; k < len(resps); k++ {
			if _, err := CompareRecovery(resps[i], resps[k]); err != nil {
				return RecoveryDecision{}, err
			}
		}
	}
	b := resps[best]
	if b.Segment == nil {
		return RecoveryDecision{}, nil
	}
	d := RecoveryDecision{
		Recover:        true,
		Segment:        *b.Segment,
		Source:         b.Node,
		ReusesAccepted: b.HasAcceptedInEpoch,
	}
	d.Sources = append(d.Sources, b.Node)
	for i, r := range resps {
		if i == best {
			continue
		}
		if c, _ := CompareRecovery(r, b); c == 0 && r.Segment.EndTxID == b.Segment.EndTxID {
			d.Sources = append(d.Sources, r.Node)
		}
	}
	for _, r := range resps {
		if r.HasLastCommittedTxID && r.LastCommittedTxID > d.Segment.EndTxID {
			return RecoveryDecision{}, fmt.Errorf("%w: decided to synchronize log to %v but node %d had seen txid %d committed",
				ErrCommittedBeyondRecovery, d.Segment, r.Node, r.LastCommittedTxID)
		}
	}
	return d, nil
}

// NextEpoch is the epoch a new writer proposes once a quorum answered
// getJournalState: one more than the highest promise among the answers.
func NextEpoch(lastPromisedEpochs []int64) (int64, error) {
	if len(lastPromisedEpochs) == 0 {
		return 0, errors.New("qjm: no getJournalState answers")
	}
	m := lastPromisedEpochs[0]
	for _, e := range lastPromisedEpochs[1:] {
		m = max(m, e)
	}
	if m < 0 {
		return 0, fmt.Errorf("qjm: negative promised epoch %d", m)
	}
	return m + 1, nil
}

// NewEpochResponse is one JournalNode's answer to newEpoch.
type NewEpochResponse struct {
	// LastSegmentTxID, if HasLastSegmentTxID, is the first txid of the
	// node's latest segment holding a transaction.
	LastSegmentTxID    int64
	HasLastSegmentTxID bool
}

// SegmentToRecover returns the segment the new writer must recover: the
// latest segment any newEpoch responder has. ok is false on a fresh
// journal where no responder has one.
func SegmentToRecover(resps []NewEpochResponse) (txid int64, ok bool) {
	for _, r := range resps {
		if r.HasLastSegmentTxID && (!ok || r.LastSegmentTxID > txid) {
			txid, ok = r.LastSegmentTxID, true
		}
	}
	return txid, ok
}
