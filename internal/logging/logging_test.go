package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in   string
		want zapcore.Level
	}{
		{"ALL", zapcore.DebugLevel},
		{"TRACE", zapcore.DebugLevel},
		{"trace", zapcore.DebugLevel},
		{"DEBUG", zapcore.DebugLevel},
		{"INFO", zapcore.InfoLevel},
		{" info ", zapcore.InfoLevel},
		{"WARN", zapcore.WarnLevel},
		{"warning", zapcore.WarnLevel},
		{"ERROR", zapcore.ErrorLevel},
		{"FATAL", zapcore.FatalLevel},
		{"OFF", OffLevel},
	}
	for _, c := range cases {
		got, err := ParseLevel(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "VERBOSE", "INFO,console", "3"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) succeeded, want error", bad)
		}
	}
}

func TestParseRootLogger(t *testing.T) {
	cases := []struct {
		in        string
		level     zapcore.Level
		appenders []string
	}{
		{"INFO,console", zapcore.InfoLevel, []string{"console"}},
		{"DEBUG,RFA", zapcore.DebugLevel, []string{"RFA"}},
		{"WARN", zapcore.WarnLevel, nil},
		{"TRACE, console, RFA", zapcore.DebugLevel, []string{"console", "RFA"}},
		{"ERROR,", zapcore.ErrorLevel, nil},
	}
	for _, c := range cases {
		level, apps, err := ParseRootLogger(c.in)
		if err != nil {
			t.Errorf("ParseRootLogger(%q): %v", c.in, err)
			continue
		}
		if level != c.level || strings.Join(apps, "|") != strings.Join(c.appenders, "|") {
			t.Errorf("ParseRootLogger(%q) = %v %q; want %v %q", c.in, level, apps, c.level, c.appenders)
		}
	}
	if _, _, err := ParseRootLogger("LOUD,console"); err == nil || !strings.Contains(err.Error(), "HADOOP_ROOT_LOGGER") {
		t.Errorf("ParseRootLogger(LOUD,console) error = %v, want one naming HADOOP_ROOT_LOGGER", err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatConsole, "console": FormatConsole, "JSON": FormatJSON} {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
	if _, err := New(Options{Format: "xml"}); err == nil {
		t.Error("New with format xml succeeded")
	}
}

func TestConsoleFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Name: "namenode"})
	if err != nil {
		t.Fatal(err)
	}
	log.With(zap.String("nameservice", "mycluster")).Named("ha").Info("entering active state",
		zap.Int64("txid", 42),
		zap.String("reason", "failover by admin"),
		zap.String("empty", ""),
		zap.Duration("took", 1500*time.Millisecond),
		zap.Bool("fenced", true),
		zap.Error(errors.New("boom")),
		zap.Strings("hosts", []string{"a", "b"}),
	)
	log.Debug("hidden at info")

	line := strings.TrimSuffix(buf.String(), "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("want exactly one line, got %q", buf.String())
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO namenode\.ha: entering active state `)
	if !re.MatchString(line) {
		t.Fatalf("line %q does not start with time, level, logger name and message", line)
	}
	wantFields := ` nameservice=mycluster txid=42 reason="failover by admin" empty="" took=1.5s fenced=true error=boom hosts=["a","b"]`
	if !strings.HasSuffix(line, wantFields) {
		t.Errorf("fields:\n got %q\nwant suffix %q", line, wantFields)
	}
}

func TestConsoleNamespaceAndQuoting(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Level: zapcore.DebugLevel})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("rpc", zap.Namespace("call"), zap.Int("id", 7), zap.String("method", "a=b"), zap.String("nl", "x\ny"))
	got := buf.String()
	if !strings.Contains(got, " DEBUG rpc call.id=7 call.method=\"a=b\" call.nl=\"x\\ny\"\n") {
		t.Errorf("got %q", got)
	}
}

func TestJSONFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Format: FormatJSON, Name: "journalnode", Level: zapcore.WarnLevel})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped below WARN")
	log.Warn("segment finalized late", zap.Int64("firstTxId", 1), zap.String("journal", "mycluster"))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("not JSON: %v: %q", err, lines[0])
	}
	want := map[string]any{
		"level": "warn", "logger": "journalnode", "msg": "segment finalized late",
		"firstTxId": float64(1), "journal": "mycluster",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["ts"].(string); !ok {
		t.Errorf("ts missing or not a string: %v", m["ts"])
	}
}

func TestOffLevelWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Level: OffLevel})
	if err != nil {
		t.Fatal(err)
	}
	log.Error("nobody hears this")
	if buf.Len() != 0 {
		t.Errorf("OFF wrote %q", buf.String())
	}
}

// TestConcurrentWritesStayWhole checks that entries written from many goroutines to one
// unsynchronized writer come out as whole lines.
func TestConcurrentWritesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	ctx := log.With(zap.String("shared", "ctx"))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				ctx.Info("tick", zap.Int("g", i), zap.Int("j", j))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("got %d lines, want 400", len(lines))
	}
	re := regexp.MustCompile(`INFO tick shared=ctx g=\d j=\d+$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Fatalf("mangled line %q", l)
		}
	}
}
