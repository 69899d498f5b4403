package blockmanagement

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
)

var t0 = time.Unix(1_700_000_000, 0)

const gib = int64(1) << 30

type env struct {
	t   *testing.T
	m   *Manager
	now time.Time
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.SetActive(true, t0)
	t.Cleanup(func() {
		if err := m.checkInvariants(); err != nil {
			t.Errorf("invariants at the end: %v", err)
		}
	})
	return &env{t: t, m: m, now: t0}
}

func dnID(i int) DatanodeID {
	return DatanodeID{IPAddr: fmt.Sprintf("127.0.0.%d", i), Hostname: fmt.Sprintf("dn%d", i), UUID: fmt.Sprintf("uuid-%d", i), XferPort: 9866, InfoPort: 9864, IPCPort: 9867}
}

func stats() Stats { return Stats{Capacity: 10 * gib, Remaining: 8 * gib, DfsUsed: gib} }

// addNodes registers and heartbeats nodes 1..k.
func (e *env) addNodes(k int) {
	e.t.Helper()
	for i := 1; i <= k; i++ {
		if _, err := e.m.Register(dnID(i), e.now); err != nil {
			e.t.Fatal(err)
		}
		e.beat(i)
	}
}

func (e *env) beat(i int) []Command {
	e.t.Helper()
	cmds, err := e.m.Heartbeat(dnID(i).UUID, stats(), []string{fmt.Sprintf("DS-%d", i)}, e.now)
	if err != nil {
		e.t.Fatalf("heartbeat dn%d: %v", i, err)
	}
	return cmds
}

func (e *env) received(i int, b Block) {
	e.t.Helper()
	if err := e.m.IncrementalReport(dnID(i).UUID, fmt.Sprintf("DS-%d", i), []ReceivedDeleted{{Block: b, Status: Received}}, e.now); err != nil {
		e.t.Fatal(err)
	}
	if err := e.m.checkInvariants(); err != nil {
		e.t.Fatalf("after a report: %v", err)
	}
}

func (e *env) complete(b Block, repl int, holders ...int) {
	e.t.Helper()
	e.m.PutBlock(BlockSpec{Block: b, Inode: 16386, Replication: repl, Complete: true}, e.now)
	for _, i := range holders {
		e.received(i, b)
	}
}

func (e *env) live(id uint64) int {
	st, ok := e.m.Status(id, e.now)
	if !ok {
		e.t.Fatalf("block %d not in map", id)
	}
	return st.Live
}

func TestDeadIntervalFormula(t *testing.T) {
	if got := DefaultConfig().DeadInterval(); got != 10*time.Minute+30*time.Second {
		t.Fatalf("dead interval = %v", got)
	}
}

func TestRegisterHeartbeatDead(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(2)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.complete(b, 2, 1, 2)
	if e.live(b.ID) != 2 {
		t.Fatal("want 2 live")
	}
	e.now = e.now.Add(e.m.cfg.DeadInterval())
	e.beat(1)
	e.now = e.now.Add(time.Second)
	dead := e.m.CheckHeartbeats(e.now)
	if len(dead) != 1 || dead[0] != "uuid-2" {
		t.Fatalf("dead = %v", dead)
	}
	if e.live(b.ID) != 1 {
		t.Fatal("dead node's replica still counted")
	}
	if q := e.m.NeededReconstruction(PriorityHighest); len(q) != 1 {
		t.Fatalf("highest queue = %v", q)
	}
	if _, err := e.m.Heartbeat("uuid-2", stats(), nil, e.now); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("dead heartbeat: %v", err)
	}
	s := e.m.Summary(e.now)
	if s.Live != 1 || s.Dead != 1 || s.UnderReplicated != 1 {
		t.Fatalf("summary %+v", s)
	}
	// It comes back: registration, report, and the block is whole again.
	if _, err := e.m.Register(dnID(2), e.now); err != nil {
		t.Fatal(err)
	}
	e.beat(2)
	if err := e.m.BlockReport("uuid-2", "DS-2", []Replica{{Block: b}}, e.now); err != nil {
		t.Fatal(err)
	}
	if e.live(b.ID) != 2 || e.m.Summary(e.now).UnderReplicated != 0 {
		t.Fatal("returning node's replica not counted")
	}
}

func TestReRegisterNewAddressAndReplacedUUID(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(1)
	id := dnID(1)
	id.IPAddr = "127.0.0.9"
	if _, err := e.m.Register(id, e.now); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.m.DatanodeByAddr("127.0.0.1:9866", e.now); ok {
		t.Fatal("old address still registered")
	}
	if d, ok := e.m.DatanodeByAddr("127.0.0.9:9866", e.now); !ok || d.UUID != "uuid-1" {
		t.Fatal("new address not registered")
	}
	// A new uuid at the same address (reformatted host) replaces it.
	other := id
	other.UUID = "uuid-new"
	if _, err := e.m.Register(other, e.now); err != nil {
		t.Fatal(err)
	}
	if len(e.m.Datanodes(e.now)) != 1 {
		t.Fatalf("nodes: %+v", e.m.Datanodes(e.now))
	}
}

func TestPlacementWriterFirstAndErrors(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, BlockSize: 1 << 20}, e.now)
	if !errors.Is(err, rpc.ErrIO) || !strings.Contains(err.Error(), "File /f could only be written to 0 of the 1 minReplication nodes. There are 0 datanode(s) running and 0 node(s) are excluded in this operation.") {
		t.Fatalf("err = %v", err)
	}
	e.addNodes(3)
	ts, err := e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, Writer: "127.0.0.2", BlockSize: 1 << 20}, e.now)
	if err != nil || len(ts) != 3 || ts[0].Node.UUID != "uuid-2" {
		t.Fatalf("targets %v err %v", ts, err)
	}
	if ts[0].StorageID != "DS-2" {
		t.Fatalf("storage %q", ts[0].StorageID)
	}
	ts, err = e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, Excluded: []string{"uuid-1", "uuid-2", "uuid-3"}}, e.now)
	if err == nil || !strings.Contains(err.Error(), "There are 3 datanode(s) running and 3 node(s) are excluded") {
		t.Fatalf("targets %v err %v", ts, err)
	}
	// Too full, and stale, nodes are skipped.
	if _, err := e.m.Heartbeat("uuid-1", Stats{Capacity: gib, Remaining: 10}, nil, e.now); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	if _, err := e.m.Heartbeat("uuid-1", Stats{Capacity: gib, Remaining: 10}, nil, e.now); err != nil {
		t.Fatal(err)
	}
	e.beat(2)
	ts, err = e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, BlockSize: 1 << 20}, e.now)
	if err != nil || len(ts) != 1 || ts[0].Node.UUID != "uuid-2" {
		t.Fatalf("targets %v err %v (want only dn2: dn1 full, dn3 stale)", ts, err)
	}
	// Favoured nodes come first.
	e.beat(3)
	ts, _ = e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 2, Favored: []string{"127.0.0.3:9866"}, Writer: "127.0.0.2"}, e.now)
	if len(ts) != 2 || ts[0].Node.UUID != "uuid-3" {
		t.Fatalf("favoured: %v", ts)
	}
}

func TestPlacementRackAware(t *testing.T) {
	racks := map[string]string{"127.0.0.1": "/r1", "127.0.0.2": "/r1", "127.0.0.3": "/r2", "127.0.0.4": "/r2"}
	e := newEnv(t, func(c *Config) { c.ResolveRack = func(ip, _ string) string { return racks[ip] } })
	e.addNodes(4)
	if e.m.NumRacks() != 2 {
		t.Fatal("racks")
	}
	ts, err := e.m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 3, Writer: "127.0.0.1"}, e.now)
	if err != nil || len(ts) != 3 {
		t.Fatal(ts, err)
	}
	if ts[0].Node.Location != "/r1" || ts[1].Node.Location != "/r2" || ts[2].Node.Location != "/r2" {
		t.Fatalf("racks: %s %s %s", ts[0].Node.Location, ts[1].Node.Location, ts[2].Node.Location)
	}
}

func TestReportsCorruptAndStale(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 100}
	e.complete(b, 3, 1, 2)
	// dn3 reports a wrong length: corrupt, not counted.
	if err := e.m.BlockReport("uuid-3", "DS-3", []Replica{{Block: Block{ID: b.ID, GenStamp: 1001, NumBytes: 99}}}, e.now); err != nil {
		t.Fatal(err)
	}
	st, _ := e.m.Status(b.ID, e.now)
	if st.Live != 2 || st.Corrupt != 1 {
		t.Fatalf("status %+v", st)
	}
	if e.m.Summary(e.now).Corrupt != 1 {
		t.Fatal("corrupt count")
	}
	// dn1's full report forgets the block: stale replica removed.
	if err := e.m.BlockReport("uuid-1", "DS-1", nil, e.now); err != nil {
		t.Fatal(err)
	}
	if e.live(b.ID) != 1 {
		t.Fatal("stale replica kept")
	}
	// A replica of a block the namespace does not have is deleted.
	if err := e.m.BlockReport("uuid-1", "DS-1", []Replica{{Block: Block{ID: 77, GenStamp: 5, NumBytes: 1}}}, e.now); err != nil {
		t.Fatal(err)
	}
	cmds := e.beat(1)
	if len(cmds) != 1 || cmds[0].(InvalidateCommand).Blocks[0].ID != 77 {
		t.Fatalf("cmds %#v", cmds)
	}
}

func TestReReplicationAfterDeathAndStreamLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxReplicationStreams = 1; c.ReplicationStreamsHardLimit = 1 })
	e.addNodes(3)
	var blocks []Block
	for i := range 3 {
		b := Block{ID: uint64(1<<30 + i), GenStamp: 1001, NumBytes: 10}
		blocks = append(blocks, b)
		e.complete(b, 2, 1, 2)
	}
	e.now = e.now.Add(e.m.cfg.DeadInterval() / 2)
	e.beat(1)
	e.beat(3)
	e.now = e.now.Add(e.m.cfg.DeadInterval()/2 + time.Second)
	e.beat(1)
	e.beat(3)
	e.m.CheckHeartbeats(e.now)
	w := e.m.ComputeWork(e.now)
	if w.Scheduled != 1 {
		t.Fatalf("scheduled %d, want 1 (dn1 the only source, one stream)", w.Scheduled)
	}
	cmds := e.beat(1)
	tr, ok := cmds[0].(TransferCommand)
	if len(cmds) != 1 || !ok || tr.Block.ID != blocks[0].ID || tr.Targets[0].Node.UUID != "uuid-3" {
		t.Fatalf("cmds %#v", cmds)
	}
	if e.m.Summary(e.now).UnderReplicated != 2 || e.m.PendingReconstructions() != 1 {
		t.Fatalf("summary %+v", e.m.Summary(e.now))
	}
	e.received(3, blocks[0])
	if e.live(blocks[0].ID) != 2 || e.m.PendingReconstructions() != 0 {
		t.Fatal("transfer not accounted")
	}
	// Pending timeout re-queues a transfer that never arrived.
	e.m.ComputeWork(e.now)
	e.beat(1)
	e.now = e.now.Add(e.m.cfg.PendingReconstructionTimeout)
	e.beat(1)
	e.beat(3)
	w = e.m.ComputeWork(e.now)
	if w.TimedOut != 1 || w.Scheduled != 1 {
		t.Fatalf("work %+v", w)
	}
}

func TestExcessAfterReturnAndInvalidateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InvalidateLimit = 1; c.HeartbeatInterval = time.Millisecond })
	e.addNodes(3)
	b1 := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	b2 := Block{ID: 1<<30 + 1, GenStamp: 1001, NumBytes: 10}
	e.complete(b1, 2, 1, 2)
	e.complete(b2, 2, 1, 2)
	// dn3 also has both (re-replicated while dn2 was away, say).
	if _, err := e.m.Heartbeat("uuid-2", Stats{Capacity: 10 * gib, Remaining: gib}, nil, e.now); err != nil {
		t.Fatal(err)
	}
	if err := e.m.BlockReport("uuid-3", "DS-3", []Replica{{Block: b1}, {Block: b2}}, e.now); err != nil {
		t.Fatal(err)
	}
	if e.live(b1.ID) != 2 || e.live(b2.ID) != 2 {
		t.Fatal("excess not removed from live count")
	}
	// The excess goes from the node with the least remaining space, one
	// block per heartbeat.
	cmds, _ := e.m.Heartbeat("uuid-2", Stats{Capacity: 10 * gib, Remaining: gib}, nil, e.now)
	if len(cmds) != 1 || len(cmds[0].(InvalidateCommand).Blocks) != 1 {
		t.Fatalf("cmds %#v", cmds)
	}
	if e.m.Summary(e.now).PendingDeletion != 1 {
		t.Fatal("pending deletion")
	}
	if err := e.m.IncrementalReport("uuid-2", "DS-2", []ReceivedDeleted{{Block: b1, Status: Deleted}, {Block: b2, Status: Deleted}}, e.now); err != nil {
		t.Fatal(err)
	}
	st, _ := e.m.Status(b1.ID, e.now)
	if st.Live != 2 || st.Excess != 0 || e.m.Summary(e.now).PendingDeletion != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestCorruptReplicaReplacedThenInvalidated(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.complete(b, 2, 1, 2)
	e.m.ReportBadBlock("uuid-1", "DS-1", b, e.now)
	st, _ := e.m.Status(b.ID, e.now)
	if st.Live != 1 || st.Corrupt != 1 {
		t.Fatalf("%+v", st)
	}
	// Readers get the good copy only.
	locs, corrupt := e.m.Locations(b.ID, "", e.now)
	if corrupt || len(locs) != 1 || locs[0].Node.UUID != "uuid-2" {
		t.Fatalf("locs %v corrupt %v", locs, corrupt)
	}
	if e.beat(1) != nil {
		t.Fatal("corrupt replica deleted before a good copy exists")
	}
	e.m.ComputeWork(e.now)
	cmds := e.beat(2)
	if len(cmds) != 1 || cmds[0].(TransferCommand).Targets[0].Node.UUID != "uuid-3" {
		t.Fatalf("cmds %#v", cmds)
	}
	e.received(3, b)
	cmds = e.beat(1)
	if len(cmds) != 1 || cmds[0].(InvalidateCommand).Blocks[0].ID != b.ID {
		t.Fatalf("cmds %#v", cmds)
	}
	if s := e.m.Summary(e.now); s.Corrupt != 0 || s.UnderReplicated != 0 {
		t.Fatalf("summary %+v", s)
	}
	// All replicas corrupt: the block is missing, locations say corrupt.
	b2 := Block{ID: 1<<30 + 1, GenStamp: 1001, NumBytes: 10}
	e.complete(b2, 1, 1)
	e.m.ReportBadBlock("uuid-1", "DS-1", b2, e.now)
	if _, corrupt := e.m.Locations(b2.ID, "", e.now); !corrupt {
		t.Fatal("all-corrupt block not flagged")
	}
	if s := e.m.Summary(e.now); s.Missing != 1 || s.MissingReplOne != 1 {
		t.Fatalf("summary %+v", s)
	}
}

func TestStandbyQueuesThenReplays(t *testing.T) {
	e := newEnv(t, nil)
	e.m.SetActive(false, e.now)
	e.addNodes(2)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.received(1, b)
	if e.m.PendingMessages() != 1 {
		t.Fatal("not queued")
	}
	// The edit arrives: the block under construction, then complete.
	e.m.PutBlock(BlockSpec{Block: Block{ID: b.ID, GenStamp: 1001}, Replication: 2, Expected: []string{"uuid-1", "uuid-2"}}, e.now)
	e.m.PutBlock(BlockSpec{Block: b, Replication: 2, Complete: true}, e.now)
	if e.m.PendingMessages() != 0 || e.live(b.ID) != 1 {
		t.Fatalf("pending %d live %d", e.m.PendingMessages(), e.live(b.ID))
	}
	// A newer generation stamp than known is queued too.
	nb := Block{ID: b.ID, GenStamp: 1002, NumBytes: 10}
	e.received(2, nb)
	if e.m.PendingMessages() != 1 {
		t.Fatal("future genstamp not queued")
	}
	// Nothing is issued on a standby.
	e.m.ComputeWork(e.now)
	if e.beat(1) != nil {
		t.Fatal("standby issued commands")
	}
	// Failover: queued reports applied (the newer stamp never came, so
	// the replica is corrupt), queues recomputed.
	e.m.SetActive(true, e.now)
	st, _ := e.m.Status(b.ID, e.now)
	if e.m.PendingMessages() != 0 || st.Corrupt != 1 || st.Live != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestUnderConstructionLocationsAndMinReplicas(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001}
	e.m.PutBlock(BlockSpec{Block: b, Replication: 3, Expected: []string{"uuid-1", "uuid-2", "uuid-3"}}, e.now)
	locs, _ := e.m.Locations(b.ID, "127.0.0.3", e.now)
	if len(locs) != 3 || locs[0].Node.UUID != "uuid-3" {
		t.Fatalf("locs %v", locs)
	}
	if e.m.HasMinReplicas(b) {
		t.Fatal("min replicas before any report")
	}
	e.received(2, Block{ID: b.ID, GenStamp: 1001, NumBytes: 5})
	if !e.m.HasMinReplicas(b) {
		t.Fatal("min replicas after a finalized replica")
	}
	e.m.PutBlock(BlockSpec{Block: Block{ID: b.ID, GenStamp: 1001, NumBytes: 5}, Replication: 3, Complete: true}, e.now)
	if e.live(b.ID) != 1 {
		t.Fatal("live after complete")
	}
	if q := e.m.NeededReconstruction(PriorityHighest); len(q) != 1 {
		t.Fatal("complete block with one replica not queued")
	}
	e.m.RemoveBlock(b.ID, e.now)
	if e.m.NumBlocks() != 0 || len(e.m.NeededReconstruction(PriorityHighest)) != 0 {
		t.Fatal("removed block kept")
	}
	cmds := e.beat(2)
	if len(cmds) != 1 {
		t.Fatalf("holder not asked to delete: %#v", cmds)
	}
}

func TestBlockRecovery(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001}
	e.m.PutBlock(BlockSpec{Block: b, Replication: 2, Expected: []string{"uuid-1", "uuid-2"}}, e.now)
	e.now = e.now.Add(time.Second)
	e.beat(2)
	cmd, err := e.m.StartRecovery(b.ID, 1005, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmd.Locations) != 2 {
		t.Fatalf("locations %v", cmd.Locations)
	}
	if id, ok := e.m.RecoveryInProgress(b.ID, e.now); !ok || id != 1005 {
		t.Fatal("recovery not in progress")
	}
	cmds := e.beat(2) // most recent heartbeat: the primary
	if len(cmds) != 1 || cmds[0].(RecoverCommand).RecoveryID != 1005 {
		t.Fatalf("cmds %#v", cmds)
	}
	if err := e.m.CommitBlockSynchronization(b, 1004, 7, nil, true, false, e.now); err == nil || !strings.Contains(err.Error(), "The recovery id 1004 does not match current recovery id 1005") {
		t.Fatalf("err %v", err)
	}
	err = e.m.CommitBlockSynchronization(b, 1005, 7, []SyncTarget{{UUID: "uuid-1", StorageID: "DS-1"}, {UUID: "uuid-2", StorageID: "DS-2"}}, true, false, e.now)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.m.Status(b.ID, e.now)
	if !st.Complete || st.GenStamp != 1005 || st.NumBytes != 7 || st.Live != 2 || st.RecoveryID != 0 {
		t.Fatalf("status %+v", st)
	}
	// No live replica: nothing to recover.
	b2 := Block{ID: 1<<30 + 1, GenStamp: 1010}
	e.m.PutBlock(BlockSpec{Block: b2, Replication: 2}, e.now)
	if _, err := e.m.StartRecovery(b2.ID, 1011, e.now); !errors.Is(err, ErrNoReplicas) {
		t.Fatalf("err %v", err)
	}
}

func TestSafeMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SafeModeThresholdPct = 1; c.SafeModeMinDatanodes = 1 })
	e.m.SetActive(false, e.now)
	for i := range 2 {
		e.m.PutBlock(BlockSpec{Block: Block{ID: uint64(1<<30 + i), GenStamp: 1001, NumBytes: 1}, Replication: 1, Complete: true}, e.now)
	}
	e.m.StartSafeMode(e.now)
	if !e.m.InSafeMode() {
		t.Fatal("not in safe mode")
	}
	tip := e.m.SafeModeTip(e.now)
	want := "The reported blocks 0 needs additional 2 blocks to reach the threshold 1.0000 of total blocks 2.\nThe number of live datanodes 0 needs an additional 1 live datanodes to reach the minimum number 1.\nSafe mode will be turned off automatically once the thresholds have been reached."
	if tip != want {
		t.Fatalf("tip\n%q\nwant\n%q", tip, want)
	}
	e.addNodes(1)
	e.received(1, Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 1})
	e.received(1, Block{ID: 1<<30 + 1, GenStamp: 1001, NumBytes: 1})
	if st, _ := e.m.CheckSafeMode(e.now); st != SafeModeExtension {
		t.Fatalf("status %v", st)
	}
	e.now = e.now.Add(10 * time.Second)
	if tip := e.m.SafeModeTip(e.now); !strings.HasSuffix(tip, "In safe mode extension. Safe mode will be turned off automatically in 20 seconds.") {
		t.Fatalf("tip %q", tip)
	}
	e.now = e.now.Add(20 * time.Second)
	if st, changed := e.m.CheckSafeMode(e.now); st != SafeModeOff || !changed || e.m.InSafeMode() {
		t.Fatal("extension did not end")
	}
	e.m.EnterSafeMode()
	if !strings.HasPrefix(e.m.SafeModeTip(e.now), "It was turned on manually.") {
		t.Fatal("manual tip")
	}
	e.m.LeaveSafeMode()
	if e.m.InSafeMode() {
		t.Fatal("still in safe mode")
	}
}

func TestSafeModeLeftAtOnceOnFailover(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SafeModeThresholdPct = 1 })
	e.m.SetActive(false, e.now)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 1}
	e.m.PutBlock(BlockSpec{Block: b, Replication: 1, Complete: true}, e.now)
	e.m.StartSafeMode(e.now)
	e.addNodes(1)
	e.received(1, b)
	if st, _ := e.m.SafeModeStatus(); st != SafeModeExtension {
		t.Fatalf("status %v", st)
	}
	e.m.SetActive(true, e.now)
	if e.m.InSafeMode() {
		t.Fatal("new active waits for the extension")
	}
}

func TestEmptyNamespaceLeavesSafeModeAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.m.StartSafeMode(e.now)
	if e.m.InSafeMode() {
		t.Fatal("empty namespace in safe mode")
	}
}

func TestReplicasListing(t *testing.T) {
	racks := map[string]string{"127.0.0.1": "/r1", "127.0.0.2": "/r2", "127.0.0.3": "/r2"}
	e := newEnv(t, func(c *Config) { c.ResolveRack = func(ip, _ string) string { return racks[ip] } })
	e.addNodes(3)
	if !e.m.EverMultiRack() {
		t.Fatal("two racks not noticed")
	}
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.complete(b, 2, 1, 2)
	e.m.ReportBadBlock("uuid-2", "DS-2", b, e.now)
	reps, complete, ok := e.m.Replicas(b.ID, e.now)
	if !ok || !complete || len(reps) != 2 || reps[0].Kind != ReplicaLive || reps[1].Kind != ReplicaCorrupt || reps[1].Node.Location != "/r2" {
		t.Fatalf("replicas %+v", reps)
	}
	uc := Block{ID: 1<<30 + 1, GenStamp: 1002}
	e.m.PutBlock(BlockSpec{Block: uc, Replication: 2, Expected: []string{"uuid-3", "uuid-1"}}, e.now)
	reps, complete, _ = e.m.Replicas(uc.ID, e.now)
	if complete || len(reps) != 2 || reps[0].Node.UUID != "uuid-3" || reps[0].Kind != ReplicaPending {
		t.Fatalf("pipeline replicas %+v", reps)
	}
}

func TestTruncateRecovery(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(2)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 100}
	e.complete(b, 2, 1, 2)
	// The file is reopened by truncate: the block is under construction,
	// its namespace length already the new one.
	e.m.PutBlock(BlockSpec{Block: Block{ID: b.ID, GenStamp: 1001, NumBytes: 40}, Replication: 2}, e.now)
	cmd, err := e.m.StartTruncateRecovery(b.ID, 1002, 40, e.now)
	if err != nil || !cmd.Truncate || cmd.TruncateLength != 40 || len(cmd.Locations) != 2 || cmd.Block.GenStamp != 1001 {
		t.Fatalf("cmd %+v err %v", cmd, err)
	}
	if err := e.m.CommitBlockSynchronization(Block{ID: b.ID, GenStamp: 1001}, 1002, 40, []SyncTarget{{UUID: "uuid-1"}, {UUID: "uuid-2"}}, true, false, e.now); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.m.Status(b.ID, e.now); st.Live != 2 || st.NumBytes != 40 || !st.Complete {
		t.Fatalf("status %+v", st)
	}
}

func TestCorruptReplicaNotReaddedWhileDeletionPending(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.complete(b, 2, 1, 2, 3) // three copies for replication 2
	st, _ := e.m.Status(b.ID, e.now)
	if st.Live != 2 || st.Excess != 1 {
		t.Fatalf("status %+v", st)
	}
	e.m.ReportBadBlock("uuid-1", "DS-1", b, e.now)
	// The node's next full report still lists its copy: it stays out.
	for i := 1; i <= 3; i++ {
		if err := e.m.BlockReport(fmt.Sprintf("uuid-%d", i), fmt.Sprintf("DS-%d", i), []Replica{{Block: b}}, e.now); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = e.m.Status(b.ID, e.now)
	if st.Live != 2 || st.Excess != 0 || st.Corrupt != 0 {
		t.Fatalf("status after reports %+v", st)
	}
	for _, l := range st.Locations {
		if l.Node.UUID == "uuid-1" {
			t.Fatal("the corrupt copy is offered to readers again")
		}
	}
}

func TestStepDownForgetsScheduledWork(t *testing.T) {
	e := newEnv(t, nil)
	e.addNodes(3)
	b := Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 10}
	e.complete(b, 2, 1)
	e.m.ComputeWork(e.now)
	if e.m.PendingReconstructions() != 1 {
		t.Fatal("nothing scheduled")
	}
	b2 := Block{ID: 1<<30 + 1, GenStamp: 1001, NumBytes: 10}
	e.complete(b2, 1, 1, 2)
	if st, _ := e.m.Status(b2.ID, e.now); st.Excess != 1 {
		t.Fatalf("status %+v", st)
	}
	e.m.SetActive(false, e.now)
	if e.m.PendingReconstructions() != 0 {
		t.Fatal("a standby keeps scheduled copies")
	}
	if st, _ := e.m.Status(b2.ID, e.now); st.Excess != 0 || st.Live != 2 {
		t.Fatalf("standby status %+v", st)
	}
	if e.beat(1) != nil || e.beat(2) != nil {
		t.Fatal("a standby hands out commands")
	}
	// Active again: the same decisions are made anew.
	e.m.SetActive(true, e.now)
	if st, _ := e.m.Status(b2.ID, e.now); st.Excess != 1 {
		t.Fatalf("status %+v", st)
	}
	if w := e.m.ComputeWork(e.now); w.Scheduled != 1 {
		t.Fatalf("work %+v", w)
	}
}

func TestSafeModeHoldsWork(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SafeModeThresholdPct = 1 })
	e.addNodes(2)
	e.m.PutBlock(BlockSpec{Block: Block{ID: 1 << 30, GenStamp: 1001, NumBytes: 1}, Replication: 2, Complete: true}, e.now)
	e.m.StartSafeMode(e.now)
	// A replica of a block the namespace does not have: deleted only
	// after safe mode.
	if err := e.m.BlockReport("uuid-1", "DS-1", []Replica{{Block: Block{ID: 99, GenStamp: 1, NumBytes: 1}}}, e.now); err != nil {
		t.Fatal(err)
	}
	if w := e.m.ComputeWork(e.now); w.Scheduled != 0 {
		t.Fatalf("work in safe mode %+v", w)
	}
	if cmds := e.beat(1); len(cmds) != 0 {
		t.Fatalf("commands in safe mode %#v", cmds)
	}
	e.m.LeaveSafeMode()
	if cmds := e.beat(1); len(cmds) != 1 {
		t.Fatalf("commands after safe mode %#v", cmds)
	}
}
