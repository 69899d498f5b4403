package otstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// PlainBuffer is Tablestore's row encoding inside the protobuf messages
// (the bytes fields documented "encoded as InplaceRowChangeSet"). The
// subset here is what the SDK writes and reads for PutRow, GetRow,
// DeleteRow and GetRange:
//
//	rows    = header:LE32(0x75) row*
//	row     = TAG_ROW_PK cell* [TAG_ROW_DATA cell*] [TAG_DELETE_ROW_MARKER]
//	          TAG_ROW_CHECKSUM crc8
//	cell    = TAG_CELL TAG_CELL_NAME LE32(len) name
//	          [TAG_CELL_VALUE LE32(len) type payload]
//	          [TAG_CELL_TYPE op] [TAG_CELL_TIMESTAMP LE64(ms)]
//	          TAG_CELL_CHECKSUM crc8
//	payload = INTEGER: LE64 | STRING, BLOB: LE32(len) bytes | BOOLEAN: 1 byte
//	          | DOUBLE: LE64(bits) | INF_MIN, INF_MAX, AUTO_INCREMENT: nothing
//
// The checksums are CRC-8 (polynomial 0x07). A cell's covers its name, its
// value (type byte, then the payload with lengths), its timestamp and its
// op; a row's covers its cells' checksums in order and then one byte, 1
// when the row carries the delete marker and 0 otherwise. The fake checks
// both on every request, so a request the SDK encodes differently from
// this description is refused rather than misread.
const (
	pbHeader = 0x75

	tagRowPK        = 0x1
	tagRowData      = 0x2
	tagCell         = 0x3
	tagCellName     = 0x4
	tagCellValue    = 0x5
	tagCellType     = 0x6
	tagCellTS       = 0x7
	tagDeleteMarker = 0x8
	tagRowChecksum  = 0x9
	tagCellChecksum = 0xA

	vtInteger = 0x0
	vtDouble  = 0x1
	vtBoolean = 0x2
	vtString  = 0x3
	vtBlob    = 0x7
	vtInfMin  = 0x9
	vtInfMax  = 0xa
	vtAutoInc = 0xb
)

// Inf is a range bound below (InfMin) or above (InfMax) every value of a
// primary key column; it appears only in GetRange bounds.
type Inf int8

const (
	InfMin Inf = -1
	InfMax Inf = 1
)

// autoIncrement is the placeholder of an auto-increment key column.
type autoIncrement struct{}

// cell is one PlainBuffer cell. Value is nil (no value), int64, string,
// []byte, bool, float64, Inf or autoIncrement.
type cell struct {
	name    string
	value   any
	hasTS   bool
	ts      int64
	hasType bool
	op      byte
}

type pbRow struct {
	pk, cells []cell
	delete    bool
}

var crc8Table = func() (t [256]byte) {
	for i := range t {
		x := byte(i)
		for j := 0; j < 8; j++ {
			if x&0x80 != 0 {
				x = x<<1 ^ 0x07
			} else {
				x <<= 1
			}
		}
		t[i] = x
	}
	return t
}()

func crc8(crc byte, b ...byte) byte {
	for _, c := range b {
		crc = crc8Table[crc^c]
	}
	return crc
}

func crc8u32(crc byte, v uint32) byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return crc8(crc, b[:]...)
}

func crc8u64(crc byte, v uint64) byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return crc8(crc, b[:]...)
}

func valueChecksum(crc byte, v any) byte {
	switch v := v.(type) {
	case int64:
		return crc8u64(crc8(crc, vtInteger), uint64(v))
	case string:
		return crc8(crc8u32(crc8(crc, vtString), uint32(len(v))), []byte(v)...)
	case []byte:
		return crc8(crc8u32(crc8(crc, vtBlob), uint32(len(v))), v...)
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return crc8(crc, vtBoolean, b)
	case float64:
		return crc8u64(crc8(crc, vtDouble), math.Float64bits(v))
	case Inf:
		if v == InfMin {
			return crc8(crc, vtInfMin)
		}
		return crc8(crc, vtInfMax)
	case autoIncrement:
		return crc8(crc, vtAutoInc)
	}
	return crc
}

func (c *cell) checksum() byte {
	crc := crc8(0, []byte(c.name)...)
	if c.value != nil {
		crc = valueChecksum(crc, c.value)
	}
	if c.hasTS {
		crc = crc8u64(crc, uint64(c.ts))
	}
	if c.hasType {
		crc = crc8(crc, c.op)
	}
	return crc
}

func (r *pbRow) checksum() byte {
	crc := byte(0)
	for i := range r.pk {
		crc = crc8(crc, r.pk[i].checksum())
	}
	for i := range r.cells {
		crc = crc8(crc, r.cells[i].checksum())
	}
	if r.delete {
		return crc8(crc, 1)
	}
	return crc8(crc, 0)
}

var errShort = errors.New("plainbuffer: truncated")

type pbReader struct {
	b   []byte
	off int
}

func (r *pbReader) more() bool { return r.off < len(r.b) }

func (r *pbReader) peek() (byte, bool) {
	if r.off >= len(r.b) {
		return 0, false
	}
	return r.b[r.off], true
}

func (r *pbReader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, errShort
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *pbReader) byte1() (byte, error) {
	b, err := r.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *pbReader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *pbReader) u64() (uint64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *pbReader) expect(tag byte) error {
	t, err := r.byte1()
	if err != nil {
		return err
	}
	if t != tag {
		return fmt.Errorf("plainbuffer: tag 0x%x at offset %d, want 0x%x", t, r.off-1, tag)
	}
	return nil
}

// decodeRows reads a header and the rows after it, verifying checksums.
func decodeRows(b []byte) ([]pbRow, error) {
	r := &pbReader{b: b}
	h, err := r.u32()
	if err != nil {
		return nil, err
	}
	if h != pbHeader {
		return nil, fmt.Errorf("plainbuffer: header 0x%x, want 0x%x", h, pbHeader)
	}
	var rows []pbRow
	for r.more() {
		row, err := decodeRow(r)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// decodeOneRow reads a buffer that must hold exactly one row.
func decodeOneRow(b []byte) (pbRow, error) {
	rows, err := decodeRows(b)
	if err != nil {
		return pbRow{}, err
	}
	if len(rows) != 1 {
		return pbRow{}, fmt.Errorf("plainbuffer: %d rows, want 1", len(rows))
	}
	return rows[0], nil
}

func decodeRow(r *pbReader) (pbRow, error) {
	var row pbRow
	if err := r.expect(tagRowPK); err != nil {
		return row, err
	}
	var err error
	if row.pk, err = decodeCells(r); err != nil {
		return row, err
	}
	if t, ok := r.peek(); ok && t == tagRowData {
		r.off++
		if row.cells, err = decodeCells(r); err != nil {
			return row, err
		}
	}
	if t, ok := r.peek(); ok && t == tagDeleteMarker {
		r.off++
		row.delete = true
	}
	if err := r.expect(tagRowChecksum); err != nil {
		return row, err
	}
	sum, err := r.byte1()
	if err != nil {
		return row, err
	}
	if want := row.checksum(); sum != want {
		return row, fmt.Errorf("plainbuffer: row checksum 0x%x, computed 0x%x", sum, want)
	}
	return row, nil
}

func decodeCells(r *pbReader) ([]cell, error) {
	var cells []cell
	for {
		t, ok := r.peek()
		if !ok || t != tagCell {
			return cells, nil
		}
		r.off++
		c, err := decodeCell(r)
		if err != nil {
			return nil, err
		}
		cells = append(cells, c)
	}
}

func decodeCell(r *pbReader) (cell, error) {
	var c cell
	if err := r.expect(tagCellName); err != nil {
		return c, err
	}
	n, err := r.u32()
	if err != nil {
		return c, err
	}
	name, err := r.take(int(n))
	if err != nil {
		return c, err
	}
	c.name = string(name)
	if t, ok := r.peek(); ok && t == tagCellValue {
		r.off++
		if c.value, err = decodeValue(r); err != nil {
			return c, fmt.Errorf("plainbuffer: cell %q: %w", c.name, err)
		}
	}
	if t, ok := r.peek(); ok && t == tagCellType {
		r.off++
		if c.op, err = r.byte1(); err != nil {
			return c, err
		}
		c.hasType = true
	}
	if t, ok := r.peek(); ok && t == tagCellTS {
		r.off++
		ts, err := r.u64()
		if err != nil {
			return c, err
		}
		c.ts, c.hasTS = int64(ts), true
	}
	if err := r.expect(tagCellChecksum); err != nil {
		return c, err
	}
	sum, err := r.byte1()
	if err != nil {
		return c, err
	}
	if want := c.checksum(); sum != want {
		return c, fmt.Errorf("plainbuffer: cell %q checksum 0x%x, computed 0x%x", c.name, sum, want)
	}
	return c, nil
}

func decodeValue(r *pbReader) (any, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	body, err := r.take(int(n))
	if err != nil {
		return nil, err
	}
	if len(body) < 1 {
		return nil, errors.New("empty value")
	}
	v := &pbReader{b: body[1:]}
	var out any
	switch body[0] {
	case vtInteger:
		u, err := v.u64()
		if err != nil {
			return nil, err
		}
		out = int64(u)
	case vtDouble:
		u, err := v.u64()
		if err != nil {
			return nil, err
		}
		out = math.Float64frombits(u)
	case vtBoolean:
		b, err := v.byte1()
		if err != nil {
			return nil, err
		}
		out = b != 0
	case vtString, vtBlob:
		l, err := v.u32()
		if err != nil {
			return nil, err
		}
		s, err := v.take(int(l))
		if err != nil {
			return nil, err
		}
		if body[0] == vtString {
			out = string(s)
		} else {
			out = bytes.Clone(s)
		}
	case vtInfMin:
		out = InfMin
	case vtInfMax:
		out = InfMax
	case vtAutoInc:
		out = autoIncrement{}
	default:
		return nil, fmt.Errorf("unknown value type 0x%x", body[0])
	}
	if v.more() {
		return nil, fmt.Errorf("value of type 0x%x has %d trailing bytes", body[0], len(v.b)-v.off)
	}
	return out, nil
}

type pbWriter struct{ bytes.Buffer }

func (w *pbWriter) u32(v uint32) { w.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *pbWriter) u64(v uint64) { w.Write(binary.LittleEndian.AppendUint64(nil, v)) }

func (w *pbWriter) value(v any) {
	w.WriteByte(tagCellValue)
	switch v := v.(type) {
	case int64:
		w.u32(9)
		w.WriteByte(vtInteger)
		w.u64(uint64(v))
	case float64:
		w.u32(9)
		w.WriteByte(vtDouble)
		w.u64(math.Float64bits(v))
	case bool:
		w.u32(2)
		w.WriteByte(vtBoolean)
		if v {
			w.WriteByte(1)
		} else {
			w.WriteByte(0)
		}
	case string:
		w.u32(uint32(5 + len(v)))
		w.WriteByte(vtString)
		w.u32(uint32(len(v)))
		w.WriteString(v)
	case []byte:
		w.u32(uint32(5 + len(v)))
		w.WriteByte(vtBlob)
		w.u32(uint32(len(v)))
		w.Write(v)
	case autoIncrement:
		w.u32(1)
		w.WriteByte(vtAutoInc)
	case Inf:
		w.u32(1)
		if v == InfMin {
			w.WriteByte(vtInfMin)
		} else {
			w.WriteByte(vtInfMax)
		}
	default:
		panic(fmt.Sprintf("otstest: cannot encode %T", v))
	}
}

func (w *pbWriter) cell(c *cell) {
	w.WriteByte(tagCell)
	w.WriteByte(tagCellName)
	w.u32(uint32(len(c.name)))
	w.WriteString(c.name)
	if c.value != nil {
		w.value(c.value)
	}
	if c.hasType {
		w.WriteByte(tagCellType)
		w.WriteByte(c.op)
	}
	if c.hasTS {
		w.WriteByte(tagCellTS)
		w.u64(uint64(c.ts))
	}
	w.WriteByte(tagCellChecksum)
	w.WriteByte(c.checksum())
}

func (w *pbWriter) row(r *pbRow) {
	w.WriteByte(tagRowPK)
	for i := range r.pk {
		w.cell(&r.pk[i])
	}
	if len(r.cells) > 0 {
		w.WriteByte(tagRowData)
		for i := range r.cells {
			w.cell(&r.cells[i])
		}
	}
	if r.delete {
		w.WriteByte(tagDeleteMarker)
	}
	w.WriteByte(tagRowChecksum)
	w.WriteByte(r.checksum())
}

// encodeRows writes the header and rows (no rows: no bytes at all, which
// is how the service answers an empty GetRow or GetRange).
func encodeRows(rows []pbRow) []byte {
	if len(rows) == 0 {
		return []byte{}
	}
	var w pbWriter
	w.u32(pbHeader)
	for i := range rows {
		w.row(&rows[i])
	}
	return w.Bytes()
}
