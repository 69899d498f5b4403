package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// TestDataNodeRunsUntilCancelled runs `hdfs datanode` against NameNodes that are
// not up: it serves /jmx, keeps retrying them, and exits 0 when cancelled (what
// SIGINT and SIGTERM do in main).
func TestDataNodeRunsUntilCancelled(t *testing.T) {
	testcluster.CheckLeaks(t)
	http1 := testcluster.ReserveAddr(t, "127.0.0.1")
	args := []string{"datanode",
		"-D", "dfs.datanode.data.dir=" + t.TempDir(),
		"-D", "dfs.datanode.address=127.0.0.1:0",
		"-D", "dfs.datanode.ipc.address=127.0.0.1:0",
		"-D", "dfs.datanode.http.address=" + http1,
		"-D", "dfs.namenode.rpc-address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "dfs.heartbeat.interval=100ms",
	}
	var out, errb lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- runIO(ctx, &appEnv{}, nil, "", &out, &errb, nil, args...) }()

	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("datanode exited early with %d\nstderr: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("datanode never served /jmx\nstderr: %s", errb.String())
		}
		resp, err := http.Get("http://" + http1 + "/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	if !strings.Contains(body, `"DatanodeUuid"`) || !strings.Contains(body, `"NamenodeAddresses"`) {
		t.Fatalf("/jmx: %s", body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after cancel\nstderr: %s", code, errb.String())
	}
	logs := errb.String()
	for _, want := range []string{"DataNode started", "call to NameNode failed; retrying", "DataNode stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestDataNodeRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no namenode", []string{"-D", "dfs.datanode.data.dir=" + t.TempDir()}, "no NameNode address"},
		{"relative dir", []string{"-D", "dfs.datanode.data.dir=relative/dir", "-D", "fs.defaultFS=hdfs://127.0.0.1:1"}, "is not an absolute path"},
		{"bad interval", []string{"-D", "dfs.datanode.data.dir=" + t.TempDir(), "-D", "fs.defaultFS=hdfs://127.0.0.1:1", "-D", "dfs.heartbeat.interval=often"}, "dfs.heartbeat.interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runHDFS(t, nil, append([]string{"datanode"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.HasPrefix(r.stderr, "datanode: ") {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestDataNodeListedInHelp(t *testing.T) {
	r := runHDFS(t, nil, "--help")
	if !strings.Contains(r.stdout, "datanode ") {
		t.Fatalf("help lacks datanode:\n%s", r.stdout)
	}
}
