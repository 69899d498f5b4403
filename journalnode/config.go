package journalnode

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// Configuration keys the JournalNode reads (Hadoop's names and defaults).
const (
	KeyEditsDir    = "dfs.journalnode.edits.dir"             // default /tmp/hadoop/dfs/journalnode/
	KeyRPCAddress  = "dfs.journalnode.rpc-address"           // default 0.0.0.0:8485
	KeyHTTPAddress = "dfs.journalnode.http-address"          // default 0.0.0.0:8480
	KeyCacheBytes  = "dfs.journalnode.edit-cache-size.bytes" // default 1048576
)

// Config configures a JournalNode. ConfigFromConf reads it from Hadoop
// configuration; Validate (called by New) checks it.
type Config struct {
	// EditsDir is dfs.journalnode.edits.dir: an absolute path holding one
	// subdirectory per journal id.
	EditsDir string
	// RPCAddress is host:port for QJournalProtocol; port 0 picks one.
	RPCAddress string
	// HTTPAddress is host:port for segment transfer; port 0 picks one.
	HTTPAddress string
	// CacheBytes bounds each journal's in-memory edit cache that serves
	// getJournaledEdits (dfs.journalnode.edit-cache-size.bytes); 0
	// disables it.
	CacheBytes int64
	// FS is the filesystem; nil means vfs.Default. The directory lock
	// (in_use.lock) is taken only on vfs.Default.
	FS vfs.FS
	// Logger receives the daemon's logs; nil logs nothing.
	Logger *zap.Logger
}

// ConfigFromConf reads a Config from Hadoop configuration.
func ConfigFromConf(c *conf.Conf) (Config, error) {
	cfg := Config{
		EditsDir:    c.GetTrimmed(KeyEditsDir, ""),
		RPCAddress:  c.GetTrimmed(KeyRPCAddress, ""),
		HTTPAddress: c.GetTrimmed(KeyHTTPAddress, ""),
	}
	n, err := c.GetSize(KeyCacheBytes, 1<<20)
	if err != nil {
		return Config{}, err
	}
	cfg.CacheBytes = n
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	if c.EditsDir == "" {
		return fmt.Errorf("journalnode: %s is not set", KeyEditsDir)
	}
	if !filepath.IsAbs(c.EditsDir) {
		// Hadoop's JournalNode.validateAndCreateJournalDir.
		return fmt.Errorf("journalnode: %s: Journal dir '%s' should be an absolute path", KeyEditsDir, c.EditsDir)
	}
	for _, a := range []struct{ key, val string }{{KeyRPCAddress, c.RPCAddress}, {KeyHTTPAddress, c.HTTPAddress}} {
		if err := checkHostPort(a.val); err != nil {
			return fmt.Errorf("journalnode: %s: %w", a.key, err)
		}
	}
	if c.CacheBytes < 0 {
		return fmt.Errorf("journalnode: %s: %d must not be negative", KeyCacheBytes, c.CacheBytes)
	}
	return nil
}

func checkHostPort(addr string) error {
	if addr == "" {
		return fmt.Errorf("address is empty")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("bad port in address %q", addr)
	}
	return nil
}
