package otstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/hdfsha/hdfsha/tablestore"
)

// Limits of the service that the fake enforces (Tablestore's documented
// quotas): a cell value holds at most 2 MiB, a request at most 4 MiB, a
// table has 1 to 4 primary key columns, and one GetRange answer carries
// at most 5000 rows or about 4 MiB (the rest comes back through
// next_start_primary_key).
const (
	MaxCellBytes     = 2 << 20
	maxPKColumns     = 4
	maxPageRows      = 5000
	maxPageBytes     = 4 << 20
	maxRequestBytes  = 4 << 20
	apiVersion       = "2015-12-31"
	instanceName     = "hdfsha-test"
	accessKeyID      = "test-access-key-id"
	accessKeySecret  = "test-access-key-secret"
	headerRequestID  = "x-ots-requestid"
	headerSignature  = "x-ots-signature"
	headerContentMD5 = "x-ots-contentmd5"
)

var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)

// Server is a fake Tablestore instance on 127.0.0.1.
type Server struct {
	// URL is the endpoint (namespace.ots.endpoint); Instance, AccessKeyID
	// and AccessKeySecret are the credentials it accepts.
	URL, Instance, AccessKeyID, AccessKeySecret string

	hs *httptest.Server

	mu          sync.Mutex
	tables      map[string]*table
	pageRows    int
	unavailable bool
	hook        func(api string, resp protoadapt.MessageV1)
	calls       map[string]int
	requests    int64
}

type table struct {
	name   string
	schema []*otsprotocol.PrimaryKeySchema
	rows   []*storedRow // sorted by pk
}

type storedRow struct {
	pk   []any
	cols []storedCell // in name order
}

type storedCell struct {
	name  string
	value any
	ts    int64
}

// Row is a snapshot of a stored row: its primary key values in schema
// order and its attribute columns.
type Row struct {
	PK      []any
	Columns map[string]any
}

// New starts a fake instance. Close stops it.
func New() *Server {
	s := &Server{
		Instance: instanceName, AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret,
		tables: map[string]*table{}, pageRows: maxPageRows, calls: map[string]int{},
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	return s
}

// Close stops the server and closes its connections.
func (s *Server) Close() { s.hs.Close() }

// Config is the sink configuration for table on this server.
func (s *Server) Config(table string) tablestore.OTSConfig {
	return tablestore.OTSConfig{Instance: s.Instance, Endpoint: s.URL, AccessKey: s.AccessKeyID, AccessSecret: s.AccessKeySecret, Table: table}
}

// SetPageRows caps the rows of one GetRange answer (as the service does
// when a scan hits its row or size limit), to exercise paging.
func (s *Server) SetPageRows(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageRows = max(1, min(n, maxPageRows))
}

// SetUnavailable makes every request fail with HTTP 503
// OTSServerUnavailable while on (a service outage).
func (s *Server) SetUnavailable(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailable = on
}

// SetHook has fn called with every successful answer (its API name and
// the response message, before it is sent; nil: no hook). fn may change
// the message, to test a client against answers the service should not
// give, or block, to hold a request in flight. It runs on the request's
// goroutine, without the server's lock.
func (s *Server) SetHook(fn func(api string, resp protoadapt.MessageV1)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// Calls is how many requests of api ("GetRange", "PutRow", ...) were served.
func (s *Server) Calls(api string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[api]
}

// Rows is a snapshot of a table's rows in primary key order.
func (s *Server) Rows(tableName string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[tableName]
	if t == nil {
		return nil
	}
	out := make([]Row, len(t.rows))
	for i, r := range t.rows {
		cols := map[string]any{}
		for _, c := range r.cols {
			cols[c.name] = cloneValue(c.value)
		}
		out[i] = Row{PK: slices.Clone(r.pk), Columns: cols}
	}
	return out
}

// SetColumn overwrites (or adds) one attribute column of an existing row,
// behind the API's back: a test's way to corrupt what a sink stored.
func (s *Server) SetColumn(tableName string, pk []any, column string, value any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i, err := s.rowLocked(tableName, pk)
	if err != nil {
		return err
	}
	r := t.rows[i]
	for j := range r.cols {
		if r.cols[j].name == column {
			r.cols[j].value = value
			return nil
		}
	}
	r.cols = append(r.cols, storedCell{name: column, value: value, ts: time.Now().UnixMilli()})
	slices.SortFunc(r.cols, func(a, b storedCell) int { return strings.Compare(a.name, b.name) })
	return nil
}

// DeleteRow removes a row behind the API's back.
func (s *Server) DeleteRow(tableName string, pk []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i, err := s.rowLocked(tableName, pk)
	if err != nil {
		return err
	}
	t.rows = slices.Delete(t.rows, i, i+1)
	return nil
}

// rowLocked finds a test's row: its table and index; s.mu is held.
func (s *Server) rowLocked(tableName string, pk []any) (*table, int, error) {
	t := s.tables[tableName]
	if t == nil {
		return nil, 0, fmt.Errorf("otstest: no table %q", tableName)
	}
	if err := t.checkPK(pk); err != nil {
		return nil, 0, err
	}
	i, ok := t.find(pk)
	if !ok {
		return nil, 0, fmt.Errorf("otstest: no row %v in %s", pk, tableName)
	}
	return t, i, nil
}

// checkPK checks a test's primary key against the schema.
func (t *table) checkPK(pk []any) error {
	cells := make([]cell, len(pk))
	for i, v := range pk {
		cells[i] = cell{value: v}
		if i < len(t.schema) {
			cells[i].name = t.schema[i].GetName()
		}
	}
	if _, oerr := t.primaryKey(cells, false); oerr != nil {
		return fmt.Errorf("otstest: primary key %v: %s", pk, oerr.message)
	}
	return nil
}

// otsError is an error answer: HTTP status and the service's error code.
type otsError struct {
	status        int
	code, message string
}

func (e *otsError) Error() string { return e.code + ": " + e.message }

func errParam(format string, args ...any) *otsError {
	return &otsError{http.StatusBadRequest, "OTSParameterInvalid", fmt.Sprintf(format, args...)}
}

var (
	errConditionFailed = &otsError{http.StatusForbidden, "OTSConditionCheckFail", "Condition check failed."}
	errNoTable         = &otsError{http.StatusNotFound, "OTSObjectNotExist", "Requested table does not exist."}
)

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.requests++
	reqID := fmt.Sprintf("fake-%08d", s.requests)
	s.mu.Unlock()
	w.Header().Set(headerRequestID, reqID)

	resp, oerr := s.handle(req)
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if oerr == nil && hook != nil {
		hook(strings.TrimPrefix(req.URL.Path, "/"), resp)
	}
	if oerr != nil {
		body, _ := proto.Marshal(protoadapt.MessageV2Of(&otsprotocol.Error{Code: &oerr.code, Message: &oerr.message}))
		writeBody(w, oerr.status, body)
		return
	}
	body, err := proto.Marshal(protoadapt.MessageV2Of(resp))
	if err != nil {
		body, _ = proto.Marshal(protoadapt.MessageV2Of(&otsprotocol.Error{Code: ptr("OTSInternalServerError"), Message: ptr(err.Error())}))
		writeBody(w, http.StatusInternalServerError, body)
		return
	}
	writeBody(w, http.StatusOK, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	sum := md5.Sum(body)
	h := w.Header()
	h.Set(headerContentMD5, base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("x-ots-contenttype", "protocol buffer")
	h.Set("x-ots-date", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func ptr[T any](v T) *T { return &v }

// handle authenticates a request and runs its API.
func (s *Server) handle(req *http.Request) (protoadapt.MessageV1, *otsError) {
	if req.Method != http.MethodPost {
		return nil, &otsError{http.StatusMethodNotAllowed, "OTSMethodNotAllowed", "only POST is supported"}
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBytes+1))
	if err != nil {
		return nil, errParam("reading the request: %v", err)
	}
	if len(body) > maxRequestBytes {
		return nil, &otsError{http.StatusRequestEntityTooLarge, "OTSRequestBodyTooLarge", "request body too large"}
	}
	if oerr := s.authenticate(req, body); oerr != nil {
		return nil, oerr
	}
	api := strings.TrimPrefix(req.URL.Path, "/")
	s.mu.Lock()
	down := s.unavailable
	s.mu.Unlock()
	if down {
		return nil, &otsError{http.StatusServiceUnavailable, "OTSServerUnavailable", "the fake server is set unavailable"}
	}
	var resp protoadapt.MessageV1
	var oerr *otsError
	switch api {
	case "CreateTable":
		resp, oerr = call(body, s.createTable)
	case "ListTable":
		resp, oerr = s.listTable()
	case "DescribeTable":
		resp, oerr = call(body, s.describeTable)
	case "DeleteTable":
		resp, oerr = call(body, s.deleteTable)
	case "PutRow":
		resp, oerr = call(body, s.putRow)
	case "GetRow":
		resp, oerr = call(body, s.getRow)
	case "DeleteRow":
		resp, oerr = call(body, s.deleteRow)
	case "GetRange":
		resp, oerr = call(body, s.getRange)
	default:
		return nil, &otsError{http.StatusNotFound, "OTSUnsupportOperation", "the fake server does not implement " + req.URL.Path}
	}
	if oerr == nil {
		s.mu.Lock()
		s.calls[api]++
		s.mu.Unlock()
	}
	return resp, oerr
}

// call decodes body as api's request message M and runs api with it.
func call[M any, PM interface {
	*M
	protoadapt.MessageV1
}](body []byte, api func(PM) (protoadapt.MessageV1, *otsError)) (protoadapt.MessageV1, *otsError) {
	m := PM(new(M))
	if err := proto.Unmarshal(body, protoadapt.MessageV2Of(m)); err != nil {
		return nil, errParam("bad request message: %v", err)
	}
	return api(m)
}

// authenticate checks what the service checks: the API version, the
// instance, the access key, the body's MD5 and the HMAC-SHA1 signature
// over the path, the method and the x-ots-* headers.
func (s *Server) authenticate(req *http.Request, body []byte) *otsError {
	authFailed := func(msg string) *otsError {
		return &otsError{http.StatusForbidden, "OTSAuthFailed", msg}
	}
	if v := req.Header.Get("x-ots-apiversion"); v != apiVersion {
		return errParam("x-ots-apiversion %q, want %q", v, apiVersion)
	}
	if req.Header.Get("x-ots-date") == "" {
		return errParam("missing x-ots-date")
	}
	if v := req.Header.Get("x-ots-instancename"); v != s.Instance {
		return authFailed(fmt.Sprintf("instance %q not found", v))
	}
	if v := req.Header.Get("x-ots-accesskeyid"); v != s.AccessKeyID {
		return authFailed("the AccessKeyId is not found")
	}
	sum := md5.Sum(body)
	if v := req.Header.Get(headerContentMD5); v != base64.StdEncoding.EncodeToString(sum[:]) {
		return errParam("x-ots-contentmd5 does not match the body")
	}
	var names []string
	for k := range req.Header {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "x-ots-") && k != headerSignature {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString(req.URL.Path + "\n" + req.Method + "\n\n")
	for _, k := range names {
		sb.WriteString(k + ":" + strings.TrimSpace(req.Header.Get(k)) + "\n")
	}
	mac := hmac.New(sha1.New, []byte(s.AccessKeySecret))
	mac.Write([]byte(sb.String()))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(req.Header.Get(headerSignature)), []byte(want)) {
		return authFailed("the signature does not match")
	}
	return nil
}

func consumed(read, write int32) *otsprotocol.ConsumedCapacity {
	return &otsprotocol.ConsumedCapacity{CapacityUnit: &otsprotocol.CapacityUnit{Read: &read, Write: &write}}
}

func (s *Server) createTable(m *otsprotocol.CreateTableRequest) (protoadapt.MessageV1, *otsError) {
	name := m.GetTableMeta().GetTableName()
	if !tableNameRE.MatchString(name) {
		return nil, errParam("invalid table name: %q", name)
	}
	pks := m.GetTableMeta().GetPrimaryKey()
	if len(pks) < 1 || len(pks) > maxPKColumns {
		return nil, errParam("a table has 1 to %d primary key columns, not %d", maxPKColumns, len(pks))
	}
	seen := map[string]bool{}
	for _, pk := range pks {
		if pk.Option != nil {
			return nil, errParam("the fake server does not support primary key options")
		}
		if pk.GetName() == "" || seen[pk.GetName()] {
			return nil, errParam("invalid or duplicate primary key column name %q", pk.GetName())
		}
		seen[pk.GetName()] = true
	}
	if len(m.GetIndexMetas()) > 0 || m.GetStreamSpec().GetEnableStream() {
		return nil, errParam("the fake server does not support indexes or streams")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[name] != nil {
		return nil, &otsError{http.StatusConflict, "OTSObjectAlreadyExist", "Requested table already exists."}
	}
	s.tables[name] = &table{name: name, schema: copySchema(pks)}
	return &otsprotocol.CreateTableResponse{}, nil
}

func (s *Server) listTable() (protoadapt.MessageV1, *otsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return &otsprotocol.ListTableResponse{TableNames: names}, nil
}

// copySchema copies the names and types of a primary key schema.
func copySchema(pks []*otsprotocol.PrimaryKeySchema) []*otsprotocol.PrimaryKeySchema {
	schema := make([]*otsprotocol.PrimaryKeySchema, len(pks))
	for i, pk := range pks {
		schema[i] = &otsprotocol.PrimaryKeySchema{Name: ptr(pk.GetName()), Type: ptr(pk.GetType())}
	}
	return schema
}

func (s *Server) describeTable(m *otsprotocol.DescribeTableRequest) (protoadapt.MessageV1, *otsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[m.GetTableName()]
	if t == nil {
		return nil, errNoTable
	}
	return &otsprotocol.DescribeTableResponse{
		TableMeta: &otsprotocol.TableMeta{TableName: ptr(t.name), PrimaryKey: copySchema(t.schema)},
		ReservedThroughputDetails: &otsprotocol.ReservedThroughputDetails{
			CapacityUnit: &otsprotocol.CapacityUnit{Read: ptr(int32(0)), Write: ptr(int32(0))}, LastIncreaseTime: ptr(int64(0)),
		},
		TableOptions: &otsprotocol.TableOptions{TimeToLive: ptr(int32(-1)), MaxVersions: ptr(int32(1)), DeviationCellVersionInSec: ptr(int64(86400))},
		TableStatus:  otsprotocol.TableStatus_ACTIVE.Enum(),
	}, nil
}

func (s *Server) deleteTable(m *otsprotocol.DeleteTableRequest) (protoadapt.MessageV1, *otsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[m.GetTableName()] == nil {
		return nil, errNoTable
	}
	delete(s.tables, m.GetTableName())
	return &otsprotocol.DeleteTableResponse{}, nil
}

// tableLocked returns the named table; s.mu is held.
func (s *Server) tableLocked(name string) (*table, *otsError) {
	t := s.tables[name]
	if t == nil {
		return nil, errNoTable
	}
	return t, nil
}

// primaryKey checks a request's primary key cells against the schema and
// returns their values. bound allows INF_MIN and INF_MAX (range bounds).
func (t *table) primaryKey(cells []cell, bound bool) ([]any, *otsError) {
	if len(cells) != len(t.schema) {
		return nil, &otsError{http.StatusBadRequest, "OTSInvalidPK", fmt.Sprintf("Validate PK size fail. Input: %d, Meta: %d.", len(cells), len(t.schema))}
	}
	pk := make([]any, len(cells))
	for i, c := range cells {
		sc := t.schema[i]
		if c.name != sc.GetName() {
			return nil, &otsError{http.StatusBadRequest, "OTSInvalidPK", fmt.Sprintf("Validate PK name fail. Input: %s, Meta: %s.", c.name, sc.GetName())}
		}
		if c.hasTS || c.hasType {
			return nil, errParam("primary key column %s carries a timestamp or an op", c.name)
		}
		ok := false
		switch v := c.value.(type) {
		case int64:
			ok = sc.GetType() == otsprotocol.PrimaryKeyType_INTEGER
		case string:
			ok = sc.GetType() == otsprotocol.PrimaryKeyType_STRING
		case []byte:
			ok = sc.GetType() == otsprotocol.PrimaryKeyType_BINARY
		case Inf:
			ok = bound
		default:
			_ = v
		}
		if !ok {
			return nil, &otsError{http.StatusBadRequest, "OTSInvalidPK", fmt.Sprintf("Validate PK type fail. Column %s, value %T.", c.name, c.value)}
		}
		pk[i] = c.value
	}
	return pk, nil
}

func cmpValue(a, b any) int {
	rank := func(v any) int {
		switch v := v.(type) {
		case Inf:
			return int(v) * 2
		}
		return 0
	}
	if ra, rb := rank(a), rank(b); ra != 0 || rb != 0 {
		return ra - rb
	}
	switch a := a.(type) {
	case int64:
		b := b.(int64)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	case string:
		return strings.Compare(a, b.(string))
	case []byte:
		return bytes.Compare(a, b.([]byte))
	}
	panic(fmt.Sprintf("otstest: cannot compare %T", a))
}

func cmpPK(a, b []any) int {
	for i := range a {
		if c := cmpValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// find locates pk: its index and whether it is stored (else the index it
// would be inserted at).
func (t *table) find(pk []any) (int, bool) {
	return sort.Find(len(t.rows), func(i int) int { return cmpPK(pk, t.rows[i].pk) })
}

func (t *table) checkCondition(c *otsprotocol.Condition, exists bool) *otsError {
	if c == nil {
		return errParam("missing condition")
	}
	if len(c.GetColumnCondition()) > 0 {
		return errParam("the fake server does not support column conditions")
	}
	switch c.GetRowExistence() {
	case otsprotocol.RowExistenceExpectation_IGNORE:
	case otsprotocol.RowExistenceExpectation_EXPECT_EXIST:
		if !exists {
			return errConditionFailed
		}
	case otsprotocol.RowExistenceExpectation_EXPECT_NOT_EXIST:
		if exists {
			return errConditionFailed
		}
	default:
		return errParam("unknown row existence expectation %v", c.GetRowExistence())
	}
	return nil
}

func (s *Server) putRow(m *otsprotocol.PutRowRequest) (protoadapt.MessageV1, *otsError) {
	row, err := decodeOneRow(m.GetRow())
	if err != nil {
		return nil, errParam("row: %v", err)
	}
	if row.delete {
		return nil, errParam("PutRow with a delete marker")
	}
	if m.ReturnContent != nil && m.GetReturnContent().GetReturnType() != otsprotocol.ReturnType_RT_NONE {
		return nil, errParam("the fake server does not support return content")
	}
	if m.TransactionId != nil {
		return nil, errParam("the fake server does not support transactions")
	}
	now := time.Now().UnixMilli()
	var cols []storedCell
	seen := map[string]bool{}
	for _, c := range row.cells {
		if c.name == "" || seen[c.name] {
			return nil, errParam("empty or duplicate column name %q", c.name)
		}
		seen[c.name] = true
		if c.hasType || c.value == nil {
			return nil, errParam("column %s: PutRow cells carry a value and no op", c.name)
		}
		switch c.value.(type) {
		case string, []byte:
			if n := valueSize(c.value); n > MaxCellBytes {
				return nil, errParam("The length of attribute column: '%s' exceeded the MaxLength:%d with CurrentLength:%d.", c.name, MaxCellBytes, n)
			}
		case int64, bool, float64:
		default:
			return nil, errParam("column %s: value of type %T", c.name, c.value)
		}
		ts := now
		if c.hasTS {
			ts = c.ts
		}
		cols = append(cols, storedCell{name: c.name, value: c.value, ts: ts})
	}
	slices.SortFunc(cols, func(a, b storedCell) int { return strings.Compare(a.name, b.name) })
	oerr := s.writeRow(m.GetTableName(), row.pk, m.GetCondition(), func(t *table, pk []any, i int, exists bool) {
		r := &storedRow{pk: pk, cols: cols}
		if exists {
			t.rows[i] = r
		} else {
			t.rows = slices.Insert(t.rows, i, r)
		}
	})
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.PutRowResponse{Consumed: consumed(0, 1)}, nil
}

func (s *Server) deleteRow(m *otsprotocol.DeleteRowRequest) (protoadapt.MessageV1, *otsError) {
	row, err := decodeOneRow(m.GetPrimaryKey())
	if err != nil {
		return nil, errParam("primary key: %v", err)
	}
	if !row.delete || len(row.cells) > 0 {
		return nil, errParam("DeleteRow needs a primary key row with the delete marker")
	}
	oerr := s.writeRow(m.GetTableName(), row.pk, m.GetCondition(), func(t *table, _ []any, i int, exists bool) {
		if exists {
			t.rows = slices.Delete(t.rows, i, i+1)
		}
	})
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.DeleteRowResponse{Consumed: consumed(0, 1)}, nil
}

// writeRow checks a write's table, primary key and row condition under
// the lock, then has apply change the table: pk is the key's values, i
// the row's index (or where it goes), exists whether it is stored.
func (s *Server) writeRow(tableName string, pkCells []cell, cond *otsprotocol.Condition, apply func(t *table, pk []any, i int, exists bool)) *otsError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, oerr := s.tableLocked(tableName)
	if oerr != nil {
		return oerr
	}
	pk, oerr := t.primaryKey(pkCells, false)
	if oerr != nil {
		return oerr
	}
	i, exists := t.find(pk)
	if oerr := t.checkCondition(cond, exists); oerr != nil {
		return oerr
	}
	apply(t, pk, i, exists)
	return nil
}

// readOptions are what GetRow and GetRange share.
func checkReadOptions(maxVersions *int32, tr *otsprotocol.TimeRange, filter []byte, startCol, endCol *string, token []byte, txn *string) *otsError {
	if tr != nil {
		return errParam("the fake server does not support time ranges")
	}
	if maxVersions == nil {
		return errParam("max_versions or time_range must be set")
	}
	if *maxVersions < 1 {
		return errParam("max_versions must be positive")
	}
	if len(filter) > 0 || startCol != nil || endCol != nil || len(token) > 0 || txn != nil {
		return errParam("the fake server does not support filters, column ranges, tokens or transactions")
	}
	return nil
}

// pkCells are a stored primary key's cells, named by the schema.
func (t *table) pkCells(pk []any) []cell {
	cells := make([]cell, len(pk))
	for i, v := range pk {
		cells[i] = cell{name: t.schema[i].GetName(), value: v}
	}
	return cells
}

// project is the response row of r with only the wanted columns (all
// when wanted is empty); ok is false when a column list matched nothing
// (the service then returns no row).
func (t *table) project(r *storedRow, wanted []string) (pbRow, bool) {
	out := pbRow{pk: t.pkCells(r.pk)}
	for _, c := range r.cols {
		if len(wanted) > 0 && !slices.Contains(wanted, c.name) {
			continue
		}
		out.cells = append(out.cells, cell{name: c.name, value: c.value, hasTS: true, ts: c.ts})
	}
	return out, len(wanted) == 0 || len(out.cells) > 0
}

func (s *Server) getRow(m *otsprotocol.GetRowRequest) (protoadapt.MessageV1, *otsError) {
	if oerr := checkReadOptions(m.MaxVersions, m.TimeRange, m.Filter, m.StartColumn, m.EndColumn, m.Token, m.TransactionId); oerr != nil {
		return nil, oerr
	}
	row, err := decodeOneRow(m.GetPrimaryKey())
	if err != nil {
		return nil, errParam("primary key: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, oerr := s.tableLocked(m.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	pk, oerr := t.primaryKey(row.pk, false)
	if oerr != nil {
		return nil, oerr
	}
	resp := &otsprotocol.GetRowResponse{Consumed: consumed(1, 0), Row: []byte{}}
	if i, ok := t.find(pk); ok {
		if out, ok := t.project(t.rows[i], m.GetColumnsToGet()); ok {
			resp.Row = encodeRows([]pbRow{out})
		}
	}
	return resp, nil
}

func (s *Server) getRange(m *otsprotocol.GetRangeRequest) (protoadapt.MessageV1, *otsError) {
	if oerr := checkReadOptions(m.MaxVersions, m.TimeRange, m.Filter, m.StartColumn, m.EndColumn, m.Token, m.TransactionId); oerr != nil {
		return nil, oerr
	}
	if m.Limit != nil && m.GetLimit() <= 0 {
		return nil, errParam("limit must be positive, not %d", m.GetLimit())
	}
	startRow, err := decodeOneRow(m.GetInclusiveStartPrimaryKey())
	if err != nil {
		return nil, errParam("inclusive_start_primary_key: %v", err)
	}
	endRow, err := decodeOneRow(m.GetExclusiveEndPrimaryKey())
	if err != nil {
		return nil, errParam("exclusive_end_primary_key: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, oerr := s.tableLocked(m.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	start, oerr := t.primaryKey(startRow.pk, true)
	if oerr != nil {
		return nil, oerr
	}
	end, oerr := t.primaryKey(endRow.pk, true)
	if oerr != nil {
		return nil, oerr
	}
	forward := m.GetDirection() == otsprotocol.Direction_FORWARD
	if c := cmpPK(start, end); forward && c >= 0 {
		return nil, errParam("Begin key must less than end key in FORWARD")
	} else if !forward && c <= 0 {
		return nil, errParam("Begin key must more than end key in BACKWARD")
	}
	limit := s.pageRows
	if m.Limit != nil {
		limit = min(limit, int(m.GetLimit()))
	}
	// Candidate indexes: forward from the first row >= start while < end;
	// backward from the last row <= start while > end.
	var idx []int
	if forward {
		i, _ := t.find(start)
		for ; i < len(t.rows) && cmpPK(t.rows[i].pk, end) < 0; i++ {
			idx = append(idx, i)
		}
	} else {
		i, found := t.find(start)
		if !found {
			i--
		}
		for ; i >= 0 && cmpPK(t.rows[i].pk, end) > 0; i-- {
			idx = append(idx, i)
		}
	}
	resp := &otsprotocol.GetRangeResponse{Consumed: consumed(1, 0)}
	var rows []pbRow
	size := 0
	n := 0
	for n < len(idx) && len(rows) < limit && (size < maxPageBytes || len(rows) == 0) {
		r := t.rows[idx[n]]
		n++
		out, ok := t.project(r, m.GetColumnsToGet())
		if !ok {
			continue
		}
		for _, c := range out.cells {
			size += len(c.name) + valueSize(c.value)
		}
		rows = append(rows, out)
	}
	if n < len(idx) {
		resp.NextStartPrimaryKey = encodeRows([]pbRow{{pk: t.pkCells(t.rows[idx[n]].pk)}})
	}
	resp.Rows = encodeRows(rows)
	return resp, nil
}

func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	}
	return 8
}

func cloneValue(v any) any {
	if b, ok := v.([]byte); ok {
		return bytes.Clone(b)
	}
	return v
}
