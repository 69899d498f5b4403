#!/usr/bin/env bash
# make demo: a local HA cluster (ZooKeeper, 3 JournalNodes, 2 NameNodes with a ZKFC each,
# 3 DataNodes, on 127.0.0.1): a file is put and checked with fsck, a DataNode is killed
# and its blocks re-replicated, the active NameNode is killed and the other takes over
# automatically, and the file reads back unchanged.
# docs/demo.md walks through it and its output.
#
#   HDFS=path/to/hdfs   the binary (default bin/hdfs, which 'make demo' builds)
#   DEMO_MODE=manual    the manual-failover walkthrough instead: no ZooKeeper or ZKFC, the
#                       operator fails over with hdfs haadmin after the crash
#   DEMO_DIRS=N         how many directories to write (default 100)
#   DEMO_KEEP=1         keep the cluster directory after a successful run
#
# Everything lives under one temporary directory, printed first. Every process the demo
# starts is stopped when it exits: on success, on failure and on Ctrl-C. After a failure
# the directory is kept with the daemons' logs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

HDFS=${HDFS:-$repo/bin/hdfs}
DEMO_DIRS=${DEMO_DIRS:-100}
DEMO_MODE=${DEMO_MODE:-auto}
[[ $DEMO_MODE == auto || $DEMO_MODE == manual ]] || { echo "demo: DEMO_MODE is auto or manual, not $DEMO_MODE" >&2; exit 2; }
export HADOOP_USER_NAME=${HADOOP_USER_NAME:-$(id -un)}
[[ -x $HDFS ]] || { echo "demo: $HDFS not found; run 'make build' first" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/hdfsha-demo.XXXXXX")
ok=0
finish() {
	local status=$?
	trap - EXIT INT TERM
	ha_stop_all
	if ((ok)) && [[ ${DEMO_KEEP:-} != 1 ]]; then
		rm -rf "$dir"
		echo "Every daemon stopped; $dir removed."
	else
		if ((!ok)); then
			echo
			echo "demo did not finish (status $status). The last lines of each daemon log:" >&2
			ha_log_tail 20 >&2 || true
		fi
		echo "The cluster's files are kept in $dir (remove it with: rm -rf $dir)"
	fi
	exit "$status"
}
trap finish EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM

bold='' plain=''
if [[ -t 1 ]]; then
	bold=$(tput bold 2>/dev/null || true)
	plain=$(tput sgr0 2>/dev/null || true)
fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# show runs hdfs with the cluster's client configuration, printing the command first.
show() {
	echo "\$ hdfs $*"
	ha_hdfs "$@"
}
fail() {
	echo "demo: $*" >&2
	exit 1
}
expect_state() {
	local nn=$1 want=$2 got
	echo "\$ hdfs haadmin -getServiceState $nn"
	got=$(ha_hdfs haadmin -getServiceState "$nn") || fail "haadmin -getServiceState $nn failed"
	echo "$got"
	[[ $got == "$want" ]] || fail "$nn is $got, expected $want"
}
# show_head N ARGS: show, keeping the first N lines of the output; the whole output is
# left in $out.
show_head() {
	local n=$1
	shift
	echo "\$ hdfs $*"
	out=$(ha_hdfs "$@") || fail "hdfs $* failed"
	head -n "$n" <<<"$out"
	(($(wc -l <<<"$out") <= n)) || echo "..."
}
# show_as_quiet ID PATTERN ARGS: show_as, printing only the output lines matching PATTERN
# unless the command fails.
show_as_quiet() {
	local id=$1 pattern=$2 out
	shift 2
	echo "\$ hdfs $*        # on $id"
	if ! out=$(ha_hdfs_as "$id" "$@" 2>&1); then
		echo "$out"
		fail "hdfs $* failed on $id"
	fi
	grep -E "$pattern" <<<"$out" || true
}
# count_dirs: the directories in the listing show_head left in $out.
count_dirs() {
	grep -c '^d' <<<"$out" || true
}

# write_dirs: mkdir -p of DEMO_DIRS directories under /demo, then list them.
write_dirs() {
	local paths=() i
	for ((i = 1; i <= DEMO_DIRS; i++)); do paths+=("$(printf '/demo/dir-%04d' "$i")"); done
	echo "\$ hdfs dfs -mkdir -p /demo/dir-0001 ... /demo/dir-$(printf '%04d' "$DEMO_DIRS")"
	ha_hdfs dfs -mkdir -p "${paths[@]}"
	show_head 4 dfs -ls /demo
	before=$(count_dirs)
	echo "$before directories under /demo, each acknowledged only once a JournalNode majority had it"
}

# wait_report TEXT ARGS: wait up to 60 s until `dfsadmin -report ARGS` prints TEXT; the
# report is left in $out.
wait_report() {
	local text=$1 i
	shift
	echo "\$ hdfs dfsadmin -report $*        # until it shows \"$text\""
	for ((i = 0; i < 600; i++)); do
		out=$(ha_hdfs dfsadmin -report "$@" 2>/dev/null) || out=""
		[[ $out == *"$text"* ]] && return 0
		sleep 0.1
	done
	fail "dfsadmin -report $* never showed \"$text\""
}

# fsck_show: fsck of /demo/data.bin with blocks and locations, left in $out, and its
# block lines and status printed.
fsck_show() {
	echo "\$ hdfs fsck /demo/data.bin -files -blocks -locations"
	out=$(ha_hdfs fsck /demo/data.bin -files -blocks -locations 2>/dev/null) || true
	grep -E '^/demo|^[0-9]+\. |Status:|Under-replicated|The filesystem' <<<"$out" | sed 's/^/    /'
}

# wait_follow NEW OLD: wait until standby OLD has applied every edit active NEW wrote.
wait_follow() {
	local want got i
	want=$(ha_txid "$1") || fail "cannot read $1's /jmx"
	for ((i = 0; i < 100; i++)); do
		got=$(ha_txid "$2") || got=0
		((got >= want)) && break
		sleep 0.1
	done
	echo "$1 (active) wrote up to transaction $want; $2 (standby) has applied up to $got (from /jmx, LastWrittenTransactionId)"
	((got >= want)) || fail "$2 does not follow $1's edits"
}

auto_demo() {
	step "1. Configuration: nameservice mycluster, ZooKeeper, 3 JournalNodes, NameNodes nn1 and nn2 with a ZKFC each, 3 DataNodes, free 127.0.0.1 ports"
	ha_install_zookeeper
	HA_AUTO=1
	HA_DATANODES=3
	# Two replicas of 1 MiB blocks; heartbeats every 300 ms and a 500 ms recheck, so a
	# dead DataNode is declared after 2 x 0.5 s + 10 x 0.3 s = 4 s (Hadoop: 10 min 30 s).
	HA_EXTRA_PROPS=("dfs.replication=2" "dfs.blocksize=1048576" "dfs.heartbeat.interval=300ms"
		"dfs.namenode.heartbeat.recheck-interval=500" "dfs.namenode.redundancy.interval.seconds=300ms")
	ha_init "$dir" "$HDFS"
	echo "Client configuration in $dir/conf (each daemon has its own copy under $dir/<daemon>/conf)."
	show getconf -namenodes
	show getconf -confKey dfs.ha.automatic-failover.enabled
	show getconf -confKey ha.zookeeper.quorum
	show getconf -confKey dfs.namenode.shared.edits.dir
	show getconf -confKey dfs.ha.fencing.methods
	show getconf -confKey dfs.replication

	step "2. Start ZooKeeper (Debian's zookeeper package) and the JournalNodes"
	ha_start zk
	echo "ZooKeeper serving on $(ha_rpc zk) (log: $dir/logs/zk.log)"
	for jn in jn1 jn2 jn3; do
		ha_start "$jn"
		echo "$jn listening on $(ha_rpc "$jn") (log: $dir/logs/$jn.log)"
	done

	step "3. Format nn1 (its name directory and the journal), start it, bootstrap nn2 from it"
	show_as_quiet nn1 'formatted' namenode -format -nonInteractive -clusterid CID-demo
	ha_start nn1
	echo "nn1 started on $(ha_rpc nn1)"
	show_as_quiet nn2 'bootstrap|ID:|address|Block pool|Cluster|Layout|====' namenode -bootstrapStandby -nonInteractive
	ha_start nn2
	echo "nn2 started on $(ha_rpc nn2)"
	show haadmin -getAllServiceState

	step "4. Create the election's znode and start a ZKFC beside each NameNode: they elect the active"
	show_as_quiet nn1 'Successfully created|znode' zkfc -formatZK -nonInteractive
	ha_start zkfc1
	echo "zkfc1 (for nn1) listening on $(ha_rpc zkfc1) (log: $dir/logs/zkfc1.log)"
	ha_start zkfc2
	echo "zkfc2 (for nn2) listening on $(ha_rpc zkfc2) (log: $dir/logs/zkfc2.log)"
	active=$(ha_active 60) || fail "no NameNode became active"
	other=nn$((${active#nn} % 2 + 1))
	show haadmin -getAllServiceState
	echo "The ZKFC that won the election made $active active; in its log:"
	grep -h 'Successfully transitioned' "$dir/logs/zkfc${active#nn}.log" | sed 's/^/    /'

	step "5. Write $DEMO_DIRS directories through hdfs://mycluster"
	write_dirs

	step "6. Start three DataNodes; they report to both NameNodes"
	local dn
	for dn in dn1 dn2 dn3; do
		ha_start "$dn"
		echo "$dn serving blocks on $(ha_rpc "$dn") (log: $dir/logs/$dn.log)"
	done
	wait_report "Live datanodes (3):" -live
	grep -E '^(Live datanodes|Name:)' <<<"$out" | sed 's/^/    /'

	step "7. Put a 3.5 MiB file (4 blocks of 1 MiB, 2 replicas each) and check it with fsck"
	head -c $((3584 * 1024)) /dev/urandom >"$dir/data.bin"
	want_sum=$(sha256sum <"$dir/data.bin")
	show dfs -put "$dir/data.bin" /demo/data.bin
	fsck_show
	grep -q 'is HEALTHY' <<<"$out" || fail "fsck does not say HEALTHY"

	step "8. Kill -9 a DataNode holding replicas; the NameNode notices and re-replicates"
	local victim addr t0 t
	for dn in dn1 dn2 dn3; do
		addr=$(ha_rpc "$dn")
		if grep -q "DatanodeInfoWithStorage\[$addr," <<<"$out"; then victim=$dn; break; fi
	done
	[[ -n ${victim:-} ]] || fail "fsck names no DataNode"
	echo "\$ kill -9 $(ha_pid "$victim")        # $victim, $addr"
	t0=$(ha_now_us)
	ha_kill9 "$victim"
	echo "\$ hdfs dfs -cat /demo/data.bin | sha256sum        # right away: the reader skips the dead replica"
	[[ $(ha_hdfs dfs -cat /demo/data.bin 2>/dev/null | sha256sum) == "$want_sum" ]] || fail "the file differs with $victim dead"
	echo "same bytes as the original"
	wait_report "Dead datanodes (1):" -dead
	t=$(($(ha_now_us) - t0))
	printf '%s declared dead %d.%03d s after the kill:\n' "$victim" $((t / 1000000)) $((t / 1000 % 1000))
	grep -E '^(Dead datanodes|Name:)' <<<"$out" | sed 's/^/    /'
	local i
	for ((i = 0; i < 300; i++)); do
		out=$(ha_hdfs fsck /demo/data.bin -files -blocks -locations 2>/dev/null) || true
		[[ $out == *"is HEALTHY"* && $out != *"$addr,"* && $out != *"Under-replicated blocks:	"[1-9]* ]] && break
		sleep 0.1
	done
	t=$(($(ha_now_us) - t0))
	printf 'Every block has 2 live replicas again, none on %s, %d.%03d s after the kill:\n' "$victim" $((t / 1000000)) $((t / 1000 % 1000))
	fsck_show
	[[ $out == *"is HEALTHY"* && $out != *"$addr,"* ]] || fail "the blocks were not re-replicated"

	step "9. Crash the active: kill -9 $active (its ZKFC stays up and sees it die)"
	local pid
	pid=$(ha_pid "$active")
	echo "\$ kill -9 $pid"
	t0=$(ha_now_us)
	kill -9 "$pid"
	echo "\$ hdfs dfs -mkdir -p /demo/after-failover        # repeated until acknowledged"
	until ha_hdfs dfs -mkdir -p /demo/after-failover 2>/dev/null; do :; done
	t=$(($(ha_now_us) - t0))
	ha_gone "$active" "$pid"
	expect_state "$other" active
	printf 'Automatic failover: %s became active and acknowledged a write %d.%03d s after the kill -9 of %s.\n' \
		"$other" $((t / 1000000)) $((t / 1000 % 1000)) "$active"
	echo "What the ZKFCs logged:"
	grep -hE 'entered state: SERVICE_NOT_RESPONDING|Quitting master election' "$dir/logs/zkfc${active#nn}.log" | sed 's/^/    /'
	grep -hE 'Should fence|Fencing successful|Successfully transitioned' "$dir/logs/zkfc${other#nn}.log" | tail -n 3 | sed 's/^/    /'
	echo "fence.sh was called with Hadoop's \$target_* environment:"
	sed 's/^/    /' "$dir/fence.log" 2>/dev/null || fail "the fencing script did not run"

	step "10. The data is still there, served by $other"
	show_head 4 dfs -ls /demo
	after=$(($(count_dirs) - 1)) # without after-failover
	echo "$after directories under /demo (before the crash: $before)"
	[[ $after == "$before" ]] || fail "expected $before directories, found $after"
	show dfs -ls -d /demo/after-failover
	show dfs -get /demo/data.bin "$dir/data.copy"
	[[ $(sha256sum <"$dir/data.copy") == "$want_sum" ]] || fail "the file read back differs"
	echo "sha256 of the copy equals the original's: the file read back unchanged after a DataNode loss and a NameNode failover"

	step "11. $active comes back as a standby and follows $other's edits"
	local healthy i
	healthy=$(ha_healthy_count "zkfc${active#nn}")
	ha_start "$active"
	for ((i = 0; i < 600; i++)); do
		[[ $(ha_state "$active") == standby ]] && (($(ha_healthy_count "zkfc${active#nn}") > healthy)) && break
		sleep 0.05
	done
	expect_state "$active" standby
	echo "zkfc${active#nn} sees it healthy again and rejoins the election:"
	grep -h 'entered state: SERVICE_HEALTHY' "$dir/logs/zkfc${active#nn}.log" | tail -n 1 | sed 's/^/    /'
	show dfs -mkdir /demo/while-$active-standby
	wait_follow "$other" "$active"

	step "12. A graceful failover back to $active, through the ZKFCs"
	show haadmin -failover "$other" "$active"
	show haadmin -getAllServiceState
	expect_state "$active" active
	expect_state "$other" standby
	show dfs -ls -d /demo/after-failover "/demo/while-$active-standby"
}

manual_demo() {
	step "1. Configuration: nameservice mycluster, 3 JournalNodes, NameNodes nn1 and nn2, free 127.0.0.1 ports"
	ha_init "$dir" "$HDFS"
	echo "Client configuration in $dir/conf (each daemon has its own copy under $dir/<daemon>/conf)."
	show getconf -namenodes
	show getconf -nnRpcAddresses
	show getconf -confKey dfs.namenode.shared.edits.dir
	show getconf -confKey dfs.ha.fencing.methods

	step "2. Start the JournalNodes (the quorum that stores the shared edit log)"
	for jn in jn1 jn2 jn3; do
		ha_start "$jn"
		echo "$jn listening on $(ha_rpc "$jn") (log: $dir/logs/$jn.log)"
	done

	step "3. Format nn1 (its name directory and the journal), start it, bootstrap nn2 from it"
	show_as_quiet nn1 'formatted' namenode -format -nonInteractive -clusterid CID-demo
	ha_start nn1
	echo "nn1 started on $(ha_rpc nn1)"
	show_as_quiet nn2 'bootstrap|ID:|address|Block pool|Cluster|Layout|====' namenode -bootstrapStandby -nonInteractive
	ha_start nn2
	echo "nn2 started on $(ha_rpc nn2)"

	step "4. Both NameNodes start in standby: nobody writes until an operator (or ZKFC) chooses"
	expect_state nn1 standby
	expect_state nn2 standby

	step "5. Make nn1 active and write $DEMO_DIRS directories through hdfs://mycluster"
	show haadmin -transitionToActive nn1
	expect_state nn1 active
	paths=()
	for ((i = 1; i <= DEMO_DIRS; i++)); do paths+=("$(printf '/demo/dir-%04d' "$i")"); done
	echo "\$ hdfs dfs -mkdir -p /demo/dir-0001 ... /demo/dir-$(printf '%04d' "$DEMO_DIRS")"
	ha_hdfs dfs -mkdir -p "${paths[@]}"
	show_head 4 dfs -ls /demo
	before=$(count_dirs)
	echo "$before directories under /demo, each acknowledged only once a JournalNode majority had it"

	step "6. Crash the active: kill -9 nn1"
	echo "\$ kill -9 $(ha_pid nn1)"
	ha_kill9 nn1
	echo "\$ hdfs haadmin -getServiceState nn1"
	if ha_hdfs haadmin -getServiceState nn1; then
		fail "nn1 still answers after kill -9"
	else
		echo "(exit status $?: nn1 is gone)"
	fi

	step "7. Fail over to nn2; nn1 is fenced first with dfs.ha.fencing.methods = shell(fence.sh)"
	show haadmin -failover nn1 nn2
	echo "fence.sh was called with Hadoop's \$target_* environment:"
	sed 's/^/    /' "$dir/fence.log" 2>/dev/null || fail "the fencing script did not run"
	expect_state nn2 active

	step "8. The data is still there, served by nn2"
	echo "(The client tries the NameNode it knows first; its INFO line shows it finding nn1 dead and moving to nn2.)"
	show_head 4 dfs -ls /demo
	after=$(count_dirs)
	echo "$after directories under /demo (before the crash: $before)"
	[[ $after == "$before" ]] || fail "expected $before directories, found $after"
	show dfs -mkdir /demo/after-failover
	show dfs -ls -d /demo/after-failover

	step "9. nn1 comes back as a standby and follows nn2's edits"
	ha_start nn1
	expect_state nn1 standby
	show dfs -mkdir /demo/while-nn1-standby
	want=$(ha_txid nn2) || fail "cannot read nn2's /jmx"
	for ((i = 0; i < 100; i++)); do
		got=$(ha_txid nn1) || got=0
		((got >= want)) && break
		sleep 0.1
	done
	echo "nn2 (active) wrote up to transaction $want; nn1 (standby) has applied up to $got (from /jmx, LastWrittenTransactionId)"
	((got >= want)) || fail "nn1 does not follow nn2's edits"
	show haadmin -failover nn2 nn1
	show haadmin -getAllServiceState
	expect_state nn1 active
	expect_state nn2 standby
	show dfs -ls -d /demo/after-failover /demo/while-nn1-standby
}

if [[ $DEMO_MODE == manual ]]; then
	echo "hdfsha demo: NameNode HA on this machine, manual failover"
else
	echo "hdfsha demo: NameNode HA on this machine, automatic failover with ZooKeeper and ZKFC"
fi
echo "Cluster directory: $dir"
if [[ $DEMO_MODE == manual ]]; then
	manual_demo
else
	auto_demo
fi

ok=1
if [[ $DEMO_MODE == manual ]]; then
	step "Done: no acknowledged write was lost across a kill -9 and two failovers. Stopping the cluster."
else
	step "Done: no acknowledged write was lost across a DataNode loss, a kill -9 of the active NameNode and two failovers. Stopping the cluster."
fi
