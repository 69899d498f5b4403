package datanode

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const benchBlock = 16 << 20

// benchWrite writes one 16 MiB block per iteration through a pipeline of
// n in-process DataNodes (real storage in temp dirs, loopback TCP).
func benchWrite(b *testing.B, n int) {
	nn := newFakeNN(b, active, 1)
	var pipeline []*hdfspb.DatanodeInfoProto
	for i := 0; i < n; i++ {
		cfg := testConfig(b, nn)
		cfg.Logger = nil
		pipeline = append(pipeline, info(startDN(b, cfg, nn)))
	}
	data := randomData(1 << 20)
	b.SetBytes(benchBlock)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := datatransfer.NewBlockWriter(context.Background(), datatransfer.WriteRequest{
			Block: extBlock(uint64(1<<30+i), 1001, 0), Pipeline: pipeline, ClientName: "bench", Stage: stageCreate, Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < benchBlock; off += len(data) {
			if _, err := w.Write(data); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteReplication1(b *testing.B) { benchWrite(b, 1) }
func BenchmarkWriteReplication3(b *testing.B) { benchWrite(b, 3) }

// BenchmarkRead reads one 16 MiB replica per iteration with checksum
// verification.
func BenchmarkRead(b *testing.B) {
	nn := newFakeNN(b, active, 1)
	cfg := testConfig(b, nn)
	cfg.Logger = nil
	dn := startDN(b, cfg, nn)
	data := randomData(1 << 20)
	blk := extBlock(1<<30, 1001, 0)
	w, err := datatransfer.NewBlockWriter(context.Background(), datatransfer.WriteRequest{
		Block: blk, Pipeline: []*hdfspb.DatanodeInfoProto{info(dn)}, ClientName: "bench", Stage: stageCreate, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	for off := 0; off < benchBlock; off += len(data) {
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBlock)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := datatransfer.NewBlockReader(context.Background(), datatransfer.ReadRequest{
			Addr: dn.TransferAddress(), Block: blk, ClientName: "bench", Length: benchBlock})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != benchBlock {
			b.Fatal(n, err)
		}
		r.Close()
	}
}
