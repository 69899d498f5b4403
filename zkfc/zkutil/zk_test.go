package zkutil_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

func connect(t *testing.T, cfg zkutil.Config) *zk.Conn {
	t.Helper()
	c, events, err := zkutil.Connect(context.Background(), cfg, testcluster.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zkutil.Close(c, events) })
	return c
}

// TestWithZooKeeper runs every case against one real ZooKeeper server; each
// case works under its own working znode.
func TestWithZooKeeper(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := zktest.Start(t)
	base := func(ns string) zkutil.Config {
		return zkutil.Config{
			Quorum: []string{s.Addr()}, SessionTimeout: 5 * time.Second,
			WorkingZNode: "/hadoop-ha/" + ns, ACL: zk.WorldACL(zk.PermAll), OpRetries: 3,
		}
	}

	t.Run("FormatCreatesThenAsks", func(t *testing.T) {
		cfg := base("fmt")
		c := connect(t, cfg)
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		if ok, err := zkutil.ParentZNodeExists(c, cfg.WorkingZNode); !ok || err != nil {
			t.Fatalf("exists = %v, %v", ok, err)
		}
		if _, err := c.Create(cfg.WorkingZNode+"/ActiveBreadCrumb", []byte("x"), 0, cfg.ACL); err != nil {
			t.Fatal(err)
		}

		var w strings.Builder
		err := zkutil.Format(c, cfg, zkutil.FormatOptions{In: strings.NewReader("n\n"), Err: &w}, nil)
		if zkutil.ExitCode(err) != zkutil.ExitFormatDenied || !strings.Contains(w.String(), "Proceed formatting /hadoop-ha/fmt? (Y or N) ") {
			t.Fatalf("answer n: %v, prompt %q", err, w.String())
		}
		err = zkutil.Format(c, cfg, zkutil.FormatOptions{NonInteractive: true}, nil)
		if zkutil.ExitCode(err) != zkutil.ExitFormatDenied {
			t.Fatalf("-nonInteractive: %v", err)
		}
		if ok, _, _ := c.Exists(cfg.WorkingZNode + "/ActiveBreadCrumb"); !ok {
			t.Fatal("a denied format deleted the breadcrumb")
		}

		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{In: strings.NewReader("y\n")}, nil); err != nil {
			t.Fatalf("answer y: %v", err)
		}
		if ok, _, _ := c.Exists(cfg.WorkingZNode + "/ActiveBreadCrumb"); ok {
			t.Fatal("answer y kept the breadcrumb")
		}
		if _, err := c.Create(cfg.WorkingZNode+"/a", nil, 0, cfg.ACL); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(cfg.WorkingZNode+"/a/b", nil, 0, cfg.ACL); err != nil {
			t.Fatal(err)
		}
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{Force: true, NonInteractive: true}, nil); err != nil {
			t.Fatalf("-force: %v", err)
		}
		if kids, _, err := c.Children(cfg.WorkingZNode); err != nil || len(kids) != 0 {
			t.Fatalf("after -force: children %v, %v", kids, err)
		}
	})

	t.Run("ClearFails", func(t *testing.T) {
		cfg := base("locked")
		c := connect(t, cfg)
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		// A child only someone else may read: its descendants cannot be
		// listed or deleted by this client.
		other := zk.DigestACL(zk.PermAll, "someone", "else")
		if _, err := c.Create(cfg.WorkingZNode+"/theirs", nil, 0, other); err != nil {
			t.Fatal(err)
		}
		err := zkutil.Format(c, cfg, zkutil.FormatOptions{Force: true}, nil)
		if zkutil.ExitCode(err) != zkutil.ExitClearFailed || !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("got %v (exit %d), want exit 1 with ErrNoAuth", err, zkutil.ExitCode(err))
		}
	})

	t.Run("ACLAndAuth", func(t *testing.T) {
		cfg := base("secure")
		cfg.WorkingZNode = "/secure-ha/ns"
		cfg.ACL = zk.DigestACL(zk.PermAll, "hdfs-zkfcs", "secret")
		cfg.Auth = []zkutil.Auth{{Scheme: "digest", Auth: []byte("hdfs-zkfcs:secret")}}
		c := connect(t, cfg)
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/secure-ha", "/secure-ha/ns"} {
			acl, _, err := c.GetACL(p)
			if err != nil || !reflect.DeepEqual(acl, cfg.ACL) {
				t.Fatalf("ACL of %s = %+v, %v; want %+v", p, acl, err, cfg.ACL)
			}
		}
		if _, err := c.Create("/secure-ha/ns/mine", nil, 0, cfg.ACL); err != nil {
			t.Fatalf("authenticated create: %v", err)
		}
		anon := base("secure")
		a := connect(t, anon)
		if _, err := a.Create("/secure-ha/ns/intruder", nil, 0, anon.ACL); !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("unauthenticated create: %v, want ErrNoAuth", err)
		}
		if _, err := a.Set("/secure-ha/ns", []byte("x"), -1); !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("unauthenticated set: %v, want ErrNoAuth", err)
		}
		// A reformat with -force clears and recreates under the same ACL.
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{Force: true}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("StartChecks", func(t *testing.T) {
		cfg := base("start")
		c := connect(t, cfg)
		target := hasvc.Target{Nameservice: "start", NameNodeID: "nn1", Address: "127.0.0.1:8020", AutoFailover: true}
		err := zkutil.CheckStart(c, cfg, target, nil)
		if zkutil.ExitCode(err) != zkutil.ExitNoParentZNode ||
			err.Error() != "Unable to start failover controller. Parent znode does not exist.\nRun with -formatZK flag to initialize ZooKeeper." {
			t.Fatalf("no znode: %v", err)
		}
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		err = zkutil.CheckStart(c, cfg, target, nil)
		if zkutil.ExitCode(err) != zkutil.ExitNoFencer ||
			!strings.HasPrefix(err.Error(), "Fencing is not configured for NameNode at /127.0.0.1:8020.\nYou must configure a fencing method before using automatic failover.") ||
			!strings.Contains(err.Error(), "No fencer configured for NameNode at /127.0.0.1:8020") {
			t.Fatalf("no fencer: %v", err)
		}
		target.FencingMethods = "nosuchmethod"
		if err := zkutil.CheckStart(c, cfg, target, nil); zkutil.ExitCode(err) != zkutil.ExitNoFencer {
			t.Fatalf("bad fencer: %v", err)
		}
		target.FencingMethods = "shell(true)"
		if err := zkutil.CheckStart(c, cfg, target, nil); err != nil {
			t.Fatalf("configured: %v", err)
		}
		target.AutoFailover = false
		err = zkutil.CheckAutoFailover(target)
		if zkutil.ExitCode(err) != zkutil.ExitAutoFailoverNotEnabled ||
			err.Error() != "Automatic failover is not enabled for NameNode at /127.0.0.1:8020. Please ensure that automatic failover is enabled in the configuration before running the ZK failover controller." {
			t.Fatalf("auto failover off: %v", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		cfg := base("none")
		cfg.Quorum = []string{testcluster.ReserveAddr(t, "")}
		cfg.SessionTimeout = 500 * time.Millisecond
		_, _, err := zkutil.ConnectForZKFC(context.Background(), cfg, testcluster.Logger(t))
		if zkutil.ExitCode(err) != zkutil.ExitNoZK || !errors.Is(err, zkutil.ErrUnreachable) ||
			!strings.HasPrefix(err.Error(), "Unable to start failover controller. Unable to connect to ZooKeeper quorum at "+cfg.Quorum[0]+
				". Please check the configured value for ha.zookeeper.quorum and ensure that ZooKeeper is running.") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("ReconnectAfterRestart", func(t *testing.T) {
		cfg := base("restart")
		c := connect(t, cfg)
		if err := zkutil.Format(c, cfg, zkutil.FormatOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		s.Restart()
		// The client reconnects within its session; the data survived.
		var ok bool
		var err error
		for i := 0; i < 100; i++ {
			if ok, err = zkutil.ParentZNodeExists(c, cfg.WorkingZNode); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ok || err != nil {
			t.Fatalf("after restart: exists = %v, %v", ok, err)
		}
	})
}
