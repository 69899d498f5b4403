package storage

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

const (
	testBP      = "BP-1-127.0.0.1-1"
	testCluster = "CID-test"
	testNSID    = 4242
)

func openTest(t *testing.T, dirs ...string) *Store {
	t.Helper()
	s, err := Open(dirs, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		t.Fatalf("AddBlockPool: %v", err)
	}
	return s
}

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// writeBlock writes data in packets of pkt bytes with client checksums and
// finalizes.
func writeBlock(t *testing.T, s *Store, id, gs uint64, data []byte, pkt int) Replica {
	t.Helper()
	w, err := s.CreateRbw(testBP, id, gs, Checksum{})
	if err != nil {
		t.Fatalf("CreateRbw: %v", err)
	}
	for off := 0; off < len(data); off += pkt {
		end := min(off+pkt, len(data))
		if err := w.WriteChunks(int64(off), data[off:end], ChunkChecksums(data[off:end], 512)); err != nil {
			t.Fatalf("WriteChunks at %d: %v", off, err)
		}
	}
	r, err := w.Finalize()
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	return r
}

func readAll(t *testing.T, s *Store, id, gs uint64) []byte {
	t.Helper()
	rr, err := s.OpenReplica(testBP, id, gs)
	if err != nil {
		t.Fatalf("OpenReplica: %v", err)
	}
	defer rr.Close()
	if err := rr.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	var out []byte
	buf := make([]byte, 4*512)
	sums := make([]byte, 4*4)
	for off := int64(0); ; {
		n, err := rr.ReadChunks(off, buf, sums)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadChunks at %d: %v", off, err)
		}
		if bad := rr.Checksum().VerifySums(buf[:n], sums); bad >= 0 {
			t.Fatalf("stored checksum of chunk %d at %d does not match", bad, off)
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
	if int64(len(out)) != rr.Length() {
		t.Fatalf("read %d bytes, Length %d", len(out), rr.Length())
	}
	return out
}

func TestLayoutPaths(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, "file://"+dir)
	id := uint64(1073741825) // 0x40000001
	data := randBytes(1000, 1)
	r := writeBlock(t, s, id, 1001, data, 1000)
	wantDir := filepath.Join(dir, "current", testBP, "current", "finalized", "subdir0", "subdir0")
	if r.BlockFile != filepath.Join(wantDir, "blk_1073741825") || r.MetaFile != filepath.Join(wantDir, "blk_1073741825_1001.meta") {
		t.Fatalf("paths %s %s", r.BlockFile, r.MetaFile)
	}
	for _, c := range []struct {
		id   uint64
		want string
	}{
		{0, "subdir0/subdir0"},
		{0x1F1F00, "subdir31/subdir31"},
		{0x20_2000, "subdir0/subdir0"},
		{0x05_0300 | 0xff, "subdir5/subdir3"},
		{uint64(1<<64 - 1), "subdir31/subdir31"}, // -1 as a Java long
	} {
		if got := IDToBlockDir(c.id); got != c.want {
			t.Errorf("IDToBlockDir(%#x) = %s, want %s", c.id, got, c.want)
		}
	}
	if got := MetaFileName(uint64(1<<64-5), 7); got != "blk_-5_7.meta" {
		t.Errorf("MetaFileName = %s", got)
	}
	v, err := os.ReadFile(filepath.Join(dir, "current", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"storageID=" + s.StorageIDs()[0], "clusterID=" + testCluster, "cTime=0",
		"datanodeUuid=" + s.DatanodeUUID(), "storageType=DATA_NODE", "layoutVersion=-57"} {
		if !strings.Contains(string(v), line+"\n") {
			t.Errorf("VERSION lacks %q:\n%s", line, v)
		}
	}
	if !strings.HasPrefix(s.StorageIDs()[0], "DS-") {
		t.Errorf("storage id %s", s.StorageIDs()[0])
	}
	bv, err := os.ReadFile(filepath.Join(dir, "current", testBP, "current", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"namespaceID=4242", "cTime=0", "blockpoolID=" + testBP, "layoutVersion=-57"} {
		if !strings.Contains(string(bv), line+"\n") {
			t.Errorf("block pool VERSION lacks %q:\n%s", line, bv)
		}
	}
	for _, d := range []string{"rbw", "finalized"} {
		if fi, err := os.Stat(filepath.Join(dir, "current", testBP, "current", d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "current", testBP, "tmp")); err != nil || !fi.IsDir() {
		t.Errorf("tmp: %v", err)
	}
}

func TestMetaHeaderBytes(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	data := randBytes(1000, 2)
	r := writeBlock(t, s, 5, 1001, data, 1000)
	meta, err := os.ReadFile(r.MetaFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 1, 2, 0, 0, 2, 0}
	want = binary.BigEndian.AppendUint32(want, crc32c(data[:512]))
	want = binary.BigEndian.AppendUint32(want, crc32c(data[512:]))
	if !bytes.Equal(meta, want) {
		t.Fatalf("meta file\n got %x\nwant %x", meta, want)
	}
	got, err := os.ReadFile(r.BlockFile)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("block file differs: %v", err)
	}
}

func crc32c(b []byte) uint32 {
	return Checksum{Type: ChecksumCRC32C, BytesPerChecksum: len(b) + 1}.Sum(b)
}

func TestWriteFinalizeRead(t *testing.T) {
	s := openTest(t, t.TempDir(), t.TempDir())
	for i, c := range []struct {
		size, pkt int
	}{{0, 512}, {1, 512}, {512, 512}, {513, 512}, {64 * 1024, 4096}, {100000, 65536}, {3000, 1024}} {
		id := uint64(100 + i)
		data := randBytes(c.size, int64(i))
		r := writeBlock(t, s, id, 1, data, c.pkt)
		if r.State != StateFinalized || r.NumBytes != int64(c.size) {
			t.Fatalf("%d: finalized %v", c.size, r)
		}
		if got := readAll(t, s, id, 1); !bytes.Equal(got, data) {
			t.Fatalf("%d: read back differs", c.size)
		}
	}
	// Round robin over the two directories.
	ids := map[string]bool{}
	for _, r := range s.Report(testBP) {
		ids[r.StorageID] = true
	}
	if len(ids) != 2 {
		t.Fatalf("replicas on %d volumes, want 2", len(ids))
	}
}
