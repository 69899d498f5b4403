//go:build unix

package namenode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// The restart benchmark (scripts/restart-bench.sh, docs/bench.md): a name
// directory holding an image of Dirs × FilesPerDir closed files plus an
// edit log of ReplayDirs × ReplayFiles more (OP_MKDIR, then OP_ADD +
// OP_CLOSE per file) after the image, built straight through
// namenode/namespace and namenode/editlog (no RPC), then the time from
// start to serving getFileInfo("/").
//
// Environment (the long runs are skipped without it):
//
//	HDFSHA_RESTART_DIR        name directory to build (once) and restart from
//	HDFSHA_RESTART_DIRS       image directories (default 1000)
//	HDFSHA_RESTART_FILES      files per image directory (default 999)
//	HDFSHA_RESTART_REPLAY_DIRS, HDFSHA_RESTART_REPLAY_FILES  edits after the image (default 10 × 999)
//	HDFSHA_HDFS_BIN           the built hdfs binary (TestRestartProcess)
//	HDFSHA_RESTART_RUNS       restarts of the process (default 3)

// restartShape is what buildRestartNamespace builds.
type restartShape struct {
	Dirs, FilesPerDir        int
	ReplayDirs, ReplayPerDir int
}

// inodes is the number of inodes after replay, the root included.
func (s restartShape) inodes() int {
	return 1 + s.Dirs*(1+s.FilesPerDir) + s.ReplayDirs*(1+s.ReplayPerDir)
}

// edits is the number of edits replayed at startup.
func (s restartShape) edits() int { return s.ReplayDirs * (1 + 2*s.ReplayPerDir) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

func restartShapeFromEnv() restartShape {
	return restartShape{
		Dirs:         envInt("HDFSHA_RESTART_DIRS", 1000),
		FilesPerDir:  envInt("HDFSHA_RESTART_FILES", 999),
		ReplayDirs:   envInt("HDFSHA_RESTART_REPLAY_DIRS", 10),
		ReplayPerDir: envInt("HDFSHA_RESTART_REPLAY_FILES", 999),
	}
}

// restartOps calls fn with the ops that create directory /<prefix><d> and
// its files f0..f<n-1>, closed, starting at inode id *next+1.
func restartOps(prefix string, d, n int, next *uint64, fn func(*editpb.Op) error) error {
	perm := &editpb.Permission{Mode: 0o755, Owner: "hdfs", Group: "supergroup"}
	fperm := &editpb.Permission{Mode: 0o644, Owner: "hdfs", Group: "supergroup"}
	ts := int64(1795229474863)
	dir := fmt.Sprintf("/%s%04d", prefix, d)
	*next++
	if err := fn(&editpb.Op{Body: &editpb.Op_Mkdir{Mkdir: &editpb.Mkdir{Path: dir, InodeId: *next, Perm: perm, Timestamp: ts}}}); err != nil {
		return err
	}
	for f := 0; f < n; f++ {
		*next++
		p := fmt.Sprintf("%s/f%04d", dir, f)
		add := &editpb.Op{Body: &editpb.Op_Add{Add: &editpb.Add{Path: p, InodeId: *next, Perm: fperm, Mtime: ts, Atime: ts,
			Replication: 3, PreferredBlockSize: 128 << 20, ClientName: "DFSClient_restart", ClientMachine: "127.0.0.1"}}}
		if err := fn(add); err != nil {
			return err
		}
		if err := fn(&editpb.Op{Body: &editpb.Op_Close{Close: &editpb.Close{Path: p, Mtime: ts, Atime: ts}}}); err != nil {
			return err
		}
	}
	return nil
}

// restartConf is the configuration of the NameNode of dir.
func restartConf(dir, rpcAddr string) *conf.Conf {
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file://"+dir)
	c.Set("dfs.namenode.rpc-address", rpcAddr)
	c.Set("dfs.namenode.http-address", "127.0.0.1:0")
	return c
}

// buildRestartNamespace formats dir and fills it as shape says: an image of
// the first part, then edits in the local edit log. It returns the image
// txid and the last txid.
func buildRestartNamespace(tb testing.TB, dir string, shape restartShape) (imageTxID, lastTxID int64) {
	tb.Helper()
	ctx := context.Background()
	cfg, err := ConfigFromConf(restartConf(dir, "127.0.0.1:0"), "", "")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Superuser = "hdfs"
	cfg.Logger = zap.NewNop()
	if _, err := Format(ctx, cfg, FormatOptions{NonInteractive: true}); err != nil {
		tb.Fatal(err)
	}
	img, err := image.Newest(dir)
	if err != nil {
		tb.Fatal(err)
	}
	work := filepath.Join(dir, "current", "namespace.work")
	ns, err := image.Load(img, work, namespace.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	next := ns.Counters().LastINodeID
	apply := func(op *editpb.Op) error {
		_, err := ns.Apply(ns.LastAppliedTxID()+1, op)
		return err
	}
	for d := 0; d < shape.Dirs; d++ {
		if err := restartOps("d", d, shape.FilesPerDir, &next, apply); err != nil {
			tb.Fatal(err)
		}
	}
	info, err := image.Save(ns, dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := errors.Join(ns.Close(), image.Purge(dir, 1), os.RemoveAll(work)); err != nil {
		tb.Fatal(err)
	}
	editsDir, err := editlog.EditsDirFromConf(cfg.Conf)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := editlog.OpenLocal(vfs.Default, editsDir, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	el, err := editlog.Open(j, editlog.Options{Logger: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	defer el.Close()
	if err := el.Recover(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := el.StartWriting(ctx, info.TxID+1); err != nil {
		tb.Fatal(err)
	}
	last := info.TxID
	logOp := func(op *editpb.Op) error {
		b, err := proto.Marshal(op)
		if err != nil {
			return err
		}
		last = el.Log(b)
		if last%1000 == 0 {
			return el.Sync(ctx, last)
		}
		return nil
	}
	for d := 0; d < shape.ReplayDirs; d++ {
		if err := restartOps("r", d, shape.ReplayPerDir, &next, logOp); err != nil {
			tb.Fatal(err)
		}
	}
	if err := el.Sync(ctx, last); err != nil {
		tb.Fatal(err)
	}
	if err := el.Close(); err != nil {
		tb.Fatal(err)
	}
	return info.TxID, last
}

// restartDir returns $HDFSHA_RESTART_DIR, built for the shape of the
// environment unless it already holds a NameNode (it is then reused as it
// is: delete it to rebuild).
func restartDir(tb testing.TB) (string, restartShape) {
	dir := os.Getenv("HDFSHA_RESTART_DIR")
	if dir == "" {
		tb.Skip("HDFSHA_RESTART_DIR is not set (scripts/restart-bench.sh sets it)")
	}
	shape := restartShapeFromEnv()
	if _, err := ReadVersion(dir); err == nil {
		return dir, shape
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	imgTx, last := buildRestartNamespace(tb, dir, shape)
	tb.Logf("built %s: %d inodes, image txid %d, %d edits after it, in %v", dir, shape.inodes(), imgTx, last-imgTx, time.Since(start).Round(time.Millisecond))
	return dir, shape
}

// getFileInfo asks addr for p's status (nil when p does not exist).
func getFileInfo(ctx context.Context, c *rpc.Client, addr, p string) (*hdfspb.HdfsFileStatusProto, error) {
	resp := &hdfspb.GetFileInfoResponseProto{}
	err := c.Call(ctx, addr, namesystem.ClientProtocol, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp)
	return resp.Fs, err
}

// checkRestarted checks a few inodes of shape on the NameNode at addr.
func checkRestarted(tb testing.TB, c *rpc.Client, addr string, shape restartShape) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var want []string
	if shape.Dirs > 0 && shape.FilesPerDir > 0 {
		want = append(want, fmt.Sprintf("/d%04d/f%04d", shape.Dirs-1, shape.FilesPerDir-1), "/d0000/f0000")
	}
	if shape.ReplayDirs > 0 && shape.ReplayPerDir > 0 {
		want = append(want, fmt.Sprintf("/r%04d/f%04d", shape.ReplayDirs-1, shape.ReplayPerDir-1))
	}
	for _, p := range want {
		st, err := getFileInfo(ctx, c, addr, p)
		if err != nil {
			tb.Fatal(err)
		}
		if st == nil || st.GetFileType() != hdfspb.HdfsFileStatusProto_IS_FILE {
			tb.Fatalf("%s after restart: %v", p, st)
		}
	}
}

// TestRestartSmall runs the builder on a small namespace and restarts from
// it in-process (the image plus replay), so that the benchmark's builder
// stays correct under make test.
func TestRestartSmall(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	shape := restartShape{Dirs: 3, FilesPerDir: 5, ReplayDirs: 2, ReplayPerDir: 4}
	imgTx, last := buildRestartNamespace(t, dir, shape)
	if want := int64(shape.edits()); last-imgTx != want {
		t.Fatalf("edits after the image: %d, want %d", last-imgTx, want)
	}
	cfg := testConfig(t, dir)
	nn := startNN(t, cfg)
	defer nn.Stop()
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkRestarted(t, c, nn.RPCAddress(), shape)
	st := nn.Namesystem().Stats()
	if got := int(st.FilesTotal + st.DirsTotal); got != shape.inodes() {
		t.Errorf("inodes after restart: %d, want %d", got, shape.inodes())
	}
	if st.LastTxID != last {
		t.Errorf("last txid %d, want %d", st.LastTxID, last)
	}
}

// BenchmarkRestart is one in-process restart (New + Start: verify the
// image, copy it into the working directory, open it, replay, serve) of
// the namespace in $HDFSHA_RESTART_DIR, until getFileInfo("/") answers.
// Run with -cpuprofile to see what bounds startup.
func BenchmarkRestart(b *testing.B) {
	dir, shape := restartDir(b)
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := ConfigFromConf(restartConf(dir, "127.0.0.1:0"), "", "")
		if err != nil {
			b.Fatal(err)
		}
		cfg.Superuser = "hdfs"
		cfg.Logger = zap.NewNop()
		nn, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := nn.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		if _, err := getFileInfo(context.Background(), c, nn.RPCAddress(), "/"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		checkRestarted(b, c, nn.RPCAddress(), shape)
		if err := nn.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(shape.inodes()), "inodes")
	b.ReportMetric(float64(shape.edits()), "edits")
}

// TestRestartPhases times the parts of a start separately: Verify (every
// file's SHA-256), OpenCheckpoint (copy + Pebble open), and the replay as
// a NameNode start minus those.
func TestRestartPhases(t *testing.T) {
	dir, shape := restartDir(t)
	img, err := image.List(dir)
	if err != nil || len(img) == 0 {
		t.Fatalf("images: %v %v", img, err)
	}
	newest := img[len(img)-1]
	t0 := time.Now()
	if err := image.Verify(newest); err != nil {
		t.Fatal(err)
	}
	verify := time.Since(t0)
	scratch := filepath.Join(t.TempDir(), "work")
	t0 = time.Now()
	ns, err := namespace.OpenCheckpoint(newest.Path, scratch, namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := time.Since(t0)
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d files, %d bytes", newest.Path, countFiles(t, newest.Path), dirSize(t, newest.Path))
	t.Logf("phases: verify %v, copy+open %v (%d inodes, %d edits to replay)", verify.Round(time.Millisecond), open.Round(time.Millisecond), shape.inodes(), shape.edits())
}

func countFiles(tb testing.TB, dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

// dirSize is the apparent size of every regular file under dir.
func dirSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// procStatus reads VmHWM and VmRSS (KiB) of pid.
func procStatus(pid int) (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss
}

// TestRestartProcess starts the real daemon ($HDFSHA_HDFS_BIN namenode) on
// $HDFSHA_RESTART_DIR HDFSHA_RESTART_RUNS times, each time from a stopped
// (SIGTERM'd) NameNode, and reports the wall time from exec to the first
// answered getFileInfo("/") and the process's peak RSS (VmHWM) once
// serving and after a few reads; the last line is the p50.
func TestRestartProcess(t *testing.T) {
	bin := os.Getenv("HDFSHA_HDFS_BIN")
	if bin == "" {
		t.Skip("HDFSHA_HDFS_BIN is not set (scripts/restart-bench.sh sets it)")
	}
	dir, shape := restartDir(t)
	runs := envInt("HDFSHA_RESTART_RUNS", 3)
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("namespace: %d inodes, %d edits replayed; name directory %d MB before the first start",
		shape.inodes(), shape.edits(), dirSize(t, dir)>>20)
	var walls []time.Duration
	var hwms []int64
	for r := 0; r < runs; r++ {
		addr := testcluster.ReserveAddr(t, "127.0.0.1")
		cmd := exec.Command(bin, "namenode", "-D", "dfs.namenode.name.dir=file://"+dir,
			"-D", "dfs.namenode.rpc-address="+addr, "-D", "dfs.namenode.http-address=127.0.0.1:0")
		cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=hdfs")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var wall time.Duration
		var startHWM int64
		for {
			select {
			case err := <-exited:
				t.Fatalf("namenode exited during startup: %v\n%s", err, stderr.String())
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := getFileInfo(ctx, c, addr, "/")
			cancel()
			if err == nil {
				wall = time.Since(start)
				startHWM, _ = procStatus(cmd.Process.Pid)
				break
			}
			if time.Since(start) > 5*time.Minute {
				t.Fatalf("namenode not serving after 5 min: %v\n%s", err, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		checkRestarted(t, c, addr, shape)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for i := 0; i < 1000; i++ {
			p := fmt.Sprintf("/d%04d/f%04d", i%max(shape.Dirs, 1), (i*7)%max(shape.FilesPerDir, 1))
			if _, err := getFileInfo(ctx, c, addr, p); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		hwm, rss := procStatus(cmd.Process.Pid)
		t0 := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Fatalf("namenode exit: %v\n%s", err, stderr.String())
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if r == 0 && (strings.Contains(line, "loaded image") || strings.Contains(line, "replayed edits") || strings.Contains(line, "NameNode active")) {
				t.Logf("run 1 log: %s", line)
			}
		}
		t.Logf("run %d: serving after %v; VmHWM %d MB at first answer, %d MB after 1000 getFileInfo (VmRSS %d MB); stopped in %v",
			r+1, wall.Round(time.Millisecond), startHWM>>10, hwm>>10, rss>>10, time.Since(t0).Round(time.Millisecond))
		walls = append(walls, wall)
		hwms = append(hwms, hwm)
	}
	sort.Slice(walls, func(a, b int) bool { return walls[a] < walls[b] })
	sort.Slice(hwms, func(a, b int) bool { return hwms[a] < hwms[b] })
	t.Logf("p50 of %d: restart %v, peak RSS %d MB; name directory %d MB", runs, walls[len(walls)/2].Round(time.Millisecond), hwms[len(hwms)/2]>>10, dirSize(t, dir)>>20)
}
