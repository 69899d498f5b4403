# shellcheck shell=bash
# Local HA cluster helpers: configuration generation, start, stop, wait for a port.
#
# Source this file, then:
#
#   ha_init DIR BIN      lay out a cluster under DIR (conf/, <daemon>/conf, data, logs/,
#                        run/) for the hdfs binary BIN, on free 127.0.0.1 ports. Knobs, set
#                        before ha_init: HA_NAMESERVICE (mycluster), HA_NAMENODES (2),
#                        HA_JOURNALNODES (3), HA_HOST (127.0.0.1), HA_EXTRA_PROPS (array
#                        of "name=value" added to hdfs-site.xml, winning over the defaults),
#                        HA_AUTO=1 (automatic failover: a ZooKeeper server "zk" and one
#                        ZKFC per NameNode, "zkfc1" beside nn1, ...), HA_ZK_SESSION_MS
#                        (ha.zookeeper.session-timeout.ms with HA_AUTO, default 2000),
#                        HA_DATANODES (0): DataNodes "dn1".., each with its own data
#                        directory dnN/data and transfer, IPC and HTTP ports.
#   ha_load DIR          pick up a cluster laid out earlier (reads DIR/cluster.env).
#   ha_install_zookeeper install Debian's zookeeper package if the jar or java is missing.
#   ha_hdfs ARGS...      run hdfs with the shared client configuration (conf/).
#   ha_hdfs_as ID ARGS.. run hdfs with daemon ID's configuration (nn1/conf, ...).
#   ha_start ID          start daemon ID (jn1.., nn1.., dn1.., zk, zkfc1..) in the
#                        background; log in logs/ID.log, pid in run/ID.pid; returns once
#                        its RPC port listens (dn: its data transfer port; zk: once it
#                        answers as a standalone server).
#   ha_stop ID           SIGTERM, then SIGKILL after HA_STOP_WAIT seconds (10).
#   ha_kill9 ID          SIGKILL, as a crash.
#   ha_stop_all          stop every daemon with a pid file: DataNodes, ZKFCs, NameNodes,
#                        JournalNodes, then ZooKeeper.
#   ha_up                bring a laid-out cluster up (start what is not running; format nn1
#                        and bootstrap the others if new; with HA_AUTO format the znode and
#                        start the ZKFCs, else make nn1 active if no NameNode is).
#   ha_active [S]        wait up to S seconds (60) for exactly one active NameNode; prints
#                        its ID.
#   ha_state ID          NameNode ID's HA state, or "unreachable".
#   ha_healthy_count ID  how often ZKFC ID has logged its NameNode entering SERVICE_HEALTHY.
#   ha_running ID        true if ID's process is alive.
#   ha_wait_port H:P [S] wait up to S seconds (30) for a TCP listener on H:P.
#   ha_rpc ID, ha_http ID  the RPC and HTTP addresses of daemon ID (a DataNode's "RPC"
#                        address is its data transfer address; ha_ipc dnN its IPC one).
#   ha_log_tail          the last lines of every daemon log (for failure reports).
#   ha_txid ID           NameNode ID's last written (active) or applied (standby) txid.
#   ha_now_us            the wall clock in microseconds (bash's EPOCHREALTIME).
#
# The layout matches internal/testcluster's NewHA, so what the tests run is what an
# operator runs here: shared conf/ for clients and tools, and per-daemon conf dirs that
# add dfs.ha.namenode.id (NameNodes) or the JournalNode's own addresses and directory.
# Ports are chosen between 20000 and 32767 (below Linux's ephemeral range), skipping any
# that already has a listener.
#
# ZooKeeper (HA_AUTO=1) is Debian's zookeeper package: /usr/share/java/zookeeper.jar run by
# java ($JAVA_HOME/bin/java, else java on $PATH) with zk/zoo.cfg, as internal/zktest runs
# it: one standalone server on 127.0.0.1, tickTime 100 ms, data in zk/data, output in
# logs/zk.log.

HA_ZK_JAR=${HA_ZK_JAR:-/usr/share/java/zookeeper.jar}
HA_SLF4J_JAR=${HA_SLF4J_JAR:-/usr/share/java/slf4j-simple.jar}

HA_STOP_WAIT=${HA_STOP_WAIT:-10}

# ha_install_zookeeper: install Debian's zookeeper package (and with it a JRE) when the
# jar or java is missing, as root or through sudo.
ha_install_zookeeper() {
	[[ -f $HA_ZK_JAR ]] && command -v java >/dev/null 2>&1 && return 0
	local sudo=""
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null 2>&1 || { ha_die "installing zookeeper needs root or sudo"; return; }
		sudo=sudo
	fi
	echo "installing ZooKeeper from Debian's packages (zookeeper)"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq zookeeper >/dev/null ||
		{ ha_die "apt-get install zookeeper failed"; return; }
}

ha_die() {
	echo "local-ha: $*" >&2
	return 1
}

# ha_port_busy H P: something accepts connections on H:P.
ha_port_busy() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ha_pick_port H: sets HA_PORT to a port on H with no listener and not handed out before
# (not a subshell, so HA_USED_PORTS remembers it).
ha_pick_port() {
	local host=$1 port tries=0
	while ((tries++ < 500)); do
		port=$((20000 + RANDOM % 12768))
		[[ " ${HA_USED_PORTS:-} " == *" $port "* ]] && continue
		ha_port_busy "$host" "$port" && continue
		HA_USED_PORTS="${HA_USED_PORTS:-} $port"
		HA_PORT=$port
		return 0
	done
	ha_die "no free port on $host"
}

# ha_write_site FILE NAME=VALUE...: a Hadoop configuration file.
ha_write_site() {
	local file=$1 kv name value
	shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<configuration>'
		for kv in "$@"; do
			name=${kv%%=*}
			value=${kv#*=}
			value=${value//&/&amp;}
			value=${value//</&lt;}
			value=${value//>/&gt;}
			printf '  <property>\n    <name>%s</name>\n    <value>%s</value>\n  </property>\n' "$name" "$value"
		done
		echo '</configuration>'
	} >"$file"
}

ha_init() {
	local dir=$1 bin=$2 i id rpc http addr
	[[ -n $dir && -n $bin ]] || ha_die "usage: ha_init DIR BIN" || return
	[[ -x $bin ]] || ha_die "$bin is not an executable (run 'make build')" || return
	mkdir -p "$dir" || return
	HA_DIR=$(cd "$dir" && pwd) || return
	HA_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	HA_NAMESERVICE=${HA_NAMESERVICE:-mycluster}
	HA_NAMENODES=${HA_NAMENODES:-2}
	HA_JOURNALNODES=${HA_JOURNALNODES:-3}
	HA_DATANODES=${HA_DATANODES:-0}
	HA_HOST=${HA_HOST:-127.0.0.1}
	HA_AUTO=${HA_AUTO:-0}
	HA_ZK_SESSION_MS=${HA_ZK_SESSION_MS:-2000}
	if [[ $HA_AUTO == 1 && ! -f $HA_ZK_JAR ]]; then
		ha_die "automatic failover needs ZooKeeper: $HA_ZK_JAR is missing (install Debian's zookeeper package: scripts/install-test-deps.sh)"
		return
	fi
	mkdir -p "$HA_DIR/conf" "$HA_DIR/logs" "$HA_DIR/run" "$HA_DIR/tmp"

	# cluster.env records the binary, the daemons and their addresses (ha_load reads it).
	local ns=$HA_NAMESERVICE env=() jns=() nns=() dns=()
	env+=("HA_BIN=$HA_BIN" "HA_NAMESERVICE=$ns" "HA_NAMENODES=$HA_NAMENODES" "HA_JOURNALNODES=$HA_JOURNALNODES" "HA_DATANODES=$HA_DATANODES" "HA_HOST=$HA_HOST" "HA_AUTO=$HA_AUTO")
	for ((i = 1; i <= HA_JOURNALNODES; i++)); do jns+=("jn$i"); done
	for ((i = 1; i <= HA_NAMENODES; i++)); do nns+=("nn$i"); done
	for ((i = 1; i <= HA_DATANODES; i++)); do dns+=("dn$i"); done
	for id in "${dns[@]}"; do
		ha_pick_port "$HA_HOST" || return
		env+=("HA_IPC_$id=$HA_HOST:$HA_PORT")
	done
	for id in "${jns[@]}" "${nns[@]}" "${dns[@]}"; do
		ha_pick_port "$HA_HOST" || return
		rpc=$HA_HOST:$HA_PORT
		ha_pick_port "$HA_HOST" || return
		http=$HA_HOST:$HA_PORT
		env+=("HA_RPC_$id=$rpc" "HA_HTTP_$id=$http")
	done
	if [[ $HA_AUTO == 1 ]]; then
		ha_pick_port "$HA_HOST" || return
		env+=("HA_RPC_zk=$HA_HOST:$HA_PORT")
		for ((i = 1; i <= HA_NAMENODES; i++)); do
			ha_pick_port "$HA_HOST" || return
			env+=("HA_RPC_zkfc$i=$HA_HOST:$HA_PORT")
		done
	fi
	printf '%s\n' "${env[@]}" >"$HA_DIR/cluster.env"
	ha_load "$HA_DIR" || return

	local hdfs=("dfs.nameservices=$ns" "dfs.ha.namenodes.$ns=$(IFS=,; echo "${nns[*]}")") quorum=()
	for id in "${nns[@]}"; do
		mkdir -p "$HA_DIR/$id/conf" "$HA_DIR/$id/name"
		hdfs+=("dfs.namenode.rpc-address.$ns.$id=$(ha_rpc "$id")"
			"dfs.namenode.http-address.$ns.$id=$(ha_http "$id")"
			"dfs.namenode.name.dir.$ns.$id=$HA_DIR/$id/name")
	done
	for id in "${jns[@]}"; do quorum+=("$(ha_rpc "$id")"); done
	hdfs+=(
		"dfs.namenode.shared.edits.dir=qjournal://$(IFS=';'; echo "${quorum[*]}")/$ns"
		"dfs.client.failover.proxy.provider.$ns=org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider"
		"dfs.ha.fencing.methods=shell($HA_DIR/fence.sh)"
		"dfs.replication=1"
	)
	local core=("fs.defaultFS=hdfs://$ns" "hadoop.tmp.dir=$HA_DIR/tmp")
	if [[ $HA_AUTO == 1 ]]; then
		# Short intervals, so a dead NameNode is noticed within ~100 ms and a dead ZKFC
		# after the session timeout; clients retry quickly while the roles change.
		hdfs+=(
			"dfs.ha.automatic-failover.enabled=true"
			"ha.health-monitor.check-interval.ms=100"
			"ha.health-monitor.connect-retry-interval.ms=100"
			"ha.health-monitor.sleep-after-disconnect.ms=100"
			"ha.health-monitor.rpc-timeout.ms=2000"
			"ha.failover-controller.graceful-fence.rpc-timeout.ms=2000"
			"dfs.client.failover.sleep.base.millis=20"
			"dfs.client.failover.sleep.max.millis=200"
			"dfs.client.failover.max.attempts=50"
		)
		for ((i = 1; i <= HA_NAMENODES; i++)); do
			addr=$(ha_rpc "zkfc$i") || return
			hdfs+=("dfs.ha.zkfc.port.$ns.nn$i=${addr##*:}")
		done
		core+=("ha.zookeeper.quorum=$(ha_rpc zk)" "ha.zookeeper.session-timeout.ms=$HA_ZK_SESSION_MS")
		mkdir -p "$HA_DIR/zk/data"
		addr=$(ha_rpc zk)
		printf '%s\n' "tickTime=100" "minSessionTimeout=200" "maxSessionTimeout=60000" \
			"dataDir=$HA_DIR/zk/data" "clientPort=${addr##*:}" "clientPortAddress=${addr%:*}" \
			"admin.enableServer=false" "4lw.commands.whitelist=ruok,srvr,stat,mntr,cons,dump" \
			"forceSync=no" "maxClientCnxns=0" >"$HA_DIR/zk/zoo.cfg"
	else
		hdfs+=("dfs.ha.automatic-failover.enabled=false")
	fi
	hdfs+=(${HA_EXTRA_PROPS[@]+"${HA_EXTRA_PROPS[@]}"})

	ha_write_site "$HA_DIR/conf/core-site.xml" "${core[@]}"
	ha_write_site "$HA_DIR/conf/hdfs-site.xml" "${hdfs[@]}"
	for id in "${nns[@]}"; do
		cp "$HA_DIR/conf/core-site.xml" "$HA_DIR/$id/conf/"
		ha_write_site "$HA_DIR/$id/conf/hdfs-site.xml" "${hdfs[@]}" "dfs.ha.namenode.id=$id"
	done
	for id in "${dns[@]}"; do
		mkdir -p "$HA_DIR/$id/conf" "$HA_DIR/$id/data"
		cp "$HA_DIR/conf/core-site.xml" "$HA_DIR/$id/conf/"
		ha_write_site "$HA_DIR/$id/conf/hdfs-site.xml" "${hdfs[@]}" \
			"dfs.datanode.address=$(ha_rpc "$id")" \
			"dfs.datanode.ipc.address=$(ha_ipc "$id")" \
			"dfs.datanode.http.address=$(ha_http "$id")" \
			"dfs.datanode.data.dir=$HA_DIR/$id/data"
	done
	for id in "${jns[@]}"; do
		mkdir -p "$HA_DIR/$id/conf" "$HA_DIR/$id/edits"
		cp "$HA_DIR/conf/core-site.xml" "$HA_DIR/$id/conf/"
		ha_write_site "$HA_DIR/$id/conf/hdfs-site.xml" "${hdfs[@]}" \
			"dfs.journalnode.rpc-address=$(ha_rpc "$id")" \
			"dfs.journalnode.http-address=$(ha_http "$id")" \
			"dfs.journalnode.edits.dir=$HA_DIR/$id/edits"
	done

	# The fencing method: shell(fence.sh) runs with Hadoop's $target_* environment. It
	# records what it was asked to fence and makes sure that NameNode process is gone,
	# which is what fencing is for.
	cat >"$HA_DIR/fence.sh" <<EOF
#!/usr/bin/env bash
echo "\$(date -u +%FT%TZ) fence \$target_namenodeid of \$target_nameserviceid at \$target_host:\$target_port" >>"$HA_DIR/fence.log"
pidfile="$HA_DIR/run/\$target_namenodeid.pid"
if [[ -f \$pidfile ]] && kill -0 "\$(cat "\$pidfile")" 2>/dev/null; then
	kill -9 "\$(cat "\$pidfile")"
fi
exit 0
EOF
	chmod +x "$HA_DIR/fence.sh"
}

ha_load() {
	HA_DIR=$(cd "$1" && pwd) || return
	[[ -f $HA_DIR/cluster.env ]] || ha_die "$HA_DIR is not a local HA cluster (no cluster.env)" || return
	local line
	while IFS= read -r line; do
		[[ -n $line ]] && declare -g "$line"
	done <"$HA_DIR/cluster.env"
}

ha_http() {
	local v=HA_HTTP_$1
	[[ -n ${!v:-} ]] || ha_die "no daemon $1" || return
	echo "${!v}"
}

ha_rpc() {
	local v=HA_RPC_$1
	[[ -n ${!v:-} ]] || ha_die "no daemon $1" || return
	echo "${!v}"
}

ha_ipc() {
	local v=HA_IPC_$1
	[[ -n ${!v:-} ]] || ha_die "no DataNode $1" || return
	echo "${!v}"
}

ha_hdfs() { "$HA_BIN" --config "$HA_DIR/conf" "$@"; }

ha_hdfs_as() {
	local id=$1
	shift
	"$HA_BIN" --config "$HA_DIR/$id/conf" "$@"
}

ha_pid() { cat "$HA_DIR/run/$1.pid" 2>/dev/null; }

ha_running() {
	local pid
	pid=$(ha_pid "$1") && [[ -n $pid ]] && ha_alive "$pid"
}

ha_wait_port() {
	local hostport=$1 secs=${2:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		ha_port_busy "${hostport%:*}" "${hostport##*:}" && return 0
		sleep 0.1
	done
	ha_die "nothing listens on $hostport after ${secs}s"
}

ha_start() {
	local id=$1 cmd
	case $id in
	jn*) cmd=("$HA_BIN" --config "$HA_DIR/$id/conf" journalnode) ;;
	nn*) cmd=("$HA_BIN" --config "$HA_DIR/$id/conf" namenode) ;;
	dn*) cmd=("$HA_BIN" --config "$HA_DIR/$id/conf" datanode) ;;
	zkfc*) cmd=("$HA_BIN" --config "$HA_DIR/nn${id#zkfc}/conf" zkfc) ;;
	zk)
		local java=java cp=$HA_ZK_JAR
		[[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] && java=$JAVA_HOME/bin/java
		[[ -f $HA_SLF4J_JAR ]] && cp+=:$HA_SLF4J_JAR
		cmd=("$java" -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData
			-Xms16m -Xmx128m -Djava.net.preferIPv4Stack=true -Dzookeeper.admin.enableServer=false
			-Dzookeeper.jmx.log4j.disable=true -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain
			"$HA_DIR/zk/zoo.cfg")
		;;
	*) ha_die "unknown daemon $id" || return ;;
	esac
	if ha_running "$id"; then
		ha_die "$id already runs (pid $(ha_pid "$id"))"
		return
	fi
	# Started from a subshell, so the daemon is not a job of this shell: killing it prints
	# no job notice, and whoever reaps orphans reaps it.
	(
		"${cmd[@]}" >>"$HA_DIR/logs/$id.log" 2>&1 </dev/null &
		echo $! >"$HA_DIR/run/$id.pid"
	)
	local addr i
	addr=$(ha_rpc "$id") || return
	for ((i = 0; i < 300; i++)); do
		if [[ $id == zk ]]; then
			ha_zk_serving "$addr" && return 0
		elif ha_port_busy "${addr%:*}" "${addr##*:}"; then
			return 0
		fi
		ha_running "$id" || { ha_die "$id exited at start; see $HA_DIR/logs/$id.log"; return; }
		sleep 0.1
	done
	ha_die "$id does not listen on $addr after 30s; see $HA_DIR/logs/$id.log"
}

# ha_alive PID: the process exists and is not a zombie.
ha_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# ha_gone ID PID: wait for PID to end, then forget it.
ha_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		ha_alive "$2" || break
		sleep 0.05
	done
	rm -f "$HA_DIR/run/$1.pid"
}

ha_kill9() {
	local pid
	pid=$(ha_pid "$1") || return 0
	kill -9 "$pid" 2>/dev/null || true
	ha_gone "$1" "$pid"
}

ha_stop() {
	local id=$1 pid i
	pid=$(ha_pid "$id") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < HA_STOP_WAIT * 10; i++)); do
		ha_alive "$pid" || break
		sleep 0.1
	done
	if ha_alive "$pid"; then
		echo "local-ha: $id did not stop in ${HA_STOP_WAIT}s; killing it" >&2
		kill -9 "$pid" 2>/dev/null || true
	fi
	ha_gone "$id" "$pid"
}

ha_stop_all() {
	[[ -n ${HA_DIR:-} && -d $HA_DIR/run ]] || return 0
	local f id
	for f in "$HA_DIR"/run/dn*.pid "$HA_DIR"/run/zkfc*.pid "$HA_DIR"/run/nn*.pid "$HA_DIR"/run/jn*.pid "$HA_DIR"/run/*.pid; do
		[[ -f $f ]] || continue
		id=$(basename "$f" .pid)
		ha_stop "$id"
	done
}

ha_log_tail() {
	local f
	for f in "$HA_DIR"/logs/*.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f"
		tail -n "${1:-15}" "$f"
	done
}

# ha_txid ID: NameNode ID's LastWrittenTransactionId from its /jmx (on a standby, the last
# edit it has applied). Plain bash: an HTTP/1.0 GET over /dev/tcp.
ha_txid() {
	local addr resp
	addr=$(ha_http "$1") || return
	resp=$(
		exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
		printf 'GET /jmx?qry=Hadoop:service=NameNode,name=FSNamesystem HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
		cat <&3
	) || return
	resp=$(grep -o '"LastWrittenTransactionId" *: *[0-9]*' <<<"$resp") || return
	echo "${resp##*[ :]}"
}

# ha_zk_serving H:P: a ZooKeeper server at H:P answers "srvr" as a standalone server.
ha_zk_serving() {
	local addr=$1 resp
	{
		resp=$(
			exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
			printf srvr >&3
			timeout 2 cat <&3
		)
	} 2>/dev/null || return
	[[ $resp == *"Mode: standalone"* ]]
}

ha_now_us() { echo "${EPOCHREALTIME/./}"; }

ha_state() {
	local s
	s=$(ha_hdfs haadmin -getServiceState "$1" 2>/dev/null) || s=unreachable
	echo "$s"
}

ha_active() {
	local secs=${1:-60} i id s active n
	for ((i = 0; i < secs * 20; i++)); do
		active="" n=0
		for ((id = 1; id <= HA_NAMENODES; id++)); do
			s=$(ha_state "nn$id")
			[[ $s == active ]] && { active=nn$id; n=$((n + 1)); }
		done
		((n > 1)) && { ha_die "more than one NameNode is active"; return; }
		((n == 1)) && { echo "$active"; return 0; }
		sleep 0.05
	done
	ha_die "no NameNode became active within ${secs}s"
}

ha_healthy_count() {
	grep -c 'entered state: SERVICE_HEALTHY' "$HA_DIR/logs/$1.log" 2>/dev/null || true
}

ha_up() {
	local i id active=0
	if [[ ${HA_AUTO:-0} == 1 ]]; then
		ha_running zk || ha_start zk || return
	fi
	for ((i = 1; i <= HA_JOURNALNODES; i++)); do
		ha_running "jn$i" || ha_start "jn$i" || return
	done
	if [[ ! -f $HA_DIR/nn1/name/current/VERSION ]]; then
		ha_hdfs_as nn1 namenode -format -nonInteractive >>"$HA_DIR/logs/format.log" 2>&1 ||
			{ ha_die "namenode -format failed; see $HA_DIR/logs/format.log"; return; }
	fi
	ha_running nn1 || ha_start nn1 || return
	for ((i = 2; i <= HA_NAMENODES; i++)); do
		id=nn$i
		if [[ ! -f $HA_DIR/$id/name/current/VERSION ]]; then
			ha_hdfs_as "$id" namenode -bootstrapStandby -nonInteractive >>"$HA_DIR/logs/format.log" 2>&1 ||
				{ ha_die "namenode -bootstrapStandby on $id failed; see $HA_DIR/logs/format.log"; return; }
		fi
		ha_running "$id" || ha_start "$id" || return
	done
	for ((i = 1; i <= ${HA_DATANODES:-0}; i++)); do
		ha_running "dn$i" || ha_start "dn$i" || return
	done
	if [[ ${HA_AUTO:-0} == 1 ]]; then
		if [[ ! -f $HA_DIR/zk/formatted ]]; then
			ha_hdfs_as nn1 zkfc -formatZK -nonInteractive >>"$HA_DIR/logs/format.log" 2>&1 ||
				{ ha_die "zkfc -formatZK failed; see $HA_DIR/logs/format.log"; return; }
			touch "$HA_DIR/zk/formatted"
		fi
		for ((i = 1; i <= HA_NAMENODES; i++)); do
			ha_running "zkfc$i" || ha_start "zkfc$i" || return
		done
		ha_active 60 >/dev/null
		return
	fi
	# Without ZKFC nobody picks an active: a new or restarted cluster gets nn1.
	for ((i = 1; i <= HA_NAMENODES; i++)); do
		[[ $(ha_state "nn$i") == active ]] && active=1
	done
	((active)) || ha_hdfs haadmin -transitionToActive nn1
}
