package namespace

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func underConstruction(t *testing.T, ns *Namespace) string {
	t.Helper()
	var uc []string
	if err := ns.ForEachUnderConstruction(func(p string, s *FileStatus) error {
		uc = append(uc, p+"="+s.ClientName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(uc)
}

// The open-file index follows creates, completes, renames, overwrites and
// deletes, so the lease manager finds exactly the files under construction
// without scanning every inode.
func TestOpenFileIndex(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/a/f1", "/a/f2", "/b/f3"} {
		if err := e.create("hdfs", p, false); err != nil {
			t.Fatal(err)
		}
	}
	e.writeFile("hdfs", "/a/closed", 1, 1)
	if got := underConstruction(t, e.ns); got != "[/a/f1=DFSClient_hdfs /a/f2=DFSClient_hdfs /b/f3=DFSClient_hdfs]" {
		t.Fatalf("after creates: %s", got)
	}
	e.must(e.ns.PrepareComplete(e.call("hdfs"), "/a/f1", "DFSClient_hdfs", nil))
	op, _, err := e.ns.PrepareRenameOld(e.call("hdfs"), "/a/f2", "/b/moved")
	e.must(op, err)
	if got := underConstruction(t, e.ns); got != "[/b/moved=DFSClient_hdfs /b/f3=DFSClient_hdfs]" {
		t.Fatalf("after complete and rename: %s", got)
	}
	// Overwriting an open file replaces its inode: the old one leaves the index.
	if err := e.create("other", "/b/f3", true); err == nil {
		t.Fatal("overwrite by another user of a file it cannot write succeeded")
	}
	if err := e.create("hdfs", "/b/f3", true); err != nil {
		t.Fatal(err)
	}
	e.must(e.ns.PrepareDelete(e.call("hdfs"), "/b/moved", false))
	if got := underConstruction(t, e.ns); got != "[/b/f3=DFSClient_hdfs]" {
		t.Fatalf("after overwrite and delete: %s", got)
	}
	e.must(e.ns.PrepareDelete(e.call("hdfs"), "/b", true))
	if got := underConstruction(t, e.ns); got != "[]" {
		t.Fatalf("after recursive delete: %s", got)
	}
}

// A layout-1 store (before the index) is upgraded when opened.
func TestOpenUpgradesLayout1(t *testing.T) {
	dir := t.TempDir()
	ns, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Format(testInfo(), testRoot(), 1000); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ns: ns, now: 2000}
	if err := e.create("hdfs", "/open", false); err != nil {
		t.Fatal(err)
	}
	e.writeFile("hdfs", "/closed", 1, 1)
	want, err := ns.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	// Turn it into what layout 1 wrote: no index keys, version 1.
	b := ns.db.NewBatch()
	if err := b.DeleteRange([]byte{prefixOpen}, []byte{prefixOpen + 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(metaLayoutVersion, u64(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := ns.db.Apply(b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	ns, err = Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if got := underConstruction(t, ns); got != "[/open=DFSClient_hdfs]" {
		t.Fatalf("after upgrade: %s", got)
	}
	got, err := ns.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatal("the upgraded store differs from one written with the index")
	}
}
