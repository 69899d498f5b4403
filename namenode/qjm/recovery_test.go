package qjm

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

// Builders for readable scenario tables.

func none(node int, writer int64) PrepareResponse {
	return PrepareResponse{Node: node, LastWriterEpoch: writer}
}

func ip(node int, start, end, writer int64) PrepareResponse {
	return PrepareResponse{Node: node, Segment: &SegmentState{start, end, true}, LastWriterEpoch: writer}
}

func fin(node int, start, end, writer int64) PrepareResponse {
	return PrepareResponse{Node: node, Segment: &SegmentState{start, end, false}, LastWriterEpoch: writer}
}

func (r PrepareResponse) accepted(epoch int64) PrepareResponse {
	r.AcceptedInEpoch, r.HasAcceptedInEpoch = epoch, true
	return r
}

func (r PrepareResponse) committed(txid int64) PrepareResponse {
	r.LastCommittedTxID, r.HasLastCommittedTxID = txid, true
	return r
}

// TestChooseRecovery walks the cases of the HDFS-3077 design and of
// Hadoop's QJM tests. Each row is the prepareRecovery answers a writer got
// from a quorum for segment 101, and what it must decide.
func TestChooseRecovery(t *testing.T) {
	type want struct {
		recover  bool
		segment  SegmentState
		source   int
		sources  []int
		accepted bool
		err      error
	}
	recoverFrom := func(source int, seg SegmentState, sources ...int) want {
		return want{recover: true, segment: seg, source: source, sources: sources}
	}
	for _, tc := range []struct {
		name  string
		resps []PrepareResponse
		want  want
	}{
		{
			name:  "logs in sync: every copy is as good, the first is used",
			resps: []PrepareResponse{ip(0, 101, 150, 1), ip(1, 101, 150, 1), ip(2, 101, 150, 1)},
			want:  recoverFrom(0, SegmentState{101, 150, true}, 0, 1, 2),
		},
		{
			name:  "writer died mid-batch: the longest log wins",
			resps: []PrepareResponse{ip(0, 101, 148, 1), ip(1, 101, 150, 1), ip(2, 101, 149, 1)},
			want:  recoverFrom(1, SegmentState{101, 150, true}, 1),
		},
		{
			name: "the longest log is on a node outside the quorum: its extra txids " +
				"were never acknowledged, the longest answer wins",
			resps: []PrepareResponse{ip(1, 101, 149, 1), ip(2, 101, 148, 1)},
			want:  recoverFrom(1, SegmentState{101, 149, true}, 1),
		},
		{
			name:  "a node never got the segment: any node with data beats it",
			resps: []PrepareResponse{none(0, 1), ip(1, 101, 120, 1)},
			want:  recoverFrom(1, SegmentState{101, 120, true}, 1),
		},
		{
			name:  "segment started on a minority only: nobody in the quorum has it, nothing to recover",
			resps: []PrepareResponse{none(1, 1), none(2, 1)},
			want:  want{recover: false},
		},
		{
			name: "writer died while finalizing: a finalized copy beats in-progress ones",
			resps: []PrepareResponse{
				ip(0, 101, 150, 1), fin(1, 101, 150, 1), ip(2, 101, 150, 1),
			},
			want: recoverFrom(1, SegmentState{101, 150, false}, 1),
		},
		{
			name:  "finalized beats a longer in-progress copy",
			resps: []PrepareResponse{ip(0, 101, 160, 1), fin(1, 101, 150, 1)},
			want:  recoverFrom(1, SegmentState{101, 150, false}, 1),
		},
		{
			name:  "two finalized copies agree: both are sources",
			resps: []PrepareResponse{fin(0, 101, 150, 1), fin(1, 101, 150, 1), ip(2, 101, 120, 1)},
			want:  recoverFrom(0, SegmentState{101, 150, false}, 0, 1),
		},
		{
			name:  "two finalized copies disagree: invariant broken, stop",
			resps: []PrepareResponse{fin(0, 101, 150, 1), fin(1, 101, 151, 1)},
			want:  want{err: ErrFinalizedMismatch},
		},
		{
			name:  "two finalized copies disagree, neither being the best, still stops",
			resps: []PrepareResponse{fin(0, 101, 150, 1), fin(2, 101, 151, 1), ip(1, 101, 150, 1)},
			want:  want{err: ErrFinalizedMismatch},
		},
		{
			name: "newer version of the segment wins: writer 2 recovered up to 100, " +
				"restarted 101 and died after one txid; writer 1's longer copy is dead",
			resps: []PrepareResponse{ip(0, 101, 150, 1), ip(1, 101, 101, 2)},
			want:  recoverFrom(1, SegmentState{101, 101, true}, 1),
		},
		{
			name: "an earlier recovery accepted 101-140 in epoch 2 on one node and died " +
				"before finalizing: that proposal beats a longer copy never accepted",
			resps: []PrepareResponse{ip(0, 101, 150, 1), ip(1, 101, 140, 1).accepted(2)},
			want:  want{recover: true, segment: SegmentState{101, 140, true}, source: 1, sources: []int{1}, accepted: true},
		},
		{
			name:  "two accepted proposals: the one from the later epoch wins, even if shorter",
			resps: []PrepareResponse{ip(0, 101, 145, 1).accepted(2), ip(1, 101, 140, 1).accepted(3)},
			want:  want{recover: true, segment: SegmentState{101, 140, true}, source: 1, sources: []int{1}, accepted: true},
		},
		{
			name: "a writer epoch newer than the accepted epoch counts " +
				"(max of accepted and last writer epoch, as SegmentRecoveryComparator)",
			resps: []PrepareResponse{ip(0, 101, 140, 1).accepted(3), ip(1, 101, 130, 4)},
			want:  recoverFrom(1, SegmentState{101, 130, true}, 1),
		},
		{
			name: "same accepted epoch on two nodes: the same proposal, both sources; " +
				"the longer unaccepted tail of the old writer loses",
			resps: []PrepareResponse{
				ip(2, 101, 150, 1), ip(0, 101, 140, 1).accepted(3), ip(1, 101, 140, 1).accepted(3),
			},
			want: want{recover: true, segment: SegmentState{101, 140, true}, source: 0, sources: []int{0, 1}, accepted: true},
		},
		{
			name: "safety: a node saw 145 committed but the choice ends at 140",
			resps: []PrepareResponse{
				ip(0, 101, 140, 2), ip(1, 101, 150, 1).committed(145),
			},
			want: want{err: ErrCommittedBeyondRecovery},
		},
		{
			name:  "committed txid at the chosen end is fine",
			resps: []PrepareResponse{ip(0, 101, 150, 1).committed(150), ip(1, 101, 149, 1).committed(120)},
			want:  recoverFrom(0, SegmentState{101, 150, true}, 0),
		},
		{
			name:  "committed txid with no segment anywhere does not matter",
			resps: []PrepareResponse{none(0, 1).committed(100), none(1, 1)},
			want:  want{recover: false},
		},
		{
			name:  "an answer about another segment is a protocol error",
			resps: []PrepareResponse{ip(0, 101, 150, 1), ip(1, 99, 150, 1)},
			want:  want{err: ErrSegmentMismatch},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ChooseRecovery(101, tc.resps)
			if tc.want.err != nil {
				if !errors.Is(err, tc.want.err) {
					t.Fatalf("err = %v, want %v", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{recover: d.Recover, segment: d.Segment, source: d.Source, sources: d.Sources, accepted: d.ReusesAccepted}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decision %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestChooseRecoveryNoAnswers(t *testing.T) {
	if _, err := ChooseRecovery(1, nil); err == nil {
		t.Fatal("no answers accepted")
	}
}

// respGen generates answers about segment 1 from a small space, so ties
// and every rule get exercised.
type respGen []PrepareResponse

func (respGen) Generate(r *rand.Rand, size int) reflect.Value {
	n := 1 + r.Intn(5)
	rs := make(respGen, n)
	for i := range rs {
		rs[i] = PrepareResponse{Node: i, LastWriterEpoch: int64(r.Intn(4))}
		if r.Intn(4) != 0 {
			// In-progress mostly; finalized ones all end at 9 so they agree.
			s := &SegmentState{StartTxID: 1, EndTxID: int64(1 + r.Intn(8)), InProgress: true}
			if r.Intn(5) == 0 {
				s.EndTxID, s.InProgress = 9, false
			}
			rs[i].Segment = s
		}
		if r.Intn(3) == 0 {
			rs[i].AcceptedInEpoch, rs[i].HasAcceptedInEpoch = int64(r.Intn(4)), true
		}
	}
	return reflect.ValueOf(rs)
}

// TestCompareRecoveryIsAnOrder: antisymmetric and transitive, so "the
// best" is well defined; and the choice is at least as good as every
// answer.
func TestCompareRecoveryIsAnOrder(t *testing.T) {
	f := func(rs respGen) bool {
		for _, a := range rs {
			for _, b := range rs {
				ab, err1 := CompareRecovery(a, b)
				ba, err2 := CompareRecovery(b, a)
				if err1 != nil || err2 != nil || ab != -ba {
					return false
				}
				for _, c := range rs {
					bc, _ := CompareRecovery(b, c)
					ac, _ := CompareRecovery(a, c)
					if ab >= 0 && bc >= 0 && ac < 0 {
						return false
					}
				}
			}
		}
		d, err := ChooseRecovery(1, rs)
		if err != nil {
			return false
		}
		var chosen PrepareResponse
		for _, r := range rs {
			if r.Node == d.Source {
				chosen = r
			}
		}
		for _, r := range rs {
			if c, _ := CompareRecovery(chosen, r); d.Recover && c < 0 {
				return false
			}
		}
		anySegment := false
		for _, r := range rs {
			anySegment = anySegment || r.Segment != nil
		}
		return d.Recover == anySegment && (!d.Recover || chosen.Segment != nil)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 3000}); err != nil {
		t.Fatal(err)
	}
}

func TestNextEpoch(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want int64
	}{
		{[]int64{0, 0, 0}, 1},
		{[]int64{3, 7, 5}, 8},
		{[]int64{4}, 5},
	} {
		got, err := NextEpoch(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NextEpoch(%v) = %d %v, want %d", tc.in, got, err, tc.want)
		}
	}
	if _, err := NextEpoch(nil); err == nil {
		t.Error("NextEpoch of nothing")
	}
}

func TestSegmentToRecover(t *testing.T) {
	seg := func(txid int64) NewEpochResponse { return NewEpochResponse{txid, true} }
	for _, tc := range []struct {
		in   []NewEpochResponse
		want string
	}{
		{[]NewEpochResponse{{}, {}}, "0 false"},                       // fresh journal
		{[]NewEpochResponse{seg(1), seg(101), {}}, "101 true"},        // one node ahead
		{[]NewEpochResponse{seg(101), seg(101), seg(51)}, "101 true"}, // a lagging node
		{[]NewEpochResponse{{}, seg(7)}, "7 true"},
	} {
		txid, ok := SegmentToRecover(tc.in)
		if got := fmt.Sprint(txid, ok); got != tc.want {
			t.Errorf("SegmentToRecover(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
