package datanode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const (
	active  = hdfspb.NNHAStatusHeartbeatProto_ACTIVE
	standby = hdfspb.NNHAStatusHeartbeatProto_STANDBY
)

func randomData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestRegisterHeartbeatAndFullReport(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	dn := startDN(t, testConfig(t, nn), nn)
	uuid := dn.DatanodeUUID()
	waitFor(t, "a full block report", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return len(nn.reports[uuid]) > 0
	})
	nn.mu.Lock()
	reg := nn.regs[uuid]
	hb := nn.lastHB[uuid]
	br := nn.reports[uuid][0]
	nn.mu.Unlock()
	if reg.GetStorageInfo().GetClusterID() != testClusterID || reg.GetDatanodeID().GetXferPort() == 0 || reg.GetDatanodeID().GetIpcPort() == 0 ||
		reg.GetDatanodeID().GetInfoPort() == 0 || reg.GetSoftwareVersion() != SoftwareVersion {
		t.Fatalf("registration: %v", reg)
	}
	if len(hb.GetReports()) != 1 || hb.GetReports()[0].GetCapacity() == 0 || hb.GetReports()[0].GetStorageUuid() != dn.Store().StorageIDs()[0] {
		t.Fatalf("heartbeat storage reports: %v", hb.GetReports())
	}
	if br.GetBlockPoolId() != testBPID || len(br.GetReports()) != 1 || br.GetReports()[0].GetNumberOfBlocks() != 0 {
		t.Fatalf("block report: %v", br)
	}
	if dn.BlockPoolID() != testBPID || dn.ClusterID() != testClusterID || dn.ActiveNameNode() != nn.addr {
		t.Fatalf("bpid %q cluster %q active %q", dn.BlockPoolID(), dn.ClusterID(), dn.ActiveNameNode())
	}
	// The NameNode forgets the DataNode: it registers again and sends a
	// new full report.
	nn.mu.Lock()
	nn.forget[uuid] = true
	nn.mu.Unlock()
	waitFor(t, "re-registration and a second report", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return nn.regs[uuid] != nil && len(nn.reports[uuid]) >= 2
	})
}

// TestPipelineWriteRead writes a block through three DataNodes, reads it
// back from each, checks the incremental and full reports, then corrupts
// one replica.
func TestPipelineWriteRead(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	var dns []*DataNode
	for i := 0; i < 3; i++ {
		dns = append(dns, startDN(t, testConfig(t, nn), nn))
	}
	data := randomData(200_000 + 123)
	b := extBlock(1073741825, 1001, 0)
	if err := clientWrite(t, b, data, dns[0], dns[1], dns[2]); err != nil {
		t.Fatal(err)
	}
	for i, dn := range dns {
		waitFor(t, "RECEIVED", func() bool { return len(nn.ibrsOf(dn.DatanodeUUID(), ibrReceived)) == 1 })
		ev := nn.ibrsOf(dn.DatanodeUUID(), ibrReceived)[0]
		if ev.block != b.GetBlockId() || ev.gs != 1001 || ev.numBytes != uint64(len(data)) {
			t.Fatalf("dn%d RECEIVED %+v", i, ev)
		}
		got, err := clientRead(dn, b, 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("dn%d read: %v (%d bytes)", i, err, len(got))
		}
		// A read from the middle, not chunk aligned.
		got, err = clientRead(dn, b, 1000, 70_000)
		if err != nil || !bytes.Equal(got, data[1000:71_000]) {
			t.Fatalf("dn%d ranged read: %v", i, err)
		}
	}
	// /metrics and /jmx count what happened.
	metrics := httpGet(t, "http://"+dns[1].HTTPAddress()+"/metrics")
	for _, want := range []string{"datanode_bytes_written_total " + strconv.Itoa(len(data)), "datanode_blocks_written_total 1", "datanode_blocks_read_total 2", "datanode_blocks 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	jmx := httpGet(t, "http://"+dns[1].HTTPAddress()+"/jmx")
	for _, want := range []string{`"name": "Hadoop:service=DataNode,name=FSDatasetState"`, `"NumBlocks": 1`, `"ClusterId": "` + testClusterID + `"`, `"BytesWritten": ` + strconv.Itoa(len(data))} {
		if !strings.Contains(jmx, want) {
			t.Errorf("/jmx lacks %q:\n%s", want, jmx)
		}
	}
	// The first node also reported RECEIVING (a client write).
	if len(nn.ibrsOf(dns[0].DatanodeUUID(), ibrReceiving)) == 0 {
		t.Fatal("no RECEIVING report from the first node")
	}
	// Reading past the end is refused.
	if _, err := clientRead(dns[1], b, 0, int64(len(data))+1); err == nil {
		t.Fatal("read past the end succeeded")
	}
	// Writing the same block again is refused with ERROR_EXISTS.
	var se *datatransfer.StatusError
	if err := clientWrite(t, b, data, dns[2]); !errors.As(err, &se) || se.Status != hdfspb.Status_ERROR_EXISTS {
		t.Fatalf("second create: %v", err)
	}
	// The next full report (a re-registration) lists the replica.
	uuid := dns[1].DatanodeUUID()
	dns[1].actors[0].reregister()
	waitFor(t, "a report with the block", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		rs := nn.reports[uuid]
		if len(rs) < 2 {
			return false
		}
		blocks := rs[len(rs)-1].GetReports()[0].GetBlocks()
		return len(blocks) >= 5 && blocks[0] == 1 && blocks[2] == b.GetBlockId() && blocks[3] == uint64(len(data)) && blocks[4] == 1001
	})

	// Corrupt dn2's replica on disk: a reader detects it.
	rep, ok := dns[2].Store().Get(testBPID, b.GetBlockId())
	if !ok {
		t.Fatal("replica missing")
	}
	f, err := os.OpenFile(rep.BlockFile, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[5000] ^ 0xff}, 5000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := clientRead(dns[2], b, 0, int64(len(data))); !errors.Is(err, datatransfer.ErrChecksum) {
		t.Fatalf("read of a corrupt replica: %v", err)
	}
	// The corrupt copy cannot be replicated: the DataNode verifies while
	// sending and reports the replica bad instead.
	target := startDN(t, testConfig(t, nn), nn)
	nn.queue(dns[2].DatanodeUUID(), transferCmd(b, target))
	waitFor(t, "reportBadBlocks", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return len(nn.bad) > 0
	})
	nn.mu.Lock()
	bad := nn.bad[0]
	nn.mu.Unlock()
	if bad.GetB().GetBlockId() != b.GetBlockId() || bad.GetLocs()[0].GetId().GetDatanodeUuid() != dns[2].DatanodeUUID() {
		t.Fatalf("bad block report %v", bad)
	}
	if _, ok := target.Store().Get(testBPID, b.GetBlockId()); ok {
		waitFor(t, "the partial copy removed", func() bool { _, ok := target.Store().Get(testBPID, b.GetBlockId()); return !ok })
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func transferCmd(b *hdfspb.ExtendedBlockProto, targets ...*DataNode) *hdfspb.DatanodeCommandProto {
	var infos []*hdfspb.DatanodeInfoProto
	for _, d := range targets {
		infos = append(infos, info(d))
	}
	return &hdfspb.DatanodeCommandProto{
		CmdType: hdfspb.DatanodeCommandProto_BlockCommand.Enum(),
		BlkCmd: &hdfspb.BlockCommandProto{
			Action:      hdfspb.BlockCommandProto_TRANSFER.Enum(),
			BlockPoolId: proto.String(testBPID),
			Blocks:      []*hdfspb.BlockProto{{BlockId: b.BlockId, GenStamp: b.GenerationStamp, NumBytes: b.NumBytes}},
			Targets:     []*hdfspb.DatanodeInfosProto{{Datanodes: infos}},
		},
	}
}

func invalidateCmd(id, gs uint64) *hdfspb.DatanodeCommandProto {
	return &hdfspb.DatanodeCommandProto{
		CmdType: hdfspb.DatanodeCommandProto_BlockCommand.Enum(),
		BlkCmd: &hdfspb.BlockCommandProto{
			Action:      hdfspb.BlockCommandProto_INVALIDATE.Enum(),
			BlockPoolId: proto.String(testBPID),
			Blocks:      []*hdfspb.BlockProto{{BlockId: proto.Uint64(id), GenStamp: proto.Uint64(gs)}},
		},
	}
}

func TestTransferCommandCopiesReplica(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	src := startDN(t, testConfig(t, nn), nn)
	dst1 := startDN(t, testConfig(t, nn), nn)
	dst2 := startDN(t, testConfig(t, nn), nn)
	data := randomData(150_000)
	b := extBlock(1073741900, 1002, 0)
	if err := clientWrite(t, b, data, src); err != nil {
		t.Fatal(err)
	}
	b.NumBytes = proto.Uint64(uint64(len(data)))
	// One command, two targets: src → dst1 → dst2.
	nn.queue(src.DatanodeUUID(), transferCmd(b, dst1, dst2))
	for _, d := range []*DataNode{dst1, dst2} {
		waitFor(t, "RECEIVED from a target", func() bool { return len(nn.ibrsOf(d.DatanodeUUID(), ibrReceived)) == 1 })
		r, ok := d.Store().Get(testBPID, b.GetBlockId())
		if !ok || r.State != storage.StateFinalized || r.NumBytes != int64(len(data)) || r.GenStamp != 1002 {
			t.Fatalf("copied replica: %v %v", r, ok)
		}
		got, err := clientRead(d, b, 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read of the copy: %v", err)
		}
	}
}

func TestInvalidateAndFence(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1 := newFakeNN(t, standby, 5)
	nn2 := newFakeNN(t, active, 10)
	dn := startDN(t, testConfig(t, nn1, nn2), nn1, nn2)
	uuid := dn.DatanodeUUID()
	waitFor(t, "nn2 acknowledged active", func() bool { return dn.ActiveNameNode() == nn2.addr })
	data := randomData(3000)
	var ids []uint64
	for i := uint64(0); i < 4; i++ {
		b := extBlock(1073742000+i, 1003, 0)
		if err := clientWrite(t, b, data, dn); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.GetBlockId())
	}
	// Both NameNodes hear of every block.
	for _, nn := range []*fakeNN{nn1, nn2} {
		waitFor(t, "RECEIVED at both NameNodes", func() bool { return len(nn.ibrsOf(uuid, ibrReceived)) == 4 })
	}
	has := func(id uint64) bool { _, ok := dn.Store().Get(testBPID, id); return ok }
	beats := func(nn *fakeNN) func() bool {
		n := nn.heartbeatCount(uuid) + 2
		return func() bool { return nn.heartbeatCount(uuid) >= n }
	}

	// A standby may ask for a registration, as in Hadoop: a new handshake
	// and a full report follow.
	nn1.mu.Lock()
	reports := len(nn1.reports[uuid])
	nn1.mu.Unlock()
	nn1.queue(uuid, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_RegisterCommand.Enum(), RegisterCmd: &hdfspb.RegisterCommandProto{}})
	waitFor(t, "a full report after the standby's RegisterCommand", func() bool {
		nn1.mu.Lock()
		defer nn1.mu.Unlock()
		return len(nn1.reports[uuid]) > reports
	})
	// A standby's other commands are ignored.
	nn1.queue(uuid, invalidateCmd(ids[0], 1003))
	waitFor(t, "standby heartbeats", beats(nn1))
	if !has(ids[0]) {
		t.Fatal("a standby's INVALIDATE was obeyed")
	}
	// nn1 claims active with an older txid than nn2's claim (split brain):
	// ignored too.
	nn1.setHA(active, 7)
	nn1.queue(uuid, invalidateCmd(ids[0], 1003))
	waitFor(t, "stale active heartbeats", beats(nn1))
	if !has(ids[0]) || dn.ActiveNameNode() != nn2.addr {
		t.Fatal("a stale active's INVALIDATE was obeyed")
	}
	// The real active's command is obeyed, and DELETED goes to both.
	nn2.queue(uuid, invalidateCmd(ids[1], 1003))
	waitFor(t, "invalidate by the active", func() bool { return !has(ids[1]) })
	for _, nn := range []*fakeNN{nn1, nn2} {
		waitFor(t, "DELETED at both NameNodes", func() bool {
			d := nn.ibrsOf(uuid, ibrDeleted)
			return len(d) == 1 && d[0].block == ids[1]
		})
	}
	// Failover: nn2 steps down, nn1 claims active with a newer txid.
	nn2.setHA(standby, 20)
	nn1.setHA(active, 21)
	waitFor(t, "nn1 acknowledged", func() bool { return dn.ActiveNameNode() == nn1.addr })
	nn2.queue(uuid, invalidateCmd(ids[2], 1003))
	waitFor(t, "old active heartbeats", beats(nn2))
	if !has(ids[2]) {
		t.Fatal("the old active's INVALIDATE was obeyed")
	}
	nn1.queue(uuid, invalidateCmd(ids[3], 1003))
	waitFor(t, "invalidate by the new active", func() bool { return !has(ids[3]) })
}

// TestBlockRecovery: three RBW replicas of different lengths (the writer
// died); the primary truncates all to the shortest and commits.
func TestBlockRecovery(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	var dns []*DataNode
	for i := 0; i < 3; i++ {
		dns = append(dns, startDN(t, testConfig(t, nn), nn))
	}
	data := randomData(10_000)
	const id, gs, recoveryID = 1073743000, 1005, 1010
	lengths := []int{10_000, 7_000, 8_500}
	for i, dn := range dns {
		w, err := dn.Store().CreateRbw(testBPID, id, gs, storage.Checksum{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunks(0, data[:lengths[i]], nil); err != nil {
			t.Fatal(err)
		}
		w.SetBytesAcked(int64(lengths[i]))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var locs []*hdfspb.DatanodeInfoProto
	for _, dn := range dns {
		locs = append(locs, info(dn))
	}
	cmd := &hdfspb.DatanodeCommandProto{
		CmdType: hdfspb.DatanodeCommandProto_BlockRecoveryCommand.Enum(),
		RecoveryCmd: &hdfspb.BlockRecoveryCommandProto{Blocks: []*hdfspb.RecoveringBlockProto{{
			NewGenStamp: proto.Uint64(recoveryID),
			Block: &hdfspb.LocatedBlockProto{B: extBlock(id, gs, 0), Offset: proto.Uint64(0), Locs: locs,
				Corrupt: proto.Bool(false), BlockToken: emptyToken()},
		}}},
	}
	nn.queue(dns[1].DatanodeUUID(), cmd)
	waitFor(t, "commitBlockSynchronization", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return len(nn.commits) == 1
	})
	nn.mu.Lock()
	c := nn.commits[0]
	nn.mu.Unlock()
	if c.GetNewGenStamp() != recoveryID || c.GetNewLength() != 7_000 || !c.GetCloseFile() || c.GetDeleteBlock() || len(c.GetNewTaragets()) != 3 || len(c.GetNewTargetStorages()) != 3 {
		t.Fatalf("commit: %v", c)
	}
	nb := extBlock(id, recoveryID, 0)
	for i, dn := range dns {
		r, ok := dn.Store().Get(testBPID, id)
		if !ok || r.State != storage.StateFinalized || r.GenStamp != recoveryID || r.NumBytes != 7_000 {
			t.Fatalf("dn%d after recovery: %v", i, r)
		}
		got, err := clientRead(dn, nb, 0, 7_000)
		if err != nil || !bytes.Equal(got, data[:7_000]) {
			t.Fatalf("dn%d read after recovery: %v", i, err)
		}
	}
}

func TestChooseRecovery(t *testing.T) {
	F, B, W := hdfspb.ReplicaStateProto_FINALIZED, hdfspb.ReplicaStateProto_RBW, hdfspb.ReplicaStateProto_RWR
	cases := []struct {
		reps  []recoveryReplica
		len   int64
		parts []int
		err   bool
	}{
		{[]recoveryReplica{{State: B, NumBytes: 10}, {State: B, NumBytes: 7}, {State: W, NumBytes: 3}}, 7, []int{0, 1}, false},
		{[]recoveryReplica{{State: W, NumBytes: 10}, {State: W, NumBytes: 4}}, 4, []int{0, 1}, false},
		{[]recoveryReplica{{State: B, NumBytes: 10}, {State: F, NumBytes: 8}, {State: B, NumBytes: 8}}, 8, []int{1, 2}, false},
		{[]recoveryReplica{{State: F, NumBytes: 10}, {State: F, NumBytes: 8}}, 0, nil, true},
	}
	for i, c := range cases {
		n, parts, err := chooseRecovery(c.reps)
		if (err != nil) != c.err || n != c.len || !equalInts(parts, c.parts) {
			t.Errorf("case %d: %d %v %v", i, n, parts, err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMalformedFrames: garbage on the transfer port closes that connection
// only; the DataNode keeps serving.
func TestMalformedFrames(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := newFakeNN(t, active, 1)
	dn := startDN(t, testConfig(t, nn), nn)
	data := randomData(5000)
	b := extBlock(1073744000, 1006, 0)
	if err := clientWrite(t, b, data, dn); err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{
		{0x00, 0x1c, 0x99, 0x01, 0x00},                   // unknown opcode
		{0x00, 0x1b, 0x51, 0x00},                         // wrong version
		{0x00, 0x1c, 0x51, 0xff, 0xff, 0xff, 0xff, 0x0f}, // absurd length
		{0x00, 0x1c, 0x51, 0x03, 0x01, 0x02, 0x03},       // body that does not parse
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	} {
		conn, err := net.Dial("tcp", dn.TransferAddress())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(junk)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 1024)
		for {
			if _, err := conn.Read(buf); err != nil {
				break // closed by the DataNode
			}
		}
		conn.Close()
	}
	// A write whose packet lengths are absurd fails alone.
	conn, err := net.Dial("tcp", dn.TransferAddress())
	if err != nil {
		t.Fatal(err)
	}
	op := &hdfspb.OpWriteBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: extBlock(1073744001, 1006, 0)}, ClientName: proto.String("c")},
		Stage:  stageCreate.Enum(), PipelineSize: proto.Uint32(1), MinBytesRcvd: proto.Uint64(0), MaxBytesRcvd: proto.Uint64(0),
		LatestGenerationStamp: proto.Uint64(1006), RequestedChecksum: datatransfer.DefaultChecksum().Proto(),
	}
	if err := datatransfer.WriteOp(conn, datatransfer.OpWriteBlock, op); err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte{0x7f, 0xff, 0xff, 0xff, 0x00, 0x10})
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1024)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	conn.Close()
	got, err := clientRead(dn, b, 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after malformed frames: %v", err)
	}
	_ = context.Background
}
