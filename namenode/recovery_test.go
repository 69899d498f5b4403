package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
)

// recoverySource is a stopped non-HA NameNode with history: edits, an
// image in the middle of them (imageTxID), more edits (up to lastTxID),
// and the namespace as listed before it stopped.
type recoverySource struct {
	cfg       Config
	imageTxID int64
	lastTxID  int64
	listing   []string
}

func completeFile(t testing.TB, addr, p string) {
	t.Helper()
	if err := call(t, addr, "hdfs", "create", createReq(p), &hdfspb.CreateResponseProto{}); err != nil {
		t.Fatal(err)
	}
	resp := &hdfspb.CompleteResponseProto{}
	if err := call(t, addr, "hdfs", "complete", &hdfspb.CompleteRequestProto{Src: proto.String(p), ClientName: proto.String("DFSClient_test")}, resp); err != nil || !resp.GetResult() {
		t.Fatalf("complete %s: %v %v", p, resp, err)
	}
}

func newRecoverySource(t *testing.T) *recoverySource {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn := startNN(t, cfg)
	addr := nn.RPCAddress()
	for i := 0; i < 5; i++ {
		mkdir(t, addr, fmt.Sprintf("/data/d%d/sub", i))
		completeFile(t, addr, fmt.Sprintf("/data/d%d/f", i))
	}
	if err := call(t, addr, "hdfs", "setPermission", &hdfspb.SetPermissionRequestProto{Src: proto.String("/data/d1"), Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o700)}}, &hdfspb.SetPermissionResponseProto{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []hdfspb.SafeModeActionProto{hdfspb.SafeModeActionProto_SAFEMODE_ENTER} {
		if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: a.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := call(t, addr, "hdfs", "saveNamespace", &hdfspb.SaveNamespaceRequestProto{}, &hdfspb.SaveNamespaceResponseProto{}); err != nil {
		t.Fatal(err)
	}
	if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_LEAVE.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
		t.Fatal(err)
	}
	src := &recoverySource{cfg: cfg, imageTxID: nn.AppliedTxID()}
	if err := call(t, addr, "hdfs", "rename", &hdfspb.RenameRequestProto{Src: proto.String("/data/d2"), Dst: proto.String("/data/moved")}, &hdfspb.RenameResponseProto{}); err != nil {
		t.Fatal(err)
	}
	if err := call(t, addr, "hdfs", "delete", &hdfspb.DeleteRequestProto{Src: proto.String("/data/d3"), Recursive: proto.Bool(true)}, &hdfspb.DeleteResponseProto{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		mkdir(t, addr, fmt.Sprintf("/later/%02d", i))
	}
	completeFile(t, addr, "/later/file")
	src.lastTxID = nn.AppliedTxID()
	src.listing = listTree(t, addr)
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	return src
}

// listTree lists every inode under / with what an image dump shows.
func listTree(t testing.TB, addr string) []string {
	t.Helper()
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		after := []byte{}
		for {
			resp := &hdfspb.GetListingResponseProto{}
			if err := call(t, addr, "hdfs", "getListing", &hdfspb.GetListingRequestProto{Src: proto.String(dir), StartAfter: after, NeedLocation: proto.Bool(false)}, resp); err != nil {
				t.Fatalf("getListing %s: %v", dir, err)
			}
			l := resp.GetDirList()
			for _, st := range l.GetPartialListing() {
				p := strings.TrimSuffix(dir, "/") + "/" + string(st.GetPath())
				out = append(out, fmt.Sprintf("%s %v %o %s:%s len=%d repl=%d mtime=%d atime=%d id=%d", p, st.GetFileType(), st.GetPermission().GetPerm(),
					st.GetOwner(), st.GetGroup(), st.GetLength(), st.GetBlockReplication(), st.GetModificationTime(), st.GetAccessTime(), st.GetFileId()))
				if st.GetFileType() == hdfspb.HdfsFileStatusProto_IS_DIR {
					walk(p)
				}
				after = st.GetPath()
			}
			if l.GetRemainingEntries() == 0 {
				break
			}
		}
	}
	walk("/")
	sort.Strings(out)
	return out
}

// buildSink copies src's identity, its image and every edit (in batches of
// batchOps, so that one batch straddles the image) into a new file sink,
// as the shipper would have, and returns its directory.
func buildSink(t testing.TB, src *recoverySource, batchOps int) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := filesink.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	si, err := ReadVersion(src.cfg.NameDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutInfo(ctx, tablestore.Info{NamespaceID: si.NamespaceID, ClusterID: si.ClusterID, BlockPoolID: si.BlockPoolID, CTime: si.CTime, LayoutVersion: si.LayoutVersion}); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(image.Stream(pw, image.Info{TxID: src.imageTxID, Path: image.Path(src.cfg.NameDir, src.imageTxID)}))
	}()
	if err := s.PutImage(ctx, src.imageTxID, pr); err != nil {
		t.Fatal(err)
	}
	editsDir, err := editlog.EditsDirFromConf(src.cfg.Conf)
	if err != nil {
		t.Fatal(err)
	}
	lj, err := editlog.OpenLocal(vfs.Default, editsDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lj.Close()
	b := tablestore.Batch{First: 1}
	flush := func() {
		if len(b.Ops) > 0 {
			if err := s.PutEdits(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		b = tablestore.Batch{First: b.Last() + 1}
	}
	last, err := lj.ReadFrom(ctx, 1, func(txid int64, op []byte) error {
		b.Ops = append(b.Ops, append([]byte(nil), op...))
		if len(b.Ops) == batchOps {
			flush()
		}
		return nil
	})
	if err != nil || last != src.lastTxID {
		t.Fatalf("source edits end at %d (%v), want %d", last, err, src.lastTxID)
	}
	flush()
	return dir
}

// recoveryConfig turns cfg into a recovery-mode configuration reading the
// file sink in sinkDir.
func recoveryConfig(cfg Config, sinkDir string, on bool) Config {
	cfg.Mirror = tablestore.DefaultConfig()
	cfg.Mirror.Kind, cfg.Mirror.Dir, cfg.Mirror.RecoveryMode = "file", sinkDir, on
	return cfg
}

func isReadOnly(err error) bool {
	var re *rpc.RemoteError
	return errors.As(err, &re) && re.Class == "java.io.IOException" && re.Message == ReadOnlyMessage
}

// checkReadOnly checks that mutations get the exact recovery-mode text,
// reads work, and the NameNode logged nothing.
func checkReadOnly(t *testing.T, nn *NameNode) {
	t.Helper()
	addr := nn.RPCAddress()
	before := nn.AppliedTxID()
	for name, f := range map[string]func() error{
		"mkdirs": func() error { return mkdirErr(t, addr, "/new") },
		"create": func() error {
			return call(t, addr, "hdfs", "create", createReq("/new-file"), &hdfspb.CreateResponseProto{})
		},
		"delete": func() error {
			return call(t, addr, "hdfs", "delete", &hdfspb.DeleteRequestProto{Src: proto.String("/data"), Recursive: proto.Bool(true)}, &hdfspb.DeleteResponseProto{})
		},
		"rename": func() error {
			return call(t, addr, "hdfs", "rename", &hdfspb.RenameRequestProto{Src: proto.String("/later"), Dst: proto.String("/x")}, &hdfspb.RenameResponseProto{})
		},
		"setOwner": func() error {
			return call(t, addr, "hdfs", "setOwner", &hdfspb.SetOwnerRequestProto{Src: proto.String("/data"), Username: proto.String("bob")}, &hdfspb.SetOwnerResponseProto{})
		},
	} {
		if err := f(); !isReadOnly(err) {
			t.Errorf("%s in recovery mode: %v, want java.io.IOException %q", name, err, ReadOnlyMessage)
		}
	}
	if got := nn.AppliedTxID(); got != before {
		t.Fatalf("mutations moved the namespace from txid %d to %d", before, got)
	}
	if !exists(t, addr, "/later/file") {
		t.Fatal("/later/file is not readable")
	}
	if err := call(t, addr, "hdfs", "msync", &hdfspb.MsyncRequestProto{}, &hdfspb.MsyncResponseProto{}); err != nil {
		t.Fatalf("msync: %v", err)
	}
	st := &hdfspb.HAServiceStateResponseProto{}
	if err := call(t, addr, "hdfs", "getHAServiceState", &hdfspb.HAServiceStateRequestProto{}, st); err != nil || st.GetState() != commonpb.HAServiceStateProto_ACTIVE {
		t.Fatalf("getHAServiceState: %v %v", st, err)
	}
}

// stallSink stops recovery's edit reading after its first batch until
// release is closed.
type stallSink struct {
	tablestore.Sink
	reached chan struct{}
	release chan struct{}
}

// stallRecovery makes nn's recovery read its sink through a stallSink.
func stallRecovery(nn *NameNode) *stallSink {
	stall := &stallSink{reached: make(chan struct{}), release: make(chan struct{})}
	nn.recovery.openSink = func(ctx context.Context, c tablestore.Config) (tablestore.Sink, error) {
		s, err := openSink(ctx, c)
		stall.Sink = s
		return stall, err
	}
	return stall
}

func (s *stallSink) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	n := 0
	return s.Sink.ReadEdits(ctx, from, func(b tablestore.Batch) error {
		if n++; n == 2 {
			close(s.reached)
			select {
			case <-s.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return fn(b)
	})
}

// TestRecoveryFromFileSink recovers a new NameNode from a file sink built
// from a source NameNode's image and edits: RUNNING with progress while it
// loads (the HTTP server answers), then FINISH, a namespace equal to the
// source's, reads working, every mutation refused with the exact text,
// HA transitions refused; a restart in recovery mode starts from the
// local image it saved.
func TestRecoveryFromFileSink(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newRecoverySource(t)
	sinkDir := buildSink(t, src, 7)

	cfg := recoveryConfig(testConfig(t, t.TempDir()), sinkDir, true)
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nn.Stop() })
	stall := stallRecovery(nn)
	started := make(chan error, 1)
	go func() { started <- nn.Start(context.Background()) }()
	select {
	case <-stall.reached:
	case err := <-started:
		t.Fatalf("Start returned before reading edits: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("recovery never read its second batch")
	}
	state, loaded, target := nn.recoveryStatus()
	if state != RecoveryRunning || target != src.lastTxID || loaded < src.imageTxID || loaded >= target {
		t.Fatalf("while loading: state %q loaded %d target %d; want RUNNING, image %d <= loaded < %d", state, loaded, target, src.imageTxID, src.lastTxID)
	}
	for bean, want := range map[string]string{
		"Hadoop:service=NameNode,name=NameNodeStatus": `"State":"initializing"`,
		MetaStatusBean: fmt.Sprintf(`"RecoveryState":"RUNNING","RecoveryTargetTxId":%d`, src.lastTxID),
	} {
		resp, err := http.Get("http://" + nn.HTTPAddress() + "/jmx?qry=" + bean)
		if err != nil {
			t.Fatalf("HTTP while recovering: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if compact := strings.Join(strings.Fields(string(body)), ""); resp.StatusCode != http.StatusOK || !strings.Contains(compact, strings.ReplaceAll(want, " ", "")) {
			t.Fatalf("/jmx %s while recovering: %d %s, want %s", bean, resp.StatusCode, body, want)
		}
	}
	close(stall.release)
	if err := <-started; err != nil {
		t.Fatal(err)
	}

	if state, loaded, target := nn.recoveryStatus(); state != RecoveryFinish || loaded != src.lastTxID || target != src.lastTxID {
		t.Fatalf("after recovery: state %q loaded %d target %d; want FINISH at %d", state, loaded, target, src.lastTxID)
	}
	if nn.HAState().String() != "active" || nn.AppliedTxID() != src.lastTxID {
		t.Fatalf("recovered NameNode %s at txid %d, want active at %d", nn.HAState(), nn.AppliedTxID(), src.lastTxID)
	}
	if got := listTree(t, nn.RPCAddress()); strings.Join(got, "\n") != strings.Join(src.listing, "\n") {
		t.Fatalf("recovered namespace differs:\n%s\nsource:\n%s", strings.Join(got, "\n"), strings.Join(src.listing, "\n"))
	}
	si := nn.StorageInfo()
	want, _ := ReadVersion(src.cfg.NameDir)
	if got, _ := ReadVersion(cfg.NameDir); got != want || si != want {
		t.Fatalf("VERSION %+v, running with %+v; source %+v", got, si, want)
	}
	if imgs := imageTxIDs(t, cfg.NameDir); len(imgs) == 0 || imgs[len(imgs)-1] != src.lastTxID {
		t.Fatalf("local images %v, want the recovered txid %d", imgs, src.lastTxID)
	}
	checkReadOnly(t, nn)
	if err := nn.TransitionToStandby(context.Background(), commonpb.HARequestSource_REQUEST_BY_USER); err == nil {
		t.Fatal("transitionToStandby in recovery mode succeeded")
	}
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}

	// A restart in recovery mode: VERSION matches the sink, and the local
	// image (the recovered txid) is newer than the sink's.
	nn = startNN(t, cfg)
	t.Cleanup(func() { nn.Stop() })
	if state, loaded, _ := nn.recoveryStatus(); state != RecoveryFinish || loaded != src.lastTxID {
		t.Fatalf("restart: state %q loaded %d", state, loaded)
	}
	if got := listTree(t, nn.RPCAddress()); strings.Join(got, "\n") != strings.Join(src.listing, "\n") {
		t.Fatal("namespace differs after a restart in recovery mode")
	}
	checkReadOnly(t, nn)
}

// TestRecoveryRefusals: a sink with no namespace, a corrupt batch, a
// corrupt image and a name directory of another namespace each stop the
// recovery with an error saying so (naming the sink object when one is
// bad), and nothing is served.
func TestRecoveryRefusals(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newRecoverySource(t)
	ctx := context.Background()
	start := func(cfg Config) error {
		nn, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer nn.Stop()
		return nn.Start(ctx)
	}

	// Empty sink.
	empty := t.TempDir()
	if err := start(recoveryConfig(testConfig(t, t.TempDir()), empty, true)); err == nil || !errors.Is(err, tablestore.ErrNotFound) || !strings.Contains(err.Error(), "holds no namespace") {
		t.Fatalf("empty sink: %v", err)
	}

	// A corrupt batch after the image: named, and never applied.
	sinkDir := buildSink(t, src, 7)
	keys, err := os.ReadDir(filepath.Join(sinkDir, "edits"))
	if err != nil {
		t.Fatal(err)
	}
	bad := ""
	for _, k := range keys {
		var first int64
		if _, err := fmt.Sscanf(k.Name(), "%d", &first); err == nil && first > src.imageTxID+7 {
			bad = k.Name()
			break
		}
	}
	if bad == "" {
		t.Fatal("no batch after the image")
	}
	p := filepath.Join(sinkDir, "edits", bad)
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), orig...)
	flipped[len(flipped)/2] ^= 0x40
	if err := os.WriteFile(p, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	err = start(recoveryConfig(testConfig(t, t.TempDir()), sinkDir, true))
	if !errors.Is(err, tablestore.ErrCorrupt) || !strings.Contains(err.Error(), "edits/"+bad) {
		t.Fatalf("corrupt batch: %v, want a corruption error naming edits/%s", err, bad)
	}
	// A missing batch is a gap, never skipped.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	err = start(recoveryConfig(testConfig(t, t.TempDir()), sinkDir, true))
	if !errors.Is(err, editlog.ErrGap) {
		t.Fatalf("missing batch: %v, want a gap", err)
	}
	if err := os.WriteFile(p, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	// A corrupt image: named.
	ip := filepath.Join(sinkDir, "images", fmt.Sprintf("%019d", src.imageTxID))
	img, err := os.ReadFile(ip)
	if err != nil {
		t.Fatal(err)
	}
	bimg := append([]byte(nil), img...)
	bimg[len(bimg)/2] ^= 0x01
	if err := os.WriteFile(ip, bimg, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = start(recoveryConfig(testConfig(t, dir), sinkDir, true))
	if !errors.Is(err, tablestore.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("image %d", src.imageTxID)) {
		t.Fatalf("corrupt image: %v", err)
	}
	if _, err := ReadVersion(dir); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("a failed recovery wrote VERSION: %v", err)
	}
	if err := os.WriteFile(ip, img, 0o644); err != nil {
		t.Fatal(err)
	}

	// A name directory of another namespace.
	other := testConfig(t, t.TempDir())
	if _, err := Format(ctx, other, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	err = start(recoveryConfig(other, sinkDir, true))
	if err == nil || !strings.Contains(err.Error(), "refusing to recover into it") {
		t.Fatalf("another namespace's name directory: %v", err)
	}

	// The repaired sink recovers.
	nn := startNN(t, recoveryConfig(testConfig(t, t.TempDir()), sinkDir, true))
	defer nn.Stop()
	if nn.AppliedTxID() != src.lastTxID {
		t.Fatalf("recovered at %d, want %d", nn.AppliedTxID(), src.lastTxID)
	}
}

// TestRecoveryStopWhileLoading: Stop cancels a recovery in progress; the
// name directory is released and a later recovery completes.
func TestRecoveryStopWhileLoading(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newRecoverySource(t)
	sinkDir := buildSink(t, src, 7)
	cfg := recoveryConfig(testConfig(t, t.TempDir()), sinkDir, true)
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stall := stallRecovery(nn)
	started := make(chan error, 1)
	go func() { started <- nn.Start(context.Background()) }()
	<-stall.reached
	if err := nn.Stop(); err != nil {
		t.Fatalf("Stop while recovering: %v", err)
	}
	if err := <-started; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start after Stop: %v, want cancelled", err)
	}
	nn = startNN(t, cfg)
	defer nn.Stop()
	if got := listTree(t, nn.RPCAddress()); strings.Join(got, "\n") != strings.Join(src.listing, "\n") {
		t.Fatal("namespace differs after an interrupted recovery")
	}
}
