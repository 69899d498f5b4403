package zkfc

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/zkfc/elector"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

func testConf(t *testing.T, kv ...string) *conf.Conf {
	t.Helper()
	c := conf.New()
	base := []string{
		"fs.defaultFS", "hdfs://mycluster",
		"dfs.nameservices", "mycluster",
		"dfs.ha.namenodes.mycluster", "nn1,nn2",
		"dfs.namenode.rpc-address.mycluster.nn1", "127.0.0.2:8020",
		"dfs.namenode.rpc-address.mycluster.nn2", "127.0.0.3:8020",
		"dfs.ha.automatic-failover.enabled", "true",
		"dfs.ha.fencing.methods", "shell(true)",
		"ha.zookeeper.quorum", "zk1:2181,zk2",
	}
	kv = append(base, kv...)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

func TestConfigFromConf(t *testing.T) {
	cfg, err := ConfigFromConf(testConf(t,
		"dfs.ha.zkfc.port.mycluster.nn2", "18019",
		"ha.zookeeper.session-timeout.ms", "3000",
		"ha.failover-controller.graceful-fence.rpc-timeout.ms", "1500",
		"ha.health-monitor.check-interval.ms", "200",
	), "mycluster", "nn1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Target.NameNodeID != "nn1" || cfg.Target.Address != "127.0.0.2:8020" {
		t.Fatalf("target %+v", cfg.Target)
	}
	if len(cfg.Others) != 1 || cfg.Others[0].NameNodeID != "nn2" || cfg.Others[0].ZKFCAddress != "127.0.0.3:18019" {
		t.Fatalf("others %+v", cfg.Others)
	}
	if cfg.RPC.Addr != "127.0.0.2:8019" {
		t.Fatalf("ZKFC address %q, want Hadoop's default port on the NameNode's host", cfg.RPC.Addr)
	}
	if cfg.ZK.SessionTimeout != 3*time.Second || cfg.ZK.WorkingZNode != "/hadoop-ha/mycluster" || len(cfg.ZK.Quorum) != 2 {
		t.Fatalf("zk %+v", cfg.ZK)
	}
	if cfg.GracefulFenceTimeout != 1500*time.Millisecond || cfg.NewActiveTimeout != 60*time.Second {
		t.Fatalf("timeouts %v %v", cfg.GracefulFenceTimeout, cfg.NewActiveTimeout)
	}
	if cfg.Health.CheckInterval != 200*time.Millisecond {
		t.Fatalf("health %+v", cfg.Health)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	if _, err := ConfigFromConf(testConf(t, "ha.zookeeper.quorum", ""), "mycluster", "nn1"); !errors.Is(err, zkutil.ErrBadConfig) {
		t.Fatalf("no quorum: %v", err)
	}
	if _, err := ConfigFromConf(testConf(t), "mycluster", "nn9"); err == nil {
		t.Fatal("unknown NameNode accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New accepted an empty Config")
	}
}

func TestCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want elector.Code
	}{
		{nil, elector.CodeOK},
		{zk.ErrNodeExists, elector.CodeNodeExists},
		{fmt.Errorf("create: %w", zk.ErrNoNode), elector.CodeNoNode},
		{zk.ErrBadVersion, elector.CodeBadVersion},
		{zk.ErrSessionExpired, elector.CodeSessionExpired},
		{zk.ErrConnectionClosed, elector.CodeConnectionLoss},
		{zk.ErrNoServer, elector.CodeConnectionLoss},
		{zk.ErrClosing, elector.CodeConnectionLoss},
		{zk.ErrNoAuth, elector.CodeOther},
	} {
		if got := codeOf(tc.err); got != tc.want {
			t.Errorf("codeOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestQueueKeepsOrder(t *testing.T) {
	q := newQueue()
	stop := make(chan struct{})
	for i := range 100 {
		q.push(elector.Action{Seq: uint64(i)})
	}
	for i := range 100 {
		a, ok := q.pop(stop)
		if !ok || a.Seq != uint64(i) {
			t.Fatalf("pop %d: %v %v", i, a.Seq, ok)
		}
	}
	close(stop)
	if _, ok := q.pop(stop); ok {
		t.Fatal("pop after stop")
	}
}
