#!/usr/bin/env bash
# make bench-data: `hdfs dfs -put` and `-get` of one large file at replication 1 and 3,
# beside raw `dd` write and read throughput on the same disk, in the same run
# (docs/bench.md, "Data path").
#
#   scripts/data-bench.sh [DIR]
#
# DIR (default /tmp/hdfsha-data-bench) holds a local HA cluster (3 JournalNodes, 2
# NameNodes, 3 DataNodes, all on 127.0.0.1, so every replica lands on this one disk) and
# the input file. SIZE_MB (1024) sets the file size; SYNC_ON_CLOSE=false runs the DataNodes
# with dfs.datanode.synconclose=false (Hadoop's default: a finalized replica is not
# fsynced). Every figure is MB/s (MiB per second):
#   dd write   dd if=input of=DIR/dd.out bs=1M conv=fdatasync (data on disk when dd ends)
#   dd read    dd if=DIR/dd.out of=/dev/null bs=1M
#   put rN     hdfs dfs -D dfs.replication=N -put input /bench-rN (ends when the file is
#              closed: every replica finalized, and fsynced unless SYNC_ON_CLOSE=false)
#   get rN     hdfs dfs -cat /bench-rN >/dev/null (the bytes a -get moves, without writing
#              them to the local disk, as dd read writes to /dev/null); then, untimed,
#              -get and a sha256 comparison with the input
# Writes read the input from the page cache, dd and put alike. Reads start from a cold page cache (sync; echo 3 >/proc/sys/vm/drop_caches) when this
# runs as root, for dd and hdfs alike; otherwise both read warm, and the script says so.
# The ratios put/dd write and get/dd read are the figures docs/bench.md states goals for.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/hdfsha-data-bench}
SIZE_MB=${SIZE_MB:-1024}
source scripts/lib/local-ha.sh
make -s build
rm -rf "$DIR"
mkdir -p "$DIR"
trap 'ha_stop_all' EXIT
HA_DATANODES=3
HA_EXTRA_PROPS=("dfs.replication=1" "dfs.datanode.synconclose=${SYNC_ON_CLOSE:-true}")
ha_init "$DIR/cluster" bin/hdfs
ha_up
ha_active 60 >/dev/null

echo "input: $SIZE_MB MiB of random bytes in $DIR/input; dfs.datanode.synconclose=${SYNC_ON_CLOSE:-true}"
head -c $((SIZE_MB << 20)) /dev/urandom >"$DIR/input"
want=$(sha256sum <"$DIR/input")

# secs CMD...: run CMD, print its wall time in seconds.
secs() {
	local t0 t1
	t0=$(ha_now_us)
	"$@" >/dev/null 2>"$DIR/last.err" || { cat "$DIR/last.err" >&2; return 1; }
	t1=$(ha_now_us)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'
}
rate() { awk -v n="$SIZE_MB" -v s="$1" 'BEGIN { printf "%.1f", n / s }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", 100 * a / b }'; }

# cold: drop the page cache if we may.
cold() {
	sync
	if [[ -w /proc/sys/vm/drop_caches ]]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}
if [[ -w /proc/sys/vm/drop_caches ]]; then
	echo "reads start from a cold page cache"
else
	echo "not root: reads are from a warm page cache (dd and hdfs alike)"
fi

ddw=$(secs dd if="$DIR/input" of="$DIR/dd.out" bs=1M conv=fdatasync)
cold
ddr=$(secs dd if="$DIR/dd.out" of=/dev/null bs=1M)
rm -f "$DIR/dd.out"
printf '%-10s %8s MB/s\n' "dd write" "$(rate "$ddw")" "dd read" "$(rate "$ddr")"
for r in 1 3; do
	cat "$DIR/input" >/dev/null # the input comes from the page cache, as for dd write
	put=$(secs ha_hdfs dfs -D "dfs.replication=$r" -put "$DIR/input" "/bench-r$r")
	cold
	get=$(secs ha_hdfs dfs -cat "/bench-r$r")
	ha_hdfs dfs -get "/bench-r$r" "$DIR/get.out"
	got=$(sha256sum <"$DIR/get.out")
	rm -f "$DIR/get.out"
	[[ $got == "$want" ]] || { echo "get r$r returned different bytes" >&2; exit 1; }
	printf '%-10s %8s MB/s  (%s%% of dd write)\n' "put r$r" "$(rate "$put")" "$(pct "$ddw" "$put")"
	printf '%-10s %8s MB/s  (%s%% of dd read)\n' "get r$r" "$(rate "$get")" "$(pct "$ddr" "$get")"
	ha_hdfs dfs -rm -skipTrash "/bench-r$r" >/dev/null 2>&1 || true
done
