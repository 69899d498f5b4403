package qjm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// Timeouts bound each quorum wait: how long the writer waits for a
// majority of JournalNodes to answer one call. Keys and defaults are
// Hadoop's dfs.qjournal.*.timeout.ms.
type Timeouts struct {
	StartSegment       time.Duration // dfs.qjournal.start-segment.timeout.ms, 20000
	PrepareRecovery    time.Duration // dfs.qjournal.prepare-recovery.timeout.ms, 120000
	AcceptRecovery     time.Duration // dfs.qjournal.accept-recovery.timeout.ms, 120000
	FinalizeSegment    time.Duration // dfs.qjournal.finalize-segment.timeout.ms, 120000
	SelectInputStreams time.Duration // dfs.qjournal.select-input-streams.timeout.ms, 20000
	GetJournalState    time.Duration // dfs.qjournal.get-journal-state.timeout.ms, 120000
	NewEpoch           time.Duration // dfs.qjournal.new-epoch.timeout.ms, 120000
	WriteTxns          time.Duration // dfs.qjournal.write-txns.timeout.ms, 20000
	// Format bounds format and isFormatted (Hadoop: a fixed 60s).
	Format time.Duration
	// Purge bounds purgeLogs (not configurable in Hadoop, which does not
	// wait); FinalizeSegment's default.
	Purge time.Duration
}

// DefaultTimeouts returns Hadoop's defaults.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		StartSegment:       20 * time.Second,
		PrepareRecovery:    120 * time.Second,
		AcceptRecovery:     120 * time.Second,
		FinalizeSegment:    120 * time.Second,
		SelectInputStreams: 20 * time.Second,
		GetJournalState:    120 * time.Second,
		NewEpoch:           120 * time.Second,
		WriteTxns:          20 * time.Second,
		Format:             60 * time.Second,
		Purge:              120 * time.Second,
	}
}

// Defaults of the other settings.
const (
	// DefaultQueueLimitBytes is dfs.qjournal.queued-edits.limit.mb (10).
	DefaultQueueLimitBytes = 10 << 20
	// DefaultRPCMaxTxns is dfs.ha.tail-edits.qjm.rpc.max-txns: the most
	// in-progress txns one SelectInputStreams reads with getJournaledEdits.
	DefaultRPCMaxTxns = 5000
	// DefaultHTTPTimeout is dfs.qjournal.http.open.timeout.ms and
	// .read.timeout.ms (60000).
	DefaultHTTPTimeout = 60 * time.Second
)

// Config configures a Manager. Start from DefaultConfig or ConfigFromConf.
type Config struct {
	// Journal names the JournalNodes (RPC addresses) and the journal id.
	Journal conf.QJournal
	// NameServiceID, if set, is sent with requests (federation).
	NameServiceID string
	// NSInfo identifies the namespace; format and newEpoch send it, and
	// segment downloads carry its storage info. Required.
	NSInfo *hdfspb.NamespaceInfoProto
	// User is the RPC user.
	User string
	// Timeouts bound the quorum waits.
	Timeouts Timeouts
	// QueueLimitBytes bounds the edits queued for one JournalNode; a
	// batch beyond it fails that node's vote (ErrLoggerTooFarBehind).
	// <= 0 means no limit.
	QueueLimitBytes int64
	// RPCMaxTxns bounds the in-progress txns read per SelectInputStreams.
	RPCMaxTxns int
	// InProgressRPC reads in-progress edits with getJournaledEdits
	// (dfs.ha.tail-edits.in-progress); otherwise, and when a node's cache
	// cannot serve them, the segment is downloaded over HTTP.
	InProgressRPC bool
	// HTTPTimeout bounds connecting to a JournalNode's HTTP server and
	// waiting for its answer.
	HTTPTimeout time.Duration
	// RPC, if its User is set, replaces the default RPC client settings.
	RPC rpc.ClientConfig
	// Logger receives the writer's events; nil logs nothing.
	Logger *zap.Logger

	// newTransport replaces RPC and HTTP (tests).
	newTransport func(node int, addr string) transport
}

// DefaultConfig returns Hadoop's defaults for journal q.
func DefaultConfig(q conf.QJournal, nsInfo *hdfspb.NamespaceInfoProto) Config {
	return Config{
		Journal:         q,
		NSInfo:          nsInfo,
		User:            defaultUser(),
		Timeouts:        DefaultTimeouts(),
		QueueLimitBytes: DefaultQueueLimitBytes,
		RPCMaxTxns:      DefaultRPCMaxTxns,
		InProgressRPC:   true,
		HTTPTimeout:     DefaultHTTPTimeout,
	}
}

func defaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "hdfs"
}

// ConfigFromConf reads the shared edits directory of NameNode nn of
// nameservice ns, and the dfs.qjournal.* settings.
func ConfigFromConf(c *conf.Conf, ns, nn string, nsInfo *hdfspb.NamespaceInfoProto) (Config, error) {
	q, ok, err := c.SharedEditsDir(ns, nn)
	if err != nil {
		return Config{}, err
	}
	if !ok {
		return Config{}, fmt.Errorf("qjm: %s is not set", conf.KeySharedEditsDir)
	}
	cfg := DefaultConfig(q, nsInfo)
	cfg.NameServiceID = ns
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{
		{"dfs.qjournal.start-segment.timeout.ms", &cfg.Timeouts.StartSegment},
		{"dfs.qjournal.prepare-recovery.timeout.ms", &cfg.Timeouts.PrepareRecovery},
		{"dfs.qjournal.accept-recovery.timeout.ms", &cfg.Timeouts.AcceptRecovery},
		{"dfs.qjournal.finalize-segment.timeout.ms", &cfg.Timeouts.FinalizeSegment},
		{"dfs.qjournal.select-input-streams.timeout.ms", &cfg.Timeouts.SelectInputStreams},
		{"dfs.qjournal.get-journal-state.timeout.ms", &cfg.Timeouts.GetJournalState},
		{"dfs.qjournal.new-epoch.timeout.ms", &cfg.Timeouts.NewEpoch},
		{"dfs.qjournal.write-txns.timeout.ms", &cfg.Timeouts.WriteTxns},
		{"dfs.qjournal.http.open.timeout.ms", &cfg.HTTPTimeout},
	} {
		v, err := c.GetDuration(d.key, time.Millisecond, *d.dst)
		if err != nil {
			return Config{}, err
		}
		*d.dst = v
	}
	cfg.Timeouts.Purge = cfg.Timeouts.FinalizeSegment
	mb, err := c.GetInt("dfs.qjournal.queued-edits.limit.mb", DefaultQueueLimitBytes>>20)
	if err != nil {
		return Config{}, err
	}
	cfg.QueueLimitBytes = mb << 20
	maxTxns, err := c.GetInt("dfs.ha.tail-edits.qjm.rpc.max-txns", DefaultRPCMaxTxns)
	if err != nil {
		return Config{}, err
	}
	cfg.RPCMaxTxns = int(maxTxns)
	return cfg, nil
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case len(c.Journal.Hosts) == 0:
		return errors.New("qjm: no JournalNodes")
	case c.Journal.JournalID == "":
		return errors.New("qjm: empty journal id")
	case c.NSInfo == nil || c.NSInfo.GetStorageInfo() == nil:
		return errors.New("qjm: NSInfo with storage info is required")
	case c.User == "":
		return errors.New("qjm: empty User")
	case c.RPCMaxTxns <= 0:
		return fmt.Errorf("qjm: RPCMaxTxns %d must be positive", c.RPCMaxTxns)
	}
	t := c.Timeouts
	for _, d := range []time.Duration{t.StartSegment, t.PrepareRecovery, t.AcceptRecovery, t.FinalizeSegment,
		t.SelectInputStreams, t.GetJournalState, t.NewEpoch, t.WriteTxns, t.Format, t.Purge} {
		if d <= 0 {
			return fmt.Errorf("qjm: timeouts must be positive: %+v", t)
		}
	}
	return nil
}

// Manager is the NameNode's client of a quorum journal: Hadoop's
// QuorumJournalManager. As a writer it takes an epoch (Recover), then
// opens, fills and finalizes segments; as a reader it selects edits from a
// quorum's manifests. Safe for concurrent use; Close releases it.
type Manager struct {
	cfg   Config
	log   *zap.Logger
	set   *loggerSet
	rpc   *rpc.Client // nil with test transports
	httpc *http.Client

	mu struct {
		sync.Mutex
		closed bool
		// epoch is the writer epoch a quorum promised; 0 until Recover.
		epoch int64
		// writer is the open segment, nil when none.
		writer *SegmentWriter
		// failed is the first fatal writer error; once set nothing is
		// acknowledged any more.
		failed error
	}
}

// NewManager returns a Manager for cfg. It connects lazily.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.Logger}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	m.log = m.log.With(zap.String("journal", cfg.Journal.JournalID))
	newT := cfg.newTransport
	if newT == nil {
		rc := cfg.RPC
		if rc.User == "" {
			rc = rpc.DefaultClientConfig(cfg.User)
			rc.Logger = m.log
		}
		c, err := rpc.NewClient(rc)
		if err != nil {
			return nil, err
		}
		m.rpc = c
		m.httpc = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: cfg.HTTPTimeout}).DialContext,
			ResponseHeaderTimeout: cfg.HTTPTimeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
		}}
		newT = func(_ int, addr string) transport { return &rpcTransport{c: c, addr: addr, http: m.httpc} }
	}
	m.set = &loggerSet{}
	for i, addr := range cfg.Journal.Hosts {
		m.set.chans = append(m.set.chans, newChannel(i, addr, cfg.Journal.JournalID, cfg.NameServiceID,
			newT(i, addr), cfg.QueueLimitBytes, &m.set.committed, m.log))
	}
	return m, nil
}

// Close stops every channel (queued calls fail) and closes connections.
// An open segment is left unfinalized, for the next writer to recover.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		return nil
	}
	m.mu.closed = true
	if w := m.mu.writer; w != nil {
		w.abandon(ErrClosed)
		m.mu.writer = nil
	}
	m.mu.Unlock()
	m.set.close()
	var err error
	if m.rpc != nil {
		err = m.rpc.Close()
	}
	if m.httpc != nil {
		m.httpc.CloseIdleConnections()
	}
	return err
}

func (m *Manager) String() string { return m.cfg.Journal.String() }

// Epoch returns the writer epoch (0 before Recover).
func (m *Manager) Epoch() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.epoch
}

// CommittedTxID returns the highest txid acknowledged by a quorum in
// this writer's lifetime (0 if none).
func (m *Manager) CommittedTxID() int64 { return m.set.committed.Load() }

// OutOfSync returns the JournalNodes the writer currently skips until the
// next segment starts.
func (m *Manager) OutOfSync() []string {
	var out []string
	for _, c := range m.set.chans {
		if c.outOfSync.Load() {
			out = append(out, c.addr)
		}
	}
	return out
}

// writerFailedError is the permanent state of a writer after a fatal
// failure: it matches ErrWriterFailed and unwraps to the cause.
type writerFailedError struct{ cause error }

func (e *writerFailedError) Error() string {
	return "qjm: writer failed, nothing more will be acknowledged: " + e.cause.Error()
}
func (e *writerFailedError) Is(target error) bool { return target == ErrWriterFailed }
func (e *writerFailedError) Unwrap() error        { return e.cause }

// fail makes the writer unusable for good; the first cause wins.
func (m *Manager) fail(cause error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failLocked(cause)
}

func (m *Manager) failLocked(cause error) error {
	if m.mu.failed == nil {
		m.mu.failed = &writerFailedError{cause: cause}
		m.log.Error("quorum journal writer failed; it will acknowledge nothing more", zap.Error(cause))
		if w := m.mu.writer; w != nil {
			w.abandon(m.mu.failed)
		}
	}
	return m.mu.failed
}

// checkWriterLocked returns why writer calls cannot proceed, if they can't.
func (m *Manager) checkWriterLocked() error {
	switch {
	case m.mu.closed:
		return ErrClosed
	case m.mu.failed != nil:
		return m.mu.failed
	case m.mu.epoch == 0:
		return ErrNotWriter
	}
	return nil
}

func (m *Manager) nsInfoClone() *hdfspb.NamespaceInfoProto {
	return proto.Clone(m.cfg.NSInfo).(*hdfspb.NamespaceInfoProto)
}

// Format formats the journal on every JournalNode for the namespace. All
// nodes must succeed. Unless force, it refuses if any node has data.
func (m *Manager) Format(ctx context.Context, force bool) error {
	if !force {
		has, err := m.HasSomeData(ctx)
		if err != nil {
			return err
		}
		if has {
			return fmt.Errorf("qjm: journal %s already has data on some JournalNodes; format with force to erase it", m)
		}
	}
	a, _ := allCall(ctx, m.set, "format", m.cfg.Timeouts.Format, func(c *channel, n chan<- int) *future[*qjournalpb.FormatResponseProto] {
		return c.format(n, func() *qjournalpb.FormatRequestProto {
			return &qjournalpb.FormatRequestProto{NsInfo: m.nsInfoClone(), Force: proto.Bool(force)}
		})
	})
	return m.requireAll("format", a.ok, a.err)
}

// requireAll fails unless every node succeeded.
func (m *Manager) requireAll(op string, ok []bool, errs []error) error {
	e := &QuorumError{Op: op, Majority: len(ok), N: len(ok)}
	for i, c := range m.set.chans {
		switch {
		case ok[i]:
			e.Succeeded = append(e.Succeeded, c.addr)
		case errs[i] != nil:
			e.Failures = append(e.Failures, NodeError{Node: i, Addr: c.addr, Err: errs[i]})
		default:
			e.Failures = append(e.Failures, NodeError{Node: i, Addr: c.addr, Err: fmt.Errorf("no answer within %v", m.cfg.Timeouts.Format)})
		}
	}
	if len(e.Failures) > 0 {
		return e
	}
	return nil
}

// HasSomeData reports whether any JournalNode has the journal formatted.
// Every node must answer (Hadoop: "Unable to check if JNs are ready for
// formatting").
func (m *Manager) HasSomeData(ctx context.Context) (bool, error) {
	a, _ := allCall(ctx, m.set, "isFormatted", m.cfg.Timeouts.Format, func(c *channel, n chan<- int) *future[*qjournalpb.IsFormattedResponseProto] {
		return c.isFormatted(n)
	})
	if err := m.requireAll("isFormatted", a.ok, a.err); err != nil {
		return false, fmt.Errorf("qjm: unable to check if JournalNodes are ready for formatting: %w", err)
	}
	for i := range a.val {
		if a.val[i].GetIsFormatted() {
			return true, nil
		}
	}
	return false, nil
}

// IsFormatted reports whether a quorum of JournalNodes has the journal
// formatted.
func (m *Manager) IsFormatted(ctx context.Context) (bool, error) {
	a, err := quorumCall(ctx, m.set, "isFormatted", m.cfg.Timeouts.Format, func(c *channel, n chan<- int) *future[*qjournalpb.IsFormattedResponseProto] {
		return c.isFormatted(n)
	})
	if err != nil {
		return false, err
	}
	formatted := 0
	for _, i := range a.successes() {
		if a.val[i].GetIsFormatted() {
			formatted++
		}
	}
	return formatted >= m.set.majority(), nil
}

// Recover makes this manager the writer: it takes a new epoch that a
// quorum promises (fencing every earlier writer), then recovers the
// latest unfinalized segment so that every JournalNode of a quorum holds
// the same finalized copy (see the package doc for the steps). After it,
// the caller reads the journal to its end and calls StartLogSegment at the
// next txid.
func (m *Manager) Recover(ctx context.Context) error {
	m.mu.Lock()
	if err := m.mu.closed; err {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.mu.failed != nil {
		err := m.mu.failed
		m.mu.Unlock()
		return err
	}
	if m.mu.epoch != 0 {
		m.mu.Unlock()
		return fmt.Errorf("qjm: already the writer in epoch %d", m.mu.epoch)
	}
	m.mu.Unlock()
	resps, err := m.createNewUniqueEpoch(ctx)
	if err != nil {
		return err
	}
	seg, ok := SegmentToRecover(resps)
	if !ok {
		m.log.Info("no segment to recover: the journal has none")
		return nil
	}
	if err := m.recoverUnclosedSegment(ctx, seg); err != nil {
		return m.fail(err)
	}
	return nil
}

// createNewUniqueEpoch asks a quorum for its promises, proposes the next
// epoch and has a quorum promise it.
func (m *Manager) createNewUniqueEpoch(ctx context.Context) ([]NewEpochResponse, error) {
	st, err := quorumCall(ctx, m.set, "getJournalState", m.cfg.Timeouts.GetJournalState, func(c *channel, n chan<- int) *future[*qjournalpb.GetJournalStateResponseProto] {
		return c.getJournalState(n)
	})
	if err != nil {
		return nil, err
	}
	var promised []int64
	for _, i := range st.successes() {
		promised = append(promised, int64(st.val[i].GetLastPromisedEpoch()))
		m.set.chans[i].setHTTPURL(httpBase(m.set.chans[i].addr, st.val[i].GetFromURL(), st.val[i].GetHttpPort()))
	}
	epoch, err := NextEpoch(promised)
	if err != nil {
		return nil, err
	}
	m.set.setEpoch(epoch)
	ne, err := quorumCall(ctx, m.set, "newEpoch", m.cfg.Timeouts.NewEpoch, func(c *channel, n chan<- int) *future[*qjournalpb.NewEpochResponseProto] {
		return c.newEpoch(n, func() *qjournalpb.NewEpochRequestProto {
			return &qjournalpb.NewEpochRequestProto{NsInfo: m.nsInfoClone(), Epoch: proto.Uint64(uint64(epoch))}
		})
	})
	if err != nil {
		return nil, err
	}
	var out []NewEpochResponse
	for _, i := range ne.successes() {
		r := ne.val[i]
		out = append(out, NewEpochResponse{LastSegmentTxID: int64(r.GetLastSegmentTxId()), HasLastSegmentTxID: r.LastSegmentTxId != nil})
	}
	m.mu.Lock()
	m.mu.epoch = epoch
	m.mu.Unlock()
	m.log.Info("took a new writer epoch", zap.Int64("epoch", epoch), zap.Ints("promisedBy", ne.successes()))
	return out, nil
}

// httpBase is a node's HTTP server address: fromURL when the node sent
// one, else its host with the HTTP port.
func httpBase(rpcAddr, fromURL string, httpPort uint32) string {
	if fromURL != "" {
		return strings.TrimRight(fromURL, "/")
	}
	host, _, err := net.SplitHostPort(rpcAddr)
	if err != nil {
		host = rpcAddr
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(int(httpPort)))
}

// askHTTPURL asks one node for its HTTP address (getJournalState).
func (m *Manager) askHTTPURL(ctx context.Context, node int) (string, error) {
	c := m.set.chans[node]
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeouts.GetJournalState)
	defer cancel()
	f := c.getJournalState(nil)
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	r, err := f.result()
	if err != nil {
		return "", err
	}
	base := httpBase(c.addr, r.GetFromURL(), r.GetHttpPort())
	c.setHTTPURL(base)
	return base, nil
}

// segmentURL is where a node serves segment segTxID (GetJournalEditServlet).
func (m *Manager) segmentURL(base string, segTxID int64) string {
	si := m.cfg.NSInfo.GetStorageInfo()
	storageInfo := fmt.Sprintf("%d:%d:%d:%s", int32(si.GetLayoutVersion()), si.GetNamespceID(), si.GetCTime(), si.GetClusterID())
	return base + "/getJournal?jid=" + url.QueryEscape(m.cfg.Journal.JournalID) +
		"&segmentTxId=" + strconv.FormatInt(segTxID, 10) +
		"&storageInfo=" + url.QueryEscape(storageInfo) + "&inProgressOk=true"
}

// recoverUnclosedSegment runs paxos over segment segTxID: prepare on a
// quorum, choose the best copy, have a quorum accept it (downloading it
// from the source), then finalize it.
func (m *Manager) recoverUnclosedSegment(ctx context.Context, segTxID int64) error {
	log := m.log.With(zap.Int64("segment", segTxID))
	log.Info("beginning recovery of unclosed segment")
	pr, err := quorumCall(ctx, m.set, "prepareRecovery", m.cfg.Timeouts.PrepareRecovery, func(c *channel, n chan<- int) *future[*qjournalpb.PrepareRecoveryResponseProto] {
		return c.prepareRecovery(n, segTxID)
	})
	if err != nil {
		return err
	}
	var resps []PrepareResponse
	for _, i := range pr.successes() {
		r := pr.val[i]
		p := PrepareResponse{Node: i, LastWriterEpoch: int64(r.GetLastWriterEpoch())}
		if s := r.GetSegmentState(); s != nil {
			p.Segment = &SegmentState{StartTxID: int64(s.GetStartTxId()), EndTxID: int64(s.GetEndTxId()), InProgress: s.GetIsInProgress()}
		}
		if r.AcceptedInEpoch != nil {
			p.AcceptedInEpoch, p.HasAcceptedInEpoch = int64(r.GetAcceptedInEpoch()), true
		}
		if r.LastCommittedTxId != nil {
			p.LastCommittedTxID, p.HasLastCommittedTxID = int64(r.GetLastCommittedTxId()), true
		}
		log.Info("recovery prepare answer", zap.String("journalnode", m.set.chans[i].addr), zap.Any("segment", p.Segment),
			zap.Int64("lastWriterEpoch", p.LastWriterEpoch), zap.Bool("accepted", p.HasAcceptedInEpoch))
		resps = append(resps, p)
	}
	d, err := ChooseRecovery(segTxID, resps)
	if err != nil {
		return err
	}
	if !d.Recover {
		log.Info("none of the responders had a log to recover")
		return nil
	}
	var from string
	for _, s := range d.Sources {
		if base := m.set.chans[s].httpURL(); base != "" {
			from = m.segmentURL(base, segTxID)
			break
		}
	}
	if from == "" {
		// The source answered prepare but was not among the first
		// getJournalState answers: ask it where it serves segments.
		base, err := m.askHTTPURL(ctx, d.Source)
		if err != nil {
			return fmt.Errorf("qjm: recovery of segment %d: HTTP address of source %s: %w", segTxID, m.set.chans[d.Source].addr, err)
		}
		from = m.segmentURL(base, segTxID)
	}
	log.Info("using recovery source", zap.String("source", m.set.chans[d.Source].addr), zap.Stringer("decision", d.Segment), zap.String("url", from))
	if _, err := quorumCall(ctx, m.set, "acceptRecovery", m.cfg.Timeouts.AcceptRecovery, func(c *channel, n chan<- int) *future[*qjournalpb.AcceptRecoveryResponseProto] {
		return c.acceptRecovery(n, d.Segment, from)
	}); err != nil {
		return err
	}
	if _, err := quorumCall(ctx, m.set, "finalizeLogSegment", m.cfg.Timeouts.FinalizeSegment, func(c *channel, n chan<- int) *future[*qjournalpb.FinalizeLogSegmentResponseProto] {
		return c.finalizeLogSegment(n, d.Segment.StartTxID, d.Segment.EndTxID)
	}); err != nil {
		return err
	}
	log.Info("recovered segment", zap.Stringer("segment", d.Segment))
	return nil
}

// StartLogSegment opens segment txid on a quorum and returns its writer.
// A JournalNode that was out of sync rejoins here.
func (m *Manager) StartLogSegment(ctx context.Context, txid int64) (*SegmentWriter, error) {
	m.mu.Lock()
	if err := m.checkWriterLocked(); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if w := m.mu.writer; w != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("qjm: segment %d is still open; finalize it before starting %d", w.first, txid)
	}
	m.mu.Unlock()
	if txid < 1 {
		return nil, fmt.Errorf("qjm: bad segment txid %d", txid)
	}
	if _, err := quorumCall(ctx, m.set, "startLogSegment", m.cfg.Timeouts.StartSegment, func(c *channel, n chan<- int) *future[*qjournalpb.StartLogSegmentResponseProto] {
		return c.startLogSegment(n, txid, edits.LayoutVersion)
	}); err != nil {
		return nil, m.fail(fmt.Errorf("start segment %d: %w", txid, err))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkWriterLocked(); err != nil {
		return nil, err
	}
	w := newSegmentWriter(m, txid)
	m.mu.writer = w
	return w, nil
}

// sendBatch hands n framed records from first, of segment seg, to every
// channel. The caller orders calls (SegmentWriter.flushMu) so that every
// node receives batches in txid order, then waits with finishBatch.
func (m *Manager) sendBatch(seg, first int64, n int, records []byte) (*pendingCall[struct{}], error) {
	m.mu.Lock()
	if err := m.checkWriterLocked(); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.mu.Unlock()
	return sendAll(m.set, func(c *channel, notify chan<- int) *future[struct{}] {
		return c.journal(notify, seg, first, n, records)
	}), nil
}

// finishBatch waits for a quorum to acknowledge a batch. Any failure is
// fatal for the writer: the batch's fate on the nodes is unknown, so no
// later batch may be acknowledged after it.
//
// Batches may be in flight together. A node runs its calls in order and
// skips every journal() after one that failed (out of sync), so a quorum
// for a batch implies a quorum for every earlier one.
func (m *Manager) finishBatch(ctx context.Context, p *pendingCall[struct{}], first int64, n int) error {
	if _, err := p.wait(ctx, "journal", m.cfg.Timeouts.WriteTxns); err != nil {
		return m.fail(fmt.Errorf("write txids %d-%d: %w", first, first+int64(n)-1, err))
	}
	// A failure recorded meanwhile (another path) still wins: report it
	// rather than acknowledge.
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.failed != nil {
		return m.mu.failed
	}
	m.set.setCommitted(first + int64(n) - 1)
	return nil
}

// FinalizeLogSegment finalizes segment [first, last] on a quorum. If it
// is the open segment, every txid up to last must have been synced; the
// writer is closed.
func (m *Manager) FinalizeLogSegment(ctx context.Context, first, last int64) error {
	m.mu.Lock()
	if err := m.checkWriterLocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if w := m.mu.writer; w != nil && w.first == first {
		if err := w.closeForFinalize(last); err != nil {
			m.mu.Unlock()
			return err
		}
		m.mu.writer = nil
	}
	m.mu.Unlock()
	if _, err := quorumCall(ctx, m.set, "finalizeLogSegment", m.cfg.Timeouts.FinalizeSegment, func(c *channel, n chan<- int) *future[*qjournalpb.FinalizeLogSegmentResponseProto] {
		return c.finalizeLogSegment(n, first, last)
	}); err != nil {
		return m.fail(fmt.Errorf("finalize segment %d-%d: %w", first, last, err))
	}
	return nil
}

// PurgeLogsOlderThan removes, on a quorum, finalized segments that end
// before minTxIDToKeep. A failure is returned but does not fail the
// writer unless a node fenced it.
func (m *Manager) PurgeLogsOlderThan(ctx context.Context, minTxIDToKeep int64) error {
	m.mu.Lock()
	if err := m.checkWriterLocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	m.mu.Unlock()
	_, err := quorumCall(ctx, m.set, "purgeLogs", m.cfg.Timeouts.Purge, func(c *channel, n chan<- int) *future[*qjournalpb.PurgeLogsResponseProto] {
		return c.purgeLogs(n, minTxIDToKeep)
	})
	if err != nil && errors.Is(err, ErrFenced) {
		return m.fail(err)
	}
	return err
}

// rpcTransport reaches a JournalNode over Hadoop IPC and HTTP.
type rpcTransport struct {
	c    *rpc.Client
	addr string
	http *http.Client
}

func (t *rpcTransport) Call(ctx context.Context, method string, req, resp proto.Message) error {
	return t.c.Call(ctx, t.addr, Protocol, method, req, resp)
}

func (t *rpcTransport) Fetch(ctx context.Context, u string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}
