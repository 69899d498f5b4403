package namenode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/web"
)

// imageTxIDs lists the images of a name directory.
func imageTxIDs(t *testing.T, nameDir string) []int64 {
	t.Helper()
	all, err := image.List(nameDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, i := range all {
		out = append(out, i.TxID)
	}
	return out
}

var segmentName = regexp.MustCompile(`^edits_(\d{19})-(\d{19})$`)

// finalizedSegments lists the finalized segments [first, last] under a
// JournalNode's edits directory.
func finalizedSegments(t *testing.T, dir string) [][2]int64 {
	t.Helper()
	var out [][2]int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if m := segmentName.FindStringSubmatch(d.Name()); m != nil && !d.IsDir() {
			first, _ := strconv.ParseInt(m[1], 10, 64)
			last, _ := strconv.ParseInt(m[2], 10, 64)
			out = append(out, [2]int64{first, last})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHAStandbyCheckpoint: two NameNodes and three JournalNodes. With a
// low dfs.namenode.checkpoint.txns, the standby checkpoints while the
// active takes writes; each image lands in the active's name directory;
// both keep num.checkpoints.retained images; the active purges the edits
// its oldest kept image no longer needs from the JournalNodes; a second
// concurrent upload is refused with 409, an upload to the standby with
// 417; and the old active restarts from the uploaded image (the edits
// before it are gone, so nothing else could bring it back).
func TestHAStandbyCheckpoint(t *testing.T) {
	testcluster.CheckLeaks(t)
	const txns = 20
	h := newHACluster(t, func(cfg *Config) {
		cfg.Conf.Set("dfs.namenode.checkpoint.txns", strconv.Itoa(txns))
		cfg.Conf.Set("dfs.namenode.checkpoint.check.period", "20ms")
		cfg.CheckpointsRetained = 2
		cfg.ExtraEditsRetained = 0
	})
	h.toActive(0)
	active, standby := h.nns[0], h.nns[1]
	addr := active.RPCAddress()

	// Each round writes more than txns edits after the last checkpoint, so
	// a new one must come.
	var written []string
	prev := int64(0)
	for round := range 3 {
		for i := range txns + 5 {
			p := fmt.Sprintf("/ckpt/r%d/d%d", round, i)
			mkdir(t, addr, p)
			written = append(written, p)
		}
		waitFor(t, fmt.Sprintf("round %d: a checkpoint newer than txid %d on the active", round, prev), func() bool {
			ids := imageTxIDs(t, active.cfg.NameDir)
			return len(ids) > 0 && ids[len(ids)-1] > prev
		})
		ids := imageTxIDs(t, active.cfg.NameDir)
		prev = ids[len(ids)-1]
	}

	// Retention on both sides: the two newest images (the active purges
	// right after it publishes an image, so the test may look in between).
	waitFor(t, "the active to keep 2 images", func() bool { return len(imageTxIDs(t, active.cfg.NameDir)) == 2 })
	activeImgs := imageTxIDs(t, active.cfg.NameDir)
	if len(activeImgs) != 2 || activeImgs[0] == 0 {
		t.Fatalf("active keeps images %v, want the 2 newest uploaded ones", activeImgs)
	}
	waitFor(t, "the standby to keep 2 images", func() bool { return len(imageTxIDs(t, standby.cfg.NameDir)) == 2 })
	for _, txid := range activeImgs {
		if err := image.Verify(image.Info{TxID: txid, Path: image.Path(active.cfg.NameDir, txid)}); err != nil {
			t.Fatalf("uploaded image %d: %v", txid, err)
		}
	}
	// /jmx tells an operator how far the last checkpoint is behind.
	bean := jmxBean(t, active.HTTPAddress(), "Hadoop:service=NameNode,name=FSNamesystem")
	sinceCkpt, _ := bean["TransactionsSinceLastCheckpoint"].(float64)
	lastCkpt, _ := bean["LastCheckpointTime"].(float64)
	if want := active.AppliedTxID() - activeImgs[1]; int64(sinceCkpt) > want || lastCkpt <= 0 {
		t.Fatalf("FSNamesystem bean: TransactionsSinceLastCheckpoint %v (at most %d), LastCheckpointTime %v", bean["TransactionsSinceLastCheckpoint"], want, bean["LastCheckpointTime"])
	}

	// Edit purge on every JournalNode: no finalized segment ends before the
	// oldest kept image + 1 (extra edits retained: 0), and segments remain.
	keep := activeImgs[0] + 1
	for _, jn := range h.ha.JournalNodes {
		waitFor(t, fmt.Sprintf("%s to purge segments before txid %d", jn.ID, keep), func() bool {
			for _, s := range finalizedSegments(t, jn.EditsDir) {
				if s[1] < keep {
					return false
				}
			}
			return true
		})
		if segs := finalizedSegments(t, jn.EditsDir); len(segs) == 0 {
			t.Fatalf("%s has no finalized segment left", jn.ID)
		}
	}

	// The figures /jmx shows (FSNamesystem LastCheckpointTime and
	// TransactionsSinceLastCheckpoint).
	if at, since := active.checkpointFigures(); at == 0 || since != active.AppliedTxID()-activeImgs[1] {
		t.Errorf("active checkpoint figures: time %d, %d txns since (applied %d, newest image %d)", at, since, active.AppliedTxID(), activeImgs[1])
	}

	// Upload refusals. The standby refuses any upload (417): it is not active.
	c := web.NewImageClient(10 * time.Second)
	t.Cleanup(c.CloseIdleConnections)
	ctx := context.Background()
	newest := image.Info{TxID: activeImgs[1], Path: image.Path(active.cfg.NameDir, activeImgs[1])}
	err := uploadImage(ctx, c, standby.HTTPAddress(), newest, storageInfoString(standby.StorageInfo()))
	if !errors.Is(err, web.ErrNotActive) || !strings.Contains(err.Error(), "State: standby") {
		t.Errorf("upload to the standby: %v", err)
	}
	// A second upload while one is in progress is refused at once (409).
	// The first is a PUT written by hand on a raw connection: its header
	// and the start of a stream (magic and version) are sent, then the
	// receiver waits for the rest while this test holds the connection.
	// First wait until the standby's own last upload has released the slot.
	slotFree := func() bool {
		err := uploadImage(ctx, c, active.HTTPAddress(), newest, "")
		return errors.Is(err, web.ErrUploadRefused) && strings.Contains(err.Error(), "already uploaded an checkpoint")
	}
	waitFor(t, "the upload slot to be free", slotFree)
	conn, err := net.Dial("tcp", active.HTTPAddress())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "PUT /imagetransfer?txid=999999 HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000000\r\n\r\nHSIM\x00\x00\x00\x01", active.HTTPAddress()); err != nil {
		t.Fatal(err)
	}
	var second error
	waitFor(t, "the second upload to meet the first", func() bool {
		second = uploadImage(ctx, c, active.HTTPAddress(), newest, storageInfoString(active.StorageInfo()))
		return errors.Is(second, web.ErrUploadRefused) && strings.Contains(second.Error(), "Another checkpointer is already in the process of uploading a checkpoint made at transaction ID 999999")
	})
	conn.Close() // the first upload breaks off: nothing is kept
	waitFor(t, "the upload slot to be free again", slotFree)
	if ids := imageTxIDs(t, active.cfg.NameDir); fmt.Sprint(ids) != fmt.Sprint(activeImgs) {
		t.Errorf("images after the refused and abandoned uploads: %v, want %v", ids, activeImgs)
	}

	// The active restarts from the uploaded image: nn2 takes over, nn1
	// restarts (standby), catches up, and becomes active again.
	last := active.AppliedTxID()
	h.toStandby(0)
	h.waitCaughtUp(1, last)
	h.toActive(1)
	if err := h.g.Stop(h.id(0)); err != nil {
		t.Fatal(err)
	}
	h.start(0)
	restarted := h.nns[0]
	if restarted.HAState() != ha.Standby {
		t.Fatalf("restarted nn1 is %v", restarted.HAState())
	}
	h.waitCaughtUp(0, h.nns[1].AppliedTxID())
	h.toStandby(1)
	h.toActive(0)
	for _, p := range []string{written[0], written[len(written)/2], written[len(written)-1]} {
		if !exists(t, restarted.RPCAddress(), p) {
			t.Errorf("%s missing after the restart from the uploaded image", p)
		}
	}
}

// uploadImage streams img to addr like the standby does.
func uploadImage(ctx context.Context, c *http.Client, addr string, img image.Info, storageInfo string) error {
	u := &uploader{client: c, addrs: []string{addr}, storageInfo: storageInfo, log: zap.NewNop()}
	return u.uploadTo(ctx, addr, img)
}

// TestUploadToActiveNonHA: the active side against a running non-HA
// NameNode. An image of its namespace, saved elsewhere as a standby would,
// is uploaded: the active keeps it, rolls, keeps one image
// (num.checkpoints.retained=1) and purges its local edits before it. An
// image of another namespace is refused (403) and a corrupt stream is not
// kept.
func TestUploadToActiveNonHA(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.CheckpointsRetained = 1
	cfg.ExtraEditsRetained = 0
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn := startNN(t, cfg)
	t.Cleanup(func() { nn.Stop() })
	for i := range 10 {
		mkdir(t, nn.RPCAddress(), fmt.Sprintf("/u/%d", i))
	}
	// The "standby": an image of the active's namespace in another name dir.
	other := t.TempDir()
	img, err := image.Save(nn.Namesystem().Namespace(), other, testcluster.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if img.TxID < 10 {
		t.Fatalf("saved image txid %d", img.TxID)
	}
	c := web.NewImageClient(10 * time.Second)
	t.Cleanup(c.CloseIdleConnections)
	ctx := context.Background()
	if err := uploadImage(ctx, c, nn.HTTPAddress(), img, "-66:1:0:CID-someone-else"); err == nil || !strings.Contains(err.Error(), "403") ||
		!strings.Contains(err.Error(), "This namenode has storage info "+storageInfoString(nn.StorageInfo())+" but the secondary expected -66:1:0:CID-someone-else") {
		t.Errorf("upload from another namespace: %v", err)
	}
	// A damaged stream is refused and nothing is kept.
	var buf bytes.Buffer
	if err := image.Stream(&buf, img); err != nil {
		t.Fatal(err)
	}
	bad := buf.Bytes()
	bad[len(bad)/2] ^= 0xff
	if err := web.UploadImage(ctx, c, nn.HTTPAddress(), img.TxID, "", bytes.NewReader(bad)); err == nil {
		t.Error("a damaged image was accepted")
	}
	if ids := imageTxIDs(t, dir); fmt.Sprint(ids) != "[0]" {
		t.Fatalf("images after a damaged upload: %v", ids)
	}

	if err := uploadImage(ctx, c, nn.HTTPAddress(), img, storageInfoString(nn.StorageInfo())); err != nil {
		t.Fatal(err)
	}
	if ids := imageTxIDs(t, dir); fmt.Sprint(ids) != fmt.Sprint([]int64{img.TxID}) {
		t.Errorf("images after the upload: %v, want [%d]", ids, img.TxID)
	}
	el := nn.Namesystem().EditLog()
	if seg := el.SegmentTxID(); seg != img.TxID+1 {
		t.Errorf("open segment starts at %d after the upload, want %d (rolled)", seg, img.TxID+1)
	}
	for _, s := range finalizedSegments(t, dir) {
		if s[1] <= img.TxID {
			t.Errorf("segment %v survived the purge (image %d)", s, img.TxID)
		}
	}
	// The same image again: 409, nothing to do.
	if err := uploadImage(ctx, c, nn.HTTPAddress(), img, ""); !errors.Is(err, web.ErrUploadRefused) {
		t.Errorf("second upload of the same image: %v", err)
	}
	// And the NameNode restarts from it (the edits before it are gone).
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	nn2 := startNN(t, cfg)
	t.Cleanup(func() { nn2.Stop() })
	for _, p := range []string{"/u/0", "/u/9"} {
		if !exists(t, nn2.RPCAddress(), p) {
			t.Errorf("%s missing after restart from the uploaded image", p)
		}
	}
}
