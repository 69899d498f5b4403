package ots_test

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/ots"
	"github.com/hdfsha/hdfsha/tablestore/ots/otstest"
)

// otsKeys are the Hadoop keys that point a NameNode at the fake server.
func otsKeys(srv *otstest.Server, table string, ship bool) map[string]string {
	return map[string]string{
		tablestore.KeyOTSEnabled:      fmt.Sprint(ship),
		tablestore.KeyOTSInstance:     srv.Instance,
		tablestore.KeyOTSEndpoint:     srv.URL,
		tablestore.KeyOTSAccessKey:    srv.AccessKeyID,
		tablestore.KeyOTSAccessSecret: srv.AccessKeySecret,
		tablestore.KeyOTSTable:        table,
		tablestore.KeyBatchMaxOps:     "16",
		tablestore.KeyPollInterval:    "1",
		tablestore.KeyRetryMax:        "200",
	}
}

func mkdir(t *testing.T, c *client.Client, p string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), minicluster.WaitBound)
	defer cancel()
	return c.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
}

// listTree lists every inode under / (path, type, permission, owner,
// times, inode id).
func listTree(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), minicluster.WaitBound)
	defer cancel()
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		after := []byte{}
		for {
			resp := &hdfspb.GetListingResponseProto{}
			if err := c.Call(ctx, "getListing", &hdfspb.GetListingRequestProto{Src: proto.String(dir), StartAfter: after, NeedLocation: proto.Bool(false)}, resp); err != nil {
				t.Fatalf("getListing %s: %v", dir, err)
			}
			l := resp.GetDirList()
			for _, st := range l.GetPartialListing() {
				p := strings.TrimSuffix(dir, "/") + "/" + string(st.GetPath())
				out = append(out, fmt.Sprintf("%s %v %o %s:%s mtime=%d id=%d", p, st.GetFileType(), st.GetPermission().GetPerm(),
					st.GetOwner(), st.GetGroup(), st.GetModificationTime(), st.GetFileId()))
				if st.GetFileType() == hdfspb.HdfsFileStatusProto_IS_DIR {
					walk(p)
				}
				after = st.GetPath()
			}
			if l.GetRemainingEntries() == 0 {
				return
			}
		}
	}
	walk("/")
	return out
}

// TestNameNodeMirrorsToTablestore runs the whole path through the fake
// service: an HA cluster ships to the ots sink across a failover (no gap,
// no duplicate in the table), then a new NameNode in recovery mode loads
// the namespace back from the table and serves it read-only; after a
// batch is damaged in the table, another recovery stops naming its row.
func TestNameNodeMirrorsToTablestore(t *testing.T) {
	testcluster.CheckLeaks(t)
	srv := otstest.New()
	t.Cleanup(srv.Close)
	srv.SetPageRows(7) // the recovery reads through many pages

	mc := minicluster.Start(t, minicluster.Options{HA: true, Extra: otsKeys(srv, "mirror", true)})
	cl := mc.Client()
	for i := range 300 {
		if i == 150 {
			mc.Failover(0, 1)
		}
		if err := mkdir(t, cl, fmt.Sprintf("/e2e/d%03d/sub", i)); err != nil {
			t.Fatal(err)
		}
	}
	active := mc.NameNodes[mc.Active()]
	committed := active.AppliedTxID()
	want := listTree(t, cl)

	ctx, cancel := context.WithTimeout(context.Background(), minicluster.WaitBound)
	defer cancel()
	sink, err := ots.Open(ctx, srv.Config("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	mc.WaitFor(fmt.Sprintf("the table holds txid %d", committed), func() bool {
		v, err := sink.LastTxID(ctx)
		return err == nil && v >= committed
	})
	first, next := int64(-1), int64(-1)
	err = sink.ReadEdits(ctx, 1, func(b tablestore.Batch) error {
		if next >= 0 && b.First != next {
			return fmt.Errorf("batch %d-%d follows a chain ending at %d: gap or overlap", b.First, b.Last(), next-1)
		}
		if first < 0 {
			first = b.First
		}
		next = b.Last() + 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	images, err := sink.Images(ctx)
	if err != nil || len(images) == 0 || images[0] != first-1 {
		t.Fatalf("images %v (%v); the chain starts at %d", images, err, first)
	}
	if next-1 < committed {
		t.Fatalf("the chain ends at %d, committed %d", next-1, committed)
	}
	if _, err := sink.GetInfo(ctx); err != nil {
		t.Fatalf("identity: %v", err)
	}
	t.Logf("table: image %v, batches %d..%d, %d rows", images, first, next-1, len(srv.Rows("mirror")))

	// Recovery: a new NameNode, empty name directory, same table.
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	nn, cc, rpcAddr := recoveryNameNode(t, srv, u.Username)
	if err := nn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nn.AppliedTxID(); got != next-1 {
		t.Fatalf("recovered at txid %d, the table ends at %d", got, next-1)
	}
	rc, err := client.New(client.Config{Conf: cc, User: u.Username, Logger: testcluster.Logger(t).Named("client")}, "hdfs://"+rpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	got := listTree(t, rc)
	if len(got) != 601 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("recovered namespace (%d inodes) differs from the source's (%d)", len(got), len(want))
	}
	err = mkdir(t, rc, "/after")
	if err == nil || !strings.Contains(err.Error(), "Namespace is under recovery mode, and is read-only.") {
		t.Fatalf("mkdir on the recovered NameNode: %v", err)
	}

	// A batch damaged in the table stops a recovery, naming its row.
	var victim []any
	for _, r := range srv.Rows("mirror") {
		if r.PK[0] == "edits" && r.PK[1].(int64) > 100 {
			bad := r.Columns["data_0"].([]byte)
			bad[len(bad)-1] ^= 1 // the checksum's last byte
			if err := srv.SetColumn("mirror", r.PK, "data_0", bad); err != nil {
				t.Fatal(err)
			}
			victim = r.PK
			break
		}
	}
	if victim == nil {
		t.Fatal("no batch past txid 100 in the table")
	}
	nn2, _, _ := recoveryNameNode(t, srv, u.Username)
	err = nn2.Start(ctx)
	if want := fmt.Sprintf("row edits/%d/0/0", victim[1]); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("recovery over a corrupt batch: %v, want an error naming %s", err, want)
	}
	t.Logf("recovery over a corrupt batch: %v", err)
}

// recoveryNameNode is a new NameNode (empty name directory, own
// addresses) in recovery mode from the fake's table "mirror"; not
// started. It is stopped in t.Cleanup.
func recoveryNameNode(t *testing.T, srv *otstest.Server, superuser string) (*namenode.NameNode, *conf.Conf, string) {
	t.Helper()
	rpcAddr := testcluster.ReserveAddr(t, testcluster.DefaultHost)
	cc := conf.New()
	for k, v := range otsKeys(srv, "mirror", false) {
		cc.Set(k, v)
	}
	cc.Set(tablestore.KeyRecoveryMode, "true")
	cc.Set("fs.defaultFS", "hdfs://"+rpcAddr)
	cc.Set("dfs.namenode.name.dir", "file://"+t.TempDir())
	cc.Set("dfs.namenode.rpc-address", rpcAddr)
	cc.Set("dfs.namenode.http-address", testcluster.ReserveAddr(t, testcluster.DefaultHost))
	cc.Set("dfs.namenode.safemode.extension", "0")
	cc.Set("dfs.namenode.resource.du.reserved", "1")
	cfg, err := namenode.ConfigFromConf(cc, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named("recovered")
	cfg.Superuser = superuser
	nn, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nn.Stop() })
	return nn, cc, rpcAddr
}
