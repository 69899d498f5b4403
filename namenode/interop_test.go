package namenode

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// TestColinmarcInterop drives a running NameNode (local journal, no
// DataNodes) with github.com/colinmarc/hdfs/v2, a client nobody here wrote.
func TestColinmarcInterop(t *testing.T) {
	testcluster.CheckLeaks(t)
	cfg := testConfig(t, t.TempDir())
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn := startNN(t, cfg)
	t.Cleanup(func() { nn.Stop() })
	newClient := func(user string) *hdfs.Client {
		c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{nn.RPCAddress()}, User: user})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	root := newClient("hdfs")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("Mkdir", root.Mkdir("/user", 0o755))
	must("MkdirAll", root.MkdirAll("/user/alice", 0o755))
	must("Chown", root.Chown("/user/alice", "alice", "staff"))
	fi, err := root.Stat("/user/alice")
	must("Stat", err)
	if !fi.IsDir() || fi.Mode().Perm() != 0o755 || fi.(*hdfs.FileInfo).Owner() != "alice" || fi.(*hdfs.FileInfo).OwnerGroup() != "staff" {
		t.Errorf("Stat /user/alice = %v %v %s %s", fi.IsDir(), fi.Mode(), fi.(*hdfs.FileInfo).Owner(), fi.(*hdfs.FileInfo).OwnerGroup())
	}
	if _, err := root.Stat("/nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat missing: %v", err)
	}

	alice := newClient("alice")
	must("MkdirAll", alice.MkdirAll("/user/alice/a/b", 0o755))
	must("CreateEmptyFile", alice.CreateEmptyFile("/user/alice/empty"))
	fi, err = alice.Stat("/user/alice/empty")
	must("Stat file", err)
	if fi.IsDir() || fi.Size() != 0 {
		t.Errorf("empty file: %v %d", fi.IsDir(), fi.Size())
	}
	must("Chmod", alice.Chmod("/user/alice/empty", 0o600))
	mt := time.UnixMilli(1_600_000_000_000)
	must("Chtimes", alice.Chtimes("/user/alice/empty", mt, mt))
	fi, _ = alice.Stat("/user/alice/empty")
	if fi.Mode().Perm() != 0o600 || !fi.ModTime().Equal(mt) {
		t.Errorf("after Chmod/Chtimes: %v %v", fi.Mode(), fi.ModTime())
	}
	must("Rename", alice.Rename("/user/alice/empty", "/user/alice/a/moved"))
	ents, err := alice.ReadDir("/user/alice/a")
	must("ReadDir", err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "b,moved" {
		t.Errorf("ReadDir = %v", names)
	}
	must("SetXAttr", alice.SetXAttr("/user/alice/a/moved", "user.color", "blue"))
	xs, err := alice.GetXAttrs("/user/alice/a/moved", "user.color")
	must("GetXAttrs", err)
	if xs["user.color"] != "blue" {
		t.Errorf("GetXAttrs = %v", xs)
	}
	xs, err = alice.ListXAttrs("/user/alice/a/moved")
	must("ListXAttrs", err)
	if _, ok := xs["user.color"]; !ok || len(xs) != 1 {
		t.Errorf("ListXAttrs = %v", xs)
	}
	must("RemoveXAttr", alice.RemoveXAttr("/user/alice/a/moved", "user.color"))
	xs, _ = alice.ListXAttrs("/user/alice/a/moved")
	if len(xs) != 0 {
		t.Errorf("after RemoveXAttr: %v", xs)
	}
	cs, err := alice.GetContentSummary("/user/alice")
	must("GetContentSummary", err)
	if cs.FileCount() != 1 || cs.DirectoryCount() != 3 {
		t.Errorf("content summary: %d files, %d dirs", cs.FileCount(), cs.DirectoryCount())
	}
	_, err = alice.StatFs()
	must("StatFs", err)

	// Another user is denied.
	bob := newClient("bob")
	err = bob.Mkdir("/user/alice/bobs", 0o755)
	if !os.IsPermission(err) && !strings.Contains(err.Error(), "Permission denied: user=bob, access=WRITE") {
		t.Errorf("bob's mkdir: %v", err)
	}
	if err := bob.Remove("/user/alice/a/moved"); err == nil {
		t.Error("bob removed alice's file")
	}

	must("Remove", alice.Remove("/user/alice/a/moved"))
	if err := alice.Remove("/user/alice/a"); err == nil {
		t.Error("Remove of a non-empty directory succeeded")
	}
	must("RemoveAll", alice.RemoveAll("/user/alice/a"))
	if _, err := alice.Stat("/user/alice/a"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after RemoveAll: %v", err)
	}
}
