package datanode

import (
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ReplicaState is a replica's state as block reports carry it
// (ReplicaStateProto).
type ReplicaState = hdfspb.ReplicaStateProto

// ReportedReplica is one replica in a full block report.
type ReportedReplica struct {
	ID, GenStamp, NumBytes uint64
	State                  ReplicaState
}

// encodeBlockReport renders replicas in Hadoop's BlockListAsLongs "long
// array" form (StorageBlockReportProto.blocks):
//
//	[#finalized, #under-construction,
//	 id, length, genstamp          (each finalized replica),
//	 -1, -1, -1                    (delimiter),
//	 id, length, genstamp, state   (each other replica)]
func encodeBlockReport(replicas []ReportedReplica) []uint64 {
	var fin, uc []ReportedReplica
	for _, r := range replicas {
		if r.State == hdfspb.ReplicaStateProto_FINALIZED {
			fin = append(fin, r)
		} else {
			uc = append(uc, r)
		}
	}
	out := make([]uint64, 0, 2+3*len(fin)+3+4*len(uc))
	out = append(out, uint64(len(fin)), uint64(len(uc)))
	for _, r := range fin {
		out = append(out, r.ID, r.NumBytes, r.GenStamp)
	}
	out = append(out, math.MaxUint64, math.MaxUint64, math.MaxUint64)
	for _, r := range uc {
		out = append(out, r.ID, r.NumBytes, r.GenStamp, uint64(r.State))
	}
	return out
}

// ibrStatus is an incremental report's status.
type ibrStatus = hdfspb.ReceivedDeletedBlockInfoProto_BlockStatus

const (
	ibrReceiving = hdfspb.ReceivedDeletedBlockInfoProto_RECEIVING
	ibrReceived  = hdfspb.ReceivedDeletedBlockInfoProto_RECEIVED
	ibrDeleted   = hdfspb.ReceivedDeletedBlockInfoProto_DELETED
)

// ibrEvent is one change to report incrementally.
type ibrEvent struct {
	StorageID string
	BlockID   uint64
	GenStamp  uint64
	NumBytes  uint64
	Status    ibrStatus
}

// ibrQueue is one service actor's pending incremental block reports
// (Hadoop's IncrementalBlockReportManager): events wait per storage, a newer
// event about a block replaces the older one, and a report that failed to
// reach the NameNode is put back unless newer news arrived meanwhile. Pure.
type ibrQueue struct {
	// order keeps first-arrival order of block ids; byBlock holds the
	// newest event per block.
	order   []uint64
	byBlock map[uint64]ibrEvent
	// seq counts adds, so putBack can tell an event re-added after take.
	seq     uint64
	addedAt map[uint64]uint64
}

func newIBRQueue() *ibrQueue {
	return &ibrQueue{byBlock: map[uint64]ibrEvent{}, addedAt: map[uint64]uint64{}}
}

// add queues ev, replacing a pending event about the same block.
func (q *ibrQueue) add(ev ibrEvent) {
	if _, ok := q.byBlock[ev.BlockID]; !ok {
		q.order = append(q.order, ev.BlockID)
	}
	q.seq++
	q.byBlock[ev.BlockID] = ev
	q.addedAt[ev.BlockID] = q.seq
}

// len is the number of pending events.
func (q *ibrQueue) len() int { return len(q.byBlock) }

// take removes and returns every pending event in arrival order, with the
// sequence number putBack needs.
func (q *ibrQueue) take() ([]ibrEvent, uint64) {
	evs := make([]ibrEvent, 0, len(q.order))
	for _, id := range q.order {
		evs = append(evs, q.byBlock[id])
	}
	q.order, q.byBlock, q.addedAt = nil, map[uint64]ibrEvent{}, map[uint64]uint64{}
	return evs, q.seq
}

// putBack re-queues events taken at sequence seq that were not sent,
// ahead of anything newer; an event about a block reported again since
// take is dropped (the newer one stands).
func (q *ibrQueue) putBack(evs []ibrEvent, seq uint64) {
	var order []uint64
	put := map[uint64]bool{}
	for _, ev := range evs {
		if at, ok := q.addedAt[ev.BlockID]; ok && at > seq {
			continue
		}
		order = append(order, ev.BlockID)
		put[ev.BlockID] = true
		q.byBlock[ev.BlockID] = ev
		q.addedAt[ev.BlockID] = seq
	}
	for _, id := range q.order {
		if !put[id] {
			order = append(order, id)
		}
	}
	q.order = order
}

// ibrProtos groups events by storage for BlockReceivedAndDeletedRequestProto.
func ibrProtos(evs []ibrEvent) []*hdfspb.StorageReceivedDeletedBlocksProto {
	var out []*hdfspb.StorageReceivedDeletedBlocksProto
	idx := map[string]int{}
	for _, ev := range evs {
		i, ok := idx[ev.StorageID]
		if !ok {
			i = len(out)
			idx[ev.StorageID] = i
			out = append(out, &hdfspb.StorageReceivedDeletedBlocksProto{
				StorageUuid: proto.String(ev.StorageID),
				Storage:     &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(ev.StorageID)},
			})
		}
		out[i].Blocks = append(out[i].Blocks, &hdfspb.ReceivedDeletedBlockInfoProto{
			Block:  &hdfspb.BlockProto{BlockId: proto.Uint64(ev.BlockID), GenStamp: proto.Uint64(ev.GenStamp), NumBytes: proto.Uint64(ev.NumBytes)},
			Status: ev.Status.Enum(),
		})
	}
	return out
}

// actorStep is what a service actor does next.
type actorStep int

const (
	stepWait       actorStep = iota // nothing due: wait until the returned time or news
	stepHandshake                   // versionRequest + registerDatanode
	stepHeartbeat                   // sendHeartbeat
	stepIBR                         // blockReceivedAndDeleted
	stepFullReport                  // blockReport
)

func (s actorStep) String() string {
	return [...]string{"wait", "handshake", "heartbeat", "incremental report", "block report"}[s]
}

// schedule is a service actor's timing (Hadoop's BPServiceActor.Scheduler
// and offerService loop), pure: the driver passes the time in and reports
// what happened. Order of work when several are due: handshake first; then
// the heartbeat; then pending incremental reports, sent at once; then the
// full block report.
type schedule struct {
	heartbeat    time.Duration
	fullInterval time.Duration
	retryMin     time.Duration
	retryMax     time.Duration

	registered     bool
	nextHeartbeat  time.Time
	nextFullReport time.Time // zero: none scheduled
	// notBefore delays everything after a failure (backoff).
	notBefore time.Time
	retry     time.Duration
}

func newSchedule(heartbeat, fullInterval, retryMin time.Duration) *schedule {
	if retryMin <= 0 {
		retryMin = time.Second
	}
	return &schedule{heartbeat: heartbeat, fullInterval: fullInterval, retryMin: retryMin, retryMax: max(retryMin, 10*heartbeat)}
}

// next says what to do at now, or (stepWait, when) to wait until when.
func (s *schedule) next(now time.Time, ibrPending bool) (actorStep, time.Time) {
	if now.Before(s.notBefore) {
		return stepWait, s.notBefore
	}
	if !s.registered {
		return stepHandshake, now
	}
	if !now.Before(s.nextHeartbeat) {
		return stepHeartbeat, now
	}
	if ibrPending {
		return stepIBR, now
	}
	if !s.nextFullReport.IsZero() && !now.Before(s.nextFullReport) {
		return stepFullReport, now
	}
	when := s.nextHeartbeat
	if !s.nextFullReport.IsZero() && s.nextFullReport.Before(when) {
		when = s.nextFullReport
	}
	return stepWait, when
}

// registeredAt records a successful handshake: heartbeat at once, the first
// full report after delay (random below dfs.blockreport.initialDelay).
func (s *schedule) registeredAt(now time.Time, delay time.Duration) {
	s.registered = true
	s.nextHeartbeat = now
	s.nextFullReport = now.Add(delay)
	s.succeeded()
}

// reregister forgets the registration (RegisterCommand, or the NameNode no
// longer knows this DataNode): the next step is a handshake and a full
// report follows it.
func (s *schedule) reregister() { s.registered = false }

// heartbeatSent records a heartbeat answered at now.
func (s *schedule) heartbeatSent(now time.Time) {
	s.nextHeartbeat = now.Add(s.heartbeat)
	s.succeeded()
}

// fullReportSent records a full report sent at now; the next is one
// interval after the one scheduled (Hadoop keeps the cadence), or after now
// when that is already past.
func (s *schedule) fullReportSent(now time.Time) {
	next := s.nextFullReport.Add(s.fullInterval)
	if !next.After(now) {
		next = now.Add(s.fullInterval)
	}
	s.nextFullReport = next
	s.succeeded()
}

// fullReportNow asks for a full report at the next opportunity.
func (s *schedule) fullReportNow(now time.Time) { s.nextFullReport = now }

// failed records a failed call at now: back off, doubling up to retryMax.
func (s *schedule) failed(now time.Time) time.Duration {
	if s.retry == 0 {
		s.retry = s.retryMin
	} else {
		s.retry = min(2*s.retry, s.retryMax)
	}
	s.notBefore = now.Add(s.retry)
	return s.retry
}

func (s *schedule) succeeded() { s.retry, s.notBefore = 0, time.Time{} }
