#!/usr/bin/env bash
# local-ha.sh: a local HA cluster (JournalNodes and NameNodes on 127.0.0.1) that stays up
# until you stop it. The demo (scripts/demo.sh) uses the same helpers, in lib/local-ha.sh.
#
#   scripts/local-ha.sh up DIR       lay out DIR if new (configuration on free ports),
#                                    start the JournalNodes, format nn1 and bootstrap the
#                                    other NameNodes if new, start what is not running,
#                                    make nn1 active if no NameNode is (with HA_AUTO=1:
#                                    ZooKeeper and a ZKFC per NameNode, which elect one)
#   scripts/local-ha.sh down DIR     stop every daemon of DIR (DataNodes, ZKFCs, NameNodes,
#                                    JournalNodes, ZooKeeper)
#   scripts/local-ha.sh status DIR   each daemon: pid and address, and NameNode states
#
# HDFS=path/to/hdfs picks the binary (default bin/hdfs); HA_AUTO=1 on a new DIR lays out
# automatic failover (ZooKeeper + ZKFCs) and HA_DATANODES=N adds N DataNodes (both kept in
# DIR/cluster.env). Then, for example:
#   HADOOP_CONF_DIR=DIR/conf bin/hdfs dfs -ls /
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2

daemons() {
	local i
	for ((i = 1; i <= HA_JOURNALNODES; i++)); do echo "jn$i"; done
	for ((i = 1; i <= HA_NAMENODES; i++)); do echo "nn$i"; done
	if [[ ${HA_AUTO:-0} == 1 ]]; then
		echo zk
		for ((i = 1; i <= HA_NAMENODES; i++)); do echo "zkfc$i"; done
	fi
	for ((i = 1; i <= ${HA_DATANODES:-0}; i++)); do echo "dn$i"; done
}

case $cmd in
up)
	if [[ -f $dir/cluster.env ]]; then
		ha_load "$dir"
	else
		ha_init "$dir" "${HDFS:-$repo/bin/hdfs}"
	fi
	ha_up
	echo "Cluster up in $HA_DIR. Try: HADOOP_CONF_DIR=$HA_DIR/conf $HA_BIN haadmin -getAllServiceState"
	;;
down)
	ha_load "$dir"
	ha_stop_all
	;;
status)
	ha_load "$dir"
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
*)
	usage
	;;
esac
