package datanode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/version"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// SoftwareVersion is the Hadoop version a DataNode registers as: the one
// hdfsha's NameNode announces, so version checks on either side pass.
const SoftwareVersion = "3.3.6"

// DataNode is one DataNode daemon. New validates, Start binds and serves,
// Stop stops everything it started.
type DataNode struct {
	cfg Config
	log *zap.Logger
	now func() time.Time

	store  *storage.Store
	client *rpc.Client
	ipc    *rpc.Server
	xfer   net.Listener
	web    *web.Server
	actors []*actor

	// xceivers counts open data transfer connections, xmits running
	// replication transfers (heartbeats carry both).
	xceivers, xmits atomic.Int32
	// metrics are the DataNode's counters on /jmx and /metrics (Hadoop's
	// DataNodeMetrics names).
	metrics struct {
		bytesWritten, bytesRead                   atomic.Int64
		blocksWritten, blocksRead                 atomic.Int64
		blocksReplicated, blocksRemoved           atomic.Int64
		blocksRecovered, blockChecksumOps, badBlk atomic.Int64
	}

	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// conns tracks open data transfer connections, closed by Stop.
	conns sync.Map

	mu struct {
		sync.Mutex
		started, stopped bool
		nsInfo           *hdfspb.NamespaceInfoProto
		fence            fence
		id               *hdfspb.DatanodeIDProto
	}
}

// New returns a DataNode for cfg. It binds nothing and touches no disk.
func New(cfg Config) (*DataNode, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("datanode: host name: %w", err)
		}
		cfg.Hostname = h
	}
	if cfg.User == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("datanode: current user: %w", err)
		}
		cfg.User = u.Username
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	dn := &DataNode{cfg: cfg, log: log, now: time.Now}
	dn.mu.fence = newFence()
	return dn, nil
}

// Start opens the data directories, binds the data transfer, IPC and HTTP
// addresses, and starts one service actor per NameNode. It returns once
// everything listens; the actors keep (re)trying their NameNodes in the
// background. ctx bounds the start only.
func (dn *DataNode) Start(ctx context.Context) (err error) {
	dn.mu.Lock()
	if dn.mu.started {
		dn.mu.Unlock()
		return errors.New("datanode: already started")
	}
	dn.mu.started = true
	dn.mu.Unlock()
	defer func() {
		if err != nil {
			_ = dn.Stop()
		}
	}()
	dn.log.Info("starting DataNode", zap.String("version", version.Get().Version), zap.Strings("dataDirs", dn.cfg.DataDirs),
		zap.String("nameservice", dn.cfg.Nameservice), zap.Int("namenodes", len(dn.cfg.NameNodes)))
	dn.store, err = storage.Open(dn.cfg.DataDirs, storage.Options{
		Logger:           dn.log.Named("storage"),
		BytesPerChecksum: dn.cfg.BytesPerChecksum,
		NoSyncOnClose:    !dn.cfg.SyncOnClose,
		Reserved:         dn.cfg.DUReserved,
	})
	if err != nil {
		return fmt.Errorf("datanode: %w", err)
	}
	ccfg := rpc.DefaultClientConfig(dn.cfg.User)
	ccfg.Logger = dn.log.Named("rpc")
	if dn.client, err = rpc.NewClient(ccfg); err != nil {
		return fmt.Errorf("datanode: %w", err)
	}
	if dn.xfer, err = net.Listen("tcp", dn.cfg.Address); err != nil {
		return fmt.Errorf("datanode: %s %s: %w", KeyAddress, dn.cfg.Address, err)
	}
	scfg := rpc.DefaultServerConfig()
	scfg.Addr = dn.cfg.IPCAddress
	scfg.HandlerCount = dn.cfg.HandlerCount
	scfg.Logger = dn.log.Named("ipc")
	if dn.ipc, err = rpc.NewServer(scfg); err != nil {
		return fmt.Errorf("datanode: %s %s: %w", KeyIPCAddress, dn.cfg.IPCAddress, err)
	}
	dn.registerIPC(dn.ipc)
	if dn.web, err = web.New(web.Config{Address: dn.cfg.HTTPAddress, Logger: dn.log.Named("http")}); err != nil {
		return fmt.Errorf("datanode: %w", err)
	}
	dn.registerBeans()
	if err := dn.web.Start(ctx); err != nil {
		return fmt.Errorf("datanode: %s %s: %w", KeyHTTPAddress, dn.cfg.HTTPAddress, err)
	}
	dn.mu.Lock()
	dn.mu.id = dn.datanodeIDLocked()
	dn.mu.Unlock()

	runCtx, cancel := context.WithCancel(context.Background())
	dn.runCtx, dn.cancel = runCtx, cancel
	dn.wg.Add(2)
	go func() {
		defer dn.wg.Done()
		if err := dn.ipc.Serve(); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
			dn.log.Error("IPC server stopped", zap.Error(err))
		}
	}()
	go func() {
		defer dn.wg.Done()
		dn.serveTransfer(runCtx)
	}()
	for i, nn := range dn.cfg.NameNodes {
		a := newActor(dn, i, nn)
		dn.actors = append(dn.actors, a)
	}
	for _, a := range dn.actors {
		dn.wg.Add(1)
		go func() {
			defer dn.wg.Done()
			a.run(runCtx)
		}()
	}
	dn.log.Info("DataNode started", zap.String("datanodeUuid", dn.store.DatanodeUUID()),
		zap.String("address", dn.TransferAddress()), zap.String("ipcAddress", dn.IPCAddress()), zap.String("httpAddress", dn.HTTPAddress()))
	return nil
}

// Stop stops the actors, the servers and every transfer in progress, then
// closes the storage. Safe after a failed Start, and more than once.
func (dn *DataNode) Stop() error {
	dn.mu.Lock()
	if dn.mu.stopped {
		dn.mu.Unlock()
		return nil
	}
	dn.mu.stopped = true
	dn.mu.Unlock()
	if dn.cancel != nil {
		dn.cancel()
	}
	var errs []error
	if dn.xfer != nil {
		_ = dn.xfer.Close()
	}
	dn.conns.Range(func(k, _ any) bool {
		_ = k.(net.Conn).Close()
		return true
	})
	if dn.ipc != nil {
		errs = append(errs, dn.ipc.Close())
	}
	if dn.web != nil {
		errs = append(errs, dn.web.Stop())
	}
	dn.wg.Wait()
	if dn.client != nil {
		errs = append(errs, dn.client.Close())
	}
	if dn.store != nil {
		errs = append(errs, dn.store.Close())
	}
	dn.log.Info("DataNode stopped")
	return errors.Join(errs...)
}

// Close is Stop.
func (dn *DataNode) Close() error { return dn.Stop() }

// TransferAddress is the bound data transfer address (dfs.datanode.address).
func (dn *DataNode) TransferAddress() string { return dn.xfer.Addr().String() }

// IPCAddress is the bound IPC address (dfs.datanode.ipc.address).
func (dn *DataNode) IPCAddress() string { return dn.ipc.Addr().String() }

// HTTPAddress is the bound HTTP address (dfs.datanode.http.address).
func (dn *DataNode) HTTPAddress() string { return dn.web.Address() }

// Store is the DataNode's block storage (for tests and tools).
func (dn *DataNode) Store() *storage.Store { return dn.store }

// DatanodeUUID is the DataNode's uuid.
func (dn *DataNode) DatanodeUUID() string { return dn.store.DatanodeUUID() }

// BlockPoolID is the block pool served, "" before the first handshake.
func (dn *DataNode) BlockPoolID() string {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	return dn.mu.nsInfo.GetBlockPoolID()
}

// ClusterID is the cluster id, "" before the first handshake.
func (dn *DataNode) ClusterID() string {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	return dn.mu.nsInfo.GetStorageInfo().GetClusterID()
}

// ActiveNameNode is the address of the NameNode obeyed, "" when none.
func (dn *DataNode) ActiveNameNode() string {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if dn.mu.fence.active < 0 {
		return ""
	}
	return dn.actors[dn.mu.fence.active].nn.Addr
}

// Registered reports whether every actor has registered with its NameNode.
func (dn *DataNode) Registered() bool {
	for _, a := range dn.actors {
		if a.registration() == nil {
			return false
		}
	}
	return len(dn.actors) > 0
}

// DatanodeID is how this DataNode names itself to NameNodes and peers.
func (dn *DataNode) DatanodeID() *hdfspb.DatanodeIDProto {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	return dn.mu.id
}

func (dn *DataNode) datanodeIDLocked() *hdfspb.DatanodeIDProto {
	port := func(a net.Addr) uint32 {
		_, p, _ := net.SplitHostPort(a.String())
		n, _ := strconv.Atoi(p)
		return uint32(n)
	}
	_, hp, _ := net.SplitHostPort(dn.web.Address())
	infoPort, _ := strconv.Atoi(hp)
	return &hdfspb.DatanodeIDProto{
		IpAddr:       proto.String(dn.advertisedIP()),
		HostName:     proto.String(dn.cfg.Hostname),
		DatanodeUuid: proto.String(dn.store.DatanodeUUID()),
		XferPort:     proto.Uint32(port(dn.xfer.Addr())),
		InfoPort:     proto.Uint32(uint32(infoPort)),
		IpcPort:      proto.Uint32(port(dn.ipc.Addr())),
	}
}

// advertisedIP is the bound transfer IP, or, for a wildcard bind, the
// local address this host uses to reach the first NameNode (a UDP "dial"
// sends nothing), else the first IPv4 address the host name resolves to.
// Hadoop's NameNode records the address the registration came from; the
// route to the NameNode is the closest equivalent on this side.
func (dn *DataNode) advertisedIP() string {
	host, _, _ := net.SplitHostPort(dn.xfer.Addr().String())
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	if len(dn.cfg.NameNodes) > 0 {
		if c, err := net.Dial("udp", dn.cfg.NameNodes[0].Addr); err == nil {
			ip := c.LocalAddr().(*net.UDPAddr).IP
			_ = c.Close()
			if !ip.IsUnspecified() {
				return ip.String()
			}
		}
	}
	if addrs, err := net.LookupIP(dn.cfg.Hostname); err == nil {
		for _, ip := range addrs {
			if ip.To4() != nil {
				return ip.String()
			}
		}
	}
	return "127.0.0.1"
}

// setNamespaceInfo takes the first NameNode's namespace info (setting up
// the block pool in storage) and checks every later one against it
// (Hadoop's BPOfferService.verifyAndSetNamespaceInfo).
func (dn *DataNode) setNamespaceInfo(ns *hdfspb.NamespaceInfoProto, a *actor) error {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if cur := dn.mu.nsInfo; cur != nil {
		if cur.GetBlockPoolID() != ns.GetBlockPoolID() {
			return fmt.Errorf("Blockpool ID mismatch: previously connected to Blockpool ID %s but now connected to Blockpool ID %s",
				cur.GetBlockPoolID(), ns.GetBlockPoolID())
		}
		if cur.GetStorageInfo().GetClusterID() != ns.GetStorageInfo().GetClusterID() {
			return fmt.Errorf("Cluster IDs not matched: dn cid=%s but nn cid=%s", cur.GetStorageInfo().GetClusterID(), ns.GetStorageInfo().GetClusterID())
		}
		if cur.GetStorageInfo().GetNamespceID() != ns.GetStorageInfo().GetNamespceID() {
			return fmt.Errorf("Namespace ID mismatch: previously connected to namespace %d but now connected to namespace %d",
				int32(cur.GetStorageInfo().GetNamespceID()), int32(ns.GetStorageInfo().GetNamespceID()))
		}
		return nil
	}
	si := ns.GetStorageInfo()
	if err := dn.store.AddBlockPool(ns.GetBlockPoolID(), si.GetClusterID(), si.GetNamespceID(), int64(si.GetCTime())); err != nil {
		return fmt.Errorf("block pool %s: %w", ns.GetBlockPoolID(), err)
	}
	dn.mu.nsInfo = ns
	a.log.Info("block pool added", zap.String("bpid", ns.GetBlockPoolID()), zap.String("clusterID", si.GetClusterID()),
		zap.Int32("namespaceID", int32(si.GetNamespceID())))
	return nil
}

// registration is what registerDatanode sends.
func (dn *DataNode) registration() *hdfspb.DatanodeRegistrationProto {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	si := dn.mu.nsInfo.GetStorageInfo()
	lv := int32(storage.LayoutVersion)
	return &hdfspb.DatanodeRegistrationProto{
		DatanodeID: dn.mu.id,
		StorageInfo: &hdfspb.StorageInfoProto{
			LayoutVersion: proto.Uint32(uint32(lv)),
			NamespceID:    proto.Uint32(si.GetNamespceID()),
			ClusterID:     proto.String(si.GetClusterID()),
			CTime:         proto.Uint64(si.GetCTime()),
		},
		Keys: &hdfspb.ExportedBlockKeysProto{
			IsBlockTokenEnabled: proto.Bool(false),
			KeyUpdateInterval:   proto.Uint64(0),
			TokenLifeTime:       proto.Uint64(0),
			CurrentKey:          &hdfspb.BlockKeyProto{KeyId: proto.Uint32(0), ExpiryDate: proto.Uint64(0)},
		},
		SoftwareVersion: proto.String(SoftwareVersion),
	}
}

// storageReports is every data directory's usage for a heartbeat.
func (dn *DataNode) storageReports() ([]*hdfspb.StorageReportProto, error) {
	_, vols, err := dn.store.Usage()
	if err != nil {
		return nil, fmt.Errorf("storage usage: %w", err)
	}
	out := make([]*hdfspb.StorageReportProto, 0, len(vols))
	for _, v := range vols {
		out = append(out, &hdfspb.StorageReportProto{
			StorageUuid:   proto.String(v.StorageID),
			Failed:        proto.Bool(false),
			Capacity:      proto.Uint64(uint64(v.Capacity)),
			DfsUsed:       proto.Uint64(uint64(v.DfsUsed)),
			Remaining:     proto.Uint64(uint64(v.Remaining)),
			BlockPoolUsed: proto.Uint64(uint64(v.DfsUsed)),
			NonDfsUsed:    proto.Uint64(uint64(v.NonDfsUsed)),
			Storage:       &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(v.StorageID)},
		})
	}
	return out, nil
}

// observeHAStatus feeds a heartbeat's HA status to the fence and logs what
// changed.
func (dn *DataNode) observeHAStatus(a *actor, hs *hdfspb.NNHAStatusHeartbeatProto) {
	active := hs.GetState() == hdfspb.NNHAStatusHeartbeatProto_ACTIVE
	dn.mu.Lock()
	prev := dn.mu.fence.active
	last := dn.mu.fence.lastTxID
	out := dn.mu.fence.observe(a.idx, active, hs.GetTxid())
	dn.mu.Unlock()
	switch out {
	case fenceAcknowledged:
		a.log.Info("acknowledging ACTIVE NameNode", zap.Uint64("txid", hs.GetTxid()))
	case fenceTakeover:
		a.log.Info("NameNode taking over ACTIVE state", zap.String("from", dn.actors[prev].nn.Addr), zap.Uint64("txid", hs.GetTxid()))
	case fenceStaleClaim:
		a.log.Warn("NameNode claims ACTIVE with an older txid than the last active claim; ignoring its commands",
			zap.Uint64("txid", hs.GetTxid()), zap.Uint64("lastActiveClaimTxid", last))
	case fenceRelinquished:
		a.log.Info("NameNode relinquishing ACTIVE state", zap.Uint64("txid", hs.GetTxid()))
	}
}

// obeys reports whether the fence lets a's commands through.
func (dn *DataNode) obeys(a *actor) bool {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	return dn.mu.fence.obeys(a.idx)
}

// notifyNameNodes queues an incremental report of r with status st for
// every NameNode.
func (dn *DataNode) notifyNameNodes(r storage.Replica, st ibrStatus) {
	ev := ibrEvent{StorageID: r.StorageID, BlockID: r.BlockID, GenStamp: r.GenStamp, NumBytes: uint64(r.NumBytes), Status: st}
	for _, a := range dn.actors {
		a.addIBR(ev)
	}
}

// blockReceived reports a finalized replica (RECEIVED) to every NameNode.
func (dn *DataNode) blockReceived(r storage.Replica) {
	dn.metrics.blocksWritten.Add(1)
	dn.notifyNameNodes(r, ibrReceived)
}

// blockReceiving reports a replica being written (RECEIVING) to every
// NameNode.
func (dn *DataNode) blockReceiving(r storage.Replica) {
	dn.notifyNameNodes(r, ibrReceiving)
}
