package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"reflect"
	"testing"
)

// testFS runs the same behavioural checks against any FS rooted at dir.
func testFS(t *testing.T, fs FS, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sub := Join(dir, "a", "b")
	must(fs.MkdirAll(sub, 0o755))
	f, err := fs.Create(Join(sub, "f"))
	must(err)
	if _, err := f.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	must(f.Sync())
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); n != 5 || (err != nil && err != io.EOF) || string(buf) != "world" {
		t.Fatalf("ReadAt = %d %v %q", n, err, buf)
	}
	if _, err := f.ReadAt(buf, 8); err != io.EOF {
		t.Fatalf("short ReadAt err = %v, want EOF", err)
	}
	must(f.Truncate(5))
	if fi, err := f.Stat(); err != nil || fi.Size() != 5 {
		t.Fatalf("Stat after truncate = %v %v", fi, err)
	}
	must(f.Close())

	g, err := fs.OpenReadWrite(Join(sub, "f"))
	must(err)
	if _, err := g.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	must(g.Close())
	got, err := ReadFile(fs, Join(sub, "f"))
	must(err)
	if string(got) != "hello!" {
		t.Fatalf("contents = %q", got)
	}

	r, err := fs.Open(Join(sub, "f"))
	must(err)
	if _, err := r.Write([]byte("x")); err == nil {
		t.Fatal("write to read-only file succeeded")
	}
	must(r.Close())

	must(fs.Rename(Join(sub, "f"), Join(sub, "g")))
	names, err := fs.List(sub)
	must(err)
	if !reflect.DeepEqual(names, []string{"g"}) {
		t.Fatalf("List = %v", names)
	}
	if _, err := fs.Stat(Join(sub, "f")); !os.IsNotExist(err) {
		t.Fatalf("Stat of renamed file: %v", err)
	}
	if ok, err := Exists(fs, Join(sub, "g")); !ok || err != nil {
		t.Fatalf("Exists = %v %v", ok, err)
	}
	must(fs.SyncDir(sub))
	if err := fs.Remove(Join(dir, "a")); err == nil {
		t.Fatal("removed a non-empty directory")
	}
	must(WriteFileAtomic(fs, Join(sub, "g"), []byte("replaced")))
	got, err = ReadFile(fs, Join(sub, "g"))
	must(err)
	if string(got) != "replaced" {
		t.Fatalf("after WriteFileAtomic: %q", got)
	}
	must(fs.Remove(Join(sub, "g")))
	if _, err := fs.Open(Join(sub, "g")); !os.IsNotExist(err) {
		t.Fatalf("Open removed file: %v", err)
	}
	if _, err := fs.OpenReadWrite(Join(sub, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenReadWrite missing: %v", err)
	}
}

func TestOSFS(t *testing.T) { testFS(t, Default, t.TempDir()) }

func TestMemFS(t *testing.T) { testFS(t, NewMem(), "/data") }

func readOrMissing(t *testing.T, fs FS, name string) string {
	t.Helper()
	b, err := ReadFile(fs, name)
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, f File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestMemCrashCloneModel(t *testing.T) {
	fs := NewMem()
	if err := fs.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory not yet synced into its parent vanishes with its files.
	if _, err := fs.CrashClone().Stat("/d"); !os.IsNotExist(err) {
		t.Fatalf("unsynced directory survived a crash: %v", err)
	}
	if err := fs.SyncDir("/"); err != nil {
		t.Fatal(err)
	}

	f, _ := fs.Create("/d/synced-data-not-name")
	write(t, f, "abc")
	f.Sync()
	if got := readOrMissing(t, fs.CrashClone(), "/d/synced-data-not-name"); got != "<missing>" {
		t.Fatalf("file with unsynced name survived: %q", got)
	}
	fs.SyncDir("/d")
	if got := readOrMissing(t, fs.CrashClone(), "/d/synced-data-not-name"); got != "abc" {
		t.Fatalf("synced file after crash = %q", got)
	}
	// Unsynced appends are dropped.
	write(t, f, "def")
	if got := readOrMissing(t, fs.CrashClone(), "/d/synced-data-not-name"); got != "abc" {
		t.Fatalf("unsynced append survived: %q", got)
	}
	// Unsynced truncation is undone.
	f.Truncate(1)
	if got := readOrMissing(t, fs.CrashClone(), "/d/synced-data-not-name"); got != "abc" {
		t.Fatalf("unsynced truncate survived: %q", got)
	}
	f.Sync()
	f.Close()

	// Unsynced rename: old name keeps the file; new name keeps what it had.
	g, _ := fs.Create("/d/target")
	write(t, g, "old target")
	g.Sync()
	g.Close()
	fs.SyncDir("/d")
	if err := fs.Rename("/d/synced-data-not-name", "/d/target"); err != nil {
		t.Fatal(err)
	}
	c := fs.CrashClone()
	if got := readOrMissing(t, c, "/d/target"); got != "old target" {
		t.Fatalf("unsynced rename: target = %q", got)
	}
	if got := readOrMissing(t, c, "/d/synced-data-not-name"); got != "a" {
		t.Fatalf("unsynced rename: source = %q", got)
	}
	fs.SyncDir("/d")
	c = fs.CrashClone()
	if got := readOrMissing(t, c, "/d/target"); got != "a" {
		t.Fatalf("synced rename: target = %q", got)
	}
	if got := readOrMissing(t, c, "/d/synced-data-not-name"); got != "<missing>" {
		t.Fatalf("synced rename: source = %q", got)
	}

	// Unsynced remove: the file comes back with its synced contents.
	fs.Remove("/d/target")
	if got := readOrMissing(t, fs.CrashClone(), "/d/target"); got != "a" {
		t.Fatalf("unsynced remove: %q", got)
	}
	fs.SyncDir("/d")
	if got := readOrMissing(t, fs.CrashClone(), "/d/target"); got != "<missing>" {
		t.Fatalf("synced remove: %q", got)
	}

	// The clone is independent of the original.
	c = fs.CrashClone()
	h, _ := c.Create("/d/new")
	write(t, h, "x")
	h.Close()
	if _, err := fs.Stat("/d/new"); !os.IsNotExist(err) {
		t.Fatal("write to clone leaked into original")
	}
}

func TestMemCrashCloneTorn(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	fs.SyncDir("/")
	f, _ := fs.Create("/d/log")
	fs.SyncDir("/d")
	write(t, f, "synced|")
	f.Sync()
	write(t, f, "unsynced tail")
	sawShorter, sawLonger := false, false
	for seed := int64(0); seed < 200; seed++ {
		got := readOrMissing(t, fs.CrashCloneTorn(rand.New(rand.NewSource(seed))), "/d/log")
		if len(got) < len("synced|") || got[:7] != "synced|" {
			t.Fatalf("seed %d: synced prefix lost: %q", seed, got)
		}
		tail := []byte(got[7:])
		full := []byte("unsynced tail")[:len(tail)]
		// Each kept byte is either the written byte or (at the end) zero.
		i := 0
		for i < len(tail) && tail[i] == full[i] {
			i++
		}
		if !bytes.Equal(tail[i:], make([]byte, len(tail)-i)) {
			t.Fatalf("seed %d: torn tail %q is not prefix+zeros", seed, tail)
		}
		if len(tail) < len(full) || len(tail) == 0 {
			sawShorter = true
		}
		if len(tail) > 0 {
			sawLonger = true
		}
	}
	if !sawShorter || !sawLonger {
		t.Fatal("torn clones did not vary")
	}
	// A file rewritten since its sync falls back to the synced contents.
	f.Truncate(0)
	write(t, f, "rewritten entirely, and longer than before")
	if got := readOrMissing(t, fs.CrashCloneTorn(rand.New(rand.NewSource(1))), "/d/log"); got != "synced|" {
		t.Fatalf("rewritten file: %q", got)
	}
}

func TestMemClosedFile(t *testing.T) {
	fs := NewMem()
	f, _ := fs.Create("/x")
	f.Close()
	if _, err := f.Write([]byte("a")); err == nil {
		t.Fatal("write after close")
	}
	if err := f.Close(); err == nil {
		t.Fatal("double close")
	}
}

func TestMkdirAllDurable(t *testing.T) {
	fs := NewMem()
	if err := fs.MkdirAll("/a", 0o755); err != nil {
		t.Fatal(err)
	}
	fs.SyncDir("/")
	if err := MkdirAllDurable(fs, "/a/b/c/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.CrashClone().Stat("/a/b/c/d"); err != nil {
		t.Fatalf("created directories not durable: %v", err)
	}
	if err := MkdirAllDurable(fs, "/a/b", 0o755); err != nil {
		t.Fatal(err)
	}
}
