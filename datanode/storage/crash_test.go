package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/internal/vfs/errorfs"
)

var memDirs = []string{"/data/1", "/data/2"}

func fakeStatfs(string) (DiskStats, error) {
	return DiskStats{Total: 1 << 30, Free: 1 << 29, Available: 1 << 29}, nil
}

func openMem(t *testing.T, fs vfs.FS) (*Store, error) {
	s, err := Open(memDirs, Options{Logger: zaptest.NewLogger(t), FS: fs, Statfs: fakeStatfs})
	if err != nil {
		return nil, err
	}
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// armed is an Injector that fails the k-th mutating operation after it is
// armed, and every one after it (the process is as good as dead).
type armed struct {
	mu    sync.Mutex
	on    bool
	k, n  int
	fired bool
}

func (a *armed) MaybeError(op errorfs.Op, path string) error {
	if op&errorfs.Mutating == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return nil
	}
	a.n++
	if a.n >= a.k {
		a.fired = true
		return fmt.Errorf("%w: %s %s", errorfs.ErrInjected, op, path)
	}
	return nil
}

// checkConsistent opens the storage of a crashed DataNode and checks every
// replica it reports: finalized ones read back (checksums verified) as a
// prefix of what was written, unfinalized ones have checksummed lengths.
func checkConsistent(t *testing.T, fs vfs.FS, written map[uint64][]byte, ex expect) *Store {
	t.Helper()
	s, err := openMem(t, fs)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	for id, want := range ex {
		r, ok := s.Get(testBP, id)
		if !ok || r.State != StateFinalized || r.GenStamp != want.GenStamp || r.NumBytes != want.NumBytes {
			t.Fatalf("acknowledged replica %d (gs %d, %d bytes) is %v (found %v)", id, want.GenStamp, want.NumBytes, r, ok)
		}
	}
	for _, r := range s.Report(testBP) {
		want := written[r.BlockID]
		if r.NumBytes > int64(len(want)) {
			t.Fatalf("replica %v longer than what was written (%d)", r, len(want))
		}
		if r.State != StateFinalized {
			continue
		}
		rr, err := s.OpenReplica(testBP, r.BlockID, r.GenStamp)
		if err != nil {
			t.Fatalf("open %v: %v", r, err)
		}
		if err := rr.Verify(); err != nil {
			t.Fatalf("verify %v: %v", r, err)
		}
		got := make([]byte, rr.Length())
		if _, err := rr.ReadAt(got, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		rr.Close()
		if !bytes.Equal(got, want[:len(got)]) {
			t.Fatalf("replica %v holds other bytes", r)
		}
	}
	return s
}

// workload writes, finalizes, appends and recovers replicas; it stops at the
// first error (an injected one).
// expect records, per block, the replica that an acknowledged operation
// made durable (finalized, gs, length); a block whose latest operation did
// not return is absent (anything consistent may survive).
type expect map[uint64]Replica

func workload(s *Store, written map[uint64][]byte, ex expect) error {
	d1 := randBytes(3000, 31)
	written[1] = d1
	w, err := s.CreateRbw(testBP, 1, 1, Checksum{})
	if err != nil {
		return err
	}
	if err := w.WriteChunks(0, d1[:2000], nil); err != nil {
		return err
	}
	if err := w.Sync(); err != nil {
		return err
	}
	if _, err := w.Finalize(); err != nil {
		return err
	}
	w, err = s.Append(testBP, 1, 1, 2, 2000)
	if err != nil {
		return err
	}
	if err := w.WriteChunks(2000, d1[2000:], nil); err != nil {
		return err
	}
	if _, err := w.Finalize(); err != nil {
		return err
	}
	ex[1] = Replica{GenStamp: 2, NumBytes: 3000}
	d2 := randBytes(1500, 32)
	written[2] = d2
	w, err = s.CreateRbw(testBP, 2, 1, Checksum{})
	if err != nil {
		return err
	}
	if err := w.WriteChunks(0, d2, nil); err != nil {
		return err
	}
	w.SetBytesAcked(1000)
	if w, err = s.RecoverRbw(testBP, 2, 1, 2, 0, 1500); err != nil {
		return err
	}
	w.Close()
	if _, err := s.InitReplicaRecovery(testBP, 2, 2, 3); err != nil {
		return err
	}
	if _, err := s.UpdateReplicaUnderRecovery(testBP, 2, 3, 2, 700); err != nil {
		return err
	}
	ex[2] = Replica{GenStamp: 3, NumBytes: 700}
	delete(ex, 1) // deletions are not made durable
	_, err = s.Invalidate(testBP, 1, 2)
	return err
}

// TestCrashAtEveryStep fails each mutating filesystem operation of the
// workload in turn, then simulates a crash (only fsynced state survives)
// and checks that the storage opens and holds nothing torn.
func TestCrashAtEveryStep(t *testing.T) {
	// Count the failure points.
	inj := &armed{k: 1 << 30}
	mem := vfs.NewMem()
	s, err := openMem(t, errorfs.Wrap(mem, inj))
	if err != nil {
		t.Fatal(err)
	}
	inj.mu.Lock()
	inj.on = true
	inj.mu.Unlock()
	if err := workload(s, map[uint64][]byte{}, expect{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	total := inj.n
	t.Logf("%d failure points", total)
	if total < 20 {
		t.Fatalf("only %d mutating operations", total)
	}
	for k := 1; k <= total+1; k++ {
		mem := vfs.NewMem()
		inj := &armed{k: k}
		s, err := openMem(t, errorfs.Wrap(mem, inj))
		if err != nil {
			t.Fatal(err)
		}
		inj.mu.Lock()
		inj.on = true
		inj.mu.Unlock()
		written, ex := map[uint64][]byte{}, expect{}
		err = workload(s, written, ex)
		if (err != nil) != inj.fired || (err != nil && !errors.Is(err, errorfs.ErrInjected)) {
			t.Fatalf("k=%d: workload error %v, injected %v", k, err, inj.fired)
		}
		s.Close()
		s2 := checkConsistent(t, mem.CrashClone(), written, ex)
		s2.Close()
		// Without a crash, the same files reopen consistently too.
		s3 := checkConsistent(t, mem, written, ex)
		s3.Close()
	}
}

// TestFinalizedSurvivesCrash: what Finalize returned is durable.
func TestFinalizedSurvivesCrash(t *testing.T) {
	mem := vfs.NewMem()
	s, err := openMem(t, mem)
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(5000, 33)
	w, err := s.CreateRbw(testBP, 9, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(0, data, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := checkConsistent(t, mem.CrashClone(), map[uint64][]byte{9: data}, expect{9: {GenStamp: 1, NumBytes: 5000}})
	defer s2.Close()
	r, ok := s2.Get(testBP, 9)
	if !ok || r.State != StateFinalized || r.NumBytes != 5000 {
		t.Fatalf("after crash: %v %v", r, ok)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, err := openMem(t, vfs.NewMem())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			data := randBytes(20000, int64(id))
			w, err := s.CreateRbw(testBP, id, 1, Checksum{})
			if err != nil {
				errs <- err
				return
			}
			for off := 0; off < len(data); off += 4096 {
				end := min(off+4096, len(data))
				if err := w.WriteChunks(int64(off), data[off:end], nil); err != nil {
					errs <- err
					return
				}
				w.SetBytesAcked(int64(end))
				if _, _, err := s.Usage(); err != nil {
					errs <- err
					return
				}
				s.Report(testBP)
			}
			if _, err := w.Finalize(); err != nil {
				errs <- err
			}
		}(uint64(i + 1))
	}
	// Meanwhile a replica being written is taken over by block recovery.
	w, err := s.CreateRbw(testBP, 100, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		data := randBytes(512, 100)
		for off := int64(0); ; off += 512 {
			err := w.WriteChunks(off, data, nil)
			if off == 512*4 {
				close(started)
			}
			if errors.Is(err, ErrWriterStopped) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	<-started
	info, err := s.InitReplicaRecovery(testBP, 100, 1, 2)
	if err != nil || info.NumBytes < 512*5 || info.NumBytes%512 != 0 {
		t.Fatalf("InitReplicaRecovery: %+v %v", info, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(s.Report(testBP)); n != 9 {
		t.Fatalf("%d replicas", n)
	}
}

// TestTornRbwAfterCrash writes replicas with an hsync in the middle, then
// crashes with torn tails (unsynced bytes partly kept, partly zeros): each
// replica comes back as RWR holding at least what was synced and only
// bytes that were written, and block recovery finalizes it readable.
func TestTornRbwAfterCrash(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		mem := vfs.NewMem()
		s, err := openMem(t, mem)
		if err != nil {
			t.Fatal(err)
		}
		written := map[uint64][]byte{}
		synced := map[uint64]int64{}
		for id := uint64(1); id <= 3; id++ {
			data := randBytes(5000+int(id)*777, seed*10+int64(id))
			written[id] = data
			w, err := s.CreateRbw(testBP, id, 1, Checksum{})
			if err != nil {
				t.Fatal(err)
			}
			half := int64(len(data)) / 2
			if err := w.WriteChunks(0, data[:half], nil); err != nil {
				t.Fatal(err)
			}
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			synced[id] = half
			for off := half; off < int64(len(data)); off += 1000 {
				end := min(off+1000, int64(len(data)))
				if err := w.WriteChunks(off, data[off:end], nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		crashed := mem.CrashCloneTorn(rand.New(rand.NewSource(seed)))
		s.Close()
		s2, err := openMem(t, crashed)
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		for id, data := range written {
			r, ok := s2.Get(testBP, id)
			if !ok || r.State != StateRWR || r.NumBytes < synced[id] || r.NumBytes > int64(len(data)) {
				t.Fatalf("seed %d: replica %d: %v %v (synced %d)", seed, id, r, ok, synced[id])
			}
			if _, err := s2.InitReplicaRecovery(testBP, id, 1, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := s2.UpdateReplicaUnderRecovery(testBP, id, 2, id, r.NumBytes); err != nil {
				t.Fatal(err)
			}
			rr, err := s2.OpenReplica(testBP, id, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := rr.Verify(); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			got := make([]byte, rr.Length())
			if _, err := rr.ReadAt(got, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			rr.Close()
			if !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("seed %d: replica %d holds bytes that were never written", seed, id)
			}
		}
		s2.Close()
	}
}

// TestFullDisk: a write that fails (a full disk) fails the writer for good;
// nothing is finalized from it, and pipeline recovery takes the replica
// over at the acknowledged length.
func TestFullDisk(t *testing.T) {
	mem := vfs.NewMem()
	full := &diskFull{}
	s, err := openMem(t, errorfs.Wrap(mem, full))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := randBytes(4000, 40)
	w, err := s.CreateRbw(testBP, 1, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(0, data[:2048], nil); err != nil {
		t.Fatal(err)
	}
	w.SetBytesAcked(2048)
	full.set(true)
	if err := w.WriteChunks(2048, data[2048:], nil); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("write on a full disk: %v", err)
	}
	full.set(false)
	if err := w.WriteChunks(2048, data[2048:], nil); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("a failed writer accepted more: %v", err)
	}
	if _, err := w.Finalize(); err == nil {
		t.Fatal("a failed writer finalized")
	}
	if r, _ := s.Get(testBP, 1); r.State != StateRBW {
		t.Fatalf("replica %v", r)
	}
	w2, err := s.RecoverRbw(testBP, 1, 1, 2, 2048, 4000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.WriteChunks(2048, data[2048:], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Finalize(); err != nil {
		t.Fatal(err)
	}
	rr, err := s.OpenReplica(testBP, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if err := rr.Verify(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4000)
	if _, err := rr.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// diskFull fails every write while set.
type diskFull struct {
	mu   sync.Mutex
	full bool
}

func (d *diskFull) set(v bool) { d.mu.Lock(); d.full = v; d.mu.Unlock() }

func (d *diskFull) MaybeError(op errorfs.Op, path string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.full && op == errorfs.OpWrite {
		return fmt.Errorf("%w: no space left on device", errorfs.ErrInjected)
	}
	return nil
}

// TestNoSyncOnCloseIsNotDurable: with dfs.datanode.synconclose=false (Hadoop's
// default) Finalize leaves the data in the page cache, and a crash loses a
// finalized replica's bytes; the startup scan ignores the torn replica instead
// of serving it. (The default fsyncs: TestFinalizedSurvivesCrash.)
func TestNoSyncOnCloseIsNotDurable(t *testing.T) {
	mem := vfs.NewMem()
	s, err := Open(memDirs, Options{Logger: zaptest.NewLogger(t), FS: mem, Statfs: fakeStatfs, NoSyncOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		t.Fatal(err)
	}
	// The block pool's directories exist durably before the replica is written.
	s.Close()
	if s, err = Open(memDirs, Options{Logger: zaptest.NewLogger(t), FS: mem, Statfs: fakeStatfs, NoSyncOnClose: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		t.Fatal(err)
	}
	data := randBytes(5000, 34)
	w, err := s.CreateRbw(testBP, 9, 1, Checksum{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunks(0, data, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := w.Finalize(); err != nil || r.State != StateFinalized {
		t.Fatalf("Finalize: %v, %v", r, err)
	}
	s.Close()
	s2, err := openMem(t, mem.CrashClone())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r, ok := s2.Get(testBP, 9); ok && r.NumBytes == 5000 {
		t.Fatalf("an unsynced replica came back whole after a crash: %v", r)
	}
}
