#!/usr/bin/env bash
# local-ha.sh: a local HA cluster (JournalNodes and NameNodes on 127.0.0.1) that stays up
# until you stop it. The demo (scripts/demo.sh) uses the same helpers, in lib/local-ha.sh.
#
#   scripts/local-ha.sh up DIR       lay out DIR if new (configuration on free ports),
#                                    start the JournalNodes, format nn1 and bootstrap the
#                                    other NameNodes if new, start what is not running,
#                                    make nn1 active if no NameNode is
#   scripts/local-ha.sh down DIR     stop every daemon of DIR (NameNodes first)
#   scripts/local-ha.sh status DIR   each daemon: pid and address, and NameNode states
#
# HDFS=path/to/hdfs picks the binary (default bin/hdfs). Then, for example:
#   HADOOP_CONF_DIR=DIR/conf bin/hdfs dfs -ls /
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/local-ha.sh
source "$repo/scripts/lib/local-ha.sh"

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2

daemons() {
	local i
	for ((i = 1; i <= HA_JOURNALNODES; i++)); do echo "jn$i"; done
	for ((i = 1; i <= HA_NAMENODES; i++)); do echo "nn$i"; done
}

case $cmd in
up)
	if [[ -f $dir/cluster.env ]]; then
		ha_load "$dir"
	else
		ha_init "$dir" "${HDFS:-$repo/bin/hdfs}"
	fi
	for id in $(daemons); do
		[[ $id == jn* ]] || continue
		ha_running "$id" || ha_start "$id"
	done
	if [[ ! -f $HA_DIR/nn1/name/current/VERSION ]]; then
		ha_hdfs_as nn1 namenode -format -nonInteractive
	fi
	ha_running nn1 || ha_start nn1
	for id in $(daemons); do
		[[ $id == nn* && $id != nn1 ]] || continue
		[[ -f $HA_DIR/$id/name/current/VERSION ]] || ha_hdfs_as "$id" namenode -bootstrapStandby -nonInteractive
		ha_running "$id" || ha_start "$id"
	done
	# Without ZKFC nobody picks an active: a new or restarted cluster gets nn1.
	active=0
	for id in $(daemons); do
		[[ $id == nn* ]] || continue
		[[ $(ha_hdfs haadmin -getServiceState "$id" 2>/dev/null) == active ]] && active=1
	done
	((active)) || ha_hdfs haadmin -transitionToActive nn1
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
			[[ $id == nn* ]] && state=$(ha_hdfs haadmin -getServiceState "$id" 2>/dev/null || echo "?")
			printf '%-4s pid %-7s %-21s %s\n' "$id" "$(ha_pid "$id")" "$(ha_rpc "$id")" "$state"
		else
			printf '%-4s stopped\n' "$id"
		fi
	done
	;;
*)
	usage
	;;
esac
