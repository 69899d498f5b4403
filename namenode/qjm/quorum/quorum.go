// Package quorum is the majority arithmetic of the quorum journal, alone
// and pure: no I/O, no clocks, no goroutines. The QJM client's driver
// feeds it the answers of its JournalNodes and acts on the result.
package quorum

import (
	"fmt"
	"sort"
)

// Majority is the number of nodes out of n that form a write quorum:
// n/2+1, as Hadoop's AsyncLoggerSet.getMajoritySize.
func Majority(n int) int { return n/2 + 1 }

// Vote is one node's answer to a quorum call.
type Vote uint8

const (
	// VotePending: the node has not answered yet.
	VotePending Vote = iota
	// VoteSuccess: the node answered with success.
	VoteSuccess
	// VoteFailure: the node answered with an error (or is known to be
	// unreachable).
	VoteFailure
)

func (v Vote) String() string {
	switch v {
	case VotePending:
		return "pending"
	case VoteSuccess:
		return "success"
	case VoteFailure:
		return "failure"
	}
	return fmt.Sprintf("Vote(%d)", uint8(v))
}

// Result is the state of a quorum call.
type Result uint8

const (
	// Waiting: a quorum of successes is still possible but not reached.
	Waiting Result = iota + 1
	// Reached: a majority succeeded.
	Reached
	// Impossible: so many failed that a majority can never succeed.
	Impossible
)

func (r Result) String() string {
	switch r {
	case Waiting:
		return "waiting"
	case Reached:
		return "reached"
	case Impossible:
		return "impossible"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Tally returns the state of a call given every node's vote (len(votes)
// is the number of nodes). It declares Impossible as soon as more than
// n-Majority(n) nodes failed; Hadoop's waitForWriteQuorum waits for a
// majority of failures instead, which for an even n is one answer later.
func Tally(votes []Vote) Result {
	var ok, failed int
	for _, v := range votes {
		switch v {
		case VoteSuccess:
			ok++
		case VoteFailure:
			failed++
		}
	}
	return tally(len(votes), ok, failed)
}

func tally(n, ok, failed int) Result {
	maj := Majority(n)
	switch {
	case ok >= maj:
		return Reached
	case failed > n-maj:
		return Impossible
	default:
		return Waiting
	}
}

// Call tracks the answers to one quorum call to n nodes.
type Call struct {
	votes []Vote
	// ok and failed count the VoteSuccess and VoteFailure entries of votes.
	ok, failed int
}

// NewCall starts a call to n nodes.
func NewCall(n int) *Call { return &Call{votes: make([]Vote, n)} }

func (c *Call) record(node int, v Vote) {
	if node < 0 || node >= len(c.votes) {
		panic(fmt.Sprintf("quorum: node %d out of range [0,%d)", node, len(c.votes)))
	}
	if c.votes[node] != VotePending {
		panic(fmt.Sprintf("quorum: node %d answered twice (%v, then %v)", node, c.votes[node], v))
	}
	c.votes[node] = v
	if v == VoteSuccess {
		c.ok++
	} else {
		c.failed++
	}
}

// Succeed records a success from node. A node answers once.
func (c *Call) Succeed(node int) { c.record(node, VoteSuccess) }

// Fail records a failure from node. A node answers once.
func (c *Call) Fail(node int) { c.record(node, VoteFailure) }

// Result returns the state of the call.
func (c *Call) Result() Result { return tally(len(c.votes), c.ok, c.failed) }

// AllAnswered reports whether every node answered.
func (c *Call) AllAnswered() bool { return c.ok+c.failed == len(c.votes) }

// Vote returns node's vote.
func (c *Call) Vote(node int) Vote { return c.votes[node] }

// Successes returns the nodes that succeeded, in order.
func (c *Call) Successes() []int { return c.nodes(VoteSuccess) }

// Failures returns the nodes that failed, in order.
func (c *Call) Failures() []int { return c.nodes(VoteFailure) }

func (c *Call) nodes(v Vote) []int {
	var out []int
	for i, x := range c.votes {
		if x == v {
			out = append(out, i)
		}
	}
	return out
}

// CommittedValue returns the largest value that at least Majority(n) of
// the given per-node values reach, for n nodes of which len(values)
// answered (each value is what one node has, e.g. its highest synced txid
// or the number of txns it returned). ok is false when fewer than a
// majority answered. Hadoop uses this to serve only durable txns when
// tailing (selectRpcInputStreams with onlyDurableTxns).
func CommittedValue(n int, values []int64) (v int64, ok bool) {
	maj := Majority(n)
	if len(values) > n {
		panic(fmt.Sprintf("quorum: %d values from %d nodes", len(values), n))
	}
	if len(values) < maj {
		return 0, false
	}
	s := append([]int64(nil), values...)
	sort.Slice(s, func(i, j int) bool { return s[i] > s[j] })
	return s[maj-1], true
}
