#!/usr/bin/env bash
# tests/e2e/pvc_pin.sh -- no PVC pinned for nothing (upstream's open ES#1305)
# and the stuck-state gauges, with our snapshot-controller, the real
# csi-provisioner / csi-snapshotter and the mock driver on a real API server.
#
#   errored_contentless_does_not_pin: a PVC with one snapshot in error that
#     never got a content (its class does not exist) and one ready snapshot
#     is deleted and goes away; both snapshots stay.  Upstream keeps the
#     pvc-as-source-protection finalizer until the errored snapshot is deleted.
#   event_names_waiters: a PVC with two snapshots that are being cut (bound
#     to contents that no sidecar serves, so they stay unready without an
#     error) stays Terminating with ONE WaitingForSnapshots Event naming both;
#     once one snapshot is deleted, that same Event (same name, count risen)
#     names only the other, and there is still exactly one such Event; once
#     the other is deleted too, the PVC goes away.
#     The controller runs with --stuck-deletion-threshold=2s, so p2 soon counts
#     in snapshot_controller_stuck_deletions while it waits.
#   deleted_together: a PVC being deleted whose two snapshots being cut are
#     deleted in one command goes away (upstream's ES#764: each snapshot's
#     pass still sees the other one, and the PVC kept its finalizer).
#   gauges: snapshot_controller_objects / _oldest_object_age_seconds show the
#     states of the snapshots above.
#
# Runs inside `make test` (cluster and CSI peers up) or standalone.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=e2e-pvc_pin

own_cluster=0
if [ -z "${KUBECONFIG:-}" ] || [ -z "${CLUSTER_DIR:-}" ]; then
	eval "$(tests/cluster/up pine2e)" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	tests/cluster/csi-up "$CLUSTER_DIR" >&2 || { tests/cluster/down "$CLUSTER_DIR"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	own_cluster=1
fi
SC_BIN=${SC_BIN:-$top/bin}
CONTROLLER=${CONTROLLER:-$SC_BIN/snapshot-controller}
k() { "$TOOLS_BIN/kubectl" "$@"; }
W=$CLUSTER_DIR/pvc_pin
mkdir -p "$W"
NS=pin
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CTRLPID=
cleanup() {
	[ -n "$CTRLPID" ] && kill "$CTRLPID" 2>/dev/null && wait "$CTRLPID" 2>/dev/null
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

"$CONTROLLER" --kubeconfig="$KUBECONFIG" --leader-election=false --http-endpoint=127.0.0.1:"$PORT" \
	--state-dir="$W/state" --retry-interval-max=5s --stuck-deletion-threshold=2s -v=2 >"$W/controller.log" 2>&1 &
CTRLPID=$!

pvc() { # pvc NAME
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s, namespace: %s}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: csi-test\n  resources: {requests: {storage: 1Mi}}\n' "$1" "$NS"
}
vs() { # vs NAME PVC CLASS|-
	local cls=${3#-}
	printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: %s, namespace: %s}\nspec:\n  %s\n  source: {persistentVolumeClaimName: %s}\n' \
		"$1" "$NS" "${cls:+volumeSnapshotClassName: $cls}" "$2"
}
jp() { k -n "$NS" get "$1" "$2" -o jsonpath="$3" 2>/dev/null; }
field_is() { [ "$(jp "$1" "$2" "$3")" = "$4" ]; }
field_has() { case $(jp "$1" "$2" "$3") in *"$4"*) return 0 ;; esac; return 1; }
gone() { ! k -n "$NS" get "$1" "$2" >/dev/null 2>&1; }
no_pin() { ! field_has pvc "$1" '{.metadata.finalizers}' pvc-as-source-protection; }

test_setup() {
	t_wait 60 curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { tail -20 "$W/controller.log" >&2; return 1; }
	k create namespace "$NS" >/dev/null || return 1
	k apply -f - >/dev/null <<Y || return 1
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: pin-nodriver}
driver: none.csi.example
deletionPolicy: Retain
Y
	{ pvc p1; echo ---; pvc p2; echo ---; pvc p3; } | k apply -f - >/dev/null || return 1
	t_wait 60 field_is pvc p1 '{.status.phase}' Bound >/dev/null || return 1
	t_wait 60 field_is pvc p2 '{.status.phase}' Bound >/dev/null || return 1
	t_wait 60 field_is pvc p3 '{.status.phase}' Bound >/dev/null
}

test_errored_contentless_does_not_pin() {
	vs broken p1 no-such-class | k create -f - >/dev/null || return 1
	t_wait 60 field_has volumesnapshot broken '{.status.error.message}' "Failed to get snapshot class" >/dev/null || return 1
	vs good p1 - | k create -f - >/dev/null || return 1
	t_wait 60 field_is volumesnapshot good '{.status.readyToUse}' true >/dev/null || return 1
	t_eq "$(jp volumesnapshot broken '{.status.boundVolumeSnapshotContentName}')" "" "broken's content" || return 1
	# The ready snapshot's pass drops the finalizer: the errored one cannot read the PVC.
	t_wait 30 no_pin p1 >/dev/null || { t_fail "finalizers: $(jp pvc p1 '{.metadata.finalizers}')"; return 1; }
	k -n "$NS" delete pvc p1 --wait=false >/dev/null || return 1
	t_wait 30 gone pvc p1 >/dev/null || { t_fail "p1 still there: $(jp pvc p1 '{.metadata.finalizers}')"; return 1; }
	k -n "$NS" get volumesnapshot good broken >/dev/null || return 1
}

# The WaitingForSnapshots Events of PVC p2, one per line: name|count|message.
p2_events() {
	k -n "$NS" get events -o jsonpath='{range .items[*]}{.metadata.name}|{.count}|{.message}{"\n"}{end}' \
		--field-selector involvedObject.kind=PersistentVolumeClaim,involvedObject.name=p2,reason=WaitingForSnapshots
}
# True once p2 has exactly one such Event and its message is $1 (or $2).
p2_event_is() {
	local ev
	ev=$(p2_events) || return 1
	[ "$(printf '%s\n' "$ev" | grep -c .)" = 1 ] || return 1
	case ${ev#*|*|} in "$1" | "${2:-$1}") return 0 ;; esac
	return 1
}

# cut_two_then_delete PVC A B: snapshots A and B of PVC are being cut (bound to
# contents no sidecar serves), PVC carries the finalizer, then PVC is deleted.
cut_two_then_delete() {
	local s
	for s in "$2" "$3"; do
		vs "$s" "$1" pin-nodriver | k create -f - >/dev/null || return 1
	done
	for s in "$2" "$3"; do
		t_wait 60 field_has volumesnapshot "$s" '{.status.boundVolumeSnapshotContentName}' snapcontent- >/dev/null || return 1
	done
	t_wait 30 field_has pvc "$1" '{.metadata.finalizers}' pvc-as-source-protection >/dev/null || return 1
	k -n "$NS" delete pvc "$1" --wait=false >/dev/null
}

test_event_names_waiters() {
	local pre="deletion waits for" before after
	cut_two_then_delete p2 cut1 cut2 || return 1
	t_wait 30 p2_event_is "$pre 2 VolumeSnapshot(s) being cut from this claim: cut1, cut2" \
		"$pre 2 VolumeSnapshot(s) being cut from this claim: cut2, cut1" >/dev/null ||
		{ t_fail "p2's Events: $(p2_events)"; return 1; }
	before=$(p2_events)
	echo "    PVC p2 Event before (name|count|message): $before" >&2
	field_has pvc p2 '{.metadata.finalizers}' pvc-as-source-protection || { t_fail "p2 lost its finalizer while cut1/cut2 are being cut"; return 1; }
	# --stuck-deletion-threshold=2s: p2's deletion soon counts as stuck (the default is 5m).
	t_wait 30 bash -c "curl -s http://127.0.0.1:$PORT/metrics | grep -qx 'snapshot_controller_stuck_deletions{kind=\"PersistentVolumeClaim\",finalizer=\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"} 1'" ||
		{ t_fail "p2 not counted as a stuck deletion"; return 1; }
	# One snapshot goes (Retain: its content stays): the same Event names the other.
	k -n "$NS" delete volumesnapshot cut1 --wait=false >/dev/null || return 1
	t_wait 60 p2_event_is "$pre 1 VolumeSnapshot(s) being cut from this claim: cut2" >/dev/null ||
		{ t_fail "p2's Events: $(p2_events)"; return 1; }
	after=$(p2_events)
	echo "    PVC p2 Event after deleting cut1 (name|count|message): $after" >&2
	t_eq "${after%%|*}" "${before%%|*}" "the Event's name (one Event, patched)" || return 1
	after=${after#*|}
	before=${before#*|}
	[ "${after%%|*}" -gt "${before%%|*}" ] || { t_fail "count did not rise: ${before%%|*} -> ${after%%|*}"; return 1; }
	field_has pvc p2 '{.metadata.finalizers}' pvc-as-source-protection || { t_fail "p2 lost its finalizer while cut2 is being cut"; return 1; }
	# The other goes too; so does the PVC.
	k -n "$NS" delete volumesnapshot cut2 --wait=false >/dev/null || return 1
	t_wait 60 gone pvc p2 >/dev/null || { t_fail "p2 still there: $(jp pvc p2 '{.metadata.finalizers}')"; return 1; }
}

test_deleted_together() {
	cut_two_then_delete p3 tog1 tog2 || return 1
	k -n "$NS" delete volumesnapshot tog1 tog2 --wait=false >/dev/null || return 1
	t_wait 60 gone pvc p3 >/dev/null || { t_fail "p3 still there: $(jp pvc p3 '{.metadata.finalizers}')"; return 1; }
}

test_gauges() {
	local m
	m=$(curl -s "http://127.0.0.1:$PORT/metrics")
	printf '%s\n' "$m" | grep -E '^snapshot_controller_(objects|oldest_object_age_seconds|stuck_deletions)\{kind="(VolumeSnapshot|PersistentVolumeClaim)"' >"$W/gauges.txt"
	t_contains "$m" 'snapshot_controller_objects{kind="VolumeSnapshot",state="error"} 1' || return 1
	t_contains "$m" 'snapshot_controller_objects{kind="VolumeSnapshot",state="ready"} 1' || return 1
	awk '$1 == "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeSnapshot\",state=\"error\"}" && $2 > 0 {f=1} END {exit !f}' <<<"$m" ||
		{ t_fail "no age for the errored snapshot"; return 1; }
	t_contains "$m" 'snapshot_controller_stuck_deletions{kind="PersistentVolumeClaim",finalizer="snapshot.storage.kubernetes.io/pvc-as-source-protection"} 0'
}

t_run setup test_setup
t_run errored_contentless_does_not_pin test_errored_contentless_does_not_pin
t_run event_names_waiters test_event_names_waiters
t_run deleted_together test_deleted_together
t_run gauges test_gauges
grep -E 'AddressSanitizer|runtime error' "$W/controller.log" | head -5 >&2
t_done
