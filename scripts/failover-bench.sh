#!/usr/bin/env bash
# failover-bench.sh TRIALS: how long automatic failover takes on a local cluster.
#
# Lays out a local automatic-failover cluster (ZooKeeper, 3 JournalNodes, nn1 and nn2
# with a ZKFC each, on free 127.0.0.1 ports under one temp dir; scripts/lib/local-ha.sh),
# then TRIALS times (default 20):
#
#   1. kill -9 the active NameNode (WHOLE_HOST=1: its ZKFC too, in the same kill);
#   2. run `hdfs dfs -mkdir -p /bench/tN` until one exits 0: the measured time runs from
#      just before the kill to that exit, so it includes the CLI's own start-up and its
#      client's failover backoff (dfs.client.failover.sleep.base.millis=10, max 50);
#   3. check the other NameNode is the active one;
#   4. restart what was killed and wait until the NameNode is standby and its ZKFC has
#      logged it SERVICE_HEALTHY again, so the next trial starts from a whole cluster.
#
# It prints each trial and then p50, p99 (nearest rank) and max, plus the time of one
# plain mkdir with no failover (the CLI's floor). docs/bench.md has measured figures.
#
#   HDFS=path/to/hdfs        the binary (default bin/hdfs; 'make failover-bench' builds it)
#   WHOLE_HOST=1             kill the active's NameNode and its ZKFC (takeover after the
#                            ZooKeeper session timeout, HA_ZK_SESSION_MS, default 2000)
#   BENCH_KEEP=1             keep the cluster directory
#
# Every process it starts is stopped on exit, failure and Ctrl-C.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

TRIALS=${1:-20}
[[ $TRIALS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 TRIALS (a positive number)" >&2; exit 2; }
HDFS=${HDFS:-$repo/bin/hdfs}
WHOLE_HOST=${WHOLE_HOST:-0}
[[ -x $HDFS ]] || { echo "failover-bench: $HDFS not found; run 'make build' first" >&2; exit 1; }
export HADOOP_USER_NAME=${HADOOP_USER_NAME:-$(id -un)}

dir=$(mktemp -d "${TMPDIR:-/tmp}/hdfsha-failover-bench.XXXXXX")
ok=0
finish() {
	local status=$?
	trap - EXIT INT TERM
	ha_stop_all
	if ((ok)) && [[ ${BENCH_KEEP:-} != 1 ]]; then
		rm -rf "$dir"
	else
		((ok)) || { echo "failover-bench did not finish (status $status)" >&2; ha_log_tail 20 >&2 || true; }
		echo "The cluster's files are kept in $dir" >&2
	fi
	exit "$status"
}
trap finish EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM
fail() {
	echo "failover-bench: $*" >&2
	exit 1
}

HA_AUTO=1
HA_EXTRA_PROPS=(
	"dfs.client.failover.sleep.base.millis=10"
	"dfs.client.failover.sleep.max.millis=50"
	"dfs.client.failover.max.attempts=500"
)
ha_init "$dir" "$HDFS"
ha_up || fail "the cluster did not come up"
mode="kill -9 of the active NameNode (its ZKFC stays up)"
((WHOLE_HOST)) && mode="kill -9 of the active NameNode and its ZKFC (session timeout ${HA_ZK_SESSION_MS} ms)"
echo "failover-bench: $TRIALS trials, $mode; cluster in $dir"

ha_hdfs dfs -mkdir -p /bench || fail "mkdir /bench failed"
t0=$(ha_now_us)
ha_hdfs dfs -mkdir -p /bench/floor || fail "mkdir /bench/floor failed"
floor=$(($(ha_now_us) - t0))

ms() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
times=()
for ((n = 1; n <= TRIALS; n++)); do
	active=$(ha_active 60) || fail "trial $n: no active NameNode"
	i=${active#nn}
	other=nn$((i % HA_NAMENODES + 1))
	victims=("$active")
	((WHOLE_HOST)) && victims+=("zkfc$i")
	pids=()
	for v in "${victims[@]}"; do pids+=("$(ha_pid "$v")"); done
	healthy=$(ha_healthy_count "zkfc$i")

	t0=$(ha_now_us)
	kill -9 "${pids[@]}"
	until ha_hdfs dfs -mkdir -p "/bench/t$n" 2>/dev/null; do :; done
	t=$(($(ha_now_us) - t0))

	[[ $(ha_state "$other") == active ]] || fail "trial $n: $other is $(ha_state "$other") after the write, expected active"
	times+=("$t")
	printf 'trial %2d: %s killed, %s active, write acknowledged after %s s\n' "$n" "${victims[*]}" "$other" "$(ms "$t")"

	for ((k = 0; k < ${#victims[@]}; k++)); do ha_gone "${victims[k]}" "${pids[k]}"; done
	ha_start "$active" || fail "trial $n: restarting $active failed"
	if ((WHOLE_HOST)); then
		ha_start "zkfc$i" || fail "trial $n: restarting zkfc$i failed"
	fi
	for ((w = 0; w < 600; w++)); do
		[[ $(ha_state "$active") == standby ]] && (($(ha_healthy_count "zkfc$i") > healthy)) && break
		sleep 0.05
	done
	((w < 600)) || fail "trial $n: $active is $(ha_state "$active") or zkfc$i has not seen it healthy after 30s"
done

mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
rank() { # nearest rank: the ceil(p*N/100)-th smallest
	local r=$(((($1 * TRIALS) + 99) / 100))
	((r < 1)) && r=1
	echo "${sorted[r - 1]}"
}
echo
echo "failover-bench: $mode, $TRIALS trials, $(nproc) CPUs"
echo "  kill -9 to first acknowledged write: p50 $(ms "$(rank 50)") s, p99 $(ms "$(rank 99)") s, max $(ms "${sorted[TRIALS - 1]}") s"
echo "  (one hdfs dfs -mkdir with no failover takes $(ms "$floor") s on this machine)"
ok=1
