package testcluster

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LeakWait bounds how long CheckLeaks waits for goroutines to finish at the end of a test.
// It is a ceiling for slow machines, not an expectation: a clean test passes as soon as
// the last goroutine exits.
const LeakWait = 10 * time.Second

// CheckLeaks fails t if goroutines started during the test are still running when it
// ends. Call it first, before starting anything: it snapshots the goroutines alive now and
// registers a cleanup that, running after every later cleanup (cleanups run last-in
// first-out, so daemons registered later are stopped by then), polls until every goroutine
// that was not in the snapshot has exited, for at most LeakWait, then reports the leftovers
// with their stacks.
//
// Goroutines of the testing framework are never counted, but goroutines that a parallel
// test (t.Parallel) starts while this one runs are: do not combine CheckLeaks with
// parallel tests in the same package. ignore lists extra substrings; a goroutine whose stack contains one of them is
// not counted either (for example a library's process-wide worker).
func CheckLeaks(t testing.TB, ignore ...string) {
	t.Helper()
	checkLeaks(t, LeakWait, ignore)
}

func checkLeaks(t testing.TB, wait time.Duration, ignore []string) {
	before := make(map[uint64]bool)
	for _, g := range goroutines() {
		before[g.id] = true
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		delay := time.Millisecond
		for {
			leaked := leakedGoroutines(before, ignore)
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				var b strings.Builder
				for _, g := range leaked {
					b.WriteString("\n\n")
					b.WriteString(g.stack)
				}
				t.Errorf("testcluster: %d goroutine(s) leaked by the test:%s", len(leaked), b.String())
				return
			}
			time.Sleep(delay)
			if delay < 100*time.Millisecond {
				delay *= 2
			}
		}
	})
}

type goroutine struct {
	id    uint64
	stack string
}

// frameworkFrames mark goroutines that belong to the runtime or the testing package.
var frameworkFrames = []string{
	"testing.tRunner(",
	"testing.(*T).Run(",
	"testing.(*M).",
	"testing.runTests(",
	"testing.(*F).Fuzz",
	"testing.runFuzzing(",
	"os/signal.signal_recv",
	"runtime.ensureSigM",
}

func leakedGoroutines(before map[uint64]bool, ignore []string) []goroutine {
	self := currentGoroutineID()
	var out []goroutine
outer:
	for _, g := range goroutines() {
		if before[g.id] || g.id == self {
			continue
		}
		for _, f := range frameworkFrames {
			if strings.Contains(g.stack, f) {
				continue outer
			}
		}
		for _, s := range ignore {
			if strings.Contains(g.stack, s) {
				continue outer
			}
		}
		out = append(out, g)
	}
	return out
}

// goroutines parses runtime.Stack(all=true): blocks separated by a blank line, each
// starting "goroutine <id> [<state>]:".
func goroutines() []goroutine {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		s := string(bytes.TrimSpace(block))
		if id, ok := parseGoroutineID(s); ok {
			out = append(out, goroutine{id: id, stack: s})
		}
	}
	return out
}

func currentGoroutineID() uint64 {
	buf := make([]byte, 64)
	n := runtime.Stack(buf, false)
	id, _ := parseGoroutineID(string(buf[:n]))
	return id
}

func parseGoroutineID(s string) (uint64, bool) {
	rest, ok := strings.CutPrefix(s, "goroutine ")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		return 0, false
	}
	id, err := strconv.ParseUint(rest[:end], 10, 64)
	return id, err == nil
}
