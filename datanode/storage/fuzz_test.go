package storage

import (
	"io"
	"testing"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// FuzzOpenTornMeta replaces the meta files of a finalized and an rbw replica
// with arbitrary bytes and checks that Open, reads and Verify never panic
// and that whatever is reported reads back consistently.
func FuzzOpenTornMeta(f *testing.F) {
	hdr := EncodeMetaHeader(Checksum{Type: ChecksumCRC32C, BytesPerChecksum: 512})
	f.Add(hdr, hdr, int16(0))
	f.Add([]byte{0, 1, 2, 0, 0, 0, 1, 1, 2, 3, 4}, []byte{0, 1, 0, 0, 0, 2, 0}, int16(5))
	f.Add([]byte{0, 1, 1, 0xff, 0xff, 0xff, 0xff}, []byte{}, int16(-3))
	f.Add(append(hdr, 1, 2, 3, 4, 5, 6, 7, 8), append(hdr, 9, 9, 9), int16(700))
	f.Fuzz(func(t *testing.T, finMeta, rbwMeta []byte, cut int16) {
		mem := vfs.NewMem()
		opts := Options{Logger: zap.NewNop(), FS: mem, Statfs: fakeStatfs}
		s, err := Open([]string{"/d"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
			t.Fatal(err)
		}
		data := randBytes(1200, 1)
		w, err := s.CreateRbw(testBP, 1, 1, Checksum{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunks(0, data, nil); err != nil {
			t.Fatal(err)
		}
		fin, err := w.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		w, err = s.CreateRbw(testBP, 2, 1, Checksum{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunks(0, data, nil); err != nil {
			t.Fatal(err)
		}
		rbw := w.Replica()
		w.Close()
		s.Close()
		for _, c := range []struct {
			path string
			b    []byte
		}{{fin.MetaFile, finMeta}, {rbw.MetaFile, rbwMeta}} {
			f, err := mem.Create(c.path)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(c.b)
			f.Close()
		}
		if cut != 0 {
			f, err := mem.OpenReadWrite(rbw.BlockFile)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(max(0, 1200+int64(cut)))
			f.Close()
		}
		s, err = Open([]string{"/d"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, r := range s.Report(testBP) {
			if r.State != StateFinalized {
				continue
			}
			rr, err := s.OpenReplica(testBP, r.BlockID, r.GenStamp)
			if err != nil {
				t.Fatalf("open %v: %v", r, err)
			}
			_ = rr.Verify()
			buf := make([]byte, 1024)
			sums := make([]byte, 1024)
			for off := int64(0); ; {
				n, err := rr.ReadChunks(off, buf, sums)
				if err == io.EOF || err != nil {
					break
				}
				off += int64(n)
			}
			rr.Close()
		}
	})
}
