package main

// Copy progress for `hdfs dfs -put`, -get and -cp: one line on stderr, rewritten in place
// with "\r", naming the file, the bytes copied so far and the average rate. It is shown
// only when stderr is a terminal (a character device), so piped or redirected output
// stays as Hadoop's; a copy shorter than one update interval prints nothing at all.

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressInterval is the least time between two updates of the line (4 per second).
const progressInterval = 250 * time.Millisecond

// progressWriter counts the bytes written through it to w and redraws the progress
// line on out at most once per progressInterval. It is not safe for concurrent use.
type progressWriter struct {
	w     io.Writer
	out   io.Writer
	now   func() time.Time
	label string

	start, last time.Time
	n           int64
	// width is the length of the line drawn last, so a shorter one can blank its tail.
	width int
}

func newProgressWriter(w, out io.Writer, label string, now func() time.Time) *progressWriter {
	t := now()
	return &progressWriter{w: w, out: out, now: now, label: label, start: t, last: t}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if t := p.now(); t.Sub(p.last) >= progressInterval {
		p.last = t
		p.draw(t)
	}
	return n, err
}

// finish draws the final figures and ends the line, if a line was ever drawn.
func (p *progressWriter) finish() {
	if p.width == 0 {
		return
	}
	p.draw(p.now())
	fmt.Fprintln(p.out)
}

func (p *progressWriter) draw(t time.Time) {
	line := fmt.Sprintf("%s: %s copied", p.label, formatProgressBytes(p.n))
	if d := t.Sub(p.start); d > 0 {
		line += fmt.Sprintf(", %s/s", formatProgressBytes(int64(float64(p.n)/d.Seconds())))
	}
	pad := max(p.width-len(line), 0)
	p.width = len(line)
	fmt.Fprintf(p.out, "\r%s%s", line, strings.Repeat(" ", pad))
}

// formatProgressBytes is a byte count the way -ls -h shows sizes, with a B for small ones.
func formatProgressBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", max(n, 0))
	}
	return formatSize(uint64(n), true) + "B"
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// copyProgress is io.Copy from src to dst, showing progress labelled with label on
// stderr when stderr is a terminal.
func (sh *fsShell) copyProgress(dst io.Writer, src io.Reader, label string) (int64, error) {
	if !isTerminal(sh.tc.Err) {
		return io.Copy(dst, src)
	}
	p := newProgressWriter(dst, sh.tc.Err, label, time.Now)
	n, err := io.Copy(p, src)
	p.finish()
	return n, err
}
