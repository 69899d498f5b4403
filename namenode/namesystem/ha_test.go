package namesystem

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// newStandby returns an HA namesystem over a fresh namespace formatted
// like the harness's, with no writer.
func newStandby(t *testing.T, h *harness) *Namesystem {
	return newPeer(t, h, "standby", func(c *Config) { c.HA, c.HostName = true, "nn2.test" })
}

// TestStandbyTailThenActive: a standby refuses checked calls, tails the
// active's edits (feeding its retry cache), and after StartActive answers
// a retried create from that cache.
func TestStandbyTailThenActive(t *testing.T) {
	h := newHarness(t, nil)
	c := h.client(superuser)
	first := c.NewAttempt()
	ctx := context.Background()
	if err := c.Call(ctx, h.addr, ClientProtocol, "create", createReq("/f", "DFSClient_1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{}, rpc.WithAttempt(first)); err != nil {
		t.Fatal(err)
	}
	h.mustCall(superuser, "mkdirs", mkdirsReq("/d", 0o755, true), &hdfspb.MkdirsResponseProto{})

	sb := newStandby(t, h)
	if sb.Active() || sb.EditLog() != nil {
		t.Fatal("an HA namesystem starts active")
	}
	_, err := sb.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")})
	if !errors.Is(err, rpc.ErrStandby) || err.Error() != ha.StandbyMessage(ha.Read, ha.Standby) {
		t.Fatalf("read on a standby: %v", err)
	}
	if _, err := sb.mkdirs(ctx, mkdirsReq("/x", 0o755, true)); !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("write on a standby: %v", err)
	}
	if _, err := sb.getHAServiceState(ctx, &hdfspb.HAServiceStateRequestProto{}); err != nil {
		t.Fatalf("unchecked call on a standby: %v", err)
	}

	// Tail through the active's own EditLog (reading needs no epoch).
	last, applied, err := sb.Tail(ctx, h.el)
	if err != nil || last != h.sys.AppliedTxID() || applied != int(last) {
		t.Fatalf("Tail = %d, %d, %v; active at %d", last, applied, err, h.sys.AppliedTxID())
	}
	if _, applied, err := sb.Tail(ctx, h.el); err != nil || applied != 0 {
		t.Fatalf("second Tail applied %d: %v", applied, err)
	}
	if sb.cache.size() == 0 {
		t.Fatal("tailing recorded no retry cache entry")
	}
	if _, _, err := h.sys.Tail(ctx, h.el); !errors.Is(err, ErrActive) {
		t.Fatalf("Tail on an active namesystem: %v", err)
	}

	// Fail over: the old writer closes, the standby recovers and writes.
	h.stop()
	lj, err := editlog.OpenLocal(vfs.Default, filepath.Join(h.dir, "edits"), nil)
	if err != nil {
		t.Fatal(err)
	}
	el, err := editlog.Open(lj, editlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	if err := el.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.Tail(ctx, el); err != nil {
		t.Fatal(err)
	}
	if err := sb.StartActive(ctx, el); err != nil {
		t.Fatal(err)
	}
	if sb.EditLog() != el || !sb.Active() {
		t.Fatal("EditLog() is not the writer while active")
	}
	// The file is open by DFSClient_1: its lease was rebuilt.
	if holders, files := sb.leases.counts(); holders != 1 || files != 1 {
		t.Fatalf("leases after StartActive: %d holders, %d files", holders, files)
	}
	cctx := rpc.ContextWithCaller(ctx, &rpc.Caller{User: superuser, ClientID: c.ClientID(), CallID: first.CallID})
	resp, err := sb.create(cctx, createReq("/f", "DFSClient_1", hdfspb.CreateFlagProto_CREATE, true))
	if err != nil || resp.GetFs() == nil {
		t.Fatalf("retried create on the new active: %v", err)
	}
	other := rpc.ContextWithCaller(ctx, &rpc.Caller{User: superuser, ClientID: c.ClientID(), CallID: first.CallID + 1000})
	if _, err := sb.create(other, createReq("/f", "DFSClient_2", hdfspb.CreateFlagProto_CREATE, true)); err == nil {
		t.Fatal("a new create of an open file succeeded")
	}
	if _, err := sb.mkdirs(ctx, mkdirsReq("/after", 0o755, true)); err != nil {
		t.Fatal(err)
	}

	// Step down: calls are refused and the writer is handed back.
	if w := sb.StopActive(); w != el {
		t.Fatal("StopActive did not return the writer")
	}
	if sb.EditLog() != nil {
		t.Fatal("EditLog() not nil after StopActive")
	}
	if sb.NeedsReload(el) {
		t.Fatal("a clean writer needs no reload")
	}
	if _, err := sb.mkdirs(ctx, mkdirsReq("/x", 0o755, true)); !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("write after StopActive: %v", err)
	}
}
