package web

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

type metric struct {
	help string
	kind string // "gauge" or "counter"
	fn   func() float64
}

// RegisterGauge publishes a Prometheus gauge on /metrics. name is sanitized (SanitizeName).
func (s *Server) RegisterGauge(name, help string, fn func() float64) {
	s.register(name, help, "gauge", fn)
}

// RegisterCounter publishes a Prometheus counter on /metrics; fn must never decrease (it may
// restart from zero with the process). name is sanitized (SanitizeName).
func (s *Server) RegisterCounter(name, help string, fn func() float64) {
	s.register(name, help, "counter", fn)
}

func (s *Server) register(name, help, kind string, fn func() float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.metrics[SanitizeName(name)] = metric{help: help, kind: kind, fn: fn}
}

// SanitizeName turns name into a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) by
// replacing every other character with '_' and prefixing '_' to a leading digit.
func SanitizeName(name string) string {
	if name == "" {
		return "_"
	}
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// serveMetrics writes every metric in the Prometheus text exposition format 0.0.4, sorted by
// name.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.mu.metrics))
	ms := make(map[string]metric, len(s.mu.metrics))
	for n, m := range s.mu.metrics {
		names = append(names, n)
		ms[n] = m
	}
	s.mu.Unlock()
	sort.Strings(names)

	var b strings.Builder
	for _, n := range names {
		m := ms[n]
		b.WriteString("# HELP ")
		b.WriteString(n)
		b.WriteByte(' ')
		b.WriteString(escapeHelp(m.help))
		b.WriteString("\n# TYPE ")
		b.WriteString(n)
		b.WriteByte(' ')
		b.WriteString(m.kind)
		b.WriteByte('\n')
		b.WriteString(n)
		b.WriteByte(' ')
		b.WriteString(formatValue(m.fn()))
		b.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// escapeHelp escapes backslash and newline, as the text format requires in HELP lines.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
