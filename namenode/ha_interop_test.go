package namenode

import (
	"strings"
	"testing"

	"github.com/colinmarc/hdfs/v2"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// TestHAColinmarcFailover: github.com/colinmarc/hdfs/v2, given both
// NameNodes, sees StandbyException while both are standby and fails over
// to whichever is active, before and after a failover.
func TestHAColinmarcFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHACluster(t, nil)
	newClient := func() *hdfs.Client {
		c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{h.nns[0].RPCAddress(), h.nns[1].RPCAddress()}, User: "hdfs"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if _, err := newClient().Stat("/"); err == nil || !strings.Contains(err.Error(), "StandbyException") {
		t.Fatalf("Stat with both NameNodes standby: %v", err)
	}
	h.toActive(1)
	// A fresh client: the first one backs off from NameNodes that failed.
	c := newClient()
	if err := c.MkdirAll("/interop/a", 0o755); err != nil {
		t.Fatal(err)
	}
	h.toStandby(1)
	h.toActive(0)
	// colinmarc backs off from a NameNode that failed for seconds; a new
	// client (nn1 first in its list) shows the failover.
	fi, err := newClient().Stat("/interop/a")
	if err != nil || !fi.IsDir() {
		t.Fatalf("Stat after failover: %v", err)
	}
}
