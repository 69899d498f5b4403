//go:build unix

package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLocalClusterScript runs scripts/local-cluster.sh start, status, kill, restart and
// stop with the real binary and ZooKeeper, and checks that stop leaves no daemon and no
// listening port behind.
func TestLocalClusterScript(t *testing.T) {
	bin := buildHDFS(t)
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the local cluster needs ZooKeeper: %v (scripts/install-test-deps.sh installs it)", err)
		}
		t.Skipf("no ZooKeeper: %v", err)
	}
	script, err := filepath.Abs("../../scripts/local-cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	env := processEnv("HDFS="+bin, "LOCAL_CLUSTER_DIR="+dir, "HADOOP_USER_NAME="+currentUser())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("local-cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd := exec.Command("bash", script, "stop")
			cmd.Env = env
			_ = cmd.Run()
		}
	})

	out := run("start")
	if !strings.Contains(out, "export HADOOP_CONF_DIR="+dir+"/conf") || !strings.Contains(out, "3 DataNodes live") {
		t.Fatalf("start printed:\n%s", out)
	}
	daemons := []string{"zk", "jn1", "jn2", "jn3", "nn1", "nn2", "zkfc1", "zkfc2", "dn1", "dn2", "dn3"}
	status := run("status")
	for _, d := range daemons {
		if !strings.Contains(status, d+" ") || strings.Contains(status, d+" stopped") {
			t.Fatalf("status after start:\n%s", status)
		}
	}
	if strings.Count(status, " active\n") != 1 || strings.Count(status, " standby\n") != 1 {
		t.Fatalf("status: want one active and one standby NameNode:\n%s", status)
	}
	run("kill", "dn2")
	if status := run("status"); !strings.Contains(status, "dn2    stopped") {
		t.Fatalf("status after kill dn2:\n%s", status)
	}
	run("restart", "dn2")

	// Every daemon's pid and address, before they stop.
	var pids []int
	for _, d := range daemons {
		b, err := os.ReadFile(filepath.Join(dir, "run", d+".pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	addrs := clusterAddrs(t, filepath.Join(dir, "cluster.env"))
	run("stop")
	stopped = true
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("pid %d still runs after stop", pid)
		}
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after stop", a)
		}
	}
}

// clusterAddrs is every address cluster.env names (HA_RPC_*, HA_HTTP_*, HA_IPC_*).
func clusterAddrs(t *testing.T, envFile string) []string {
	t.Helper()
	f, err := os.Open(envFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		if strings.HasPrefix(k, "HA_RPC_") || strings.HasPrefix(k, "HA_HTTP_") || strings.HasPrefix(k, "HA_IPC_") {
			out = append(out, v)
		}
	}
	if len(out) < 11 {
		t.Fatalf("%d addresses in %s", len(out), envFile)
	}
	return out
}

// processAlive: the process exists and is not a zombie waiting for its parent.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
