package namenode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// haCluster is an HA nameservice in-process: three real JournalNodes and
// two NameNodes, nn1 formatted and its name directory copied to nn2.
type haCluster struct {
	t    testing.TB
	ha   *testcluster.HA
	g    *testcluster.Group
	cfgs []Config
	nns  []*NameNode
}

func newHACluster(t testing.TB, mod func(*Config)) *haCluster {
	t.Helper()
	h := &haCluster{t: t, ha: testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3}), g: testcluster.NewGroup(t)}
	log := testcluster.Logger(t)
	for i := range h.ha.JournalNodes {
		h.startJN(i)
	}
	for i, l := range h.ha.NameNodes {
		cfg, err := ConfigFromConf(h.ha.NameNodeConf(t, i), h.ha.Nameservice, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.HA {
			t.Fatalf("%s: ConfigFromConf did not see an HA nameservice", l.ID)
		}
		cfg.Logger = log.Named(l.ID)
		cfg.Superuser = "hdfs"
		cfg.TailPeriod = 2 * time.Millisecond
		cfg.TailBackoffMax = 20 * time.Millisecond
		cfg.DUReserved = 1
		if mod != nil {
			mod(&cfg)
		}
		h.cfgs = append(h.cfgs, cfg)
	}
	if _, err := Format(context.Background(), h.cfgs[0], FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	// bootstrapStandby stands in: nn2 gets a copy of nn1's name directory.
	if err := copyDir(h.cfgs[0].NameDir, h.cfgs[1].NameDir); err != nil {
		t.Fatal(err)
	}
	for i := range h.cfgs {
		h.nns = append(h.nns, nil)
		h.start(i)
	}
	return h
}

func (h *haCluster) id(i int) string { return h.ha.NameNodes[i].ID }

// startJN starts (or restarts, on the same ports and storage) JournalNode i.
func (h *haCluster) startJN(i int) {
	h.t.Helper()
	jn := h.ha.JournalNodes[i]
	jcfg, err := journalnode.ConfigFromConf(h.ha.JournalNodeConf(h.t, i))
	if err != nil {
		h.t.Fatal(err)
	}
	jcfg.Logger = testcluster.Logger(h.t).Named(jn.ID)
	d, err := journalnode.New(jcfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.g.Start(context.Background(), jn.ID, d); err != nil {
		h.t.Fatal(err)
	}
}

func (h *haCluster) start(i int) {
	h.t.Helper()
	nn, err := New(h.cfgs[i])
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.g.Start(context.Background(), h.id(i), nn); err != nil {
		h.t.Fatal(err)
	}
	h.nns[i] = nn
}

func (h *haCluster) toActive(i int) {
	h.t.Helper()
	if err := h.nns[i].TransitionToActive(context.Background(), commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		h.t.Fatalf("%s -> active: %v", h.id(i), err)
	}
}

func (h *haCluster) toStandby(i int) {
	h.t.Helper()
	if err := h.nns[i].TransitionToStandby(context.Background(), commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		h.t.Fatalf("%s -> standby: %v", h.id(i), err)
	}
}

// waitCaughtUp waits (bounded) until standby i applied txid.
func (h *haCluster) waitCaughtUp(i int, txid int64) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%s to apply txid %d", h.id(i), txid), func() bool { return h.nns[i].AppliedTxID() >= txid })
	if got := h.nns[i].AppliedTxID(); got != txid {
		h.t.Fatalf("%s applied txid %d, beyond the active's %d", h.id(i), got, txid)
	}
}

// waitFor polls cond; the bound only guards against hanging.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

func mkdirErr(t testing.TB, addr, p string) error {
	return call(t, addr, "hdfs", "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
}

func createReq(p string) *hdfspb.CreateRequestProto {
	return &hdfspb.CreateRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)}, ClientName: proto.String("DFSClient_test"),
		CreateFlag: proto.Uint32(uint32(hdfspb.CreateFlagProto_CREATE)), CreateParent: proto.Bool(true), Replication: proto.Uint32(1), BlockSize: proto.Uint64(1 << 20)}
}

func haCall(t testing.TB, addr, user, method string, req, resp proto.Message) error {
	c, err := rpc.NewClient(rpc.DefaultClientConfig(user))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.Call(ctx, addr, HAServiceProtocol, method, req, resp)
}

func TestHABothStartStandby(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	for i, nn := range h.nns {
		if nn.HAState() != ha.Standby {
			t.Fatalf("%s starts %v", h.id(i), nn.HAState())
		}
		if nn.Namesystem().EditLog() != nil {
			t.Fatalf("%s: a standby has a writer EditLog", h.id(i))
		}
		addr := nn.RPCAddress()
		var re *rpc.RemoteError
		err := call(t, addr, "hdfs", "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
		if !errors.Is(err, rpc.ErrStandby) || !errors.As(err, &re) || re.Class != "org.apache.hadoop.ipc.StandbyException" ||
			re.Message != "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error" {
			t.Fatalf("getFileInfo on a standby: %v", err)
		}
		err = mkdirErr(t, addr, "/x")
		if !errors.As(err, &re) || re.Message != "Operation category WRITE is not supported in state standby. Visit https://s.apache.org/sbnn-error" {
			t.Fatalf("mkdirs on a standby: %v", err)
		}
		err = call(t, addr, "hdfs", "rollEdits", &hdfspb.RollEditsRequestProto{}, &hdfspb.RollEditsResponseProto{})
		if !errors.As(err, &re) || re.Message != "Operation category JOURNAL is not supported in state standby. Visit https://s.apache.org/sbnn-error" {
			t.Fatalf("rollEdits on a standby: %v", err)
		}
		for _, m := range []struct {
			name      string
			req, resp proto.Message
		}{
			{"create", createReq("/f"), &hdfspb.CreateResponseProto{}},
			{"msync", &hdfspb.MsyncRequestProto{}, &hdfspb.MsyncResponseProto{}},
			{"getServerDefaults", &hdfspb.GetServerDefaultsRequestProto{}, &hdfspb.GetServerDefaultsResponseProto{}},
			{"renewLease", &hdfspb.RenewLeaseRequestProto{ClientName: proto.String("c")}, &hdfspb.RenewLeaseResponseProto{}},
		} {
			if err := call(t, addr, "hdfs", m.name, m.req, m.resp); !errors.Is(err, rpc.ErrStandby) {
				t.Fatalf("%s on a standby: %v", m.name, err)
			}
		}
		// Unchecked calls pass.
		st := &hdfspb.HAServiceStateResponseProto{}
		if err := call(t, addr, "hdfs", "getHAServiceState", &hdfspb.HAServiceStateRequestProto{}, st); err != nil || st.GetState() != commonpb.HAServiceStateProto_STANDBY {
			t.Fatalf("getHAServiceState: %v %v", st.GetState(), err)
		}
		if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
			t.Fatalf("unchecked setSafeMode GET: %v", err)
		}
		err = call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum(), Checked: proto.Bool(true)}, &hdfspb.SetSafeModeResponseProto{})
		if !errors.As(err, &re) || re.Message != "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error" {
			t.Fatalf("checked setSafeMode GET: %v", err)
		}
		// /jmx
		bean := jmxBean(t, nn.HTTPAddress(), "Hadoop:service=NameNode,name=NameNodeStatus")
		if bean["State"] != "standby" || bean["LastHATransitionTime"] != float64(0) {
			t.Fatalf("NameNodeStatus of a standby: %v", bean)
		}
	}
}

func jmxBean(t *testing.T, addr, name string) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/jmx?qry=" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var jmx struct{ Beans []map[string]any }
	if err := json.Unmarshal(body, &jmx); err != nil || len(jmx.Beans) != 1 {
		t.Fatalf("/jmx %s: %v %s", name, err, body)
	}
	return jmx.Beans[0]
}

// TestHATailAndFailover: nn2 tails nn1's edits to nn1's txid; after a
// failover the data is there, writes continue, and a retried create is
// answered from the retry cache nn2 rebuilt from the edits.
func TestHATailAndFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	nn1, nn2 := h.nns[0], h.nns[1]
	before := time.Now()
	h.toActive(0)
	if nn1.HAState() != ha.Active || nn1.LastHATransitionTime().Before(before.Add(-time.Second)) || nn1.Namesystem().EditLog() == nil {
		t.Fatalf("nn1 after transition: %v %v", nn1.HAState(), nn1.LastHATransitionTime())
	}
	h.toActive(0) // already active: a no-op success
	for i := 0; i < 20; i++ {
		mkdir(t, nn1.RPCAddress(), fmt.Sprintf("/d/%d", i))
	}
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	first := c.NewAttempt()
	if err := c.Call(ctx, nn1.RPCAddress(), namesystem.ClientProtocol, "create", createReq("/d/file"), &hdfspb.CreateResponseProto{}, rpc.WithAttempt(first)); err != nil {
		t.Fatal(err)
	}
	h.waitCaughtUp(1, nn1.AppliedTxID())
	bean := jmxBean(t, nn1.HTTPAddress(), "Hadoop:service=NameNode,name=FSNamesystem")
	if bean["tag.HAState"] != "active" {
		t.Fatalf("FSNamesystem tag.HAState = %v", bean["tag.HAState"])
	}
	if bean := jmxBean(t, nn1.HTTPAddress(), "Hadoop:service=NameNode,name=NameNodeStatus"); bean["State"] != "active" || bean["LastHATransitionTime"] != float64(nn1.LastHATransitionTime().UnixMilli()) {
		t.Fatalf("NameNodeStatus of the active: %v", bean)
	}
	for i, want := range []string{"namenode_ha_state 1\n", "namenode_ha_state 2\n"} {
		resp, err := http.Get("http://" + h.nns[i].HTTPAddress() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Fatalf("%s /metrics lacks %q", h.id(i), want)
		}
	}

	h.toStandby(0)
	h.toActive(1)
	if nn1.HAState() != ha.Standby || nn2.HAState() != ha.Active {
		t.Fatalf("states after failover: nn1 %v nn2 %v", nn1.HAState(), nn2.HAState())
	}
	if nn1.Namesystem().EditLog() != nil {
		t.Fatal("nn1 keeps a writer after stepping down")
	}
	for i := 0; i < 20; i++ {
		if !exists(t, nn2.RPCAddress(), fmt.Sprintf("/d/%d", i)) {
			t.Fatalf("/d/%d missing on the new active", i)
		}
	}
	// The retried create (same client id and call id) is answered from
	// the retry cache; a new create of the same file is refused.
	resp := &hdfspb.CreateResponseProto{}
	if err := c.Call(ctx, nn2.RPCAddress(), namesystem.ClientProtocol, "create", createReq("/d/file"), resp, rpc.WithAttempt(first.Retry())); err != nil {
		t.Fatalf("retried create on the new active: %v", err)
	}
	if resp.GetFs() == nil {
		t.Fatal("retried create answered without the file's status")
	}
	if err := c.Call(ctx, nn2.RPCAddress(), namesystem.ClientProtocol, "create", createReq("/d/file"), &hdfspb.CreateResponseProto{}); !errors.Is(err, rpc.ErrFileAlreadyExists) && !errors.Is(err, rpc.ErrAlreadyBeingCreated) {
		t.Fatalf("a new create of an existing file: %v", err)
	}
	// Writes continue, and nn1 (standby now) tails them.
	mkdir(t, nn2.RPCAddress(), "/after")
	h.waitCaughtUp(0, nn2.AppliedTxID())
	if err := call(t, nn1.RPCAddress(), "hdfs", "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/after")}, &hdfspb.GetFileInfoResponseProto{}); !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("old active still serving: %v", err)
	}
	st, err := nn1.Namesystem().Namespace().GetFileInfo("hdfs", "/after")
	if err != nil || st == nil {
		t.Fatalf("nn1's namespace lacks /after: %v %v", st, err)
	}
}

// TestHAOldActiveFenced: nn2 becomes active while nn1 still is; nn1's next
// write is refused by the journal, never acknowledged, and nn1 steps down
// to standby, drops the refused edit and tails nn2's edits.
func TestHAOldActiveFenced(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	nn1, nn2 := h.nns[0], h.nns[1]
	h.toActive(0)
	mkdir(t, nn1.RPCAddress(), "/before")
	h.waitCaughtUp(1, nn1.AppliedTxID())
	h.toActive(1) // without fencing nn1 first: the journal epoch fences it
	if err := mkdirErr(t, nn1.RPCAddress(), "/ghost"); err == nil {
		t.Fatal("the old active acknowledged a write after a newer active took the journal")
	}
	waitFor(t, "nn1 to step down", func() bool { return nn1.HAState() == ha.Standby })
	if err := mkdirErr(t, nn1.RPCAddress(), "/ghost2"); !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("write on the stepped-down NameNode: %v", err)
	}
	mkdir(t, nn2.RPCAddress(), "/new")
	mkdir(t, nn2.RPCAddress(), "/new2")
	h.waitCaughtUp(0, nn2.AppliedTxID())
	ns := nn1.Namesystem().Namespace()
	for p, want := range map[string]bool{"/before": true, "/new": true, "/new2": true, "/ghost": false} {
		st, err := ns.GetFileInfo("hdfs", p)
		if err != nil || (st != nil) != want {
			t.Fatalf("nn1's namespace: %s present=%v, want %v (%v)", p, st != nil, want, err)
		}
	}
	if exists(t, nn2.RPCAddress(), "/ghost") {
		t.Fatal("the refused write reached the journal")
	}
	// nn1 can take over again, with nn2's edits.
	h.toStandby(1)
	h.toActive(0)
	if !exists(t, nn1.RPCAddress(), "/new2") {
		t.Fatal("nn1 lost nn2's edits")
	}
	mkdir(t, nn1.RPCAddress(), "/again")
}

// TestHAQuorumLossStepsDown: an active that loses its JournalNode quorum
// acknowledges nothing, steps down, and once the quorum is back the other
// NameNode takes over with every acknowledged edit and none of the others.
func TestHAQuorumLossStepsDown(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	nn1, nn2 := h.nns[0], h.nns[1]
	h.toActive(0)
	mkdir(t, nn1.RPCAddress(), "/ok")
	for _, i := range []int{1, 2} {
		if err := h.g.Stop(h.ha.JournalNodes[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := mkdirErr(t, nn1.RPCAddress(), "/lost"); err == nil {
		t.Fatal("mkdirs acknowledged without a journal quorum")
	}
	waitFor(t, "nn1 to step down", func() bool { return nn1.HAState() == ha.Standby })
	if err := nn1.MonitorHealth(context.Background()); !errors.Is(err, rpc.ErrHealthCheckFailed) {
		t.Fatalf("monitorHealth without a quorum: %v", err)
	}
	for _, i := range []int{1, 2} {
		h.startJN(i)
	}
	waitFor(t, "nn1 to be healthy again", func() bool { return nn1.MonitorHealth(context.Background()) == nil })
	h.toActive(1)
	if !exists(t, nn2.RPCAddress(), "/ok") {
		t.Fatal("the new active lost an acknowledged edit")
	}
	// /lost was not acknowledged, but it may have reached the one
	// JournalNode left, and recovery may keep it (as in HDFS: the retry
	// cache is for such calls). Either way nn1 must end up the same.
	lost := exists(t, nn2.RPCAddress(), "/lost")
	mkdir(t, nn2.RPCAddress(), "/later")
	h.waitCaughtUp(0, nn2.AppliedTxID())
	ns := nn1.Namesystem().Namespace()
	for p, want := range map[string]bool{"/ok": true, "/later": true, "/lost": lost} {
		if st, err := ns.GetFileInfo("hdfs", p); err != nil || (st != nil) != want {
			t.Fatalf("nn1 after catching up: %s present=%v, want %v (%v)", p, st != nil, want, err)
		}
	}
}

// TestHAStandbyStartsWithoutQuorum: a standby whose journal is
// unreachable at start still starts (unhealthy) and catches up once the
// JournalNodes are back.
func TestHAStandbyStartsWithoutQuorum(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	h.toActive(0)
	mkdir(t, h.nns[0].RPCAddress(), "/a")
	if err := h.g.Stop("nn2"); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		if err := h.g.Stop(h.ha.JournalNodes[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	h.start(1)
	nn2 := h.nns[1]
	if nn2.HAState() != ha.Standby {
		t.Fatalf("nn2 is %v", nn2.HAState())
	}
	if err := nn2.MonitorHealth(context.Background()); !errors.Is(err, rpc.ErrHealthCheckFailed) {
		t.Fatalf("monitorHealth without a quorum: %v", err)
	}
	for _, i := range []int{1, 2} {
		h.startJN(i)
	}
	h.waitCaughtUp(1, h.nns[0].AppliedTxID())
	waitFor(t, "nn2 to be healthy", func() bool { return nn2.MonitorHealth(context.Background()) == nil })
}

// TestHAStandbyCatchesUp: a standby stopped across several rolled
// segments restarts and catches up.
func TestHAStandbyCatchesUp(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	nn1 := h.nns[0]
	h.toActive(0)
	mkdir(t, nn1.RPCAddress(), "/a")
	h.waitCaughtUp(1, nn1.AppliedTxID())
	if err := h.g.Stop("nn2"); err != nil {
		t.Fatal(err)
	}
	for seg := 0; seg < 4; seg++ {
		for i := 0; i < 5; i++ {
			mkdir(t, nn1.RPCAddress(), fmt.Sprintf("/s%d/%d", seg, i))
		}
		if err := call(t, nn1.RPCAddress(), "hdfs", "rollEdits", &hdfspb.RollEditsRequestProto{}, &hdfspb.RollEditsResponseProto{}); err != nil {
			t.Fatal(err)
		}
	}
	mkdir(t, nn1.RPCAddress(), "/inprogress")
	h.start(1)
	h.waitCaughtUp(1, nn1.AppliedTxID())
	st, err := h.nns[1].Namesystem().Namespace().GetFileInfo("hdfs", "/s3/4")
	if err != nil || st == nil {
		t.Fatalf("restarted standby lacks /s3/4: %v", err)
	}
}

// TestHAServiceProtocolWire: HAServiceProtocol over the wire.
func TestHAServiceProtocolWire(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	nn1 := h.nns[0]
	addr := nn1.RPCAddress()
	status := func() *commonpb.GetServiceStatusResponseProto {
		t.Helper()
		r := &commonpb.GetServiceStatusResponseProto{}
		if err := haCall(t, addr, "hdfs", "getServiceStatus", &commonpb.GetServiceStatusRequestProto{}, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if s := status(); s.GetState() != commonpb.HAServiceStateProto_STANDBY || !s.GetReadyToBecomeActive() {
		t.Fatalf("status of a standby: %v", s)
	}
	if err := haCall(t, addr, "hdfs", "monitorHealth", &commonpb.MonitorHealthRequestProto{}, &commonpb.MonitorHealthResponseProto{}); err != nil {
		t.Fatalf("monitorHealth: %v", err)
	}
	toActive := func(src commonpb.HARequestSource) error {
		return haCall(t, addr, "hdfs", "transitionToActive", &commonpb.TransitionToActiveRequestProto{ReqInfo: &commonpb.HAStateChangeRequestInfoProto{ReqSource: src.Enum()}}, &commonpb.TransitionToActiveResponseProto{})
	}
	toStandby := func(src commonpb.HARequestSource) error {
		return haCall(t, addr, "hdfs", "transitionToStandby", &commonpb.TransitionToStandbyRequestProto{ReqInfo: &commonpb.HAStateChangeRequestInfoProto{ReqSource: src.Enum()}}, &commonpb.TransitionToStandbyResponseProto{})
	}
	// Automatic failover is off: ZKFC is refused.
	var re *rpc.RemoteError
	if err := toActive(commonpb.HARequestSource_REQUEST_BY_ZKFC); !errors.Is(err, rpc.ErrAccessControl) || !errors.As(err, &re) ||
		re.Message[:len("Request from ZK failover controller at ")] != "Request from ZK failover controller at " {
		t.Fatalf("ZKFC request without automatic failover: %v", err)
	}
	if err := haCall(t, addr, "nobody", "transitionToActive", &commonpb.TransitionToActiveRequestProto{ReqInfo: &commonpb.HAStateChangeRequestInfoProto{ReqSource: commonpb.HARequestSource_REQUEST_BY_USER.Enum()}}, &commonpb.TransitionToActiveResponseProto{}); !errors.Is(err, rpc.ErrAccessControl) {
		t.Fatalf("transition by a non-superuser: %v", err)
	}
	if err := toActive(commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	if err := toActive(commonpb.HARequestSource_REQUEST_BY_USER_FORCED); err != nil {
		t.Fatalf("second transitionToActive is a no-op: %v", err)
	}
	if s := status(); s.GetState() != commonpb.HAServiceStateProto_ACTIVE || !s.GetReadyToBecomeActive() {
		t.Fatalf("status of an active: %v", s)
	}
	mkdir(t, addr, "/x")
	if err := toStandby(commonpb.HARequestSource_REQUEST_BY_USER_FORCED); err != nil {
		t.Fatal(err)
	}
	if err := toStandby(commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatalf("second transitionToStandby is a no-op: %v", err)
	}
	if s := status(); s.GetState() != commonpb.HAServiceStateProto_STANDBY {
		t.Fatalf("status after transitionToStandby: %v", s)
	}
	// Low disk space on the name directory's volume: unhealthy.
	nn1.cfg.DUReserved = 1 << 62
	if err := nn1.MonitorHealth(context.Background()); !errors.Is(err, rpc.ErrHealthCheckFailed) || err.Error() != "The NameNode has no resources available" {
		t.Fatalf("monitorHealth with the disk full: %v", err)
	}
	nn1.cfg.DUReserved = 1
	// The journal gone: unhealthy.
	for _, jn := range h.ha.JournalNodes {
		if err := h.g.Stop(jn.ID); err != nil {
			t.Fatal(err)
		}
	}
	err := haCall(t, addr, "hdfs", "monitorHealth", &commonpb.MonitorHealthRequestProto{}, &commonpb.MonitorHealthResponseProto{})
	if !errors.Is(err, rpc.ErrHealthCheckFailed) || !errors.As(err, &re) || re.Class != "org.apache.hadoop.ha.HealthCheckFailedException" {
		t.Fatalf("monitorHealth without JournalNodes: %v", err)
	}
}

// TestHAZKFCSource: with automatic failover on, a plain manual request is
// refused and ZKFC's is accepted.
func TestHAZKFCSource(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, func(c *Config) { c.AutoFailover = true })
	addr := h.nns[0].RPCAddress()
	req := func(src commonpb.HARequestSource) error {
		return haCall(t, addr, "hdfs", "transitionToActive", &commonpb.TransitionToActiveRequestProto{ReqInfo: &commonpb.HAStateChangeRequestInfoProto{ReqSource: src.Enum()}}, &commonpb.TransitionToActiveResponseProto{})
	}
	var re *rpc.RemoteError
	if err := req(commonpb.HARequestSource_REQUEST_BY_USER); !errors.As(err, &re) || re.Message != "Manual HA control for this NameNode is disallowed, because automatic HA is enabled." {
		t.Fatalf("manual request with automatic failover: %v", err)
	}
	if err := req(commonpb.HARequestSource_REQUEST_BY_ZKFC); err != nil {
		t.Fatal(err)
	}
	if h.nns[0].HAState() != ha.Active {
		t.Fatal("not active after ZKFC's request")
	}
}
