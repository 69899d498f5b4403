package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	dirs := s.Dirs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openTest(t, dirs...)
}

// writeRbw writes data into a new RBW replica and returns the open writer.
func writeRbw(t *testing.T, s *Store, id, gs uint64, data []byte) *ReplicaWriter {
	t.Helper()
	w, err := s.CreateRbw(testBP, id, gs, Checksum{})
	if err != nil {
		t.Fatalf("CreateRbw: %v", err)
	}
	if err := w.WriteChunks(0, data, nil); err != nil {
		t.Fatalf("WriteChunks: %v", err)
	}
	return w
}

func TestResumeMidChunk(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(3000, 3)
	w := writeRbw(t, s, 7, 1, data[:700]) // a partial second chunk
	// hflush resends the partial chunk: the next packet starts at its chunk
	// boundary and overlaps the bytes on disk.
	if err := w.WriteChunks(512, data[512:1500], ChunkChecksums(data[512:1500], 512)); err != nil {
		t.Fatalf("overlapping packet: %v", err)
	}
	// A packet that starts exactly at the unaligned end, with its own short
	// first chunk (as after an append).
	if err := w.WriteChunks(1500, data[1500:1536], ChunkChecksums(data[1500:1536], 512)); err != nil {
		t.Fatalf("unaligned packet: %v", err)
	}
	if err := w.WriteChunks(1536, data[1536:], ChunkChecksums(data[1536:], 512)); err != nil {
		t.Fatalf("aligned packet: %v", err)
	}
	// A duplicate packet changes nothing.
	if err := w.WriteChunks(0, data[:512], ChunkChecksums(data[:512], 512)); err != nil {
		t.Fatalf("duplicate packet: %v", err)
	}
	if got := w.BytesOnDisk(); got != 3000 {
		t.Fatalf("BytesOnDisk %d", got)
	}
	if err := w.WriteChunks(3001, []byte{1}, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("a hole: %v", err)
	}
	bad := ChunkChecksums(data[:512], 512)
	bad[0] ^= 1
	if err := w.WriteChunks(0, data[:512], bad); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad client checksum: %v", err)
	}
	if _, err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 7, 1); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	if err := w.WriteChunks(3000, []byte{1}, nil); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("write after finalize: %v", err)
	}
}

func TestRestartRebuildsMap(t *testing.T) {
	s := openTest(t, t.TempDir(), t.TempDir())
	fin := randBytes(5000, 4)
	writeBlock(t, s, 1, 1001, fin, 4096)
	w := writeRbw(t, s, 2, 1002, randBytes(1200, 5))
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	tw, err := s.CreateTemporary(testBP, 3, 1003, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteChunks(0, randBytes(100, 6), nil); err != nil {
		t.Fatal(err)
	}
	tmpFile := tw.Replica().BlockFile
	if n, rep := s.NumReplicas(testBP), s.Report(testBP); n != 2 || len(rep) != 2 {
		t.Fatalf("NumReplicas %d, report %v: want 2 (the temporary replica left out)", n, rep)
	}
	uuid, ids := s.DatanodeUUID(), s.StorageIDs()

	s = reopen(t, s)
	if s.DatanodeUUID() != uuid || strings.Join(s.StorageIDs(), ",") != strings.Join(ids, ",") {
		t.Fatalf("identity changed: %s %v, was %s %v", s.DatanodeUUID(), s.StorageIDs(), uuid, ids)
	}
	rep := s.Report(testBP)
	if len(rep) != 2 {
		t.Fatalf("report %v", rep)
	}
	if rep[0].BlockID != 1 || rep[0].State != StateFinalized || rep[0].NumBytes != 5000 || rep[0].GenStamp != 1001 {
		t.Errorf("finalized replica %v", rep[0])
	}
	if rep[1].BlockID != 2 || rep[1].State != StateRWR || rep[1].NumBytes != 1200 || rep[1].GenStamp != 1002 {
		t.Errorf("rbw replica %v", rep[1])
	}
	if _, ok := s.Get(testBP, 3); ok {
		t.Error("a temporary replica survived the restart")
	}
	if _, err := os.Stat(tmpFile); !os.IsNotExist(err) {
		t.Errorf("tmp/ not cleaned: %v", err)
	}
	if got := readAll(t, s, 1, 1001); !bytes.Equal(got, fin) {
		t.Error("finalized data differs after restart")
	}
	if _, err := s.OpenReplica(testBP, 2, 1002); !errors.Is(err, ErrReplicaNotFound) {
		t.Errorf("an RWR replica is readable: %v", err)
	}
	if _, err := s.RecoverRbw(testBP, 2, 1002, 1003, 0, 1200); !errors.Is(err, ErrReplicaNotFound) {
		t.Errorf("RecoverRbw of an RWR replica: %v", err)
	}
}

func TestTornFiles(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	good := randBytes(2000, 7)
	writeBlock(t, s, 10, 1, good, 4096)
	noMeta := writeBlock(t, s, 11, 1, randBytes(100, 8), 4096)
	shortMeta := writeBlock(t, s, 12, 1, randBytes(2000, 9), 4096)
	shortData := writeBlock(t, s, 13, 1, randBytes(2000, 10), 4096)
	badHeader := writeBlock(t, s, 14, 1, randBytes(10, 11), 4096)
	// rbw: data longer than its checksums (crash after the data write).
	w1 := writeRbw(t, s, 20, 1, randBytes(1500, 12))
	r20 := w1.Replica()
	w1.Close()
	// rbw: the last chunk's checksum does not match.
	rbwData := randBytes(1500, 13)
	w2 := writeRbw(t, s, 21, 1, rbwData)
	r21 := w2.Replica()
	w2.Close()
	// rbw: block file without meta file.
	w3 := writeRbw(t, s, 22, 1, randBytes(10, 14))
	r22 := w3.Replica()
	w3.Close()
	s.Close()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(noMeta.MetaFile))
	must(os.Truncate(shortMeta.MetaFile, 9))
	must(os.Truncate(shortData.BlockFile, 1000))
	must(os.WriteFile(badHeader.MetaFile, []byte{0, 9, 2, 0, 0, 2, 0, 1, 2, 3, 4}, 0o644))
	f, err := os.OpenFile(r20.BlockFile, os.O_WRONLY|os.O_APPEND, 0)
	must(err)
	_, err = f.Write(randBytes(700, 15))
	must(err)
	f.Close()
	m, err := os.OpenFile(r21.MetaFile, os.O_RDWR, 0)
	must(err)
	_, err = m.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, MetaHeaderSize+2*ChecksumSize)
	must(err)
	m.Close()
	must(os.Remove(r22.MetaFile))

	s2 := openTest(t, dir)
	got := map[uint64]Replica{}
	for _, r := range s2.Report(testBP) {
		got[r.BlockID] = r
	}
	if r, ok := got[10]; !ok || r.NumBytes != 2000 {
		t.Errorf("good replica: %v", r)
	}
	for _, id := range []uint64{11, 12, 13, 14, 22} {
		if r, ok := got[id]; ok {
			t.Errorf("torn replica %d loaded: %v", id, r)
		}
	}
	if r := got[20]; r.State != StateRWR || r.NumBytes != 1500 {
		t.Errorf("rbw with extra data: %v", r)
	}
	if fi, err := os.Stat(r20.BlockFile); err != nil || fi.Size() != 1500 {
		t.Errorf("rbw block file not truncated: %v %v", fi, err)
	}
	if r := got[21]; r.State != StateRWR || r.NumBytes != 1024 {
		t.Errorf("rbw with a bad last checksum: %v", r)
	}
	// The torn finalized files are left for an operator.
	if _, err := os.Stat(noMeta.BlockFile); err != nil {
		t.Errorf("a torn finalized block file was deleted: %v", err)
	}
	// The RWR replica recovers to a valid finalized one.
	if _, err := s2.InitReplicaRecovery(testBP, 21, 1, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.UpdateReplicaUnderRecovery(testBP, 21, 5, 21, 1024); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s2, 21, 5); !bytes.Equal(got, rbwData[:1024]) {
		t.Error("recovered data differs")
	}
}

func TestInterruptedFinalizeCompletedAtStartup(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	data := randBytes(1234, 16)
	w := writeRbw(t, s, 30, 7, data)
	r := w.Replica()
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s.Close()
	// The first rename of Finalize happened, the second did not.
	fdir := filepath.Join(dir, "current", testBP, "current", "finalized", IDToBlockDir(30))
	if err := os.MkdirAll(fdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(r.MetaFile, filepath.Join(fdir, MetaFileName(30, 7))); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, dir)
	got, ok := s2.Get(testBP, 30)
	if !ok || got.State != StateFinalized || got.NumBytes != 1234 || got.BlockFile != filepath.Join(fdir, "blk_30") {
		t.Fatalf("replica %v %v", got, ok)
	}
	if b := readAll(t, s2, 30, 7); !bytes.Equal(b, data) {
		t.Fatal("data differs")
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(4000, 17)
	r := writeBlock(t, s, 40, 1, data, 4096)
	f, err := os.OpenFile(r.BlockFile, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[2600] ^ 0x40}, 2600); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rr, err := s.OpenReplica(testBP, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	err = rr.Verify()
	var ce *CorruptReplicaError
	if !errors.As(err, &ce) || ce.Offset != 2560 || ce.BlockID != 40 || !errors.Is(err, ErrChecksum) {
		t.Fatalf("Verify: %v", err)
	}
	// ReadChunks hands out the stored checksums, which the reader's client
	// finds wrong.
	buf, sums := make([]byte, 512), make([]byte, 4)
	if _, err := rr.ReadChunks(2560, buf, sums); err != nil {
		t.Fatal(err)
	}
	if rr.Checksum().VerifySums(buf, sums) != 0 {
		t.Fatal("the corrupted chunk matches its stored checksum")
	}
}

func TestInvalidate(t *testing.T) {
	s := openTest(t, t.TempDir())
	r := writeBlock(t, s, 50, 3, randBytes(100, 18), 4096)
	if _, err := s.Invalidate(testBP, 50, 2); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("invalidate with another genstamp: %v", err)
	}
	got, err := s.Invalidate(testBP, 50, 3)
	if err != nil || got.BlockID != 50 || got.StorageID != s.StorageIDs()[0] {
		t.Fatalf("Invalidate: %v %v", got, err)
	}
	for _, p := range []string{r.BlockFile, r.MetaFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if _, ok := s.Get(testBP, 50); ok {
		t.Error("still in the map")
	}
	if _, err := s.Invalidate(testBP, 50, 3); !errors.Is(err, ErrReplicaNotFound) {
		t.Errorf("second invalidate: %v", err)
	}
	// An RBW replica being written: its writer is stopped.
	w := writeRbw(t, s, 51, 1, randBytes(10, 19))
	if _, err := s.Invalidate(testBP, 51, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(10, []byte{1}, nil); !errors.Is(err, ErrWriterStopped) {
		t.Errorf("write after invalidate: %v", err)
	}
}

func TestAppend(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(2500, 20)
	old := writeBlock(t, s, 60, 1001, data[:1000], 4096)
	if _, err := s.Append(testBP, 60, 1000, 1002, 1000); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("append with a wrong genstamp: %v", err)
	}
	if _, err := s.Append(testBP, 60, 1001, 1002, 999); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("append with a wrong length: %v", err)
	}
	w, err := s.Append(testBP, 60, 1001, 1002, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r := w.Replica()
	if r.State != StateRBW || r.GenStamp != 1002 || filepath.Base(r.MetaFile) != "blk_60_1002.meta" || filepath.Base(filepath.Dir(r.BlockFile)) != "rbw" {
		t.Fatalf("appending replica %+v", r)
	}
	if _, err := os.Stat(old.MetaFile); !os.IsNotExist(err) {
		t.Fatalf("old meta file left: %v", err)
	}
	if _, err := s.Append(testBP, 60, 1002, 1003, 1000); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("append to an RBW replica: %v", err)
	}
	// The client's first packet fills the partial chunk, then whole chunks.
	if err := w.WriteChunks(1000, data[1000:1024], ChunkChecksums(data[1000:1024], 512)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(1024, data[1024:], ChunkChecksums(data[1024:], 512)); err != nil {
		t.Fatal(err)
	}
	fin, err := w.Finalize()
	if err != nil || fin.NumBytes != 2500 || fin.GenStamp != 1002 {
		t.Fatalf("Finalize: %v %v", fin, err)
	}
	if got := readAll(t, s, 60, 1002); !bytes.Equal(got, data) {
		t.Fatal("appended data differs")
	}
	// A client with the older block still reads (the replica is newer); a
	// client asking for a newer one is refused.
	rr, err := s.OpenReplica(testBP, 60, 1001)
	if err != nil || rr.Replica().GenStamp != 1002 {
		t.Fatalf("reading with an older genstamp: %v", err)
	}
	rr.Close()
	if _, err := s.OpenReplica(testBP, 60, 1003); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("reading with a newer genstamp: %v", err)
	}
}

func TestRecoverRbw(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(4000, 21)
	w := writeRbw(t, s, 70, 1, data[:3000])
	w.SetBytesAcked(2000)
	if _, err := s.RecoverRbw(testBP, 70, 1, 2, 2500, 3000); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("acked below minBytesRcvd: %v", err)
	}
	if _, err := s.RecoverRbw(testBP, 70, 2, 3, 0, 3000); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("genstamp out of range: %v", err)
	}
	w2, err := s.RecoverRbw(testBP, 70, 1, 2, 1500, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(3000, data[3000:], nil); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("the old writer still writes: %v", err)
	}
	r := w2.Replica()
	if w2.BytesOnDisk() != 2000 || r.GenStamp != 2 || filepath.Base(r.MetaFile) != "blk_70_2.meta" {
		t.Fatalf("recovered %v, %d bytes", r, w2.BytesOnDisk())
	}
	if fi, err := os.Stat(r.BlockFile); err != nil || fi.Size() != 2000 {
		t.Fatalf("not truncated: %v", err)
	}
	// The client resends from its last acknowledged packet.
	if err := w2.WriteChunks(1536, data[1536:], ChunkChecksums(data[1536:], 512)); err != nil {
		t.Fatal(err)
	}
	w2.SetBytesAcked(4000)
	// Readers of an RBW replica see what was acknowledged.
	rr, err := s.OpenReplica(testBP, 70, 2)
	if err != nil || rr.Length() != 4000 {
		t.Fatalf("reading rbw: %v", err)
	}
	rr.Close()
	if _, err := w2.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 70, 2); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

func TestRecoverAppendAndClose(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(3000, 22)
	w := writeRbw(t, s, 75, 1, data[:2000])
	// Close recovery: the pipeline failed after all data arrived.
	if _, err := s.RecoverClose(testBP, 75, 1, 2, 1999); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("wrong length: %v", err)
	}
	r, err := s.RecoverClose(testBP, 75, 1, 2, 2000)
	if err != nil || r.State != StateFinalized || r.GenStamp != 2 {
		t.Fatalf("RecoverClose: %v %v", r, err)
	}
	if err := w.WriteChunks(2000, data[2000:], nil); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("old writer: %v", err)
	}
	// Append recovery of a finalized replica reopens it.
	w2, err := s.RecoverAppend(testBP, 75, 2, 3, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.WriteChunks(2000, data[2000:], nil); err != nil {
		t.Fatal(err)
	}
	// ... and of an RBW one bumps its genstamp.
	w3, err := s.RecoverAppend(testBP, 75, 3, 4, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w3.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 75, 4); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

func TestBlockRecovery(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(3000, 23)
	w := writeRbw(t, s, 80, 5, data)
	if _, err := s.InitReplicaRecovery(testBP, 80, 6, 7); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("replica older than the block: %v", err)
	}
	if _, err := s.InitReplicaRecovery(testBP, 80, 5, 5); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("recovery id not newer: %v", err)
	}
	info, err := s.InitReplicaRecovery(testBP, 80, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if info != (ReplicaRecoveryInfo{BlockID: 80, NumBytes: 3000, GenStamp: 5, OriginalState: StateRBW}) {
		t.Fatalf("info %+v", info)
	}
	if err := w.WriteChunks(3000, []byte{1}, nil); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("writer not stopped: %v", err)
	}
	if _, err := s.InitReplicaRecovery(testBP, 80, 5, 9); !errors.Is(err, ErrRecoveryInProgress) {
		t.Fatalf("older recovery: %v", err)
	}
	if _, err := s.InitReplicaRecovery(testBP, 80, 5, 11); err != nil {
		t.Fatalf("newer recovery: %v", err)
	}
	if rep := s.Report(testBP); len(rep) != 1 || rep[0].State != StateRBW {
		t.Fatalf("RUR reported as %v", rep)
	}
	if _, err := s.UpdateReplicaUnderRecovery(testBP, 80, 10, 80, 1500); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("stale recovery id: %v", err)
	}
	if _, err := s.UpdateReplicaUnderRecovery(testBP, 80, 11, 80, 3001); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("longer than the replica: %v", err)
	}
	r, err := s.UpdateReplicaUnderRecovery(testBP, 80, 11, 80, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateFinalized || r.GenStamp != 11 || r.NumBytes != 1500 || filepath.Base(r.MetaFile) != "blk_80_11.meta" {
		t.Fatalf("updated %v", r)
	}
	if got := readAll(t, s, 80, 11); !bytes.Equal(got, data[:1500]) {
		t.Fatal("data differs")
	}
	s = reopen(t, s)
	if got := readAll(t, s, 80, 11); !bytes.Equal(got, data[:1500]) {
		t.Fatal("data differs after restart")
	}
	if _, err := s.InitReplicaRecovery(testBP, 99, 1, 2); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("missing replica: %v", err)
	}

	// Copy-on-truncate keeps the old block and adds a shorter copy.
	if _, err := s.InitReplicaRecovery(testBP, 80, 11, 12); err != nil {
		t.Fatal(err)
	}
	nr, err := s.UpdateReplicaUnderRecovery(testBP, 80, 12, 81, 700)
	if err != nil || nr.BlockID != 81 || nr.GenStamp != 12 || nr.NumBytes != 700 {
		t.Fatalf("copy-on-truncate: %v %v", nr, err)
	}
	if got := readAll(t, s, 81, 12); !bytes.Equal(got, data[:700]) {
		t.Fatal("copy differs")
	}
	if got := readAll(t, s, 80, 11); !bytes.Equal(got, data[:1500]) {
		t.Fatal("original changed")
	}
}

func TestCreateConflicts(t *testing.T) {
	s := openTest(t, t.TempDir())
	writeBlock(t, s, 90, 1, randBytes(10, 24), 4096)
	if _, err := s.CreateRbw(testBP, 90, 2, Checksum{}); !errors.Is(err, ErrReplicaAlreadyExists) ||
		!strings.Contains(err.Error(), "already exists in state FINALIZED and thus cannot be created") {
		t.Fatalf("CreateRbw over a finalized replica: %v", err)
	}
	if _, err := s.CreateTemporary(testBP, 90, 2, Checksum{}); !errors.Is(err, ErrReplicaAlreadyExists) {
		t.Fatalf("CreateTemporary over a finalized replica: %v", err)
	}
	w := writeRbw(t, s, 91, 1, randBytes(10, 25))
	if _, err := s.CreateRbw(testBP, 91, 1, Checksum{}); !errors.Is(err, ErrReplicaAlreadyExists) {
		t.Fatalf("CreateRbw over an rbw replica: %v", err)
	}
	if _, err := s.CreateTemporary(testBP, 91, 1, Checksum{}); !errors.Is(err, ErrReplicaAlreadyExists) {
		t.Fatalf("CreateTemporary with the same genstamp: %v", err)
	}
	if _, err := s.Invalidate(testBP, 91, 7); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("Invalidate with another genstamp: %v", err)
	}
	// Refused requests leave the write in progress alone.
	if err := w.WriteChunks(10, []byte{1}, nil); err != nil {
		t.Fatalf("writer disturbed by refused requests: %v", err)
	}
	// A transfer with a newer genstamp replaces the older unfinished one.
	tw, err := s.CreateTemporary(testBP, 91, 2, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(11, []byte{1}, nil); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("old writer: %v", err)
	}
	if _, err := s.OpenReplica(testBP, 91, 2); !errors.Is(err, ErrReplicaNotFound) {
		t.Fatalf("a temporary replica is readable: %v", err)
	}
	if err := tw.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(testBP, 91); ok {
		t.Fatal("aborted replica still in the map")
	}
	if _, err := s.CreateRbw("BP-2-127.0.0.1-2", 1, 1, Checksum{}); !errors.Is(err, ErrBlockPoolNotAdded) {
		t.Fatalf("unknown block pool: %v", err)
	}
	// A finalized transfer is a normal finalized replica.
	data := randBytes(600, 26)
	tw, err = s.CreateTemporary(testBP, 92, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteChunks(0, data, ChunkChecksums(data, 512)); err != nil {
		t.Fatal(err)
	}
	if r, err := tw.Finalize(); err != nil || r.State != StateFinalized {
		t.Fatalf("finalize transfer: %v %v", r, err)
	}
	if got := readAll(t, s, 92, 1); !bytes.Equal(got, data) {
		t.Fatal("transfer data differs")
	}
}

func TestStorageIdentity(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		t.Fatalf("AddBlockPool twice: %v", err)
	}
	s.Close()
	s2, err := Open([]string{dir}, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.AddBlockPool(testBP, "CID-other", testNSID, 0)
	if !errors.Is(err, ErrIncompatibleStorage) || !strings.Contains(err.Error(), "Incompatible clusterIDs in "+dir+": namenode clusterID = CID-other; datanode clusterID = CID-test") {
		t.Fatalf("other cluster: %v", err)
	}
	if err := s2.AddBlockPool(testBP, testCluster, testNSID+1, 0); !errors.Is(err, ErrIncompatibleStorage) || !strings.Contains(err.Error(), "Incompatible namespaceIDs") {
		t.Fatalf("other namespace: %v", err)
	}
	// A second open of the same directory is refused while locked.
	if _, err := Open([]string{dir}, Options{}); err == nil || !strings.Contains(err.Error(), "already locked") {
		t.Fatalf("second open: %v", err)
	}
	s2.Close()

	// Two directories of different DataNodes cannot be combined.
	other := t.TempDir()
	s3 := openTest(t, other)
	s3.Close()
	if _, err := Open([]string{dir, other}, Options{}); !errors.Is(err, ErrIncompatibleStorage) {
		t.Fatalf("mixed DataNodes: %v", err)
	}
	if _, err := Open(nil, Options{}); err == nil {
		t.Fatal("no directories accepted")
	}
}

func TestParseDataDirs(t *testing.T) {
	got, err := ParseDataDirs(" file:///data/1 ,[SSD]file:///data/2,/data/3,, ")
	if err != nil || strings.Join(got, ",") != "/data/1,/data/2,/data/3" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseDataDirs("hdfs://x/y"); err == nil {
		t.Fatal("a remote directory accepted")
	}
}

func TestUsage(t *testing.T) {
	// Pure arithmetic: 100 total, 30 free (25 available), 20 dfs, 10 reserved.
	u := volumeUsage(DiskStats{Total: 100, Free: 30, Available: 25}, 20, 10)
	if u.Capacity != 90 || u.DfsUsed != 20 || u.NonDfsUsed != 40 || u.Remaining != 25 {
		t.Fatalf("%+v", u)
	}
	// Reserved space not yet used by other files is not available.
	u = volumeUsage(DiskStats{Total: 100, Free: 80, Available: 80}, 10, 30)
	if u.Capacity != 70 || u.NonDfsUsed != 0 || u.Remaining != 60 {
		t.Fatalf("%+v", u)
	}
	s := openTest(t, t.TempDir())
	writeBlock(t, s, 1, 1, randBytes(1000, 27), 4096)
	total, vols, err := s.Usage()
	if err != nil || len(vols) != 1 || total.DfsUsed != 1000+7+8 || total.Capacity <= 0 || total.Remaining <= 0 {
		t.Fatalf("Usage %+v %v %v", total, vols, err)
	}
}

func TestAcksDefaultToBytesWritten(t *testing.T) {
	s := openTest(t, t.TempDir())
	data := randBytes(3000, 28)
	writeRbw(t, s, 71, 1, data)
	rr, err := s.OpenReplica(testBP, 71, 1)
	if err != nil || rr.Length() != 3000 {
		t.Fatalf("rbw readable length: %v", err)
	}
	rr.Close()
	w, err := s.RecoverRbw(testBP, 71, 1, 2, 3000, 3000)
	if err != nil || w.BytesOnDisk() != 3000 {
		t.Fatalf("RecoverRbw: %v", err)
	}
	if _, err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 71, 2); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// TestWritebackAcrossChunks writes a replica of several writeback chunks on
// the real filesystem in packet-sized pieces and reads it back whole:
// starting the writeback (sync_file_range) changes no byte.
func TestWritebackAcrossChunks(t *testing.T) {
	s := openTest(t, t.TempDir()) // the OS filesystem: the writeback runs
	data := randBytes(2*writebackChunk+3*512+17, 9)
	w, err := s.CreateRbw(testBP, 11, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	const packet = 64 << 10
	for off := 0; off < len(data); off += packet {
		end := min(off+packet, len(data))
		if err := w.WriteChunks(int64(off), data[off:end], ChunkChecksums(data[off:end], 512)); err != nil {
			t.Fatalf("packet at %d: %v", off, err)
		}
	}
	if _, err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 11, 1); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
}
