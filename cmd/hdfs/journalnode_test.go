package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// TestJournalNodeRunsUntilCancelled runs `hdfs --config DIR journalnode` on the ports of
// a test layout, talks QJournalProtocol to it, then cancels its context (what SIGINT and
// SIGTERM do in main) and expects a clean exit 0.
func TestJournalNodeRunsUntilCancelled(t *testing.T) {
	testcluster.CheckLeaks(t)
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 1})
	jn := ha.JournalNodes[0]
	var out, errb lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- runIO(ctx, &appEnv{}, nil, "", &out, &errb, nil, "--config", jn.ConfDir, "journalnode")
	}()

	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := &qjournalpb.IsFormattedRequestProto{Jid: &qjournalpb.JournalIdProto{Identifier: proto.String(ha.JournalID)}}
	// Poll until it serves; the bound only guards against hanging.
	var callErr error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("journalnode exited early with %d\nstderr: %s", code, errb.String())
		default:
		}
		resp := &qjournalpb.IsFormattedResponseProto{}
		if callErr = c.Call(ctx, jn.RPCAddress, journalnode.Protocol, "isFormatted", req, resp); callErr == nil {
			if resp.GetIsFormatted() {
				t.Fatal("fresh journal reports formatted")
			}
			break
		}
	}
	if callErr != nil {
		t.Fatalf("journalnode never served: %v\nstderr: %s", callErr, errb.String())
	}
	c.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after cancel\nstderr: %s", code, errb.String())
	}
	logs := errb.String()
	for _, want := range []string{"JournalNode started", "rpc_address=" + jn.RPCAddress, "http_address=" + jn.HTTPAddress, "JournalNode stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestJournalNodeRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"relative dir", []string{"-D", "dfs.journalnode.edits.dir=relative/dir"}, "Journal dir 'relative/dir' should be an absolute path"},
		{"bad address", []string{"-D", "dfs.journalnode.edits.dir=" + t.TempDir(), "-D", "dfs.journalnode.rpc-address=nohostport"}, "dfs.journalnode.rpc-address: bad address"},
		{"bad cache size", []string{"-D", "dfs.journalnode.edits.dir=" + t.TempDir(), "-D", "dfs.journalnode.edit-cache-size.bytes=lots"}, "dfs.journalnode.edit-cache-size.bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runHDFS(t, nil, append([]string{"journalnode"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.HasPrefix(r.stderr, "journalnode: ") {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestJournalNodeRefusesAddressInUse(t *testing.T) {
	testcluster.CheckLeaks(t)
	ln := testcluster.Listen(t, "127.0.0.1")
	r := runHDFS(t, nil, "journalnode", "-D", "dfs.journalnode.edits.dir="+t.TempDir(),
		"-D", "dfs.journalnode.rpc-address="+ln.Addr().String(), "-D", "dfs.journalnode.http-address=127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "dfs.journalnode.rpc-address") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestJournalNodeListedInHelp(t *testing.T) {
	r := runHDFS(t, nil, "--help")
	if !strings.Contains(r.stdout, "journalnode ") || !strings.Contains(r.stdout, "Daemon Commands") {
		t.Fatalf("help lacks journalnode:\n%s", r.stdout)
	}
}
