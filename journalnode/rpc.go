package journalnode

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/journalnode/storage"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// Protocol is the declaringClassProtocolName of QJournalProtocol
// (Hadoop's QJournalProtocolPB @ProtocolInfo).
const Protocol = "org.apache.hadoop.hdfs.qjournal.protocol.QJournalProtocol"

// Java classes of storage refusals that internal/rpc's table does not
// carry because only the JournalNode sends them.
const (
	classIllegalState    = "java.lang.IllegalStateException"
	classIllegalArgument = "java.lang.IllegalArgumentException"
	classAssertion       = "java.lang.AssertionError"
	classCacheMiss       = "org.apache.hadoop.hdfs.qjournal.server.JournaledEditsCache$CacheMissException"
	classNewerTxID       = "org.apache.hadoop.hdfs.qjournal.server.NewerTxnIdException"
	classIOException     = "java.io.IOException"
)

// kindClasses maps each storage refusal kind to the Java exception class
// it travels as. Kinds not listed (and plain I/O errors) travel as
// java.io.IOException.
var kindClasses = []struct {
	kind  error
	class string
}{
	{storage.ErrNotFormatted, rpc.ClassOf(rpc.ErrJournalNotFormatted)},
	{storage.ErrOutOfSync, rpc.ClassOf(rpc.ErrJournalOutOfSync)},
	{storage.ErrIllegalState, classIllegalState},
	{storage.ErrIllegalArgument, classIllegalArgument},
	{storage.ErrAssertion, classAssertion},
	{storage.ErrCacheMiss, classCacheMiss},
	{storage.ErrNewerTxID, classNewerTxID},
	// ErrEpochTooLow, ErrNotWriterEpoch, ErrNamespaceMismatch,
	// ErrAlreadyFormatted, ErrCacheDisabled, ErrClosed: IOException.
}

// wireError turns an error from storage (or from opening a journal) into
// the *rpc.RemoteError a Hadoop client expects: the class from kindClasses
// and Hadoop's message.
func wireError(err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		for _, kc := range kindClasses {
			if errors.Is(se.Kind, kc.kind) {
				return &rpc.RemoteError{Class: kc.class, Message: se.Error()}
			}
		}
		return &rpc.RemoteError{Class: classIOException, Message: se.Error()}
	}
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return err
	}
	return &rpc.RemoteError{Class: classIOException, Message: err.Error()}
}

func (j *JournalNode) registerRPC(srv *rpc.Server) {
	srv.Register(Protocol,
		rpc.Unary("isFormatted", j.isFormatted),
		rpc.Unary("format", j.format),
		rpc.Unary("getJournalState", j.getJournalState),
		rpc.Unary("newEpoch", j.newEpoch),
		rpc.Unary("journal", j.journal),
		rpc.Unary("heartbeat", j.heartbeat),
		rpc.Unary("startLogSegment", j.startLogSegment),
		rpc.Unary("finalizeLogSegment", j.finalizeLogSegment),
		rpc.Unary("purgeLogs", j.purgeLogs),
		rpc.Unary("getEditLogManifest", j.getEditLogManifest),
		rpc.Unary("getJournaledEdits", j.getJournaledEdits),
		rpc.Unary("prepareRecovery", j.prepareRecovery),
		rpc.Unary("acceptRecovery", j.acceptRecovery),
	)
}

// journalFor opens the journal named in a request; an invalid id is
// Hadoop's IllegalArgumentException.
func (j *JournalNode) journalFor(id *qjournalpb.JournalIdProto) (*journal, error) {
	jid := id.GetIdentifier()
	if err := checkJournalID(jid); err != nil {
		return nil, &rpc.RemoteError{Class: classIllegalArgument, Message: err.Error()}
	}
	jr, err := j.getJournal(jid, false)
	if err != nil {
		return nil, wireError(err)
	}
	return jr, nil
}

// requestInfo converts the writer's RequestInfoProto.
func requestInfo(ctx context.Context, ri *qjournalpb.RequestInfoProto) storage.RequestInfo {
	r := storage.RequestInfo{
		Epoch:     int64(ri.GetEpoch()),
		IPCSerial: int64(ri.GetIpcSerialNumber()),
	}
	if ri.CommittedTxId != nil {
		r.CommittedTxID, r.HasCommittedTxID = int64(ri.GetCommittedTxId()), true
	}
	if c, ok := rpc.CallerFromContext(ctx); ok && c.RemoteAddr != nil {
		r.Client = c.RemoteAddr.String()
	}
	return r
}

func namespaceInfo(ns *hdfspb.NamespaceInfoProto) storage.NamespaceInfo {
	si := ns.GetStorageInfo()
	return storage.NamespaceInfo{
		NamespaceID:   int32(si.GetNamespceID()),
		ClusterID:     si.GetClusterID(),
		CTime:         int64(si.GetCTime()),
		LayoutVersion: int32(si.GetLayoutVersion()),
	}
}

func (j *JournalNode) isFormatted(ctx context.Context, req *qjournalpb.IsFormattedRequestProto) (*qjournalpb.IsFormattedResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	f := jr.IsFormatted()
	return &qjournalpb.IsFormattedResponseProto{IsFormatted: &f}, nil
}

func (j *JournalNode) format(ctx context.Context, req *qjournalpb.FormatRequestProto) (*qjournalpb.FormatResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	ns := namespaceInfo(req.GetNsInfo())
	if err := jr.Format(ns, req.GetForce()); err != nil {
		return nil, wireError(err)
	}
	j.log.Info("formatted journal", zap.String("journal_id", jr.JournalID()), zap.Stringer("namespace", ns))
	return &qjournalpb.FormatResponseProto{}, nil
}

func (j *JournalNode) getJournalState(ctx context.Context, req *qjournalpb.GetJournalStateRequestProto) (*qjournalpb.GetJournalStateResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	st, err := jr.GetJournalState()
	if err != nil {
		return nil, wireError(err)
	}
	epoch, port, url := uint64(st.LastPromisedEpoch), j.httpPort(), j.httpURL()
	return &qjournalpb.GetJournalStateResponseProto{LastPromisedEpoch: &epoch, HttpPort: &port, FromURL: &url}, nil
}

func (j *JournalNode) newEpoch(ctx context.Context, req *qjournalpb.NewEpochRequestProto) (*qjournalpb.NewEpochResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	// Durability: the promise is synced by storage before NewEpoch
	// returns, so it is on disk before this answer is sent.
	res, err := jr.NewEpoch(namespaceInfo(req.GetNsInfo()), int64(req.GetEpoch()))
	if err != nil {
		return nil, wireError(err)
	}
	j.log.Info("promised new epoch", zap.String("journal_id", jr.JournalID()), zap.Uint64("epoch", req.GetEpoch()))
	resp := &qjournalpb.NewEpochResponseProto{}
	if res.HasLastSegmentTxID {
		v := uint64(res.LastSegmentTxID)
		resp.LastSegmentTxId = &v
	}
	return resp, nil
}

func (j *JournalNode) journal(ctx context.Context, req *qjournalpb.JournalRequestProto) (*qjournalpb.JournalResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	// Durability: the records are fsynced by storage before Journal
	// returns, so an acknowledged txid survives a crash.
	err = jr.Journal.Journal(requestInfo(ctx, ri), int64(req.GetSegmentTxnId()), int64(req.GetFirstTxnId()), int(req.GetNumTxns()), req.GetRecords())
	if err != nil {
		return nil, wireError(err)
	}
	return &qjournalpb.JournalResponseProto{}, nil
}

func (j *JournalNode) heartbeat(ctx context.Context, req *qjournalpb.HeartbeatRequestProto) (*qjournalpb.HeartbeatResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	if err := jr.Heartbeat(requestInfo(ctx, ri)); err != nil {
		return nil, wireError(err)
	}
	return &qjournalpb.HeartbeatResponseProto{}, nil
}

func (j *JournalNode) startLogSegment(ctx context.Context, req *qjournalpb.StartLogSegmentRequestProto) (*qjournalpb.StartLogSegmentResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	lv := int32(edits.LayoutVersion)
	if req.LayoutVersion != nil {
		lv = req.GetLayoutVersion()
	}
	if err := jr.StartLogSegment(requestInfo(ctx, ri), int64(req.GetTxid()), lv); err != nil {
		return nil, wireError(err)
	}
	j.log.Info("started log segment", zap.String("journal_id", jr.JournalID()), zap.Uint64("txid", req.GetTxid()), zap.Uint64("epoch", ri.GetEpoch()))
	return &qjournalpb.StartLogSegmentResponseProto{}, nil
}

func (j *JournalNode) finalizeLogSegment(ctx context.Context, req *qjournalpb.FinalizeLogSegmentRequestProto) (*qjournalpb.FinalizeLogSegmentResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	if err := jr.FinalizeLogSegment(requestInfo(ctx, ri), int64(req.GetStartTxId()), int64(req.GetEndTxId())); err != nil {
		return nil, wireError(err)
	}
	j.log.Info("finalized log segment", zap.String("journal_id", jr.JournalID()), zap.Uint64("first_txid", req.GetStartTxId()), zap.Uint64("last_txid", req.GetEndTxId()))
	return &qjournalpb.FinalizeLogSegmentResponseProto{}, nil
}

func (j *JournalNode) purgeLogs(ctx context.Context, req *qjournalpb.PurgeLogsRequestProto) (*qjournalpb.PurgeLogsResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	if err := jr.PurgeLogsOlderThan(requestInfo(ctx, ri), int64(req.GetMinTxIdToKeep())); err != nil {
		return nil, wireError(err)
	}
	return &qjournalpb.PurgeLogsResponseProto{}, nil
}

func (j *JournalNode) getEditLogManifest(ctx context.Context, req *qjournalpb.GetEditLogManifestRequestProto) (*qjournalpb.GetEditLogManifestResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	m, err := jr.GetEditLogManifest(int64(req.GetSinceTxId()), req.GetInProgressOk())
	if err != nil {
		return nil, wireError(err)
	}
	mp := &hdfspb.RemoteEditLogManifestProto{}
	for _, l := range m.Logs {
		start, end, inProgress := uint64(l.StartTxID), uint64(l.EndTxID), l.InProgress
		mp.Logs = append(mp.Logs, &hdfspb.RemoteEditLogProto{StartTxId: &start, EndTxId: &end, IsInProgress: &inProgress})
	}
	port, url := j.httpPort(), j.httpURL()
	return &qjournalpb.GetEditLogManifestResponseProto{Manifest: mp, HttpPort: &port, FromURL: &url}, nil
}

func (j *JournalNode) getJournaledEdits(ctx context.Context, req *qjournalpb.GetJournaledEditsRequestProto) (*qjournalpb.GetJournaledEditsResponseProto, error) {
	jr, err := j.journalFor(req.GetJid())
	if err != nil {
		return nil, err
	}
	maxTxns := int(min(req.GetMaxTxns(), 1<<30))
	e, err := jr.GetJournaledEdits(int64(req.GetSinceTxId()), maxTxns)
	if err != nil {
		return nil, wireError(err)
	}
	n := uint32(e.TxnCount)
	return &qjournalpb.GetJournaledEditsResponseProto{TxnCount: &n, EditLog: e.Records}, nil
}

func (j *JournalNode) prepareRecovery(ctx context.Context, req *qjournalpb.PrepareRecoveryRequestProto) (*qjournalpb.PrepareRecoveryResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	res, err := jr.PrepareRecovery(requestInfo(ctx, ri), int64(req.GetSegmentTxId()))
	if err != nil {
		return nil, wireError(err)
	}
	lwe := uint64(res.LastWriterEpoch)
	resp := &qjournalpb.PrepareRecoveryResponseProto{LastWriterEpoch: &lwe}
	if res.Segment != nil {
		resp.SegmentState = segmentStateProto(*res.Segment)
	}
	if res.HasAcceptedInEpoch {
		v := uint64(res.AcceptedInEpoch)
		resp.AcceptedInEpoch = &v
	}
	if res.HasLastCommittedTxID {
		v := uint64(res.LastCommittedTxID)
		resp.LastCommittedTxId = &v
	}
	j.log.Info("prepared recovery", zap.String("journal_id", jr.JournalID()), zap.Uint64("segment_txid", req.GetSegmentTxId()), zap.Uint64("epoch", ri.GetEpoch()))
	return resp, nil
}

func (j *JournalNode) acceptRecovery(ctx context.Context, req *qjournalpb.AcceptRecoveryRequestProto) (*qjournalpb.AcceptRecoveryResponseProto, error) {
	ri := req.GetReqInfo()
	jr, err := j.journalFor(ri.GetJournalId())
	if err != nil {
		return nil, err
	}
	ss := req.GetStateToAccept()
	seg := storage.SegmentState{
		StartTxID:  int64(ss.GetStartTxId()),
		EndTxID:    int64(ss.GetEndTxId()),
		InProgress: ss.GetIsInProgress(),
	}
	fetch := j.fetcher(ctx, jr, req.GetFromURL())
	if err := jr.AcceptRecovery(requestInfo(ctx, ri), seg, fetch); err != nil {
		return nil, wireError(err)
	}
	j.log.Info("accepted recovery", zap.String("journal_id", jr.JournalID()), zap.Stringer("segment", seg), zap.Uint64("epoch", ri.GetEpoch()), zap.String("from_url", req.GetFromURL()))
	return &qjournalpb.AcceptRecoveryResponseProto{}, nil
}

func segmentStateProto(s storage.SegmentState) *qjournalpb.SegmentStateProto {
	start, end, ip := uint64(s.StartTxID), uint64(s.EndTxID), s.InProgress
	return &qjournalpb.SegmentStateProto{StartTxId: &start, EndTxId: &end, IsInProgress: &ip}
}
