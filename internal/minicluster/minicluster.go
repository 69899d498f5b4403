package minicluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/datanode"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Defaults of Options. They make a heartbeat-driven behaviour (dead
// detection, re-replication, invalidation) take about a second.
const (
	DefaultBlockSize          = 1 << 20
	DefaultHeartbeatInterval  = 50 * time.Millisecond
	DefaultRecheckInterval    = 250 * time.Millisecond // dead after 2×250 ms + 10×50 ms = 1 s
	DefaultRedundancyInterval = 50 * time.Millisecond
	// WaitBound is how long WaitFor polls before failing the test: a guard
	// against a hang, far above what any condition normally takes.
	WaitBound = 60 * time.Second
)

// Options shape a cluster. Zero values take the defaults noted.
type Options struct {
	// HA runs nameservice "mycluster" with 3 JournalNodes and 2 NameNodes,
	// nn1 made active; otherwise one NameNode with a local edit log.
	HA bool
	// DataNodes is how many DataNodes to start (0: none).
	DataNodes int
	// Replication is dfs.replication (default min(3, DataNodes), at least 1).
	Replication int
	// BlockSize is dfs.blocksize (DefaultBlockSize).
	BlockSize int64
	// HeartbeatInterval is dfs.heartbeat.interval, on both sides
	// (DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// RecheckInterval is dfs.namenode.heartbeat.recheck-interval
	// (DefaultRecheckInterval).
	RecheckInterval time.Duration
	// RedundancyInterval is dfs.namenode.redundancy.interval.seconds
	// (DefaultRedundancyInterval).
	RedundancyInterval time.Duration
	// BlockReportInterval is dfs.blockreport.intervalMsec of the DataNodes
	// (default one hour: the full report at registration and the
	// incremental ones carry everything a short test needs).
	BlockReportInterval time.Duration
	// LeaseSoftLimit and LeaseHardLimit are the NameNode's lease limits
	// (Hadoop's 60 s and 1 h when zero); LeaseCheckInterval is
	// dfs.namenode.lease-recheck-interval-ms (default 50 ms here).
	LeaseSoftLimit, LeaseHardLimit, LeaseCheckInterval time.Duration
	// Extra Hadoop properties, applied last (they win over the above).
	Extra map[string]string
}

func (o *Options) setDefaults() {
	if o.Replication <= 0 {
		o.Replication = min(3, max(1, o.DataNodes))
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.RecheckInterval <= 0 {
		o.RecheckInterval = DefaultRecheckInterval
	}
	if o.RedundancyInterval <= 0 {
		o.RedundancyInterval = DefaultRedundancyInterval
	}
	if o.BlockReportInterval <= 0 {
		o.BlockReportInterval = time.Hour
	}
	if o.LeaseCheckInterval <= 0 {
		o.LeaseCheckInterval = 50 * time.Millisecond
	}
}

// properties are the Hadoop keys the cluster runs with.
func (o *Options) properties() map[string]string {
	p := map[string]string{
		"dfs.replication":                          strconv.Itoa(o.Replication),
		"dfs.blocksize":                            strconv.FormatInt(o.BlockSize, 10),
		"dfs.namenode.fs-limits.min-block-size":    "0",
		"dfs.heartbeat.interval":                   o.HeartbeatInterval.String(),
		"dfs.namenode.heartbeat.recheck-interval":  strconv.FormatInt(o.RecheckInterval.Milliseconds(), 10),
		"dfs.namenode.redundancy.interval.seconds": o.RedundancyInterval.String(),
		"dfs.namenode.safemode.extension":          "0",
		"dfs.namenode.lease-recheck-interval-ms":   strconv.FormatInt(max(1, o.LeaseCheckInterval.Milliseconds()), 10),
		"dfs.namenode.resource.du.reserved":        "1",
		// The clients the cluster hands out retry quickly.
		client.KeyFailoverSleepBase: "10",
		client.KeyFailoverSleepMax:  "100",
		client.KeyRetryWindowBase:   "10",
		client.KeyLocateFollowDelay: "20",
		client.KeySocketTimeout:     "10000",
	}
	for k, v := range o.Extra {
		p[k] = v
	}
	return p
}

// NameNode is one NameNode of the cluster.
type NameNode struct {
	*namenode.NameNode
	// ID is nn1, nn2 in HA, "nn" otherwise.
	ID string
	// Dir is its name directory.
	Dir string
}

// DataNode is one DataNode of the cluster. The embedded daemon changes when
// the DataNode is restarted; it is nil while the DataNode is stopped.
type DataNode struct {
	*datanode.DataNode
	// Name is dn1, dn2, ...
	Name string
	// Dir is its data directory (dfs.datanode.data.dir), kept across restarts.
	Dir string
	// Addr, IPCAddr and HTTPAddr are its reserved addresses
	// (dfs.datanode.address, .ipc.address, .http.address).
	Addr, IPCAddr, HTTPAddr string
	cfg                     datanode.Config
}

// Cluster is a running mini cluster.
type Cluster struct {
	t    testing.TB
	opts Options
	g    *testcluster.Group
	ha   *testcluster.HA
	conf *conf.Conf
	uri  string
	user string

	// NameNodes are the NameNodes (one without HA; nn1, nn2 with).
	NameNodes []*NameNode
	// DataNodes are the DataNodes, in start order.
	DataNodes []*DataNode
	client    *client.Client
}

// Start lays out, formats and starts a cluster for t, waits until every
// DataNode is live on the active NameNode, and stops everything in
// t.Cleanup. It fails the test on error.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	opts.setDefaults()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// The temporary directories go after the daemons stop: cleanups run last
	// in, first out, and t.TempDir registers its removal on the first call.
	_ = t.TempDir()
	c := &Cluster{t: t, opts: opts, g: testcluster.NewGroup(t), user: u.Username}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	if opts.HA {
		c.startHA(ctx)
	} else {
		c.startSingle(ctx)
	}
	for i := 0; i < opts.DataNodes; i++ {
		c.addDataNode(ctx)
	}
	c.client = c.NewClient()
	c.WaitFor(fmt.Sprintf("%d live DataNodes", opts.DataNodes), func() bool { return c.LiveDataNodes() == opts.DataNodes })
	return c
}

func (c *Cluster) nnConfig(cc *conf.Conf, ns, id string) namenode.Config {
	c.t.Helper()
	cfg, err := namenode.ConfigFromConf(cc, ns, id)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(c.t).Named(id)
	cfg.Superuser = c.user
	cfg.SoftLimit, cfg.HardLimit = c.opts.LeaseSoftLimit, c.opts.LeaseHardLimit
	return cfg
}

func (c *Cluster) startSingle(ctx context.Context) {
	t := c.t
	dir := t.TempDir()
	rpcAddr := testcluster.ReserveAddr(t, testcluster.DefaultHost)
	cc := conf.New()
	for k, v := range c.opts.properties() {
		cc.Set(k, v)
	}
	cc.Set("fs.defaultFS", "hdfs://"+rpcAddr)
	cc.Set("dfs.namenode.name.dir", "file://"+dir)
	cc.Set("dfs.namenode.rpc-address", rpcAddr)
	cc.Set("dfs.namenode.http-address", testcluster.ReserveAddr(t, testcluster.DefaultHost))
	cfg := c.nnConfig(cc, "", "")
	if _, err := namenode.Format(ctx, cfg, namenode.FormatOptions{NonInteractive: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	nn, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.g.Start(ctx, "nn", nn); err != nil {
		t.Fatal(err)
	}
	c.NameNodes = []*NameNode{{NameNode: nn, ID: "nn", Dir: dir}}
	c.conf, c.uri = cc, "hdfs://"+rpcAddr
}

func (c *Cluster) startHA(ctx context.Context) {
	t := c.t
	h := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3, Extra: c.opts.properties()})
	log := testcluster.Logger(t)
	for i, l := range h.JournalNodes {
		jcfg, err := journalnode.ConfigFromConf(h.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		jcfg.Logger = log.Named(l.ID)
		d, err := journalnode.New(jcfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.g.Start(ctx, l.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	var cfgs []namenode.Config
	for i, l := range h.NameNodes {
		cfgs = append(cfgs, c.nnConfig(h.NameNodeConf(t, i), h.Nameservice, l.ID))
	}
	if _, err := namenode.Format(ctx, cfgs[0], namenode.FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	// bootstrapStandby stands in: nn2 starts from a copy of nn1's name directory.
	if err := os.CopyFS(cfgs[1].NameDir, os.DirFS(cfgs[0].NameDir)); err != nil {
		t.Fatal(err)
	}
	for i, l := range h.NameNodes {
		nn, err := namenode.New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := c.g.Start(ctx, l.ID, nn); err != nil {
			t.Fatal(err)
		}
		c.NameNodes = append(c.NameNodes, &NameNode{NameNode: nn, ID: l.ID, Dir: cfgs[i].NameDir})
	}
	if err := c.NameNodes[0].TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	c.ha, c.conf, c.uri = h, h.Conf(t), "hdfs://"+h.Nameservice
}

func (c *Cluster) addDataNode(ctx context.Context) {
	t := c.t
	name := fmt.Sprintf("dn%d", len(c.DataNodes)+1)
	d := &DataNode{Name: name, Dir: t.TempDir(),
		Addr:     testcluster.ReserveAddr(t, testcluster.DefaultHost),
		IPCAddr:  testcluster.ReserveAddr(t, testcluster.DefaultHost),
		HTTPAddr: testcluster.ReserveAddr(t, testcluster.DefaultHost)}
	var nns []datanode.NameNodeAddr
	ns := ""
	if c.ha != nil {
		dc, err := datanode.ConfigFromConf(c.conf)
		if err != nil {
			t.Fatal(err)
		}
		nns, ns = dc.NameNodes, dc.Nameservice
	} else {
		nns = []datanode.NameNodeAddr{{Addr: c.NameNodes[0].RPCAddress()}}
	}
	d.cfg = datanode.Config{
		DataDirs: []string{d.Dir}, Address: d.Addr, IPCAddress: d.IPCAddr, HTTPAddress: d.HTTPAddr,
		Hostname: "localhost", NameNodes: nns, Nameservice: ns,
		HeartbeatInterval: c.opts.HeartbeatInterval, BlockReportInterval: c.opts.BlockReportInterval,
		MaxTransferThreads: 64, HandlerCount: 4, BytesPerChecksum: 512,
		SocketTimeout: 10 * time.Second, SocketWriteTimeout: 10 * time.Second, RetryInterval: 10 * time.Millisecond,
		User: c.user, Logger: testcluster.Logger(t).Named(name),
	}
	c.DataNodes = append(c.DataNodes, d)
	c.startDataNode(ctx, d)
}

func (c *Cluster) startDataNode(ctx context.Context, d *DataNode) {
	dn, err := datanode.New(d.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.g.Start(ctx, d.Name, dn); err != nil {
		c.t.Fatalf("start %s: %v", d.Name, err)
	}
	d.DataNode = dn
}

// StopDataNode stops DataNode i as a kill would: its connections close and
// it says nothing to the NameNodes, which declare it dead after the
// dead-node interval.
func (c *Cluster) StopDataNode(i int) {
	c.t.Helper()
	d := c.DataNodes[i]
	if d.DataNode == nil {
		return
	}
	if err := c.g.Stop(d.Name); err != nil {
		c.t.Fatalf("stop %s: %v", d.Name, err)
	}
	d.DataNode = nil
}

// RestartDataNode starts DataNode i again (stopping it first if it runs) on
// the same addresses and data directory, and waits until the active
// NameNode has it registered.
func (c *Cluster) RestartDataNode(i int) {
	c.t.Helper()
	c.StopDataNode(i)
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	d := c.DataNodes[i]
	c.startDataNode(ctx, d)
	c.WaitFor(d.Name+" registered", func() bool { return d.Registered() })
}

// DataNodeIndex is the index of the DataNode whose transfer address is addr
// ("ip:port"), or -1.
func (c *Cluster) DataNodeIndex(addr string) int {
	for i, d := range c.DataNodes {
		if d.Addr == addr {
			return i
		}
	}
	return -1
}

// Client is a client of the cluster (hdfs://<nameservice> in HA, the
// NameNode's address otherwise), as the user running the test (the
// NameNodes' superuser). It is closed in t.Cleanup.
func (c *Cluster) Client() *client.Client { return c.client }

// NewClient is a new client like Client, with its own client name and
// leases; it is closed in t.Cleanup.
func (c *Cluster) NewClient() *client.Client {
	c.t.Helper()
	data := client.DataOptions{TruncatePollInterval: 20 * time.Millisecond}
	// Renew well within short lease limits (Hadoop's client renews at half
	// the smaller limit; a loaded test machine gets more margin).
	if l := c.opts.LeaseSoftLimit; l > 0 {
		data.LeaseRenewInterval = l / 4
	}
	if l := c.opts.LeaseHardLimit; l > 0 && (data.LeaseRenewInterval == 0 || l/4 < data.LeaseRenewInterval) {
		data.LeaseRenewInterval = l / 4
	}
	cl, err := client.New(client.Config{Conf: c.conf, User: c.user, Logger: testcluster.Logger(c.t).Named("client"), Data: data}, c.uri)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Conf is the configuration clients and tools use (fs.defaultFS, the
// nameservice in HA, and every key the cluster runs with).
func (c *Cluster) Conf() *conf.Conf { return c.conf }

// URI is the file system URI: hdfs://mycluster in HA, hdfs://<nn address>
// otherwise.
func (c *Cluster) URI() string { return c.uri }

// User is the user the cluster's clients run as, the NameNodes' superuser.
func (c *Cluster) User() string { return c.user }

// NameNodeAddrs are the NameNodes' RPC addresses, nn1 first.
func (c *Cluster) NameNodeAddrs() []string {
	var a []string
	for _, nn := range c.NameNodes {
		a = append(a, nn.RPCAddress())
	}
	return a
}

// Active is the index of the active NameNode, or -1.
func (c *Cluster) Active() int {
	for i, nn := range c.NameNodes {
		if nn.HAState() == ha.Active {
			return i
		}
	}
	return -1
}

// Failover moves the active role from NameNode from to NameNode to as
// `hdfs haadmin -failover` does without automatic failover: from is fenced
// gracefully with transitionToStandby, then to becomes active.
func (c *Cluster) Failover(from, to int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	if err := c.NameNodes[from].TransitionToStandby(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		c.t.Fatalf("%s -> standby: %v", c.NameNodes[from].ID, err)
	}
	if err := c.NameNodes[to].TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		c.t.Fatalf("%s -> active: %v", c.NameNodes[to].ID, err)
	}
}

// active is the active NameNode; the test fails when there is none.
func (c *Cluster) active() *NameNode {
	c.t.Helper()
	i := c.Active()
	if i < 0 {
		c.t.Fatal("no active NameNode")
	}
	return c.NameNodes[i]
}

// CallActive calls a ClientProtocol method on the active NameNode directly
// (no failover).
func (c *Cluster) CallActive(method string, req, resp proto.Message) error {
	c.t.Helper()
	return c.CallNameNode(c.Active(), method, req, resp)
}

// CallNameNode calls a ClientProtocol method on NameNode i directly.
func (c *Cluster) CallNameNode(i int, method string, req, resp proto.Message) error {
	if i < 0 || i >= len(c.NameNodes) {
		return fmt.Errorf("minicluster: no NameNode %d", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	return c.client.CallAddr(ctx, c.NameNodes[i].RPCAddress(), client.ClientProtocol, method, req, resp)
}

// LiveDataNodes is the number of live DataNodes on the active NameNode's
// report (-1 when the call fails).
func (c *Cluster) LiveDataNodes() int {
	var r hdfspb.GetDatanodeReportResponseProto
	if err := c.CallActive("getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r); err != nil {
		return -1
	}
	return len(r.GetDi())
}

// Locations are the block locations of path from NameNode i
// (getBlockLocations over the whole file).
func (c *Cluster) Locations(i int, path string) (*hdfspb.LocatedBlocksProto, error) {
	var r hdfspb.GetBlockLocationsResponseProto
	err := c.CallNameNode(i, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path),
		Offset: proto.Uint64(0), Length: proto.Uint64(1 << 62)}, &r)
	return r.GetLocations(), err
}

// KnownReplicas is how many replica locations NameNode i's block manager
// holds for block id right now, read in-process (a standby refuses the
// getBlockLocations RPC, but its block manager processes every report).
func (c *Cluster) KnownReplicas(i int, id uint64) int {
	n := 0
	c.NameNodes[i].Namesystem().BlockManager(func(bm *blockmanagement.Manager) {
		locs, _ := bm.Locations(id, "", time.Now())
		n = len(locs)
	})
	return n
}

// Fsck runs `hdfs fsck path opts...` against the active NameNode (GET
// /fsck on its HTTP address, as the cluster's user) and returns the
// report. opts are fsck's flags: "-files", "-blocks", "-locations",
// "-racks", "-openforwrite", "-list-corruptfileblocks".
func (c *Cluster) Fsck(path string, opts ...string) (string, error) {
	c.t.Helper()
	q := url.Values{"ugi": {c.user}, "path": {path}}
	for _, o := range opts {
		switch o {
		case "-files", "-blocks", "-locations", "-racks", "-openforwrite":
			q.Set(strings.TrimPrefix(o, "-"), "1")
		case "-list-corruptfileblocks":
			q.Set("listcorruptfileblocks", "1")
		default:
			return "", fmt.Errorf("minicluster: fsck option %q not supported", o)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.active().HTTPAddress()+"/fsck?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.Close = true // no idle connection (and its goroutines) outlives the call
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return string(b), err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("minicluster: fsck: %s", resp.Status)
	}
	return string(b), nil
}

// WaitFor polls cond until it holds, failing the test after WaitBound.
// The bound only guards against a hang; it is not a timing assertion.
func (c *Cluster) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(WaitBound)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("minicluster: gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BlockFile is the path of the finalized block file blk_<id> in DataNode
// i's data directory, or "" when it has none.
func (c *Cluster) BlockFile(i int, blockID uint64) string {
	m, _ := filepath.Glob(filepath.Join(c.DataNodes[i].Dir, "current", "BP-*", "current", "finalized",
		"subdir*", "subdir*", fmt.Sprintf("blk_%d", blockID)))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// CorruptReplica flips the byte at off in DataNode i's finalized replica of
// block blockID, on disk, behind the DataNode's back.
func (c *Cluster) CorruptReplica(i int, blockID uint64, off int64) error {
	p := c.BlockFile(i, blockID)
	if p == "" {
		return fmt.Errorf("minicluster: %s has no finalized blk_%d", c.DataNodes[i].Name, blockID)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		f.Close()
		return err
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
