package ots

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	sdk "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/hdfsha/hdfsha/tablestore"
)

// The table layout (doc.go draws it): four primary key columns, and the
// attribute columns of each kind of row.
const (
	pkKind   = "kind"   // STRING: kindInfo, kindEdits, kindImage or kindChunk
	pkID     = "id"     // INTEGER: a batch's first txid, an image's txid, 0 for the identity
	pkUpload = "upload" // INTEGER: a chunk's upload id, else 0
	pkSeq    = "seq"    // INTEGER: a chunk's index in its image, else 0

	kindInfo  = "info"
	kindEdits = "edits"
	kindImage = "image"
	kindChunk = "chunk"

	colInfo   = "info"   // BINARY: tablestore.EncodeInfo (identity row)
	colLast   = "last"   // INTEGER: the batch's last txid (edits rows)
	colParts  = "parts"  // INTEGER: how many data_<i> cells hold the batch (edits rows)
	colUpload = "upload" // INTEGER: the upload whose chunks make the image (image rows)
	colChunks = "chunks" // INTEGER: the image's chunk count (image rows)
	colSize   = "size"   // INTEGER: the image's length in bytes (image rows)
	colCRC    = "crc"    // INTEGER: CRC32C of the chunk's data_0 (chunk rows)
	colData   = "data_"  // BINARY: data_0, data_1, ... the payload, split at the cell limit

	// MaxCellBytes is Tablestore's limit on one cell's value.
	MaxCellBytes = 2 << 20
	// MaxBatchBytes bounds an encoded batch: it is split over cells of at
	// most MaxCellBytes in one row, and that row is one PutRow request,
	// which Tablestore caps at 4 MB.
	MaxBatchBytes = 3 << 20
	// DefaultChunkSize is the size of an image chunk row.
	DefaultChunkSize = 1 << 20
	// readPageRows bounds the rows asked of one GetRange page when reading
	// batches, so a page holds at most a few batches.
	readPageRows = 8
)

var (
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
	tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	errClosed   = errors.New("ots: sink is closed")
)

// Options tunes a Sink; the zero value means the defaults.
type Options struct {
	// ChunkSize is the bytes of image per chunk row (DefaultChunkSize; at
	// most MaxCellBytes).
	ChunkSize int
	// RetryTimes and MaxRetryTime bound the SDK's own retries of one call
	// (0: the SDK's defaults, 10 and 5s). Retries the SDK does not make (and
	// those it gives up on) are the shipper's: it backs off and tries again.
	RetryTimes   uint
	MaxRetryTime time.Duration
	// ConnectTimeout and RequestTimeout bound one HTTP request (0: 15s
	// and 30s). Requests go through the proxy named by HTTPS_PROXY or
	// HTTP_PROXY unless NO_PROXY excludes the endpoint.
	ConnectTimeout, RequestTimeout time.Duration
}

func (o *Options) withDefaults() error {
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize < 1 || o.ChunkSize > MaxCellBytes {
		return fmt.Errorf("ots: chunk size %d, must be 1 to %d", o.ChunkSize, MaxCellBytes)
	}
	if o.RetryTimes == 0 {
		o.RetryTimes = 10
	}
	if o.MaxRetryTime <= 0 {
		o.MaxRetryTime = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	return nil
}

// Sink is a mirror in a Tablestore table. It is safe for concurrent use.
type Sink struct {
	cfg       tablestore.OTSConfig
	opts      Options
	name      string
	transport *http.Transport
	closed    atomic.Bool
	// attempts counts HTTP requests tried, SDK retries included (tests).
	attempts atomic.Int64
}

var _ tablestore.Sink = (*Sink)(nil)

// Open connects to the instance and table of cfg (creating the table if
// it does not exist) with the default Options.
func Open(ctx context.Context, cfg tablestore.OTSConfig) (*Sink, error) {
	return OpenWithOptions(ctx, cfg, Options{})
}

// OpenWithOptions is Open with tuning (tests use it for small chunks and
// short timeouts).
func OpenWithOptions(ctx context.Context, cfg tablestore.OTSConfig, opts Options) (*Sink, error) {
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = tablestore.DefaultOTSTable
	}
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	s := &Sink{
		cfg: cfg, opts: opts, name: "ots://" + cfg.Instance + "/" + cfg.Table,
		transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	if err := s.ensureTable(ctx); err != nil {
		s.transport.CloseIdleConnections()
		return nil, err
	}
	return s, nil
}

func checkConfig(cfg tablestore.OTSConfig) error {
	var errs []error
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		errs = append(errs, fmt.Errorf("%s %q: want http(s)://host[:port], as in https://myinstance.cn-hangzhou.ots.aliyuncs.com", tablestore.KeyOTSEndpoint, cfg.Endpoint))
	}
	if cfg.Instance == "" {
		errs = append(errs, fmt.Errorf("no instance name (%s)", tablestore.KeyOTSInstance))
	}
	if cfg.AccessKey == "" || cfg.AccessSecret == "" {
		errs = append(errs, fmt.Errorf("no access key id or secret (%s, %s)", tablestore.KeyOTSAccessKey, tablestore.KeyOTSAccessSecret))
	}
	if !tableNameRE.MatchString(cfg.Table) {
		errs = append(errs, fmt.Errorf("%s %q: letters, digits and _, not starting with a digit, at most 255", tablestore.KeyOTSTable, cfg.Table))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ots: %w", err)
	}
	return nil
}

// String names the sink: ots://instance/table.
func (s *Sink) String() string { return s.name }

// Close releases idle connections; later calls fail.
func (s *Sink) Close() error {
	s.closed.Store(true)
	s.transport.CloseIdleConnections()
	return nil
}

// ctxTransport makes one SDK client's requests obey ctx (the SDK's calls
// take no context).
type ctxTransport struct {
	ctx      context.Context
	base     http.RoundTripper
	attempts *atomic.Int64
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.attempts.Add(1)
	if err := t.ctx.Err(); err != nil {
		return nil, ctxDoneError{err}
	}
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	if err != nil && t.ctx.Err() != nil {
		return nil, ctxDoneError{t.ctx.Err()}
	}
	return resp, err
}

// ctxDoneError is the end of the call's context. Unlike the bare context
// errors (a deadline's claims to be temporary), it is not a temporary
// net.Error, so the SDK does not sleep and retry a call nobody waits for.
type ctxDoneError struct{ err error }

func (e ctxDoneError) Error() string { return e.err.Error() }
func (e ctxDoneError) Unwrap() error { return e.err }

// client is an SDK client whose requests are bound to ctx. Clients are
// cheap (all share s.transport and its connections); one per call is how
// a call gets its context.
func (s *Sink) client(ctx context.Context) (*sdk.TableStoreClient, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := sdk.NewDefaultTableStoreConfig()
	c.RetryTimes, c.MaxRetryTime = s.opts.RetryTimes, s.opts.MaxRetryTime
	c.HTTPTimeout = sdk.HTTPTimeout{ConnectionTimeout: s.opts.ConnectTimeout, RequestTimeout: s.opts.RequestTimeout}
	c.Transport = ctxTransport{ctx: ctx, base: s.transport, attempts: &s.attempts}
	return sdk.NewClientWithConfig(s.cfg.Endpoint, s.cfg.Instance, s.cfg.AccessKey, s.cfg.AccessSecret, "", c), nil
}

// guard runs one SDK call and turns a panic into an error: the SDK
// dereferences optional fields of the service's answers unchecked, and a
// malformed answer must fail the call, not the NameNode.
func guard(call func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed answer from the service (the SDK panicked: %v)", p)
		}
	}()
	return call()
}

func otsCode(err error) string {
	var oe *sdk.OtsError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

const (
	codeConditionFailed = "OTSConditionCheckFail"
	codeAlreadyExists   = "OTSObjectAlreadyExist"
	codeNotExist        = "OTSObjectNotExist"
)

// schema is the table's primary key.
var schema = []struct {
	name string
	typ  sdk.PrimaryKeyType
}{{pkKind, sdk.PrimaryKeyType_STRING}, {pkID, sdk.PrimaryKeyType_INTEGER}, {pkUpload, sdk.PrimaryKeyType_INTEGER}, {pkSeq, sdk.PrimaryKeyType_INTEGER}}

// ensureTable creates the table unless it exists, then checks that its
// primary key is the mirror's. DescribeTable first, so an existing table
// needs no ListTable or CreateTable permission.
func (s *Sink) ensureTable(ctx context.Context) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	describe := func() (desc *sdk.DescribeTableResponse, err error) {
		err = guard(func() (err error) {
			desc, err = c.DescribeTable(&sdk.DescribeTableRequest{TableName: s.cfg.Table})
			return err
		})
		return desc, err
	}
	desc, err := describe()
	if otsCode(err) == codeNotExist {
		meta := &sdk.TableMeta{TableName: s.cfg.Table}
		for _, col := range schema {
			meta.AddPrimaryKeyColumn(col.name, col.typ)
		}
		req := &sdk.CreateTableRequest{
			TableMeta: meta,
			// Keep every row for ever, one version per cell.
			TableOption:        &sdk.TableOption{TimeToAlive: -1, MaxVersion: 1},
			ReservedThroughput: &sdk.ReservedThroughput{},
		}
		// Another NameNode may create it at the same time: fine.
		cerr := guard(func() error { _, err := c.CreateTable(req); return err })
		if cerr != nil && otsCode(cerr) != codeAlreadyExists {
			return fmt.Errorf("ots: %s: CreateTable: %w", s.name, cerr)
		}
		desc, err = describe()
	}
	if err != nil {
		return fmt.Errorf("ots: %s: DescribeTable: %w", s.name, err)
	}
	var have, want []string
	for _, col := range schema {
		want = append(want, fmt.Sprintf("%s %s", col.name, typeName(col.typ)))
	}
	for _, e := range desc.TableMeta.SchemaEntry {
		if e.Name == nil || e.Type == nil {
			return fmt.Errorf("ots: %s: DescribeTable returned a primary key column without a name or type", s.name)
		}
		have = append(have, fmt.Sprintf("%s %s", *e.Name, typeName(*e.Type)))
	}
	if strings.Join(have, ", ") != strings.Join(want, ", ") {
		return fmt.Errorf("ots: %s: the table's primary key is (%s), the mirror needs (%s): choose another table (%s)",
			s.name, strings.Join(have, ", "), strings.Join(want, ", "), tablestore.KeyOTSTable)
	}
	return nil
}

func typeName(t sdk.PrimaryKeyType) string {
	switch t {
	case sdk.PrimaryKeyType_INTEGER:
		return "INTEGER"
	case sdk.PrimaryKeyType_STRING:
		return "STRING"
	case sdk.PrimaryKeyType_BINARY:
		return "BINARY"
	}
	return fmt.Sprintf("type(%d)", t)
}

// key is a row's primary key.
type key struct {
	kind            string
	id, upload, seq int64
}

func (k key) String() string { return fmt.Sprintf("row %s/%d/%d/%d", k.kind, k.id, k.upload, k.seq) }

func (k key) pk() *sdk.PrimaryKey {
	pk := &sdk.PrimaryKey{}
	pk.AddPrimaryKeyColumn(pkKind, k.kind)
	pk.AddPrimaryKeyColumn(pkID, k.id)
	pk.AddPrimaryKeyColumn(pkUpload, k.upload)
	pk.AddPrimaryKeyColumn(pkSeq, k.seq)
	return pk
}

// bound is the primary key (kind, id, then all minimal or all maximal).
func bound(kind string, id any, max bool) *sdk.PrimaryKey {
	pk := &sdk.PrimaryKey{}
	pk.AddPrimaryKeyColumn(pkKind, kind)
	add := pk.AddPrimaryKeyColumnWithMinValue
	if max {
		add = pk.AddPrimaryKeyColumnWithMaxValue
	}
	if id == nil {
		add(pkID)
	} else {
		pk.AddPrimaryKeyColumn(pkID, id)
	}
	add(pkUpload)
	add(pkSeq)
	return pk
}

func (s *Sink) corrupt(k key, format string, args ...any) *tablestore.CorruptError {
	return &tablestore.CorruptError{Sink: s.name, Object: k.String(), Reason: fmt.Sprintf(format, args...)}
}

// row is a read row: its key and columns.
type row struct {
	k    key
	cols map[string]any
}

func (s *Sink) decodeRow(pk *sdk.PrimaryKey, cols []*sdk.AttributeColumn) (row, error) {
	var r row
	if pk == nil || len(pk.PrimaryKeys) != len(schema) {
		return r, fmt.Errorf("ots: %s: a row with a primary key of the wrong shape", s.name)
	}
	vals := pk.PrimaryKeys
	kind, ok0 := vals[0].Value.(string)
	id, ok1 := vals[1].Value.(int64)
	up, ok2 := vals[2].Value.(int64)
	seq, ok3 := vals[3].Value.(int64)
	if !ok0 || !ok1 || !ok2 || !ok3 {
		return r, fmt.Errorf("ots: %s: a row with primary key values of the wrong types", s.name)
	}
	r.k = key{kind, id, up, seq}
	r.cols = make(map[string]any, len(cols))
	for _, c := range cols {
		r.cols[c.ColumnName] = c.Value
	}
	return r, nil
}

func (s *Sink) intCol(r row, name string) (int64, error) {
	v, ok := r.cols[name].(int64)
	if !ok {
		return 0, s.corrupt(r.k, "column %s is missing or not an INTEGER", name)
	}
	return v, nil
}

func (s *Sink) binCol(r row, name string) ([]byte, error) {
	v, ok := r.cols[name].([]byte)
	if !ok {
		return nil, s.corrupt(r.k, "column %s is missing or not BINARY", name)
	}
	return v, nil
}

// put writes one row; cond is the row existence expectation. A failed
// condition is tablestore.ErrExists (for EXPECT_NOT_EXIST).
func (s *Sink) put(ctx context.Context, k key, cond sdk.RowExistenceExpectation, cols []sdk.AttributeColumn) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	ch := &sdk.PutRowChange{TableName: s.cfg.Table, PrimaryKey: k.pk(), Columns: cols}
	ch.SetCondition(cond)
	if err := guard(func() error { _, err := c.PutRow(&sdk.PutRowRequest{PutRowChange: ch}); return err }); err != nil {
		if otsCode(err) == codeConditionFailed && cond == sdk.RowExistenceExpectation_EXPECT_NOT_EXIST {
			return fmt.Errorf("ots: %s: %s: %w", s.name, k, tablestore.ErrExists)
		}
		return fmt.Errorf("ots: %s: PutRow %s: %w", s.name, k, err)
	}
	return nil
}

// get reads one row (all columns); ok is false when it does not exist.
func (s *Sink) get(ctx context.Context, k key) (row, bool, error) {
	c, err := s.client(ctx)
	if err != nil {
		return row{}, false, err
	}
	var resp *sdk.GetRowResponse
	err = guard(func() (err error) {
		resp, err = c.GetRow(&sdk.GetRowRequest{SingleRowQueryCriteria: &sdk.SingleRowQueryCriteria{
			TableName: s.cfg.Table, PrimaryKey: k.pk(), MaxVersion: 1,
		}})
		return err
	})
	if err != nil {
		return row{}, false, fmt.Errorf("ots: %s: GetRow %s: %w", s.name, k, err)
	}
	if len(resp.PrimaryKey.PrimaryKeys) == 0 {
		return row{}, false, nil
	}
	r, err := s.decodeRow(&resp.PrimaryKey, resp.Columns)
	if err != nil {
		return row{}, false, err
	}
	if r.k != k {
		return row{}, false, fmt.Errorf("ots: %s: GetRow %s returned %s", s.name, k, r.k)
	}
	return r, true, nil
}

func (s *Sink) del(ctx context.Context, k key) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	ch := &sdk.DeleteRowChange{TableName: s.cfg.Table, PrimaryKey: k.pk()}
	ch.SetCondition(sdk.RowExistenceExpectation_IGNORE)
	if err := guard(func() error { _, err := c.DeleteRow(&sdk.DeleteRowRequest{DeleteRowChange: ch}); return err }); err != nil {
		return fmt.Errorf("ots: %s: DeleteRow %s: %w", s.name, k, err)
	}
	return nil
}

// scan reads the rows from start towards end (exclusive) page by page,
// calling fn with each until fn returns false or an error. limit > 0
// bounds the rows asked for per page; columns (none: all) are projected.
func (s *Sink) scan(ctx context.Context, dir sdk.Direction, start, end *sdk.PrimaryKey, limit int32, columns []string, fn func(row) (bool, error)) error {
	for start != nil {
		c, err := s.client(ctx)
		if err != nil {
			return err
		}
		q := &sdk.RangeRowQueryCriteria{
			TableName: s.cfg.Table, StartPrimaryKey: start, EndPrimaryKey: end,
			Direction: dir, MaxVersion: 1, Limit: limit, ColumnsToGet: columns,
		}
		var resp *sdk.GetRangeResponse
		err = guard(func() (err error) { resp, err = c.GetRange(&sdk.GetRangeRequest{RangeRowQueryCriteria: q}); return err })
		if err != nil {
			return fmt.Errorf("ots: %s: GetRange: %w", s.name, err)
		}
		for _, rr := range resp.Rows {
			r, err := s.decodeRow(rr.PrimaryKey, rr.Columns)
			if err != nil {
				return err
			}
			more, err := fn(r)
			if err != nil || !more {
				return err
			}
		}
		// A page may end early (the service's row and size limits) with
		// the key to go on from; no such key means the range is done.
		start = resp.NextStartPrimaryKey
	}
	return nil
}

var infoKey = key{kind: kindInfo}

// PutInfo stores the identity once: a second writer meets the first's
// row (EXPECT_NOT_EXIST) and compares.
func (s *Sink) PutInfo(ctx context.Context, info tablestore.Info) error {
	if err := tablestore.CheckInfo(info); err != nil {
		return err
	}
	err := s.put(ctx, infoKey, sdk.RowExistenceExpectation_EXPECT_NOT_EXIST,
		[]sdk.AttributeColumn{{ColumnName: colInfo, Value: tablestore.EncodeInfo(info)}})
	if !errors.Is(err, tablestore.ErrExists) {
		return err
	}
	have, err := s.GetInfo(ctx)
	if err != nil {
		return err
	}
	return tablestore.SameInfo("ots: "+s.name, have, info)
}

// GetInfo reads the identity row.
func (s *Sink) GetInfo(ctx context.Context) (tablestore.Info, error) {
	r, ok, err := s.get(ctx, infoKey)
	if err != nil {
		return tablestore.Info{}, err
	}
	if !ok {
		return tablestore.Info{}, fmt.Errorf("ots: %s: no namespace identity: %w", s.name, tablestore.ErrNotFound)
	}
	data, err := s.binCol(r, colInfo)
	if err != nil {
		return tablestore.Info{}, err
	}
	info, err := tablestore.DecodeInfo(data)
	if err != nil {
		return tablestore.Info{}, tablestore.NewCorruptError(s.name, infoKey.String(), err)
	}
	return info, nil
}

// PutEdits stores b in one row keyed by b.First (EXPECT_NOT_EXIST): one
// PutRow, so a reader sees all of it or none.
func (s *Sink) PutEdits(ctx context.Context, b tablestore.Batch) error {
	if err := tablestore.CheckBatch(b); err != nil {
		return err
	}
	if n := tablestore.EncodedBatchSize(b); n > MaxBatchBytes {
		return fmt.Errorf("ots: %s: the batch from txid %d encodes to %d bytes, more than the %d one Tablestore row can take (lower %s)",
			s.name, b.First, n, MaxBatchBytes, tablestore.KeyBatchMaxBytes)
	}
	data := tablestore.EncodeBatch(b)
	cols := []sdk.AttributeColumn{{ColumnName: colLast, Value: b.Last()}}
	parts := int64(0)
	for off := 0; off < len(data); off += MaxCellBytes {
		cols = append(cols, sdk.AttributeColumn{ColumnName: fmt.Sprint(colData, parts), Value: data[off:min(off+MaxCellBytes, len(data))]})
		parts++
	}
	cols = append(cols, sdk.AttributeColumn{ColumnName: colParts, Value: parts})
	return s.put(ctx, key{kind: kindEdits, id: b.First}, sdk.RowExistenceExpectation_EXPECT_NOT_EXIST, cols)
}

// LastTxID reads the last column of the highest edits row: a backward
// GetRange with limit 1.
func (s *Sink) LastTxID(ctx context.Context) (int64, error) {
	var last int64
	err := s.scan(ctx, sdk.BACKWARD, bound(kindEdits, nil, true), bound(kindEdits, nil, false), 1, []string{colLast},
		func(r row) (bool, error) {
			v, err := s.intCol(r, colLast)
			if err != nil {
				return false, err
			}
			if v < r.k.id {
				return false, s.corrupt(r.k, "last txid %d is below the first %d", v, r.k.id)
			}
			last = v
			return false, nil
		})
	return last, err
}

// ReadEdits finds the batch that holds from (the highest key <= from,
// with a backward GetRange of limit 1; batches never overlap, because
// they form a chain), then reads forward from there, page by page.
func (s *Sink) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	start := max(from, 1)
	if from > 1 {
		err := s.scan(ctx, sdk.BACKWARD, bound(kindEdits, from, true), bound(kindEdits, nil, false), 1, []string{colLast},
			func(r row) (bool, error) {
				start = r.k.id
				return false, nil
			})
		if err != nil {
			return err
		}
	}
	return s.scan(ctx, sdk.FORWARD, bound(kindEdits, start, false), bound(kindEdits, nil, true), readPageRows, nil,
		func(r row) (bool, error) {
			last, err := s.intCol(r, colLast)
			if err != nil {
				return false, err
			}
			if last < from {
				return true, nil
			}
			b, err := s.decodeBatch(r, last)
			if err != nil {
				return false, err
			}
			return true, fn(b)
		})
}

func (s *Sink) decodeBatch(r row, last int64) (tablestore.Batch, error) {
	parts, err := s.intCol(r, colParts)
	if err != nil {
		return tablestore.Batch{}, err
	}
	if parts < 1 || parts > MaxBatchBytes/MaxCellBytes+1 {
		return tablestore.Batch{}, s.corrupt(r.k, "%d data cells", parts)
	}
	var data []byte
	for i := range parts {
		part, err := s.binCol(r, fmt.Sprint(colData, i))
		if err != nil {
			return tablestore.Batch{}, err
		}
		if parts == 1 {
			data = part
		} else {
			data = append(data, part...)
		}
	}
	b, err := tablestore.DecodeBatch(data)
	if err != nil {
		return tablestore.Batch{}, tablestore.NewCorruptError(s.name, r.k.String(), err)
	}
	if b.First != r.k.id || b.Last() != last {
		return tablestore.Batch{}, s.corrupt(r.k, "holds txids %d..%d, its key and last column say %d..%d", b.First, b.Last(), r.k.id, last)
	}
	return b, nil
}

// PutImage uploads the stream as chunk rows of a fresh upload id, then
// writes the image row naming that upload (EXPECT_NOT_EXIST). Until that
// last write the image is not listed, so a partial upload is never seen;
// a failed or losing upload deletes its chunks (best effort: a leftover
// chunk is never referenced).
func (s *Sink) PutImage(ctx context.Context, txid int64, r io.Reader) error {
	if txid < 0 {
		return fmt.Errorf("ots: %s: image txid %d", s.name, txid)
	}
	ik := key{kind: kindImage, id: txid}
	if _, ok, err := s.get(ctx, ik); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("ots: %s: image %d: %w", s.name, txid, tablestore.ErrExists)
	}
	upload, err := newUploadID()
	if err != nil {
		return err
	}
	chunks, size := int64(0), int64(0)
	err = func() error {
		buf := make([]byte, s.opts.ChunkSize)
		for {
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				ck := key{kind: kindChunk, id: txid, upload: upload, seq: chunks}
				// IGNORE, not EXPECT_NOT_EXIST: the upload id is ours alone,
				// and an SDK retry of a write that did land must not fail.
				err := s.put(ctx, ck, sdk.RowExistenceExpectation_IGNORE, []sdk.AttributeColumn{
					{ColumnName: colData + "0", Value: buf[:n]},
					{ColumnName: colCRC, Value: int64(crc32.Checksum(buf[:n], castagnoli))},
				})
				chunks++ // counted even if the write failed: cleanup deletes it
				if err != nil {
					return err
				}
				size += int64(n)
			}
			switch {
			case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
				return nil
			case rerr != nil:
				return fmt.Errorf("ots: %s: image %d: reading the stream: %w", s.name, txid, rerr)
			}
		}
	}()
	if err == nil {
		err = s.put(ctx, ik, sdk.RowExistenceExpectation_EXPECT_NOT_EXIST, []sdk.AttributeColumn{
			{ColumnName: colUpload, Value: upload}, {ColumnName: colChunks, Value: chunks}, {ColumnName: colSize, Value: size},
		})
		if errors.Is(err, tablestore.ErrExists) {
			// The SDK may have retried our own write after losing its answer.
			if have, ok, gerr := s.get(ctx, ik); gerr == nil && ok && have.cols[colUpload] == upload {
				return nil
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		for i := range chunks {
			if s.del(ctx, key{kind: kindChunk, id: txid, upload: upload, seq: i}) != nil {
				break
			}
		}
	}
	return err
}

func newUploadID() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("ots: upload id: %w", err)
	}
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1, nil
}

// Images lists the image rows (complete uploads only).
func (s *Sink) Images(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.scan(ctx, sdk.FORWARD, bound(kindImage, nil, false), bound(kindImage, nil, true), 0, []string{colUpload},
		func(r row) (bool, error) {
			ids = append(ids, r.k.id)
			return true, nil
		})
	return ids, err
}

// OpenImage reads the image row, then streams its chunks one GetRow at a
// time; reads use ctx.
func (s *Sink) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	ik := key{kind: kindImage, id: txid}
	r, ok, err := s.get(ctx, ik)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("ots: %s: image %d: %w", s.name, txid, tablestore.ErrNotFound)
	}
	upload, err := s.intCol(r, colUpload)
	if err != nil {
		return nil, err
	}
	chunks, err := s.intCol(r, colChunks)
	if err != nil {
		return nil, err
	}
	size, err := s.intCol(r, colSize)
	if err != nil {
		return nil, err
	}
	if chunks < 0 || size < 0 || size > chunks*MaxCellBytes || (chunks > 0 && size < chunks) {
		return nil, s.corrupt(ik, "%d chunks of %d bytes in all", chunks, size)
	}
	return &imageReader{s: s, ctx: ctx, txid: txid, upload: upload, chunks: chunks, size: size}, nil
}

type imageReader struct {
	s                    *Sink
	ctx                  context.Context
	txid, upload, chunks int64
	size, read           int64
	next                 int64 // the next chunk to fetch
	cur                  []byte
	err                  error
}

func (ir *imageReader) Read(p []byte) (int, error) {
	for len(ir.cur) == 0 && ir.err == nil {
		ir.err = ir.fetch()
	}
	if len(ir.cur) == 0 {
		return 0, ir.err
	}
	n := copy(p, ir.cur)
	ir.cur = ir.cur[n:]
	return n, nil
}

// fetch loads the next chunk, or reports the end (io.EOF) after checking
// that the chunks add up to the image row's size.
func (ir *imageReader) fetch() error {
	s := ir.s
	if ir.next == ir.chunks {
		if ir.read != ir.size {
			return s.corrupt(key{kind: kindImage, id: ir.txid}, "its chunks hold %d bytes, it says %d", ir.read, ir.size)
		}
		return io.EOF
	}
	ck := key{kind: kindChunk, id: ir.txid, upload: ir.upload, seq: ir.next}
	r, ok, err := s.get(ir.ctx, ck)
	if err != nil {
		return err
	}
	if !ok {
		return s.corrupt(ck, "chunk %d of %d of image %d is missing", ir.next, ir.chunks, ir.txid)
	}
	data, err := s.binCol(r, colData+"0")
	if err != nil {
		return err
	}
	sum, err := s.intCol(r, colCRC)
	if err != nil {
		return err
	}
	if got := int64(crc32.Checksum(data, castagnoli)); got != sum || len(data) == 0 {
		return s.corrupt(ck, "%d bytes with crc32c %08x, the row says %08x", len(data), got, sum)
	}
	if ir.read+int64(len(data)) > ir.size {
		return s.corrupt(ck, "the chunks run past the image's %d bytes", ir.size)
	}
	ir.read += int64(len(data))
	ir.next++
	ir.cur = data
	return nil
}

func (ir *imageReader) Close() error {
	ir.cur, ir.err = nil, errors.New("ots: image stream closed")
	return nil
}
