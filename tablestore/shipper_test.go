package tablestore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestShipCoreHighWaterMark(t *testing.T) {
	c := newShipCore(testConfig())
	if c.wantEdits() || c.needsImage() {
		t.Fatal("an unread sink wants nothing")
	}
	c.sinkState(0, nil)
	if !c.needsImage() || c.hw != 0 {
		t.Fatalf("fresh sink: needsImage %v hw %d", c.needsImage(), c.hw)
	}
	// Late enable: the newest local image is 500; edits follow it.
	c.imageStored(500)
	if c.needsImage() || c.hw != 500 || c.sinkImage != 500 {
		t.Fatalf("after image 500: hw %d image %d", c.hw, c.sinkImage)
	}
	// A sink whose edits run past its newest image resumes after them.
	c.sinkState(730, []int64{0, 500})
	if c.hw != 730 || c.sinkImage != 500 {
		t.Fatalf("hw %d image %d", c.hw, c.sinkImage)
	}
	// An image uploaded but no edit after it yet: resume after the image.
	c.sinkState(400, []int64{0, 500})
	if c.hw != 500 {
		t.Fatalf("hw %d, want 500", c.hw)
	}
	// Periodic images: only newer than the sink's and covered by the chain.
	if got := c.imagesToShip([]int64{100, 500, 600, 900}); len(got) != 0 {
		t.Fatalf("hw 500: ship %v", got)
	}
	c.hw = 950
	if got := c.imagesToShip([]int64{100, 500, 600, 900, 1000}); len(got) != 2 || got[0] != 600 || got[1] != 900 {
		t.Fatalf("hw 950: ship %v", got)
	}
	c.imageStored(600)
	if c.hw != 950 || c.sinkImage != 600 {
		t.Fatalf("an image under hw moved it: hw %d", c.hw)
	}
	if !c.imageCheckDue(t0) || c.imageCheckDue(t0.Add(imageCheckEvery/2)) || !c.imageCheckDue(t0.Add(imageCheckEvery)) {
		t.Fatal("image checks are not rate-limited to one per imageCheckEvery")
	}
}

func TestShipCoreBatchBounds(t *testing.T) {
	cfg := testConfig()
	cfg.BatchMaxOps, cfg.BatchMaxBytes = 3, 1024
	if !cfg.fits(0, 0, 5000) {
		t.Fatal("an empty batch must take an op larger than the byte bound")
	}
	if !cfg.fits(2, 1000, 24) || cfg.fits(2, 1000, 25) {
		t.Fatal("the byte bound is not max-bytes inclusive")
	}
	if cfg.fits(3, 10, 1) || !cfg.full(3) || cfg.full(2) {
		t.Fatal("the op bound")
	}
}

func TestShipCoreLag(t *testing.T) {
	c := newShipCore(testConfig())
	c.sinkState(100, []int64{0})
	c.observeCommitted(t0, 100)
	if n, age := c.lag(t0); n != 0 || age != 0 || c.wantEdits() {
		t.Fatalf("synced: lag %d %v", n, age)
	}
	c.observeCommitted(t0.Add(10*time.Millisecond), 150)
	c.observeCommitted(t0.Add(20*time.Millisecond), 150) // no news
	c.observeCommitted(t0.Add(30*time.Millisecond), 300)
	if !c.wantEdits() || c.shipLimit() != 300 {
		t.Fatal("want 101..300")
	}
	if n, age := c.lag(t0.Add(50 * time.Millisecond)); n != 200 || age != 40*time.Millisecond {
		t.Fatalf("lag %d %v, want 200 txns 40ms", n, age)
	}
	// A batch 101-150 acked at 60ms: its first txid was seen at 10ms.
	c.batchShipped(t0.Add(60*time.Millisecond), Batch{First: 101, Ops: make([][]byte, 50)})
	if n, age := c.lag(t0.Add(60 * time.Millisecond)); n != 150 || age != 30*time.Millisecond {
		t.Fatalf("after 101-150: lag %d %v, want 150 txns 30ms (txid 151 seen at 30ms)", n, age)
	}
	c.batchShipped(t0.Add(70*time.Millisecond), Batch{First: 151, Ops: make([][]byte, 150)})
	if n, _ := c.lag(t0.Add(70 * time.Millisecond)); n != 0 || len(c.marks) != 0 {
		t.Fatalf("after 151-300: lag %d marks %v", n, c.marks)
	}
	p50, p99 := c.percentiles()
	if p50 != 40*time.Millisecond || p99 != 50*time.Millisecond {
		t.Fatalf("p50 %v p99 %v, want 40ms 50ms", p50, p99)
	}
	// The window is bounded and keeps the newest samples.
	for i := range 3 * lagWindow {
		c.addSample(time.Duration(i))
	}
	if len(c.samples) != lagWindow {
		t.Fatalf("%d samples kept", len(c.samples))
	}
	if _, p99 := c.percentiles(); p99 < time.Duration(2*lagWindow) {
		t.Fatalf("p99 %v comes from old samples", p99)
	}
	// The marks are bounded; a full list overstates, never hides, lag.
	c2 := newShipCore(testConfig())
	c2.sinkState(0, []int64{0})
	for i := int64(1); i <= 2*maxMarks; i++ {
		c2.observeCommitted(t0.Add(time.Duration(i)*time.Millisecond), i)
	}
	if len(c2.marks) != maxMarks {
		t.Fatalf("%d marks", len(c2.marks))
	}
	if _, ok := c2.seenAt(2 * maxMarks); !ok {
		t.Fatal("the newest txid has no mark")
	}
	if n, age := c2.lag(t0.Add(time.Duration(2*maxMarks) * time.Millisecond)); n != 2*maxMarks || age != time.Duration(2*maxMarks-1)*time.Millisecond {
		t.Fatalf("lag %d %v", n, age)
	}
}

func TestShipCoreBackoffAndLagLog(t *testing.T) {
	cfg := testConfig()
	cfg.RetryMax, cfg.LagWarn = time.Second, 5*time.Second
	c := newShipCore(cfg)
	c.sinkState(0, []int64{0})
	var waits []time.Duration
	for i := range 6 {
		w, first := c.failed(errors.New("sink down"))
		if first != (i == 0) {
			t.Fatalf("error %d: first %v", i, first)
		}
		waits = append(waits, w)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("backoff %v, want %v", waits, want)
		}
	}
	if c.known {
		t.Fatal("an error must make the shipper re-read the sink")
	}
	if !c.succeeded() || c.succeeded() || c.backoff != 0 {
		t.Fatal("recovery is reported once and resets the backoff")
	}
	c.sinkState(0, []int64{0})
	c.observeCommitted(t0, 10)
	if ev := c.checkLag(t0.Add(5 * time.Second)); ev != lagQuiet {
		t.Fatalf("at the threshold: %v", ev)
	}
	if ev := c.checkLag(t0.Add(6 * time.Second)); ev != lagHigh {
		t.Fatalf("above: %v", ev)
	}
	if ev := c.checkLag(t0.Add(7 * time.Second)); ev != lagQuiet {
		t.Fatal("the lag warning is not rate-limited")
	}
	if ev := c.checkLag(t0.Add(6*time.Second + lagLogEvery)); ev != lagHigh {
		t.Fatal("a lasting lag is not logged again")
	}
	c.batchShipped(t0.Add(40*time.Second), Batch{First: 1, Ops: make([][]byte, 10)})
	if ev := c.checkLag(t0.Add(40 * time.Second)); ev != lagRecovered {
		t.Fatalf("after catching up: %v", ev)
	}
	if ev := c.checkLag(t0.Add(41 * time.Second)); ev != lagQuiet {
		t.Fatal("recovery logged twice")
	}
}

// TestShipperCommittedOnly: edits written but not committed are never
// shipped; committed ones arrive in bounded batches, contiguous after the
// formatted image 0.
func TestShipperCommittedOnly(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newFakeSource(1000, 750)
	sink := newMemSink()
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "txid 750 shipped", func() bool { return s.Status().ShippedTxID == 750 })
	st := s.Status()
	if !st.Synced() || st.LagTxns != 0 || st.CommittedTxID != 750 || st.NewestImageTxID != 0 || !st.Running {
		t.Fatalf("status %+v", st)
	}
	checkChain(t, sink, 750)
	sink.mu.Lock()
	for _, b := range sink.batches {
		if len(b.Ops) > 100 {
			t.Errorf("batch %d-%d exceeds 100 ops", b.First, b.Last())
		}
	}
	sink.mu.Unlock()
	src.write(1234)
	waitUntil(t, "txid 1234 shipped", func() bool { return s.Status().ShippedTxID == 1234 })
	checkChain(t, sink, 1234)
	if st := s.Status(); st.ShippedOps != 1234 || st.LagP99 < st.LagP50 {
		t.Fatalf("status %+v", st)
	}
	s.Stop()
	if s.Status().Running {
		t.Fatal("running after Stop")
	}
}

// TestShipperLateEnable: the journal was purged up to 500 and the newest
// image is 500: the sink gets image 500 first, then edits 501 on.
func TestShipperLateEnable(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newFakeSource(800, 800)
	src.first, src.images = 501, []int64{300, 500}
	sink := newMemSink()
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "synced", func() bool { return s.Status().ShippedTxID == 800 })
	sink.mu.Lock()
	if len(sink.images) != 1 || string(sink.images[500]) != "image-500" {
		t.Errorf("sink images %v", sink.images)
	}
	if _, ok := sink.batches[501]; !ok {
		t.Errorf("no batch at 501: %v", sink.keys())
	}
	sink.mu.Unlock()
	checkChain(t, sink, 800)
}

// TestShipperPurgedJumpsToImage: the sink stopped at 40, the journal now
// starts at 101, and image 150 covers the gap: it is uploaded and edits
// continue at 151.
func TestShipperPurgedJumpsToImage(t *testing.T) {
	testcluster.CheckLeaks(t)
	sink := newMemSink()
	src := newFakeSource(40, 40)
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "40 shipped", func() bool { return s.Status().ShippedTxID == 40 })
	s.Stop()
	src.mu.Lock()
	src.first, src.last, src.images = 101, 300, []int64{100, 150}
	src.mu.Unlock()
	src.committed.Store(300)
	s2 := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "300 shipped", func() bool { return s2.Status().ShippedTxID == 300 })
	sink.mu.Lock()
	_, has150 := sink.images[150]
	_, has151 := sink.batches[151]
	sink.mu.Unlock()
	if !has150 || !has151 {
		t.Fatalf("image 150 %v, batch 151 %v", has150, has151)
	}
	checkChain(t, sink, 300)
}

// TestShipperPeriodicImages: a newer local image covered by the chain is
// uploaded; one beyond the chain waits until the chain reaches it.
func TestShipperPeriodicImages(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newFakeSource(200, 200)
	sink := newMemSink()
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "200 shipped", func() bool { return s.Status().ShippedTxID == 200 })
	src.addImage(150)
	src.addImage(250)
	waitUntil(t, "image 150 uploaded", func() bool { return s.Status().NewestImageTxID == 150 })
	sink.mu.Lock()
	_, has250 := sink.images[250]
	sink.mu.Unlock()
	if has250 {
		t.Fatal("image 250 uploaded before the chain covered it")
	}
	src.write(260)
	waitUntil(t, "image 250 uploaded", func() bool { return s.Status().NewestImageTxID == 250 })
	checkChain(t, sink, 260)
}

// TestShipperTwoShippersRace: an old and a new active ship the same
// journal into one sink at once; the chain has no gap and no overlap.
func TestShipperTwoShippersRace(t *testing.T) {
	testcluster.CheckLeaks(t)
	sink := newMemSink()
	src := newFakeSource(0, 0)
	cfg := testConfig()
	cfg.BatchMaxOps = 7
	a := startShipper(t, cfg, src, sink)
	b := startShipper(t, cfg, src, sink)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); i <= 3000; i += 13 {
			src.write(i)
			time.Sleep(50 * time.Microsecond)
		}
		src.write(3000)
	}()
	wg.Wait()
	waitUntil(t, "both synced", func() bool { return a.Status().ShippedTxID == 3000 && b.Status().ShippedTxID == 3000 })
	checkChain(t, sink, 3000)
	sink.mu.Lock()
	puts, stored := sink.puts, len(sink.batches)
	sink.mu.Unlock()
	t.Logf("%d batches stored, %d PutEdits tried", stored, puts)
}

// TestShipperOutage: while the sink fails, the lag grows and the error is
// reported; the writer is never blocked; when the sink returns the shipper
// catches up.
func TestShipperOutage(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newFakeSource(100, 100)
	sink := newMemSink()
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "100 shipped", func() bool { return s.Status().ShippedTxID == 100 })
	sink.setFail(errors.New("disk unplugged"))
	for i := int64(101); i <= 5000; i++ {
		src.write(i) // never waits for the shipper
	}
	waitUntil(t, "the outage reported", func() bool {
		st := s.Status()
		return strings.Contains(st.LastError, "disk unplugged") && st.LagTxns == 4900 && st.Lag > 0 && !st.Synced()
	})
	sink.setFail(nil)
	waitUntil(t, "caught up", func() bool { st := s.Status(); return st.Synced() && st.ShippedTxID == 5000 })
	// The error is cleared when the round that caught up ends.
	waitUntil(t, "the error cleared", func() bool { return s.Status().LastError == "" })
	if st := s.Status(); st.LagTxns != 0 {
		t.Fatalf("after catching up: %+v", st)
	}
	checkChain(t, sink, 5000)
}

// TestShipperRefusesOtherNamespace: a sink holding another identity gets
// nothing, and the status says why.
func TestShipperRefusesOtherNamespace(t *testing.T) {
	testcluster.CheckLeaks(t)
	sink := newMemSink()
	if err := sink.PutInfo(context.Background(), Info{NamespaceID: 99, ClusterID: "CID-other"}); err != nil {
		t.Fatal(err)
	}
	s := startShipper(t, testConfig(), newFakeSource(50, 50), sink)
	waitUntil(t, "refused", func() bool { return s.Status().Refused })
	if st := s.Status(); !strings.Contains(st.LastError, "another namespace") || st.ShippedTxID != 0 {
		t.Fatalf("status %+v", st)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.batches) != 0 || len(sink.images) != 0 {
		t.Fatal("shipped into another namespace's sink")
	}
}

// TestShipperJournalErrorRetries: a journal read error is retried with
// backoff, then shipping resumes.
func TestShipperJournalErrorRetries(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newFakeSource(100, 100)
	src.readErr = errors.New("journal unreachable")
	sink := newMemSink()
	s := startShipper(t, testConfig(), src, sink)
	waitUntil(t, "the error reported", func() bool { return strings.Contains(s.Status().LastError, "journal unreachable") })
	src.mu.Lock()
	src.readErr = nil
	src.mu.Unlock()
	waitUntil(t, "shipped", func() bool { return s.Status().ShippedTxID == 100 })
	checkChain(t, sink, 100)
}

func TestNewShipperRejectsBadArguments(t *testing.T) {
	if _, err := NewShipper(testConfig(), nil, newMemSink(), ShipperOptions{}); err == nil {
		t.Fatal("nil source accepted")
	}
	cfg := testConfig()
	cfg.BatchMaxOps = 0
	if _, err := NewShipper(cfg, newFakeSource(0, 0), newMemSink(), ShipperOptions{}); err == nil {
		t.Fatal("zero batch size accepted")
	}
	var s Shipper
	s.Stop() // never started: no-op
}
