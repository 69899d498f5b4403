//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

type nnProcess struct {
	t      *testing.T
	bin    string
	conf   []string
	addr   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	exited chan error
}

func buildHDFS(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the hdfs binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "hdfs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func (p *nnProcess) run(stdin string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(p.bin, append(append([]string{args[0]}, p.conf...), args[1:]...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HADOOP_USER_NAME=" + currentUser()}
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func currentUser() string { return benchUser() }

func (p *nnProcess) start() {
	cmd := exec.Command(p.bin, append([]string{"namenode"}, p.conf...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	p.stderr = &bytes.Buffer{}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	c, _ := rpc.NewClient(rpc.DefaultClientConfig(currentUser()))
	defer c.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := c.Call(context.Background(), p.addr, namesystem.ClientProtocol, "msync", &hdfspb.MsyncRequestProto{}, &hdfspb.MsyncResponseProto{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("NameNode does not serve: %v\nstderr: %s", err, p.stderr)
		}
	}
}

func (p *nnProcess) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

func (p *nnProcess) term() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		p.t.Fatalf("exit after SIGTERM: %v\nstderr: %s", err, p.stderr)
	}
	p.cmd = nil
}

func newNNProcess(t *testing.T) *nnProcess {
	dir := t.TempDir()
	addr := testcluster.ReserveAddr(t, "127.0.0.1")
	p := &nnProcess{t: t, bin: buildHDFS(t), addr: addr, conf: []string{
		"-D", "dfs.namenode.name.dir=file://" + dir,
		"-D", "dfs.namenode.rpc-address=" + addr,
		"-D", "dfs.namenode.http-address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "fs.defaultFS=hdfs://" + addr,
	}}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill9()
		}
	})
	return p
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
