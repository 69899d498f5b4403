package namesystem

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestReadWaitsForSync: while the journal is stalled an mkdirs is applied
// but not acknowledged, and a getFileInfo that would see it waits too.
func TestReadWaitsForSync(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	release := h.j.stall()
	mk := make(chan error, 1)
	go func() { mk <- h.call(superuser, "mkdirs", mkdirsReq("/a", 0o755, true), &hdfspb.MkdirsResponseProto{}) }()
	<-h.j.reachd
	// The op is applied (the namespace sees it) but not synced.
	for h.ns.LastAppliedTxID() < 1 {
		time.Sleep(time.Millisecond)
	}
	rd := make(chan *hdfspb.GetFileInfoResponseProto, 1)
	go func() {
		resp := &hdfspb.GetFileInfoResponseProto{}
		if err := h.call("alice", "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/a")}, resp); err != nil {
			t.Error(err)
		}
		rd <- resp
	}()
	select {
	case <-mk:
		t.Fatal("mkdirs acknowledged before its sync")
	case <-rd:
		t.Fatal("getFileInfo answered before the sync of what it saw")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if err := <-mk; err != nil {
		t.Fatal(err)
	}
	if r := <-rd; r.Fs == nil {
		t.Fatal("getFileInfo after sync: /a missing")
	}
}

// TestJournalFailureStopsAcknowledging: a failed sync fails the call, the
// namesystem, and everything after it.
func TestJournalFailureStopsAcknowledging(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	h.mustCall(superuser, "mkdirs", mkdirsReq("/ok", 0o755, true), &hdfspb.MkdirsResponseProto{})
	h.j.fail.Store(true)
	err := h.call(superuser, "mkdirs", mkdirsReq("/lost", 0o755, true), &hdfspb.MkdirsResponseProto{})
	if !errors.Is(err, rpc.ErrIO) {
		t.Fatalf("mkdirs with failed journal: %v", err)
	}
	select {
	case <-h.failed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnFailed not called")
	}
	h.j.fail.Store(false) // the journal "recovers": still nothing is acknowledged
	for _, c := range []struct {
		method    string
		req, resp proto.Message
	}{
		{"mkdirs", mkdirsReq("/after", 0o755, true), &hdfspb.MkdirsResponseProto{}},
		{"getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/ok")}, &hdfspb.GetFileInfoResponseProto{}},
		{"delete", &hdfspb.DeleteRequestProto{Src: proto.String("/ok"), Recursive: proto.Bool(true)}, &hdfspb.DeleteResponseProto{}},
	} {
		if err := h.call(superuser, c.method, c.req, c.resp); !errors.Is(err, rpc.ErrIO) {
			t.Errorf("%s after failure: %v, want IOException", c.method, err)
		}
	}
}

// TestRetryCache: a retried create/delete/rename gets the first answer
// without a second edit, also after a restart (rebuilt by replay).
func TestRetryCache(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	// Our own client, kept across the restart: its client id is the key.
	c, err := rpc.NewClient(rpc.DefaultClientConfig(superuser))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := c.NewAttempt()
	call := func(method string, req, resp proto.Message, at rpc.Attempt) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.Call(ctx, h.addr, ClientProtocol, method, req, resp, rpc.WithAttempt(at))
	}
	if err := call("create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{}, a); err != nil {
		t.Fatal(err)
	}
	txid := h.ns.LastAppliedTxID()
	resp := &hdfspb.CreateResponseProto{}
	if err := call("create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), resp, a.Retry()); err != nil {
		t.Fatalf("retried create: %v", err)
	}
	if resp.GetFs() == nil || h.ns.LastAppliedTxID() != txid {
		t.Fatalf("retried create: status %v, txid %d → %d", resp.GetFs(), txid, h.ns.LastAppliedTxID())
	}
	// A new call id is a new call: AlreadyBeingCreated.
	if err := h.call(superuser, "create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{}); !errors.Is(err, rpc.ErrAlreadyBeingCreated) {
		t.Fatalf("fresh create: %v", err)
	}
	h.mustCall(superuser, "complete", &hdfspb.CompleteRequestProto{Src: proto.String("/f"), ClientName: proto.String("c1")}, &hdfspb.CompleteResponseProto{})
	d := c.NewAttempt()
	dr := &hdfspb.DeleteResponseProto{}
	if err := call("delete", &hdfspb.DeleteRequestProto{Src: proto.String("/f"), Recursive: proto.Bool(false)}, dr, d); err != nil || !dr.GetResult() {
		t.Fatalf("delete: %v %v", dr.GetResult(), err)
	}
	h.restart()
	txid = h.ns.LastAppliedTxID()
	dr = &hdfspb.DeleteResponseProto{}
	if err := call("delete", &hdfspb.DeleteRequestProto{Src: proto.String("/f"), Recursive: proto.Bool(false)}, dr, d.Retry()); err != nil {
		t.Fatal(err)
	}
	if !dr.GetResult() {
		t.Error("retried delete after restart answered false: the retry cache was not rebuilt by replay")
	}
	resp = &hdfspb.CreateResponseProto{}
	if err := call("create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), resp, a.Retry().Retry()); err != nil {
		t.Fatalf("retried create after restart: %v", err)
	}
	if h.ns.LastAppliedTxID() != txid {
		t.Errorf("retries after restart logged edits: txid %d → %d", txid, h.ns.LastAppliedTxID())
	}
}

// TestRetryWhileInProgress: a retry that arrives while the first attempt
// waits for its sync waits too, and both get the one answer. (The rpc
// client refuses a call id already in flight on its connection, so the
// attempts call the handler directly, as two connections would.)
func TestRetryWhileInProgress(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	release := h.j.stall()
	type res struct {
		resp *hdfspb.CreateResponseProto
		err  error
	}
	out := make(chan res, 2)
	send := func(retry int32) {
		ctx := rpc.ContextWithCaller(context.Background(), &rpc.Caller{User: superuser, ClientID: []byte("0123456789abcdef"), CallID: 7, RetryCount: retry})
		resp, err := h.sys.create(ctx, createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true))
		out <- res{resp, err}
	}
	go send(0)
	<-h.j.reachd
	go send(1)
	time.Sleep(100 * time.Millisecond)
	if got := h.ns.LastAppliedTxID(); got != 1 {
		t.Fatalf("txid %d while the first create waits, want 1", got)
	}
	release()
	for i := 0; i < 2; i++ {
		r := <-out
		if r.err != nil || r.resp.GetFs().GetFileId() == 0 {
			t.Fatalf("attempt: %v %v", r.resp, r.err)
		}
	}
	if got := h.ns.LastAppliedTxID(); got != 1 {
		t.Fatalf("txid %d after both attempts, want 1", got)
	}
}
