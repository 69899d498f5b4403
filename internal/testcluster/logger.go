package testcluster

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/hdfsha/hdfsha/internal/logging"
)

// Logger returns a debug-level logger that writes into the test's log (t.Log) in the
// console format daemons use, so `go test -v` and failures show daemon logs interleaved
// with the test's own output. zap's internal errors fail the test.
//
// Logging through it after the test has finished panics (that is the testing package's
// rule for t.Log): a daemon still logging then is a leak, which CheckLeaks reports too.
func Logger(t testing.TB) *zap.Logger {
	enc, err := logging.NewEncoder(logging.FormatConsole)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	w := zaptest.NewTestingWriter(t)
	core := zapcore.NewCore(enc, zapcore.AddSync(w), zapcore.DebugLevel)
	return zap.New(core, zap.ErrorOutput(zapcore.AddSync(w.WithMarkFailed(true))))
}
