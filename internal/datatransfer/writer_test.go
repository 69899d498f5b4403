package datatransfer

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func pipelineOf(dns ...*fakeDN) []*hdfspb.DatanodeInfoProto {
	var p []*hdfspb.DatanodeInfoProto
	for _, d := range dns {
		p = append(p, d.info())
	}
	return p
}

func newWriteRequest(dns ...*fakeDN) WriteRequest {
	return WriteRequest{Block: testBlock(7), Pipeline: pipelineOf(dns...), ClientName: "DFSClient_test", Stage: StageSetupCreate,
		PacketSize: 4096, Timeout: 10 * time.Second}
}

// writeInPieces writes data in uneven pieces, the way a file writer does,
// and returns how many bytes the writer accepted.
func writeInPieces(t *testing.T, w *BlockWriter, data []byte) (int, error) {
	t.Helper()
	i := 0
	for n := 1; i < len(data); n = n*3 + 1 {
		n = min(n%5000+1, len(data)-i)
		m, err := w.Write(data[i : i+n])
		i += m
		if err != nil {
			return i, err
		}
	}
	return i, nil
}

func TestBlockWriterPipeline(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t), newFakeDN(t)}
	w, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
	if err != nil {
		t.Fatal(err)
	}
	data := testData(100_000)
	if _, err := writeInPieces(t, w, data[:30_000]); err != nil {
		t.Fatal(err)
	}
	// hsync with a partial chunk buffered: the next packet resumes inside it.
	if err := w.Flush(true); err != nil {
		t.Fatal(err)
	}
	if got := w.AckedBytes(); got != 30_000 {
		t.Fatalf("acked %d after hsync, want 30000", got)
	}
	if _, err := writeInPieces(t, w, data[30_000:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.AckedBytes() != int64(len(data)) || len(w.Unacked()) != 0 {
		t.Fatalf("acked %d, %d unacked", w.AckedBytes(), len(w.Unacked()))
	}
	for i, dn := range dns {
		if !bytes.Equal(dn.block(7), data) {
			t.Fatalf("datanode %d holds %d bytes, not the data", i, len(dn.block(7)))
		}
		dn.mu.Lock()
		syncs, stages := dn.syncs, dn.stages
		dn.mu.Unlock()
		if syncs != 1 || len(stages) != 1 || stages[0] != StageSetupCreate {
			t.Fatalf("datanode %d: %d syncs, stages %v", i, syncs, stages)
		}
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close accepted")
	}
}

func TestBlockWriterPacketSizes(t *testing.T) {
	// 64 KiB packets carry 126 chunks of 512 bytes (DFSOutputStream).
	w := &BlockWriter{req: WriteRequest{Checksum: DefaultChecksum()}}
	chunk := 512 + 4
	w.chunkData = max(1, (DefaultWritePacketSize-MaxPacketHeaderLen)/chunk) * 512
	if w.chunkData != 126*512 {
		t.Fatalf("full packet carries %d bytes", w.chunkData)
	}
	w.offset = 700
	if n := w.nextPacketLen(); n != 324 {
		t.Fatalf("packet resuming at 700 carries %d bytes, want 324 up to the chunk boundary", n)
	}
}

func TestBlockWriterAckErrorAndRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t), newFakeDN(t)}
	dns[1].failSeqno = 3
	w, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
	if err != nil {
		t.Fatal(err)
	}
	data := testData(60_000)
	accepted, err := writeInPieces(t, w, data)
	if err == nil {
		err = w.Close()
	}
	var pe *PipelineError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *PipelineError", err)
	}
	if pe.Index != 1 || pe.Status != hdfspb.Status_ERROR || pe.Seqno != 3 || pe.Node != dns[1].addr() || pe.Setup {
		t.Fatalf("PipelineError %+v", pe)
	}
	// Packets carry 7 chunks (3584 bytes) at PacketSize 4096: 0..2 acked.
	if got := w.AckedBytes(); got != 3*3584 {
		t.Fatalf("acked %d, want %d", got, 3*3584)
	}
	un := w.Unacked()
	if len(un) == 0 || un[0].Header.Seqno != 3 || un[0].Header.OffsetInBlock != 3*3584 {
		t.Fatalf("unacked starts with %+v", un)
	}
	if !errors.Is(w.Close(), pe) {
		t.Fatal("Close after the failure does not return it")
	}

	// Recovery: new genstamp, the failed node out, unacked packets resent.
	next := w.RecoveryRequest(1002, pipelineOf(dns[0], dns[2]))
	if next.Stage != StageSetupStreamingRecovery || next.MinBytesRcvd != 3*3584 || next.NewGenerationStamp != 1002 {
		t.Fatalf("recovery request stage %v min %d", next.Stage, next.MinBytesRcvd)
	}
	if next.MaxBytesRcvd+int64(len(next.Pending)) != int64(accepted) {
		t.Fatalf("sent %d + pending %d != accepted %d", next.MaxBytesRcvd, len(next.Pending), accepted)
	}
	w2, err := NewBlockWriter(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write(data[accepted:]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if next.Block.GetGenerationStamp() != 1001 || w2.RecoveryRequest(1003, nil).Block.GetGenerationStamp() != 1002 {
		t.Fatal("a recovery request must name the block by the genstamp its pipeline was set up with")
	}
	for _, dn := range []*fakeDN{dns[0], dns[2]} {
		if !bytes.Equal(dn.block(7), data) {
			t.Fatalf("%s holds %d bytes after recovery", dn.addr(), len(dn.block(7)))
		}
		dn.mu.Lock()
		stages := dn.stages
		dn.mu.Unlock()
		if len(stages) != 2 || stages[1] != StageSetupStreamingRecovery {
			t.Fatalf("stages %v", stages)
		}
	}
}

func TestBlockWriterEarlyEOF(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t)}
	dns[0].dropAckAt = 2 // the first node closes the connection instead of acking
	w, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
	if err != nil {
		t.Fatal(err)
	}
	_, err = writeInPieces(t, w, testData(40_000))
	if err == nil {
		err = w.Close()
	}
	var pe *PipelineError
	if !errors.As(err, &pe) || pe.Index != 0 || pe.Setup {
		t.Fatalf("err = %v, want the first node to fail", err)
	}
	// The close may reset the connection before the client read acks 0 and
	// 1: whatever was acked, the unacked packets start right after it.
	acked := w.AckedBytes()
	if un := w.Unacked(); acked > 2*3584 || len(un) == 0 || un[0].Header.OffsetInBlock != acked {
		t.Fatalf("acked %d, unacked %d packets", acked, len(un))
	}
	// Failing during close recovers with the close stage.
	w.lastQueued.Store(true)
	if st := w.RecoveryRequest(1002, nil).Stage; st != StageCloseRecovery {
		t.Fatalf("stage %v", st)
	}
}

func TestBlockWriterSetupFailures(t *testing.T) {
	testcluster.CheckLeaks(t)
	t.Run("refusing downstream node", func(t *testing.T) {
		dns := []*fakeDN{newFakeDN(t), newFakeDN(t), newFakeDN(t)}
		dns[1].refuseWrite = true
		_, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
		var pe *PipelineError
		if !errors.As(err, &pe) || !pe.Setup || pe.Index != 1 {
			t.Fatalf("err = %v, want setup failure at index 1", err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.FirstBadLink != dns[1].addr() {
			t.Fatalf("err = %v, want firstBadLink %s", err, dns[1].addr())
		}
	})
	t.Run("dead last node", func(t *testing.T) {
		dns := []*fakeDN{newFakeDN(t), newFakeDN(t), newFakeDN(t)}
		dns[2].ln.Close()
		_, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
		var pe *PipelineError
		if !errors.As(err, &pe) || pe.Index != 2 {
			t.Fatalf("err = %v, want index 2", err)
		}
	})
	t.Run("refusing first node", func(t *testing.T) {
		dn := newFakeDN(t)
		dn.refuseWrite = true
		q := newWriteRequest(dn)
		q.Stage = StageSetupAppend
		_, err := NewBlockWriter(context.Background(), q)
		var pe *PipelineError
		if !errors.As(err, &pe) || pe.Index != 0 {
			t.Fatalf("err = %v", err)
		}
		if next := q.RetryRequest(1003, nil); next.Stage != StageSetupAppendRecovery || next.NewGenerationStamp != 1003 {
			t.Fatalf("retry %v", next.Stage)
		}
	})
	t.Run("dead first node", func(t *testing.T) {
		dn := newFakeDN(t)
		dn.ln.Close()
		_, err := NewBlockWriter(context.Background(), newWriteRequest(dn))
		var pe *PipelineError
		if !errors.As(err, &pe) || pe.Index != 0 || !pe.Setup {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestBlockWriterAppendUnaligned(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t)}
	data := testData(5000)
	for _, dn := range dns {
		dn.blocks[7] = append([]byte(nil), data[:700]...)
	}
	q := newWriteRequest(dns...)
	q.Stage = StageSetupAppend
	q.MinBytesRcvd, q.MaxBytesRcvd = 700, 700
	w, err := NewBlockWriter(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeInPieces(t, w, data[700:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, dn := range dns {
		if !bytes.Equal(dn.block(7), data) {
			t.Fatalf("%s holds %d bytes", dn.addr(), len(dn.block(7)))
		}
	}
}

func TestBlockWriterHadoop2AcksAndHeartbeats(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t)}
	dns[0].replyFlags = false
	q := newWriteRequest(dns...)
	q.HeartbeatInterval = 10 * time.Millisecond
	w, err := NewBlockWriter(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(testData(100)); err != nil {
		t.Fatal(err)
	}
	// Idle: heartbeats flow and their acks are ignored.
	waitFor(t, func() bool { dns[1].mu.Lock(); defer dns[1].mu.Unlock(); return dns[1].heartbeats >= 2 })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dns[1].block(7), testData(100)) {
		t.Fatal("data lost")
	}
}

func TestBlockWriterEmptyBlock(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	w, err := NewBlockWriter(context.Background(), newWriteRequest(dn))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(dn.block(7)) != 0 {
		t.Fatal("empty block has data")
	}
}

func TestBlockWriterAbortWhileBlocked(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.stallAcks = make(chan struct{})
	defer close(dn.stallAcks)
	q := newWriteRequest(dn)
	q.MaxPacketsInFlight = 2
	w, err := NewBlockWriter(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// The window is two packets and no ack comes: this blocks.
		_, err := w.Write(testData(20_000))
		done <- err
	}()
	waitFor(t, func() bool { return len(w.Unacked()) == 2 })
	w.Abort()
	if err := <-done; !errors.Is(err, ErrAborted) {
		t.Fatalf("blocked Write returned %v, want ErrAborted", err)
	}
}

func TestBlockWriterLargeWrite(t *testing.T) {
	testcluster.CheckLeaks(t)
	dns := []*fakeDN{newFakeDN(t), newFakeDN(t)}
	w, err := NewBlockWriter(context.Background(), newWriteRequest(dns...))
	if err != nil {
		t.Fatal(err)
	}
	data := testData(300_001)
	if n, err := w.Write(data[:1]); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	// One call spanning many packets, starting with a partly filled buffer.
	if n, err := w.Write(data[1:]); n != len(data)-1 || err != nil {
		t.Fatal(n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, dn := range dns {
		if !bytes.Equal(dn.block(7), data) {
			t.Fatalf("%s holds %d bytes", dn.addr(), len(dn.block(7)))
		}
	}
}
