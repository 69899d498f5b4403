package datanode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func codecRead(t *testing.T, dn *DataNode, b *hdfspb.ExtendedBlockProto, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := datatransfer.NewBlockReader(context.Background(), datatransfer.ReadRequest{
		Addr: dn.TransferAddress(), Block: b, ClientName: "DFSClient_codec", Offset: off, Length: n, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TestCodecPipeline drives the DataNodes with the client side of
// internal/datatransfer: a 3-node pipeline with an hflush, reads from each
// replica, BLOCK_CHECKSUM, TRANSFER_BLOCK, then a pipeline recovery after
// the last node dies mid-block.
func TestCodecPipeline(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	var dns []*DataNode
	var pipeline []*hdfspb.DatanodeInfoProto
	for i := 0; i < 4; i++ {
		dns = append(dns, startDN(t, testConfig(t, nn), nn))
		if i < 3 {
			pipeline = append(pipeline, info(dns[i]))
		}
	}
	ctx := context.Background()
	data := randomData(300_000)
	b := extBlock(1073745000, 2001, 0)
	w, err := datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{
		Block: b, Pipeline: pipeline, ClientName: "DFSClient_codec", Stage: stageCreate, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:100_001]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	// After hflush the acknowledged bytes are visible to readers.
	got, err := codecRead(t, dns[1], b, 0, 100_001)
	if err != nil || !bytes.Equal(got, data[:100_001]) {
		t.Fatalf("read after hflush: %v", err)
	}
	if _, err := w.Write(data[100_001:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b.NumBytes = proto.Uint64(uint64(len(data)))
	var md5s [][]byte
	for i := 0; i < 3; i++ {
		got, err := codecRead(t, dns[i], b, 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("dn%d read: %v", i, err)
		}
		got, err = codecRead(t, dns[i], b, 12_345, 54_321)
		if err != nil || !bytes.Equal(got, data[12_345:12_345+54_321]) {
			t.Fatalf("dn%d ranged read: %v", i, err)
		}
		resp, err := datatransfer.BlockChecksum(ctx, datatransfer.OpRequest{Addr: dns[i].TransferAddress(), Block: b})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetBytesPerCrc() != 512 || resp.GetCrcPerBlock() != uint64((len(data)+511)/512) {
			t.Fatalf("checksum response %v", resp)
		}
		md5s = append(md5s, resp.GetBlockChecksum())
	}
	if !bytes.Equal(md5s[0], md5s[1]) || !bytes.Equal(md5s[1], md5s[2]) {
		t.Fatal("replicas' block checksums differ")
	}
	// TRANSFER_BLOCK: dn0 copies its replica to dn3 (what pipeline recovery
	// does to add a node).
	if err := datatransfer.TransferBlock(ctx, datatransfer.OpRequest{Addr: dns[0].TransferAddress(), Block: b, ClientName: "DFSClient_codec", Timeout: 10 * time.Second},
		[]*hdfspb.DatanodeInfoProto{info(dns[3])}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r, ok := dns[3].Store().Get(testBPID, b.GetBlockId()); !ok || r.State != storage.StateFinalized || r.NumBytes != int64(len(data)) {
		t.Fatalf("transferred replica %v %v", r, ok)
	}

	// Pipeline recovery: the last node dies mid-block; the client goes on
	// with the first two under a new generation stamp.
	b2 := extBlock(1073745001, 2002, 0)
	w, err = datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{
		Block: b2, Pipeline: pipeline, ClientName: "DFSClient_codec", Stage: stageCreate, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:70_000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	if err := dns[2].Stop(); err != nil {
		t.Fatal(err)
	}
	var perr *datatransfer.PipelineError
	for off := 70_000; err == nil && off < len(data); off += 10_000 {
		_, err = w.Write(data[off : off+10_000])
		if err == nil {
			err = w.Flush(false)
		}
	}
	if !errors.As(err, &perr) || perr.Index != 2 {
		t.Fatalf("expected a pipeline error naming node 2, got %v", err)
	}
	const newGS = 2003
	req := w.RecoveryRequest(newGS, pipeline[:2])
	w2, err := datatransfer.NewBlockWriter(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sent := req.MaxBytesRcvd + int64(len(req.Pending))
	if _, err := w2.Write(data[sent:]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	nb := extBlock(b2.GetBlockId(), newGS, uint64(len(data)))
	for i := 0; i < 2; i++ {
		got, err := codecRead(t, dns[i], nb, 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("dn%d read after recovery: %v", i, err)
		}
	}
}

// TestReplaceDatanodeOnFailure is the client's replace-datanode-on-failure
// path: a pipeline node dies mid-block, the client asks a survivor to
// TRANSFER_BLOCK its RBW replica to a new node (stage TRANSFER_RBW), then
// resumes on [survivors..., new node] with PIPELINE_SETUP_STREAMING_RECOVERY.
func TestReplaceDatanodeOnFailure(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	var dns []*DataNode
	for i := 0; i < 4; i++ {
		dns = append(dns, startDN(t, testConfig(t, nn), nn))
	}
	pipeline := []*hdfspb.DatanodeInfoProto{info(dns[0]), info(dns[1]), info(dns[2])}
	ctx := context.Background()
	data := randomData(250_000)
	b := extBlock(1073746000, 3001, 0)
	w, err := datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{
		Block: b, Pipeline: pipeline, ClientName: "DFSClient_codec", Stage: stageCreate, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:90_000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	if err := dns[1].Stop(); err != nil {
		t.Fatal(err)
	}
	for off := 90_000; err == nil && off < len(data); off += 10_000 {
		if _, err = w.Write(data[off : off+10_000]); err == nil {
			err = w.Flush(false)
		}
	}
	var perr *datatransfer.PipelineError
	if !errors.As(err, &perr) || perr.Index != 1 {
		t.Fatalf("expected a pipeline error naming node 1, got %v", err)
	}
	// Copy dn0's RBW replica (what it acknowledged) to dn3.
	cur := extBlock(b.GetBlockId(), 3001, uint64(w.AckedBytes()))
	if err := datatransfer.TransferBlock(ctx, datatransfer.OpRequest{Addr: dns[0].TransferAddress(), Block: cur, ClientName: "DFSClient_codec", Timeout: 10 * time.Second},
		[]*hdfspb.DatanodeInfoProto{info(dns[3])}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r, ok := dns[3].Store().Get(testBPID, b.GetBlockId()); !ok || r.State != storage.StateRBW || r.NumBytes < 90_000 {
		t.Fatalf("transferred RBW replica %v %v", r, ok)
	}
	const newGS = 3002
	req := w.RecoveryRequest(newGS, []*hdfspb.DatanodeInfoProto{info(dns[0]), info(dns[2]), info(dns[3])})
	w2, err := datatransfer.NewBlockWriter(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sent := req.MaxBytesRcvd + int64(len(req.Pending))
	if _, err := w2.Write(data[sent:]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	nb := extBlock(b.GetBlockId(), newGS, uint64(len(data)))
	for _, i := range []int{0, 2, 3} {
		got, err := codecRead(t, dns[i], nb, 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("dn%d read after recovery: %v", i, err)
		}
		waitFor(t, "RECEIVED with the new genstamp", func() bool {
			for _, e := range nn.ibrsOf(dns[i].DatanodeUUID(), ibrReceived) {
				if e.gs == newGS && e.numBytes == uint64(len(data)) {
					return true
				}
			}
			return false
		})
	}
}

// TestCloseAndAppendRecovery: PIPELINE_CLOSE_RECOVERY finalizes RBW
// replicas under the new generation stamp at setup (Hadoop's fast path, no
// packets); PIPELINE_SETUP_APPEND_RECOVERY then reopens the finalized
// replicas and appends.
func TestCloseAndAppendRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	dns := []*DataNode{startDN(t, testConfig(t, nn), nn), startDN(t, testConfig(t, nn), nn)}
	data := randomData(40_000)
	const id = 1073747000
	for _, dn := range dns {
		w, err := dn.Store().CreateRbw(testBPID, id, 4001, storage.Checksum{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunks(0, data, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.Dial("tcp", dns[0].TransferAddress())
	if err != nil {
		t.Fatal(err)
	}
	op := &hdfspb.OpWriteBlockProto{
		Header:  &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: extBlock(id, 4001, uint64(len(data)))}, ClientName: proto.String("DFSClient_codec")},
		Targets: []*hdfspb.DatanodeInfoProto{info(dns[1])},
		Stage:   stageCloseRecovery.Enum(), PipelineSize: proto.Uint32(2),
		MinBytesRcvd: proto.Uint64(uint64(len(data))), MaxBytesRcvd: proto.Uint64(uint64(len(data))),
		LatestGenerationStamp: proto.Uint64(4002), RequestedChecksum: datatransfer.DefaultChecksum().Proto(),
	}
	if err := datatransfer.WriteOp(conn, datatransfer.OpWriteBlock, op); err != nil {
		t.Fatal(err)
	}
	resp, err := datatransfer.ReadResponse(bufio.NewReader(conn))
	conn.Close()
	if err != nil || resp.GetStatus() != hdfspb.Status_SUCCESS {
		t.Fatalf("close recovery: %v %v", resp, err)
	}
	for i, dn := range dns {
		r, ok := dn.Store().Get(testBPID, id)
		if !ok || r.State != storage.StateFinalized || r.GenStamp != 4002 || r.NumBytes != int64(len(data)) {
			t.Fatalf("dn%d after close recovery: %v", i, r)
		}
		waitFor(t, "RECEIVED after close recovery", func() bool {
			evs := nn.ibrsOf(dn.DatanodeUUID(), ibrReceived)
			return len(evs) == 1 && evs[0].gs == 4002
		})
	}

	more := randomData(30_000)
	ctx := context.Background()
	w, err := datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{
		Block: extBlock(id, 4002, uint64(len(data))), NewGenerationStamp: 4003, Pipeline: []*hdfspb.DatanodeInfoProto{info(dns[0]), info(dns[1])},
		ClientName: "DFSClient_codec", Stage: stageAppendRecovery, MinBytesRcvd: int64(len(data)), MaxBytesRcvd: int64(len(data)), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	all := append(append([]byte(nil), data...), more...)
	for i, dn := range dns {
		got, err := codecRead(t, dn, extBlock(id, 4003, uint64(len(all))), 0, int64(len(all)))
		if err != nil || !bytes.Equal(got, all) {
			t.Fatalf("dn%d read after append recovery: %v", i, err)
		}
	}
}

// TestCloseRecoveryWithResentLastPacket: hdfsha's BlockWriter resends the
// end-of-block packet after PIPELINE_CLOSE_RECOVERY's setup (Hadoop's
// client does not); the DataNodes acknowledge it down the pipeline.
func TestCloseRecoveryWithResentLastPacket(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	dns := []*DataNode{startDN(t, testConfig(t, nn), nn), startDN(t, testConfig(t, nn), nn)}
	data := randomData(1000)
	for _, d := range dns {
		w, err := d.Store().CreateRbw(testBPID, 77, 10, storage.Checksum{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunks(0, data, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	req := datatransfer.WriteRequest{Block: extBlock(77, 10, 1000), NewGenerationStamp: 11, Pipeline: []*hdfspb.DatanodeInfoProto{info(dns[0]), info(dns[1])},
		ClientName: "DFSClient_codec", Stage: stageCloseRecovery, MinBytesRcvd: 1000, MaxBytesRcvd: 1000, Timeout: 5 * time.Second, FirstSeqno: 5,
		Resend: []datatransfer.OutboundPacket{{Header: datatransfer.PacketHeader{OffsetInBlock: 1000, Seqno: 4, LastPacketInBlock: true}}}}
	w, err := datatransfer.NewBlockWriter(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, d := range dns {
		if r, ok := d.Store().Get(testBPID, 77); !ok || r.State != storage.StateFinalized || r.GenStamp != 11 || r.NumBytes != 1000 {
			t.Fatalf("dn%d: %v", i, r)
		}
	}
}
