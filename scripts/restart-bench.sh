#!/usr/bin/env bash
# make bench-restart: NameNode restart time and peak RSS on a namespace of
# ~1,000,000 inodes (docs/bench.md, "NameNode restart").
#
#   scripts/restart-bench.sh [DIR]
#
# DIR (default /tmp/hdfsha-restart-bench) is built once (a few minutes:
# image of HDFSHA_RESTART_DIRS x HDFSHA_RESTART_FILES closed files, then
# HDFSHA_RESTART_REPLAY_DIRS x HDFSHA_RESTART_REPLAY_FILES files in the edit
# log after it) and reused; delete it to rebuild with another shape. Then the
# built `hdfs namenode` is started HDFSHA_RESTART_RUNS (3) times from a
# SIGTERM'd state, timing exec -> first getFileInfo("/"), and reading VmHWM.
# Set PROFILE=1 to also run the in-process BenchmarkRestart with a CPU
# profile (DIR/restart.cpu.pprof; `go tool pprof -top` it).
set -euo pipefail
cd "$(dirname "$0")/.."
export HDFSHA_RESTART_DIR="${1:-${HDFSHA_RESTART_DIR:-/tmp/hdfsha-restart-bench}}"
mkdir -p bin
go build -o bin/hdfs ./cmd/hdfs
export HDFSHA_HDFS_BIN="$PWD/bin/hdfs"
go test -count=1 -timeout 60m -run '^(TestRestartProcess|TestRestartPhases)$' -v ./namenode/ |
  grep -E 'restart_bench_test|^(ok|FAIL|---)' || true
if [ "${PROFILE:-0}" = 1 ]; then
  go test -count=1 -timeout 60m -run '^$' -bench '^BenchmarkRestart$' -benchtime 3x \
    -cpuprofile "$HDFSHA_RESTART_DIR.cpu.pprof" -o "$HDFSHA_RESTART_DIR.namenode.test" ./namenode/
  go tool pprof -top -nodecount 30 "$HDFSHA_RESTART_DIR.namenode.test" "$HDFSHA_RESTART_DIR.cpu.pprof" | head -40
fi
