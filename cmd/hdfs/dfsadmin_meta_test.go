package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// confDirOf writes a cluster's configuration as a HADOOP_CONF_DIR.
func confDirOf(t *testing.T, mc *minicluster.Cluster) string {
	t.Helper()
	dir := t.TempDir()
	c := mc.Conf()
	var props []testcluster.Property
	for _, k := range c.Keys() {
		if v, ok := c.Raw(k); ok {
			props = append(props, testcluster.Property{Name: k, Value: v})
		}
	}
	if err := testcluster.WriteSiteXML(filepath.Join(dir, "core-site.xml"), nil); err != nil {
		t.Fatal(err)
	}
	if err := testcluster.WriteSiteXML(filepath.Join(dir, "hdfs-site.xml"), props); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mkdirs(t *testing.T, mc *minicluster.Cluster, n int, prefix string) {
	t.Helper()
	for i := range n {
		err := mc.CallActive("mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(fmt.Sprintf("%s/d%d", prefix, i)),
			Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDfsadminMetaStatus: an HA cluster mirroring to a file sink. Once
// writes stop, both NameNodes print _synced=1 with equal txids; -detail
// adds the sink and the lag figures; a NameNode that is down gets an error
// line and the command exits 255.
func TestDfsadminMetaStatus(t *testing.T) {
	testcluster.CheckLeaks(t)
	sink := t.TempDir()
	mc := minicluster.Start(t, minicluster.Options{HA: true, Extra: map[string]string{
		"namespace.mirror.uri": "file://" + sink, "namespace.mirror.poll.interval.ms": "1",
	}})
	mkdirs(t, mc, 30, "/meta")
	env := map[string]string{"HADOOP_CONF_DIR": confDirOf(t, mc)}
	addrs := mc.NameNodeAddrs()
	line := regexp.MustCompile(`^(nn[12]) \(([^)]*)\): state=(active|standby) committedTxId=(\d+) mirroredTxId=(\d+) _synced=([01])$`)
	var r result
	deadline := time.Now().Add(minicluster.WaitBound)
	for {
		r = runHDFS(t, env, "dfsadmin", "-metaStatus")
		synced := 0
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		for i, l := range lines {
			m := line.FindStringSubmatch(l)
			if m == nil || len(lines) != 2 {
				t.Fatalf("-metaStatus printed %q (stderr %q)", r.stdout, r.stderr)
			}
			if m[1] != fmt.Sprintf("nn%d", i+1) || m[2] != addrs[i] || m[3] != []string{"active", "standby"}[i] {
				t.Fatalf("line %q: want nn%d (%s)", l, i+1, addrs[i])
			}
			if m[6] == "1" && m[4] == m[5] && m[4] != "0" {
				synced++
			}
		}
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if synced == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never synced: %q", r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}

	r = runHDFS(t, env, "dfsadmin", "-metaStatus", "-detail")
	if r.code != 0 || !strings.Contains(r.stdout, "\n  sink=file://"+sink+" shipping=true lagTxns=0 lagSeconds=") ||
		!strings.Contains(r.stdout, "\n  sink=file://"+sink+" shipping=false lagTxns=0 lagSeconds=") ||
		!strings.Contains(r.stdout, "newestMirroredImageTxId=0\n") || strings.Contains(r.stdout, "lastError") {
		t.Fatalf("-detail: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runHDFS(t, env, "dfsadmin", "-metaStatus", "-verbose"); r.code != 255 || !strings.Contains(r.stderr, "-metaStatus [-detail]") {
		t.Fatalf("bad option: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	// nn2 down: its line says so, nn1's is still printed, and the exit is 255.
	if err := mc.NameNodes[1].Stop(); err != nil {
		t.Fatal(err)
	}
	r = runHDFS(t, env, "dfsadmin", "-metaStatus")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 255 || len(lines) != 2 || !line.MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "nn2 ("+addrs[1]+"): error: cannot reach ") || !strings.Contains(r.stderr, "1 of 2 NameNodes") {
		t.Fatalf("with nn2 down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestDfsadminMetaStatusNotConfigured: without a sink the line says so
// plainly, and it is not an error.
func TestDfsadminMetaStatusNotConfigured(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{})
	mkdirs(t, mc, 3, "/plain")
	r := runHDFS(t, map[string]string{"HADOOP_CONF_DIR": confDirOf(t, mc)}, "dfsadmin", "-metaStatus", "-detail")
	want := fmt.Sprintf("namenode (%s): state=active committedTxId=3 mirror=none (the metadata mirror is not configured: set namespace.mirror.uri or the namespace.ots.* keys)\n", mc.NameNodeAddrs()[0])
	r.want(t, 0, want)
}

// The recovery-mode lines.
func TestMetaStatusText(t *testing.T) {
	for _, c := range []struct {
		b    metaBean
		want string
	}{
		{metaBean{HAState: "active", RecoveryState: "RUNNING", RecoveryLoadedTxId: 5000, RecoveryTargetTxId: 10234}, "recovery state=RUNNING loaded=5000/10234"},
		{metaBean{HAState: "active", RecoveryState: "FINISH", RecoveryLoadedTxId: 10234, RecoveryTargetTxId: 10234}, "recovery state=FINISH txid=10234"},
		{metaBean{HAState: "standby", Configured: true, LastCommittedTxId: 9, LastMirroredTxId: 7}, "state=standby committedTxId=9 mirroredTxId=7 _synced=0"},
	} {
		if got := metaStatusText(c.b); got != c.want {
			t.Errorf("%+v: %q, want %q", c.b, got, c.want)
		}
	}
	got := metaStatusDetail(metaBean{Configured: true, Sink: "ots://inst", Shipping: true, LagTxns: 3, LagSeconds: 1.5, LagP50Millis: 4, LagP99Millis: 900,
		NewestMirroredImageTxId: -1, LastError: "tablestore: sink down"})
	if len(got) != 2 || got[0] != "sink=ots://inst shipping=true lagTxns=3 lagSeconds=1.500 lagP50Millis=4 lagP99Millis=900 newestMirroredImageTxId=none" ||
		got[1] != "lastError: tablestore: sink down" {
		t.Errorf("detail %q", got)
	}
}
