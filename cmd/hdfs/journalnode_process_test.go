//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// TestJournalNodeProcess builds the real binary, runs `hdfs journalnode` with its
// addresses and directory given by -D, formats a journal through it, and stops it with
// SIGTERM: it must exit 0. A second process on the same directory must refuse to start.
func TestJournalNodeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hdfs binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "hdfs")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	editsDir := t.TempDir()
	rpcAddr := testcluster.ReserveAddr(t, "127.0.0.1")
	args := []string{"journalnode",
		"-D", "dfs.journalnode.edits.dir=" + editsDir,
		"-D", "dfs.journalnode.rpc-address=" + rpcAddr,
		"-D", "dfs.journalnode.http-address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	jid := &qjournalpb.JournalIdProto{Identifier: proto.String("mycluster")}
	ns := &qjournalpb.FormatRequestProto{Jid: jid, NsInfo: testNamespace()}
	// Poll until it serves; the bound only guards against hanging.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err = c.Call(context.Background(), rpcAddr, journalnode.Protocol, "format", ns, &qjournalpb.FormatResponseProto{})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("format through the process: %v\nstderr: %s", err, stderr.String())
	}

	// A second JournalNode on the same directory refuses to start.
	second := exec.Command(bin, "journalnode",
		"-D", "dfs.journalnode.edits.dir="+editsDir,
		"-D", "dfs.journalnode.rpc-address=127.0.0.1:0",
		"-D", "dfs.journalnode.http-address=127.0.0.1:0")
	second.Env = cmd.Env
	out, err := second.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "The directory is already locked") {
		t.Fatalf("second JournalNode: %v\n%s", err, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr: %s", err, stderr.String())
	}
	exited <- nil // for the cleanup
	if !strings.Contains(stderr.String(), "JournalNode stopped") {
		t.Fatalf("stderr: %s", stderr.String())
	}
}

func testNamespace() *hdfspb.NamespaceInfoProto {
	return &hdfspb.NamespaceInfoProto{
		BuildVersion:    proto.String("test"),
		Unused:          proto.Uint32(0),
		BlockPoolID:     proto.String("BP-1"),
		SoftwareVersion: proto.String("3.3.6"),
		StorageInfo: &hdfspb.StorageInfoProto{
			LayoutVersion: proto.Uint32(uint32(0xffffffc2)),
			NamespceID:    proto.Uint32(4242),
			ClusterID:     proto.String("CID-test"),
			CTime:         proto.Uint64(0),
		},
	}
}
