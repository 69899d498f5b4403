package histcheck

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// w is a write by nn sent at ms send and answered at ms ack after t0.
func w(nn string, send, ack int) Op {
	return Op{NameNode: nn, Send: t0.Add(time.Duration(send) * time.Millisecond), Ack: t0.Add(time.Duration(ack) * time.Millisecond), Label: fmt.Sprintf("%s@%d", nn, send)}
}

func mustPass(t *testing.T, h []Op, changes int) Report {
	t.Helper()
	rep, err := Check(h)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.Changes != changes {
		t.Fatalf("changes %d, want %d; periods %+v", rep.Changes, changes, rep.Periods)
	}
	return rep
}

func mustViolate(t *testing.T, h []Op, a, b string) *Violation {
	t.Helper()
	_, err := Check(h)
	var v *Violation
	if !errors.As(err, &v) {
		t.Fatalf("Check: %v, want a violation", err)
	}
	if v.A.NameNode != a || v.B.NameNode != b {
		t.Fatalf("violation between %s and %s, want %s and %s: %v", v.A.NameNode, v.B.NameNode, a, b, v)
	}
	return v
}

func TestEmpty(t *testing.T) {
	rep := mustPass(t, nil, 0)
	if len(rep.Periods) != 0 {
		t.Fatalf("periods %v", rep.Periods)
	}
}

func TestSingleWriter(t *testing.T) {
	// Concurrent, overlapping writes of one NameNode: one period.
	h := []Op{w("nn1", 0, 5), w("nn1", 1, 3), w("nn1", 2, 9), w("nn1", 10, 11), w("nn1", 4, 6)}
	rep := mustPass(t, h, 0)
	if len(rep.Periods) != 1 {
		t.Fatalf("periods %+v", rep.Periods)
	}
	p := rep.Periods[0]
	if p.Writes != 5 || !p.Start().Equal(t0) || !p.End().Equal(t0.Add(11*time.Millisecond)) {
		t.Fatalf("period %+v", p)
	}
}

func TestCleanFailovers(t *testing.T) {
	h := []Op{
		w("nn1", 0, 2), w("nn1", 1, 3), w("nn1", 2, 4),
		// failover: nn2's writes all after nn1's last ack
		w("nn2", 10, 12), w("nn2", 11, 15), w("nn2", 13, 14),
		// and back
		w("nn1", 20, 21), w("nn1", 21, 25),
	}
	rep := mustPass(t, h, 2)
	if len(rep.Periods) != 3 {
		t.Fatalf("periods %+v", rep.Periods)
	}
	for i, want := range []struct {
		nn     string
		writes int
	}{{"nn1", 3}, {"nn2", 3}, {"nn1", 2}} {
		if p := rep.Periods[i]; p.NameNode != want.nn || p.Writes != want.writes {
			t.Fatalf("period %d: %+v, want %s with %d writes", i, p, want.nn, want.writes)
		}
	}
}

func TestOrderOfInputIrrelevant(t *testing.T) {
	h := []Op{w("nn1", 20, 21), w("nn2", 11, 15), w("nn1", 0, 2), w("nn2", 10, 12), w("nn1", 21, 25), w("nn1", 2, 4)}
	mustPass(t, h, 2)
	if h[0] != w("nn1", 20, 21) {
		t.Fatal("input modified")
	}
}

func TestGenuineInterleaving(t *testing.T) {
	// Both NameNodes acknowledge in one stretch of time, with no write
	// of either lying between two of the other's.
	h := []Op{w("nn1", 0, 2), w("nn2", 1, 3), w("nn1", 2, 5), w("nn2", 4, 6)}
	v := mustViolate(t, h, "nn1", "nn2")
	if v.BWrite != w("nn2", 1, 3) || v.AWrite != w("nn1", 0, 2) {
		t.Fatalf("boundary writes %v and %v", v.AWrite, v.BWrite)
	}
}

func TestPingPongWithProof(t *testing.T) {
	// Each foreign write lies entirely between two writes of the other: a
	// failover each time (implausibly fast, but consistent).
	h := []Op{w("nn1", 0, 1), w("nn2", 2, 3), w("nn1", 4, 5), w("nn2", 6, 7), w("nn1", 8, 9)}
	rep := mustPass(t, h, 4)
	if len(rep.Periods) != 5 {
		t.Fatalf("periods %+v", rep.Periods)
	}
}

func TestLateSentAckFromOldActive(t *testing.T) {
	// nn2 took over and acknowledged; then nn1 acknowledges a write sent
	// after that: nn1 still wrote after the new active did.
	h := []Op{
		w("nn1", 0, 1), w("nn1", 1, 2),
		w("nn2", 10, 11), w("nn2", 12, 13),
		w("nn1", 12, 14), // sent after nn2's first ack, not separated from nn2's second
		w("nn2", 15, 16),
	}
	v := mustViolate(t, h, "nn2", "nn1")
	if v.BWrite != w("nn1", 12, 14) || v.AWrite != w("nn2", 12, 13) {
		t.Fatalf("boundary writes %v and %v", v.AWrite, v.BWrite)
	}
}

func TestOldActiveAckAfterNewActiveAck(t *testing.T) {
	// A write in flight to nn1 across the failover, answered after nn2
	// acknowledged one sent later: ambiguous, flagged.
	h := []Op{w("nn1", 0, 1), w("nn1", 2, 20), w("nn2", 10, 12), w("nn2", 21, 22)}
	v := mustViolate(t, h, "nn1", "nn2")
	if v.AWrite != w("nn1", 2, 20) || v.BWrite != w("nn2", 10, 12) {
		t.Fatalf("boundary writes %v and %v", v.AWrite, v.BWrite)
	}
}

func TestOldActiveWritesAfterNewActive(t *testing.T) {
	// nn1's periods are split by nn2's write, but nn1 goes on while nn2's
	// period is still running.
	h := []Op{w("nn1", 0, 1), w("nn2", 2, 3), w("nn1", 4, 5), w("nn2", 4, 8), w("nn2", 7, 9)}
	mustViolate(t, h, "nn2", "nn1")
}

func TestEqualTimestamps(t *testing.T) {
	t.Run("TouchingPeriods", func(t *testing.T) {
		// nn1's last ack and nn2's first send read the same instant.
		mustPass(t, []Op{w("nn1", 0, 5), w("nn2", 5, 7)}, 1)
	})
	t.Run("ZeroLengthWindows", func(t *testing.T) {
		mustPass(t, []Op{w("nn1", 3, 3), w("nn2", 3, 3), w("nn1", 3, 3)}, 2)
	})
	t.Run("SplitTouchingBothSides", func(t *testing.T) {
		// nn2's write starts at nn1's ack and ends at nn1's next send.
		mustPass(t, []Op{w("nn1", 0, 2), w("nn2", 2, 4), w("nn1", 4, 6)}, 2)
	})
	t.Run("OneTickOver", func(t *testing.T) {
		// nn2's write ends one tick after nn1's next send: no proof of
		// a change in between, and the windows overlap.
		mustViolate(t, []Op{w("nn1", 0, 2), w("nn2", 2, 5), w("nn1", 4, 6)}, "nn1", "nn2")
	})
	t.Run("SameStart", func(t *testing.T) {
		mustViolate(t, []Op{w("nn1", 0, 2), w("nn2", 0, 1)}, "nn2", "nn1")
	})
}

func TestSplitUsesLatestAck(t *testing.T) {
	// nn1's write sent at 0 is answered at 10; nn2's [5,6] lies after
	// the ack of nn1's write sent at 1, but not after the one answered at
	// 10: no split, and the periods overlap.
	mustViolate(t, []Op{w("nn1", 0, 10), w("nn1", 1, 2), w("nn2", 5, 6), w("nn1", 11, 12)}, "nn1", "nn2")
}

func TestThreeNameNodes(t *testing.T) {
	h := []Op{w("nn1", 0, 1), w("nn2", 2, 3), w("nn3", 4, 5), w("nn1", 6, 7)}
	mustPass(t, h, 3)
	mustViolate(t, append(h, w("nn3", 6, 8)), "nn3", "nn1")
}

func TestInvalid(t *testing.T) {
	for _, h := range [][]Op{
		{w("", 0, 1)},
		{w("nn1", 2, 1)},
	} {
		if _, err := Check(h); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Check(%v): %v, want ErrInvalid", h, err)
		}
	}
}

func TestRecorder(t *testing.T) {
	var r Recorder
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				r.Record(w("nn1", g*1000+i, g*1000+i+1))
			}
		}()
	}
	wg.Wait()
	ops := r.Ops()
	if len(ops) != 400 {
		t.Fatalf("%d ops", len(ops))
	}
	mustPass(t, ops, 0)
}

// TestRandomAgainstNaive checks the overlap scan against comparing every
// pair of periods, on random histories of three NameNodes.
func TestRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		var h []Op
		n := 1 + rng.IntN(12)
		for range n {
			send := rng.IntN(40)
			h = append(h, w(fmt.Sprintf("nn%d", 1+rng.IntN(3)), send, send+rng.IntN(6)))
		}
		rep, err := Check(h)
		var v *Violation
		if err != nil && !errors.As(err, &v) {
			t.Fatal(err)
		}
		overlap := false
		for i, a := range rep.Periods {
			for _, b := range rep.Periods[i+1:] {
				if a.NameNode != b.NameNode && a.Start().Before(b.End()) && b.Start().Before(a.End()) {
					overlap = true
				}
			}
		}
		if overlap != (v != nil) {
			t.Fatalf("trial %d: %v: overlap %v, Check %v", trial, h, overlap, err)
		}
		if v != nil && !(v.B.Start().Before(v.A.End()) && v.AWrite.Ack.After(v.BWrite.Send)) {
			t.Fatalf("trial %d: violation %v does not show an overlap", trial, v)
		}
	}
}
