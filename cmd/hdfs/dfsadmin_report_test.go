package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestByteDesc(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KB"}, {24576, "24 KB"}, {1536, "1.50 KB"},
		{207929917440, "193.65 GB"}, {180683001856, "168.27 GB"}, {27230138368, "25.36 GB"},
		{274877906944, "256 GB"}, {1605505024, "1.50 GB"}, {750055424, "715.31 MB"},
		{1<<30 - 1, "1.00 GB"}, {1036741707829248, "942.91 TB"}, {-2048, "-2 KB"},
	} {
		if got := byteDesc(c.n); got != c.want {
			t.Errorf("byteDesc(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// javaFixed rounds the shortest decimal half up, as Java's Formatter does.
func TestJavaFixed(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0.00"}, {1.125, "1.13"}, {0.005, "0.01"}, {0.004, "0.00"}, {99.999, "100.00"},
		{86.8960, "86.90"}, {100, "100.00"}, {0.0000136, "0.00"}, {1023.999999, "1024.00"},
	} {
		if got := javaFixed(c.v, 2); got != c.want {
			t.Errorf("javaFixed(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := percent2String(percentUsed(24576, 207929917440)); got != "0.00%" {
		t.Errorf("used%% = %q", got)
	}
	if got := percent2String(percentRemaining(180682977280, 207929917440)); got != "86.90%" {
		t.Errorf("remaining%% = %q", got)
	}
	if got := percent2String(percentUsed(750055424, 32144097280)); got != "2.33%" {
		t.Errorf("used%% = %q", got)
	}
	if got := percent2String(percentRemaining(31135879168, 32144097280)); got != "96.86%" {
		t.Errorf("remaining%% = %q", got)
	}
}

var (
	reportT1 = time.Date(2026, time.November, 21, 6, 30, 5, 0, time.UTC)
	reportT2 = time.Date(2026, time.November, 21, 6, 20, 0, 0, time.UTC)
)

func reportNode(ip, host, uuid string, capacity, used, nonDFS, remaining uint64, blocks uint32) *hdfspb.DatanodeInfoProto {
	return &hdfspb.DatanodeInfoProto{
		Id: &hdfspb.DatanodeIDProto{IpAddr: proto.String(ip), HostName: proto.String(host), DatanodeUuid: proto.String(uuid),
			XferPort: proto.Uint32(9866), InfoPort: proto.Uint32(9864), IpcPort: proto.Uint32(9867)},
		Capacity: proto.Uint64(capacity), DfsUsed: proto.Uint64(used), NonDfsUsed: proto.Uint64(nonDFS), Remaining: proto.Uint64(remaining),
		LastUpdate: proto.Uint64(uint64(reportT1.UnixMilli())), LastBlockReportTime: proto.Uint64(uint64(reportT2.UnixMilli())),
		XceiverCount: proto.Uint32(1), Location: proto.String("/default-rack"), NumBlocks: proto.Uint32(blocks),
	}
}

// One node's text, byte for byte as DatanodeInfo.getDatanodeReport writes it.
func TestDatanodeReportText(t *testing.T) {
	dn := reportNode("172.18.0.3", "89c6388b311e", "u1", 274877906944, 4096, 1605505024, 271212994560, 0)
	lookup := func(ip string) string { return "hadoop-datanode.week1_hadoop-net" }
	got := datanodeReport(dn, lookup, time.UTC)
	want := "Name: 172.18.0.3:9866 (hadoop-datanode.week1_hadoop-net)\n" +
		"Hostname: 89c6388b311e\n" +
		"Decommission Status : Normal\n" +
		"Configured Capacity: 274877906944 (256 GB)\n" +
		"DFS Used: 4096 (4 KB)\n" +
		"Non DFS Used: 1605505024 (1.50 GB)\n" +
		"DFS Remaining: 271212994560 (252.59 GB)\n" +
		"DFS Used%: 0.00%\n" +
		"DFS Remaining%: 98.67%\n" +
		"Configured Cache Capacity: 0 (0 B)\n" +
		"Cache Used: 0 (0 B)\n" +
		"Cache Remaining: 0 (0 B)\n" +
		"Cache Used%: 100.00%\n" +
		"Cache Remaining%: 0.00%\n" +
		"Xceivers: 1\n" +
		"Last contact: Sat Nov 21 06:30:05 UTC 2026\n" +
		"Last Block Report: Sat Nov 21 06:20:00 UTC 2026\n" +
		"Num of Blocks: 0\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	// A rack other than the default, a decommissioning node, no block report yet.
	dn.Location = proto.String("/r2")
	dn.AdminState = hdfspb.DatanodeInfoProto_DECOMMISSION_INPROGRESS.Enum()
	dn.LastBlockReportTime = nil
	got = datanodeReport(dn, lookup, time.UTC)
	dn.NonDfsUsed = nil // derived as capacity - used - remaining
	got = datanodeReport(dn, lookup, time.UTC)
	for _, s := range []string{"Hostname: 89c6388b311e\nRack: /r2\nDecommission Status : Decommission in progress\n", "Last Block Report: Never\n",
		"Non DFS Used: 3664908288 (3.41 GB)\n"} {
		if !strings.Contains(got, s) {
			t.Fatalf("missing %q in\n%s", s, got)
		}
	}
}

// fakeReportNN answers getFsStats, setSafeMode(GET) and getDatanodeReport over real RPC.
type fakeReportNN struct {
	mu    sync.Mutex
	stats *hdfspb.GetFsStatsResponseProto
	safe  bool
	nodes map[hdfspb.DatanodeReportTypeProto][]*hdfspb.DatanodeInfoProto
	types []hdfspb.DatanodeReportTypeProto
}

func (f *fakeReportNN) serve(t *testing.T) string {
	srv, err := rpc.NewServer(rpc.DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(client.ClientProtocol,
		rpc.Unary("getFsStats", func(context.Context, *hdfspb.GetFsStatusRequestProto) (*hdfspb.GetFsStatsResponseProto, error) {
			return f.stats, nil
		}),
		rpc.Unary("setSafeMode", func(_ context.Context, req *hdfspb.SetSafeModeRequestProto) (*hdfspb.SetSafeModeResponseProto, error) {
			if req.GetAction() != hdfspb.SafeModeActionProto_SAFEMODE_GET {
				t.Errorf("setSafeMode %v", req.GetAction())
			}
			return &hdfspb.SetSafeModeResponseProto{Result: proto.Bool(f.safe)}, nil
		}),
		rpc.Unary("getDatanodeReport", func(_ context.Context, req *hdfspb.GetDatanodeReportRequestProto) (*hdfspb.GetDatanodeReportResponseProto, error) {
			f.mu.Lock()
			f.types = append(f.types, req.GetType())
			f.mu.Unlock()
			return &hdfspb.GetDatanodeReportResponseProto{Di: f.nodes[req.GetType()]}, nil
		}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return srv.Addr().String()
}

func TestDfsadminReport(t *testing.T) {
	testcluster.CheckLeaks(t)
	d1 := reportNode("127.0.0.1", "dn1.example", "u1", 32144097280, 750055424, 258162688, 31135879168, 100)
	d2 := reportNode("127.0.0.1", "dn2.example", "u2", 32144097280, 750055424, 258162688, 31135879168, 99)
	d2.Id.XferPort = proto.Uint32(19866)
	dead := reportNode("127.0.0.1", "dn3.example", "u3", 0, 0, 0, 0, 0)
	dead.Id.XferPort = proto.Uint32(29866)
	f := &fakeReportNN{
		stats: &hdfspb.GetFsStatsResponseProto{
			Capacity: proto.Uint64(64288194560), Used: proto.Uint64(1500110848), Remaining: proto.Uint64(62271758336),
			UnderReplicated: proto.Uint64(22), CorruptBlocks: proto.Uint64(1), MissingBlocks: proto.Uint64(2),
			MissingReplOneBlocks: proto.Uint64(0), PendingDeletionBlocks: proto.Uint64(3),
		},
		nodes: map[hdfspb.DatanodeReportTypeProto][]*hdfspb.DatanodeInfoProto{
			hdfspb.DatanodeReportTypeProto_LIVE: {d1, d2},
			hdfspb.DatanodeReportTypeProto_DEAD: {dead},
		},
	}
	addr := f.serve(t)
	name := func(port string) string {
		return "Name: 127.0.0.1:" + port + " (" + lookupHostName("127.0.0.1") + ")\n"
	}
	node := func(port, host, rest string) string {
		return name(port) + "Hostname: " + host + "\n" + "Decommission Status : Normal\n" + rest +
			"Xceivers: 1\n" +
			"Last contact: " + javaDateIn(reportT1.UnixMilli(), time.Local) + "\n" +
			"Last Block Report: " + javaDateIn(reportT2.UnixMilli(), time.Local) + "\n"
	}
	liveFigures := "Configured Capacity: 32144097280 (29.94 GB)\n" +
		"DFS Used: 750055424 (715.31 MB)\n" +
		"Non DFS Used: 258162688 (246.20 MB)\n" +
		"DFS Remaining: 31135879168 (29.00 GB)\n" +
		"DFS Used%: 2.33%\n" +
		"DFS Remaining%: 96.86%\n" +
		"Configured Cache Capacity: 0 (0 B)\n" +
		"Cache Used: 0 (0 B)\n" +
		"Cache Remaining: 0 (0 B)\n" +
		"Cache Used%: 100.00%\n" +
		"Cache Remaining%: 0.00%\n"
	deadFigures := "Configured Capacity: 0 (0 B)\n" +
		"DFS Used: 0 (0 B)\n" +
		"Non DFS Used: 0 (0 B)\n" +
		"DFS Remaining: 0 (0 B)\n" +
		"DFS Used%: 100.00%\n" +
		"DFS Remaining%: 0.00%\n" +
		"Configured Cache Capacity: 0 (0 B)\n" +
		"Cache Used: 0 (0 B)\n" +
		"Cache Remaining: 0 (0 B)\n" +
		"Cache Used%: 100.00%\n" +
		"Cache Remaining%: 0.00%\n"
	head := "Configured Capacity: 64288194560 (59.87 GB)\n" +
		"Present Capacity: 63771869184 (59.39 GB)\n" +
		"DFS Remaining: 62271758336 (58.00 GB)\n" +
		"DFS Used: 1500110848 (1.40 GB)\n" +
		"DFS Used%: 2.35%\n" +
		"Replicated Blocks:\n" +
		"\tUnder replicated blocks: 22\n" +
		"\tBlocks with corrupt replicas: 1\n" +
		"\tMissing blocks: 2\n" +
		"\tMissing blocks (with replication factor 1): 0\n" +
		"\tPending deletion blocks: 3\n" +
		"Erasure Coded Block Groups: \n" +
		"\tLow redundancy block groups: 0\n" +
		"\tBlock groups with corrupt internal blocks: 0\n" +
		"\tMissing block groups: 0\n" +
		"\tPending deletion blocks: 0\n" +
		"\n" +
		"-------------------------------------------------\n"
	live := "Live datanodes (2):\n\n" +
		node("9866", "dn1.example", liveFigures) + "Num of Blocks: 100\n\n\n" +
		node("19866", "dn2.example", liveFigures) + "Num of Blocks: 99\n\n\n"
	deadPart := "Dead datanodes (1):\n\n" +
		node("29866", "dn3.example", deadFigures) + "Num of Blocks: 0\n\n\n"

	fs := "hdfs://" + addr
	r := runHDFS(t, nil, "dfsadmin", "-fs", fs, "-report")
	r.want(t, 0, head+live+deadPart)
	// Every list is asked for; the empty ones print nothing.
	if len(f.types) != 5 {
		t.Fatalf("report types %v", f.types)
	}

	// -dead alone; -decommissioning asked for prints its empty title.
	r = runHDFS(t, nil, "dfsadmin", "-fs", fs, "-report", "-dead", "-decommissioning")
	r.want(t, 0, head+deadPart+"Decommissioning datanodes (0):\n\n")

	// Safe mode shows first.
	f.safe = true
	r = runHDFS(t, nil, "dfsadmin", "-fs", fs, "-report", "-live")
	r.want(t, 0, "Safe mode is ON\n"+head+live)
}
