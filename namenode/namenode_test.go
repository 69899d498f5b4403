package namenode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func testConfig(t testing.TB, dir string) Config {
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file://"+dir)
	c.Set("dfs.namenode.rpc-address", "127.0.0.1:0")
	c.Set("dfs.namenode.http-address", "127.0.0.1:0")
	cfg, err := ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t)
	cfg.Superuser = "hdfs"
	return cfg
}

func startNN(t testing.TB, cfg Config) *NameNode {
	t.Helper()
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Start(context.Background()); err != nil {
		nn.Stop()
		t.Fatal(err)
	}
	return nn
}

func call(t testing.TB, addr, user, method string, req, resp proto.Message) error {
	c, err := rpc.NewClient(rpc.DefaultClientConfig(user))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.Call(ctx, addr, namesystem.ClientProtocol, method, req, resp)
}

func mkdir(t testing.TB, addr, p string) {
	t.Helper()
	err := call(t, addr, "hdfs", "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
	if err != nil {
		t.Fatal(err)
	}
}

func exists(t testing.TB, addr, p string) bool {
	t.Helper()
	resp := &hdfspb.GetFileInfoResponseProto{}
	if err := call(t, addr, "hdfs", "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp); err != nil {
		t.Fatal(err)
	}
	return resp.Fs != nil
}

func TestFormatStartRestartImages(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	var stderr bytes.Buffer
	// dfs.namenode.support.allow.format=false protects the namespace.
	cfg.Conf.Set(KeyAllowFormat, "false")
	if _, err := Format(context.Background(), cfg, FormatOptions{Force: true}); err == nil || !strings.HasPrefix(err.Error(), "The option dfs.namenode.support.allow.format is set to false") {
		t.Fatalf("format with allow.format=false: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "current")); !os.IsNotExist(err) {
		t.Fatalf("refused format touched the name directory: %v", err)
	}
	cfg.Conf.Set(KeyAllowFormat, "true")
	si, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true, Err: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(si.ClusterID, "CID-") || !strings.HasPrefix(si.BlockPoolID, "BP-") {
		t.Errorf("storage info %+v", si)
	}
	v, _ := os.ReadFile(filepath.Join(dir, "current", "VERSION"))
	for _, want := range []string{"storageType=NAME_NODE", "clusterID=" + si.ClusterID, "blockpoolID=" + si.BlockPoolID, "layoutVersion=-66"} {
		if !bytes.Contains(v, []byte(want)) {
			t.Errorf("VERSION lacks %q:\n%s", want, v)
		}
	}
	// A second format refuses without -force.
	stderr.Reset()
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true, Err: &stderr}); !errors.Is(err, ErrFormatAborted) {
		t.Fatalf("second format: %v", err)
	}
	want := "Running in non-interactive mode, and data appears to exist in Storage Directory root= " + dir + "; location= null. Not formatting.\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}

	nn := startNN(t, cfg)
	addr := nn.RPCAddress()
	mkdir(t, addr, "/a/b")
	// saveNamespace needs safe mode.
	err = call(t, addr, "hdfs", "saveNamespace", &hdfspb.SaveNamespaceRequestProto{}, &hdfspb.SaveNamespaceResponseProto{})
	if !errors.Is(err, rpc.ErrIO) {
		t.Fatalf("saveNamespace outside safe mode: %v", err)
	}
	for _, a := range []hdfspb.SafeModeActionProto{hdfspb.SafeModeActionProto_SAFEMODE_ENTER} {
		if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: a.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := call(t, addr, "hdfs", "saveNamespace", &hdfspb.SaveNamespaceRequestProto{}, &hdfspb.SaveNamespaceResponseProto{}); err != nil {
		t.Fatal(err)
	}
	call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_LEAVE.Enum()}, &hdfspb.SetSafeModeResponseProto{})
	mkdir(t, addr, "/after-image")
	// /jmx
	resp, err := http.Get("http://" + nn.HTTPAddress() + "/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var jmx struct{ Beans []map[string]any }
	if err := json.Unmarshal(body, &jmx); err != nil || len(jmx.Beans) != 1 || jmx.Beans[0]["State"] != "active" || jmx.Beans[0]["HostAndPort"] != addr ||
		jmx.Beans[0]["modelerType"] != "org.apache.hadoop.hdfs.server.namenode.NameNode" {
		t.Errorf("jmx: %v %s", err, body)
	}
	resp, err = http.Get("http://" + nn.HTTPAddress() + "/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	jmx.Beans = nil
	// root, /a, /a/b, /after-image
	if err := json.Unmarshal(body, &jmx); err != nil || len(jmx.Beans) != 1 || jmx.Beans[0]["FilesTotal"] != float64(4) {
		t.Errorf("FSNamesystem bean: %v %s", err, body)
	}
	resp, err = http.Get("http://" + nn.HTTPAddress() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte("namenode_files_total 4")) {
		t.Errorf("/metrics:\n%s", body)
	}
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	imgs, _ := image.List(dir)
	if len(imgs) != 2 || imgs[1].TxID == 0 {
		t.Fatalf("images after saveNamespace: %+v", imgs)
	}

	// Restart: image + edits after it.
	nn = startNN(t, cfg)
	for _, p := range []string{"/a/b", "/after-image"} {
		if !exists(t, nn.RPCAddress(), p) {
			t.Errorf("%s lost across restart", p)
		}
	}
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}

	// A corrupt newest image stops the start, naming it.
	newest := imgs[len(imgs)-1]
	ents, _ := os.ReadDir(newest.Path)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") || strings.HasPrefix(e.Name(), "MANIFEST") {
			p := filepath.Join(newest.Path, e.Name())
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
			break
		}
	}
	nn2, _ := New(cfg)
	err = nn2.Start(context.Background())
	nn2.Stop()
	if err == nil || !strings.Contains(err.Error(), image.Name(newest.TxID)) {
		t.Fatalf("start with corrupt image: %v", err)
	}
}

// TestCorruptEditRefusesStart: a corrupt record inside a finalized local
// segment stops the start, naming the segment; a second NameNode on a
// locked name directory is refused.
func TestCorruptEditRefusesStart(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn := startNN(t, cfg)
	nn2, _ := New(cfg)
	err := nn2.Start(context.Background())
	nn2.Stop()
	if err == nil || !strings.Contains(err.Error(), "The directory is already locked") {
		t.Fatalf("second NameNode on the same directory: %v", err)
	}
	for i := 0; i < 20; i++ {
		mkdir(t, nn.RPCAddress(), "/d/"+strings.Repeat("x", i+1))
	}
	if err := call(t, nn.RPCAddress(), "hdfs", "rollEdits", &hdfspb.RollEditsRequestProto{}, &hdfspb.RollEditsResponseProto{}); err != nil {
		t.Fatal(err)
	}
	mkdir(t, nn.RPCAddress(), "/after")
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "current", "edits_0000000000000000001-0000000000000000020")
	b, err := os.ReadFile(seg)
	if err != nil {
		ents, _ := os.ReadDir(filepath.Join(dir, "current"))
		t.Fatalf("%v; current holds %v", err, ents)
	}
	b[len(b)/2] ^= 0x5a
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	nn3, _ := New(cfg)
	err = nn3.Start(context.Background())
	nn3.Stop()
	if err == nil || !strings.Contains(err.Error(), "edits_0000000000000000001-0000000000000000020") {
		t.Fatalf("start with a corrupt segment: %v", err)
	}
}
