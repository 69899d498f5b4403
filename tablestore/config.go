package tablestore

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// Configuration keys. The namespace.ots.* and namespace.backend.* names
// are JindoFS's (its Namespace Service mirrors to Tablestore with them);
// the rocksdb spellings are accepted as aliases of the raft ones.
const (
	KeyOTSInstance     = "namespace.ots.instance"
	KeyOTSEndpoint     = "namespace.ots.endpoint"
	KeyOTSAccessKey    = "namespace.ots.accessKey"
	KeyOTSAccessSecret = "namespace.ots.accessSecret"
	// KeyOTSTable names the Tablestore table (hdfsha's own key).
	KeyOTSTable = "namespace.ots.table"

	KeyOTSEnabled             = "namespace.backend.raft.async.ots.enabled"
	KeyOTSEnabledAlias        = "namespace.backend.rocksdb.async.ots.enabled"
	KeyRecoveryMode           = "namespace.backend.raft.recovery.mode"
	KeyRecoveryModeAlias      = "namespace.backend.rocksdb.recovery.mode"
	KeyMirrorURI              = "namespace.mirror.uri"
	KeyBatchMaxOps            = "namespace.mirror.batch.max-ops"
	KeyBatchMaxBytes          = "namespace.mirror.batch.max-bytes"
	KeyPollInterval           = "namespace.mirror.poll.interval.ms"
	KeyRetryMax               = "namespace.mirror.retry.max.ms"
	KeyLagWarn                = "namespace.mirror.lag.warn.ms"
	DefaultOTSTable           = "hdfsha_mirror"
	DefaultBatchMaxOps        = 1000
	DefaultBatchMaxBytes      = 1 << 20
	DefaultPollInterval       = 5 * time.Millisecond
	DefaultRetryMin           = 100 * time.Millisecond
	DefaultRetryMax           = 30 * time.Second
	DefaultLagWarn            = 10 * time.Second
	maxBatchBytesLimit        = 2 << 20 // one Tablestore cell holds at most 2 MiB
	sinkKindFile, sinkKindOTS = "file", "ots"
)

// OTSConfig is the Tablestore sink's connection.
type OTSConfig struct {
	Instance, Endpoint, AccessKey, AccessSecret, Table string
}

// Config is the mirror's configuration, read by ConfigFromConf.
type Config struct {
	// Kind is "file", "ots" or "" (no sink configured).
	Kind string
	// Dir is the file sink's directory (Kind "file").
	Dir string
	OTS OTSConfig
	// Enabled: the active NameNode ships edits (namespace.mirror.uri set,
	// or namespace.backend.raft.async.ots.enabled=true).
	Enabled bool
	// RecoveryMode: the NameNode loads its namespace from the sink and
	// serves read-only (namespace.backend.raft.recovery.mode).
	RecoveryMode bool

	// BatchMaxOps and BatchMaxBytes bound one shipped batch (and the
	// shipper's memory); PollInterval is how often an idle shipper looks
	// for newly committed edits; RetryMax caps the backoff after a sink
	// or journal error (starting at DefaultRetryMin); LagWarn is the lag
	// above which the shipper logs a warning.
	BatchMaxOps   int
	BatchMaxBytes int
	PollInterval  time.Duration
	RetryMax      time.Duration
	LagWarn       time.Duration
}

// DefaultConfig is a configuration with no sink and default tunables.
func DefaultConfig() Config {
	return Config{BatchMaxOps: DefaultBatchMaxOps, BatchMaxBytes: DefaultBatchMaxBytes, PollInterval: DefaultPollInterval,
		RetryMax: DefaultRetryMax, LagWarn: DefaultLagWarn}
}

// Configured reports whether a sink is configured (shipping or not).
func (c Config) Configured() bool { return c.Kind != "" }

// URI names the sink: file:///dir or ots://instance/table (as Sink.String does).
func (c Config) URI() string {
	switch c.Kind {
	case sinkKindFile:
		return (&url.URL{Scheme: "file", Path: c.Dir}).String()
	case sinkKindOTS:
		return "ots://" + c.OTS.Instance + "/" + c.OTS.Table
	}
	return ""
}

// Validate checks the values (ConfigFromConf calls it).
func (c Config) Validate() error {
	var errs []error
	if c.BatchMaxOps < 1 {
		errs = append(errs, fmt.Errorf("%s must be at least 1, not %d", KeyBatchMaxOps, c.BatchMaxOps))
	}
	if c.BatchMaxBytes < 1024 || c.BatchMaxBytes > maxBatchBytesLimit {
		errs = append(errs, fmt.Errorf("%s must be between 1k and 2m, not %d", KeyBatchMaxBytes, c.BatchMaxBytes))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("%s must be positive", KeyPollInterval))
	}
	if c.RetryMax < DefaultRetryMin {
		errs = append(errs, fmt.Errorf("%s must be at least %d", KeyRetryMax, DefaultRetryMin.Milliseconds()))
	}
	if (c.Enabled || c.RecoveryMode) && c.Kind == "" {
		errs = append(errs, fmt.Errorf("no mirror sink: set %s or %s, %s, %s and %s", KeyMirrorURI, KeyOTSInstance, KeyOTSEndpoint, KeyOTSAccessKey, KeyOTSAccessSecret))
	}
	if c.Kind == sinkKindOTS {
		for _, kv := range [][2]string{{KeyOTSInstance, c.OTS.Instance}, {KeyOTSEndpoint, c.OTS.Endpoint}, {KeyOTSAccessKey, c.OTS.AccessKey}, {KeyOTSAccessSecret, c.OTS.AccessSecret}} {
			if kv[1] == "" {
				errs = append(errs, fmt.Errorf("the Tablestore mirror needs %s", kv[0]))
			}
		}
	}
	return errors.Join(errs...)
}

// boolWithAlias reads key, or alias when key is unset.
func boolWithAlias(c *conf.Conf, key, alias string) (bool, error) {
	if _, ok := c.Get(key); ok {
		return c.GetBool(key, false)
	}
	return c.GetBool(alias, false)
}

// ConfigFromConf reads the mirror keys. namespace.mirror.uri (file:///dir)
// and the Tablestore keys are exclusive: a NameNode mirrors to one sink.
func ConfigFromConf(c *conf.Conf) (Config, error) {
	cfg := DefaultConfig()
	var errs []error
	otsOn, err := boolWithAlias(c, KeyOTSEnabled, KeyOTSEnabledAlias)
	errs = append(errs, err)
	cfg.RecoveryMode, err = boolWithAlias(c, KeyRecoveryMode, KeyRecoveryModeAlias)
	errs = append(errs, err)
	cfg.OTS = OTSConfig{
		Instance: c.GetTrimmed(KeyOTSInstance, ""), Endpoint: c.GetTrimmed(KeyOTSEndpoint, ""),
		AccessKey: c.GetTrimmed(KeyOTSAccessKey, ""), AccessSecret: c.GetTrimmed(KeyOTSAccessSecret, ""),
		Table: c.GetTrimmed(KeyOTSTable, DefaultOTSTable),
	}
	uri := c.GetTrimmed(KeyMirrorURI, "")
	switch {
	case uri != "" && otsOn:
		errs = append(errs, fmt.Errorf("%s and %s are both set: choose one sink", KeyMirrorURI, KeyOTSEnabled))
	case uri != "":
		dir, err := parseFileURI(uri)
		errs = append(errs, err)
		cfg.Kind, cfg.Dir, cfg.Enabled = sinkKindFile, dir, true
	case otsOn || cfg.OTS.Instance != "":
		cfg.Kind, cfg.Enabled = sinkKindOTS, otsOn
	}
	geti := func(key string, def int64) int {
		v, err := c.GetInt(key, def)
		errs = append(errs, err)
		return int(v)
	}
	cfg.BatchMaxOps = geti(KeyBatchMaxOps, DefaultBatchMaxOps)
	sz, err := c.GetSize(KeyBatchMaxBytes, DefaultBatchMaxBytes)
	errs = append(errs, err)
	cfg.BatchMaxBytes = int(sz)
	cfg.PollInterval = time.Duration(geti(KeyPollInterval, DefaultPollInterval.Milliseconds())) * time.Millisecond
	cfg.RetryMax = time.Duration(geti(KeyRetryMax, DefaultRetryMax.Milliseconds())) * time.Millisecond
	cfg.LagWarn = time.Duration(geti(KeyLagWarn, DefaultLagWarn.Milliseconds())) * time.Millisecond
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("mirror: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("mirror: %w", err)
	}
	return cfg, nil
}

// parseFileURI accepts file:///abs/dir (the only non-Tablestore sink).
func parseFileURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", KeyMirrorURI, uri, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("%s %q: unsupported scheme %q (file:///dir is supported; Tablestore is configured with the namespace.ots.* keys)", KeyMirrorURI, uri, u.Scheme)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%s %q: a file URI names a local directory (file:///dir), not host %q", KeyMirrorURI, uri, u.Host)
	}
	if u.Path == "" || !filepath.IsAbs(u.Path) || strings.Contains(u.Path, "\x00") {
		return "", fmt.Errorf("%s %q: need an absolute directory, as in file:///mnt/mirror", KeyMirrorURI, uri)
	}
	return filepath.Clean(u.Path), nil
}
