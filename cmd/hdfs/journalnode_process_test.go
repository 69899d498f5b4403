//go:build unix

package main

import (
	"context"
	"strings"
	"testing"

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
	bin := buildHDFS(t)
	editsDir := t.TempDir()
	rpcAddr := testcluster.ReserveAddr(t, "127.0.0.1")
	jn := startDaemon(t, "journalnode", bin, processEnv(), "journalnode",
		"-D", "dfs.journalnode.edits.dir="+editsDir,
		"-D", "dfs.journalnode.rpc-address="+rpcAddr,
		"-D", "dfs.journalnode.http-address="+testcluster.ReserveAddr(t, "127.0.0.1"),
	)

	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	jid := &qjournalpb.JournalIdProto{Identifier: proto.String("mycluster")}
	ns := &qjournalpb.FormatRequestProto{Jid: jid, NsInfo: testNamespace()}
	jn.waitFor("format through the process", func() error {
		return c.Call(context.Background(), rpcAddr, journalnode.Protocol, "format", ns, &qjournalpb.FormatResponseProto{})
	})

	// A second JournalNode on the same directory refuses to start.
	_, errOut, code := runBinary(t, bin, processEnv(), "", "journalnode",
		"-D", "dfs.journalnode.edits.dir="+editsDir,
		"-D", "dfs.journalnode.rpc-address=127.0.0.1:0",
		"-D", "dfs.journalnode.http-address=127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "The directory is already locked") {
		t.Fatalf("second JournalNode: exit %d\n%s", code, errOut)
	}

	jn.term()
	if !strings.Contains(jn.stderr.String(), "JournalNode stopped") {
		t.Fatalf("stderr: %s", jn.stderr)
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
