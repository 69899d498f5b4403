package datanode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// Configuration keys the DataNode reads (Hadoop's names; defaults in
// internal/conf).
const (
	KeyDataDir             = "dfs.datanode.data.dir"               // file://${hadoop.tmp.dir}/dfs/data
	KeyAddress             = "dfs.datanode.address"                // 0.0.0.0:9866
	KeyIPCAddress          = "dfs.datanode.ipc.address"            // 0.0.0.0:9867
	KeyHTTPAddress         = "dfs.datanode.http.address"           // 0.0.0.0:9864
	KeyHostname            = "dfs.datanode.hostname"               // unset: the host's name
	KeyHeartbeatInterval   = "dfs.heartbeat.interval"              // 3s
	KeyBlockReportInterval = "dfs.blockreport.intervalMsec"        // 21600000 (6 h)
	KeyBlockReportDelay    = "dfs.blockreport.initialDelay"        // 0s
	KeyMaxTransferThreads  = "dfs.datanode.max.transfer.threads"   // 4096
	KeyHandlerCount        = "dfs.datanode.handler.count"          // 10
	KeyBytesPerChecksum    = "dfs.bytes-per-checksum"              // 512
	KeySocketTimeout       = "dfs.client.socket-timeout"           // 60000 ms
	KeySocketWriteTimeout  = "dfs.datanode.socket.write.timeout"   // 480000 ms
	KeyUseHostname         = "dfs.datanode.use.datanode.hostname"  // false
	KeySyncOnClose         = "dfs.datanode.synconclose"            // true here (Hadoop: false)
	KeyDUReserved          = "dfs.datanode.du.reserved"            // 0
	KeySocketKeepalive     = "dfs.datanode.socket.reuse.keepalive" // 4000 ms
)

// NameNodeAddr is one NameNode of the nameservice the DataNode serves.
type NameNodeAddr struct {
	// ID is the NameNode id (nn1); empty for a non-HA cluster.
	ID string
	// Addr is the service RPC address (host:port) DataNodes talk to.
	Addr string
}

// Config configures a DataNode. ConfigFromConf reads it from Hadoop
// configuration; Validate (called by New) checks it.
type Config struct {
	// DataDirs are the local directories of dfs.datanode.data.dir (absolute
	// paths; file:// URIs and [DISK]-style storage type prefixes stripped).
	DataDirs []string
	// Address is dfs.datanode.address (DataTransferProtocol); port 0 picks one.
	Address string
	// IPCAddress is dfs.datanode.ipc.address (InterDatanodeProtocol,
	// ClientDatanodeProtocol); port 0 picks one.
	IPCAddress string
	// HTTPAddress is dfs.datanode.http.address (/jmx, /metrics); port 0
	// picks one.
	HTTPAddress string
	// Hostname is dfs.datanode.hostname, else the host's name. It is sent
	// in the registration; the IP address the NameNode records is the
	// address the registration came from.
	Hostname string
	// NameNodes are the NameNodes of the nameservice, one service actor each.
	NameNodes []NameNodeAddr
	// Nameservice is the nameservice served ("" for a non-HA cluster).
	Nameservice string

	// HeartbeatInterval is dfs.heartbeat.interval.
	HeartbeatInterval time.Duration
	// BlockReportInterval is dfs.blockreport.intervalMsec.
	BlockReportInterval time.Duration
	// BlockReportInitialDelay is dfs.blockreport.initialDelay: the first
	// full report after registration waits a random time below it (0: at
	// once).
	BlockReportInitialDelay time.Duration
	// MaxTransferThreads is dfs.datanode.max.transfer.threads: the most
	// concurrent data transfer connections.
	MaxTransferThreads int
	// HandlerCount is dfs.datanode.handler.count (IPC handlers).
	HandlerCount int
	// BytesPerChecksum is dfs.bytes-per-checksum, for new replicas.
	BytesPerChecksum int
	// SocketTimeout is dfs.client.socket-timeout: how long a read from a
	// peer may block (client, upstream or downstream DataNode).
	SocketTimeout time.Duration
	// SocketWriteTimeout is dfs.datanode.socket.write.timeout.
	SocketWriteTimeout time.Duration
	// SocketKeepalive is dfs.datanode.socket.reuse.keepalive: how long a
	// connection that finished a read waits for the client's next request.
	SocketKeepalive time.Duration
	// UseHostname is dfs.datanode.use.datanode.hostname: connect to other
	// DataNodes by host name rather than IP.
	UseHostname bool
	// SyncOnClose is dfs.datanode.synconclose: fsync a replica's files when
	// it is finalized, before the last packet is acknowledged (true by
	// default here; Hadoop's default is false).
	SyncOnClose bool
	// DUReserved is dfs.datanode.du.reserved: bytes per volume kept for
	// non-HDFS use.
	DUReserved int64
	// RetryInterval is the first wait after a failed call to a NameNode
	// (doubling up to HeartbeatInterval × 10); 0 means one second.
	RetryInterval time.Duration
	// User is the user the DataNode calls NameNodes as; "" means the
	// process user.
	User string

	// Dial opens data transfer connections to other DataNodes (mirrors,
	// transfers); nil uses a net.Dialer. Tests inject failures with it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Logger receives the daemon's logs; nil logs nothing.
	Logger *zap.Logger
}

// ConfigFromConf reads a Config from Hadoop configuration. The NameNodes are
// those of the default nameservice (fs.defaultFS=hdfs://<ns>,
// dfs.nameservice.id, or the only one), or the single NameNode of a
// non-HA cluster (dfs.namenode.rpc-address or fs.defaultFS).
func ConfigFromConf(c *conf.Conf) (Config, error) {
	cfg := Config{
		Address:     c.GetTrimmed(KeyAddress, "0.0.0.0:9866"),
		IPCAddress:  c.GetTrimmed(KeyIPCAddress, "0.0.0.0:9867"),
		HTTPAddress: c.GetTrimmed(KeyHTTPAddress, "0.0.0.0:9864"),
		Hostname:    c.GetTrimmed(KeyHostname, ""),
	}
	for _, d := range c.GetStrings(KeyDataDir) {
		p, err := dataDirPath(d)
		if err != nil {
			return Config{}, fmt.Errorf("datanode: %s: %w", KeyDataDir, err)
		}
		cfg.DataDirs = append(cfg.DataDirs, p)
	}
	var err error
	durs := []struct {
		key  string
		unit time.Duration
		def  time.Duration
		dst  *time.Duration
	}{
		{KeyHeartbeatInterval, time.Second, 3 * time.Second, &cfg.HeartbeatInterval},
		{KeyBlockReportInterval, time.Millisecond, 6 * time.Hour, &cfg.BlockReportInterval},
		{KeyBlockReportDelay, time.Second, 0, &cfg.BlockReportInitialDelay},
		{KeySocketTimeout, time.Millisecond, 60 * time.Second, &cfg.SocketTimeout},
		{KeySocketWriteTimeout, time.Millisecond, 480 * time.Second, &cfg.SocketWriteTimeout},
		{KeySocketKeepalive, time.Millisecond, 4 * time.Second, &cfg.SocketKeepalive},
	}
	for _, d := range durs {
		if *d.dst, err = c.GetDuration(d.key, d.unit, d.def); err != nil {
			return Config{}, err
		}
	}
	ints := []struct {
		key string
		def int64
		dst *int
	}{
		{KeyMaxTransferThreads, 4096, &cfg.MaxTransferThreads},
		{KeyHandlerCount, 10, &cfg.HandlerCount},
		{KeyBytesPerChecksum, 512, &cfg.BytesPerChecksum},
	}
	for _, i := range ints {
		n, err := c.GetInt(i.key, i.def)
		if err != nil {
			return Config{}, err
		}
		*i.dst = int(n)
	}
	if cfg.UseHostname, err = c.GetBool(KeyUseHostname, false); err != nil {
		return Config{}, err
	}
	if cfg.SyncOnClose, err = c.GetBool(KeySyncOnClose, true); err != nil {
		return Config{}, err
	}
	if cfg.DUReserved, err = c.GetSize(KeyDUReserved, 0); err != nil {
		return Config{}, err
	}
	nns, err := nameNodesOf(c)
	if err != nil {
		return Config{}, err
	}
	for _, nn := range nns {
		cfg.Nameservice = nn.Nameservice
		cfg.NameNodes = append(cfg.NameNodes, NameNodeAddr{ID: nn.ID, Addr: nn.ServiceRPCAddress})
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// nameNodesOf finds the NameNodes of the nameservice this DataNode serves.
func nameNodesOf(c *conf.Conf) ([]conf.NameNode, error) {
	if len(c.Nameservices()) == 0 {
		nns, err := c.AllNameNodes()
		if err != nil {
			return nil, fmt.Errorf("datanode: %w", err)
		}
		return nns, nil
	}
	ns, err := c.DefaultNameservice()
	if err != nil {
		return nil, fmt.Errorf("datanode: %w", err)
	}
	nns, err := c.NameNodes(ns)
	if err != nil {
		return nil, fmt.Errorf("datanode: %w", err)
	}
	return nns, nil
}

// dataDirPath turns one dfs.datanode.data.dir entry ("[DISK]file:///a",
// "/a") into an absolute path.
func dataDirPath(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return "", fmt.Errorf("bad storage type prefix in %q", s)
		}
		s = s[i+1:]
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", err
		}
		if u.Scheme != "file" {
			return "", fmt.Errorf("%q: only file:// directories are supported", s)
		}
		s = u.Path
	}
	if !filepath.IsAbs(s) {
		return "", fmt.Errorf("%q is not an absolute path", s)
	}
	return filepath.Clean(s), nil
}

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	if len(c.DataDirs) == 0 {
		return fmt.Errorf("datanode: %s is not set", KeyDataDir)
	}
	for _, a := range []struct{ key, val string }{{KeyAddress, c.Address}, {KeyIPCAddress, c.IPCAddress}, {KeyHTTPAddress, c.HTTPAddress}} {
		if _, _, err := net.SplitHostPort(a.val); err != nil {
			return fmt.Errorf("datanode: %s: %w", a.key, err)
		}
	}
	if len(c.NameNodes) == 0 {
		return errors.New("datanode: no NameNode configured (dfs.nameservices and dfs.ha.namenodes.<ns>, dfs.namenode.rpc-address or an hdfs:// fs.defaultFS)")
	}
	if c.HeartbeatInterval <= 0 {
		return fmt.Errorf("datanode: %s must be positive", KeyHeartbeatInterval)
	}
	if c.BlockReportInterval <= 0 {
		return fmt.Errorf("datanode: %s must be positive", KeyBlockReportInterval)
	}
	if c.BlockReportInitialDelay < 0 {
		return fmt.Errorf("datanode: %s must not be negative", KeyBlockReportDelay)
	}
	if c.MaxTransferThreads <= 0 {
		return fmt.Errorf("datanode: %s must be positive", KeyMaxTransferThreads)
	}
	if c.HandlerCount <= 0 {
		return fmt.Errorf("datanode: %s must be positive", KeyHandlerCount)
	}
	if c.BytesPerChecksum <= 0 {
		return fmt.Errorf("datanode: %s must be positive", KeyBytesPerChecksum)
	}
	if c.SocketTimeout <= 0 || c.SocketWriteTimeout < 0 {
		return fmt.Errorf("datanode: %s and %s must be positive", KeySocketTimeout, KeySocketWriteTimeout)
	}
	return nil
}
