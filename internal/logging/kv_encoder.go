package logging

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// consoleTimeLayout is log4j's ISO8601 date layout, the one Hadoop's default
// "%d{ISO8601} %p %c: %m%n" pattern prints, so hdfsha lines sort and grep like Hadoop's.
const consoleTimeLayout = "2006-01-02 15:04:05,000"

var bufferPool = buffer.NewPool()

// kvEncoder renders the console format:
//
//	<time> <LEVEL> [<logger>[ <caller>]:] <message>[ key=value]...[\n<stacktrace>]
//
// Values that contain spaces, '=', quotes or control characters are Go-quoted; objects,
// arrays and reflected values are compact JSON. Context fields (Logger.With) come before the
// entry's own fields, in the order they were added.
//
// EncodeEntry may run concurrently on one encoder (zap's ioCore does that), so it never
// writes to the receiver; it works on a clone.
type kvEncoder struct {
	// fields holds the already-encoded context fields, each with its leading space.
	fields *buffer.Buffer
	// ns is the key prefix opened by OpenNamespace ("a.b."), empty at the top level.
	ns string
}

var _ zapcore.Encoder = (*kvEncoder)(nil)

func newKVEncoder() *kvEncoder {
	return &kvEncoder{fields: bufferPool.Get()}
}

func (e *kvEncoder) Clone() zapcore.Encoder {
	c := &kvEncoder{fields: bufferPool.Get(), ns: e.ns}
	_, _ = c.fields.Write(e.fields.Bytes())
	return c
}

func (e *kvEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	c := e.Clone().(*kvEncoder)
	defer c.fields.Free()
	for _, f := range fields {
		f.AddTo(c)
	}

	line := bufferPool.Get()
	line.AppendString(ent.Time.Format(consoleTimeLayout))
	line.AppendByte(' ')
	line.AppendString(levelName(ent.Level))
	if ent.LoggerName != "" || ent.Caller.Defined {
		if ent.LoggerName != "" {
			line.AppendByte(' ')
			line.AppendString(ent.LoggerName)
		}
		if ent.Caller.Defined {
			line.AppendByte(' ')
			line.AppendString(ent.Caller.TrimmedPath())
		}
		line.AppendByte(':')
	}
	line.AppendByte(' ')
	line.AppendString(ent.Message)
	_, _ = line.Write(c.fields.Bytes())
	if ent.Stack != "" {
		line.AppendByte('\n')
		line.AppendString(ent.Stack)
	}
	line.AppendString(zapcore.DefaultLineEnding)
	return line, nil
}

// levelName prints Hadoop's upper-case names; zap's panic levels keep their own.
func levelName(l zapcore.Level) string {
	return l.CapitalString()
}

// key starts a field: " <namespace><key>=".
func (e *kvEncoder) key(k string) {
	e.fields.AppendByte(' ')
	e.fields.AppendString(e.ns)
	e.fields.AppendString(k)
	e.fields.AppendByte('=')
}

func (e *kvEncoder) str(k, v string) {
	e.key(k)
	appendMaybeQuoted(e.fields, v)
}

func (e *kvEncoder) raw(k, v string) {
	e.key(k)
	e.fields.AppendString(v)
}

// appendMaybeQuoted writes s bare when it reads unambiguously in a key=value line.
func appendMaybeQuoted(b *buffer.Buffer, s string) {
	if needsQuote(s) {
		b.AppendString(strconv.Quote(s))
		return
	}
	b.AppendString(s)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == '=' || r == '"' || r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// jsonValue renders a structured value as compact JSON, falling back to %v for values
// encoding/json cannot handle (channels, funcs, cycles).
func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func (e *kvEncoder) AddArray(k string, m zapcore.ArrayMarshaler) error {
	mo := zapcore.NewMapObjectEncoder()
	err := mo.AddArray("v", m)
	e.raw(k, jsonValue(mo.Fields["v"]))
	return err
}

func (e *kvEncoder) AddObject(k string, m zapcore.ObjectMarshaler) error {
	mo := zapcore.NewMapObjectEncoder()
	err := m.MarshalLogObject(mo)
	e.raw(k, jsonValue(mo.Fields))
	return err
}

func (e *kvEncoder) AddReflected(k string, v any) error {
	e.raw(k, jsonValue(v))
	return nil
}

func (e *kvEncoder) OpenNamespace(k string) { e.ns += k + "." }

func (e *kvEncoder) AddBinary(k string, v []byte) {
	e.raw(k, base64.StdEncoding.EncodeToString(v))
}
func (e *kvEncoder) AddByteString(k string, v []byte) { e.str(k, string(v)) }
func (e *kvEncoder) AddBool(k string, v bool)         { e.raw(k, strconv.FormatBool(v)) }
func (e *kvEncoder) AddComplex128(k string, v complex128) {
	e.raw(k, strconv.FormatComplex(v, 'g', -1, 128))
}
func (e *kvEncoder) AddComplex64(k string, v complex64) {
	e.raw(k, strconv.FormatComplex(complex128(v), 'g', -1, 64))
}
func (e *kvEncoder) AddDuration(k string, v time.Duration) { e.raw(k, v.String()) }
func (e *kvEncoder) AddFloat64(k string, v float64)        { e.raw(k, formatFloat(v, 64)) }
func (e *kvEncoder) AddFloat32(k string, v float32)        { e.raw(k, formatFloat(float64(v), 32)) }
func (e *kvEncoder) AddInt(k string, v int)                { e.raw(k, strconv.FormatInt(int64(v), 10)) }
func (e *kvEncoder) AddInt64(k string, v int64)            { e.raw(k, strconv.FormatInt(v, 10)) }
func (e *kvEncoder) AddInt32(k string, v int32)            { e.raw(k, strconv.FormatInt(int64(v), 10)) }
func (e *kvEncoder) AddInt16(k string, v int16)            { e.raw(k, strconv.FormatInt(int64(v), 10)) }
func (e *kvEncoder) AddInt8(k string, v int8)              { e.raw(k, strconv.FormatInt(int64(v), 10)) }
func (e *kvEncoder) AddString(k, v string)                 { e.str(k, v) }
func (e *kvEncoder) AddTime(k string, v time.Time) {
	e.raw(k, v.Format("2006-01-02T15:04:05.000Z07:00"))
}
func (e *kvEncoder) AddUint(k string, v uint)       { e.raw(k, strconv.FormatUint(uint64(v), 10)) }
func (e *kvEncoder) AddUint64(k string, v uint64)   { e.raw(k, strconv.FormatUint(v, 10)) }
func (e *kvEncoder) AddUint32(k string, v uint32)   { e.raw(k, strconv.FormatUint(uint64(v), 10)) }
func (e *kvEncoder) AddUint16(k string, v uint16)   { e.raw(k, strconv.FormatUint(uint64(v), 10)) }
func (e *kvEncoder) AddUint8(k string, v uint8)     { e.raw(k, strconv.FormatUint(uint64(v), 10)) }
func (e *kvEncoder) AddUintptr(k string, v uintptr) { e.raw(k, "0x"+strconv.FormatUint(uint64(v), 16)) }

func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}
