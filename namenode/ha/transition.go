package ha

import "fmt"

// Step is one action of a transition, run in order by the NameNode.
type Step int

const (
	// StopCheckpointer stops the standby checkpointer and waits for it.
	StopCheckpointer Step = iota + 1
	// StopTailing stops the edit log tailer and waits for its round.
	StopTailing
	// CatchUp reads every edit durable on the journal (finalized and
	// in-progress segments) and applies it. It takes no epoch.
	CatchUp
	// RecoverJournal takes a new epoch (fencing every older writer) and
	// recovers the segment a previous writer left open.
	RecoverJournal
	// CatchUpRecovered applies the edits recovery made readable: the
	// namespace ends at the journal's last txid.
	CatchUpRecovered
	// OpenSegment starts writing a new segment at the next txid.
	OpenSegment
	// StartActiveServices starts lease management and makes the
	// namesystem accept client calls.
	StartActiveServices
	// StopActiveServices makes the namesystem refuse client calls
	// (StandbyException) and detaches the writer.
	StopActiveServices
	// CloseWriter syncs and finalizes the open segment (a failed writer
	// closes without writing) and releases the writer's journal.
	CloseWriter
	// ReloadNamespace reloads the namespace from the newest image when it
	// holds edits the journal may not have (a failed writer applied edits
	// it could not make durable). The driver skips it otherwise.
	ReloadNamespace
	// OpenReader opens a fresh journal reader (a new EditLog) for the
	// tailer: an EditLog that failed stays failed.
	OpenReader
	// StartTailing starts the edit log tailer.
	StartTailing
	// StartCheckpointer starts the standby checkpointer.
	StartCheckpointer
	// StopEverything stops whatever the current state runs (Stop).
	StopEverything
)

var stepNames = map[Step]string{
	StopCheckpointer: "stop checkpointer", StopTailing: "stop tailing", CatchUp: "catch up",
	RecoverJournal: "recover journal", CatchUpRecovered: "catch up recovered edits", OpenSegment: "open segment",
	StartActiveServices: "start active services", StopActiveServices: "stop active services",
	CloseWriter: "close writer", ReloadNamespace: "reload namespace", OpenReader: "open reader",
	StartTailing: "start tailing", StartCheckpointer: "start checkpointer", StopEverything: "stop everything",
}

func (s Step) String() string {
	if n, ok := stepNames[s]; ok {
		return n
	}
	return fmt.Sprintf("step(%d)", int(s))
}

// Transition is a legal move between two states and the steps it runs.
type Transition struct {
	From, To State
	Steps    []Step
}

// transitions is the table of legal moves. Moving to the state one is in
// is not listed: it is a no-op success (Plan returns no steps).
var transitions = []Transition{
	// HA startup: the namespace is loaded (image + every durable edit)
	// without an epoch; then tail.
	{Initializing, Standby, []Step{CatchUp, OpenReader, StartTailing, StartCheckpointer}},
	// Non-HA startup: recover and write at once.
	{Initializing, Active, []Step{RecoverJournal, CatchUpRecovered, OpenSegment, StartActiveServices}},
	// Failover: 1. stop tailing, 2. read to the end of the journal,
	// 3. recover with a new epoch, 4. open a new segment, 5. start
	// lease management and serve.
	{Standby, Active, []Step{StopCheckpointer, StopTailing, CatchUp, RecoverJournal, CatchUpRecovered, OpenSegment, StartActiveServices}},
	// Step down: close the writer, then tail again with a fresh reader.
	{Active, Standby, []Step{StopActiveServices, CloseWriter, ReloadNamespace, OpenReader, CatchUp, StartTailing, StartCheckpointer}},
	{Initializing, Stopping, []Step{StopEverything}},
	{Standby, Stopping, []Step{StopCheckpointer, StopTailing, StopEverything}},
	{Active, Stopping, []Step{StopActiveServices, CloseWriter, StopEverything}},
}

// NotAllowedError is the refusal of an illegal transition (Hadoop's
// ServiceFailedException text, typo included).
type NotAllowedError struct{ From, To State }

func (e *NotAllowedError) Error() string {
	return fmt.Sprintf("Transtion from state %s to %s is not allowed.", e.From, e.To)
}

// Plan returns the steps that move a NameNode from one state to another:
// none (and no error) when from == to, a *NotAllowedError when the move
// is illegal.
func Plan(from, to State) ([]Step, error) {
	if from == to {
		return nil, nil
	}
	for _, t := range transitions {
		if t.From == from && t.To == to {
			return append([]Step(nil), t.Steps...), nil
		}
	}
	return nil, &NotAllowedError{From: from, To: to}
}

// Transitions returns a copy of the table of legal transitions.
func Transitions() []Transition {
	out := make([]Transition, len(transitions))
	for i, t := range transitions {
		out[i] = Transition{t.From, t.To, append([]Step(nil), t.Steps...)}
	}
	return out
}

// Category is Hadoop's NameNode.OperationCategory: what kind of call a
// state must allow.
type Category int

const (
	// Unchecked calls are served in every state.
	Unchecked Category = iota
	Read
	Write
	Checkpoint
	Journal
)

// String is Hadoop's enum name, as StandbyException messages print it.
func (c Category) String() string {
	switch c {
	case Unchecked:
		return "UNCHECKED"
	case Read:
		return "READ"
	case Write:
		return "WRITE"
	case Checkpoint:
		return "CHECKPOINT"
	case Journal:
		return "JOURNAL"
	}
	return fmt.Sprintf("Category(%d)", int(c))
}

// Allows reports whether a NameNode in state s serves calls of category
// c: an active one serves everything, others only unchecked calls (stale
// reads on a standby are not offered).
func (s State) Allows(c Category) bool {
	return c == Unchecked || s == Active
}

// StandbyMessage is the text of the StandbyException a NameNode in state s
// answers to a call of category c (Hadoop 3's StandbyState.checkOperation).
func StandbyMessage(c Category, s State) string {
	return fmt.Sprintf("Operation category %s is not supported in state %s. Visit https://s.apache.org/sbnn-error", c, s)
}
