package namenode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

// withMirror sets namespace.mirror.uri (and the keys in extra) on a
// NameNode's configuration and reads the mirror configuration from it.
func withMirror(t testing.TB, dir string, extra map[string]string) func(*Config) {
	return func(cfg *Config) {
		cfg.Conf.Set(tablestore.KeyMirrorURI, "file://"+dir)
		cfg.Conf.Set(tablestore.KeyPollInterval, "1")
		cfg.Conf.Set(tablestore.KeyRetryMax, "200")
		for k, v := range extra {
			cfg.Conf.Set(k, v)
		}
		m, err := tablestore.ConfigFromConf(cfg.Conf)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Mirror = m
	}
}

// metaStatus reads NameNode i's MetaStatus bean.
func (h *haCluster) metaStatus(i int) map[string]any {
	h.t.Helper()
	return jmxBean(h.t.(*testing.T), h.nns[i].HTTPAddress(), MetaStatusBean)
}

func beanInt(b map[string]any, k string) int64 {
	f, _ := b[k].(float64)
	return int64(f)
}

// waitSynced waits until NameNode i's bean says Synced=1 with at least
// txid committed, and returns the bean.
func (h *haCluster) waitSynced(i int, txid int64) map[string]any {
	h.t.Helper()
	var b map[string]any
	waitFor(h.t, fmt.Sprintf("%s: mirror synced at txid >= %d", h.id(i), txid), func() bool {
		b = h.metaStatus(i)
		return beanInt(b, "Synced") == 1 && beanInt(b, "LastCommittedTxId") >= txid && beanInt(b, "LastMirroredTxId") >= txid
	})
	return b
}

// sinkChain reads the mirror in dir and checks it: batches contiguous
// from the first one (which follows an image), no overlap, and every op
// equal to the journal's (read with a reader of NameNode nn). It returns
// the images, the first batch's first txid and the last txid.
func sinkChain(t *testing.T, dir string, nn *NameNode) (images []int64, first, last int64) {
	t.Helper()
	ctx := context.Background()
	s, err := filesink.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if images, err = s.Images(ctx); err != nil || len(images) == 0 {
		t.Fatalf("sink images %v: %v", images, err)
	}
	ops := map[int64][]byte{}
	next := int64(-1)
	err = s.ReadEdits(ctx, 1, func(b tablestore.Batch) error {
		if next < 0 {
			first = b.First
		} else if b.First != next {
			return fmt.Errorf("batch %d-%d follows a chain ending at %d: gap or overlap", b.First, b.Last(), next-1)
		}
		for i, op := range b.Ops {
			ops[b.First+int64(i)] = op
		}
		next = b.Last() + 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next < 0 {
		t.Fatal("the sink holds no edits")
	}
	last = next - 1
	hasImage := false
	for _, img := range images {
		hasImage = hasImage || img == first-1
	}
	if !hasImage {
		t.Fatalf("the chain starts at %d but the images are %v", first, images)
	}
	r, err := nn.openMirrorReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	if _, err := r.ReadFrom(ctx, first, func(txid int64, op []byte) error {
		if txid > last {
			return nil
		}
		n++
		if !bytes.Equal(ops[txid], op) {
			return fmt.Errorf("txid %d differs between the sink and the journal", txid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if int64(n) != last-first+1 {
		t.Fatalf("the journal holds %d of the sink's txids %d-%d", n, first, last)
	}
	return images, first, last
}

// TestMirrorHASynced: the active ships to a file sink; after writes stop
// both NameNodes report Synced=1, and the sink is a contiguous chain from
// the formatted image equal to the journal.
func TestMirrorHASynced(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	h := newHACluster(t, withMirror(t, dir, map[string]string{tablestore.KeyBatchMaxOps: "16"}))
	h.toActive(0)
	addr := h.nns[0].RPCAddress()
	for i := range 200 {
		mkdir(t, addr, fmt.Sprintf("/m/d%d", i))
	}
	committed := h.nns[0].durableTxID()
	b := h.waitSynced(0, committed)
	if b["HAState"] != "active" || b["Enabled"] != true || b["Shipping"] != true || b["Sink"] != "file://"+dir || beanInt(b, "LagTxns") != 0 ||
		beanInt(b, "NewestMirroredImageTxId") != 0 || b["LastError"] != "" || b["RecoveryState"] != "" {
		t.Fatalf("active MetaStatus %v", b)
	}
	if beanInt(b, "LagP99Millis") < beanInt(b, "LagP50Millis") {
		t.Fatalf("p99 below p50: %v", b)
	}
	h.waitCaughtUp(1, committed)
	sb := h.waitSynced(1, committed)
	if sb["HAState"] != "standby" || sb["Shipping"] != false || beanInt(sb, "LastMirroredTxId") != committed {
		t.Fatalf("standby MetaStatus %v", sb)
	}
	images, first, last := sinkChain(t, dir, h.nns[0])
	if first != 1 || last != committed || images[0] != 0 {
		t.Fatalf("sink chain %d-%d images %v, want 1-%d after image 0", first, last, images, committed)
	}
	resp, err := http.Get("http://" + h.nns[0].HTTPAddress() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"namenode_mirror_lag_txns 0", "namenode_mirror_lag_seconds 0", "namenode_mirror_shipped_txid " + strconv.FormatInt(committed, 10)} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}

// TestMirrorFailoverWhileShipping: writes continue across a failover while
// the shipper ships small batches; the new active resumes from the sink's
// high-water mark: no gap, no duplicate.
func TestMirrorFailoverWhileShipping(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	h := newHACluster(t, withMirror(t, dir, map[string]string{tablestore.KeyBatchMaxOps: "3"}))
	h.toActive(0)
	var stop atomic.Bool
	var wrote atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			for _, nn := range h.nns {
				if mkdirErr(t, nn.RPCAddress(), fmt.Sprintf("/f/d%d", i)) == nil {
					wrote.Add(1)
					break
				}
			}
		}
	}()
	waitFor(t, "writes before the failover", func() bool { return wrote.Load() >= 100 })
	h.toStandby(0)
	h.toActive(1)
	before := wrote.Load()
	waitFor(t, "writes after the failover", func() bool { return wrote.Load() >= before+100 })
	stop.Store(true)
	wg.Wait()
	committed := h.nns[1].durableTxID()
	h.waitSynced(1, committed)
	_, first, last := sinkChain(t, dir, h.nns[1])
	if first != 1 || last != committed {
		t.Fatalf("sink chain %d-%d, want 1-%d", first, last, committed)
	}
}

// TestMirrorLateEnable: a namespace with history (checkpointed, its old
// edits purged) turns mirroring on: the sink gets the newest image first,
// then the edits after it.
func TestMirrorLateEnable(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	h := newHACluster(t, func(cfg *Config) {
		cfg.Conf.Set("dfs.namenode.checkpoint.txns", "20")
		cfg.Conf.Set("dfs.namenode.checkpoint.check.period", "20ms")
		cfg.ExtraEditsRetained = 0
	})
	h.toActive(0)
	addr := h.nns[0].RPCAddress()
	for i := range 60 {
		mkdir(t, addr, fmt.Sprintf("/late/d%d", i))
	}
	waitFor(t, "a checkpoint on the active", func() bool {
		ids := imageTxIDs(t, h.nns[0].cfg.NameDir)
		return len(ids) > 0 && ids[len(ids)-1] >= 20
	})
	for i := range h.nns {
		if err := h.g.Stop(h.id(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range h.cfgs {
		withMirror(t, dir, nil)(&h.cfgs[i])
		h.start(i)
	}
	ids := imageTxIDs(t, h.nns[0].cfg.NameDir)
	newest := ids[len(ids)-1]
	h.toActive(0)
	addr = h.nns[0].RPCAddress()
	for i := range 10 {
		mkdir(t, addr, fmt.Sprintf("/late/e%d", i))
	}
	committed := h.nns[0].durableTxID()
	h.waitSynced(0, committed)
	images, first, last := sinkChain(t, dir, h.nns[0])
	if images[0] < newest || first != images[0]+1 || last != committed {
		t.Fatalf("late enable: images %v (newest local %d), chain %d-%d, committed %d", images, newest, first, last, committed)
	}
}

// TestMirrorSinkOutage: while the sink is down client writes succeed, the
// bean shows the lag and the error; when it returns the mirror catches up.
func TestMirrorSinkOutage(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	h := newHACluster(t, withMirror(t, dir, nil))
	var faulty *sinktest.Faulty
	for i := range h.nns { // restart with the sink wrapped
		if err := h.g.Stop(h.id(i)); err != nil {
			t.Fatal(err)
		}
		nn, err := New(h.cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			nn.mirror.openSink = func(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error) {
				s, err := openSink(ctx, cfg)
				if err != nil {
					return nil, err
				}
				faulty = sinktest.NewFaulty(s)
				return faulty, nil
			}
		}
		if err := h.g.Start(context.Background(), h.id(i), nn); err != nil {
			t.Fatal(err)
		}
		h.nns[i] = nn
	}
	h.toActive(0)
	addr := h.nns[0].RPCAddress()
	mkdir(t, addr, "/o/first")
	h.waitSynced(0, h.nns[0].durableTxID())
	faulty.SetDown(true)
	start := time.Now()
	for i := range 100 {
		mkdir(t, addr, fmt.Sprintf("/o/d%d", i)) // client writes are unaffected
	}
	t.Logf("100 writes with the sink down took %v", time.Since(start))
	committed := h.nns[0].durableTxID()
	waitFor(t, "the lag and the error in MetaStatus", func() bool {
		b := h.metaStatus(0)
		return beanInt(b, "Synced") == 0 && beanInt(b, "LagTxns") >= 100 && b["LastError"] != "" && b["LagSeconds"].(float64) > 0
	})
	faulty.SetDown(false)
	h.waitSynced(0, committed)
	// The error is cleared when the round that caught up ends.
	waitFor(t, "the error cleared", func() bool { return h.metaStatus(0)["LastError"] == "" })
	_, first, last := sinkChain(t, dir, h.nns[0])
	if first != 1 || last != committed {
		t.Fatalf("sink chain %d-%d, want 1-%d", first, last, committed)
	}
}

// TestMirrorNonHA: a NameNode without HA ships from its local journal
// (read without repairing or recovering it) and its bean says active.
func TestMirrorNonHA(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	nn, addr := startNonHAWithMirror(t, dir)
	for i := range 50 {
		mkdir(t, addr, fmt.Sprintf("/s/d%d", i))
	}
	committed := nn.durableTxID()
	var b map[string]any
	waitFor(t, "synced", func() bool {
		b = jmxBean(t, nn.HTTPAddress(), MetaStatusBean)
		return beanInt(b, "Synced") == 1 && beanInt(b, "LastMirroredTxId") == committed
	})
	if b["HAState"] != "active" {
		t.Fatalf("MetaStatus %v", b)
	}
	s, err := filesink.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := int64(1)
	if err := s.ReadEdits(context.Background(), 1, func(b tablestore.Batch) error {
		if b.First != next {
			return fmt.Errorf("batch at %d, want %d", b.First, next)
		}
		next = b.Last() + 1
		return nil
	}); err != nil || next-1 != committed {
		t.Fatalf("chain ends at %d (want %d): %v", next-1, committed, err)
	}
}

// startNonHAWithMirror formats and starts a NameNode without HA that
// mirrors to dir; it is stopped in t.Cleanup.
func startNonHAWithMirror(t *testing.T, dir string) (*NameNode, string) {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	withMirror(t, dir, nil)(&cfg)
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn := startNN(t, cfg)
	t.Cleanup(func() { nn.Stop() })
	return nn, nn.RPCAddress()
}

// TestMirrorSinkUnreachableAtStart: a sink that cannot be opened when the
// NameNode starts (here its directory path is taken by a regular file,
// as an unmounted or broken NFS path would be) does not stop the
// NameNode; the error shows in MetaStatus, client writes succeed, and
// once the path is usable the shipper opens it and catches up.
func TestMirrorSinkUnreachableAtStart(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	nn, addr := startNonHAWithMirror(t, dir)
	for i := range 20 {
		mkdir(t, addr, fmt.Sprintf("/u/d%d", i))
	}
	b := jmxBean(t, nn.HTTPAddress(), MetaStatusBean)
	if beanInt(b, "Synced") != 0 || b["LastError"] == "" {
		t.Fatalf("MetaStatus with an unusable sink: %v", b)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	committed := nn.durableTxID()
	waitFor(t, "synced after the sink became usable", func() bool {
		b = jmxBean(t, nn.HTTPAddress(), MetaStatusBean)
		return beanInt(b, "Synced") == 1 && beanInt(b, "LastMirroredTxId") >= committed
	})
	waitFor(t, "the error cleared", func() bool { return jmxBean(t, nn.HTTPAddress(), MetaStatusBean)["LastError"] == "" })
	s, err := filesink.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if imgs, err := s.Images(context.Background()); err != nil || len(imgs) == 0 {
		t.Fatalf("images %v: %v", imgs, err)
	}
	if last, err := s.LastTxID(context.Background()); err != nil || last < committed {
		t.Fatalf("sink ends at %d (%v), want >= %d", last, err, committed)
	}
}
