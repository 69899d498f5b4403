package storage

import (
	"io"
	"testing"

	"go.uber.org/zap"
)

const benchBlock = 8 << 20

func openBench(b *testing.B) *Store {
	s, err := Open([]string{b.TempDir()}, Options{Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.AddBlockPool(testBP, testCluster, testNSID, 0); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkWriteBlock writes and finalizes 8 MiB replicas in 64 KiB packets
// with client checksums (verified and stored), as a pipeline's last node.
func BenchmarkWriteBlock(b *testing.B) {
	s := openBench(b)
	data := randBytes(benchBlock, 1)
	sums := ChunkChecksums(data, DefaultBytesPerChecksum)
	const pkt = 64 << 10
	b.SetBytes(benchBlock)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := s.CreateRbw(testBP, uint64(i+1), 1, Checksum{})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < benchBlock; off += pkt {
			c := off / DefaultBytesPerChecksum * ChecksumSize
			if err := w.WriteChunks(int64(off), data[off:off+pkt], sums[c:c+pkt/DefaultBytesPerChecksum*ChecksumSize]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Finalize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadBlock reads an 8 MiB replica with its stored checksums in
// 64 KiB packets, as READ_BLOCK does.
func BenchmarkReadBlock(b *testing.B) {
	s := openBench(b)
	data := randBytes(benchBlock, 2)
	w, err := s.CreateRbw(testBP, 1, 1, Checksum{})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteChunks(0, data, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Finalize(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	sums := make([]byte, len(buf)/DefaultBytesPerChecksum*ChecksumSize)
	b.SetBytes(benchBlock)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rr, err := s.OpenReplica(testBP, 1, 1)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); ; {
			n, err := rr.ReadChunks(off, buf, sums)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			off += int64(n)
		}
		rr.Close()
	}
}
