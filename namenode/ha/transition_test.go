package ha

import (
	"errors"
	"reflect"
	"testing"
)

func TestPlanFailover(t *testing.T) {
	steps, err := Plan(Standby, Active)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{StopCheckpointer, StopTailing, CatchUp, RecoverJournal, CatchUpRecovered, OpenSegment, StartActiveServices}
	if !reflect.DeepEqual(steps, want) {
		t.Fatalf("standby->active = %v, want %v", steps, want)
	}
	// Tailing stops before the epoch is taken, and the journal is read to
	// its end before and after recovery, before writing starts.
	idx := func(s Step) int {
		for i, x := range steps {
			if x == s {
				return i
			}
		}
		return -1
	}
	if !(idx(StopTailing) < idx(CatchUp) && idx(CatchUp) < idx(RecoverJournal) && idx(RecoverJournal) < idx(CatchUpRecovered) && idx(CatchUpRecovered) < idx(OpenSegment) && idx(OpenSegment) < idx(StartActiveServices)) {
		t.Fatalf("steps out of order: %v", steps)
	}
}

func TestPlanStepDown(t *testing.T) {
	steps, err := Plan(Active, Standby)
	if err != nil {
		t.Fatal(err)
	}
	if steps[0] != StopActiveServices || steps[1] != CloseWriter {
		t.Fatalf("active->standby must refuse calls, then close the writer first: %v", steps)
	}
	if steps[len(steps)-2] != StartTailing || steps[len(steps)-1] != StartCheckpointer {
		t.Fatalf("active->standby must end tailing and checkpointing: %v", steps)
	}
	for _, s := range steps {
		if s == RecoverJournal {
			t.Fatal("a standby must never take an epoch")
		}
	}
}

func TestPlanStartup(t *testing.T) {
	steps, _ := Plan(Initializing, Standby)
	for _, s := range steps {
		if s == RecoverJournal || s == OpenSegment {
			t.Fatalf("HA startup into standby runs %v", s)
		}
	}
	steps, _ = Plan(Initializing, Active)
	if steps[0] != RecoverJournal {
		t.Fatalf("non-HA startup = %v", steps)
	}
}

func TestPlanSameStateIsNoop(t *testing.T) {
	for _, s := range []State{Initializing, Standby, Active, Stopping} {
		steps, err := Plan(s, s)
		if err != nil || steps != nil {
			t.Fatalf("Plan(%v,%v) = %v, %v", s, s, steps, err)
		}
	}
}

func TestPlanIllegal(t *testing.T) {
	for _, c := range []struct{ from, to State }{
		{Stopping, Active}, {Stopping, Standby}, {Standby, Initializing}, {Active, Initializing}, {Stopping, Initializing},
	} {
		_, err := Plan(c.from, c.to)
		var na *NotAllowedError
		if !errors.As(err, &na) {
			t.Fatalf("Plan(%v,%v) err = %v", c.from, c.to, err)
		}
	}
	_, err := Plan(Stopping, Active)
	if got, want := err.Error(), "Transtion from state stopping to active is not allowed."; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

func TestEveryStateCanStop(t *testing.T) {
	for _, s := range []State{Initializing, Standby, Active} {
		steps, err := Plan(s, Stopping)
		if err != nil || steps[len(steps)-1] != StopEverything {
			t.Fatalf("%v->stopping = %v, %v", s, steps, err)
		}
	}
}

func TestTransitionsIsACopy(t *testing.T) {
	tr := Transitions()
	tr[0].Steps[0] = StopEverything
	if Transitions()[0].Steps[0] == StopEverything {
		t.Fatal("Transitions shares the table")
	}
}

func TestAllowsAndMessage(t *testing.T) {
	for _, c := range []Category{Read, Write, Checkpoint, Journal} {
		if !Active.Allows(c) || Standby.Allows(c) {
			t.Fatalf("category %v", c)
		}
	}
	if !Standby.Allows(Unchecked) || !Initializing.Allows(Unchecked) {
		t.Fatal("unchecked must pass")
	}
	if got, want := StandbyMessage(Read, Standby), "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error"; got != want {
		t.Fatalf("%q", got)
	}
	if got := StandbyMessage(Write, Standby); got != "Operation category WRITE is not supported in state standby. Visit https://s.apache.org/sbnn-error" {
		t.Fatalf("%q", got)
	}
}
