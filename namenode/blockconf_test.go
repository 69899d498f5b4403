package namenode

import (
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// TestBlockManagerConfig: the block manager's keys, Hadoop's defaults
// (hdfs-default.xml's "0.999f" included) and overrides.
func TestBlockManagerConfig(t *testing.T) {
	c := conf.New()
	c.Set("fs.defaultFS", "hdfs://nn.example:8020")
	c.Set("dfs.namenode.name.dir", "/data/nn")
	cfg, err := ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Blocks
	if b.DeadInterval() != 10*time.Minute+30*time.Second || b.SafeModeThresholdPct != 0.999 || b.SafeModeExtension != 30*time.Second ||
		b.MaxReplicationStreams != 2 || b.ReplicationStreamsHardLimit != 4 || b.InvalidateLimit != 1000 || b.PendingReconstructionTimeout != 300*time.Second ||
		b.RecoveryTimeout != 90*time.Second || cfg.RedundancyInterval != 3*time.Second || b.ResolveRack != nil {
		t.Errorf("defaults: %+v, redundancy interval %v", b, cfg.RedundancyInterval)
	}
	c.Set("dfs.heartbeat.interval", "1")
	c.Set("dfs.namenode.heartbeat.recheck-interval", "1000")
	c.Set("dfs.namenode.safemode.threshold-pct", "0.5f")
	c.Set("dfs.namenode.safemode.extension", "0")
	c.Set("dfs.namenode.redundancy.interval.seconds", "1")
	c.Set("net.topology.script.file.name", "/bin/true")
	cfg, err = ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	b = cfg.Blocks
	if b.DeadInterval() != 12*time.Second || b.SafeModeThresholdPct != 0.5 || b.SafeModeExtension != 0 || cfg.RedundancyInterval != time.Second || b.ResolveRack == nil {
		t.Errorf("overrides: %+v, redundancy interval %v", b, cfg.RedundancyInterval)
	}
	c.Set("dfs.namenode.safemode.threshold-pct", "most")
	if _, err := ConfigFromConf(c, "", ""); err == nil {
		t.Error("a threshold that is no number was accepted")
	}
}
