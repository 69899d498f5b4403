package ots

import (
	"bytes"
	"context"
	"testing"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/ots/otstest"
)

// The benchmarks measure the sink's own cost (SDK encoding, HTTP on
// loopback, the fake's work) against the fake server: they say nothing of
// the live service's latency.

func benchBatch(first int64, ops, size int) tablestore.Batch {
	b := tablestore.Batch{First: first, Ops: make([][]byte, ops)}
	for i := range b.Ops {
		b.Ops[i] = bytes.Repeat([]byte{byte(i)}, size)
	}
	return b
}

func benchSink(b *testing.B) *Sink {
	srv := otstest.New()
	b.Cleanup(srv.Close)
	s, err := OpenWithOptions(context.Background(), srv.Config("bench"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPutEdits: one batch of 100 ops of 200 bytes per iteration.
func BenchmarkPutEdits(b *testing.B) {
	s := benchSink(b)
	ctx := context.Background()
	b.SetBytes(100 * 200)
	next := int64(1)
	for b.Loop() {
		if err := s.PutEdits(ctx, benchBatch(next, 100, 200)); err != nil {
			b.Fatal(err)
		}
		next += 100
	}
}

// BenchmarkReadEdits: reading 1000 such batches back, per iteration.
func BenchmarkReadEdits(b *testing.B) {
	s := benchSink(b)
	ctx := context.Background()
	for i := range 1000 {
		if err := s.PutEdits(ctx, benchBatch(int64(i)*100+1, 100, 200)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1000 * 100 * 200)
	for b.Loop() {
		n := 0
		if err := s.ReadEdits(ctx, 1, func(tablestore.Batch) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
}
