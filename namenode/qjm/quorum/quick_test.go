package quorum

import (
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

// naiveTally decides by brute force: Reached if the successes already form
// a majority, Impossible if no way of resolving the pending votes reaches
// one, Waiting otherwise.
func naiveTally(votes []Vote) Result {
	n := len(votes)
	count := func(vs []Vote) int {
		c := 0
		for _, v := range vs {
			if v == VoteSuccess {
				c++
			}
		}
		return c
	}
	if count(votes)*2 > n {
		return Reached
	}
	var pending []int
	for i, v := range votes {
		if v == VotePending {
			pending = append(pending, i)
		}
	}
	for mask := 0; mask < 1<<len(pending); mask++ {
		vs := append([]Vote(nil), votes...)
		for b, i := range pending {
			if mask&(1<<b) != 0 {
				vs[i] = VoteSuccess
			} else {
				vs[i] = VoteFailure
			}
		}
		if count(vs)*2 > n {
			return Waiting
		}
	}
	return Impossible
}

// votesGen generates 0..9 votes.
type votesGen []Vote

func (votesGen) Generate(r *rand.Rand, size int) reflect.Value {
	vs := make(votesGen, r.Intn(10))
	for i := range vs {
		vs[i] = Vote(r.Intn(3))
	}
	return reflect.ValueOf(vs)
}

func TestTallyMatchesNaive(t *testing.T) {
	f := func(vs votesGen) bool { return Tally(vs) == naiveTally(vs) }
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

func TestCallMatchesTally(t *testing.T) {
	f := func(vs votesGen) bool {
		c := NewCall(len(vs))
		for i, v := range vs {
			switch v {
			case VoteSuccess:
				c.Succeed(i)
			case VoteFailure:
				c.Fail(i)
			}
		}
		return c.Result() == Tally(vs)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

// naiveCommitted tries every candidate value.
func naiveCommitted(n int, values []int64) (int64, bool) {
	best, ok := int64(0), false
	for _, cand := range values {
		c := 0
		for _, v := range values {
			if v >= cand {
				c++
			}
		}
		if c*2 > n && (!ok || cand > best) {
			best, ok = cand, true
		}
	}
	return best, ok
}

type committedGen struct {
	n      int
	values []int64
}

func (committedGen) Generate(r *rand.Rand, size int) reflect.Value {
	n := 1 + r.Intn(7)
	vs := make([]int64, r.Intn(n+1))
	for i := range vs {
		vs[i] = int64(r.Intn(20))
	}
	return reflect.ValueOf(committedGen{n, vs})
}

func TestCommittedValueMatchesNaive(t *testing.T) {
	f := func(g committedGen) bool {
		v1, ok1 := CommittedValue(g.n, g.values)
		v2, ok2 := naiveCommitted(g.n, g.values)
		return ok1 == ok2 && (!ok1 || v1 == v2)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}
