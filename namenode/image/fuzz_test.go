package image

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzReceive seeds")

const fuzzTxID = 7

// smallStream builds an image-shaped directory of tiny files (not a Pebble
// store: Receive checks framing and checksums, not Pebble) and streams it.
func smallStream(t testing.TB) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), Name(fuzzTxID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"IMAGE_TXID": fmt.Sprintf("%d\n", fuzzTxID), "000001.sst": "sst bytes", "OPTIONS-000002": "[Version]\n", "empty": ""}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := manifestOf(dir, fuzzTxID)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Stream(&buf, Info{TxID: fuzzTxID, Path: dir}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seeds")
	}
	good := smallStream(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzReceive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"valid":       good,
		"truncated":   good[:len(good)/2],
		"header-only": good[:streamHeaderSize],
		"no-trailer":  good[:len(good)-36],
		"empty":       {},
	}
	for name, b := range seeds {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSmallStreamReceives(t *testing.T) {
	info, err := Receive(bytes.NewReader(smallStream(t)), t.TempDir(), fuzzTxID)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(info); err != nil {
		t.Fatal(err)
	}
}

// FuzzReceive feeds arbitrary streams to Receive: it must never panic, and
// whatever it accepts must verify.
func FuzzReceive(f *testing.F) {
	f.Add(smallStream(f))
	// One name directory for every input (a fresh one per input would
	// spend each run on fsyncs); an accepted image is removed again.
	nameDir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Receive(bytes.NewReader(data), nameDir, fuzzTxID)
		if err != nil {
			if _, serr := os.Stat(Path(nameDir, fuzzTxID)); serr == nil {
				t.Fatalf("failed Receive (%v) left an image", err)
			}
			return
		}
		if err := Verify(info); err != nil {
			t.Fatalf("accepted stream does not verify: %v", err)
		}
		if err := os.RemoveAll(info.Path); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzManifest feeds arbitrary bytes to the manifest decoder: it must never
// panic, and a manifest it accepts must encode back to the same bytes.
func FuzzManifest(f *testing.F) {
	m := &manifest{TxID: 42, Files: []fileEntry{{Name: "000001.sst", Size: 9}, {Name: "IMAGE_TXID", Size: 3}}}
	f.Add(m.encode())
	f.Add((&manifest{}).encode())
	f.Add([]byte("hdfsha-image 1\ntxid 1\nend 00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest("fuzz", data)
		if err != nil {
			return
		}
		if got := m.encode(); !bytes.Equal(got, data) {
			t.Fatalf("accepted %q, encodes as %q", data, got)
		}
	})
}
