package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchBytes is the file size the data path benchmarks move: HDFSHA_BENCH_BYTES, else
// 64 MiB (the figure is for 1 GiB: HDFSHA_BENCH_BYTES=1073741824).
func benchBytes(b *testing.B) int {
	if v := os.Getenv("HDFSHA_BENCH_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("HDFSHA_BENCH_BYTES=%q", v)
		}
		return n
	}
	return 64 << 20
}

// BenchmarkPutGet writes (put) and reads (get) one file through a real in-process
// NameNode and three DataNodes on this machine's disk, at replication 1 and 3, with
// 128 MiB blocks; BenchmarkRawDisk is the same bytes written (and fsynced) and read
// with plain files in the same temp directory, for comparison.
func BenchmarkPutGet(b *testing.B) {
	size := benchBytes(b)
	pattern := testData(4<<20, 99)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	rc := startRealCluster(b, ctx, 3)
	cl := rc.cl
	buf := make([]byte, 1<<20)
	put := func(b *testing.B, path string, repl uint32) {
		w, err := cl.Create(ctx, path, CreateOptions{Replication: repl, Overwrite: true, BlockSize: 128 << 20})
		if err != nil {
			b.Fatal(err)
		}
		if err := writePattern(w, pattern, size); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, repl := range []uint32{1, 3} {
		path := fmt.Sprintf("/bench-r%d", repl)
		b.Run(fmt.Sprintf("put/replication=%d", repl), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				put(b, path, repl)
			}
		})
		b.Run(fmt.Sprintf("get/replication=%d", repl), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				r, err := cl.Open(ctx, path)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, r, buf)
				r.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
			}
		})
	}
}

func BenchmarkRawDisk(b *testing.B) {
	size := benchBytes(b)
	pattern := testData(4<<20, 99)
	path := filepath.Join(b.TempDir(), "raw")
	buf := make([]byte, 1<<20)
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := writePattern(f, pattern, size); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, f, buf); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

// writePattern writes size bytes of pattern repeated, 1 MiB at a time, so a 1 GiB
// benchmark does not hold 1 GiB in memory.
func writePattern(w io.Writer, pattern []byte, size int) error {
	for off := 0; off < size; {
		p := pattern[off%len(pattern):]
		p = p[:min(len(p), 1<<20, size-off)]
		n, err := w.Write(p)
		if err != nil {
			return err
		}
		off += n
	}
	return nil
}
