package zkfcrpc

import (
	"context"
	"testing"
	"time"
)

func TestAttemptsWait(t *testing.T) {
	var a Attempts
	ctx := context.Background()
	// Unhealthy: no waiting at all.
	if r, err := a.Wait(ctx, a.Mark(), time.Hour); r != nil || err != nil {
		t.Fatalf("unhealthy: %v, %v", r, err)
	}
	a.SetHealthy(true)
	a.Record(false, "old attempt")
	mark := a.Mark()
	// An attempt from before the mark does not count; no wait: nil.
	if r, err := a.Wait(ctx, mark, 0); r != nil || err != nil {
		t.Fatalf("old attempt: %v, %v", r, err)
	}

	got := make(chan *ActiveAttempt, 1)
	go func() {
		r, _ := a.Wait(ctx, mark, time.Hour)
		got <- r
	}()
	a.Record(true, "Successfully transitioned NameNode at /127.0.0.1:8020 to active state")
	if r := <-got; r == nil || !r.Succeeded || r.Status != "Successfully transitioned NameNode at /127.0.0.1:8020 to active state" {
		t.Fatalf("attempt %+v", r)
	}

	// Turning unhealthy ends a wait with nil.
	mark = a.Mark()
	go func() {
		r, _ := a.Wait(ctx, mark, time.Hour)
		got <- r
	}()
	a.SetHealthy(false)
	if r := <-got; r != nil {
		t.Fatalf("attempt %+v after turning unhealthy", r)
	}
	if a.Healthy() {
		t.Fatal("healthy")
	}

	// ctx ends a wait.
	a.SetHealthy(true)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if r, err := a.Wait(cctx, a.Mark(), time.Hour); r != nil || err != context.Canceled {
		t.Fatalf("cancelled: %v, %v", r, err)
	}
	// The timeout ends a wait with nil.
	if r, err := a.Wait(ctx, a.Mark(), time.Millisecond); r != nil || err != nil {
		t.Fatalf("timeout: %v, %v", r, err)
	}
}
