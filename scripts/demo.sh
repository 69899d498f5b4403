#!/usr/bin/env bash
# make demo: starts a local HA cluster and shows a failover.
set -euo pipefail
echo "make demo arrives with the NameNode HA issue: the local HA cluster (JournalNodes,"
echo "two NameNodes, ZKFCs, DataNodes) is not built yet. Today 'make test' exercises"
echo "what exists: the Hadoop IPC engine, configuration and the hdfs CLI."
