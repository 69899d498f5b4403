package tablestore

import (
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
)

func confOf(kv ...string) *conf.Conf {
	c := conf.New()
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

func TestConfigNoSink(t *testing.T) {
	cfg, err := ConfigFromConf(confOf())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Configured() || cfg.Enabled || cfg.RecoveryMode || cfg.URI() != "" {
		t.Fatalf("empty configuration configured a mirror: %+v", cfg)
	}
	if cfg.BatchMaxOps != DefaultBatchMaxOps || cfg.BatchMaxBytes != DefaultBatchMaxBytes || cfg.PollInterval != DefaultPollInterval || cfg.RetryMax != DefaultRetryMax {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestConfigFileURI(t *testing.T) {
	cfg, err := ConfigFromConf(confOf(KeyMirrorURI, "file:///mnt/mirror/", KeyBatchMaxOps, "50", KeyPollInterval, "20"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kind != "file" || cfg.Dir != "/mnt/mirror" || !cfg.Enabled || cfg.URI() != "file:///mnt/mirror" {
		t.Fatalf("file sink: %+v", cfg)
	}
	if cfg.BatchMaxOps != 50 || cfg.PollInterval != 20*time.Millisecond {
		t.Fatalf("tunables: %+v", cfg)
	}
}

func TestConfigOTSKeysAndAliases(t *testing.T) {
	ots := []string{KeyOTSInstance, "inst", KeyOTSEndpoint, "https://inst.example", KeyOTSAccessKey, "ak", KeyOTSAccessSecret, "sk"}
	for _, key := range []string{KeyOTSEnabled, KeyOTSEnabledAlias} {
		cfg, err := ConfigFromConf(confOf(append(ots, key, "true")...))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if cfg.Kind != "ots" || !cfg.Enabled || cfg.OTS.Instance != "inst" || cfg.OTS.Table != DefaultOTSTable || cfg.URI() != "ots://inst/"+DefaultOTSTable {
			t.Fatalf("%s: %+v", key, cfg)
		}
	}
	// The raft key wins over its rocksdb alias.
	cfg, err := ConfigFromConf(confOf(append(ots, KeyOTSEnabled, "false", KeyOTSEnabledAlias, "true")...))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Enabled {
		t.Fatal("namespace.backend.raft.async.ots.enabled=false lost to its alias")
	}
	// Configured but not shipping: recovery mode may still read it.
	if !cfg.Configured() {
		t.Fatal("OTS keys without the enable flag should still configure the sink for recovery")
	}
	for _, key := range []string{KeyRecoveryMode, KeyRecoveryModeAlias} {
		cfg, err := ConfigFromConf(confOf(append(ots, key, "true")...))
		if err != nil || !cfg.RecoveryMode || cfg.Enabled {
			t.Fatalf("%s: %+v %v", key, cfg, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{KeyMirrorURI, "hdfs://nn/x"}, "unsupported scheme"},
		{[]string{KeyMirrorURI, "file://otherhost/x"}, "not host"},
		{[]string{KeyMirrorURI, "file:relative"}, "absolute"},
		{[]string{KeyMirrorURI, "file:///m", KeyOTSEnabled, "true"}, "choose one sink"},
		{[]string{KeyOTSEnabled, "true"}, KeyOTSInstance},
		{[]string{KeyOTSEnabled, "true", KeyOTSInstance, "i"}, KeyOTSAccessSecret},
		{[]string{KeyRecoveryMode, "true"}, "no mirror sink"},
		{[]string{KeyOTSEnabled, "maybe"}, KeyOTSEnabled},
		{[]string{KeyMirrorURI, "file:///m", KeyBatchMaxOps, "0"}, KeyBatchMaxOps},
		{[]string{KeyMirrorURI, "file:///m", KeyBatchMaxBytes, "64m"}, KeyBatchMaxBytes},
		{[]string{KeyMirrorURI, "file:///m", KeyRetryMax, "1"}, KeyRetryMax},
	} {
		_, err := ConfigFromConf(confOf(tc.kv...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", tc.kv, err, tc.want)
		}
	}
}
