package qjm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// Protocol is the RPC protocol name JournalNodes serve.
const Protocol = "org.apache.hadoop.hdfs.qjournal.protocol.QJournalProtocol"

// transport carries calls to one JournalNode. The manager uses RPC and
// HTTP (rpcTransport); tests substitute fakes.
type transport interface {
	// Call runs one QJournalProtocol method.
	Call(ctx context.Context, method string, req, resp proto.Message) error
	// Fetch opens url, a getJournal address on some JournalNode.
	Fetch(ctx context.Context, url string) (io.ReadCloser, error)
}

// future is the result of one call queued on a channel. done is closed
// once val and err are set.
type future[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func newFuture[T any]() *future[T] { return &future[T]{done: make(chan struct{})} }

func (f *future[T]) complete(v T, err error) {
	f.val, f.err = v, err
	close(f.done)
}

// result blocks until the call finished.
func (f *future[T]) result() (T, error) {
	<-f.done
	return f.val, f.err
}

// channel is the writer's connection to one JournalNode: Hadoop's
// IPCLoggerChannel. Calls are queued and executed one at a time, in the
// order they were submitted, by one goroutine, so the JournalNode sees
// them in IPC serial order; submission returns a future at once.
//
// Writer calls carry a RequestInfo with the channel's epoch, an IPC serial
// number taken at submission (so serials follow queue order) and the
// committed txid the writer knew at submission.
type channel struct {
	node  int
	addr  string
	jid   string
	nsID  string // nameServiceId sent with requests, may be empty
	t     transport
	log   *zap.Logger
	limit int64 // queued journal() bytes allowed; <= 0 means unlimited
	// committed is shared by every channel of a logger set.
	committed *atomic.Int64

	// outOfSync is set when a journal() failed or was refused: the node
	// missed txids, so journal() calls are skipped until a startLogSegment
	// succeeds on it. Written by the worker (and by submitters refusing a
	// batch for the queue limit).
	outOfSync atomic.Bool

	ctx    context.Context // cancelled by close; runs every call
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		closed bool
		epoch  int64
		serial int64
		// httpURL is the node's HTTP base (from getJournalState).
		httpURL string
		// queue holds calls not started yet, in submission order.
		queue []queued
		// queuedBytes counts the record bytes of queued and running
		// journal() calls. Invariant: queuedBytes >= 0.
		queuedBytes int64
	}
	wake chan struct{} // one token: the queue may be non-empty

	// journalRPCs counts journal() RPCs sent (after merging).
	journalRPCs atomic.Int64
}

func newChannel(node int, addr, jid, nsID string, t transport, limit int64, committed *atomic.Int64, log *zap.Logger) *channel {
	c := &channel{node: node, addr: addr, jid: jid, nsID: nsID, t: t, limit: limit, committed: committed,
		log: log.With(zap.String("journalnode", addr)), wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *channel) String() string { return c.addr }

// queued is one call waiting on a channel: run, or for journal() j,
// which the worker may merge with the journal() calls queued behind it.
type queued struct {
	run func(context.Context)
	j   *journalCall
}

// journalCall is one journal() batch waiting on a channel.
type journalCall struct {
	req  *qjournalpb.JournalRequestProto
	size int64
	f    *future[struct{}]
	// notify is the quorum call's notification channel, may be nil.
	notify chan<- int
}

// maxMergeBytes bounds one merged journal() request.
const maxMergeBytes = 8 << 20

// run executes queued calls in order until close.
func (c *channel) run() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if len(c.mu.queue) == 0 {
			closed := c.mu.closed
			c.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-c.wake:
			case <-c.ctx.Done():
			}
			continue
		}
		q := c.mu.queue[0]
		c.mu.queue[0] = queued{}
		c.mu.queue = c.mu.queue[1:]
		if q.j == nil {
			c.mu.Unlock()
			q.run(c.ctx)
			continue
		}
		// Group commit on the wire: journal() batches that queued up
		// behind the previous call go out as one RPC, if contiguous.
		batch := []*journalCall{q.j}
		size := q.j.size
		for len(c.mu.queue) > 0 {
			n := c.mu.queue[0].j
			last := batch[len(batch)-1].req
			if n == nil || n.req.GetSegmentTxnId() != last.GetSegmentTxnId() ||
				n.req.GetFirstTxnId() != last.GetFirstTxnId()+uint64(last.GetNumTxns()) || size+n.size > maxMergeBytes {
				break
			}
			batch = append(batch, n)
			size += n.size
			c.mu.queue[0] = queued{}
			c.mu.queue = c.mu.queue[1:]
		}
		c.mu.Unlock()
		c.execJournal(c.ctx, batch)
	}
}

// enqueue adds fn to the queue. Once closed, fn still runs, with a
// cancelled context, so every future completes.
func (c *channel) enqueueLocked(q queued) {
	c.mu.queue = append(c.mu.queue, q)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close cancels running and queued calls (they complete with errors) and
// waits for the worker.
func (c *channel) close() {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func (c *channel) setEpoch(e int64) {
	c.mu.Lock()
	c.mu.epoch = e
	c.mu.Unlock()
}

func (c *channel) setHTTPURL(u string) {
	c.mu.Lock()
	c.mu.httpURL = u
	c.mu.Unlock()
}

func (c *channel) httpURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.httpURL
}

func (c *channel) queuedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.queuedBytes
}

func (c *channel) journalID() *qjournalpb.JournalIdProto {
	return &qjournalpb.JournalIdProto{Identifier: proto.String(c.jid)}
}

func (c *channel) nameService() *string {
	if c.nsID == "" {
		return nil
	}
	return proto.String(c.nsID)
}

// reqInfoLocked stamps the next writer request.
func (c *channel) reqInfoLocked() *qjournalpb.RequestInfoProto {
	c.mu.serial++
	ri := &qjournalpb.RequestInfoProto{
		JournalId:       c.journalID(),
		Epoch:           proto.Uint64(uint64(c.mu.epoch)),
		IpcSerialNumber: proto.Uint64(uint64(c.mu.serial)),
		NameServiceId:   c.nameService(),
	}
	if ct := c.committed.Load(); ct > 0 {
		ri.CommittedTxId = proto.Uint64(uint64(ct))
	}
	return ri
}

// submit queues one call. build runs under the lock at submission (so it
// can stamp a RequestInfo in queue order); exec runs on the worker.
func submit[T any](c *channel, notify chan<- int, build func() proto.Message, exec func(ctx context.Context, req proto.Message) (T, error)) *future[T] {
	f := newFuture[T]()
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		var zero T
		f.complete(zero, ErrClosed)
		signal(notify, c.node)
		return f
	}
	var req proto.Message
	if build != nil {
		req = build()
	}
	c.enqueueLocked(queued{run: func(ctx context.Context) {
		var v T
		err := ctx.Err()
		if err == nil {
			v, err = exec(ctx, req)
		} else {
			err = ErrClosed
		}
		f.complete(v, err)
		signal(notify, c.node)
	}})
	c.mu.Unlock()
	return f
}

func signal(notify chan<- int, node int) {
	if notify != nil {
		notify <- node // buffered for every node of the call
	}
}

// call is a plain RPC on the worker.
func call[Resp proto.Message](c *channel, notify chan<- int, method string, build func() proto.Message, resp func() Resp) *future[Resp] {
	return submit(c, notify, build, func(ctx context.Context, req proto.Message) (Resp, error) {
		r := resp()
		if err := c.t.Call(ctx, method, req, r); err != nil {
			var zero Resp
			return zero, err
		}
		return r, nil
	})
}

func (c *channel) isFormatted(notify chan<- int) *future[*qjournalpb.IsFormattedResponseProto] {
	return call(c, notify, "isFormatted", func() proto.Message {
		return &qjournalpb.IsFormattedRequestProto{Jid: c.journalID(), NameServiceId: c.nameService()}
	}, func() *qjournalpb.IsFormattedResponseProto { return new(qjournalpb.IsFormattedResponseProto) })
}

func (c *channel) getJournalState(notify chan<- int) *future[*qjournalpb.GetJournalStateResponseProto] {
	return call(c, notify, "getJournalState", func() proto.Message {
		return &qjournalpb.GetJournalStateRequestProto{Jid: c.journalID(), NameServiceId: c.nameService()}
	}, func() *qjournalpb.GetJournalStateResponseProto { return new(qjournalpb.GetJournalStateResponseProto) })
}

func (c *channel) getEditLogManifest(notify chan<- int, since int64, inProgressOK bool) *future[*qjournalpb.GetEditLogManifestResponseProto] {
	return call(c, notify, "getEditLogManifest", func() proto.Message {
		return &qjournalpb.GetEditLogManifestRequestProto{Jid: c.journalID(), SinceTxId: proto.Uint64(uint64(since)),
			InProgressOk: proto.Bool(inProgressOK), NameServiceId: c.nameService()}
	}, func() *qjournalpb.GetEditLogManifestResponseProto {
		return new(qjournalpb.GetEditLogManifestResponseProto)
	})
}

func (c *channel) getJournaledEdits(notify chan<- int, since int64, maxTxns int) *future[*qjournalpb.GetJournaledEditsResponseProto] {
	return call(c, notify, "getJournaledEdits", func() proto.Message {
		return &qjournalpb.GetJournaledEditsRequestProto{Jid: c.journalID(), SinceTxId: proto.Uint64(uint64(since)),
			MaxTxns: proto.Uint32(uint32(maxTxns)), NameServiceId: c.nameService()}
	}, func() *qjournalpb.GetJournaledEditsResponseProto {
		return new(qjournalpb.GetJournaledEditsResponseProto)
	})
}

func (c *channel) newEpoch(notify chan<- int, build func() *qjournalpb.NewEpochRequestProto) *future[*qjournalpb.NewEpochResponseProto] {
	return call(c, notify, "newEpoch", func() proto.Message {
		r := build()
		r.Jid, r.NameServiceId = c.journalID(), c.nameService()
		return r
	}, func() *qjournalpb.NewEpochResponseProto { return new(qjournalpb.NewEpochResponseProto) })
}

func (c *channel) format(notify chan<- int, build func() *qjournalpb.FormatRequestProto) *future[*qjournalpb.FormatResponseProto] {
	return call(c, notify, "format", func() proto.Message {
		r := build()
		r.Jid, r.NameServiceId = c.journalID(), c.nameService()
		return r
	}, func() *qjournalpb.FormatResponseProto { return new(qjournalpb.FormatResponseProto) })
}

func (c *channel) prepareRecovery(notify chan<- int, segTxID int64) *future[*qjournalpb.PrepareRecoveryResponseProto] {
	return call(c, notify, "prepareRecovery", func() proto.Message {
		return &qjournalpb.PrepareRecoveryRequestProto{ReqInfo: c.reqInfoLocked(), SegmentTxId: proto.Uint64(uint64(segTxID))}
	}, func() *qjournalpb.PrepareRecoveryResponseProto { return new(qjournalpb.PrepareRecoveryResponseProto) })
}

func (c *channel) acceptRecovery(notify chan<- int, seg SegmentState, fromURL string) *future[*qjournalpb.AcceptRecoveryResponseProto] {
	return call(c, notify, "acceptRecovery", func() proto.Message {
		return &qjournalpb.AcceptRecoveryRequestProto{ReqInfo: c.reqInfoLocked(), StateToAccept: segmentProto(seg), FromURL: proto.String(fromURL)}
	}, func() *qjournalpb.AcceptRecoveryResponseProto { return new(qjournalpb.AcceptRecoveryResponseProto) })
}

func (c *channel) finalizeLogSegment(notify chan<- int, first, last int64) *future[*qjournalpb.FinalizeLogSegmentResponseProto] {
	return call(c, notify, "finalizeLogSegment", func() proto.Message {
		return &qjournalpb.FinalizeLogSegmentRequestProto{ReqInfo: c.reqInfoLocked(), StartTxId: proto.Uint64(uint64(first)), EndTxId: proto.Uint64(uint64(last))}
	}, func() *qjournalpb.FinalizeLogSegmentResponseProto {
		return new(qjournalpb.FinalizeLogSegmentResponseProto)
	})
}

func (c *channel) purgeLogs(notify chan<- int, minTxIDToKeep int64) *future[*qjournalpb.PurgeLogsResponseProto] {
	return call(c, notify, "purgeLogs", func() proto.Message {
		return &qjournalpb.PurgeLogsRequestProto{ReqInfo: c.reqInfoLocked(), MinTxIdToKeep: proto.Uint64(uint64(minTxIDToKeep))}
	}, func() *qjournalpb.PurgeLogsResponseProto { return new(qjournalpb.PurgeLogsResponseProto) })
}

func (c *channel) heartbeat(notify chan<- int) *future[*qjournalpb.HeartbeatResponseProto] {
	return call(c, notify, "heartbeat", func() proto.Message {
		return &qjournalpb.HeartbeatRequestProto{ReqInfo: c.reqInfoLocked()}
	}, func() *qjournalpb.HeartbeatResponseProto { return new(qjournalpb.HeartbeatResponseProto) })
}

// startLogSegment opens segment txid on the node; on success the channel
// is back in sync.
func (c *channel) startLogSegment(notify chan<- int, txid int64, layoutVersion int32) *future[*qjournalpb.StartLogSegmentResponseProto] {
	return submit(c, notify, func() proto.Message {
		return &qjournalpb.StartLogSegmentRequestProto{ReqInfo: c.reqInfoLocked(), Txid: proto.Uint64(uint64(txid)), LayoutVersion: proto.Int32(layoutVersion)}
	}, func(ctx context.Context, req proto.Message) (*qjournalpb.StartLogSegmentResponseProto, error) {
		resp := new(qjournalpb.StartLogSegmentResponseProto)
		if err := c.t.Call(ctx, "startLogSegment", req, resp); err != nil {
			return nil, err
		}
		if c.outOfSync.Swap(false) {
			c.log.Info("JournalNode back in sync at the new segment", zap.Int64("segment", txid))
		}
		return resp, nil
	})
}

// journal sends records (numTxns framed records from firstTxID) of
// segment segTxID. It fails at once with ErrLoggerTooFarBehind if the
// queue would exceed its byte limit, and on the worker with ErrOutOfSync
// while the channel is out of sync. A failure puts the channel out of
// sync: the node now lacks txids the writer will not resend.
func (c *channel) journal(notify chan<- int, segTxID, firstTxID int64, numTxns int, records []byte) *future[struct{}] {
	size := int64(len(records))
	c.mu.Lock()
	if !c.mu.closed && c.limit > 0 && c.mu.queuedBytes > 0 && c.mu.queuedBytes+size > c.limit {
		queued := c.mu.queuedBytes
		c.mu.Unlock()
		c.outOfSync.Store(true)
		c.log.Warn("pending edits exceed the queue limit; dropping this batch for the JournalNode",
			zap.Int64("limitBytes", c.limit), zap.Int64("queuedBytes", queued), zap.Int64("batchBytes", size))
		f := newFuture[struct{}]()
		f.complete(struct{}{}, fmt.Errorf("%w: pending edits to %s would exceed the queue limit of %d bytes (%d bytes queued, batch of %d bytes, txids %d-%d); will write to it again after the next segment starts",
			ErrLoggerTooFarBehind, c.addr, c.limit, queued, size, firstTxID, firstTxID+int64(numTxns)-1))
		signal(notify, c.node)
		return f
	}
	f := newFuture[struct{}]()
	if c.mu.closed {
		c.mu.Unlock()
		f.complete(struct{}{}, ErrClosed)
		signal(notify, c.node)
		return f
	}
	c.mu.queuedBytes += size
	req := &qjournalpb.JournalRequestProto{ReqInfo: c.reqInfoLocked(), FirstTxnId: proto.Uint64(uint64(firstTxID)),
		NumTxns: proto.Uint32(uint32(numTxns)), Records: records, SegmentTxnId: proto.Uint64(uint64(segTxID)), NameServiceId: c.nameService()}
	c.enqueueLocked(queued{j: &journalCall{req: req, size: size, f: f, notify: notify}})
	c.mu.Unlock()
	return f
}

// execJournal sends batch (contiguous journal() calls, in order) as one
// RPC and completes each call with its result. The merged request carries
// the last call's RequestInfo: the highest serial and the newest committed
// txid.
func (c *channel) execJournal(ctx context.Context, batch []*journalCall) {
	var size int64
	for _, j := range batch {
		size += j.size
	}
	first, last := batch[0].req, batch[len(batch)-1].req
	lastTxID := int64(last.GetFirstTxnId()) + int64(last.GetNumTxns()) - 1
	err := ctx.Err()
	switch {
	case err != nil:
		err = ErrClosed
	case c.outOfSync.Load():
		err = fmt.Errorf("%w: %s disabled until the next segment starts", ErrOutOfSync, c.addr)
	default:
		req := first
		if len(batch) > 1 {
			records := make([]byte, 0, size)
			var n uint32
			for _, j := range batch {
				records = append(records, j.req.GetRecords()...)
				n += j.req.GetNumTxns()
			}
			req = &qjournalpb.JournalRequestProto{ReqInfo: last.GetReqInfo(), FirstTxnId: first.FirstTxnId,
				NumTxns: proto.Uint32(n), Records: records, SegmentTxnId: first.SegmentTxnId, NameServiceId: first.NameServiceId}
		}
		c.journalRPCs.Add(1)
		err = c.t.Call(ctx, "journal", req, new(qjournalpb.JournalResponseProto))
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("JournalNode failed to write txns; will try again after the next segment starts",
					zap.Uint64("firstTxID", first.GetFirstTxnId()), zap.Int64("lastTxID", lastTxID), zap.Error(err))
			}
			c.outOfSync.Store(true)
		}
	}
	c.release(size)
	for _, j := range batch {
		j.f.complete(struct{}{}, err)
		signal(j.notify, c.node)
	}
}

func (c *channel) release(size int64) {
	c.mu.Lock()
	c.mu.queuedBytes -= size
	if c.mu.queuedBytes < 0 {
		panic(fmt.Sprintf("qjm: negative queued bytes %d for %s", c.mu.queuedBytes, c.addr))
	}
	c.mu.Unlock()
}

func segmentProto(s SegmentState) *qjournalpb.SegmentStateProto {
	return &qjournalpb.SegmentStateProto{StartTxId: proto.Uint64(uint64(s.StartTxID)), EndTxId: proto.Uint64(uint64(s.EndTxID)), IsInProgress: proto.Bool(s.InProgress)}
}
