package ots

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/protoadapt"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/ots/otstest"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

// testOptions: small chunks, so images span many rows, and short SDK
// retries, so outage tests do not wait.
var testOptions = Options{ChunkSize: 256 << 10, RetryTimes: 3, MaxRetryTime: 200 * time.Millisecond, RequestTimeout: 30 * time.Second}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startServer starts a fake instance; the test fails if goroutines it or
// the sink started outlive the test.
func startServer(t *testing.T) *otstest.Server {
	testcluster.CheckLeaks(t)
	srv := otstest.New()
	t.Cleanup(srv.Close)
	return srv
}

func openSink(t *testing.T, srv *otstest.Server, table string, opts Options) *Sink {
	t.Helper()
	s, err := OpenWithOptions(ctxT(t), srv.Config(table), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) tablestore.Sink {
		srv := startServer(t)
		s, err := OpenWithOptions(ctxT(t), srv.Config("mirror"), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConformanceSmallPages runs the suite again with GetRange answering
// two rows a page, the way the service cuts long scans.
func TestConformanceSmallPages(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) tablestore.Sink {
		srv := startServer(t)
		srv.SetPageRows(2)
		s, err := OpenWithOptions(ctxT(t), srv.Config("mirror"), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenCreatesTableOnce(t *testing.T) {
	srv := startServer(t)
	s1 := openSink(t, srv, "m1", testOptions)
	if err := s1.PutEdits(ctxT(t), sinktest.Batch(1, 3, "x")); err != nil {
		t.Fatal(err)
	}
	s2 := openSink(t, srv, "m1", testOptions) // the table exists: reopened, not recreated
	if v, err := s2.LastTxID(ctxT(t)); err != nil || v != 3 {
		t.Fatalf("LastTxID through a second Open = %d, %v; want 3", v, err)
	}
	if srv.Calls("CreateTable") != 1 {
		t.Fatalf("CreateTable called %d times, want 1", srv.Calls("CreateTable"))
	}
	if got := s1.String(); got != "ots://"+srv.Instance+"/m1" {
		t.Fatalf("String() = %q", got)
	}
}

func TestOpenRejectsForeignTable(t *testing.T) {
	srv := startServer(t)
	c := sdk.NewClient(srv.URL, srv.Instance, srv.AccessKeyID, srv.AccessKeySecret)
	meta := &sdk.TableMeta{TableName: "other"}
	meta.AddPrimaryKeyColumn("pk", sdk.PrimaryKeyType_STRING)
	if _, err := c.CreateTable(&sdk.CreateTableRequest{TableMeta: meta, TableOption: &sdk.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &sdk.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	_, err := OpenWithOptions(ctxT(t), srv.Config("other"), testOptions)
	if err == nil || !strings.Contains(err.Error(), "primary key is (pk STRING)") {
		t.Fatalf("Open of a table with another key: %v", err)
	}
}

func TestOpenBadConfig(t *testing.T) {
	srv := startServer(t)
	for _, c := range []struct {
		name string
		edit func(*tablestore.OTSConfig)
		want string
	}{
		{"endpoint", func(c *tablestore.OTSConfig) { c.Endpoint = "ots.example.com" }, tablestore.KeyOTSEndpoint},
		{"table", func(c *tablestore.OTSConfig) { c.Table = "9bad-name" }, tablestore.KeyOTSTable},
		{"key", func(c *tablestore.OTSConfig) { c.AccessKey = "" }, tablestore.KeyOTSAccessKey},
		{"secret", func(c *tablestore.OTSConfig) { c.AccessSecret = "wrong" }, "OTSAuthFailed"},
		{"instance", func(c *tablestore.OTSConfig) { c.Instance = "elsewhere" }, "OTSAuthFailed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := srv.Config("m")
			c.edit(&cfg)
			s, err := OpenWithOptions(ctxT(t), cfg, testOptions)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func editsPK(first int64) []any { return []any{kindEdits, first, int64(0), int64(0)} }

// TestCorruptBatchCell: a batch cell changed behind the sink's back is a
// CorruptError naming the row, and fn never sees that batch.
func TestCorruptBatchCell(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx := ctxT(t)
	for _, b := range []tablestore.Batch{sinktest.Batch(1, 5, "c"), sinktest.Batch(6, 5, "c"), sinktest.Batch(11, 5, "c")} {
		if err := s.PutEdits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	data := srv.Rows("m")[1].Columns["data_0"].([]byte)
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x40
	if err := srv.SetColumn("m", editsPK(6), "data_0", bad); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	err := s.ReadEdits(ctx, 1, func(b tablestore.Batch) error {
		seen = append(seen, b.First)
		return nil
	})
	var ce *tablestore.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, tablestore.ErrCorrupt) {
		t.Fatalf("ReadEdits over a corrupt cell: %v, want a *CorruptError", err)
	}
	if ce.Object != "row edits/6/0/0" || ce.Sink != s.String() || !strings.Contains(ce.Reason, "checksum") {
		t.Fatalf("CorruptError %+v does not name row edits/6/0/0 and its checksum", ce)
	}
	if len(seen) != 1 || seen[0] != 1 {
		t.Fatalf("fn saw batches %v, want only [1] before the corrupt one", seen)
	}

	// A cell of the wrong type, and a last column that disagrees with the
	// batch, are corruption too.
	if err := srv.SetColumn("m", editsPK(6), "data_0", "not binary"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadEdits(ctx, 6, func(tablestore.Batch) error { return nil }); !errors.As(err, &ce) || ce.Object != "row edits/6/0/0" {
		t.Fatalf("ReadEdits over a string cell: %v", err)
	}
	if err := srv.SetColumn("m", editsPK(11), "last", int64(99)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadEdits(ctx, 11, func(tablestore.Batch) error { return nil }); !errors.As(err, &ce) || ce.Object != "row edits/11/0/0" {
		t.Fatalf("ReadEdits over a wrong last column: %v", err)
	}
}

func TestCorruptInfo(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx := ctxT(t)
	info := tablestore.Info{NamespaceID: 7, ClusterID: "CID-x", BlockPoolID: "BP-7-127.0.0.1-1", CTime: 1, LayoutVersion: -66}
	if err := s.PutInfo(ctx, info); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetColumn("m", []any{kindInfo, int64(0), int64(0), int64(0)}, "info", []byte("HMID garbage")); err != nil {
		t.Fatal(err)
	}
	var ce *tablestore.CorruptError
	if _, err := s.GetInfo(ctx); !errors.As(err, &ce) || ce.Object != "row info/0/0/0" {
		t.Fatalf("GetInfo of a corrupt identity: %v", err)
	}
	// PutInfo must not take a corrupt identity for a mismatch, nor overwrite it.
	if err := s.PutInfo(ctx, info); !errors.As(err, &ce) {
		t.Fatalf("PutInfo over a corrupt identity: %v, want a CorruptError", err)
	}
}

func TestCorruptImageChunk(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", Options{ChunkSize: 1000, RetryTimes: 1})
	ctx := ctxT(t)
	img := bytes.Repeat([]byte("0123456789abcdef"), 400) // 6400 bytes: 7 chunks
	if err := s.PutImage(ctx, 50, bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	var chunk3 []any
	chunks := 0
	for _, r := range srv.Rows("m") {
		if r.PK[0] == kindChunk {
			chunks++
			if r.PK[3] == int64(3) {
				chunk3 = r.PK
			}
		}
	}
	if chunks != 7 || chunk3 == nil {
		t.Fatalf("%d chunk rows, want 7", chunks)
	}
	read := func() error {
		rc, err := s.OpenImage(ctx, 50)
		if err != nil {
			return err
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err == nil && !bytes.Equal(got, img) {
			return fmt.Errorf("image reads back differently")
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetColumn("m", chunk3, "data_0", bytes.Repeat([]byte("x"), 1000)); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("row chunk/50/%d/3", chunk3[2])
	var ce *tablestore.CorruptError
	if err := read(); !errors.As(err, &ce) || ce.Object != want {
		t.Fatalf("reading an image with a changed chunk: %v, want a CorruptError naming %s", err, want)
	}
	if err := srv.DeleteRow("m", chunk3); err != nil {
		t.Fatal(err)
	}
	if err := read(); !errors.As(err, &ce) || ce.Object != want || !strings.Contains(ce.Reason, "missing") {
		t.Fatalf("reading an image with a missing chunk: %v, want a CorruptError naming %s", err, want)
	}
}

// TestPagingManyRows: hundreds of batches read through three-row pages,
// from every kind of starting point.
func TestPagingManyRows(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx := ctxT(t)
	const batches = 300
	var want []tablestore.Batch
	next := int64(1)
	for i := range batches {
		b := sinktest.Batch(next, 1+i%5, "p")
		if err := s.PutEdits(ctx, b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
		next += int64(len(b.Ops))
	}
	// Images and the identity sort around the edits rows; none may leak in.
	if err := s.PutImage(ctx, 10, strings.NewReader("image")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInfo(ctx, tablestore.Info{NamespaceID: 1, ClusterID: "c", BlockPoolID: "b"}); err != nil {
		t.Fatal(err)
	}
	srv.SetPageRows(3)
	before := srv.Calls("GetRange")
	for _, from := range []int64{0, 1, 2, want[100].First, want[100].First + 1, want[299].First, want[299].Last(), next, next + 1000} {
		var got []tablestore.Batch
		err := s.ReadEdits(ctx, from, func(b tablestore.Batch) error {
			got = append(got, b)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadEdits(%d): %v", from, err)
		}
		var exp []tablestore.Batch
		for _, b := range want {
			if b.Last() >= from {
				exp = append(exp, b)
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("ReadEdits(%d): %d batches, want %d", from, len(got), len(exp))
		}
		for i := range exp {
			if got[i].First != exp[i].First || len(got[i].Ops) != len(exp[i].Ops) || !bytes.Equal(got[i].Ops[0], exp[i].Ops[0]) {
				t.Fatalf("ReadEdits(%d): batch %d starts at %d, want %d", from, i, got[i].First, exp[i].First)
			}
		}
	}
	if calls := srv.Calls("GetRange") - before; calls < batches/3 {
		t.Fatalf("%d GetRange calls for a full read of %d batches in pages of 3: paging did not happen", calls, batches)
	}
	if v, err := s.LastTxID(ctx); err != nil || v != next-1 {
		t.Fatalf("LastTxID = %d, %v; want %d", v, err, next-1)
	}
	if ids, err := s.Images(ctx); err != nil || len(ids) != 1 || ids[0] != 10 {
		t.Fatalf("Images = %v, %v", ids, err)
	}
}

func TestLargeBatchSpansCells(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx := ctxT(t)
	// 2.5 MiB of ops: more than one cell holds.
	b := tablestore.Batch{First: 1}
	for i := range 10 {
		b.Ops = append(b.Ops, bytes.Repeat([]byte{byte('a' + i)}, 256<<10))
	}
	if err := s.PutEdits(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Rows("m")[0].Columns); n != 4 { // last, parts, data_0, data_1
		t.Fatalf("the batch row has %d columns, want 4", n)
	}
	var got tablestore.Batch
	if err := s.ReadEdits(ctx, 1, func(x tablestore.Batch) error { got = x; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.First != 1 || len(got.Ops) != 10 || !bytes.Equal(got.Ops[9], b.Ops[9]) {
		t.Fatal("the two-cell batch reads back differently")
	}
	// The largest batch the sink takes still fits one request.
	full := tablestore.Batch{First: 11, Ops: [][]byte{bytes.Repeat([]byte("y"), MaxBatchBytes-tablestore.BatchHeaderSize-tablestore.TrailerSize-tablestore.BatchOpOverhead)}}
	if err := s.PutEdits(ctx, full); err != nil {
		t.Fatalf("PutEdits of a batch of MaxBatchBytes: %v", err)
	}
	if v, err := s.LastTxID(ctx); err != nil || v != 11 {
		t.Fatalf("LastTxID = %d, %v; want 11", v, err)
	}
	huge := tablestore.Batch{First: 12, Ops: [][]byte{bytes.Repeat([]byte("z"), MaxBatchBytes)}}
	if err := s.PutEdits(ctx, huge); err == nil || !strings.Contains(err.Error(), tablestore.KeyBatchMaxBytes) {
		t.Fatalf("PutEdits of a batch over the row limit: %v", err)
	}
}

// TestOutage: while the service answers 503 every call fails; afterwards
// the same sink works again.
func TestOutage(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx := ctxT(t)
	if err := s.PutEdits(ctx, sinktest.Batch(1, 2, "o")); err != nil {
		t.Fatal(err)
	}
	srv.SetUnavailable(true)
	if err := s.PutEdits(ctx, sinktest.Batch(3, 2, "o")); err == nil || !strings.Contains(err.Error(), "OTSServerUnavailable") {
		t.Fatalf("PutEdits during an outage: %v", err)
	}
	if _, err := s.LastTxID(ctx); err == nil {
		t.Fatal("LastTxID during an outage succeeded")
	}
	srv.SetUnavailable(false)
	if err := s.PutEdits(ctx, sinktest.Batch(3, 2, "o")); err != nil {
		t.Fatalf("PutEdits after the outage: %v", err)
	}
	if v, err := s.LastTxID(ctx); err != nil || v != 4 {
		t.Fatalf("LastTxID after the outage = %d, %v", v, err)
	}
}

func TestCanceledContext(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutEdits(ctx, sinktest.Batch(1, 1, "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutEdits with a canceled context: %v", err)
	}
}

// TestMalformedAnswers: answers the SDK cannot cope with (it dereferences
// optional fields unchecked) fail the call instead of panicking.
func TestMalformedAnswers(t *testing.T) {
	srv := startServer(t)
	srv.SetHook(func(api string, resp protoadapt.MessageV1) {
		if d, ok := resp.(*otsprotocol.DescribeTableResponse); ok {
			d.TableOptions.DeviationCellVersionInSec = nil
		}
	})
	if _, err := OpenWithOptions(ctxT(t), srv.Config("m"), testOptions); err == nil || !strings.Contains(err.Error(), "malformed answer") {
		t.Fatalf("Open with a malformed DescribeTable answer: %v", err)
	}
	srv.SetHook(nil)
	s := openSink(t, srv, "m", testOptions)
	srv.SetHook(func(api string, resp protoadapt.MessageV1) {
		if r, ok := resp.(*otsprotocol.GetRangeResponse); ok {
			r.Consumed.CapacityUnit.Read = nil
		}
	})
	if _, err := s.LastTxID(ctxT(t)); err == nil || !strings.Contains(err.Error(), "malformed answer") {
		t.Fatalf("LastTxID with a malformed GetRange answer: %v", err)
	}
}

// TestCancelInFlight: cancelling a call's context, or its deadline
// passing, aborts the request in flight (the SDK's calls take no context;
// the sink's transport does), and the SDK does not retry it.
func TestCancelInFlight(t *testing.T) {
	srv := startServer(t)
	s := openSink(t, srv, "m", testOptions)
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 16)
	srv.SetHook(func(api string, _ protoadapt.MessageV1) {
		if api == "GetRange" {
			entered <- struct{}{}
			<-release
		}
	})
	for _, want := range []error{context.Canceled, context.DeadlineExceeded} {
		ctx, cancel := context.WithCancel(context.Background())
		if want == context.DeadlineExceeded {
			ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		}
		before := s.attempts.Load()
		done := make(chan error, 1)
		go func() {
			_, err := s.LastTxID(ctx)
			done <- err
		}()
		<-entered
		if want == context.Canceled {
			cancel()
		}
		if err := <-done; !errors.Is(err, want) {
			t.Fatalf("LastTxID: %v, want %v", err, want)
		}
		cancel()
		if n := s.attempts.Load() - before; n != 1 {
			t.Fatalf("%v: %d HTTP attempts, want 1 (the SDK retried)", want, n)
		}
	}
}
