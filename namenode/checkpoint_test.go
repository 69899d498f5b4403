package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCheckpointPolicy(t *testing.T) {
	cfg := checkpointConfig{Txns: 100, Period: time.Hour, CheckPeriod: time.Minute}
	p := newCheckpointPolicy(cfg, 10, t0)
	steps := []struct {
		at      time.Duration
		applied int64
		want    checkpointReason
		uncp    int64
	}{
		{0, 10, notDue, 0},                         // nothing new at start
		{time.Minute, 109, notDue, 99},             // one short of the threshold
		{2 * time.Minute, 110, dueTxns, 100},       // the threshold
		{59 * time.Minute, 50, notDue, 40},         // few edits, period not over
		{time.Hour, 11, duePeriod, 1},              // the period is over, one edit
		{2 * time.Hour, 5000, dueTxns, 4990},       // both: txns is named first, as Hadoop does
		{3 * time.Hour, 10, notDue, 0},             // no new edits: never due, whatever the time
		{3*time.Hour + time.Second, 9, notDue, -1}, // behind the last image (cannot happen; not due)
	}
	for i, s := range steps {
		got, uncp, since := p.due(t0.Add(s.at), s.applied)
		if got != s.want || uncp != s.uncp || since != s.at {
			t.Errorf("step %d: due(+%v, %d) = %v, %d, %v; want %v, %d, %v", i, s.at, s.applied, got, uncp, since, s.want, s.uncp, s.at)
		}
	}
	// A checkpoint resets both counters.
	p.done(t0.Add(4*time.Hour), 200)
	if r, uncp, since := p.due(t0.Add(4*time.Hour+time.Minute), 250); r != notDue || uncp != 50 || since != time.Minute {
		t.Errorf("after done: %v %d %v", r, uncp, since)
	}
	// done never moves lastTxID back (an older image the active already had).
	p.done(t0.Add(5*time.Hour), 150)
	if r, uncp, _ := p.due(t0.Add(5*time.Hour), 299); r != notDue || uncp != 99 {
		t.Errorf("after an older done: %v %d", r, uncp)
	}
	p.skipped(t0.Add(7 * time.Hour))
	if r, _, since := p.due(t0.Add(7*time.Hour+time.Minute), 201); r != notDue || since != time.Minute {
		t.Errorf("after skipped: %v %v", r, since)
	}
}

func TestCheckpointConfigFromConf(t *testing.T) {
	cc, err := checkpointConfigFromConf(conf.New())
	if err != nil {
		t.Fatal(err)
	}
	if cc != defaultCheckpointConfig() || cc.Txns != 1000000 || cc.Period != time.Hour || cc.CheckPeriod != time.Minute || !cc.Enabled {
		t.Errorf("defaults: %+v", cc)
	}
	c := conf.New()
	c.Set("dfs.namenode.checkpoint.txns", "50")
	c.Set("dfs.namenode.checkpoint.period", "30") // seconds, as in Hadoop
	c.Set("dfs.namenode.checkpoint.check.period", "100ms")
	c.Set("dfs.ha.standby.checkpoints", "false")
	c.Set("dfs.image.transfer.timeout", "2000") // milliseconds
	cc, err = checkpointConfigFromConf(c)
	if err != nil {
		t.Fatal(err)
	}
	want := checkpointConfig{Enabled: false, Txns: 50, Period: 30 * time.Second, CheckPeriod: 100 * time.Millisecond, TransferTimeout: 2 * time.Second}
	if cc != want {
		t.Errorf("got %+v, want %+v", cc, want)
	}
	if cc.checkInterval() != 100*time.Millisecond {
		t.Errorf("checkInterval %v", cc.checkInterval())
	}
	c.Set("dfs.namenode.checkpoint.check.period", "2h")
	if cc, _ := checkpointConfigFromConf(c); cc.checkInterval() != 30*time.Second {
		t.Errorf("checkInterval is not min(check period, period): %v", cc.checkInterval())
	}
	for key, v := range map[string]string{"dfs.namenode.checkpoint.txns": "0", "dfs.namenode.checkpoint.period": "soon", "dfs.namenode.checkpoint.check.period": "-1"} {
		c := conf.New()
		c.Set(key, v)
		if _, err := checkpointConfigFromConf(c); err == nil {
			t.Errorf("%s=%s: no error", key, v)
		}
	}
}

// fakeTarget records what the checkpointer asks of it.
type fakeTarget struct {
	mu        sync.Mutex
	applied   int64
	newest    int64
	saves     []int64
	uploads   []int64
	saveErr   error
	uploadErr error
	uploaded  chan int64
	// block, when set, makes Upload wait for ctx (a transfer in progress).
	block bool
}

func (f *fakeTarget) AppliedTxID() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *fakeTarget) setApplied(txid int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = txid
}

func (f *fakeTarget) NewestImage() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newest, nil
}

func (f *fakeTarget) SaveImage(context.Context) (image.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saveErr != nil {
		return image.Info{}, f.saveErr
	}
	f.saves = append(f.saves, f.applied)
	f.newest = f.applied
	return image.Info{TxID: f.applied, Path: fmt.Sprintf("/nn/current/%s", image.Name(f.applied))}, nil
}

func (f *fakeTarget) Upload(ctx context.Context, img image.Info) error {
	f.mu.Lock()
	block, err := f.block, f.uploadErr
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, img.TxID)
	f.mu.Unlock()
	if f.uploaded != nil {
		f.uploaded <- img.TxID
	}
	return nil
}

func (f *fakeTarget) counts() (saves, uploads []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.saves...), append([]int64(nil), f.uploads...)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestCheckpointerSteps drives the checkpointer's steps with a fake clock
// and target: what is saved and uploaded when, and a failed upload being
// retried at the next check.
func TestCheckpointerSteps(t *testing.T) {
	clock := &fakeClock{now: t0}
	f := &fakeTarget{newest: 5, applied: 5}
	cfg := checkpointConfig{Enabled: true, Txns: 10, Period: time.Hour, CheckPeriod: time.Minute}
	c := newCheckpointer(cfg, f, testcluster.Logger(t), clock.Now)
	p := newCheckpointPolicy(cfg, 5, clock.Now())
	ctx := context.Background()

	check := func(what string, wantSaves, wantUploads []int64) {
		t.Helper()
		clock.advance(time.Minute)
		c.step(ctx, p)
		s, u := f.counts()
		if fmt.Sprint(s) != fmt.Sprint(wantSaves) || fmt.Sprint(u) != fmt.Sprint(wantUploads) {
			t.Fatalf("%s: saves %v uploads %v, want %v %v", what, s, u, wantSaves, wantUploads)
		}
	}
	check("nothing new", nil, nil)
	f.setApplied(14)
	check("9 edits", nil, nil)
	f.setApplied(15)
	check("10 edits", []int64{15}, []int64{15})
	f.setApplied(20)
	check("5 more", []int64{15}, []int64{15})

	// The upload fails: the checkpoint counts as not done, and the next
	// check tries again (with a newer image, since more edits arrived).
	f.setApplied(30)
	f.mu.Lock()
	f.uploadErr = errors.New("connection refused")
	f.mu.Unlock()
	check("upload fails", []int64{15, 30}, []int64{15})
	f.mu.Lock()
	f.uploadErr = nil
	f.mu.Unlock()
	f.setApplied(31)
	check("retry", []int64{15, 30, 31}, []int64{15, 31})
	if txid, at, n := c.lastCheckpoint(); txid != 31 || !at.Equal(clock.Now()) || n != 2 {
		t.Errorf("lastCheckpoint = %d %v %d", txid, at, n)
	}

	// A failed save uploads nothing.
	f.setApplied(50)
	f.mu.Lock()
	f.saveErr = errors.New("disk full")
	f.mu.Unlock()
	check("save fails", []int64{15, 30, 31}, []int64{15, 31})
	f.mu.Lock()
	f.saveErr = nil
	f.mu.Unlock()

	// The period: a single edit, an hour after the last checkpoint.
	f.setApplied(51)
	check("retry after the failed save", []int64{15, 30, 31, 51}, []int64{15, 31, 51})
	f.setApplied(52)
	for range 59 {
		clock.advance(time.Minute)
		c.step(ctx, p)
	}
	if s, _ := f.counts(); len(s) != 4 {
		t.Fatalf("checkpointed before the period: %v", s)
	}
	check("period", []int64{15, 30, 31, 51, 52}, []int64{15, 31, 51, 52})
}

// TestCheckpointerLoop: the goroutine checks on its timer, stops on stop
// (also in the middle of an upload), and start and stop are idempotent.
func TestCheckpointerLoop(t *testing.T) {
	testcluster.CheckLeaks(t)
	clock := &fakeClock{now: t0}
	f := &fakeTarget{newest: 0, applied: 0, uploaded: make(chan int64, 1)}
	cfg := checkpointConfig{Enabled: true, Txns: 3, Period: time.Hour, CheckPeriod: time.Minute}
	c := newCheckpointer(cfg, f, testcluster.Logger(t), clock.Now)
	ticks := make(chan time.Time)
	var asked []time.Duration
	var askedMu sync.Mutex
	c.after = func(d time.Duration) <-chan time.Time {
		askedMu.Lock()
		asked = append(asked, d)
		askedMu.Unlock()
		return ticks
	}
	c.stop() // before start: nothing to stop
	c.start()
	c.start()
	t.Cleanup(c.stop)

	f.setApplied(3)
	ticks <- t0
	if got := <-f.uploaded; got != 3 {
		t.Fatalf("uploaded %d", got)
	}
	// Stopping in the middle of an upload cancels it.
	f.mu.Lock()
	f.block = true
	f.mu.Unlock()
	f.setApplied(10)
	ticks <- t0
	c.stop()
	c.stop()
	askedMu.Lock()
	if len(asked) < 2 || asked[0] != time.Minute {
		t.Errorf("timer durations %v", asked)
	}
	askedMu.Unlock()
	// And it starts again, counting from its newest image (10, saved by
	// the cancelled round).
	c.start()
	f.mu.Lock()
	f.block = false
	f.mu.Unlock()
	f.setApplied(12)
	ticks <- t0
	f.setApplied(13)
	ticks <- t0
	if got := <-f.uploaded; got != 13 {
		t.Fatalf("uploaded %d after restart", got)
	}
	c.stop()
}

func TestMinTxIDToKeep(t *testing.T) {
	for _, tc := range []struct{ oldest, extra, want int64 }{
		{100, 0, 101},
		{100, 50, 51},
		{100, 1000000, 0},
		{0, 0, 1},
		{100, -5, 101},
	} {
		if got := minTxIDToKeep(tc.oldest, tc.extra); got != tc.want {
			t.Errorf("minTxIDToKeep(%d, %d) = %d, want %d", tc.oldest, tc.extra, got, tc.want)
		}
	}
}

// storeStub is a web.ImageStore that answers uploads as told.
type storeStub struct {
	mu       sync.Mutex
	active   bool
	newest   int64
	received []int64
}

func (s *storeStub) Stream(io.Writer, int64) error { return web.ErrNoImage }
func (s *storeStub) AcceptsUploads() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active {
		return true, "active"
	}
	return false, "standby"
}
func (s *storeStub) StorageInfo() string { return "-66:1:0:CID-1" }
func (s *storeStub) Receive(_ context.Context, r io.Reader, txid int64) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, txid)
	s.newest = txid
	return nil
}
func (s *storeStub) Newest() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newest, nil
}

// TestUploader: the standby's upload outcomes against NameNodes that are
// standby (417), active, or already have the image (409), and a refused
// upload streams nothing and leaks nothing.
func TestUploader(t *testing.T) {
	testcluster.CheckLeaks(t)
	ns, err := namespace.Open(filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := ns.Format(namespace.NamespaceInfo{NamespaceID: 1, ClusterID: "CID-1", BlockPoolID: "BP-1", CTime: 0}, &editpb.Permission{Mode: 0o755, Owner: "hdfs", Group: "supergroup"}, 1); err != nil {
		t.Fatal(err)
	}
	img, err := image.Save(ns, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var stores []*storeStub
	var addrs []string
	for range 2 {
		s, err := web.New(web.Config{Address: "127.0.0.1:0", Logger: testcluster.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		st := &storeStub{newest: -1}
		s.ServeImages(st)
		stores = append(stores, st)
		addrs = append(addrs, s.Address())
	}
	c := web.NewImageClient(10 * time.Second)
	t.Cleanup(c.CloseIdleConnections)
	u := &uploader{client: c, addrs: addrs, storageInfo: "-66:1:0:CID-1", log: testcluster.Logger(t)}
	ctx := context.Background()

	if err := u.upload(ctx, img); !errors.Is(err, errNoActiveTookImage) {
		t.Errorf("two standbys: %v", err)
	}
	stores[1].mu.Lock()
	stores[1].active = true
	stores[1].mu.Unlock()
	if err := u.upload(ctx, img); err != nil {
		t.Errorf("standby then active: %v", err)
	}
	if err := u.upload(ctx, img); err != nil {
		t.Errorf("the active already has it (409): %v", err)
	}
	if fmt.Sprint(stores[1].received) != "[0]" || len(stores[0].received) != 0 {
		t.Errorf("received %v and %v", stores[0].received, stores[1].received)
	}
	// Another namespace: refused (403), an error.
	u.storageInfo = "-66:2:0:CID-2"
	if err := u.upload(ctx, img); err == nil || errors.Is(err, errNoActiveTookImage) || !strings.Contains(err.Error(), "403") {
		t.Errorf("another namespace: %v", err)
	}
	// Nobody listening: an error, not "no active".
	u = &uploader{client: c, addrs: []string{testcluster.ReserveAddr(t, "127.0.0.1")}, log: testcluster.Logger(t)}
	if err := u.upload(ctx, img); err == nil || errors.Is(err, errNoActiveTookImage) {
		t.Errorf("refused connection: %v", err)
	}
	if err := (&uploader{client: c, log: testcluster.Logger(t)}).upload(ctx, img); err == nil {
		t.Error("no NameNodes to upload to: no error")
	}
}

// TestStallReader: a body that stops moving cancels its upload; one that
// was read to the end does not.
func TestStallReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	sr := &stallReader{r: pr, d: 5 * time.Millisecond, t: time.AfterFunc(5*time.Millisecond, cancel)}
	go func() { _, _ = pw.Write([]byte("some")) }()
	buf := make([]byte, 16)
	if n, err := sr.Read(buf); n != 4 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
	// Nothing more is written: the upload is cancelled.
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("a stalled body was not cancelled")
	}
	pw.Close()

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	sr = &stallReader{r: strings.NewReader("all"), d: time.Hour, t: time.AfterFunc(time.Hour, cancel2)}
	if _, err := io.ReadAll(sr); err != nil {
		t.Fatal(err)
	}
	if sr.t.Stop() {
		t.Error("the timer still runs after the body was read to the end")
	}
	if ctx2.Err() != nil {
		t.Error("a finished body was cancelled")
	}
}
