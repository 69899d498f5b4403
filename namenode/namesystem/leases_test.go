package namesystem

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func (h *harness) openBy(p string) string {
	h.t.Helper()
	st, err := h.ns.ResolvePath(p)
	if err != nil || st == nil {
		h.t.Fatalf("%s: %v %v", p, st, err)
	}
	return st.ClientName
}

func TestLeaseHardLimitRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	h.mustCall(superuser, "mkdirs", mkdirsReq("/tmp", 0o755, true), &hdfspb.MkdirsResponseProto{})
	h.mustCall(superuser, "setPermission", &hdfspb.SetPermissionRequestProto{Src: proto.String("/tmp"), Permission: perm(0o777)}, &hdfspb.SetPermissionResponseProto{})
	h.mustCall("alice", "create", createReq("/tmp/a", "c1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})
	h.mustCall("bob", "create", createReq("/tmp/b", "c2", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})

	h.clock.Advance(59 * time.Minute)
	h.mustCall("bob", "renewLease", &hdfspb.RenewLeaseRequestProto{ClientName: proto.String("c2")}, &hdfspb.RenewLeaseResponseProto{})
	h.sys.CheckLeases()
	if h.openBy("/tmp/a") != "c1" {
		t.Fatal("lease recovered before the hard limit")
	}
	h.clock.Advance(2 * time.Minute)
	h.sys.CheckLeases()
	if got := h.openBy("/tmp/a"); got != "" {
		t.Errorf("/tmp/a still open by %q after the hard limit", got)
	}
	if h.openBy("/tmp/b") != "c2" {
		t.Error("renewed lease of c2 was recovered")
	}
	// The recovery close was logged: it survives a restart, and the open
	// file of c2 keeps its lease.
	h.restart()
	if h.openBy("/tmp/a") != "" || h.openBy("/tmp/b") != "c2" {
		t.Fatal("lease state lost across restart")
	}
	if hs, fs := h.sys.leases.counts(); hs != 1 || fs != 1 {
		t.Errorf("leases after restart: %d holders, %d files", hs, fs)
	}
	h.clock.Advance(2 * time.Hour)
	h.sys.CheckLeases()
	if h.openBy("/tmp/b") != "" {
		t.Error("/tmp/b not recovered after restart + hard limit")
	}
}

func TestRecoverLease(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	h.mustCall(superuser, "create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})
	r := &hdfspb.RecoverLeaseResponseProto{}
	h.mustCall(superuser, "recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: proto.String("/f"), ClientName: proto.String("c2")}, r)
	if !r.GetResult() || h.openBy("/f") != "" {
		t.Fatalf("recoverLease: %v, open by %q", r.GetResult(), h.openBy("/f"))
	}
	// Renaming an open file moves its lease.
	h.mustCall(superuser, "create", createReq("/d/g", "c3", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})
	h.mustCall(superuser, "rename", &hdfspb.RenameRequestProto{Src: proto.String("/d"), Dst: proto.String("/e")}, &hdfspb.RenameResponseProto{})
	if h, p, ok := h.sys.leases.holderOf("/e/g"); !ok || h != "c3" {
		t.Fatalf("lease after rename: %q %v %v", h, p, ok)
	}
}

// TestLeaseSoftLimit: another client's create/append of a file whose
// holder stopped renewing for longer than the soft limit recovers it first.
func TestLeaseSoftLimit(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	h.mustCall(superuser, "create", createReq("/f", "c1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})
	err := h.call(superuser, "append", &hdfspb.AppendRequestProto{Src: proto.String("/f"), ClientName: proto.String("c2")}, &hdfspb.AppendResponseProto{})
	if err == nil {
		t.Fatal("append of a file another client writes succeeded within the soft limit")
	}
	h.clock.Advance(61 * time.Second)
	h.mustCall(superuser, "append", &hdfspb.AppendRequestProto{Src: proto.String("/f"), ClientName: proto.String("c2")}, &hdfspb.AppendResponseProto{})
	if got := h.openBy("/f"); got != "c2" {
		t.Fatalf("after soft limit: open by %q, want c2", got)
	}
}
