package namenode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

// memWith is an in-memory sink holding batches [first, last] of txids
// whose op bytes are "op<txid>".
func memWith(t *testing.T, batches ...[2]int64) *sinktest.Mem {
	t.Helper()
	m := sinktest.NewMem()
	for _, b := range batches {
		batch := tablestore.Batch{First: b[0]}
		for txid := b[0]; txid <= b[1]; txid++ {
			batch.Ops = append(batch.Ops, []byte(fmt.Sprintf("op%d", txid)))
		}
		if err := m.PutEdits(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestSinkJournal: the recovery's read-only journal over a sink reads from
// a txid inside a batch, stops at its target, reads repeated txids once, refuses gaps and
// corrupt batches (naming them), counts progress, and refuses writes.
func TestSinkJournal(t *testing.T) {
	ctx := context.Background()
	read := func(s tablestore.Sink, from, target int64) ([]int64, int64, []int64, error) {
		var got, progress []int64
		j := &sinkJournal{sink: s, target: target, onApplied: func(txid int64) { progress = append(progress, txid) }}
		last, err := j.ReadFrom(ctx, from, func(txid int64, op []byte) error {
			if string(op) != fmt.Sprintf("op%d", txid) {
				return fmt.Errorf("txid %d carries %q", txid, op)
			}
			got = append(got, txid)
			return nil
		})
		return got, last, progress, err
	}
	span := func(a, b int64) []int64 {
		var out []int64
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
		return out
	}
	eq := func(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

	s := memWith(t, [2]int64{1, 4}, [2]int64{5, 9}, [2]int64{10, 12})
	if got, last, prog, err := read(s, 3, 12); err != nil || last != 12 || !eq(got, span(3, 12)) || !eq(prog, got) {
		t.Fatalf("from 3 to 12: %v last %d progress %v: %v", got, last, prog, err)
	}
	if got, last, _, err := read(s, 6, 10); err != nil || last != 10 || !eq(got, span(6, 10)) {
		t.Fatalf("from 6 to target 10: %v last %d: %v", got, last, err)
	}
	if got, last, _, err := read(s, 13, 12); err != nil || last != 12 || len(got) != 0 {
		t.Fatalf("past the target: %v last %d: %v", got, last, err)
	}
	// The sink ends before the target: the caller compares last.
	if _, last, _, err := read(s, 11, 20); err != nil || last != 12 {
		t.Fatalf("short sink: last %d: %v", last, err)
	}

	gap := memWith(t, [2]int64{1, 4}, [2]int64{7, 9})
	if got, last, _, err := read(gap, 2, 9); !errors.Is(err, editlog.ErrGap) || last != 4 || !eq(got, span(2, 4)) || !strings.Contains(err.Error(), "txids 5 to 6 are missing") {
		t.Fatalf("gap: %v last %d: %v", got, last, err)
	}
	if _, _, _, err := read(gap, 6, 9); !errors.Is(err, editlog.ErrGap) {
		t.Fatalf("gap before the first batch read: %v", err)
	}
	// Repeated txids (two shippers racing across an image jump) are the
	// same committed edits: each is applied once.
	overlap := memWith(t, [2]int64{1, 4}, [2]int64{3, 9}, [2]int64{10, 11})
	if got, last, _, err := read(overlap, 1, 11); err != nil || last != 11 || !eq(got, span(1, 11)) {
		t.Fatalf("overlap: %v last %d: %v", got, last, err)
	}

	bad := memWith(t, [2]int64{1, 4}, [2]int64{5, 9}, [2]int64{10, 12})
	if !bad.CorruptEdits(5) {
		t.Fatal("CorruptEdits(5)")
	}
	got, last, _, err := read(bad, 1, 12)
	var ce *tablestore.CorruptError
	if !errors.As(err, &ce) || ce.Object != "edits/0000000000000000005" || last != 4 || !eq(got, span(1, 4)) {
		t.Fatalf("corrupt batch: %v last %d: %v", got, last, err)
	}

	// An error applying an edit names its batch.
	j := &sinkJournal{sink: s, target: 12}
	_, err = j.ReadFrom(ctx, 1, func(txid int64, _ []byte) error {
		if txid == 6 {
			return errors.New("does not apply")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "edits batch at txid 5") {
		t.Fatalf("apply error: %v", err)
	}
	if _, err := j.StartSegment(ctx, 13); !errors.Is(err, errSinkReadOnly) {
		t.Fatalf("StartSegment: %v", err)
	}
	if err := j.FinalizeSegment(ctx, 1, 2); !errors.Is(err, errSinkReadOnly) {
		t.Fatalf("FinalizeSegment: %v", err)
	}
	if err := j.Purge(ctx, 5); !errors.Is(err, errSinkReadOnly) {
		t.Fatalf("Purge: %v", err)
	}
}

// BenchmarkRecovery measures a recovery of 10,000 mkdirs from a
// file sink in batches of 1,000: open the sink, receive the image, apply
// every edit, save the recovered image, serve. One op is one recovery.
func BenchmarkRecovery(b *testing.B) {
	const edits = 10000
	src := &recoverySource{cfg: testConfig(b, b.TempDir())}
	if _, err := Format(context.Background(), src.cfg, FormatOptions{NonInteractive: true}); err != nil {
		b.Fatal(err)
	}
	nn := startNN(b, src.cfg)
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < edits; i++ {
		if err := c.Call(context.Background(), nn.RPCAddress(), namesystem.ClientProtocol, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(fmt.Sprintf("/bench/%03d/%d", i%100, i)),
			Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{}); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	src.lastTxID = nn.AppliedTxID()
	if err := nn.Stop(); err != nil {
		b.Fatal(err)
	}
	sinkDir := buildSink(b, src, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := recoveryConfig(testConfig(b, b.TempDir()), sinkDir, true)
		b.StartTimer()
		r := startNN(b, cfg)
		if r.AppliedTxID() != src.lastTxID {
			b.Fatalf("recovered txid %d, want %d", r.AppliedTxID(), src.lastTxID)
		}
		b.StopTimer()
		r.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(src.lastTxID)*float64(b.N)/b.Elapsed().Seconds(), "edits/s")
}
