package tablestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Source is what the shipper reads: the active NameNode's journal and
// images. Implementations must be safe for use from the shipper's
// goroutine while the NameNode serves clients.
type Source interface {
	// Info is the namespace identity the sink must hold.
	Info() (Info, error)
	// CommittedTxID is the last txid durable in the journal (quorum-synced
	// in HA): the shipper never ships past it.
	CommittedTxID() int64
	// ReadEdits calls fn with the durable edits from txid from on, in
	// order, until they run out or fn returns an error (returned as is).
	// An error wrapping ErrEditsPurged means the journal no longer holds
	// txid from. op is only valid during the call.
	ReadEdits(ctx context.Context, from int64, fn func(txid int64, op []byte) error) error
	// Images lists the txids of the local images, ascending.
	Images() ([]int64, error)
	// WriteImage writes the image of txid as one image.Stream to w.
	WriteImage(ctx context.Context, txid int64, w io.Writer) error
}

// ErrEditsPurged is wrapped by a Source's ReadEdits error when the journal
// no longer holds the first txid asked for (purged after a checkpoint):
// the shipper then uploads the newest local image and continues after it.
var ErrEditsPurged = errors.New("tablestore: edits purged from the journal")

// ShipperOptions are a Shipper's collaborators.
type ShipperOptions struct {
	// Logger receives the shipper's events; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Status is a snapshot of a shipper, for metrics and dfsadmin -metaStatus.
type Status struct {
	// Running is true between Start and Stop.
	Running bool
	// Sink names the sink.
	Sink string
	// CommittedTxID is the source's committed txid last seen; ShippedTxID
	// the last txid the sink covers (by edits or an image), 0 before the
	// sink was read.
	CommittedTxID, ShippedTxID int64
	// NewestImageTxID is the newest image in the sink, -1 when none.
	NewestImageTxID int64
	// LagTxns is CommittedTxID-ShippedTxID; Lag the age of the oldest
	// committed txid not shipped; LagP50 and LagP99 the percentiles of the
	// recent batches' lags (ack time minus first seen committed).
	LagTxns             int64
	Lag, LagP50, LagP99 time.Duration
	LastError           string
	Refused             bool
	Batches, ShippedOps int64
}

// Synced reports whether the sink holds every committed txid.
func (s Status) Synced() bool { return s.ShippedTxID >= s.CommittedTxID }

// Shipper copies a source's committed edits and images to a sink, on its
// own goroutine (Start to Stop): client writes never wait for it, and it
// holds one batch in memory at a time. shipCore makes the decisions; the
// Shipper does the I/O.
//
// # What it writes, in order
//
//  1. PutInfo, the namespace identity. ErrMismatch (the sink belongs to
//     another namespace) stops it for good: nothing is written, Status
//     says Refused, and the error is logged.
//  2. It reads the sink's high-water mark (hw): the later of LastTxID and
//     the newest image txid.
//  3. If the sink holds no image (a fresh sink, or mirroring turned on
//     late), it uploads the newest local image T first, and hw becomes
//     max(hw, T). So a chain of edits always starts right after an image.
//  4. Committed edits from hw+1 up to the committed txid it saw at the
//     start of the round, never past it. They go in txid order, in batches
//     of at most BatchMaxOps edits and BatchMaxBytes bytes. A batch always
//     takes its first edit, even one larger than BatchMaxBytes. Each batch
//     is PutEdits{First: hw+1}, and hw moves only after the sink
//     acknowledged it. ErrExists means another shipper wrote that key (an
//     old active during a failover): it reads hw again (step 2) and goes
//     on after it, so there is no gap and no duplicate.
//  5. About once a second, every local image newer than the sink's newest
//     and at most hw (from checkpoints). An image is never uploaded ahead
//     of the edits before it, except in 3 and 6.
//  6. If the journal no longer holds hw+1 (purged: ErrEditsPurged), it
//     uploads the newest local image, provided it covers hw, continues
//     after it, and logs this.
//
// Caveat: after 3 or 6 the chain jumps to an image's txid+1. If, at that
// same moment, a second shipper still follows the old chain, it can store
// a batch that overlaps the jump. A reader that starts from the newest
// image and skips txids it already has reads such a sink correctly.
//
// A sink or journal error drops the batch being built and marks hw
// unknown. The round is retried after a backoff that starts at
// DefaultRetryMin and doubles up to RetryMax. The first error is logged,
// and so is the recovery. Lag above LagWarn is logged when it appears (then
// again at most once every 30 s while it lasts), and once more when it
// falls back below.
type Shipper struct {
	src  Source
	sink Sink
	cfg  Config // the core's too; never changed
	log  *zap.Logger
	now  func() time.Time

	mu struct {
		sync.Mutex
		core    *shipCore
		running bool
	}
	cancel context.CancelFunc
	done   chan struct{}
}

// NewShipper returns a shipper of src to sink with cfg's tunables (cfg
// must be valid: Config.Validate). It does not start it.
func NewShipper(cfg Config, src Source, sink Sink, opts ShipperOptions) (*Shipper, error) {
	if src == nil || sink == nil {
		return nil, errors.New("tablestore: shipper needs a source and a sink")
	}
	if cfg.BatchMaxOps < 1 || cfg.BatchMaxBytes < 1 || cfg.PollInterval <= 0 || cfg.RetryMax < DefaultRetryMin {
		return nil, fmt.Errorf("tablestore: shipper tunables out of range: %+v", cfg)
	}
	s := &Shipper{src: src, sink: sink, cfg: cfg, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.mu.core = newShipCore(cfg)
	return s, nil
}

// Start starts shipping. Call it once; Stop ends it.
func (s *Shipper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	s.mu.Lock()
	s.mu.running = true
	s.mu.Unlock()
	go s.run(ctx)
}

// Stop stops shipping and waits for the goroutine: a batch being written
// is abandoned (its context is cancelled); what the sink acknowledged
// stays. Safe without Start and more than once.
func (s *Shipper) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.mu.Lock()
	s.mu.running = false
	s.mu.Unlock()
}

// Status returns a snapshot. Safe from any goroutine; it does no I/O.
func (s *Shipper) Status() Status {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.core
	st := Status{Running: s.mu.running, Sink: s.sink.String(), CommittedTxID: c.committed, ShippedTxID: c.hw,
		NewestImageTxID: c.sinkImage, Refused: c.refused != nil, Batches: c.batches, ShippedOps: c.ops}
	st.LagTxns, st.Lag = c.lag(now)
	st.LagP50, st.LagP99 = c.percentiles()
	if c.lastErr != nil {
		st.LastError = c.lastErr.Error()
	}
	return st
}

// withCore runs f on the core under the lock.
func (s *Shipper) withCore(f func(c *shipCore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.mu.core)
}

func (s *Shipper) run(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		wait := s.step(ctx)
		if ctx.Err() != nil {
			return
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// step is one round: identity, sink state, images, committed edits. It
// returns the pause before the next round.
func (s *Shipper) step(ctx context.Context) time.Duration {
	var refused bool
	s.withCore(func(c *shipCore) { refused = c.refused != nil })
	if refused {
		return time.Hour // until Stop: a restart re-checks the identity
	}
	shipped, err := s.round(ctx)
	if ctx.Err() != nil {
		return 0
	}
	now := s.now()
	var wait time.Duration
	var first, recovered bool
	var ev lagEvent
	var txns int64
	var age time.Duration
	s.withCore(func(c *shipCore) {
		switch {
		case errors.Is(err, ErrMismatch):
			c.refuse(err)
		case errors.Is(err, ErrExists):
			c.chainMoved()
			wait = s.cfg.PollInterval
		case err != nil:
			wait, first = c.failed(err)
		default:
			recovered = c.succeeded()
			if !shipped {
				wait = s.cfg.PollInterval
			}
		}
		ev = c.checkLag(now)
		txns, age = c.lag(now)
	})
	switch {
	case errors.Is(err, ErrMismatch):
		s.log.Error("the mirror sink holds another namespace; not shipping", zap.String("sink", s.sink.String()), zap.Error(err))
		return time.Hour
	case errors.Is(err, ErrExists):
		s.log.Info("another shipper extended the mirror chain; re-reading the sink's high-water mark", zap.String("sink", s.sink.String()))
	case err != nil && first:
		s.log.Warn("mirror shipping failed; retrying with backoff", zap.String("sink", s.sink.String()), zap.Duration("retryIn", wait), zap.Error(err))
	case err != nil:
		s.log.Debug("mirror shipping still failing", zap.Duration("retryIn", wait), zap.Error(err))
	case recovered:
		s.log.Info("mirror shipping works again; catching up", zap.String("sink", s.sink.String()), zap.Int64("lagTxns", txns))
	}
	switch ev {
	case lagHigh:
		s.log.Warn("mirror lag is high", zap.String("sink", s.sink.String()), zap.Int64("lagTxns", txns), zap.Duration("lag", age), zap.Duration("warnAbove", s.cfg.LagWarn))
	case lagRecovered:
		s.log.Info("mirror lag is back to normal", zap.String("sink", s.sink.String()), zap.Int64("lagTxns", txns), zap.Duration("lag", age))
	}
	return wait
}

// round does the I/O of one step. shipped reports whether it wrote edits
// (then the next round follows at once).
func (s *Shipper) round(ctx context.Context) (shipped bool, err error) {
	// Committed first: the lag keeps growing while the sink is down.
	committed := s.src.CommittedTxID()
	now := s.now()
	var known, needImage bool
	s.withCore(func(c *shipCore) {
		c.observeCommitted(now, committed)
		known = c.known
	})
	if !known {
		if err := s.readSink(ctx); err != nil {
			return false, err
		}
	}
	s.withCore(func(c *shipCore) { needImage = c.needsImage() })
	if needImage {
		if err := s.shipNewestImage(ctx, "the sink holds no image"); err != nil {
			return false, err
		}
	}
	committed = s.src.CommittedTxID()
	now = s.now()
	var want, imageCheck bool
	s.withCore(func(c *shipCore) {
		c.observeCommitted(now, committed)
		want = c.wantEdits()
		imageCheck = c.imageCheckDue(now)
	})
	if want {
		if shipped, err = s.shipEdits(ctx); err != nil {
			return shipped, err
		}
	}
	if imageCheck {
		if err := s.shipNewImages(ctx); err != nil {
			return shipped, err
		}
	}
	return shipped, nil
}

// readSink stores the identity (first time: ErrMismatch refuses) and reads
// the sink's high-water mark and images.
func (s *Shipper) readSink(ctx context.Context) error {
	info, err := s.src.Info()
	if err != nil {
		return fmt.Errorf("tablestore: namespace identity: %w", err)
	}
	if err := s.sink.PutInfo(ctx, info); err != nil {
		return fmt.Errorf("tablestore: store the namespace identity in %s: %w", s.sink, err)
	}
	last, err := s.sink.LastTxID(ctx)
	if err != nil {
		return fmt.Errorf("tablestore: last txid of %s: %w", s.sink, err)
	}
	imgs, err := s.sink.Images(ctx)
	if err != nil {
		return fmt.Errorf("tablestore: images of %s: %w", s.sink, err)
	}
	s.withCore(func(c *shipCore) { c.sinkState(last, imgs) })
	return nil
}

// shipNewestImage uploads the newest local image (why says when) and
// moves the chain after it.
func (s *Shipper) shipNewestImage(ctx context.Context, why string) error {
	imgs, err := s.src.Images()
	if err != nil {
		return fmt.Errorf("tablestore: local images: %w", err)
	}
	if len(imgs) == 0 {
		return errors.New("tablestore: no local image to upload")
	}
	txid := imgs[len(imgs)-1]
	if err := s.putImage(ctx, txid); err != nil {
		return err
	}
	s.log.Info("uploaded the newest image to the mirror", zap.String("why", why), zap.Int64("txid", txid), zap.String("sink", s.sink.String()))
	s.withCore(func(c *shipCore) { c.imageStored(txid) })
	return nil
}

// shipNewImages uploads the local images newer than the sink's newest that
// the chain covers.
func (s *Shipper) shipNewImages(ctx context.Context) error {
	imgs, err := s.src.Images()
	if err != nil {
		return fmt.Errorf("tablestore: local images: %w", err)
	}
	var todo []int64
	s.withCore(func(c *shipCore) { todo = c.imagesToShip(imgs) })
	for _, txid := range todo {
		if err := s.putImage(ctx, txid); err != nil {
			return err
		}
		s.log.Info("uploaded an image to the mirror", zap.Int64("txid", txid), zap.String("sink", s.sink.String()))
		s.withCore(func(c *shipCore) { c.imageStored(txid) })
	}
	return nil
}

// putImage streams the local image of txid into the sink. An image the
// sink holds already counts as uploaded.
func (s *Shipper) putImage(ctx context.Context, txid int64) error {
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := s.src.WriteImage(ctx, txid, pw)
		pw.CloseWithError(err) // nil: EOF
		werr <- err
	}()
	err := s.sink.PutImage(ctx, txid, pr)
	pr.CloseWithError(errors.New("tablestore: image upload ended")) // unblocks the writer
	wErr := <-werr
	if errors.Is(err, ErrExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tablestore: upload image %d to %s: %w", txid, s.sink, err)
	}
	if wErr != nil {
		return fmt.Errorf("tablestore: stream image %d: %w", txid, wErr)
	}
	return nil
}

// errLimit stops a journal read at the committed txid.
var errLimit = errors.New("tablestore: read reached the committed txid")

// shipEdits reads committed edits after the high-water mark and writes
// them in batches, one in memory at a time, never past the committed txid
// seen at the start of the round.
func (s *Shipper) shipEdits(ctx context.Context) (shipped bool, err error) {
	var from, limit int64
	s.withCore(func(c *shipCore) { from, limit = c.hw+1, c.shipLimit() })
	b := Batch{First: from}
	size := 0
	flush := func() error {
		if len(b.Ops) == 0 {
			return nil
		}
		if err := s.sink.PutEdits(ctx, b); err != nil {
			return fmt.Errorf("tablestore: write edits %d-%d to %s: %w", b.First, b.Last(), s.sink, err)
		}
		now := s.now()
		s.withCore(func(c *shipCore) { c.batchShipped(now, b) })
		shipped = true
		b = Batch{First: b.Last() + 1} // the sink may keep the old slice
		size = 0
		return nil
	}
	next := from
	var sinkErr error
	err = s.src.ReadEdits(ctx, from, func(txid int64, op []byte) error {
		if txid > limit {
			return errLimit
		}
		if txid != next {
			return fmt.Errorf("tablestore: the journal returned txid %d, want %d", txid, next)
		}
		next++
		if !s.cfg.fits(len(b.Ops), size, len(op)) {
			if sinkErr = flush(); sinkErr != nil {
				return sinkErr
			}
		}
		b.Ops = append(b.Ops, append([]byte(nil), op...))
		size += len(op)
		if s.cfg.full(len(b.Ops)) || txid == limit {
			sinkErr = flush()
			return sinkErr
		}
		return nil
	})
	switch {
	case sinkErr != nil:
		return shipped, sinkErr
	case errors.Is(err, ErrEditsPurged) && next == from:
		return shipped, s.jumpToImage(ctx, from, err)
	case err != nil && !errors.Is(err, errLimit):
		// The partial batch is dropped; the next round reads it again.
		return shipped, fmt.Errorf("tablestore: read edits from txid %d: %w", next, err)
	}
	return shipped, flush()
}

// jumpToImage handles a journal that no longer holds txid from: the newest
// local image covers it if its txid is at least from-1.
func (s *Shipper) jumpToImage(ctx context.Context, from int64, cause error) error {
	imgs, err := s.src.Images()
	if err != nil {
		return fmt.Errorf("tablestore: local images: %w", err)
	}
	if len(imgs) == 0 || imgs[len(imgs)-1] < from-1 {
		return fmt.Errorf("tablestore: the journal no longer holds txid %d and no local image covers it: %w", from, cause)
	}
	s.log.Warn("the journal no longer holds the next txid to mirror; uploading the newest image instead",
		zap.Int64("txid", from), zap.Int64("image", imgs[len(imgs)-1]))
	return s.shipNewestImage(ctx, fmt.Sprintf("the journal purged txid %d", from))
}
