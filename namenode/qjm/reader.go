package qjm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/namenode/qjm/quorum"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// plannedSegment is one segment an EditStream reads: txids start..last
// of the segment beginning at start.
type plannedSegment struct {
	start, last int64
	inProgress  bool
	// sources are the nodes that hold the segment up to last, in the
	// order they are tried.
	sources []int
	// preloaded holds framed records fetched by getJournaledEdits; when
	// set, sources are not used.
	preloaded []byte
}

func (p plannedSegment) name() string {
	if p.inProgress {
		return edits.InProgressName(p.start)
	}
	return edits.FinalizedName(p.start, p.last)
}

// SelectInputStreams plans reading the journal from fromTxID: the
// finalized segments a quorum's manifests list, then, if inProgressOK,
// the in-progress segment up to the last txid a majority of JournalNodes
// hold (durable on a quorum, so recovery cannot lose it). In-progress
// edits come from the JournalNodes' caches (getJournaledEdits) when
// Config.InProgressRPC is set and a quorum can serve them, else from the
// segment file over HTTP.
//
// The returned stream yields every txid from fromTxID on, in order and
// without gaps, up to what was durable at selection time; a stream that
// cannot do so fails (ErrGap, ErrEditsUnavailable, or a corruption error
// naming the JournalNode and segment). It never skips a record.
func (m *Manager) SelectInputStreams(ctx context.Context, fromTxID int64, inProgressOK bool) (*EditStream, error) {
	if fromTxID < 1 {
		return nil, fmt.Errorf("qjm: bad fromTxID %d", fromTxID)
	}
	a, err := quorumCall(ctx, m.set, "getEditLogManifest", m.cfg.Timeouts.SelectInputStreams, func(c *channel, n chan<- int) *future[*qjournalpb.GetEditLogManifestResponseProto] {
		return c.getEditLogManifest(n, fromTxID, inProgressOK)
	})
	if err != nil {
		return nil, err
	}
	type finalized struct {
		end     int64
		sources []int
	}
	fin := map[int64]*finalized{}
	inProg := map[int64]map[int]int64{} // start -> node -> end
	responders := a.successes()
	for _, i := range responders {
		r := a.val[i]
		c := m.set.chans[i]
		c.setHTTPURL(httpBase(c.addr, r.GetFromURL(), r.GetHttpPort()))
		for _, l := range r.GetManifest().GetLogs() {
			start, end := int64(l.GetStartTxId()), int64(l.GetEndTxId())
			if l.GetIsInProgress() {
				if inProg[start] == nil {
					inProg[start] = map[int]int64{}
				}
				inProg[start][i] = end
				continue
			}
			f := fin[start]
			if f == nil {
				fin[start] = &finalized{end: end, sources: []int{i}}
				continue
			}
			if f.end != end {
				return nil, fmt.Errorf("%w: segment %d ends at %d on %s but at %d on %s", ErrFinalizedMismatch,
					start, f.end, m.set.chans[f.sources[0]].addr, end, c.addr)
			}
			f.sources = append(f.sources, i)
		}
	}
	s := &EditStream{m: m, next: fromTxID}
	next := fromTxID
	starts := make([]int64, 0, len(fin))
	for st := range fin {
		starts = append(starts, st)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	for _, st := range starts {
		f := fin[st]
		if f.end < next {
			continue
		}
		if st > next {
			return nil, fmt.Errorf("%w: no segment holds txid %d; the next finalized segment is %s", ErrGap, next, edits.FinalizedName(st, f.end))
		}
		s.plan = append(s.plan, plannedSegment{start: st, last: f.end, sources: f.sources})
		next = f.end + 1
	}
	if inProgressOK {
		// The latest in-progress segment at or before next that no
		// finalized segment replaced.
		var ipStart int64 = -1
		for st := range inProg {
			if _, done := fin[st]; !done && st <= next && st > ipStart {
				ipStart = st
			}
		}
		for st := range inProg {
			if st > next {
				return nil, fmt.Errorf("%w: no segment holds txid %d; an in-progress segment starts at %d", ErrGap, next, st)
			}
		}
		if ipStart >= 0 {
			p, err := m.planInProgress(ctx, ipStart, next, inProg[ipStart], responders)
			if err != nil {
				return nil, err
			}
			if p != nil {
				s.plan = append(s.plan, *p)
			}
		}
	}
	return s, nil
}

// planInProgress plans reading the in-progress segment start from txid
// next, up to what a majority holds.
func (m *Manager) planInProgress(ctx context.Context, start, next int64, ends map[int]int64, responders []int) (*plannedSegment, error) {
	n := len(m.set.chans)
	if m.cfg.InProgressRPC {
		p, err := m.planInProgressRPC(ctx, start, next)
		switch {
		case err == nil && p != nil:
			return p, nil
		case err != nil:
			m.log.Info("reading in-progress edits over HTTP: the JournalNodes' caches cannot serve them", zap.Int64("fromTxID", next), zap.Error(err))
		}
		// Nothing from the caches: a restarted JournalNode's cache is empty
		// while its segment file holds the edits, so the manifests decide
		// (below) whether a majority holds more than the caches served.
	}
	var values []int64
	for _, i := range responders {
		if e, ok := ends[i]; ok {
			values = append(values, e)
		} else {
			values = append(values, start-1)
		}
	}
	durable, ok := quorum.CommittedValue(n, values)
	if !ok || durable < next {
		return nil, nil
	}
	p := &plannedSegment{start: start, last: durable, inProgress: true}
	for _, i := range responders {
		if e, ok := ends[i]; ok && e >= durable {
			p.sources = append(p.sources, i)
		}
	}
	return p, nil
}

// planInProgressRPC fetches in-progress edits from txid next out of the
// JournalNodes' caches, keeping only as many as a majority returned.
func (m *Manager) planInProgressRPC(ctx context.Context, start, next int64) (*plannedSegment, error) {
	a, err := quorumCall(ctx, m.set, "getJournaledEdits", m.cfg.Timeouts.SelectInputStreams, func(c *channel, notify chan<- int) *future[*qjournalpb.GetJournaledEditsResponseProto] {
		return c.getJournaledEdits(notify, next, m.cfg.RPCMaxTxns)
	})
	if err != nil {
		return nil, err
	}
	var counts []int64
	for _, i := range a.successes() {
		counts = append(counts, int64(a.val[i].GetTxnCount()))
	}
	k, ok := quorum.CommittedValue(len(m.set.chans), counts)
	if !ok {
		return nil, fmt.Errorf("qjm: too few getJournaledEdits answers (%d)", len(counts))
	}
	if k == 0 {
		return nil, nil
	}
	for _, i := range a.successes() {
		r := a.val[i]
		if int64(r.GetTxnCount()) < k {
			continue
		}
		// Keep exactly k records.
		b := r.GetEditLog()
		off := 0
		for j := int64(0); j < k; j++ {
			rec, sz, err := edits.DecodeRecord(b[off:])
			if err == nil && rec.TxID != next+j {
				err = fmt.Errorf("%w: record %d has txid %d, want %d", edits.ErrCorrupt, j, rec.TxID, next+j)
			}
			if err != nil {
				return nil, fmt.Errorf("qjm: getJournaledEdits from %s (segment %d, txid %d): %w", m.set.chans[i].addr, start, next+j, err)
			}
			off += sz
		}
		return &plannedSegment{start: start, last: next + k - 1, inProgress: true, preloaded: b[:off]}, nil
	}
	return nil, errors.New("qjm: no getJournaledEdits answer holds the majority count") // cannot happen
}

// EditStream yields edits in txid order, as planned by
// SelectInputStreams. Not safe for concurrent use; Close it.
type EditStream struct {
	m    *Manager
	plan []plannedSegment
	idx  int
	// next is the txid Next returns next.
	next int64
	// src is the open download of plan[idx], nil if none; srcIdx is the
	// position in plan[idx].sources being read, and errs the failures of
	// earlier sources of this segment.
	src     *segmentReader
	srcIdx  int
	errs    []string
	corrupt bool
	// pre is the read offset in plan[idx].preloaded.
	pre int
	err error
}

// LastTxID is the last txid the stream will return (fromTxID-1 if none).
func (s *EditStream) LastTxID() int64 {
	if len(s.plan) == 0 {
		return s.next - 1
	}
	return s.plan[len(s.plan)-1].last
}

// Next returns the next edit, or io.EOF after the last planned one. The
// record's Op is the caller's.
func (s *EditStream) Next(ctx context.Context) (edits.Record, error) {
	for s.err == nil {
		if s.idx >= len(s.plan) {
			return edits.Record{}, io.EOF
		}
		p := &s.plan[s.idx]
		if s.next > p.last {
			s.closeSource()
			s.idx++
			s.srcIdx, s.errs, s.corrupt, s.pre = 0, nil, false, 0
			continue
		}
		if p.preloaded != nil {
			rec, n, err := edits.DecodeRecord(p.preloaded[s.pre:])
			if err != nil || rec.TxID != s.next {
				s.err = fmt.Errorf("qjm: in-progress edits of segment %d at txid %d: %w", p.start, s.next, errors.Join(edits.ErrCorrupt, err))
				break
			}
			s.pre += n
			s.next++
			rec.Op = bytes.Clone(rec.Op)
			return rec, nil
		}
		rec, err := s.readSource(ctx, p)
		if err != nil {
			continue // readSource moved to another source or set s.err
		}
		return rec, nil
	}
	return edits.Record{}, s.err
}

// readSource returns the next record of p from the current source,
// opening one if needed. On a source's failure it records why, moves to
// the next source and returns an error (the caller loops); when none is
// left it sets s.err.
func (s *EditStream) readSource(ctx context.Context, p *plannedSegment) (edits.Record, error) {
	if s.srcIdx >= len(p.sources) {
		kind := ErrEditsUnavailable
		if s.corrupt {
			kind = edits.ErrCorrupt
		}
		s.err = fmt.Errorf("%w: no JournalNode could serve txid %d of segment %s: %s", kind, s.next, p.name(), strings.Join(s.errs, "; "))
		return edits.Record{}, s.err
	}
	node := p.sources[s.srcIdx]
	c := s.m.set.chans[node]
	fail := func(err error) (edits.Record, error) {
		s.closeSource()
		if errors.Is(err, edits.ErrCorrupt) {
			s.corrupt = true
			s.m.log.Error("corrupt edits on a JournalNode", zap.String("journalnode", c.addr), zap.String("segment", p.name()), zap.Error(err))
		}
		s.errs = append(s.errs, c.addr+": "+err.Error())
		s.srcIdx++
		if ctx.Err() != nil {
			s.err = fmt.Errorf("qjm: reading segment %s: %w", p.name(), ctx.Err())
		}
		return edits.Record{}, err
	}
	if s.src == nil {
		base := c.httpURL()
		if base == "" {
			return fail(errors.New("no HTTP address known"))
		}
		body, err := c.t.Fetch(ctx, s.m.segmentURL(base, p.start))
		if err != nil {
			return fail(err)
		}
		s.src = &segmentReader{body: body, r: bufio.NewReaderSize(body, 64<<10), name: c.addr + " " + p.name(), want: p.start}
		if err := s.src.readHeader(); err != nil {
			return fail(err)
		}
	}
	for {
		rec, err := s.src.next()
		if err == io.EOF {
			return fail(fmt.Errorf("segment ends at txid %d, before txid %d", s.src.want-1, p.last))
		}
		if err != nil {
			return fail(err)
		}
		if rec.TxID < s.next {
			continue // resuming on another source, or fromTxID inside the segment
		}
		s.next++
		return rec, nil
	}
}

func (s *EditStream) closeSource() {
	if s.src != nil {
		s.src.body.Close()
		s.src = nil
	}
}

// Close releases the stream's download, if any.
func (s *EditStream) Close() error {
	s.closeSource()
	if s.err == nil {
		s.err = ErrClosed
	}
	return nil
}

// segmentReader decodes a segment file as it downloads, checking every
// record's CRC and that txids are contiguous from the segment start.
type segmentReader struct {
	body io.ReadCloser
	r    *bufio.Reader
	name string
	off  int64
	// want is the txid the next record must carry.
	want int64
}

func (r *segmentReader) corrupt(format string, args ...any) error {
	return &edits.CorruptionError{File: r.name, Offset: r.off, Reason: fmt.Sprintf(format, args...)}
}

func (r *segmentReader) readHeader() error {
	var h [edits.SegmentHeaderSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return fmt.Errorf("%s: reading segment header: %w", r.name, err)
	}
	if !bytes.Equal(h[:4], edits.Magic[:]) {
		return r.corrupt("bad segment magic %q", h[:4])
	}
	if v := binary.BigEndian.Uint32(h[4:8]); v != edits.LayoutVersion {
		return r.corrupt("unsupported layout version %d", v)
	}
	r.off = edits.SegmentHeaderSize
	return nil
}

// next returns the next record; io.EOF at a clean end.
func (r *segmentReader) next() (edits.Record, error) {
	var h [edits.RecordHeaderSize]byte
	n, err := io.ReadFull(r.r, h[:])
	if err == io.EOF {
		return edits.Record{}, io.EOF
	}
	if err != nil {
		return edits.Record{}, fmt.Errorf("%s at offset %d (%d header bytes): %w", r.name, r.off, n, err)
	}
	length := binary.BigEndian.Uint32(h[0:4])
	if length == 0 || length > edits.MaxOpSize {
		return edits.Record{}, r.corrupt("op length %d out of range", length)
	}
	buf := make([]byte, edits.RecordHeaderSize+int(length))
	copy(buf, h[:])
	if _, err := io.ReadFull(r.r, buf[edits.RecordHeaderSize:]); err != nil {
		return edits.Record{}, fmt.Errorf("%s at offset %d: %w", r.name, r.off, err)
	}
	rec, _, err := edits.DecodeRecord(buf)
	if err != nil {
		return edits.Record{}, r.corrupt("record for txid %d: %v", r.want, err)
	}
	if rec.TxID != r.want {
		return edits.Record{}, r.corrupt("record has txid %d, want %d", rec.TxID, r.want)
	}
	r.off += int64(len(buf))
	r.want++
	return rec, nil
}
