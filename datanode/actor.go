package datanode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// DatanodeProtocol is the protocol name DatanodeProtocol is called under
// (Hadoop's DatanodeProtocolPB).
const DatanodeProtocol = "org.apache.hadoop.hdfs.server.protocol.DatanodeProtocol"

// actor is one NameNode's service actor (Hadoop's BPServiceActor): it
// handshakes (versionRequest, registerDatanode), heartbeats, and sends
// incremental and full block reports to its NameNode, following the pure
// schedule. Commands it receives go to the DataNode, which obeys them only
// if the fence says this NameNode is the active one.
type actor struct {
	dn  *DataNode
	idx int
	nn  NameNodeAddr
	log *zap.Logger

	wake chan struct{} // buffered 1: news (incremental report, re-register)

	mu struct {
		sync.Mutex
		sched *schedule
		ibr   *ibrQueue
		reg   *hdfspb.DatanodeRegistrationProto
		// lastErr is the last failure logged, to log a down NameNode once
		// per change rather than every retry.
		lastErr string
		// Seen for tests and /jmx.
		heartbeats, fullReports int
	}
}

func newActor(dn *DataNode, idx int, nn NameNodeAddr) *actor {
	name := nn.Addr
	if nn.ID != "" {
		name = nn.ID + "/" + nn.Addr
	}
	a := &actor{dn: dn, idx: idx, nn: nn, log: dn.log.With(zap.String("nn", name)), wake: make(chan struct{}, 1)}
	a.mu.sched = newSchedule(dn.cfg.HeartbeatInterval, dn.cfg.BlockReportInterval, dn.cfg.RetryInterval)
	a.mu.ibr = newIBRQueue()
	return a
}

func (a *actor) String() string { return a.nn.Addr }

func (a *actor) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// addIBR queues an incremental report event and wakes the actor.
func (a *actor) addIBR(ev ibrEvent) {
	a.mu.Lock()
	a.mu.ibr.add(ev)
	a.mu.Unlock()
	a.poke()
}

// reregister makes the actor register again at once (RegisterCommand).
func (a *actor) reregister() {
	a.mu.Lock()
	a.mu.sched.reregister()
	a.mu.Unlock()
	a.poke()
}

// run is the actor's loop; it returns when ctx ends.
func (a *actor) run(ctx context.Context) {
	for {
		now := a.dn.now()
		a.mu.Lock()
		step, when := a.mu.sched.next(now, a.mu.ibr.len() > 0)
		a.mu.Unlock()
		if step == stepWait {
			t := time.NewTimer(max(when.Sub(now), 0))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-a.wake:
				t.Stop()
			case <-t.C:
			}
			continue
		}
		err := a.do(ctx, step)
		if ctx.Err() != nil {
			return
		}
		a.mu.Lock()
		if err != nil {
			msg := err.Error()
			if isUnregistered(err) {
				a.mu.sched.reregister()
			}
			wait := a.mu.sched.failed(a.dn.now())
			if msg != a.mu.lastErr {
				a.log.Warn("call to NameNode failed; retrying", zap.Stringer("step", step), zap.Duration("backoff", wait), zap.Error(err))
			}
			a.mu.lastErr = msg
		} else if a.mu.lastErr != "" {
			a.mu.lastErr = ""
			a.log.Info("NameNode reachable again", zap.Stringer("step", step))
		}
		a.mu.Unlock()
	}
}

func (a *actor) do(ctx context.Context, step actorStep) error {
	switch step {
	case stepHandshake:
		return a.handshake(ctx)
	case stepHeartbeat:
		return a.heartbeat(ctx)
	case stepIBR:
		return a.sendIBR(ctx)
	case stepFullReport:
		return a.fullReport(ctx)
	}
	return nil
}

func (a *actor) call(ctx context.Context, method string, req, resp proto.Message) error {
	ctx, cancel := context.WithTimeout(ctx, max(a.dn.cfg.SocketTimeout, a.dn.cfg.HeartbeatInterval))
	defer cancel()
	return a.dn.client.Call(ctx, a.nn.Addr, DatanodeProtocol, method, req, resp)
}

// handshake is Hadoop's connectToNNAndHandshake and register: the
// namespace info (the first NameNode's sets up the block pool in storage;
// the others' must match), then the registration.
func (a *actor) handshake(ctx context.Context) error {
	var vr hdfspb.VersionResponseProto
	if err := a.call(ctx, "versionRequest", &hdfspb.VersionRequestProto{}, &vr); err != nil {
		return fmt.Errorf("versionRequest: %w", err)
	}
	if err := a.dn.setNamespaceInfo(vr.GetInfo(), a); err != nil {
		return err
	}
	var rr hdfspb.RegisterDatanodeResponseProto
	req := &hdfspb.RegisterDatanodeRequestProto{Registration: a.dn.registration()}
	if err := a.call(ctx, "registerDatanode", req, &rr); err != nil {
		return fmt.Errorf("registerDatanode: %w", err)
	}
	reg := rr.GetRegistration()
	if reg == nil {
		reg = req.Registration
	}
	delay := time.Duration(0)
	if d := a.dn.cfg.BlockReportInitialDelay; d > 0 {
		delay = time.Duration(rand.Int64N(int64(d)))
	}
	a.mu.Lock()
	a.mu.reg = reg
	a.mu.sched.registeredAt(a.dn.now(), delay)
	a.mu.Unlock()
	a.log.Info("registered with NameNode", zap.String("bpid", a.dn.BlockPoolID()),
		zap.String("datanodeUuid", reg.GetDatanodeID().GetDatanodeUuid()))
	return nil
}

func (a *actor) registration() *hdfspb.DatanodeRegistrationProto {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.reg
}

// heartbeat sends storage reports and handles the answer: the NameNode's HA
// status feeds the fence, then its commands are handed to the DataNode.
func (a *actor) heartbeat(ctx context.Context) error {
	reports, err := a.dn.storageReports()
	if err != nil {
		return err
	}
	req := &hdfspb.HeartbeatRequestProto{
		Registration:    a.registration(),
		Reports:         reports,
		XmitsInProgress: proto.Uint32(uint32(a.dn.xmits.Load())),
		XceiverCount:    proto.Uint32(uint32(a.dn.xceivers.Load())),
		FailedVolumes:   proto.Uint32(0),
	}
	var resp hdfspb.HeartbeatResponseProto
	if err := a.call(ctx, "sendHeartbeat", req, &resp); err != nil {
		return fmt.Errorf("sendHeartbeat: %w", err)
	}
	a.mu.Lock()
	a.mu.sched.heartbeatSent(a.dn.now())
	a.mu.heartbeats++
	a.mu.Unlock()
	if hs := resp.GetHaStatus(); hs != nil {
		a.dn.observeHAStatus(a, hs)
	}
	for _, cmd := range resp.GetCmds() {
		a.dn.processCommand(ctx, a, cmd)
	}
	return nil
}

// sendIBR sends every pending incremental report event; on failure they
// are put back and go with the next attempt.
func (a *actor) sendIBR(ctx context.Context) error {
	a.mu.Lock()
	evs, seq := a.mu.ibr.take()
	a.mu.Unlock()
	if len(evs) == 0 {
		return nil
	}
	req := &hdfspb.BlockReceivedAndDeletedRequestProto{
		Registration: a.registration(),
		BlockPoolId:  proto.String(a.dn.BlockPoolID()),
		Blocks:       ibrProtos(evs),
	}
	err := a.call(ctx, "blockReceivedAndDeleted", req, &hdfspb.BlockReceivedAndDeletedResponseProto{})
	if err != nil {
		a.mu.Lock()
		a.mu.ibr.putBack(evs, seq)
		a.mu.Unlock()
		return fmt.Errorf("blockReceivedAndDeleted: %w", err)
	}
	if ce := a.log.Check(zap.DebugLevel, "sent incremental block report"); ce != nil {
		ce.Write(zap.Int("events", len(evs)))
	}
	return nil
}

// fullReport sends one block report RPC covering every storage.
func (a *actor) fullReport(ctx context.Context) error {
	bpid := a.dn.BlockPoolID()
	byStorage := map[string][]ReportedReplica{}
	total := 0
	for _, r := range a.dn.store.Report(bpid) {
		byStorage[r.StorageID] = append(byStorage[r.StorageID], ReportedReplica{
			ID: r.BlockID, GenStamp: r.GenStamp, NumBytes: uint64(r.NumBytes), State: ReplicaState(r.State),
		})
		total++
	}
	req := &hdfspb.BlockReportRequestProto{
		Registration: a.registration(),
		BlockPoolId:  proto.String(bpid),
		Context: &hdfspb.BlockReportContextProto{
			TotalRpcs: proto.Int32(1),
			CurRpc:    proto.Int32(0),
			Id:        proto.Int64(rand.Int64()),
		},
	}
	for _, sid := range a.dn.store.StorageIDs() {
		reps := byStorage[sid]
		req.Reports = append(req.Reports, &hdfspb.StorageBlockReportProto{
			Storage:        &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(sid)},
			Blocks:         encodeBlockReport(reps),
			NumberOfBlocks: proto.Uint64(uint64(len(reps))),
		})
	}
	start := a.dn.now()
	var resp hdfspb.BlockReportResponseProto
	if err := a.call(ctx, "blockReport", req, &resp); err != nil {
		return fmt.Errorf("blockReport: %w", err)
	}
	a.mu.Lock()
	a.mu.sched.fullReportSent(a.dn.now())
	a.mu.fullReports++
	a.mu.Unlock()
	a.log.Info("sent block report", zap.String("bpid", bpid), zap.Int("blocks", total),
		zap.Int("storages", len(req.Reports)), zap.Duration("took", a.dn.now().Sub(start)))
	if cmd := resp.GetCmd(); cmd != nil {
		a.dn.processCommand(ctx, a, cmd)
	}
	return nil
}

// isUnregistered reports whether err says the NameNode does not know this
// DataNode (any longer): Hadoop's UnregisteredNodeException. The actor
// registers again.
func isUnregistered(err error) bool {
	var re *rpc.RemoteError
	return errors.As(err, &re) && strings.HasSuffix(re.Class, "UnregisteredNodeException")
}
