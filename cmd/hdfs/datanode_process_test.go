//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestDataNodeProcess runs the real binary's `hdfs datanode` against an in-process
// NameNode: it registers, a second DataNode on the same directory refuses to start,
// after kill -9 a restart on the same directory comes back as the same DataNode, and
// SIGTERM ends it with 0.
func TestDataNodeProcess(t *testing.T) {
	testcluster.CheckLeaks(t)
	nnAddr := startTestNameNode(t)
	bin := buildHDFS(t)
	dataDir := t.TempDir()
	args := []string{"datanode",
		"-D", "fs.defaultFS=hdfs://" + nnAddr,
		"-D", "dfs.datanode.data.dir=" + dataDir,
		"-D", "dfs.datanode.address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "dfs.datanode.ipc.address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "dfs.datanode.http.address=" + testcluster.ReserveAddr(t, "127.0.0.1"),
		"-D", "dfs.heartbeat.interval=100ms",
	}
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	liveUUIDs := func() ([]string, error) {
		var r hdfspb.GetDatanodeReportResponseProto
		if err := c.Call(context.Background(), nnAddr, namesystem.ClientProtocol, "getDatanodeReport",
			&hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r); err != nil {
			return nil, err
		}
		var ids []string
		for _, d := range r.GetDi() {
			ids = append(ids, d.GetId().GetDatanodeUuid())
		}
		return ids, nil
	}
	var first string
	oneLive := func() error {
		ids, err := liveUUIDs()
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("%d live DataNodes", len(ids))
		}
		if first == "" {
			first = ids[0]
		} else if ids[0] != first {
			return fmt.Errorf("DataNode %s registered, want %s", ids[0], first)
		}
		return nil
	}

	dn := startDaemon(t, "datanode", bin, processEnv(), args...)
	dn.waitFor("registration", oneLive)

	_, errOut, code := runBinary(t, bin, processEnv(), "", "datanode",
		"-D", "fs.defaultFS=hdfs://"+nnAddr, "-D", "dfs.datanode.data.dir="+dataDir,
		"-D", "dfs.datanode.address=127.0.0.1:0", "-D", "dfs.datanode.ipc.address=127.0.0.1:0", "-D", "dfs.datanode.http.address=127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "locked") {
		t.Fatalf("second DataNode on the same directory: exit %d\n%s", code, errOut)
	}

	dn.kill9()
	dn = startDaemon(t, "datanode", bin, processEnv(), args...)
	dn.waitFor("re-registration of the same DataNode", func() error {
		if err := oneLive(); err != nil {
			return err
		}
		if !strings.Contains(dn.stderr.String(), "registered with NameNode") {
			return errors.New("not registered yet")
		}
		return nil
	})
	dn.term()
	if !strings.Contains(dn.stderr.String(), "DataNode stopped") {
		t.Fatalf("stderr: %s", dn.stderr.String())
	}
}
