#!/usr/bin/env bash
# local-cluster.sh: a whole HA cluster on this machine's loopback, for trying hdfsha:
# ZooKeeper (Debian's package, installed if missing), 3 JournalNodes, 2 NameNodes each
# with its ZKFC (automatic failover), and 3 DataNodes.
#
#   scripts/local-cluster.sh start            lay out the cluster if new (configuration on
#                                             free 127.0.0.1 ports), format and bootstrap,
#                                             start every daemon, wait for an active
#                                             NameNode and the DataNodes, print the
#                                             HADOOP_CONF_DIR line and where the logs are
#   scripts/local-cluster.sh stop             stop every daemon (DataNodes, ZKFCs,
#                                             NameNodes, JournalNodes, ZooKeeper)
#   scripts/local-cluster.sh status           each daemon: pid, address, NameNode HA state
#   scripts/local-cluster.sh kill NODE        SIGKILL one daemon (nn1, dn2, jn3, zkfc1, zk)
#   scripts/local-cluster.sh restart NODE     stop NODE (SIGTERM) and start it again
#
# The cluster lives in $LOCAL_CLUSTER_DIR (default /tmp/hdfsha-local-cluster); delete the
# directory after `stop` for a new one. HDFS=path/to/hdfs picks the binary (default:
# bin/hdfs, built with `make build` when missing). The DataNodes store two replicas of
# each block (dfs.replication=2) with 1 MiB blocks, so small files spread over them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

usage() {
	sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
dir=${LOCAL_CLUSTER_DIR:-/tmp/hdfsha-local-cluster}
cmd=${1:-}
node=${2:-}

# daemons lists the cluster's daemons in start order.
daemons() {
	local i
	echo zk
	for ((i = 1; i <= HA_JOURNALNODES; i++)); do echo "jn$i"; done
	for ((i = 1; i <= HA_NAMENODES; i++)); do echo "nn$i"; done
	for ((i = 1; i <= HA_NAMENODES; i++)); do echo "zkfc$i"; done
	for ((i = 1; i <= HA_DATANODES; i++)); do echo "dn$i"; done
}

load() {
	[[ -f $dir/cluster.env ]] || { echo "local-cluster: no cluster in $dir (run: $0 start)" >&2; exit 1; }
	ha_load "$dir"
}

known() {
	local id
	for id in $(daemons); do
		[[ $id == "$1" ]] && return 0
	done
	echo "local-cluster: no daemon $1 (one of: $(daemons | tr '\n' ' '))" >&2
	exit 2
}

case $cmd in
start)
	[[ -z $node ]] || usage
	ha_install_zookeeper
	bin=${HDFS:-$repo/bin/hdfs}
	if [[ ! -x $bin ]]; then
		make -s -C "$repo" build
	fi
	if [[ -f $dir/cluster.env ]]; then
		ha_load "$dir"
	else
		HA_AUTO=1
		HA_DATANODES=3
		HA_EXTRA_PROPS=("dfs.replication=2" "dfs.blocksize=1048576")
		ha_init "$dir" "$bin"
		echo "new cluster laid out in $HA_DIR"
	fi
	ha_up
	active=$(ha_active 60)
	for ((i = 0; i < 300; i++)); do
		report=$(ha_hdfs dfsadmin -report -live 2>/dev/null) || report=""
		[[ $report == *"Live datanodes ($HA_DATANODES):"* ]] && break
		sleep 0.1
	done
	[[ $report == *"Live datanodes ($HA_DATANODES):"* ]] || { ha_die "the DataNodes did not register; see $HA_DIR/logs"; exit 1; }
	echo "cluster up: $active is active, $HA_DATANODES DataNodes live"
	echo
	echo "  export HADOOP_CONF_DIR=$HA_DIR/conf"
	echo "  $HA_BIN dfs -ls /"
	echo
	echo "logs: $HA_DIR/logs/<daemon>.log ($(daemons | tr '\n' ' '))"
	;;
stop)
	[[ -z $node ]] || usage
	load
	ha_stop_all
	echo "stopped; the cluster's data stays in $HA_DIR"
	;;
status)
	[[ -z $node ]] || usage
	load
	for id in $(daemons); do
		if ha_running "$id"; then
			state=""
			[[ $id == nn* ]] && state=$(ha_state "$id")
			printf '%-6s pid %-7s %-21s %s\n' "$id" "$(ha_pid "$id")" "$(ha_rpc "$id")" "$state"
		else
			printf '%-6s stopped\n' "$id"
		fi
	done
	;;
kill)
	[[ -n $node ]] || usage
	load
	known "$node"
	ha_running "$node" || { echo "local-cluster: $node is not running" >&2; exit 1; }
	ha_kill9 "$node"
	echo "killed $node (SIGKILL)"
	;;
restart)
	[[ -n $node ]] || usage
	load
	known "$node"
	ha_stop "$node"
	ha_start "$node"
	echo "restarted $node (pid $(ha_pid "$node"))"
	;;
*)
	usage
	;;
esac
