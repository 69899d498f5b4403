package filesink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

func open(t *testing.T, dir string) *Sink {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func mustPut(t *testing.T, s *Sink, b tablestore.Batch) {
	t.Helper()
	if err := s.PutEdits(ctx(t), b); err != nil {
		t.Fatalf("PutEdits(%d): %v", b.First, err)
	}
}

// tempFiles lists the temp files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if want := "file://" + dir; s.String() != want {
		t.Fatalf("String() = %q, want %q", s.String(), want)
	}
	info := tablestore.Info{NamespaceID: 5, ClusterID: "CID-a", BlockPoolID: "BP-5", CTime: 9, LayoutVersion: -66}
	b := sinktest.Batch(101, 3, "layout")
	img := []byte("image stream bytes, stored exactly as given")
	if err := s.PutInfo(ctx(t), info); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, b)
	if err := s.PutImage(ctx(t), 100, bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		rel  string
		want []byte
	}{
		{"info", tablestore.EncodeInfo(info)},
		{"edits/0000000000000000101", tablestore.EncodeBatch(b)},
		{"images/0000000000000000100", img},
	} {
		got, err := os.ReadFile(filepath.Join(dir, f.rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.want) {
			t.Fatalf("%s holds %d bytes unlike the %d expected", f.rel, len(got), len(f.want))
		}
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("temp files left after successful writes: %v", tmp)
	}
	if EditsObject(101) != "edits/0000000000000000101" || ImageObject(100) != "images/0000000000000000100" {
		t.Fatalf("EditsObject(101) = %q, ImageObject(100) = %q", EditsObject(101), ImageObject(100))
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
	s := open(t, t.TempDir())
	if err := s.PutImage(ctx(t), -1, strings.NewReader("x")); err == nil {
		t.Fatal("PutImage of txid -1 succeeded")
	}
	if _, err := s.OpenImage(ctx(t), -1); err == nil {
		t.Fatal("OpenImage of txid -1 succeeded")
	}
	if err := s.PutInfo(ctx(t), tablestore.Info{ClusterID: strings.Repeat("x", tablestore.MaxIDLen+1)}); err == nil {
		t.Fatal("PutInfo of an overlong cluster id succeeded")
	}
}

// TestCrashLeftoversInvisibleAndRemoved: temp files a crashed writer
// left (even complete, valid ones) are never objects, and Open removes
// them.
func TestCrashLeftoversInvisibleAndRemoved(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	mustPut(t, s, sinktest.Batch(1, 5, "kept"))
	leftovers := map[string][]byte{
		"edits/" + tempPrefix + "0000000000000000006-0123456789abcdef": tablestore.EncodeBatch(sinktest.Batch(6, 4, "crashed")),
		"edits/" + tempPrefix + "0000000000000000010-00":               []byte("HMEB torn"),
		"images/" + tempPrefix + "0000000000000000005-ffff":            []byte("half an image"),
		tempPrefix + "info-1234":                                       tablestore.EncodeInfo(tablestore.Info{ClusterID: "crashed"}),
	}
	for rel, data := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Sink) {
		t.Helper()
		if v, err := s.LastTxID(ctx(t)); err != nil || v != 5 {
			t.Fatalf("LastTxID = %d, %v; want 5", v, err)
		}
		var firsts []int64
		if err := s.ReadEdits(ctx(t), 0, func(b tablestore.Batch) error { firsts = append(firsts, b.First); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(firsts, []int64{1}) {
			t.Fatalf("ReadEdits saw batches %v, want [1]", firsts)
		}
		if ids, err := s.Images(ctx(t)); err != nil || len(ids) != 0 {
			t.Fatalf("Images = %v, %v; want none", ids, err)
		}
		if _, err := s.GetInfo(ctx(t)); !errors.Is(err, tablestore.ErrNotFound) {
			t.Fatalf("GetInfo = %v, want ErrNotFound", err)
		}
	}
	check(s) // invisible to a sink that is already open
	s2 := open(t, dir)
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("Open left temp files %v", tmp)
	}
	check(s2)
	mustPut(t, s2, sinktest.Batch(6, 1, "after")) // the crashed writer's key is free
}

// TestCorruptObjectsNamed: damaged objects are reported as a
// *CorruptError naming them, and never passed to fn.
func TestCorruptObjectsNamed(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for _, b := range []tablestore.Batch{sinktest.Batch(1, 100, "c"), sinktest.Batch(101, 100, "c"), sinktest.Batch(201, 100, "c")} {
		mustPut(t, s, b)
	}
	p101 := filepath.Join(dir, "edits", "0000000000000000101")
	data, err := os.ReadFile(p101)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x01
	if err := os.WriteFile(p101, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	wantCorrupt := func(err error, object, reason string) {
		t.Helper()
		var ce *tablestore.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, tablestore.ErrCorrupt) {
			t.Fatalf("got %v, want a *CorruptError", err)
		}
		if ce.Object != object || ce.Sink != s.String() || !strings.Contains(ce.Reason, reason) {
			t.Fatalf("CorruptError %+v, want object %q in %q with a reason saying %q", ce, object, s.String(), reason)
		}
	}
	var seen []int64
	err = s.ReadEdits(ctx(t), 1, func(b tablestore.Batch) error { seen = append(seen, b.First); return nil })
	wantCorrupt(err, "edits/0000000000000000101", "checksum mismatch")
	if !slices.Equal(seen, []int64{1}) {
		t.Fatalf("fn saw %v, want only [1] (reading stops at the corrupt batch)", seen)
	}
	// A read that starts after the damaged batch never opens it.
	seen = nil
	if err := s.ReadEdits(ctx(t), 201, func(b tablestore.Batch) error { seen = append(seen, b.First); return nil }); err != nil || !slices.Equal(seen, []int64{201}) {
		t.Fatalf("ReadEdits(201) = %v, saw %v; want [201]", err, seen)
	}

	// A torn (truncated) highest batch: LastTxID names it.
	p201 := filepath.Join(dir, "edits", "0000000000000000201")
	if err := os.Truncate(p201, 1000); err != nil {
		t.Fatal(err)
	}
	_, err = s.LastTxID(ctx(t))
	wantCorrupt(err, "edits/0000000000000000201", "truncated")

	// A batch under another batch's name.
	if err := os.Remove(p201); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "edits", "0000000000000000301"), tablestore.EncodeBatch(sinktest.Batch(1, 100, "c")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LastTxID(ctx(t))
	wantCorrupt(err, "edits/0000000000000000301", "holds the batch of txid 1")

	// An empty file.
	if err := os.WriteFile(filepath.Join(dir, "edits", "0000000000000000401"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LastTxID(ctx(t))
	wantCorrupt(err, "edits/0000000000000000401", "truncated")

	// A damaged identity: GetInfo names it, and PutInfo refuses to
	// compare against it (corrupt, not a mismatch).
	info := tablestore.Info{NamespaceID: 1, ClusterID: "CID", BlockPoolID: "BP"}
	if err := s.PutInfo(ctx(t), info); err != nil {
		t.Fatal(err)
	}
	pinfo := filepath.Join(dir, "info")
	raw, _ := os.ReadFile(pinfo)
	raw[13] ^= 0x80
	if err := os.WriteFile(pinfo, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetInfo(ctx(t))
	wantCorrupt(err, "info", "checksum mismatch")
	err = s.PutInfo(ctx(t), info)
	wantCorrupt(err, "info", "checksum mismatch")
	if errors.Is(err, tablestore.ErrMismatch) {
		t.Fatal("a corrupt identity reported as a mismatch")
	}
}

func TestForeignFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	mustPut(t, s, sinktest.Batch(1, 2, "f"))
	for _, rel := range []string{"edits/README", "edits/123", "edits/.nfs0000000000001234", "edits/0000000000000000009x", "images/0000000000000000007.old", "images/notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte("not an object"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "edits", "0000000000000000050"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := s.LastTxID(ctx(t)); err != nil || v != 2 {
		t.Fatalf("LastTxID = %d, %v; want 2", v, err)
	}
	if ids, err := s.Images(ctx(t)); err != nil || len(ids) != 0 {
		t.Fatalf("Images = %v, %v", ids, err)
	}
}

// TestExclusiveAcrossSinks: two sinks on one directory (as two NameNodes
// on one NFS mount) race for the same keys; every key has exactly one
// winner, whose batch is the one stored.
func TestExclusiveAcrossSinks(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	const keys = 150
	wins := [2][]int64{}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for w, s := range []*Sink{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int64(1); k <= keys; k++ {
				err := s.PutEdits(context.Background(), sinktest.Batch(k, 1, strconv.Itoa(w)))
				switch {
				case err == nil:
					wins[w] = append(wins[w], k)
				case !errors.Is(err, tablestore.ErrExists):
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if n := len(wins[0]) + len(wins[1]); n != keys {
		t.Fatalf("%d + %d wins for %d keys", len(wins[0]), len(wins[1]), keys)
	}
	owner := map[int64]string{}
	for w, ks := range wins {
		for _, k := range ks {
			owner[k] = strconv.Itoa(w)
		}
	}
	n := 0
	if err := a.ReadEdits(ctx(t), 0, func(bt tablestore.Batch) error {
		n++
		want := sinktest.Batch(bt.First, 1, owner[bt.First])
		if !bytes.Equal(bt.Ops[0], want.Ops[0]) {
			return fmt.Errorf("key %d holds %q, its winner wrote %q", bt.First, bt.Ops[0], want.Ops[0])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != keys {
		t.Fatalf("read %d batches, want %d", n, keys)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

// TestBigImageStreams: a large image goes from the reader to the file
// without being held in memory.
func TestBigImageStreams(t *testing.T) {
	size := int64(96 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	s := open(t, t.TempDir())
	src := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{7}), size) }
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := s.PutImage(ctx(t), 1000, src()); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("PutImage of %d MiB allocated %d MiB", size>>20, alloc>>20)
	}
	want, got := sha256.New(), sha256.New()
	_, _ = io.Copy(want, src())
	rc, err := s.OpenImage(ctx(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(got, rc); err != nil || n != size {
		t.Fatalf("read back %d bytes, %v; want %d", n, err, size)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("image digest differs")
	}
}

// gatedReader yields n bytes, then blocks until gate is closed, then
// yields m more.
type gatedReader struct {
	first, rest io.Reader
	reached     chan struct{}
	gate        chan struct{}
	once        sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if n, err := g.first.Read(p); err != io.EOF {
		return n, err
	}
	g.once.Do(func() { close(g.reached) })
	<-g.gate
	return g.rest.Read(p)
}

func newGated(n, m int64) *gatedReader {
	return &gatedReader{
		first: io.LimitReader(rand.NewChaCha8([32]byte{1}), n), rest: io.LimitReader(rand.NewChaCha8([32]byte{2}), m),
		reached: make(chan struct{}), gate: make(chan struct{}),
	}
}

// TestCanceledImageWrite: cancelling PutImage mid-stream stores nothing
// and leaves no temp file.
func TestCanceledImageWrite(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	c, cancel := context.WithCancel(context.Background())
	g := newGated(1<<20, 1<<20)
	done := make(chan error)
	go func() { done <- s.PutImage(c, 5, g) }()
	<-g.reached
	cancel()
	close(g.gate)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("PutImage = %v, want context.Canceled", err)
	}
	if _, err := s.OpenImage(ctx(t), 5); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("OpenImage = %v, want ErrNotFound", err)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

// TestOpenDuringWrite: Open by another process removes temp files,
// including a live writer's; that write then fails (and may be retried),
// and nothing partial becomes visible.
func TestOpenDuringWrite(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	g := newGated(1<<20, 1<<20)
	done := make(chan error)
	go func() { done <- s.PutImage(context.Background(), 5, g) }()
	<-g.reached
	s2 := open(t, dir)
	close(g.gate)
	err := <-done
	if err == nil || errors.Is(err, tablestore.ErrExists) {
		t.Fatalf("PutImage whose temp file was removed = %v, want a plain failure", err)
	}
	if ids, err := s2.Images(ctx(t)); err != nil || len(ids) != 0 {
		t.Fatalf("Images = %v, %v; want none", ids, err)
	}
	if err := s.PutImage(ctx(t), 5, strings.NewReader("retried")); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// The crash tests run a writer in a child process (this test binary,
// re-executed) and kill it with SIGKILL mid-write.
const crashEnv = "FILESINK_CRASH_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		crashHelper(mode, os.Getenv(crashEnv+"_DIR"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashHelper writes until it is killed: "edits" writes a chain of
// batches, "image" streams an endless image.
func crashHelper(mode, dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch mode {
	case "edits":
		rng := rand.New(rand.NewPCG(3, 4))
		for next := int64(1); ; {
			b := tablestore.Batch{First: next}
			for range 1 + rng.IntN(200) {
				b.Ops = append(b.Ops, bytes.Repeat([]byte{'e'}, 1+rng.IntN(2000)))
			}
			if err := s.PutEdits(context.Background(), b); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			next = b.Last() + 1
		}
	case "image":
		err := s.PutImage(context.Background(), 9, rand.NewChaCha8([32]byte{9})) // never ends
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func startHelper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode, crashEnv+"_DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKilledEditsWriter(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	cmd := startHelper(t, "edits", dir)
	waitFor(t, "the child to write 20 batches", func() bool {
		ents, _ := os.ReadDir(filepath.Join(dir, "edits"))
		return len(ents) >= 20
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, sink := range []*Sink{s, open(t, dir)} { // before and after Open's cleanup
		next := int64(1)
		if err := sink.ReadEdits(ctx(t), 0, func(b tablestore.Batch) error {
			if b.First != next {
				return fmt.Errorf("batch %d follows txid %d", b.First, next-1)
			}
			next = b.Last() + 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if last, err := sink.LastTxID(ctx(t)); err != nil || last != next-1 {
			t.Fatalf("LastTxID = %d, %v; want %d", last, err, next-1)
		}
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("Open left temp files %v", tmp)
	}
}

func TestKilledImageWriter(t *testing.T) {
	dir := t.TempDir()
	cmd := startHelper(t, "image", dir)
	waitFor(t, "the child's temp image to pass 8 MiB", func() bool {
		for _, p := range tempFiles(t, dir) {
			if st, err := os.Stat(p); err == nil && st.Size() > 8<<20 {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(tempFiles(t, dir)) == 0 {
		t.Fatal("the killed writer left no temp file; the test proves nothing")
	}
	s := open(t, dir)
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("Open left temp files %v", tmp)
	}
	if ids, err := s.Images(ctx(t)); err != nil || len(ids) != 0 {
		t.Fatalf("Images after a killed write = %v, %v; want none", ids, err)
	}
	if err := s.PutImage(ctx(t), 9, strings.NewReader("the key is free")); err != nil {
		t.Fatal(err)
	}
}
