package otstest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	sdk "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// These tests drive the fake with the official SDK directly, so what the
// sink relies on (ordering, conditions, limits, direction, paging, errors)
// is pinned down independently of the sink.

func newClient(t *testing.T) (*Server, *sdk.TableStoreClient) {
	t.Helper()
	testcluster.CheckLeaks(t)
	srv := New()
	t.Cleanup(srv.Close)
	cfg := sdk.NewDefaultTableStoreConfig()
	cfg.RetryTimes = 1
	c := sdk.NewClientWithConfig(srv.URL, srv.Instance, srv.AccessKeyID, srv.AccessKeySecret, "", cfg)
	meta := &sdk.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("s", sdk.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("i", sdk.PrimaryKeyType_INTEGER)
	meta.AddPrimaryKeyColumn("b", sdk.PrimaryKeyType_BINARY)
	if _, err := c.CreateTable(&sdk.CreateTableRequest{TableMeta: meta, TableOption: &sdk.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &sdk.ReservedThroughput{}}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return srv, c
}

func pk(s string, i int64, b []byte) *sdk.PrimaryKey {
	p := &sdk.PrimaryKey{}
	p.AddPrimaryKeyColumn("s", s)
	p.AddPrimaryKeyColumn("i", i)
	p.AddPrimaryKeyColumn("b", b)
	return p
}

func put(c *sdk.TableStoreClient, p *sdk.PrimaryKey, cond sdk.RowExistenceExpectation, cols ...sdk.AttributeColumn) error {
	ch := &sdk.PutRowChange{TableName: "t", PrimaryKey: p, Columns: cols}
	ch.SetCondition(cond)
	_, err := c.PutRow(&sdk.PutRowRequest{PutRowChange: ch})
	return err
}

func code(err error) string {
	var oe *sdk.OtsError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

func TestTables(t *testing.T) {
	srv, c := newClient(t)
	list, err := c.ListTable()
	if err != nil || len(list.TableNames) != 1 || list.TableNames[0] != "t" {
		t.Fatalf("ListTable = %v, %v", list, err)
	}
	meta := &sdk.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("x", sdk.PrimaryKeyType_INTEGER)
	_, err = c.CreateTable(&sdk.CreateTableRequest{TableMeta: meta, TableOption: &sdk.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &sdk.ReservedThroughput{}})
	if code(err) != "OTSObjectAlreadyExist" {
		t.Fatalf("CreateTable of an existing table: %v", err)
	}
	d, err := c.DescribeTable(&sdk.DescribeTableRequest{TableName: "t"})
	if err != nil || len(d.TableMeta.SchemaEntry) != 3 || *d.TableMeta.SchemaEntry[1].Name != "i" || *d.TableMeta.SchemaEntry[1].Type != sdk.PrimaryKeyType_INTEGER {
		t.Fatalf("DescribeTable = %+v, %v", d, err)
	}
	if _, err := c.DescribeTable(&sdk.DescribeTableRequest{TableName: "nope"}); code(err) != "OTSObjectNotExist" {
		t.Fatalf("DescribeTable of a missing table: %v", err)
	}
	if _, err := c.DeleteTable(&sdk.DeleteTableRequest{TableName: "t"}); err != nil {
		t.Fatal(err)
	}
	if srv.Rows("t") != nil {
		t.Fatal("rows of a deleted table")
	}
}

func TestAuthentication(t *testing.T) {
	srv, _ := newClient(t)
	for name, c := range map[string]*sdk.TableStoreClient{
		"secret":   sdk.NewClient(srv.URL, srv.Instance, srv.AccessKeyID, "wrong"),
		"key":      sdk.NewClient(srv.URL, srv.Instance, "someone", srv.AccessKeySecret),
		"instance": sdk.NewClient(srv.URL, "other", srv.AccessKeyID, srv.AccessKeySecret),
	} {
		if _, err := c.ListTable(); code(err) != "OTSAuthFailed" {
			t.Errorf("%s: ListTable with bad credentials: %v, want OTSAuthFailed", name, err)
		}
	}
}

func TestPutGetDeleteConditions(t *testing.T) {
	srv, c := newClient(t)
	k := pk("a", 1, []byte{0})
	col := func(v any) sdk.AttributeColumn { return sdk.AttributeColumn{ColumnName: "v", Value: v} }
	if err := put(c, k, sdk.RowExistenceExpectation_EXPECT_EXIST, col(int64(1))); code(err) != "OTSConditionCheckFail" {
		t.Fatalf("EXPECT_EXIST on a missing row: %v", err)
	}
	if err := put(c, k, sdk.RowExistenceExpectation_EXPECT_NOT_EXIST, col([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	if err := put(c, k, sdk.RowExistenceExpectation_EXPECT_NOT_EXIST, col([]byte("two"))); code(err) != "OTSConditionCheckFail" {
		t.Fatalf("EXPECT_NOT_EXIST on a stored row: %v", err)
	}
	get := func(cols ...string) *sdk.GetRowResponse {
		t.Helper()
		r, err := c.GetRow(&sdk.GetRowRequest{SingleRowQueryCriteria: &sdk.SingleRowQueryCriteria{TableName: "t", PrimaryKey: k, MaxVersion: 1, ColumnsToGet: cols}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := get(); len(r.Columns) != 1 || !bytes.Equal(r.Columns[0].Value.([]byte), []byte("one")) || r.Columns[0].Timestamp == 0 {
		t.Fatalf("GetRow = %+v", r.Columns)
	}
	if r := get("other"); len(r.PrimaryKey.PrimaryKeys) != 0 {
		t.Fatal("GetRow of no stored column returned a row")
	}
	// PutRow replaces the whole row; all value types round-trip.
	if err := put(c, k, sdk.RowExistenceExpectation_EXPECT_EXIST,
		sdk.AttributeColumn{ColumnName: "i", Value: int64(-5)}, sdk.AttributeColumn{ColumnName: "s", Value: "str"},
		sdk.AttributeColumn{ColumnName: "f", Value: 2.5}, sdk.AttributeColumn{ColumnName: "t", Value: true}); err != nil {
		t.Fatal(err)
	}
	r := get()
	got := map[string]any{}
	for _, c := range r.Columns {
		got[c.ColumnName] = c.Value
	}
	if len(got) != 4 || got["i"] != int64(-5) || got["s"] != "str" || got["f"] != 2.5 || got["t"] != true {
		t.Fatalf("columns after replace = %v", got)
	}
	if err := put(c, k, sdk.RowExistenceExpectation_IGNORE, sdk.AttributeColumn{ColumnName: "big", Value: make([]byte, MaxCellBytes+1)}); code(err) != "OTSParameterInvalid" {
		t.Fatalf("a cell over 2 MiB: %v", err)
	}
	del := &sdk.DeleteRowChange{TableName: "t", PrimaryKey: k}
	del.SetCondition(sdk.RowExistenceExpectation_EXPECT_EXIST)
	if _, err := c.DeleteRow(&sdk.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRow(&sdk.DeleteRowRequest{DeleteRowChange: del}); code(err) != "OTSConditionCheckFail" {
		t.Fatalf("DeleteRow EXPECT_EXIST of a missing row: %v", err)
	}
	if len(srv.Rows("t")) != 0 {
		t.Fatal("row still stored")
	}
	// A key of the wrong shape is refused.
	bad := &sdk.PrimaryKey{}
	bad.AddPrimaryKeyColumn("s", int64(1))
	bad.AddPrimaryKeyColumn("i", int64(1))
	bad.AddPrimaryKeyColumn("b", []byte{})
	if err := put(c, bad, sdk.RowExistenceExpectation_IGNORE, col(int64(1))); code(err) != "OTSInvalidPK" {
		t.Fatalf("a key of the wrong type: %v", err)
	}
}

type rangeQ struct {
	dir        sdk.Direction
	start, end *sdk.PrimaryKey
	limit      int32
}

func scanAll(t *testing.T, c *sdk.TableStoreClient, q rangeQ) (keys []string, pages int) {
	t.Helper()
	start := q.start
	for start != nil {
		resp, err := c.GetRange(&sdk.GetRangeRequest{RangeRowQueryCriteria: &sdk.RangeRowQueryCriteria{
			TableName: "t", StartPrimaryKey: start, EndPrimaryKey: q.end, Direction: q.dir, MaxVersion: 1, Limit: q.limit,
		}})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range resp.Rows {
			p := r.PrimaryKey.PrimaryKeys
			keys = append(keys, p[0].Value.(string)+"/"+string(rune('0'+p[1].Value.(int64)))+"/"+string(p[2].Value.([]byte)))
		}
		start = resp.NextStartPrimaryKey
	}
	return keys, pages
}

func bound(s string, max bool) *sdk.PrimaryKey {
	p := &sdk.PrimaryKey{}
	if s == "" && max {
		p.AddPrimaryKeyColumnWithMaxValue("s")
	} else if s == "" {
		p.AddPrimaryKeyColumnWithMinValue("s")
	} else {
		p.AddPrimaryKeyColumn("s", s)
	}
	for _, n := range []string{"i", "b"} {
		if max {
			p.AddPrimaryKeyColumnWithMaxValue(n)
		} else {
			p.AddPrimaryKeyColumnWithMinValue(n)
		}
	}
	return p
}

func TestRangeOrderDirectionPaging(t *testing.T) {
	srv, c := newClient(t)
	// Written out of order: integers sort as numbers, strings and bytes
	// as bytes.
	var want []string
	for _, s := range []string{"b", "a", "c"} {
		for _, i := range []int64{3, 1, 2} {
			for _, b := range []string{"y", "x"} {
				if err := put(c, pk(s, i, []byte(b)), sdk.RowExistenceExpectation_IGNORE, sdk.AttributeColumn{ColumnName: "v", Value: int64(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, s := range []string{"a", "b", "c"} {
		for _, i := range []string{"1", "2", "3"} {
			for _, b := range []string{"x", "y"} {
				want = append(want, s+"/"+i+"/"+b)
			}
		}
	}
	all := rangeQ{sdk.FORWARD, bound("", false), bound("", true), 0}
	if got, pages := scanAll(t, c, all); strings.Join(got, " ") != strings.Join(want, " ") || pages != 1 {
		t.Fatalf("forward scan = %v in %d pages", got, pages)
	}
	back := rangeQ{sdk.BACKWARD, bound("", true), bound("", false), 0}
	got, _ := scanAll(t, c, back)
	rev := make([]string, len(want))
	for i := range want {
		rev[len(want)-1-i] = want[i]
	}
	if strings.Join(got, " ") != strings.Join(rev, " ") {
		t.Fatalf("backward scan = %v", got)
	}
	// A prefix range: start inclusive, end exclusive.
	if got, _ := scanAll(t, c, rangeQ{sdk.FORWARD, pk("b", 2, []byte("x")), bound("c", false), 0}); strings.Join(got, " ") != "b/2/x b/2/y b/3/x b/3/y" {
		t.Fatalf("forward b/2/x..c = %v", got)
	}
	if got, _ := scanAll(t, c, rangeQ{sdk.BACKWARD, pk("b", 2, []byte("x")), bound("a", true), 0}); strings.Join(got, " ") != "b/2/x b/1/y b/1/x" {
		t.Fatalf("backward b/2/x..a = %v", got)
	}
	// Limits and pages: a limit bounds every page; the server's page size
	// cuts pages too; either way next_start_primary_key leads on.
	resp, err := c.GetRange(&sdk.GetRangeRequest{RangeRowQueryCriteria: &sdk.RangeRowQueryCriteria{
		TableName: "t", StartPrimaryKey: bound("", true), EndPrimaryKey: bound("", false), Direction: sdk.BACKWARD, MaxVersion: 1, Limit: 1}})
	if err != nil || len(resp.Rows) != 1 || resp.Rows[0].PrimaryKey.PrimaryKeys[0].Value != "c" || resp.NextStartPrimaryKey == nil {
		t.Fatalf("backward limit 1 = %+v, %v", resp, err)
	}
	if got, pages := scanAll(t, c, rangeQ{sdk.FORWARD, bound("", false), bound("", true), 4}); len(got) != 18 || pages != 5 {
		t.Fatalf("limit 4: %d rows in %d pages, want 18 in 5", len(got), pages)
	}
	srv.SetPageRows(5)
	if got, pages := scanAll(t, c, back); strings.Join(got, " ") != strings.Join(rev, " ") || pages != 4 {
		t.Fatalf("backward in pages of 5: %v in %d pages", got, pages)
	}
	if srv.Calls("GetRange") == 0 {
		t.Fatal("Calls does not count")
	}
	// Bounds in the wrong order are refused, as by the service.
	_, err = c.GetRange(&sdk.GetRangeRequest{RangeRowQueryCriteria: &sdk.RangeRowQueryCriteria{
		TableName: "t", StartPrimaryKey: bound("", true), EndPrimaryKey: bound("", false), Direction: sdk.FORWARD, MaxVersion: 1}})
	if code(err) != "OTSParameterInvalid" {
		t.Fatalf("forward from max to min: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	srv, c := newClient(t)
	srv.SetUnavailable(true)
	if _, err := c.ListTable(); code(err) != "OTSServerUnavailable" {
		t.Fatalf("ListTable while unavailable: %v", err)
	}
	srv.SetUnavailable(false)
	if _, err := c.ListTable(); err != nil {
		t.Fatal(err)
	}
}

// TestPlainBufferRoundTrip: what the fake encodes, it decodes (checksums
// included), and damage is an error, never a panic.
func TestPlainBufferRoundTrip(t *testing.T) {
	rows := []pbRow{
		{pk: []cell{{name: "k", value: "x"}, {name: "n", value: int64(-7)}}, cells: []cell{{name: "v", value: []byte("abc"), hasTS: true, ts: 42}, {name: "d", value: 1.5}, {name: "t", value: false}}},
		{pk: []cell{{name: "k", value: InfMin}, {name: "n", value: InfMax}}, delete: true},
	}
	enc := encodeRows(rows)
	dec, err := decodeRows(enc)
	if err != nil || len(dec) != 2 || dec[0].cells[0].ts != 42 || !bytes.Equal(dec[0].cells[0].value.([]byte), []byte("abc")) || !dec[1].delete || dec[1].pk[1].value != InfMax {
		t.Fatalf("round trip = %+v, %v", dec, err)
	}
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x5a
		_, _ = decodeRows(bad) // must not panic
		if got, err := decodeRows(enc[:i]); err == nil && len(got) == 2 {
			t.Fatalf("a truncation to %d bytes decoded as both rows", i)
		}
	}
}

func FuzzDecodeRows(f *testing.F) {
	f.Add(encodeRows([]pbRow{{pk: []cell{{name: "k", value: "x"}}, cells: []cell{{name: "v", value: int64(1)}}}}))
	f.Add([]byte{0x75, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := decodeRows(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		if again := encodeRows(rows); len(rows) > 0 && !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %x vs %x", again, b)
		}
	})
}
