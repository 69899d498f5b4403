#!/usr/bin/env bash
# make demo: a local HA cluster (3 JournalNodes, 2 NameNodes on 127.0.0.1) and a manual
# failover after a crash. docs/demo.md walks through it and its output.
#
#   HDFS=path/to/hdfs   the binary (default bin/hdfs, which 'make demo' builds)
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

echo "hdfsha demo: NameNode HA on this machine"
echo "Cluster directory: $dir"

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

ok=1
step "Done: no acknowledged write was lost across a kill -9 and two failovers. Stopping the cluster."
