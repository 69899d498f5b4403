package datanode

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestFence(t *testing.T) {
	f := newFence()
	steps := []struct {
		nn     int
		active bool
		txid   uint64
		want   fenceOutcome
		obeyed int // index obeyed afterwards, -1 none
	}{
		{0, false, 5, fenceUnchanged, -1},     // standby nn0
		{1, true, 10, fenceAcknowledged, 1},   // nn1 claims active
		{0, false, 11, fenceUnchanged, 1},     // standby heartbeats change nothing
		{1, true, 20, fenceUnchanged, 1},      // active keeps claiming, txid grows
		{0, true, 15, fenceStaleClaim, 1},     // nn0 claims active with an older txid: ignored
		{0, true, 20, fenceStaleClaim, 1},     // equal txid is not more recent
		{0, true, 21, fenceTakeover, 0},       // failover: nn0 with a newer txid
		{1, true, 22, fenceTakeover, 1},       // ... but nn1 still claims higher: Hadoop follows the txid
		{1, false, 23, fenceRelinquished, -1}, // nn1 steps down
		{0, true, 21, fenceStaleClaim, -1},    // nn0's old txid is below the last claim (22)
		{0, true, 30, fenceAcknowledged, 0},
	}
	for i, s := range steps {
		if got := f.observe(s.nn, s.active, s.txid); got != s.want {
			t.Fatalf("step %d: outcome %d, want %d", i, got, s.want)
		}
		for nn := 0; nn < 2; nn++ {
			if f.obeys(nn) != (nn == s.obeyed) {
				t.Fatalf("step %d: obeys(%d) = %v, want obeyed %d", i, nn, f.obeys(nn), s.obeyed)
			}
		}
	}
	f.forget(0)
	if f.obeys(0) {
		t.Fatal("forgotten NameNode still obeyed")
	}
	if got := f.observe(0, true, 30); got != fenceStaleClaim {
		t.Fatalf("reclaim at the same txid after forget: %d", got)
	}
}

func TestFenceFirstClaimAtZero(t *testing.T) {
	f := newFence()
	if got := f.observe(0, true, 0); got != fenceAcknowledged || !f.obeys(0) {
		t.Fatalf("first claim at txid 0: %d", got)
	}
}

func TestEncodeBlockReport(t *testing.T) {
	got := encodeBlockReport([]ReportedReplica{
		{ID: 1, GenStamp: 1001, NumBytes: 10, State: hdfspb.ReplicaStateProto_FINALIZED},
		{ID: 2, GenStamp: 1002, NumBytes: 20, State: hdfspb.ReplicaStateProto_RBW},
		{ID: 3, GenStamp: 1003, NumBytes: 30, State: hdfspb.ReplicaStateProto_FINALIZED},
	})
	m := uint64(math.MaxUint64)
	want := []uint64{2, 1, 1, 10, 1001, 3, 30, 1003, m, m, m, 2, 20, 1002, 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if got := encodeBlockReport(nil); !reflect.DeepEqual(got, []uint64{0, 0, m, m, m}) {
		t.Fatalf("empty report %v", got)
	}
}

func TestIBRQueue(t *testing.T) {
	q := newIBRQueue()
	q.add(ibrEvent{StorageID: "s1", BlockID: 1, Status: ibrReceiving})
	q.add(ibrEvent{StorageID: "s1", BlockID: 2, Status: ibrReceived})
	q.add(ibrEvent{StorageID: "s1", BlockID: 1, GenStamp: 7, NumBytes: 5, Status: ibrReceived}) // supersedes RECEIVING
	evs, seq := q.take()
	if len(evs) != 2 || evs[0].BlockID != 1 || evs[0].Status != ibrReceived || evs[1].BlockID != 2 {
		t.Fatalf("take: %+v", evs)
	}
	if q.len() != 0 {
		t.Fatal("queue not drained")
	}
	// The send failed; meanwhile block 2 was deleted and block 3 received.
	q.add(ibrEvent{StorageID: "s1", BlockID: 2, Status: ibrDeleted})
	q.add(ibrEvent{StorageID: "s2", BlockID: 3, Status: ibrReceived})
	q.putBack(evs, seq)
	evs, _ = q.take()
	var got []string
	for _, e := range evs {
		got = append(got, e.StorageID+":"+string(rune('0'+e.BlockID))+":"+e.Status.String())
	}
	want := []string{"s1:1:RECEIVED", "s1:2:DELETED", "s2:3:RECEIVED"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after putBack: %v, want %v", got, want)
	}
	ps := ibrProtos(evs)
	if len(ps) != 2 || ps[0].GetStorageUuid() != "s1" || len(ps[0].Blocks) != 2 || ps[1].GetStorage().GetStorageUuid() != "s2" {
		t.Fatalf("protos: %v", ps)
	}
}

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSchedule(3*time.Second, time.Hour, time.Second)
	expect := func(now time.Time, ibr bool, step actorStep, when time.Time) {
		t.Helper()
		got, w := s.next(now, ibr)
		if got != step || (step == stepWait && !w.Equal(when)) {
			t.Fatalf("at %v: %v until %v, want %v until %v", now.Sub(t0), got, w.Sub(t0), step, when.Sub(t0))
		}
	}
	expect(t0, false, stepHandshake, t0)
	// The NameNode is down: back off 1 s, 2 s, ...
	s.failed(t0)
	expect(t0, false, stepWait, t0.Add(time.Second))
	s.failed(t0.Add(time.Second))
	expect(t0.Add(time.Second), false, stepWait, t0.Add(3*time.Second))
	t1 := t0.Add(3 * time.Second)
	expect(t1, false, stepHandshake, t1)
	s.registeredAt(t1, 2*time.Second)
	expect(t1, true, stepHeartbeat, t1) // heartbeat before anything
	s.heartbeatSent(t1)
	expect(t1, true, stepIBR, t1) // incremental reports go at once
	expect(t1, false, stepWait, t1.Add(2*time.Second))
	expect(t1.Add(2*time.Second), false, stepFullReport, t1)
	s.fullReportSent(t1.Add(2 * time.Second))
	expect(t1.Add(2*time.Second), false, stepWait, t1.Add(3*time.Second))
	s.heartbeatSent(t1.Add(3 * time.Second))
	expect(t1.Add(4*time.Second), false, stepWait, t1.Add(6*time.Second))
	// Full reports keep their cadence: one hour after the scheduled one.
	if want := t1.Add(2*time.Second + time.Hour); !s.nextFullReport.Equal(want) {
		t.Fatalf("next full report %v", s.nextFullReport.Sub(t0))
	}
	// A RegisterCommand: handshake again, then a full report.
	s.reregister()
	expect(t1.Add(5*time.Second), false, stepHandshake, time.Time{})
	s.registeredAt(t1.Add(5*time.Second), 0)
	s.heartbeatSent(t1.Add(5 * time.Second))
	expect(t1.Add(5*time.Second), false, stepFullReport, time.Time{})
}

func TestConfigFromConf(t *testing.T) {
	c := conf.New()
	c.Set("dfs.nameservices", "ns1")
	c.Set("dfs.ha.namenodes.ns1", "nn1,nn2")
	c.Set("dfs.namenode.rpc-address.ns1.nn1", "h1:8020")
	c.Set("dfs.namenode.rpc-address.ns1.nn2", "h2:8020")
	c.Set("dfs.namenode.servicerpc-address.ns1.nn2", "h2:8021")
	c.Set("dfs.datanode.data.dir", "[DISK]file:///d1, /d2")
	c.Set("dfs.heartbeat.interval", "7")
	c.Set("dfs.blockreport.intervalMsec", "60000")
	cfg, err := ConfigFromConf(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []NameNodeAddr{{ID: "nn1", Addr: "h1:8020"}, {ID: "nn2", Addr: "h2:8021"}}
	if !reflect.DeepEqual(cfg.NameNodes, want) || cfg.Nameservice != "ns1" {
		t.Fatalf("namenodes %+v ns %q", cfg.NameNodes, cfg.Nameservice)
	}
	if !reflect.DeepEqual(cfg.DataDirs, []string{"/d1", "/d2"}) {
		t.Fatalf("data dirs %v", cfg.DataDirs)
	}
	if cfg.HeartbeatInterval != 7*time.Second || cfg.BlockReportInterval != time.Minute || cfg.Address != "0.0.0.0:9866" ||
		cfg.IPCAddress != "0.0.0.0:9867" || cfg.HTTPAddress != "0.0.0.0:9864" || cfg.MaxTransferThreads != 4096 || cfg.BytesPerChecksum != 512 ||
		!cfg.SyncOnClose {
		t.Fatalf("config %+v", cfg)
	}
	c.Set("dfs.datanode.synconclose", "false")
	if cfg, err := ConfigFromConf(c); err != nil || cfg.SyncOnClose {
		t.Fatalf("dfs.datanode.synconclose=false: SyncOnClose %v, %v", cfg.SyncOnClose, err)
	}
	c.Set("dfs.datanode.du.reserved", "1g")
	if cfg, err := ConfigFromConf(c); err != nil || cfg.DUReserved != 1<<30 {
		t.Fatalf("dfs.datanode.du.reserved=1g: %d, %v", cfg.DUReserved, err)
	}
	// Non-HA: fs.defaultFS.
	c = conf.New()
	c.Set("fs.defaultFS", "hdfs://nn.example.com:9000")
	c.Set("dfs.datanode.data.dir", "/d")
	if cfg, err = ConfigFromConf(c); err != nil || len(cfg.NameNodes) != 1 || cfg.NameNodes[0].Addr != "nn.example.com:9000" {
		t.Fatalf("non-HA: %+v %v", cfg.NameNodes, err)
	}
	c.Set("dfs.datanode.data.dir", "relative")
	if _, err := ConfigFromConf(c); err == nil {
		t.Fatal("relative data dir accepted")
	}
}
