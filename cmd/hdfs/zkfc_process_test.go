//go:build unix

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestZKFCProcessKill9 is automatic failover with the real binary and a real
// ZooKeeper: JournalNodes, two NameNodes and their `hdfs zkfc` daemons as
// processes. One NameNode becomes active by election; acknowledged mkdirs;
// kill -9 of the active NameNode while its ZKFC stays up; the other side
// takes over and every acknowledged directory is there. The killed NameNode
// comes back as a standby, and `hdfs haadmin -failover` through the ZKFCs
// gives the active role back to it. A hung active (SIGSTOP) is replaced
// and does not act as active after SIGCONT. A killed ZKFC's session
// expires and the other side takes over. Last, the active's whole "host" goes
// (NameNode and ZKFC killed together): the other side takes over once the
// dead ZKFC's session expires.
func TestZKFCProcessKill9(t *testing.T) {
	testcluster.CheckLeaks(t)
	bin := buildHDFS(t)
	zks := zktest.Start(t)
	extra := map[string]string{
		"ha.zookeeper.session-timeout.ms":                      "2000",
		"dfs.ha.fencing.methods":                               "shell(true)",
		"ha.health-monitor.check-interval.ms":                  "100",
		"ha.health-monitor.connect-retry-interval.ms":          "100",
		"ha.health-monitor.sleep-after-disconnect.ms":          "100",
		"ha.health-monitor.rpc-timeout.ms":                     "2000",
		"ha.failover-controller.graceful-fence.rpc-timeout.ms": "2000",
		"dfs.client.failover.sleep.base.millis":                "20",
		"dfs.client.failover.sleep.max.millis":                 "200",
		"dfs.client.failover.max.attempts":                     "100",
	}
	zkfcAddrs := map[string]string{}
	for _, id := range []string{"nn1", "nn2"} {
		port := testcluster.ReservePort(t, testcluster.DefaultHost)
		extra["dfs.ha.zkfc.port.mycluster."+id] = strconv.Itoa(port)
		zkfcAddrs[id] = testcluster.DefaultHost + ":" + strconv.Itoa(port)
	}
	ha := testcluster.NewHA(t, testcluster.HAOptions{ZooKeeper: zks.Addr(), Extra: extra})
	user := currentUser() // the NameNodes' superuser and the ZKFCs' user: they run as this OS user
	c := &haProcessCluster{t: t, bin: bin, ha: ha, env: processEnv("HADOOP_USER_NAME=" + user), daemons: map[string]*daemonProcess{}}
	c.startJournalNodes()
	if _, stderr, code := c.hdfsOn(0, "namenode", "-format", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -format on nn1: exit %d\n%s", code, stderr)
	}
	c.startNameNode(0, "standby")
	if out, stderr, code := c.hdfsOn(1, "namenode", "-bootstrapStandby", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -bootstrapStandby on nn2: exit %d\n%s%s", code, out, stderr)
	}
	c.startNameNode(1, "standby")
	if _, stderr, code := c.hdfsOn(0, "zkfc", "-formatZK", "-nonInteractive"); code != 0 {
		t.Fatalf("zkfc -formatZK: exit %d\n%s", code, stderr)
	}
	for _, nn := range ha.NameNodes {
		d := startDaemon(t, "zkfc-"+nn.ID, bin, c.env, "--config", nn.ConfDir, "zkfc")
		d.waitListening(zkfcAddrs[nn.ID])
		c.daemons["zkfc-"+nn.ID] = d
	}

	state := func(id string) string {
		out, _, code := c.hdfs("haadmin", "-getServiceState", id)
		if code != 0 {
			return "unreachable"
		}
		return strings.TrimSpace(out)
	}
	// waitActive waits until id is active and the other standby (or down).
	waitActive := func(id, other string, otherDown bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			a, o := state(id), state(other)
			if a == "active" && (o == "standby" || otherDown && o == "unreachable") {
				return
			}
			if a == "active" && o == "active" {
				t.Fatalf("%s and %s both active", id, other)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is %s, %s is %s; want %s the only active", id, a, other, o, id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var active, standby string
	deadline := time.Now().Add(60 * time.Second)
	for active == "" {
		s1, s2 := state("nn1"), state("nn2")
		switch {
		case s1 == "active" && s2 == "active":
			t.Fatal("nn1 and nn2 both active")
		case s1 == "active":
			active, standby = "nn1", "nn2"
		case s2 == "active":
			active, standby = "nn2", "nn1"
		case time.Now().After(deadline):
			t.Fatalf("no NameNode became active: nn1 %s, nn2 %s", s1, s2)
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitActive(active, standby, false)

	cl, err := client.New(client.Config{Conf: ha.Conf(t), User: user, Logger: testcluster.Logger(t)}, "hdfs://"+ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mkdir := func(p string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp := &hdfspb.MkdirsResponseProto{}
		err := cl.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, resp)
		if err == nil && !resp.GetResult() {
			err = fmt.Errorf("mkdirs %s: false", p)
		}
		return err
	}
	var acked []string
	for i := range 100 {
		p := fmt.Sprintf("/load/d%03d", i)
		if err := mkdir(p); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, p)
	}

	// kill -9 the active NameNode; its ZKFC stays up.
	c.daemons[active].kill9()
	start := time.Now()
	if err := mkdir("/after-kill"); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 of %s to the first acknowledged write on %s: %v", active, standby, time.Since(start))
	waitActive(standby, active, true)
	acked = append(acked, "/after-kill")
	for _, p := range acked {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp := &hdfspb.GetFileInfoResponseProto{}
		err := cl.Call(ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp)
		cancel()
		if err != nil || resp.Fs == nil {
			t.Fatalf("acknowledged %s after failover: %v, status %v", p, err, resp.Fs)
		}
	}

	// The killed NameNode returns; its ZKFC keeps it standby. haadmin
	// -failover goes through the ZKFCs and swaps the roles back.
	i := 0
	if active == "nn2" {
		i = 1
	}
	c.startNameNode(i, "standby")
	// Its ZKFC refuses to be the target until its health monitor has seen
	// the NameNode healthy again (Hadoop's "is not currently healthy").
	var out, stderr string
	var code int
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, stderr, code = c.hdfs("haadmin", "-failover", standby, active)
		if code == 0 || !strings.Contains(stderr, "is not currently healthy") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(out, "Failover to NameNode at ") || !strings.Contains(out, " successful") {
		t.Fatalf("haadmin -failover %s %s: exit %d\nstdout %s\nstderr %s", standby, active, code, out, stderr)
	}
	waitActive(active, standby, false)
	if err := mkdir("/after-failback"); err != nil {
		t.Fatal(err)
	}

	// SIGSTOP of the active NameNode: it hangs. Its ZKFC's health check times
	// out (ha.health-monitor.rpc-timeout.ms), it leaves the election, and the
	// other side takes over (the graceful fence times out too; shell(true)
	// fences). After SIGCONT the old NameNode does not act as active: its
	// edits are refused by the JournalNodes (the new epoch) and its ZKFC made
	// it standby.
	stopped := c.daemons[active].cmd.Process
	if err := stopped.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	// Only the other NameNode is asked: calls to the hung one would hang.
	for deadline := time.Now().Add(60 * time.Second); state(standby) != "active"; {
		if time.Now().After(deadline) {
			_ = stopped.Signal(syscall.SIGCONT)
			t.Fatalf("%s did not take over from the hung %s", standby, active)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("SIGSTOP of %s to %s active: %v (health rpc timeout 2 s)", active, standby, time.Since(start))
	if err := stopped.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitActive(standby, active, false)
	if err := mkdir("/after-sigcont"); err != nil {
		t.Fatal(err)
	}
	active, standby = standby, active

	// kill -9 of the active's ZKFC alone: its session expires, the other
	// ZKFC fences the old active (gracefully: it is alive and answers) and
	// takes over. The ZKFC comes back and keeps its NameNode standby.
	c.daemons["zkfc-"+active].kill9()
	start = time.Now()
	waitActive(standby, active, false)
	t.Logf("kill -9 of the ZKFC of %s to %s active: %v (session timeout 2 s)", active, standby, time.Since(start))
	if err := mkdir("/after-zkfc-kill"); err != nil {
		t.Fatal(err)
	}
	for _, nn := range ha.NameNodes {
		if nn.ID == active {
			d := startDaemon(t, "zkfc-"+nn.ID, bin, c.env, "--config", nn.ConfDir, "zkfc")
			d.waitListening(zkfcAddrs[nn.ID])
			c.daemons["zkfc-"+nn.ID] = d
		}
	}
	waitActive(standby, active, false)
	active, standby = standby, active

	// The whole host of the active goes: NameNode and ZKFC killed at once.
	// The lock stays until the session expires
	// (ha.zookeeper.session-timeout.ms); then the other ZKFC fences the old
	// NameNode and takes over.
	c.daemons[active].kill9()
	c.daemons["zkfc-"+active].kill9()
	start = time.Now()
	if err := mkdir("/after-host-loss"); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 of %s and its ZKFC to the first acknowledged write on %s: %v (session timeout 2 s)", active, standby, time.Since(start))
	waitActive(standby, active, true)
	// SIGTERM ends a ZKFC cleanly: exit 0.
	c.daemons["zkfc-"+standby].term()
}
