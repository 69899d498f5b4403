#!/usr/bin/env bash
# make bench-mirror: the remote metadata mirror's lag under sustained writes
# (docs/bench.md, "Mirror lag"; docs/mirror.md).
#
#   scripts/mirror-bench.sh [DIR]
#
# DIR (default: a new temp dir) holds a local HA cluster (3 JournalNodes, nn1 active and
# nn2 standby, on 127.0.0.1; scripts/lib/local-ha.sh) whose active mirrors to a file sink
# in DIR/mirror (namespace.mirror.uri=file://DIR/mirror). For DURATION seconds (25) two
# loops of `hdfs bench nnthroughput` write as fast as they can: one -op create, one
# -op mkdirs, each with THREADS client threads (16; each its own RPC connection) and
# FILES operations per run (5000), so the NameNode sees 2 x THREADS concurrent clients.
#
# While they run, the MetaStatus bean of the active (/jmx, Hadoop:service=NameNode,
# name=MetaStatus) is sampled every SAMPLE_MS (200): LagTxns and LagSeconds. At the end
# it prints:
#   - the shipper's own per-batch lag percentiles, LagP50Millis and LagP99Millis (for
#     each shipped batch: sink acknowledgement time minus the time its first txid was
#     seen committed; a bounded window of the latest batches);
#   - the sampled lag (age of the oldest committed but unshipped edit): p50, p99, max;
#   - the write rate (txids per second) and how long the mirror took to hold every
#     committed txid (_synced=1) after the writers stopped.
# The goal is p99 <= 1 s. Every process it starts is stopped on exit, failure and Ctrl-C.
#
#   HDFS=path/to/hdfs   the binary (default bin/hdfs, built by 'make bench-mirror')
#   MIRROR_OFF=1        the same load with no mirror configured: the write rate alone,
#                       to compare (the mirror must not slow client writes)
#   BENCH_KEEP=1        keep DIR afterwards
#   extra sink tunables: MIRROR_PROPS="namespace.mirror.batch.max-ops=500 ..."
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

HDFS=${HDFS:-$repo/bin/hdfs}
DURATION=${DURATION:-25}
THREADS=${THREADS:-16}
FILES=${FILES:-5000}
SAMPLE_MS=${SAMPLE_MS:-200}
[[ -x $HDFS ]] || { echo "mirror-bench: $HDFS not found; run 'make build' first" >&2; exit 1; }
for v in DURATION THREADS FILES SAMPLE_MS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "mirror-bench: $v must be a positive number, not '${!v}'" >&2; exit 2; }
done
export HADOOP_USER_NAME=${HADOOP_USER_NAME:-$(id -un)}

dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/hdfsha-mirror-bench.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ok=0
loaders=()
finish() {
	local status=$?
	trap - EXIT INT TERM
	local p
	for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${loaders[@]}"; do wait "$p" 2>/dev/null || true; done
	ha_stop_all
	if ((ok)) && [[ ${BENCH_KEEP:-} != 1 ]]; then
		rm -rf "$dir"
	else
		((ok)) || { echo "mirror-bench did not finish (status $status)" >&2; ha_log_tail 20 >&2 || true; }
		echo "The cluster's files are kept in $dir" >&2
	fi
	exit "$status"
}
trap finish EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM
fail() {
	echo "mirror-bench: $*" >&2
	exit 1
}

# bean_get NN KEY...: the values of KEYs in NameNode NN's MetaStatus bean, one a line.
bean_get() {
	local addr resp key v
	addr=$(ha_http "$1") || return
	shift
	resp=$(
		exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
		printf 'GET /jmx?qry=Hadoop:service=NameNode,name=MetaStatus HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
		cat <&3
	) || return
	for key in "$@"; do
		v=$(grep -o "\"$key\" *: *[-0-9.eE+]*" <<<"$resp") || { ha_die "MetaStatus bean of $addr has no $key"; return; }
		echo "${v##*[ :]}"
	done
}

MIRROR_OFF=${MIRROR_OFF:-0}
HA_EXTRA_PROPS=()
if [[ $MIRROR_OFF != 1 ]]; then
	HA_EXTRA_PROPS=("namespace.mirror.uri=file://$dir/mirror")
	# shellcheck disable=SC2206
	[[ -n ${MIRROR_PROPS:-} ]] && HA_EXTRA_PROPS+=($MIRROR_PROPS)
fi
ha_init "$dir/cluster" "$HDFS"
ha_up || fail "the cluster did not come up"
active=$(ha_active 60) || fail "no active NameNode"
if [[ $MIRROR_OFF == 1 ]]; then
	echo "mirror-bench: ${DURATION}s of create and mkdirs, 2 x $THREADS client threads, against $active; no mirror (MIRROR_OFF=1)"
else
	bean_get "$active" LastMirroredTxId >/dev/null || fail "the active has no MetaStatus bean (is the shipper built in?)"
	echo "mirror-bench: ${DURATION}s of create and mkdirs, 2 x $THREADS client threads, against $active; sink file://$dir/mirror"
fi

# load OP: nnthroughput runs of OP back to back until DURATION has passed.
load() {
	local op=$1 end=$((SECONDS + DURATION)) n=0
	while ((SECONDS < end)); do
		ha_hdfs bench nnthroughput -op "$op" -threads "$THREADS" -files "$FILES" >>"$dir/load-$op.log" 2>&1 ||
			{ echo "mirror-bench: nnthroughput -op $op failed; see $dir/load-$op.log" >&2; return 1; }
		n=$((n + 1))
	done
	echo "$n" >"$dir/load-$op.runs"
}

tx0=$(ha_txid "$active") || fail "no txid from $active"
t0=$(ha_now_us)
load create &
loaders+=($!)
load mkdirs &
loaders+=($!)

# Sample while the loaders run.
samples=()
maxtxns=0
sleep_s=$(printf '%d.%03d' $((SAMPLE_MS / 1000)) $((SAMPLE_MS % 1000)))
while kill -0 "${loaders[0]}" 2>/dev/null || kill -0 "${loaders[1]}" 2>/dev/null; do
	if [[ $MIRROR_OFF != 1 ]] && vals=$(bean_get "$active" LagTxns LagSeconds 2>/dev/null); then
		mapfile -t v <<<"$vals"
		samples+=("$(awk -v s="${v[1]}" 'BEGIN { printf "%d", s * 1000 }')")
		((v[0] > maxtxns)) && maxtxns=${v[0]}
	fi
	sleep "$sleep_s"
done
for p in "${loaders[@]}"; do wait "$p" || fail "a load loop failed"; done
loaders=()
t1=$(ha_now_us)
tx1=$(ha_txid "$active") || fail "no txid from $active"
ms() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
txns=$((tx1 - tx0))
elapsed_us=$((t1 - t0))
summary="$(nproc) CPUs, $txns txids in $(ms "$elapsed_us") s ($((txns * 1000000 / elapsed_us)) txids/s), $(cat "$dir/load-create.runs") create and $(cat "$dir/load-mkdirs.runs") mkdirs runs"
if [[ $MIRROR_OFF == 1 ]]; then
	echo
	echo "mirror-bench (no mirror): $summary"
	ok=1
	exit 0
fi

# Catch-up: how long until every committed txid is mirrored.
for ((i = 0; i < 600; i++)); do
	mapfile -t v < <(bean_get "$active" Synced LastCommittedTxId LastMirroredTxId)
	[[ ${v[0]} == 1 && ${v[2]} -ge $tx1 ]] && break
	sleep 0.05
done
((i < 600)) || fail "the mirror did not catch up within 30 s: $(ha_hdfs dfsadmin -metaStatus -detail 2>&1)"
t2=$(ha_now_us)
mapfile -t pct < <(bean_get "$active" LagP50Millis LagP99Millis)

n=${#samples[@]}
((n > 0)) || fail "no lag samples"
mapfile -t sorted < <(printf '%s\n' "${samples[@]}" | sort -n)
rank() { # nearest rank: the ceil(p*N/100)-th smallest
	local r=$(((($1 * n) + 99) / 100))
	((r < 1)) && r=1
	echo "${sorted[r - 1]}"
}
echo
echo "mirror-bench: $summary"
echo "  shipper per-batch lag (MetaStatus LagP50Millis/LagP99Millis): p50 ${pct[0]} ms, p99 ${pct[1]} ms"
echo "  sampled lag every ${SAMPLE_MS} ms ($n samples, age of the oldest unshipped edit): p50 $(rank 50) ms, p99 $(rank 99) ms, max ${sorted[n - 1]} ms; max LagTxns $maxtxns"
echo "  _synced=1 $(ms $((t2 - t1))) s after the writers stopped"
ha_hdfs dfsadmin -metaStatus -detail || true
ok=1
