package sinktest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

func TestMemConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) tablestore.Sink { return sinktest.NewMem() })
}

func TestMemCorruptEdits(t *testing.T) {
	ctx := context.Background()
	m := sinktest.NewMem()
	for _, b := range []tablestore.Batch{sinktest.Batch(1, 3, "m"), sinktest.Batch(4, 3, "m")} {
		if err := m.PutEdits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if m.CorruptEdits(99) {
		t.Fatal("CorruptEdits of a missing key reported true")
	}
	if !m.CorruptEdits(4) {
		t.Fatal("CorruptEdits(4) found no batch")
	}
	var seen []int64
	err := m.ReadEdits(ctx, 1, func(b tablestore.Batch) error { seen = append(seen, b.First); return nil })
	var ce *tablestore.CorruptError
	if !errors.As(err, &ce) || ce.Object != "edits/0000000000000000004" {
		t.Fatalf("ReadEdits = %v, want a CorruptError naming edits/0000000000000000004", err)
	}
	if len(seen) != 1 || seen[0] != 1 {
		t.Fatalf("fn saw %v, want [1]", seen)
	}
	if _, err := m.LastTxID(ctx); !errors.Is(err, tablestore.ErrCorrupt) {
		t.Fatalf("LastTxID = %v, want ErrCorrupt", err)
	}
	if got := m.Keys(); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("Keys = %v", got)
	}
}

func TestFaulty(t *testing.T) {
	ctx := context.Background()
	mem := sinktest.NewMem()
	f := sinktest.NewFaulty(mem)
	if f.Unwrap() != tablestore.Sink(mem) || f.String() != mem.String() {
		t.Fatal("Faulty does not expose the wrapped sink")
	}
	if err := f.PutEdits(ctx, sinktest.Batch(1, 2, "up")); err != nil {
		t.Fatal(err)
	}
	if f.Calls() != 1 || f.Failures() != 0 {
		t.Fatalf("calls %d failures %d, want 1 and 0", f.Calls(), f.Failures())
	}

	f.SetDown(true)
	if !f.Down() {
		t.Fatal("Down() is false after SetDown(true)")
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"PutInfo", func() error { return f.PutInfo(ctx, tablestore.Info{}) }},
		{"GetInfo", func() error { _, err := f.GetInfo(ctx); return err }},
		{"PutEdits", func() error { return f.PutEdits(ctx, sinktest.Batch(3, 1, "down")) }},
		{"LastTxID", func() error { _, err := f.LastTxID(ctx); return err }},
		{"ReadEdits", func() error {
			return f.ReadEdits(ctx, 0, func(tablestore.Batch) error { t.Error("fn called while down"); return nil })
		}},
		{"PutImage", func() error { return f.PutImage(ctx, 1, strings.NewReader("x")) }},
		{"Images", func() error { _, err := f.Images(ctx); return err }},
		{"OpenImage", func() error { _, err := f.OpenImage(ctx, 1); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, sinktest.ErrDown) || !strings.Contains(err.Error(), c.name) {
			t.Fatalf("%s while down = %v, want an ErrDown naming the call", c.name, err)
		}
	}
	if want := int64(1 + len(calls)); f.Calls() != want || f.Failures() != int64(len(calls)) {
		t.Fatalf("calls %d failures %d, want %d and %d", f.Calls(), f.Failures(), want, len(calls))
	}
	// Nothing reached the wrapped sink while down.
	if keys := mem.Keys(); len(keys) != 1 {
		t.Fatalf("wrapped sink holds batches %v, want only [1]", keys)
	}

	f.SetDown(false)
	if err := f.PutEdits(ctx, sinktest.Batch(3, 1, "back")); err != nil {
		t.Fatalf("PutEdits after the outage: %v", err)
	}
	if last, err := f.LastTxID(ctx); err != nil || last != 3 {
		t.Fatalf("LastTxID = %d, %v; want 3", last, err)
	}

	// Close reaches the wrapped sink even while down.
	f.SetDown(true)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f.SetDown(false)
	if _, err := mem.LastTxID(ctx); err == nil {
		t.Fatal("the wrapped sink is still open after Faulty.Close")
	}
}
