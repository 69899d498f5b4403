package namesystem

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// newReadOnly returns a read-only namesystem over a fresh namespace
// formatted like the harness's, started (block monitor only).
func newReadOnly(t *testing.T, h *harness) *Namesystem {
	s := newPeer(t, h, "readonly", func(c *Config) {
		c.ReadOnly, c.HostName = true, "recovered.test"
		fastBlocks(c)
	})
	s.Start()
	return s
}

func isReadOnlyError(err error) bool {
	var re *rpc.RemoteError
	return errors.Is(err, rpc.ErrIO) && errors.As(err, &re) && re.Message == ReadOnlyMessage
}

// TestReadOnlyNamesystem: a read-only namesystem loads edits with Tail,
// serves reads as the active, refuses every mutation with the exact
// recovery-mode text, keeps msync and safe mode working, and never tells
// a DataNode to delete a replica it does not know.
func TestReadOnlyNamesystem(t *testing.T) {
	h := newHarness(t, fastBlocks)
	ctx := context.Background()
	h.mustCall(superuser, "mkdirs", mkdirsReq("/d/e", 0o755, true), &hdfspb.MkdirsResponseProto{})
	h.mustCall(superuser, "create", createReq("/d/open", "DFSClient_1", hdfspb.CreateFlagProto_CREATE, true), &hdfspb.CreateResponseProto{})

	ro := newReadOnly(t, h)
	if _, err := ro.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}); !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("read before StartReadOnly: %v", err)
	}
	last, applied, err := ro.Tail(ctx, h.el)
	if err != nil || last != h.sys.AppliedTxID() || applied != int(last) {
		t.Fatalf("Tail = %d, %d, %v; source at %d", last, applied, err, h.sys.AppliedTxID())
	}
	if err := ro.StartReadOnly(); err != nil {
		t.Fatal(err)
	}
	if err := ro.StartReadOnly(); !errors.Is(err, ErrActive) {
		t.Fatalf("second StartReadOnly: %v", err)
	}
	if err := h.sys.StartReadOnly(); !errors.Is(err, ErrNotReadOnly) {
		t.Fatalf("StartReadOnly of a writable namesystem: %v", err)
	}
	if !ro.Active() || ro.EditLog() != nil || !ro.ReadOnly() {
		t.Fatal("read-only namesystem: not active, or has a writer")
	}

	// Reads.
	st, err := ro.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: proto.String("/d/e")})
	if err != nil || st.GetFs() == nil {
		t.Fatalf("getFileInfo: %v", err)
	}
	lst, err := ro.getListing(ctx, &hdfspb.GetListingRequestProto{Src: proto.String("/d"), StartAfter: []byte{}, NeedLocation: proto.Bool(false)})
	if err != nil || len(lst.GetDirList().GetPartialListing()) != 2 {
		t.Fatalf("getListing /d: %v %v", lst, err)
	}
	if _, err := ro.msync(ctx, &hdfspb.MsyncRequestProto{}); err != nil {
		t.Fatalf("msync: %v", err)
	}
	if r, err := ro.getHAServiceState(ctx, &hdfspb.HAServiceStateRequestProto{}); err != nil || r.GetState() != ha.Active.Proto() {
		t.Fatalf("getHAServiceState: %v %v", r, err)
	}
	if _, err := ro.setSafeMode(ctx, &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum(), Checked: proto.Bool(true)}); err != nil {
		t.Fatalf("safemode get: %v", err)
	}

	// Mutations: the exact text, and no edit.
	before := ro.AppliedTxID()
	muts := map[string]func() error{
		"mkdirs": func() error { _, err := ro.mkdirs(ctx, mkdirsReq("/x", 0o755, true)); return err },
		"create": func() error {
			_, err := ro.create(ctx, createReq("/x", "DFSClient_2", hdfspb.CreateFlagProto_CREATE, true))
			return err
		},
		"delete": func() error {
			_, err := ro.delete(ctx, &hdfspb.DeleteRequestProto{Src: proto.String("/d/e"), Recursive: proto.Bool(true)})
			return err
		},
		"rename": func() error {
			_, err := ro.rename(ctx, &hdfspb.RenameRequestProto{Src: proto.String("/d/e"), Dst: proto.String("/d/f")})
			return err
		},
		"setPermission": func() error {
			_, err := ro.setPermission(ctx, &hdfspb.SetPermissionRequestProto{Src: proto.String("/d"), Permission: perm(0o700)})
			return err
		},
		"recoverLease": func() error {
			_, err := ro.recoverLease(ctx, &hdfspb.RecoverLeaseRequestProto{Src: proto.String("/d/open"), ClientName: proto.String("DFSClient_3")})
			return err
		},
		"renewLease": func() error {
			_, err := ro.renewLease(ctx, &hdfspb.RenewLeaseRequestProto{ClientName: proto.String("DFSClient_1")})
			return err
		},
		"rollEdits": func() error { _, err := ro.RollEdits(ctx); return err },
	}
	for name, f := range muts {
		if err := f(); !isReadOnlyError(err) {
			t.Errorf("%s on a read-only namesystem: %v", name, err)
		}
	}
	if got := ro.AppliedTxID(); got != before {
		t.Fatalf("mutations moved the namespace from txid %d to %d", before, got)
	}
	ro.CheckLeases() // no writer: must not try to recover /d/open's lease
	if holders, files := ro.leases.counts(); holders != 0 || files != 0 {
		t.Fatalf("a read-only namesystem keeps leases: %d holders, %d files", holders, files)
	}

	// A DataNode holding a replica the namespace does not know (a file
	// written after the last recovered edit) is not told to delete it.
	dn := newFakeDN(h, 2)
	reg := &hdfspb.RegisterDatanodeRequestProto{Registration: dn.reg()}
	if _, err := ro.registerDatanode(ctx, reg); err != nil {
		t.Fatal(err)
	}
	hb := func() *hdfspb.HeartbeatResponseProto {
		resp, err := ro.sendHeartbeat(ctx, &hdfspb.HeartbeatRequestProto{Registration: dn.reg(), Reports: []*hdfspb.StorageReportProto{{
			StorageUuid: proto.String(dn.storage), Capacity: proto.Uint64(100 << 30), Remaining: proto.Uint64(50 << 30),
			Storage: &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(dn.storage)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := hb(); r.GetHaStatus().GetState() != hdfspb.NNHAStatusHeartbeatProto_ACTIVE || r.GetHaStatus().GetTxid() != uint64(before) {
		t.Fatalf("heartbeat HA status %v, want ACTIVE at txid %d", r.GetHaStatus(), before)
	}
	unknown := []uint64{1, 0, 1 << 40, 100, 1001, ^uint64(0), ^uint64(0), ^uint64(0)}
	if _, err := ro.blockReport(ctx, &hdfspb.BlockReportRequestProto{Registration: dn.reg(), BlockPoolId: proto.String("BP-1-127.0.0.1-1"),
		Reports: []*hdfspb.StorageBlockReportProto{{Storage: &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(dn.storage)}, Blocks: unknown}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "safe mode off", func() bool { return !ro.InSafeMode() })
	for i := 0; i < 3; i++ {
		if inv := blockCmds(hb(), hdfspb.BlockCommandProto_INVALIDATE); len(inv) != 0 {
			t.Fatalf("read-only namesystem told a DataNode to delete %v", inv)
		}
	}
	// Control: the writable active does delete the unknown replica.
	dn.register()
	dn.call("blockReport", &hdfspb.BlockReportRequestProto{Registration: dn.reg(), BlockPoolId: proto.String("BP-1-127.0.0.1-1"),
		Reports: []*hdfspb.StorageBlockReportProto{{Storage: &hdfspb.DatanodeStorageProto{StorageUuid: proto.String(dn.storage)}, Blocks: unknown}}}, &hdfspb.BlockReportResponseProto{})
	waitFor(t, "the writable active to leave safe mode", func() bool { return !h.sys.InSafeMode() })
	if inv := blockCmds(dn.heartbeat(), hdfspb.BlockCommandProto_INVALIDATE); len(inv) != 1 || len(inv[0].GetBlocks()) != 1 || inv[0].GetBlocks()[0].GetBlockId() != 1<<40 {
		t.Fatalf("writable active: invalidate commands %v, want block %d", inv, uint64(1<<40))
	}
}
