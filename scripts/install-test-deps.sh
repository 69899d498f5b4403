#!/usr/bin/env bash
# Installs the system packages the build and tests need, from Debian's packages.
# Idempotent: it only calls apt-get when something is missing.
set -euo pipefail

need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
# sshfence's test runs its own sshd on 127.0.0.1 and fences with fuser, as Hadoop does.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v fuser >/dev/null 2>&1 || [ -x /usr/bin/fuser ] || [ -x /bin/fuser ] || need+=(psmisc)
# ZKFC tests start a real Apache ZooKeeper: internal/zktest runs /usr/share/java/zookeeper.jar
# with java (the package depends on a JRE).
{ [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; } || need+=(zookeeper)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing ${need[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
