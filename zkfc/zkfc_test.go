package zkfc

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/zkfc/elector"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

// cluster is an HA nameservice in-process with automatic failover: three
// JournalNodes, two NameNodes and their ZKFCs, against a real ZooKeeper.
// Each cluster has a parent znode of its own, so the subtests share one
// ZooKeeper server.
type cluster struct {
	t     *testing.T
	zk    *zktest.Server
	ha    *testcluster.HA
	g     *testcluster.Group
	nncfg []namenode.Config
	nns   []*namenode.NameNode
	zkfcs []*ZKFC
	cl    *client.Client
}

func newCluster(t *testing.T, zks *zktest.Server, parent string) *cluster {
	t.Helper()
	extra := map[string]string{
		zkutil.KeyParentZNode:                                  parent,
		zkutil.KeySessionTimeout:                               "2000",
		"dfs.ha.fencing.methods":                               "shell(true)",
		"ha.health-monitor.check-interval.ms":                  "100",
		"ha.health-monitor.connect-retry-interval.ms":          "100",
		"ha.health-monitor.sleep-after-disconnect.ms":          "100",
		"ha.health-monitor.rpc-timeout.ms":                     "2000",
		"ha.failover-controller.graceful-fence.rpc-timeout.ms": "2000",
		"ha.failover-controller.new-active.rpc-timeout.ms":     "20000",
		"dfs.client.failover.sleep.base.millis":                "20",
		"dfs.client.failover.sleep.max.millis":                 "200",
		"dfs.client.failover.max.attempts":                     "100",
	}
	for _, nn := range []string{"nn1", "nn2"} {
		extra[hasvc.KeyZKFCPort+".mycluster."+nn] = strconv.Itoa(testcluster.ReservePort(t, testcluster.DefaultHost))
	}
	c := &cluster{
		t:  t,
		zk: zks,
		ha: testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3, ZooKeeper: zks.Addr(), Extra: extra}),
		g:  testcluster.NewGroup(t),
	}
	log := testcluster.Logger(t)
	for i, jn := range c.ha.JournalNodes {
		jcfg, err := journalnode.ConfigFromConf(c.ha.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		jcfg.Logger = log.Named(jn.ID)
		d, err := journalnode.New(jcfg)
		if err != nil {
			t.Fatal(err)
		}
		c.g.MustStart(jn.ID, d)
	}
	for i, l := range c.ha.NameNodes {
		cfg, err := namenode.ConfigFromConf(c.ha.NameNodeConf(t, i), c.ha.Nameservice, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.AutoFailover {
			t.Fatalf("%s: automatic failover is off", l.ID)
		}
		cfg.Logger = log.Named(l.ID)
		cfg.Superuser = "hdfs"
		cfg.TailPeriod = 2 * time.Millisecond
		cfg.TailBackoffMax = 20 * time.Millisecond
		cfg.DUReserved = 1
		c.nncfg = append(c.nncfg, cfg)
	}
	if _, err := namenode.Format(context.Background(), c.nncfg[0], namenode.FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	if err := copyDir(c.nncfg[0].NameDir, c.nncfg[1].NameDir); err != nil {
		t.Fatal(err)
	}
	c.nns = make([]*namenode.NameNode, 2)
	for i := range c.nncfg {
		c.startNN(i)
	}

	// hdfs zkfc -formatZK.
	zcfg, err := zkutil.ConfigFromConf(c.ha.Conf(t), c.ha.Nameservice, "nn1")
	if err != nil {
		t.Fatal(err)
	}
	conn, events, err := zkutil.Connect(context.Background(), zcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := zkutil.Format(conn, zcfg, zkutil.FormatOptions{NonInteractive: true}, log); err != nil {
		t.Fatal(err)
	}
	zkutil.Close(conn, events)

	c.zkfcs = make([]*ZKFC, 2)
	for i := range c.nns {
		c.startZKFC(i)
	}
	c.cl, err = client.New(client.Config{Conf: c.ha.Conf(t), User: "hdfs", Logger: log.Named("client")}, "hdfs://"+c.ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cl.Close() })
	return c
}

func (c *cluster) id(i int) string { return c.ha.NameNodes[i].ID }

func (c *cluster) startNN(i int) {
	c.t.Helper()
	nn, err := namenode.New(c.nncfg[i])
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.g.Start(context.Background(), c.id(i), nn); err != nil {
		c.t.Fatal(err)
	}
	c.nns[i] = nn
}

func (c *cluster) startZKFC(i int) {
	c.t.Helper()
	cfg, err := ConfigFromConf(c.ha.Conf(c.t), c.ha.Nameservice, c.id(i))
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(c.t).Named("zkfc-" + c.id(i))
	cfg.LoginUser = "hdfs" // the NameNodes' superuser
	cfg.TickInterval = 20 * time.Millisecond
	cfg.SleepAfterFailure = 200 * time.Millisecond
	z, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.g.Start(context.Background(), "zkfc-"+c.id(i), z); err != nil {
		c.t.Fatal(err)
	}
	c.zkfcs[i] = z
}

func (c *cluster) stop(name string) {
	c.t.Helper()
	if err := c.g.Stop(name); err != nil {
		c.t.Fatal(err)
	}
}

// state is NameNode i's HA state; a stopped NameNode counts as standby.
func (c *cluster) state(i int) ha.State {
	if _, running := c.g.Get(c.id(i)); !running {
		return ha.Standby
	}
	return c.nns[i].HAState()
}

// waitActive waits until NameNode i is active and every other running one
// is not, and the elector of i's ZKFC says so too.
func (c *cluster) waitActive(i int) {
	c.t.Helper()
	waitFor(c.t, c.id(i)+" the only active NameNode", func() bool {
		for j := range c.nns {
			if (c.state(j) == ha.Active) != (j == i) {
				return false
			}
		}
		return true
	})
}

// waitOneActive waits until exactly one NameNode is active and returns it.
func (c *cluster) waitOneActive() int {
	c.t.Helper()
	active := -1
	waitFor(c.t, "exactly one active NameNode", func() bool {
		active = -1
		for j := range c.nns {
			if c.state(j) == ha.Active {
				if active >= 0 {
					c.t.Fatalf("%s and %s both active", c.id(active), c.id(j))
				}
				active = j
			}
		}
		return active >= 0
	})
	return active
}

// waitSettled waits until the election has settled: one ZKFC active, the
// other standby, and their NameNodes so. It fails at once if both
// NameNodes are ever seen active together.
func (c *cluster) waitSettled() int {
	c.t.Helper()
	settled := -1
	waitFor(c.t, "the election to settle", func() bool {
		if c.state(0) == ha.Active && c.state(1) == ha.Active {
			c.t.Fatal("both NameNodes active")
		}
		for i := range c.zkfcs {
			si, err1 := c.zkfcs[i].Status()
			so, err2 := c.zkfcs[1-i].Status()
			if err1 == nil && err2 == nil && si.Role == elector.RoleActive && so.Role == elector.RoleStandby &&
				c.state(i) == ha.Active && c.state(1-i) == ha.Standby {
				settled = i
				return true
			}
		}
		return false
	})
	return settled
}

// waitRole waits until ZKFC i's elector is in role r.
func (c *cluster) waitRole(i int, r elector.Role) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("zkfc of %s %v", c.id(i), r), func() bool {
		s, err := c.zkfcs[i].Status()
		return err == nil && s.Role == r
	})
}

func (c *cluster) mkdir(p string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := &hdfspb.MkdirsResponseProto{}
	err := c.cl.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, resp)
	if err == nil && !resp.GetResult() {
		err = fmt.Errorf("mkdirs %s: false", p)
	}
	return err
}

// writes makes n acknowledged mkdirs under dir and returns their paths.
func (c *cluster) writes(dir string, n int) []string {
	c.t.Helper()
	var acked []string
	for i := range n {
		p := fmt.Sprintf("%s/d%03d", dir, i)
		if err := c.mkdir(p); err != nil {
			c.t.Fatal(err)
		}
		acked = append(acked, p)
	}
	return acked
}

// checkPresent checks every path exists, read through the client (so on
// the active).
func (c *cluster) checkPresent(paths []string) {
	c.t.Helper()
	for _, p := range paths {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp := &hdfspb.GetFileInfoResponseProto{}
		err := c.cl.Call(ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp)
		cancel()
		if err != nil {
			c.t.Fatalf("getFileInfo %s: %v", p, err)
		}
		if resp.Fs == nil {
			c.t.Fatalf("acknowledged %s is missing after failover", p)
		}
	}
}

// waitFor polls cond; the bound only guards against hanging.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
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

// lockHolder reads the lock and the breadcrumb of the cluster's election.
func (c *cluster) znodes(t *testing.T) (lock, crumb elector.NodeInfo) {
	t.Helper()
	zcfg, err := zkutil.ConfigFromConf(c.ha.Conf(t), c.ha.Nameservice, "nn1")
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := zkutil.Connect(context.Background(), zcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func(name string) elector.NodeInfo {
		data, _, err := conn.Get(zcfg.WorkingZNode + "/" + name)
		if err == zk.ErrNoNode {
			return elector.NodeInfo{}
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := elector.ParseNodeInfo(data)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return read(elector.LockName), read(elector.BreadcrumbName)
}

// TestZKFC runs the ZKFCs against one real ZooKeeper; each subtest has a
// cluster and a parent znode of its own. The ZooKeeper-loss case runs last:
// it stops the server.
func TestZKFC(t *testing.T) {
	zks := zktest.Start(t)

	t.Run("Election", func(t *testing.T) {
		testcluster.CheckLeaks(t)
		c := newCluster(t, zks, "/election")
		a := c.waitOneActive()
		other := 1 - a
		c.waitRole(a, elector.RoleActive)
		c.waitRole(other, elector.RoleStandby)
		if got := c.state(other); got != ha.Standby {
			t.Fatalf("%s is %v, want standby", c.id(other), got)
		}
		lock, crumb := c.znodes(t)
		if lock.NameNode != c.id(a) || crumb.NameNode != c.id(a) {
			t.Fatalf("lock %v, breadcrumb %v; want both %s", lock, crumb, c.id(a))
		}
		if want := c.zkfcs[a].Addr().(*net.TCPAddr).Port; int(lock.ZKFCPort) != want || lock.Addr() != c.ha.NameNodes[a].RPCAddress {
			t.Fatalf("lock %+v, want NameNode %s and ZKFC port %d", lock, c.ha.NameNodes[a].RPCAddress, want)
		}
		c.writes("/e", 5)
	})

	t.Run("ActiveNameNodeStopped", func(t *testing.T) {
		testcluster.CheckLeaks(t)
		c := newCluster(t, zks, "/nn-stopped")
		a := c.waitOneActive()
		other := 1 - a
		c.waitRole(other, elector.RoleStandby)
		acked := c.writes("/w", 50)
		start := time.Now()
		c.stop(c.id(a)) // its ZKFC keeps running
		c.waitActive(other)
		if err := c.mkdir("/after"); err != nil {
			t.Fatal(err)
		}
		t.Logf("NameNode stop to first acknowledged write on %s: %v", c.id(other), time.Since(start))
		c.checkPresent(append(acked, "/after"))
		_, crumb := c.znodes(t)
		if crumb.NameNode != c.id(other) {
			t.Fatalf("breadcrumb names %s, want %s", crumb.NameNode, c.id(other))
		}
	})

	t.Run("ActiveZKFCStopped", func(t *testing.T) {
		testcluster.CheckLeaks(t)
		c := newCluster(t, zks, "/zkfc-stopped")
		a := c.waitOneActive()
		other := 1 - a
		c.waitRole(other, elector.RoleStandby)
		acked := c.writes("/w", 20)
		c.stop("zkfc-" + c.id(a)) // the session closes with it
		// The other ZKFC fences the old active (gracefully: it is alive)
		// before its own NameNode becomes active.
		c.waitActive(other)
		if got := c.state(a); got == ha.Active {
			t.Fatalf("old active %s still active", c.id(a))
		}
		c.checkPresent(acked)
		if err := c.mkdir("/after"); err != nil {
			t.Fatal(err)
		}
		// The ZKFC comes back and joins as standby.
		c.startZKFC(a)
		c.waitRole(a, elector.RoleStandby)
		if got := c.state(a); got != ha.Standby {
			t.Fatalf("%s is %v after its ZKFC rejoined, want standby", c.id(a), got)
		}
	})

	t.Run("GracefulFailover", func(t *testing.T) {
		testcluster.CheckLeaks(t)
		c := newCluster(t, zks, "/graceful")
		a := c.waitOneActive()
		other := 1 - a
		c.waitRole(other, elector.RoleStandby)
		acked := c.writes("/w", 10)
		rc, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := hasvc.NewZKFCClient(rc, c.zkfcs[other].Addr().String()).GracefulFailover(ctx); err != nil {
			t.Fatal(err)
		}
		c.waitActive(other)
		c.waitRole(other, elector.RoleActive)
		c.waitRole(a, elector.RoleStandby) // the old active's ZKFC rejoined
		c.checkPresent(acked)
		// Asking the active's own ZKFC succeeds at once.
		if err := hasvc.NewZKFCClient(rc, c.zkfcs[other].Addr().String()).GracefulFailover(ctx); err != nil {
			t.Fatal(err)
		}
		// And back.
		if err := hasvc.NewZKFCClient(rc, c.zkfcs[a].Addr().String()).GracefulFailover(ctx); err != nil {
			t.Fatal(err)
		}
		c.waitActive(a)
	})

	// ZooKeeper frozen longer than the session timeout: sessions may expire
	// when it thaws (an active whose session expired steps down and the
	// ZKFCs elect again) or survive; either way one NameNode ends active,
	// never two at once.
	t.Run("ZooKeeperPaused", func(t *testing.T) {
		testcluster.CheckLeaks(t)
		c := newCluster(t, zks, "/zk-paused")
		a := c.waitOneActive()
		c.waitRole(1-a, elector.RoleStandby)
		zks.Pause()
		c.waitRole(a, elector.RoleNeutral)
		time.Sleep(3 * time.Second) // the session timeout is 2 s
		if c.state(a) != ha.Active {
			t.Fatalf("%s is %v while ZooKeeper is frozen; want it still active", c.id(a), c.state(a))
		}
		zks.Resume()
		c.waitSettled()
		if err := c.mkdir("/after-thaw"); err != nil {
			t.Fatal(err)
		}
	})

	// Last: it stops the server.
	t.Run("ZooKeeperLoss", func(t *testing.T) {
		testcluster.CheckLeaks(t, "internal/zktest") // Restart's process waiter lives as long as the server
		c := newCluster(t, zks, "/zk-loss")
		a := c.waitOneActive()
		other := 1 - a
		c.waitRole(other, elector.RoleStandby)
		zks.Stop()
		c.waitRole(a, elector.RoleNeutral)
		c.waitRole(other, elector.RoleNeutral)
		// Longer than the session timeout: nothing changes, the active keeps
		// serving.
		for i := range 30 {
			if err := c.mkdir(fmt.Sprintf("/without-zk/d%02d", i)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if c.state(a) != ha.Active || c.state(other) != ha.Standby {
			t.Fatalf("without ZooKeeper: %s %v, %s %v; want no change", c.id(a), c.state(a), c.id(other), c.state(other))
		}
		zks.Restart()
		c.waitSettled()
		if err := c.mkdir("/with-zk"); err != nil {
			t.Fatal(err)
		}
	})
}
