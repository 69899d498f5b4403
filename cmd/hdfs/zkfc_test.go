package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

// TestZKFCFormatZK runs `hdfs zkfc -formatZK` against one real ZooKeeper:
// every exit status it can end with, the prompt, -force, ACLs and digest
// authentication. (Statuses 3 and 4 belong to the daemon's start checks,
// tested in zkfc/zkutil.)
func TestZKFCFormatZK(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := zktest.Start(t)
	nn1 := testcluster.ReserveAddr(t, "127.0.0.1")
	dir := writeConfDir(t, `
<property><name>fs.defaultFS</name><value>hdfs://mycluster</value></property>
<property><name>ha.zookeeper.quorum</name><value>`+s.Addr()+`</value></property>
<property><name>ha.zookeeper.session-timeout.ms</name><value>3000</value></property>
`, `
<property><name>dfs.nameservices</name><value>mycluster</value></property>
<property><name>dfs.ha.namenodes.mycluster</name><value>nn1,nn2</value></property>
<property><name>dfs.namenode.rpc-address.mycluster.nn1</name><value>`+nn1+`</value></property>
<property><name>dfs.namenode.rpc-address.mycluster.nn2</name><value>127.0.0.2:8020</value></property>
<property><name>dfs.ha.namenode.id</name><value>nn1</value></property>
<property><name>dfs.ha.automatic-failover.enabled</name><value>true</value></property>
`)
	zkfc := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		return runHDFSInput(t, stdin, append([]string{"--config", dir, "zkfc"}, args...)...)
	}
	cli, _, err := zkutil.Connect(context.Background(), zkutil.Config{Quorum: []string{s.Addr()}, SessionTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	const ns = "/hadoop-ha/mycluster"

	t.Run("CreateAskForceClear", func(t *testing.T) {
		r := zkfc(t, "", "-formatZK")
		if r.code != 0 || !strings.Contains(r.stderr, "Successfully created "+ns+" in ZK.") {
			t.Fatalf("first format: exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := cli.Create(ns+"/ActiveBreadCrumb", []byte("old"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}

		r = zkfc(t, "N\n", "-formatZK")
		if r.code != 2 || !strings.Contains(r.stderr, "The configured parent znode "+ns+" already exists.\n") ||
			!strings.Contains(r.stderr, "WARNING: Before proceeding, ensure that all HDFS services and\nfailover controllers are stopped!\n") ||
			!strings.Contains(r.stderr, "Proceed formatting "+ns+"? (Y or N) ") {
			t.Fatalf("answer N: exit %d, stderr %q", r.code, r.stderr)
		}
		r = zkfc(t, "", "-formatZK", "-nonInteractive")
		if r.code != 2 || strings.Contains(r.stderr, "(Y or N)") {
			t.Fatalf("-nonInteractive: exit %d, stderr %q", r.code, r.stderr)
		}
		if ok, _, _ := cli.Exists(ns + "/ActiveBreadCrumb"); !ok {
			t.Fatal("a denied format removed the breadcrumb")
		}

		r = zkfc(t, "maybe\ny\n", "-formatZK")
		if r.code != 0 || !strings.Contains(r.stderr, "Invalid input: maybe") ||
			!strings.Contains(r.stderr, "Recursively deleting "+ns+" from ZK...") ||
			!strings.Contains(r.stderr, "Successfully deleted "+ns+" from ZK.") {
			t.Fatalf("answer y: exit %d, stderr %q", r.code, r.stderr)
		}
		if ok, _, _ := cli.Exists(ns + "/ActiveBreadCrumb"); ok {
			t.Fatal("answer y kept the breadcrumb")
		}

		for _, p := range []string{ns + "/ActiveStandbyElectorLock", ns + "/a", ns + "/a/b"} {
			if _, err := cli.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
		r = zkfc(t, "", "-formatZK", "-force", "-nonInteractive")
		if r.code != 0 || strings.Contains(r.stderr, "(Y or N)") {
			t.Fatalf("-force: exit %d, stderr %q", r.code, r.stderr)
		}
		if kids, _, err := cli.Children(ns); err != nil || len(kids) != 0 {
			t.Fatalf("after -force: children %v, %v", kids, err)
		}
	})

	t.Run("CouldNotClear", func(t *testing.T) {
		parent := "-Dha.zookeeper.parent-znode=/locked-ha"
		if r := zkfc(t, "", parent, "-formatZK"); r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		// Only someone else may read this child, so its subtree cannot be
		// listed or deleted.
		if _, err := cli.Create("/locked-ha/mycluster/theirs", nil, 0, zk.DigestACL(zk.PermAll, "someone", "else")); err != nil {
			t.Fatal(err)
		}
		r := zkfc(t, "", parent, "-formatZK", "-force")
		if r.code != 1 || !strings.Contains(r.stderr, "Unable to clear zk parent znode") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("AutomaticFailoverNotEnabled", func(t *testing.T) {
		r := zkfc(t, "", "-Ddfs.ha.automatic-failover.enabled=false", "-formatZK")
		want := "Automatic failover is not enabled for NameNode at /" + nn1 + ". Please ensure that automatic failover " +
			"is enabled in the configuration before running the ZK failover controller."
		if r.code != 5 || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("ZooKeeperUnreachable", func(t *testing.T) {
		nowhere := testcluster.ReserveAddr(t, "")
		r := zkfc(t, "", "-Dha.zookeeper.quorum="+nowhere, "-Dha.zookeeper.session-timeout.ms=300", "-formatZK")
		want := "Unable to start failover controller. Unable to connect to ZooKeeper quorum at " + nowhere +
			". Please check the configured value for ha.zookeeper.quorum and ensure that ZooKeeper is running."
		if r.code != 6 || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("ACLAndDigestAuth", func(t *testing.T) {
		acl := zk.DigestACL(zk.PermAll, "hdfs-zkfcs", "s3cret")
		secrets := t.TempDir()
		aclFile, authFile := filepath.Join(secrets, "zk-acl.txt"), filepath.Join(secrets, "zk-auth.txt")
		if err := os.WriteFile(aclFile, []byte("digest:"+acl[0].ID+":rwcda\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(authFile, []byte("digest:hdfs-zkfcs:s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := zkfc(t, "", "-Dha.zookeeper.parent-znode=/secure-ha", "-Dha.zookeeper.acl=@"+aclFile,
			"-Dha.zookeeper.auth=@"+authFile, "-formatZK")
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		// Reading an ACL takes READ or ADMIN permission, so the credentials too.
		authed, _, err := zkutil.Connect(context.Background(), zkutil.Config{Quorum: []string{s.Addr()}, SessionTimeout: 5 * time.Second,
			Auth: []zkutil.Auth{{Scheme: "digest", Auth: []byte("hdfs-zkfcs:s3cret")}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer authed.Close()
		for _, p := range []string{"/secure-ha", "/secure-ha/mycluster"} {
			got, _, err := authed.GetACL(p)
			if err != nil || !reflect.DeepEqual(got, acl) {
				t.Fatalf("ACL of %s = %+v, %v; want %+v", p, got, err, acl)
			}
		}
		if _, _, err := cli.GetACL("/secure-ha/mycluster"); !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("unauthenticated getACL: %v, want ErrNoAuth", err)
		}
		// cli has no credentials: the ACL keeps it out.
		if _, err := cli.Create("/secure-ha/mycluster/ActiveStandbyElectorLock", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("unauthenticated create: %v, want ErrNoAuth", err)
		}
		// Without the credentials, formatZK cannot clear it either.
		r = zkfc(t, "", "-Dha.zookeeper.parent-znode=/secure-ha", "-formatZK", "-force")
		if r.code != 1 {
			t.Fatalf("unauthenticated -force: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("BadUse", func(t *testing.T) {
		if r := zkfc(t, "", "-formatZK", "-bogus"); r.code != 255 || !strings.Contains(r.stderr, "-bogus") {
			t.Fatalf("bad switch: exit %d, stderr %q", r.code, r.stderr)
		}
		r := runHDFSInput(t, "", "zkfc", "-Dfs.defaultFS=hdfs://127.0.0.1:8020", "-formatZK")
		if r.code != 1 || !strings.Contains(r.stderr, "HA is not enabled for this namenode.") {
			t.Fatalf("non-HA: exit %d, stderr %q", r.code, r.stderr)
		}
		r = zkfc(t, "", "-Dha.zookeeper.quorum=", "-formatZK")
		if r.code != 1 || !strings.Contains(r.stderr, "Missing required configuration 'ha.zookeeper.quorum' for ZooKeeper quorum") {
			t.Fatalf("no quorum: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	// The daemon, `hdfs zkfc` without a command: its start checks in
	// Hadoop's order, then a run that ends with SIGINT/SIGTERM (the
	// command's context).
	t.Run("DaemonStartChecks", func(t *testing.T) {
		r := zkfc(t, "", "-Dha.zookeeper.parent-znode=/never-formatted")
		if r.code != 3 || !strings.Contains(r.stderr, "Unable to start failover controller. Parent znode does not exist.\n"+
			"Run with -formatZK flag to initialize ZooKeeper.") {
			t.Fatalf("no parent znode: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := zkfc(t, "", "-formatZK", "-force"); r.code != 0 {
			t.Fatalf("format: exit %d, stderr %q", r.code, r.stderr)
		}
		r = zkfc(t, "")
		if r.code != 4 || !strings.Contains(r.stderr, "Fencing is not configured for NameNode at /"+nn1+".\n"+
			"You must configure a fencing method before using automatic failover.") {
			t.Fatalf("no fencing: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := zkfc(t, "", "-Ddfs.ha.automatic-failover.enabled=false"); r.code != 5 {
			t.Fatalf("automatic failover off: exit %d, stderr %q", r.code, r.stderr)
		}
		nowhere := testcluster.ReserveAddr(t, "")
		if r := zkfc(t, "", "-Dha.zookeeper.quorum="+nowhere, "-Dha.zookeeper.session-timeout.ms=300"); r.code != 6 {
			t.Fatalf("ZooKeeper unreachable: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("DaemonRunsUntilSignal", func(t *testing.T) {
		zkfcAddr := testcluster.ReserveAddr(t, "127.0.0.1")
		_, zkfcPort, _ := strings.Cut(zkfcAddr, ":")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var out, errb lockedBuffer
		done := make(chan int, 1)
		go func() {
			done <- runIO(ctx, &appEnv{}, nil, "", &out, &errb, nil, "--config", dir, "zkfc",
				"-Ddfs.ha.fencing.methods=shell(true)", "-Ddfs.ha.zkfc.port="+zkfcPort,
				"-Dha.health-monitor.connect-retry-interval.ms=100")
		}()
		// It serves ZKFCProtocol; its NameNode is not running, so it stays
		// out of the election.
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", zkfcAddr)
			if err == nil {
				c.Close()
				break
			}
			select {
			case code := <-done:
				t.Fatalf("zkfc ended with %d before serving\n%s", code, errb.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("zkfc does not listen on %s\n%s", zkfcAddr, errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if kids, _, err := cli.Children(ns); err != nil || slices.Contains(kids, "ActiveStandbyElectorLock") {
			t.Fatalf("children of %s: %v, %v; an unhealthy NameNode's ZKFC holds no lock", ns, kids, err)
		}
		cancel() // SIGTERM
		if code := <-done; code != 0 {
			t.Fatalf("zkfc exit %d after SIGTERM\n%s", code, errb.String())
		}
		if !strings.Contains(errb.String(), "shutting down ZKFC") {
			t.Fatalf("stderr %q", errb.String())
		}
	})
}
