#!/usr/bin/env bash
# tests/e2e/soak_short.sh -- the short controller chaos run in `make test`
# (about 2-6 minutes depending on the machine): tests/soak/soak.sh with 60
# snapshots in waves of 20, 5 kill -9 of the leader, one kube-apiserver
# restart, one forced watch expiry (410) and one 4 s window of 429/500 on
# every write.  The full run is `make soak`.  Uses the cluster of
# tests/run-all.sh (or starts its own) and $SC_BIN's controller (or
# $CONTROLLER).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export SNAPSHOTS=${SNAPSHOTS:-60} WAVE=${WAVE:-20} KILLS=${KILLS:-5} APISERVER_RESTARTS=${APISERVER_RESTARTS:-1}
export ETCD_RESTARTS=${ETCD_RESTARTS:-0} GONE=${GONE:-1} FAIL_WINDOWS=${FAIL_WINDOWS:-1} CHAOS_INTERVAL=${CHAOS_INTERVAL:-8}
export WAVE_TIMEOUT=${WAVE_TIMEOUT:-600} SOAK_NAME=${SOAK_NAME:-e2e-soak-short}
exec "$top/tests/soak/soak.sh"
