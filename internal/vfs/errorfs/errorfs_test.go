package errorfs

import (
	"errors"
	"os"
	"testing"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

func TestOnIndexFailsOnlyThatOp(t *testing.T) {
	mem := vfs.NewMem()
	inj := OnIndex(2, OpWrite)
	fs := Wrap(mem, inj)
	f, err := fs.Create("/f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("b")); !errors.Is(err, ErrInjected) {
		t.Fatalf("2nd write err = %v", err)
	}
	if _, err := f.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := vfs.ReadFile(mem, "/f")
	if string(b) != "ac" {
		t.Fatalf("contents %q: a failed write must write nothing", b)
	}
	if inj.N() != 3 || !inj.Fired() {
		t.Fatalf("N=%d fired=%v", inj.N(), inj.Fired())
	}
}

func TestAfterIndexIsSticky(t *testing.T) {
	mem := vfs.NewMem()
	inj := AfterIndex(3, Mutating)
	fs := Wrap(mem, inj)
	steps := []func() error{
		func() error { return fs.MkdirAll("/d", 0o755) },
		func() error { return fs.SyncDir("/") },
		func() error { _, err := fs.Create("/d/x"); return err },
		func() error { return fs.Rename("/d/x", "/d/y") },
		func() error { return fs.Remove("/d") },
	}
	for i, step := range steps {
		err := step()
		if i < 2 && err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i >= 2 && !errors.Is(err, ErrInjected) {
			t.Fatalf("step %d: err = %v, want injected", i, err)
		}
	}
	// Reads are not in the set and still work.
	if _, err := fs.Stat("/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat("/d/x"); !os.IsNotExist(err) {
		t.Fatalf("failed create had an effect: %v", err)
	}
}

func TestCountInjectsNothing(t *testing.T) {
	inj := Count(OpSync | OpSyncDir)
	fs := Wrap(vfs.NewMem(), inj)
	f, _ := fs.Create("/f")
	f.Write([]byte("x"))
	f.Sync()
	f.Sync()
	fs.SyncDir("/")
	f.Close()
	if inj.N() != 3 || inj.Fired() {
		t.Fatalf("N=%d fired=%v", inj.N(), inj.Fired())
	}
}

func TestOpString(t *testing.T) {
	if got := (OpWrite | OpSync).String(); got != "write|sync" {
		t.Fatal(got)
	}
}
