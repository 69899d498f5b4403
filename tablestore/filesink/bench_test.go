package filesink

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/hdfsha/hdfsha/tablestore"
)

// BenchmarkPutEdits measures one durable batch write (two fsyncs: the
// temp file and the directory) for batches of 1, 100 and 1000 ops of
// 200 bytes, about what the shipper sends under load.
func BenchmarkPutEdits(b *testing.B) {
	for _, ops := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("ops=%d", ops), func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := tablestore.Batch{Ops: make([][]byte, ops)}
			for i := range batch.Ops {
				batch.Ops[i] = bytes.Repeat([]byte{'o'}, 200)
			}
			b.SetBytes(int64(tablestore.EncodedBatchSize(batch)))
			next := int64(1)
			for b.Loop() {
				batch.First = next
				if err := s.PutEdits(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				next += int64(ops)
			}
		})
	}
}

// BenchmarkReadEdits measures reading a chain of 1000 batches of 10 ops.
func BenchmarkReadEdits(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 1000 {
		batch := tablestore.Batch{First: int64(i*10 + 1), Ops: make([][]byte, 10)}
		for j := range batch.Ops {
			batch.Ops[j] = bytes.Repeat([]byte{'r'}, 200)
		}
		if err := s.PutEdits(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		n := 0
		if err := s.ReadEdits(context.Background(), 0, func(tablestore.Batch) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
}
