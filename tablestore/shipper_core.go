package tablestore

import (
	"slices"
	"time"
)

// shipCore is the shipper's decision state: what the sink holds, what the
// source committed and when the shipper first saw it, the backoff, the lag
// window and the lag-warning latch. It does no I/O, starts
// no goroutines and reads no clock: the driver (Shipper) passes the time in
// and carries out what the core decides. Not safe for concurrent use (the
// Shipper guards it with its mutex).
type shipCore struct {
	cfg Config

	// known is false until the sink's state was read, and again after
	// ErrExists (another writer extended the chain) or a sink error.
	known bool
	// hw is the high-water mark: the last txid the sink covers, by an
	// edit batch or by an image. The next batch starts at hw+1.
	// Invariant: hw never decreases while known.
	hw int64
	// sinkImage is the newest image txid in the sink, -1 when none.
	sinkImage int64
	// committed is the source's last committed txid the shipper saw.
	committed int64
	// marks record when the shipper first saw committed txids: the txids
	// in (marks[i-1].txid, marks[i].txid] were first seen at marks[i].at.
	// Invariant: txids ascending, every txid > hw (older marks are
	// pruned), len(marks) <= maxMarks.
	marks []seenMark
	// samples is the window of per-batch lags (ack time minus the time the
	// batch's first txid was first seen committed); next is the slot the
	// next sample overwrites once the window is full.
	samples []time.Duration
	next    int

	// backoff is the pause before the next try after an error, 0 when the
	// last step succeeded; lastErr the error, kept for Status.
	backoff time.Duration
	lastErr error
	// refused is set when the sink belongs to another namespace: the
	// shipper ships nothing until it is restarted.
	refused error

	// lagWarned is set while the lag is above cfg.LagWarn (and it was
	// logged); lastLagLog when that was last logged.
	lagWarned  bool
	lastLagLog time.Time

	// lastImageCheck is when the source's images were last compared with
	// the sink's.
	lastImageCheck time.Time

	batches, ops int64
}

type seenMark struct {
	txid int64
	at   time.Time
}

const (
	// maxMarks bounds the committed-txid observations kept for the lag in
	// seconds; lagWindow the per-batch lag samples kept for p50/p99.
	maxMarks  = 4096
	lagWindow = 1024
	// lagLogEvery rate-limits the lag warning while the lag stays high.
	lagLogEvery = 30 * time.Second
	// imageCheckEvery is how often an active shipper looks for a newer
	// local image (checkpoints are minutes apart).
	imageCheckEvery = time.Second
)

func newShipCore(cfg Config) *shipCore {
	return &shipCore{cfg: cfg, sinkImage: -1}
}

// sinkState records what the sink holds: its last edit txid and its images
// (ascending). The high-water mark is the later of the two (HighWater): a
// chain resumes after an image uploaded before any edit followed it.
func (c *shipCore) sinkState(lastTxID int64, images []int64) {
	c.hw, c.sinkImage = HighWater(lastTxID, images)
	c.known = true
	c.prune()
}

// needsImage reports whether the sink holds no image yet: a fresh sink or
// a mirror enabled on a namespace with history. The newest local image
// goes first; the chain starts after it.
func (c *shipCore) needsImage() bool { return c.known && c.sinkImage < 0 }

// imageStored records an image the sink now holds (uploaded, or found
// there already). An image past the high-water mark moves it: the edits
// up to the image are covered by it.
func (c *shipCore) imageStored(txid int64) {
	c.sinkImage = max(c.sinkImage, txid)
	if txid > c.hw {
		c.hw = txid
		c.prune()
	}
}

// imageCheckDue reports whether the local images are to be compared with
// the sink's (imagesToShip) at now: at most once per imageCheckEvery.
func (c *shipCore) imageCheckDue(now time.Time) bool {
	if !c.known || now.Sub(c.lastImageCheck) < imageCheckEvery {
		return false
	}
	c.lastImageCheck = now
	return true
}

// imagesToShip returns the local images (ascending) the sink should get:
// newer than its newest and covered by the chain (txid <= hw), so that
// recovery can start from them.
func (c *shipCore) imagesToShip(local []int64) []int64 {
	var out []int64
	for _, t := range local {
		if t > c.sinkImage && t <= c.hw {
			out = append(out, t)
		}
	}
	return out
}

// observeCommitted records the source's committed txid at now.
func (c *shipCore) observeCommitted(now time.Time, committed int64) {
	if committed <= c.committed {
		return
	}
	c.committed = committed
	if committed <= c.hw {
		return
	}
	if n := len(c.marks); n == maxMarks {
		// Full: widen the newest mark. Its time is earlier than the truth
		// for the txids added, so the lag is overstated, never hidden.
		c.marks[n-1].txid = committed
		return
	}
	c.marks = append(c.marks, seenMark{txid: committed, at: now})
}

// prune drops the marks the high-water mark passed.
func (c *shipCore) prune() {
	i := 0
	for i < len(c.marks) && c.marks[i].txid <= c.hw {
		i++
	}
	if i > 0 {
		c.marks = append(c.marks[:0], c.marks[i:]...)
	}
}

// seenAt is when txid was first seen committed (ok false when unknown).
func (c *shipCore) seenAt(txid int64) (time.Time, bool) {
	for _, m := range c.marks {
		if m.txid >= txid {
			return m.at, true
		}
	}
	return time.Time{}, false
}

// shipLimit is the last txid the next read may ship: never past committed.
func (c *shipCore) shipLimit() int64 { return c.committed }

// wantEdits reports whether committed edits wait to be shipped.
func (c *shipCore) wantEdits() bool { return c.known && c.refused == nil && c.committed > c.hw }

// fits reports whether an op of size bytes joins a batch that holds ops
// edits of total bytes; a batch always takes its first op, however big.
// The batch bounds depend on the configuration alone: the shipper checks
// them per op without its lock.
func (cfg Config) fits(ops, bytes, size int) bool {
	if ops == 0 {
		return true
	}
	return ops < cfg.BatchMaxOps && bytes+size <= cfg.BatchMaxBytes
}

// full reports whether a batch of ops edits is to be shipped at once.
func (cfg Config) full(ops int) bool { return ops >= cfg.BatchMaxOps }

// batchShipped records that the sink acknowledged b at now. It must
// continue the chain (b.First == hw+1).
func (c *shipCore) batchShipped(now time.Time, b Batch) {
	if at, ok := c.seenAt(b.First); ok {
		c.addSample(max(now.Sub(at), 0))
	}
	c.hw = b.Last()
	c.batches++
	c.ops += int64(len(b.Ops))
	c.prune()
}

func (c *shipCore) addSample(d time.Duration) {
	if len(c.samples) < lagWindow {
		c.samples = append(c.samples, d)
		return
	}
	c.samples[c.next] = d
	c.next = (c.next + 1) % lagWindow
}

// percentiles returns the p50 and p99 of the lag window (0 when empty).
func (c *shipCore) percentiles() (p50, p99 time.Duration) {
	if len(c.samples) == 0 {
		return 0, 0
	}
	s := slices.Clone(c.samples)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1 // nearest rank
		return s[min(max(i, 0), len(s)-1)]
	}
	return at(0.50), at(0.99)
}

// chainMoved records that another writer extended the chain (ErrExists):
// the sink's state is read again before the next batch.
func (c *shipCore) chainMoved() { c.known = false }

// failed records an error at now and returns the pause before the next
// try: DefaultRetryMin, doubling up to cfg.RetryMax. first is true for
// the first error after a success (the driver logs it once).
func (c *shipCore) failed(err error) (wait time.Duration, first bool) {
	first = c.lastErr == nil
	c.lastErr = err
	c.known = false
	if c.backoff == 0 {
		c.backoff = DefaultRetryMin
	} else {
		c.backoff = min(2*c.backoff, c.cfg.RetryMax)
	}
	return c.backoff, first
}

// succeeded records a successful round; recovered is true when it ends a
// run of errors (the driver logs it).
func (c *shipCore) succeeded() (recovered bool) {
	recovered = c.lastErr != nil
	c.lastErr, c.backoff = nil, 0
	return recovered
}

// refuse stops shipping for good: the sink is another namespace's.
func (c *shipCore) refuse(err error) { c.refused, c.lastErr = err, err }

// lag is the lag at now: committed txids not shipped, and the age of the
// oldest of them.
func (c *shipCore) lag(now time.Time) (txns int64, age time.Duration) {
	if c.committed <= c.hw {
		return 0, 0
	}
	txns = c.committed - c.hw
	if at, ok := c.seenAt(c.hw + 1); ok {
		age = max(now.Sub(at), 0)
	}
	return txns, age
}

// lagEvent is what the lag check wants logged.
type lagEvent int

const (
	lagQuiet     lagEvent = iota
	lagHigh               // the lag passed cfg.LagWarn (or is still above it, rate-limited)
	lagRecovered          // the lag fell back under cfg.LagWarn
)

// checkLag decides whether the lag at now is to be logged.
func (c *shipCore) checkLag(now time.Time) lagEvent {
	_, age := c.lag(now)
	if age > c.cfg.LagWarn {
		if !c.lagWarned || now.Sub(c.lastLagLog) >= lagLogEvery {
			c.lagWarned, c.lastLagLog = true, now
			return lagHigh
		}
		return lagQuiet
	}
	if c.lagWarned {
		c.lagWarned = false
		return lagRecovered
	}
	return lagQuiet
}
