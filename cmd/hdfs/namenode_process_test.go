//go:build unix

package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// nnProcess is a non-HA NameNode process configured with -D options.
type nnProcess struct {
	t    *testing.T
	bin  string
	conf []string
	addr string
	d    *daemonProcess
}

// run runs `hdfs <args[0]> <conf...> <args[1:]...>` as the current user.
func (p *nnProcess) run(stdin string, args ...string) (stdout, stderr string, code int) {
	return runBinary(p.t, p.bin, processEnv("HADOOP_USER_NAME="+currentUser()), stdin, append(append([]string{args[0]}, p.conf...), args[1:]...)...)
}

func currentUser() string { return benchUser() }

// start runs the NameNode and waits until it answers msync.
func (p *nnProcess) start() {
	p.d = startDaemon(p.t, "namenode", p.bin, processEnv(), append([]string{"namenode"}, p.conf...)...)
	c, _ := rpc.NewClient(rpc.DefaultClientConfig(currentUser()))
	defer c.Close()
	p.d.waitFor("NameNode serving", func() error {
		return c.Call(context.Background(), p.addr, namesystem.ClientProtocol, "msync", &hdfspb.MsyncRequestProto{}, &hdfspb.MsyncResponseProto{})
	})
}

func (p *nnProcess) kill9() { p.d.kill9() }

func (p *nnProcess) term() { p.d.term() }

func newNNProcess(t *testing.T) *nnProcess {
	dir := t.TempDir()
	addr := testcluster.ReserveAddr(t, "127.0.0.1")
	return &nnProcess{t: t, bin: buildHDFS(t), addr: addr, conf: []string{
		"-D", "dfs.namenode.name.dir=file://" + dir,
		"-D", "dfs.namenode.rpc-address=" + addr,
		"-D", "dfs.namenode.http-address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "fs.defaultFS=hdfs://" + addr,
	}}
}

// TestNameNodeProcessDurability: format, run, mkdirs from 16 goroutines,
// kill -9 under load, restart: every acknowledged directory is there. Then
// saveNamespace + restart from the image, and the format prompts.
func TestNameNodeProcessDurability(t *testing.T) {
	p := newNNProcess(t)
	if _, stderr, code := p.run("", "namenode", "-format", "-nonInteractive"); code != 0 {
		t.Fatalf("format: %d\n%s", code, stderr)
	}
	_, stderr, code := p.run("", "namenode", "-format", "-nonInteractive")
	if code != 1 || !strings.Contains(stderr, "Running in non-interactive mode, and data appears to exist in Storage Directory root= ") || !strings.Contains(stderr, "; location= null. Not formatting.") {
		t.Fatalf("second format: %d\n%s", code, stderr)
	}
	_, stderr, code = p.run("N\n", "namenode", "-format")
	if code != 1 || !strings.Contains(stderr, "Re-format filesystem in Storage Directory root= ") || !strings.Contains(stderr, "; location= null ? (Y or N) ") {
		t.Fatalf("format answered N: %d\n%s", code, stderr)
	}

	p.start()
	c, err := rpc.NewClient(rpc.DefaultClientConfig(currentUser()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				d := fmt.Sprintf("/load/g%02d/d%05d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Call(ctx, p.addr, namesystem.ClientProtocol, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(d), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
				cancel()
				if err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, d)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	p.kill9()
	stop.Store(true)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d mkdirs acknowledged before the kill", len(acked))
	}
	p.start()
	check := func(paths []string) {
		t.Helper()
		for _, d := range paths {
			resp := &hdfspb.GetFileInfoResponseProto{}
			if err := c.Call(context.Background(), p.addr, namesystem.ClientProtocol, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(d)}, resp); err != nil {
				t.Fatal(err)
			}
			if resp.Fs == nil {
				t.Fatalf("acknowledged %s lost after kill -9", d)
			}
		}
	}
	check(acked)
	t.Logf("%d acknowledged mkdirs survived kill -9", len(acked))

	// dfsadmin through the binary, then an image round trip.
	out, stderr, code := p.run("", "dfsadmin", "-saveNamespace")
	if code != 255 || stderr != "saveNamespace: Safe mode should be turned ON in order to create namespace image.\n" {
		t.Fatalf("saveNamespace outside safe mode: %d %q %q", code, out, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dfsadmin", "-safemode", "enter"}, "Safe mode is ON\n"},
		{[]string{"dfsadmin", "-safemode", "get"}, "Safe mode is ON\n"},
		{[]string{"dfsadmin", "-saveNamespace"}, "Save namespace successful\n"},
		{[]string{"dfsadmin", "-safemode", "leave"}, "Safe mode is OFF\n"},
		{[]string{"dfsadmin", "-safemode", "wait"}, "Safe mode is OFF\n"},
	} {
		out, stderr, code := p.run("", tc.args...)
		if code != 0 || out != tc.want {
			t.Fatalf("%v: %d %q %q", tc.args, code, out, stderr)
		}
	}
	out, _, code = p.run("", "dfsadmin", "-rollEdits")
	if code != 0 || !strings.HasPrefix(out, "Successfully rolled edit logs.\nNew segment starts at txid ") {
		t.Fatalf("rollEdits: %d %q", code, out)
	}
	p.term()
	p.start()
	check(acked)
	p.term()
}
