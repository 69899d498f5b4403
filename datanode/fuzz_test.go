package datanode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// FuzzServeConn feeds arbitrary bytes to one DataNode's transfer protocol
// server: whatever arrives, the connection ends and the DataNode keeps
// serving (no panic, no hang). Outbound connections (mirrors, transfers)
// are refused, so inputs naming targets dial nowhere.
func FuzzServeConn(f *testing.F) {
	nn := newFakeNN(f, active, 1)
	cfg := testConfig(f, nn)
	cfg.Logger = nil
	cfg.SocketTimeout = 2 * time.Second
	cfg.SocketKeepalive = 100 * time.Millisecond
	cfg.Dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("fuzz: no dialing") }
	dn := startDN(f, cfg, nn)

	// Seeds: a real write (one packet, then the last), a read of it, a
	// checksum, a transfer, and broken variants.
	blk := extBlock(1073750000, 1, 0)
	var write bytes.Buffer
	cs := datatransfer.DefaultChecksum()
	op := &hdfspb.OpWriteBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: blk}, ClientName: proto.String("fuzz")},
		Stage:  stageCreate.Enum(), PipelineSize: proto.Uint32(1), MinBytesRcvd: proto.Uint64(0), MaxBytesRcvd: proto.Uint64(0),
		LatestGenerationStamp: proto.Uint64(1), RequestedChecksum: cs.Proto(),
	}
	_ = datatransfer.WriteOp(&write, datatransfer.OpWriteBlock, op)
	payload := []byte("hello, datanode")
	_ = datatransfer.WritePacket(&write, datatransfer.PacketHeader{Seqno: 0}, cs.Compute(nil, payload), payload)
	_ = datatransfer.WritePacket(&write, datatransfer.PacketHeader{OffsetInBlock: int64(len(payload)), Seqno: 1, LastPacketInBlock: true}, nil, nil)
	f.Add(write.Bytes())
	var read bytes.Buffer
	_ = datatransfer.WriteOp(&read, datatransfer.OpReadBlock, &hdfspb.OpReadBlockProto{
		Header: op.Header, Offset: proto.Uint64(0), Len: proto.Uint64(uint64(len(payload))), SendChecksums: proto.Bool(true)})
	_ = datatransfer.WriteReadStatus(&read, hdfspb.Status_CHECKSUM_OK)
	f.Add(read.Bytes())
	var sum bytes.Buffer
	_ = datatransfer.WriteOp(&sum, datatransfer.OpBlockChecksum, &hdfspb.OpBlockChecksumProto{Header: op.Header.BaseHeader})
	f.Add(sum.Bytes())
	var xfer bytes.Buffer
	_ = datatransfer.WriteOp(&xfer, datatransfer.OpTransferBlock, &hdfspb.OpTransferBlockProto{Header: op.Header,
		Targets: []*hdfspb.DatanodeInfoProto{info(dn)}})
	f.Add(xfer.Bytes())
	w := write.Bytes()
	f.Add(w[:len(w)/2])
	f.Add(append(append([]byte(nil), w[:len(w)-8]...), 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0))
	f.Add([]byte{0x00, 0x1c, 0x51, 0xff, 0xff, 0xff, 0xff, 0x0f})

	f.Fuzz(func(t *testing.T, in []byte) {
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			dn.serveConn(context.Background(), server)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(in)
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("serveConn did not return")
		}
	})
}
