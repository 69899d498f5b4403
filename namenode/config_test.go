package namenode

import (
	"time"

	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
)

func TestParseUmask(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{{"022", 0o022}, {"077", 0o077}, {"0002", 0o002}, {"u=rwx,g=rx,o=rx", 0o022}, {"u=rwx,g=,o=", 0o077}, {"a=rwx", 0}} {
		got, err := parseUmask(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseUmask(%q) = %o, %v; want %o", c.in, got, err, c.want)
		}
	}
	if _, err := parseUmask("bogus"); err == nil {
		t.Error("parseUmask(bogus) succeeded")
	}
}

func TestConfigFromConf(t *testing.T) {
	c := conf.New()
	c.Set("fs.defaultFS", "hdfs://nn.example:8020")
	c.Set("dfs.namenode.name.dir", "file:///data/nn,/data/nn2")
	c.Set("fs.permissions.umask-mode", "027")
	c.Set("dfs.namenode.handler.count", "64")
	c.Set("dfs.permissions.enabled", "false")
	c.Set("dfs.blocksize", "64m")
	cfg, err := ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NameDir != "/data/nn" || cfg.RPCAddress != "nn.example:8020" || cfg.Umask != 0o027 || cfg.HandlerCount != 64 ||
		cfg.PermissionsEnabled || cfg.Defaults.BlockSize != 64<<20 || cfg.Defaults.BytesPerChecksum != 512 || cfg.CheckpointsRetained != 2 {
		t.Errorf("config = %+v", cfg)
	}
	// The tail-edits keys default to this project's values, not Hadoop's
	// (the compiled-in defaults table must not shadow them).
	if cfg.TailPeriod != DefaultTailPeriod || cfg.TailBackoffMax != DefaultTailBackoffMax || !cfg.TailInProgress {
		t.Errorf("tail-edits defaults: period %v, backoff max %v, in-progress %v", cfg.TailPeriod, cfg.TailBackoffMax, cfg.TailInProgress)
	}
	if cfg.HardLimit != 0 { // unset: namesystem's 1 h
		t.Errorf("lease hard limit %v without dfs.namenode.lease-hard-limit-sec", cfg.HardLimit)
	}
	c.Set("dfs.namenode.lease-hard-limit-sec", "1200")
	if cfg, err := ConfigFromConf(c, "", ""); err != nil || cfg.HardLimit != 20*time.Minute {
		t.Errorf("dfs.namenode.lease-hard-limit-sec=1200: hard limit %v, %v", cfg.HardLimit, err)
	}
	c.Set("dfs.namenode.name.dir", "hdfs://x/y")
	if _, err := ConfigFromConf(c, "", ""); err == nil {
		t.Error("non-file name dir accepted")
	}
}
