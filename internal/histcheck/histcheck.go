package histcheck

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Op is one acknowledged write as a client saw it.
type Op struct {
	// NameNode identifies the NameNode that acknowledged the write (its RPC
	// address, say). Required.
	NameNode string
	// Send is when the client sent the call, Ack when the answer arrived;
	// both read from the same clock, Send <= Ack.
	Send, Ack time.Time
	// Label names the write in reports (the path created, say). Optional.
	Label string
}

func (o Op) String() string {
	return fmt.Sprintf("%s by %s [%s, %s]", o.Label, o.NameNode, o.Send.Format("15:04:05.000000"), o.Ack.Format("15:04:05.000000"))
}

// Period is a stretch of real time in which one NameNode acted as writer: its
// acknowledged writes First..Last (by send time) with no write of another
// NameNode entirely in between. It spans [First.Send, Last.Ack].
type Period struct {
	NameNode    string
	First, Last Op // Last is the write acknowledged last
	Writes      int

	lo, hi int // the period's writes are ops[lo:hi] of its NameNode, by send time
}

// Start and End bound the period.
func (p Period) Start() time.Time { return p.First.Send }
func (p Period) End() time.Time   { return p.Last.Ack }

// Report is what Check found: the writer periods in order of start, and the
// number of times the writer changed from one NameNode to another.
type Report struct {
	Periods []Period
	Changes int
}

// ErrInvalid marks a history Check cannot judge (an Op without a NameNode,
// or acknowledged before it was sent).
var ErrInvalid = errors.New("histcheck: invalid history")

// Violation is the error Check returns when two NameNodes acted as writers
// in overlapping real time: A's period and B's overlap. AWrite and BWrite are
// the writes at the boundary: BWrite is the first write of the later-starting
// period B, AWrite the first write of A acknowledged after BWrite was sent.
type Violation struct {
	A, B           Period
	AWrite, BWrite Op
}

func (v *Violation) Error() string {
	return fmt.Sprintf("histcheck: split brain: %s and %s both acknowledged writes in overlapping time: %v (period of %d writes [%s, %s]) and %v (period of %d writes [%s, %s])",
		v.A.NameNode, v.B.NameNode,
		v.AWrite, v.A.Writes, v.A.Start().Format("15:04:05.000000"), v.A.End().Format("15:04:05.000000"),
		v.BWrite, v.B.Writes, v.B.Start().Format("15:04:05.000000"), v.B.End().Format("15:04:05.000000"))
}

// Recorder collects Ops from several goroutines.
type Recorder struct {
	mu struct {
		sync.Mutex
		ops []Op
	}
}

// Record adds one acknowledged write.
func (r *Recorder) Record(op Op) {
	r.mu.Lock()
	r.mu.ops = append(r.mu.ops, op)
	r.mu.Unlock()
}

// Ops returns a copy of what was recorded so far.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mu.ops)
}

// byNN is one NameNode's writes ordered by send time, with the suffix
// minimum of their ack times, so "is some write of this NameNode sent at or
// after t and acknowledged at or before u" is a binary search.
type byNN struct {
	ops    []Op
	minAck []time.Time // minAck[i] = min(ops[i:].Ack)
}

func (b *byNN) within(t, u time.Time) bool {
	i := sort.Search(len(b.ops), func(i int) bool { return !b.ops[i].Send.Before(t) })
	return i < len(b.ops) && !b.minAck[i].After(u)
}

// Check judges a history of acknowledged writes; see the package doc for
// the rules. It returns the writer periods and the number of writer changes
// with a nil error, a *Violation when two periods of different NameNodes
// overlap (the Report then holds the periods found), or an error wrapping
// ErrInvalid for a malformed history. The input is not modified.
func Check(history []Op) (Report, error) {
	groups := map[string]*byNN{}
	var names []string
	for i, op := range history {
		if op.NameNode == "" {
			return Report{}, fmt.Errorf("%w: write %d (%q) names no NameNode", ErrInvalid, i, op.Label)
		}
		if op.Ack.Before(op.Send) {
			return Report{}, fmt.Errorf("%w: write %d (%v) acknowledged before it was sent", ErrInvalid, i, op)
		}
		g, ok := groups[op.NameNode]
		if !ok {
			g = &byNN{}
			groups[op.NameNode] = g
			names = append(names, op.NameNode)
		}
		g.ops = append(g.ops, op)
	}
	sort.Strings(names)
	for _, g := range groups {
		sort.SliceStable(g.ops, func(i, j int) bool { return g.ops[i].Send.Before(g.ops[j].Send) })
		g.minAck = make([]time.Time, len(g.ops))
		for i := len(g.ops) - 1; i >= 0; i-- {
			g.minAck[i] = g.ops[i].Ack
			if i+1 < len(g.ops) && g.minAck[i+1].Before(g.minAck[i]) {
				g.minAck[i] = g.minAck[i+1]
			}
		}
	}

	var periods []Period
	for _, name := range names {
		ops := groups[name].ops
		cur := Period{NameNode: name, First: ops[0], Last: ops[0], Writes: 1, lo: 0, hi: 1}
		for k, next := range ops[1:] {
			k++
			// Split where another NameNode's write lies entirely between
			// the last ack so far and this send. Period.End is the latest
			// ack, not the previous write's: a write sent earlier may be
			// answered later.
			split := false
			for _, other := range names {
				if other != name && groups[other].within(cur.End(), next.Send) {
					split = true
					break
				}
			}
			if split {
				periods = append(periods, cur)
				cur = Period{NameNode: name, First: next, Last: next, Writes: 1, lo: k, hi: k + 1}
				continue
			}
			if next.Ack.After(cur.Last.Ack) {
				cur.Last = next
			}
			cur.Writes++
			cur.hi = k + 1
		}
		periods = append(periods, cur)
	}
	sort.SliceStable(periods, func(i, j int) bool {
		if !periods[i].Start().Equal(periods[j].Start()) {
			return periods[i].Start().Before(periods[j].Start())
		}
		return periods[i].End().Before(periods[j].End())
	})

	// Periods of one NameNode never overlap each other (a split needs a
	// foreign write between them), so only pairs of different NameNodes
	// need comparing.
	rep := Report{Periods: periods, Changes: max(len(periods)-1, 0)}
	// top[0] is the period with the latest end so far, top[1] the one with
	// the latest end among the other NameNodes': the candidates b can
	// overlap, whatever its NameNode.
	top := [2]int{-1, -1}
	for i, b := range periods {
		for _, j := range top {
			if j >= 0 && periods[j].NameNode != b.NameNode && b.Start().Before(periods[j].End()) {
				return rep, violation(groups[periods[j].NameNode].ops, periods[j], b)
			}
		}
		switch {
		case top[0] < 0 || b.End().After(periods[top[0]].End()):
			if top[0] >= 0 && periods[top[0]].NameNode != b.NameNode {
				top[1] = top[0]
			}
			top[0] = i
		case b.NameNode != periods[top[0]].NameNode && (top[1] < 0 || b.End().After(periods[top[1]].End())):
			top[1] = i
		}
	}
	// Without overlap, consecutive periods belong to different NameNodes:
	// two periods of one NameNode were split by a foreign write, whose own
	// period, disjoint from both, lies between them. So every boundary is a
	// change of writer.
	return rep, nil
}

// violation names the writes at the boundary of overlapping periods a and b
// (a starts first): b's first write and the first of a's writes (by send
// time) answered after it was sent; one exists because b starts before a ends.
func violation(aOps []Op, a, b Period) *Violation {
	v := &Violation{A: a, B: b, AWrite: a.Last, BWrite: b.First}
	for _, op := range aOps[a.lo:a.hi] {
		if op.Ack.After(b.First.Send) {
			v.AWrite = op
			break
		}
	}
	return v
}
