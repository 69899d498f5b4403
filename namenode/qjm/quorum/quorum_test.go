package quorum

import "testing"

func TestMajority(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4} {
		if got := Majority(n); got != want {
			t.Errorf("Majority(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestTallyExamples(t *testing.T) {
	const P, S, F = VotePending, VoteSuccess, VoteFailure
	for _, tc := range []struct {
		votes []Vote
		want  Result
	}{
		{[]Vote{P, P, P}, Waiting},
		{[]Vote{S, P, P}, Waiting},
		{[]Vote{S, S, P}, Reached},
		{[]Vote{S, F, P}, Waiting},
		{[]Vote{F, F, P}, Impossible},
		{[]Vote{S, F, F}, Impossible},
		{[]Vote{S, S, S, F, F}, Reached},
		{[]Vote{F, F, P, P, P}, Waiting},
		{[]Vote{F, F, F, P, P}, Impossible},
		// Four nodes: two failures already make three successes impossible.
		{[]Vote{F, F, P, P}, Impossible},
		{[]Vote{S, S, P, P}, Waiting},
		{nil, Impossible},
	} {
		if got := Tally(tc.votes); got != tc.want {
			t.Errorf("Tally(%v) = %v, want %v", tc.votes, got, tc.want)
		}
	}
}

func TestCallBookkeeping(t *testing.T) {
	c := NewCall(3)
	c.Fail(1)
	c.Succeed(2)
	if c.Result() != Waiting || c.AllAnswered() {
		t.Fatal(c.Result())
	}
	c.Succeed(0)
	if c.Result() != Reached || !c.AllAnswered() {
		t.Fatal(c.Result())
	}
	if got := c.Successes(); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Fatal(got)
	}
	if got := c.Failures(); len(got) != 1 || got[0] != 1 {
		t.Fatal(got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second answer from one node did not panic")
		}
	}()
	c.Fail(0)
}

func TestCommittedValueExamples(t *testing.T) {
	for _, tc := range []struct {
		n      int
		values []int64
		want   int64
		ok     bool
	}{
		{3, []int64{10, 7, 12}, 10, true},
		{3, []int64{10, 7}, 7, true},
		{3, []int64{10}, 0, false},
		{5, []int64{1, 2, 3, 4, 5}, 3, true},
		{4, []int64{9, 9, 1}, 1, true},
	} {
		got, ok := CommittedValue(tc.n, tc.values)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CommittedValue(%d, %v) = %d %v, want %d %v", tc.n, tc.values, got, ok, tc.want, tc.ok)
		}
	}
}
