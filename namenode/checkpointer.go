package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/namenode/web"
)

// The standby checkpointer (Hadoop's StandbyCheckpointer): while a
// NameNode is standby, it checks every dfs.namenode.checkpoint.check.period
// whether a checkpoint is due (dfs.namenode.checkpoint.txns edits applied
// since the last one, or dfs.namenode.checkpoint.period elapsed), saves an
// image of its namespace at the txid it has applied, keeps its own
// retained images, and streams the image to the other NameNodes of its
// nameservice; the active keeps it (images.go). docs/checkpoints.md is the
// operator's view.
//
// The decision is checkpointPolicy (pure: no clock, no I/O); checkpointer
// is the driver loop; checkpointTarget is what it drives (standbyTarget on
// a NameNode, fakes in tests).

// checkpointConfig is Hadoop's CheckpointConf, as the standby uses it.
type checkpointConfig struct {
	// Enabled is dfs.ha.standby.checkpoints (true).
	Enabled bool
	// Txns is dfs.namenode.checkpoint.txns (1000000).
	Txns int64
	// Period is dfs.namenode.checkpoint.period (3600 s).
	Period time.Duration
	// CheckPeriod is dfs.namenode.checkpoint.check.period (60 s).
	CheckPeriod time.Duration
	// TransferTimeout is dfs.image.transfer.timeout (60 s): how long an
	// upload may stall, and how long the uploader waits for the active's
	// answer once the image is sent (the active verifies and syncs it
	// meanwhile). A transfer that moves is not bounded by it.
	TransferTimeout time.Duration
}

// defaultCheckpointConfig is Hadoop's defaults.
func defaultCheckpointConfig() checkpointConfig {
	return checkpointConfig{Enabled: true, Txns: 1000000, Period: time.Hour, CheckPeriod: time.Minute, TransferTimeout: time.Minute}
}

// checkpointConfigFromConf reads the checkpoint keys; plain numbers are
// seconds (milliseconds for dfs.image.transfer.timeout), as in Hadoop.
func checkpointConfigFromConf(c *conf.Conf) (checkpointConfig, error) {
	cc := defaultCheckpointConfig()
	var errs []error
	var err error
	cc.Enabled, err = c.GetBool("dfs.ha.standby.checkpoints", cc.Enabled)
	errs = append(errs, err)
	cc.Txns, err = c.GetInt("dfs.namenode.checkpoint.txns", cc.Txns)
	errs = append(errs, err)
	cc.Period, err = c.GetDuration("dfs.namenode.checkpoint.period", time.Second, cc.Period)
	errs = append(errs, err)
	cc.CheckPeriod, err = c.GetDuration("dfs.namenode.checkpoint.check.period", time.Second, cc.CheckPeriod)
	errs = append(errs, err)
	cc.TransferTimeout, err = c.GetDuration("dfs.image.transfer.timeout", time.Millisecond, cc.TransferTimeout)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return checkpointConfig{}, fmt.Errorf("namenode: %w", err)
	}
	switch {
	case cc.Txns <= 0:
		return checkpointConfig{}, fmt.Errorf("namenode: dfs.namenode.checkpoint.txns must be positive, not %d", cc.Txns)
	case cc.Period <= 0:
		return checkpointConfig{}, fmt.Errorf("namenode: dfs.namenode.checkpoint.period must be positive, not %v", cc.Period)
	case cc.CheckPeriod <= 0:
		return checkpointConfig{}, fmt.Errorf("namenode: dfs.namenode.checkpoint.check.period must be positive, not %v", cc.CheckPeriod)
	}
	if cc.TransferTimeout <= 0 {
		cc.TransferTimeout = defaultCheckpointConfig().TransferTimeout
	}
	return cc, nil
}

// checkInterval is how often the checkpointer looks: the check period, or
// the checkpoint period when that is shorter (as Hadoop does).
func (c checkpointConfig) checkInterval() time.Duration { return min(c.CheckPeriod, c.Period) }

// checkpointReason says why a checkpoint is due.
type checkpointReason int

const (
	notDue checkpointReason = iota
	dueTxns
	duePeriod
)

// checkpointPolicy decides when the standby checkpoints. It reads no clock
// and does no I/O: the driver passes the time and the applied txid.
type checkpointPolicy struct {
	txns   int64
	period time.Duration
	// lastTxID is the txid of the last checkpoint the active took (or,
	// at start, the newest image this NameNode has). Invariant: it only
	// grows.
	lastTxID int64
	// lastTime is when that checkpoint was taken, or when the policy
	// started (so a fresh standby does not checkpoint at once).
	lastTime time.Time
}

func newCheckpointPolicy(cfg checkpointConfig, newestImage int64, now time.Time) *checkpointPolicy {
	return &checkpointPolicy{txns: cfg.Txns, period: cfg.Period, lastTxID: newestImage, lastTime: now}
}

// due says whether to checkpoint now with applied edits applied, why, and
// the figures Hadoop logs: edits since the last checkpoint and time since
// it. Nothing is due without new edits, whatever the time: an image of the
// same txid already exists (Hadoop skips it too).
func (p *checkpointPolicy) due(now time.Time, applied int64) (reason checkpointReason, uncheckpointed int64, since time.Duration) {
	uncheckpointed = applied - p.lastTxID
	since = now.Sub(p.lastTime)
	switch {
	case uncheckpointed <= 0:
		return notDue, uncheckpointed, since
	case uncheckpointed >= p.txns:
		return dueTxns, uncheckpointed, since
	case since >= p.period:
		return duePeriod, uncheckpointed, since
	}
	return notDue, uncheckpointed, since
}

// done records a checkpoint of txid that the active has (accepted, or it
// already had one at least as new), taken at now.
func (p *checkpointPolicy) done(now time.Time, txid int64) {
	p.lastTxID = max(p.lastTxID, txid)
	p.lastTime = now
}

// skipped records that a due checkpoint found nothing new (the period
// elapsed without edits): the period starts again.
func (p *checkpointPolicy) skipped(now time.Time) { p.lastTime = now }

// checkpointTarget is what the checkpointer drives.
type checkpointTarget interface {
	// AppliedTxID is the txid of the last edit the namespace holds.
	AppliedTxID() int64
	// NewestImage is the txid of the newest image in the name directory
	// (0 when there is none).
	NewestImage() (int64, error)
	// SaveImage saves an image of the namespace at the txid it holds (a
	// consistent snapshot, stamped with that txid, while the tailer goes
	// on applying) and applies the local image retention.
	SaveImage(ctx context.Context) (image.Info, error)
	// Upload sends the image to the other NameNodes. It returns nil once
	// one of them holds it (it accepted it, or had one at least as new);
	// an error wrapping errNoActiveTookImage when every one answered that
	// it is not active, or another error.
	Upload(ctx context.Context, img image.Info) error
}

// errNoActiveTookImage: no NameNode accepted the image because none is
// active (each answered 417). The checkpointer tries again at its next check.
var errNoActiveTookImage = errors.New("no active NameNode took the image")

// checkpointer is the driver loop: one goroutine, owned by whoever called
// start, ended by stop.
type checkpointer struct {
	cfg    checkpointConfig
	target checkpointTarget
	log    *zap.Logger
	now    func() time.Time
	// after is time.After; tests replace it to drive the checks.
	after func(time.Duration) <-chan time.Time

	mu struct {
		sync.Mutex
		cancel context.CancelFunc
		done   chan struct{}
		// lastTxID and lastTime mirror the policy for metrics.
		lastTxID int64
		lastTime time.Time
		count    int64
	}
}

func newCheckpointer(cfg checkpointConfig, target checkpointTarget, log *zap.Logger, now func() time.Time) *checkpointer {
	if log == nil {
		log = zap.NewNop()
	}
	if now == nil {
		now = time.Now
	}
	return &checkpointer{cfg: cfg, target: target, log: log, now: now, after: time.After}
}

// start runs the loop until stop. Starting a running checkpointer does
// nothing.
func (c *checkpointer) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.mu.cancel, c.mu.done = cancel, done
	go func() {
		defer close(done)
		c.run(ctx)
	}()
}

// stop cancels a checkpoint in progress (its upload is abandoned; the
// image saved locally stays) and waits for the loop to end. Safe to call
// repeatedly and before start.
func (c *checkpointer) stop() {
	c.mu.Lock()
	cancel, done := c.mu.cancel, c.mu.done
	c.mu.cancel, c.mu.done = nil, nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (c *checkpointer) run(ctx context.Context) {
	newest, err := c.target.NewestImage()
	if err != nil {
		c.log.Warn("cannot read the newest image; counting edits from txid 0", zap.Error(err))
	}
	p := newCheckpointPolicy(c.cfg, newest, c.now())
	c.log.Info("standby checkpointer started",
		zap.Int64("checkpointTxns", c.cfg.Txns), zap.Duration("checkpointPeriod", c.cfg.Period),
		zap.Duration("checkPeriod", c.checkInterval()), zap.Int64("newestImage", newest))
	for {
		select {
		case <-ctx.Done():
			c.log.Info("standby checkpointer stopped")
			return
		case <-c.after(c.checkInterval()):
		}
		c.step(ctx, p)
	}
}

func (c *checkpointer) checkInterval() time.Duration { return c.cfg.checkInterval() }

// step is one check: decide, then save and upload if due.
func (c *checkpointer) step(ctx context.Context, p *checkpointPolicy) {
	now := c.now()
	reason, uncheckpointed, since := p.due(now, c.target.AppliedTxID())
	switch reason {
	case notDue:
		if uncheckpointed <= 0 && since >= c.cfg.Period {
			p.skipped(now)
		}
		return
	case dueTxns:
		// Hadoop's StandbyCheckpointer logs these lines; operators grep them.
		c.log.Info(fmt.Sprintf("Triggering checkpoint because there have been %d txns since the last checkpoint, which exceeds the configured threshold %d",
			uncheckpointed, c.cfg.Txns))
	case duePeriod:
		c.log.Info(fmt.Sprintf("Triggering checkpoint because it has been %d seconds since the last checkpoint, which exceeds the configured interval %d",
			int64(since/time.Second), int64(c.cfg.Period/time.Second)))
	}
	img, err := c.target.SaveImage(ctx)
	if err != nil {
		c.log.Warn("checkpoint failed: saving the image", zap.Error(err))
		return
	}
	c.log.Info("saved checkpoint image; uploading it to the active", zap.String("image", img.Path), zap.Int64("txid", img.TxID))
	if err := c.target.Upload(ctx, img); err != nil {
		if ctx.Err() != nil {
			c.log.Info("checkpoint upload cancelled", zap.Int64("txid", img.TxID))
			return
		}
		if errors.Is(err, errNoActiveTookImage) {
			// A nameservice without an active for a while: expected, not alarming.
			c.log.Info("no active NameNode to take the checkpoint; retrying at the next check", zap.Int64("txid", img.TxID))
			return
		}
		c.log.Warn("checkpoint failed: uploading the image; retrying at the next check", zap.Int64("txid", img.TxID), zap.Error(err))
		return
	}
	p.done(c.now(), img.TxID)
	c.mu.Lock()
	c.mu.lastTxID, c.mu.lastTime = img.TxID, now
	c.mu.count++
	c.mu.Unlock()
	c.log.Info("checkpoint complete", zap.Int64("txid", img.TxID))
}

// lastCheckpoint returns the txid and time of the last checkpoint this
// checkpointer completed, and how many it completed.
func (c *checkpointer) lastCheckpoint() (txid int64, at time.Time, count int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.lastTxID, c.mu.lastTime, c.mu.count
}

// uploader sends images to NameNodes over HTTP (web.UploadImage), one
// stream per NameNode read from the image directory: an image is never
// held in memory.
type uploader struct {
	client      *http.Client
	addrs       []string // HTTP addresses of the other NameNodes
	storageInfo string
	log         *zap.Logger
	// stall, when positive, abandons a transfer whose body has not moved
	// for that long (dfs.image.transfer.timeout: Hadoop's socket timeout;
	// Go's HTTP client has no write timeout of its own).
	stall time.Duration
}

// upload offers img to every NameNode in turn (Hadoop uploads to all of
// them too) and succeeds when one holds it.
func (u *uploader) upload(ctx context.Context, img image.Info) error {
	if len(u.addrs) == 0 {
		return errors.New("namenode: no other NameNode in the nameservice to upload the image to")
	}
	var errs []error
	held, notActive := false, 0
	for _, addr := range u.addrs {
		err := u.uploadTo(ctx, addr, img)
		switch {
		case err == nil:
			u.log.Info("uploaded image to the active", zap.String("to", addr), zap.Int64("txid", img.TxID))
			held = true
		case errors.Is(err, web.ErrUploadRefused):
			// Another upload is running there, or it has an image at least
			// as new: nothing to do for this one.
			u.log.Info("image upload not needed", zap.String("to", addr), zap.Int64("txid", img.TxID), zap.Error(err))
			held = true
		case errors.Is(err, web.ErrNotActive):
			u.log.Debug("NameNode is not active; not uploading there", zap.String("to", addr))
			notActive++
		default:
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if held {
		return nil
	}
	if notActive == len(u.addrs) {
		return fmt.Errorf("namenode: image %d: %w", img.TxID, errNoActiveTookImage)
	}
	return fmt.Errorf("namenode: image %d: %w", img.TxID, errors.Join(errs...))
}

// uploadTo streams img to one NameNode: image.Stream writes into a pipe
// that the HTTP request reads. The writer goroutine ends when the request
// has read everything or has closed the pipe (a refusal, an error, ctx).
func (u *uploader) uploadTo(ctx context.Context, addr string, img image.Info) error {
	pr, pw := io.Pipe()
	streamed := make(chan error, 1)
	go func() {
		err := image.Stream(pw, img)
		pw.CloseWithError(err)
		streamed <- err
	}()
	var body io.Reader = pr
	if u.stall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		sr := &stallReader{r: pr, d: u.stall, t: time.AfterFunc(u.stall+expectContinueWait, cancel)}
		defer sr.t.Stop()
		body = sr
	}
	err := web.UploadImage(ctx, u.client, addr, img.TxID, u.storageInfo, body)
	// The transport closes the body it was given; close it again in case
	// it returned before reading, so the writer goroutine always ends.
	pr.CloseWithError(errUploadDone)
	serr := <-streamed
	if err == nil && serr != nil && !errors.Is(serr, errUploadDone) {
		// The server answered 200 although the stream failed: cannot
		// happen with a well-behaved server (it checks the trailer).
		err = serr
	}
	return err
}

var errUploadDone = errors.New("upload finished")

// expectContinueWait is the most the transport waits for the go-ahead
// before the first body read (web.NewImageClient's ExpectContinueTimeout).
const expectContinueWait = 5 * time.Second

// stallReader cancels the upload (t fires) unless each read comes within d
// of the previous one; once the body is fully read the timer stops, and the
// client's response header timeout bounds the wait for the answer.
type stallReader struct {
	r io.Reader
	d time.Duration
	t *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		s.t.Stop()
	} else {
		s.t.Reset(s.d)
	}
	return n, err
}

// standbyTarget is a NameNode as the checkpointer's target.
type standbyTarget struct {
	n   *NameNode
	sys *namesystem.Namesystem
	up  *uploader
}

var _ checkpointTarget = (*standbyTarget)(nil)

func (t *standbyTarget) AppliedTxID() int64 { return t.sys.Namespace().LastAppliedTxID() }

func (t *standbyTarget) NewestImage() (int64, error) {
	all, err := image.List(t.n.cfg.NameDir)
	if err != nil || len(all) == 0 {
		return 0, err
	}
	return all[len(all)-1].TxID, nil
}

// SaveImage saves while the tailer keeps applying: namespace.Checkpoint
// takes the Pebble checkpoint under the lock Apply holds for each edit,
// and stamps it with the txid that snapshot holds, so the image is
// consistent and named for what it really contains.
func (t *standbyTarget) SaveImage(ctx context.Context) (image.Info, error) {
	info, err := image.Save(t.sys.Namespace(), t.n.cfg.NameDir, t.n.log.Named("image"))
	if err != nil {
		return image.Info{}, err
	}
	if err := t.n.purgeOldStorage(ctx, nil); err != nil {
		t.n.log.Warn("purging old images failed", zap.Error(err))
	}
	return info, nil
}

func (t *standbyTarget) Upload(ctx context.Context, img image.Info) error {
	return t.up.upload(ctx, img)
}

// otherNameNodeHTTPAddrs returns the HTTP addresses of the NameNodes of ns
// other than self.
func otherNameNodeHTTPAddrs(c *conf.Conf, ns, self string) ([]string, error) {
	nns, err := c.NameNodes(ns)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, nn := range nns {
		if nn.ID != self && nn.HTTPAddress != "" {
			out = append(out, nn.HTTPAddress)
		}
	}
	return out, nil
}

// runningCheckpointer is a started checkpointer and what it holds.
type runningCheckpointer struct {
	c      *checkpointer
	client *http.Client
}

// startCheckpointer starts the standby checkpointer (called when the
// NameNode enters standby); stopCheckpointer stops it and waits (called
// before leaving standby and at Stop). Both are safe to call repeatedly.
// Callers hold n.trMu (Start and the HA transitions do), which orders them
// after Start set n.si; the checkpointer itself never takes n.mu or
// n.trMu, so stopping it under either cannot deadlock.
func (n *NameNode) startCheckpointer() {
	n.ckpt.Lock()
	defer n.ckpt.Unlock()
	if n.ckpt.r != nil {
		return
	}
	// Stop closes n.quit before it calls stopCheckpointer, which takes the
	// same lock: a transition that would start the checkpointer after that
	// (it may hold trMu while Stop waits for it) starts nothing.
	if n.quit != nil {
		select {
		case <-n.quit:
			return
		default:
		}
	}
	log := n.log.Named("checkpointer")
	cfg, err := checkpointConfigFromConf(n.cfg.Conf)
	if err != nil {
		log.Error("standby checkpoints disabled: bad configuration", zap.Error(err))
		return
	}
	if !cfg.Enabled {
		log.Info("standby checkpoints disabled (dfs.ha.standby.checkpoints is false)")
		return
	}
	sys := n.namesystem()
	if sys == nil {
		log.Error("standby checkpoints disabled: no namesystem")
		return
	}
	addrs, err := otherNameNodeHTTPAddrs(n.cfg.Conf, n.cfg.Nameservice, n.cfg.NameNodeID)
	if err != nil || len(addrs) == 0 {
		log.Warn("standby checkpoints disabled: no other NameNode to upload images to", zap.Error(err))
		return
	}
	client := web.NewImageClient(cfg.TransferTimeout)
	t := &standbyTarget{n: n, sys: sys, up: &uploader{client: client, addrs: addrs, storageInfo: storageInfoString(n.si), log: log, stall: cfg.TransferTimeout}}
	c := newCheckpointer(cfg, t, log, n.cfg.Now)
	n.ckpt.r = &runningCheckpointer{c: c, client: client}
	c.start()
}

func (n *NameNode) stopCheckpointer() {
	n.ckpt.Lock()
	r := n.ckpt.r
	n.ckpt.r = nil
	n.ckpt.Unlock()
	if r != nil {
		r.c.stop()
		r.client.CloseIdleConnections()
	}
}

// runningCheckpointerOf returns n's checkpointer (nil when not running).
func (n *NameNode) runningCheckpointerOf() *checkpointer {
	n.ckpt.Lock()
	defer n.ckpt.Unlock()
	if r := n.ckpt.r; r != nil {
		return r.c
	}
	return nil
}
