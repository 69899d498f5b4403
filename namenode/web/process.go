package web

import (
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// registerProcessMetrics publishes the process figures every Prometheus Go exporter has, so
// NameNode memory and goroutines can be watched without extra tooling (the issue bounds the
// NameNode's RSS).
func (s *Server) registerProcessMetrics() {
	runtimeGauge := func(name, help, sample string, kind string) {
		fn := func() float64 {
			samples := []metrics.Sample{{Name: sample}}
			metrics.Read(samples)
			switch samples[0].Value.Kind() {
			case metrics.KindUint64:
				return float64(samples[0].Value.Uint64())
			case metrics.KindFloat64:
				return samples[0].Value.Float64()
			}
			return nan()
		}
		s.register(name, help, kind, fn)
	}
	runtimeGauge("go_goroutines", "Number of goroutines that currently exist.", "/sched/goroutines:goroutines", "gauge")
	runtimeGauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", "/memory/classes/heap/objects:bytes", "gauge")
	runtimeGauge("go_memstats_sys_bytes", "Bytes of memory obtained from the OS by the Go runtime.", "/memory/classes/total:bytes", "gauge")
	runtimeGauge("go_gc_cycles_total", "Completed GC cycles.", "/gc/cycles/total:gc-cycles", "counter")
	s.register("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", residentBytes)
}

// residentBytes reads the resident set size from /proc/self/statm (Linux); NaN elsewhere.
func residentBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return nan()
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return nan()
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return nan()
	}
	return float64(pages) * float64(os.Getpagesize())
}

func nan() float64 { return math.NaN() }
