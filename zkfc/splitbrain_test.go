package zkfc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/histcheck"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// splitBrainWriters is how many goroutines write during the run.
const splitBrainWriters = 6

// TestSplitBrain writes to both NameNodes all through a run with several
// failovers (the active NameNode stopped and restarted, the active's ZKFC
// stopped, a graceful failover through the ZKFCs, ZooKeeper frozen past
// the session timeout) and checks the history of acknowledged writes: no
// two NameNodes acted as writer in overlapping time, the writer changed
// about as often as the active did, and every acknowledged directory is on
// the final active.
func TestSplitBrain(t *testing.T) {
	testcluster.CheckLeaks(t)
	zks := zktest.Start(t)
	c := newCluster(t, zks, "/split-brain")
	addrs := []string{c.ha.NameNodes[0].RPCAddress, c.ha.NameNodes[1].RPCAddress}

	rc, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })

	active := c.waitSettled()
	var rec histcheck.Recorder
	ctx, stopWriters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stopWriters(); wg.Wait() }() // on a failed test too
	acked := make([][]string, splitBrainWriters)
	for g := range splitBrainWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked[g] = splitBrainWriter(ctx, rc, addrs, g, &rec)
		}()
	}

	// Each step ends with the election settled; writers then run a while on
	// the new active, so every active period has acknowledged writes.
	caused := 0
	settle := func(what string) {
		t.Helper()
		a := c.waitSettled()
		if a != active {
			caused++
		}
		t.Logf("%s: %s active (active changes so far: %d, writes: %d)", what, c.id(a), caused, len(rec.Ops()))
		active = a
		time.Sleep(400 * time.Millisecond)
	}
	settle("start")

	// The active NameNode stops (its ZKFC stays); later it comes back.
	a := active
	c.stop(c.id(a))
	c.waitActive(1 - a)
	time.Sleep(200 * time.Millisecond)
	c.startNN(a)
	settle("active NameNode stopped and restarted")

	// The active's ZKFC stops: its session closes, the other side fences
	// and takes over; the ZKFC rejoins.
	a = active
	c.stop("zkfc-" + c.id(a))
	c.waitActive(1 - a)
	c.startZKFC(a)
	settle("active ZKFC stopped and restarted")

	// Graceful failover through the ZKFCs (haadmin -failover).
	fctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := hasvc.NewZKFCClient(rc, c.zkfcs[1-active].Addr().String()).GracefulFailover(fctx); err != nil {
		t.Fatal(err)
	}
	settle("graceful failover")

	// ZooKeeper frozen past the 2 s session timeout.
	zks.Pause()
	time.Sleep(3 * time.Second)
	zks.Resume()
	settle("ZooKeeper frozen and thawed")

	stopWriters()
	wg.Wait()

	history := rec.Ops()
	rep, err := histcheck.Check(history)
	if err != nil {
		t.Fatalf("%d acknowledged writes: %v", len(history), err)
	}
	t.Logf("%d acknowledged writes in %d writer periods, %d writer changes; %d active changes caused", len(history), len(rep.Periods), rep.Changes, caused)
	for _, p := range rep.Periods {
		t.Logf("  %s: %d writes [%s, %s]", p.NameNode, p.Writes, p.Start().Format("15:04:05.000"), p.End().Format("15:04:05.000"))
	}
	if caused < 3 {
		t.Fatalf("only %d active changes; the run should cause at least 3", caused)
	}
	// Every change of active while writers wrote is one change of writer;
	// a transient election during the ZooKeeper freeze may add one.
	if rep.Changes < caused || rep.Changes > caused+2 {
		t.Fatalf("%d writer changes for %d changes of the active", rep.Changes, caused)
	}

	for g, paths := range acked {
		present := listDir(t, rc, addrs[active], fmt.Sprintf("/sb/w%d", g))
		for _, p := range paths {
			if !present[p] {
				t.Fatalf("acknowledged %s missing on the final active %s", p, c.id(active))
			}
		}
	}
}

// splitBrainWriter makes directories /sb/w<g>/d<n> until ctx ends, sending
// each to one NameNode address and, when that one does not acknowledge, to
// the other. It records every acknowledged write, with the NameNode that
// acknowledged it, and returns their paths.
func splitBrainWriter(ctx context.Context, rc *rpc.Client, addrs []string, g int, rec *histcheck.Recorder) []string {
	var acked []string
	for i := 0; ctx.Err() == nil; i++ {
		p := fmt.Sprintf("/sb/w%d/d%06d", g, len(acked))
		ok := false
		for k := range addrs {
			addr := addrs[(g+i+k)%len(addrs)]
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp := &hdfspb.MkdirsResponseProto{}
			send := time.Now()
			err := rc.Call(cctx, addr, client.ClientProtocol, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, resp)
			ack := time.Now()
			cancel()
			if err == nil && resp.GetResult() {
				rec.Record(histcheck.Op{NameNode: addr, Send: send, Ack: ack, Label: p})
				acked = append(acked, p)
				ok = true
				break
			}
		}
		if !ok {
			// Neither NameNode is active: do not spin.
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return acked
}

// listDir lists dir on the NameNode at addr and returns the full paths of
// its entries.
func listDir(t *testing.T, rc *rpc.Client, addr, dir string) map[string]bool {
	t.Helper()
	present := map[string]bool{}
	after := []byte{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp := &hdfspb.GetListingResponseProto{}
		err := rc.Call(ctx, addr, client.ClientProtocol, "getListing", &hdfspb.GetListingRequestProto{Src: proto.String(dir), StartAfter: after, NeedLocation: proto.Bool(false)}, resp)
		cancel()
		if err != nil {
			t.Fatalf("getListing %s on %s: %v", dir, addr, err)
		}
		entries := resp.GetDirList().GetPartialListing()
		for _, e := range entries {
			present[dir+"/"+string(e.GetPath())] = true
		}
		if len(entries) == 0 || resp.GetDirList().GetRemainingEntries() == 0 {
			return present
		}
		after = entries[len(entries)-1].GetPath()
	}
}
