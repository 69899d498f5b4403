package namesystem

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestListingPages: a directory larger than dfs.ls.limit is listed in
// pages, each continuing after the last name of the one before.
func TestListingPages(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	const n = lsLimit + 5
	for i := 0; i < n; i++ {
		h.mustCall(superuser, "mkdirs", mkdirsReq(fmt.Sprintf("/big/d%05d", i), 0o755, true), &hdfspb.MkdirsResponseProto{})
	}
	var names []string
	after := []byte{}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		resp := &hdfspb.GetListingResponseProto{}
		h.mustCall("alice", "getListing", &hdfspb.GetListingRequestProto{Src: proto.String("/big"), StartAfter: after, NeedLocation: proto.Bool(false)}, resp)
		dl := resp.GetDirList()
		for _, e := range dl.GetPartialListing() {
			names = append(names, string(e.GetPath()))
		}
		if dl.GetRemainingEntries() == 0 {
			break
		}
		after = dl.GetPartialListing()[len(dl.GetPartialListing())-1].GetPath()
	}
	if len(names) != n || names[0] != "d00000" || names[n-1] != fmt.Sprintf("d%05d", n-1) {
		t.Fatalf("listed %d names, first %q last %q", len(names), names[0], names[len(names)-1])
	}
}

// TestSafeModeRefusesEveryMutation checks the message shape per call.
func TestSafeModeRefusesEveryMutation(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	h.mustCall(superuser, "mkdirs", mkdirsReq("/d", 0o755, true), &hdfspb.MkdirsResponseProto{})
	h.sys.SetSafeMode(true)
	for _, c := range []struct {
		method, prefix string
		req, resp      proto.Message
	}{
		{"create", "Cannot create file/d/f. Name node is in safe mode.", createReq("/d/f", "c", hdfspb.CreateFlagProto_CREATE, false), &hdfspb.CreateResponseProto{}},
		{"delete", "Cannot delete /d. Name node is in safe mode.", &hdfspb.DeleteRequestProto{Src: proto.String("/d"), Recursive: proto.Bool(true)}, &hdfspb.DeleteResponseProto{}},
		{"rename", "Cannot rename /d. Name node is in safe mode.", &hdfspb.RenameRequestProto{Src: proto.String("/d"), Dst: proto.String("/e")}, &hdfspb.RenameResponseProto{}},
		{"setPermission", "Cannot set permission for /d. Name node is in safe mode.", &hdfspb.SetPermissionRequestProto{Src: proto.String("/d"), Permission: perm(0o700)}, &hdfspb.SetPermissionResponseProto{}},
	} {
		err := h.call(superuser, c.method, c.req, c.resp)
		if err == nil || !startsWith(err.Error(), c.prefix) {
			t.Errorf("%s in safe mode: %v, want %q…", c.method, err, c.prefix)
		}
	}
	// Reads still work.
	if h.stat("/d") == nil {
		t.Error("getFileInfo in safe mode")
	}
}

func startsWith(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
