#!/usr/bin/env bash
# tests/bench/compare/scale.sh -- `make bench-scale`: our controller against
# upstream's with many ready VolumeSnapshots + contents existing (issue #12
# item 5: "a new snapshot is ready within 2 s p99 while 50k exist").
#
# One cluster (tests/cluster/up + csi-up, csi-snapshotter restarted at qps
# 1000 and 50 workers as compare.sh does).  N_SCALE ready VS + VSC pairs are
# created with apiload.py cached, spread over 10 namespaces scale-0..scale-9
# (for the fake driver bench.csi.example.com that no sidecar serves, so they
# only load the controllers' caches; their source PVC does not exist, as in
# compare.sh).  Then each controller in turn, a fresh process (ours with a
# fresh --state-dir), with compare.sh's flags (--kube-api-qps=1000
# --kube-api-burst=1000 --worker-threads=10 --leader-election=false) plus
# --resync-period=$RESYNC:
#   sync      start -> caches synced.  Ours: the time of its "caches synced"
#             log line.  Upstream logs nothing at its default verbosity when
#             WaitForCacheSync returns, so it runs with -v=2, where client-go
#             logs "Caches populated" once per informer; its figure is the last
#             of those lines for VolumeSnapshot, VolumeSnapshotContent,
#             VolumeSnapshotClass and PersistentVolumeClaim (the informers its
#             Run waits for).  Both are "every informer has its initial list"
#             (upstream's WaitForCacheSync polls every 100 ms, so it may start
#             its workers up to 0.1 s later).  -v=2 adds about 15 lines at start
#             and 3 or 4 a new or deleted snapshot, none a cached one (its one
#             line a cached snapshot a sync pass, "cannot get claim", is there
#             at the default verbosity too).  As a second, log-free signal that
#             means the same for both, the snapshot "pending" (dynamic, of the
#             PVC src) is created just before the process starts: start -> its
#             content created (the controller's first write for it, after the
#             sync) and start -> it is readyToUse (behind whatever the initial
#             sync queued) are recorded too.
#   memory    VmHWM and VmRSS once quiet after the initial sync (settle); VmHWM
#             and VmRSS again at the end of the phase (after the samples and a
#             resync pass).
#   latency   SAMPLES dynamic snapshots of src (namespace scale-new, class
#             csi-test-snapclass), one every INTERVAL s (apiload.py paced):
#             creation -> readyToUse per snapshot (watch); p50, p99, max.  The
#             window is placed so that a resync pass falls in its middle: ours
#             resyncs every RESYNC from its informers' start (process start),
#             upstream's client-go every RESYNC from the end of its initial
#             list (the sync time above).  The controller's CPU ticks every
#             0.5 s during the window go to WORK/cpu-<side>.txt; the busiest
#             half-second is reported, to show where the pass fell.
#   cpu       controller CPU seconds (user + system): initial sync until
#             quiet, the sampling window, and the whole phase.
# The pending snapshot and the samples are deleted (apiload.py delete: until
# they and their contents are gone) before the controller is stopped, so the
# next one starts from the same state.  p99 of 60 samples is their maximum.
#
# Env: N_SCALE (50000) pairs; SAMPLES (60); INTERVAL (0.5) seconds between
# samples; RESYNC (60s; Ns or Nm); FIRST (upstream|ours, default upstream as
# in compare.sh: the side that runs first; the other follows).
# Raw results ("key value" lines) are appended to WORK/results; the table
# (figure | upstream | ours | ratio) goes to stdout.  Asserts nothing about
# speed.  A run at 50,000 creates 200,000 objects first (about 4 requests a
# pair); see the header of the printout for the creation rate.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
N_SCALE=${N_SCALE:-50000}
SAMPLES=${SAMPLES:-60}
INTERVAL=${INTERVAL:-0.5}
RESYNC=${RESYNC:-60s}
NS_SPLIT=10
FIRST=${FIRST:-upstream}
case $FIRST in ours | upstream) ;; *) echo "FIRST: ours or upstream, not $FIRST" >&2; exit 2 ;; esac
UB=${UPSTREAM_BIN:-$top/.cache/bin}
OURS_CTRL=${OURS_CTRL:-$top/bin/snapshot-controller}
for b in "$UB/upstream-snapshot-controller" "$OURS_CTRL"; do
	[ -x "$b" ] || { echo "missing $b (make all; tests/tools/build.sh upstream)" >&2; exit 1; }
done
case $RESYNC in
*m) resync_s=$((${RESYNC%m} * 60)) ;;
*s) resync_s=${RESYNC%s} ;;
*) echo "RESYNC: Ns or Nm, not $RESYNC" >&2; exit 2 ;;
esac
[[ $resync_s =~ ^[0-9]+$ ]] && [ "$resync_s" -gt 0 ] || { echo "RESYNC: Ns or Nm, not $RESYNC" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bench-scale-XXXX)
R=$WORK/results
touch "$R"
res() { echo "$*" >>"$R"; }
res n_scale "$N_SCALE"
res samples "$SAMPLES"
res interval "$INTERVAL"
res resync "$RESYNC"
res first "$FIRST"
res load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
res nproc "$(nproc)"

. "$top/tests/lib/bench.sh"
eval "$(tests/cluster/up bench-scale)" || exit 1
cpid= tlpid= sentpid=
cleanup() {
	[ -n "$tlpid" ] && kill "$tlpid" 2>/dev/null
	[ -n "$sentpid" ] && kill "$sentpid" 2>/dev/null
	bench_stop_pid "$cpid"
	cp "$CLUSTER_DIR"/csi-*.log "$WORK"/ 2>/dev/null
	tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
	echo "bench-scale: logs and raw results in $WORK" >&2
}
trap cleanup EXIT
tests/cluster/csi-up "$CLUSTER_DIR" >&2 || exit 1
. "$CLUSTER_DIR/env" # CSI_SOCKET
K="$TOOLS_BIN/kubectl"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
load=tests/bench/controller/apiload.py

now() { date +%s.%N; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
field() { sed -n "s/.*$1=\([0-9.]*\)s.*/\1/p" <<<"$2"; } # name text -> seconds

# ---- the same csi-snapshotter for both, at high QPS -------------------------
spid=$(awk '$1 == "csi-snapshotter" {print $2}' "$CLUSTER_DIR/pids" | tail -1)
kill "$spid" 2>/dev/null
sleep 1
"$TOOLS_BIN/csi-snapshotter" --csi-address="$CSI_SOCKET" --kubeconfig="$KUBECONFIG" \
	--leader-election=false --kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=50 --timeout=30s \
	>"$WORK/csi-snapshotter.log" 2>&1 &
echo "csi-snapshotter $!" >>"$CLUSTER_DIR/pids"

bench_source_pvc scale-new

# ---- the snapshots that exist -----------------------------------------------
echo "== creating $N_SCALE ready snapshot + content pairs in $NS_SPLIT namespaces" >&2
t0=$(now)
per=$((N_SCALE / NS_SPLIT)) have=0
for i in $(seq 0 $((NS_SPLIT - 1))); do
	n=$per
	[ "$i" -eq $((NS_SPLIT - 1)) ] && n=$((N_SCALE - have))
	[ "$n" -gt 0 ] || continue
	python3 "$load" cached "scale-$i" "$n" "$have" >&2 || exit 1
	have=$((have + n))
done
create_s=$(minus "$(now)" "$t0")
res create_s "$create_s"
res create_per_s "$(awk -v n="$N_SCALE" -v s="$create_s" 'BEGIN {printf "%.0f", n / s}')"
echo "created $N_SCALE pairs in ${create_s}s" >&2

# ---- one controller ---------------------------------------------------------
# true when side's log has its caches-synced line(s)
synced_seen() {
	if [ "$1" = ours ]; then
		grep -q ' caches synced: ' "$2"
	else
		[ "$(grep -E -o '"Caches populated" type="\*v1\.(VolumeSnapshot|VolumeSnapshotContent|VolumeSnapshotClass|PersistentVolumeClaim)"' "$2" |
			sort -u | wc -l)" -eq 4 ]
	fi
}
# the epoch of side's caches-synced log line (upstream: the last of its four
# "Caches populated"), or empty
synced_at() {
	local side=$1 log=$2
	if [ "$side" = ours ]; then
		python3 - "$log" <<'PY'
import datetime, sys
for line in open(sys.argv[1], errors="replace"):
    if " caches synced: " in line:
        t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        print(f"{t.replace(tzinfo=datetime.timezone.utc).timestamp():.3f}")
        break
PY
	else
		python3 - "$log" <<'PY'
import re, sys, time
want = {"*v1.VolumeSnapshot", "*v1.VolumeSnapshotContent", "*v1.VolumeSnapshotClass",
        "*v1.PersistentVolumeClaim"}
seen = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r'I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*"Caches populated" type="([^"]+)"', line)
    if m and m.group(4) in want:
        seen[m.group(4)] = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
if len(seen) == len(want):
    # klog prints local time of day: back to an epoch near now
    now = time.time()
    lt = time.localtime(now)
    day0 = now - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + now % 1)
    t = day0 + max(seen.values())
    if t > now + 60:  # logged before midnight, read after it
        t -= 86400
    print(f"{t:.3f}")
PY
	fi
}

run_side() {
	local side=$1 k=$1 t_start t_sync t_content t_ready c_settled c_w0 c_w1 c_end w half first next wait_s out
	echo "== $side" >&2
	python3 "$load" sentinel scale-new src pending >"$WORK/sentinel-$side.txt" 2>&1 &
	sentpid=$!
	for _ in $(seq 1 100); do grep -q '^created ' "$WORK/sentinel-$side.txt" && break; sleep 0.1; done
	rm -rf "$WORK/state"
	t_start=$(now)
	if [ "$side" = ours ]; then
		"$OURS_CTRL" --kubeconfig="$KUBECONFIG" --state-dir="$WORK/state" --http-endpoint=127.0.0.1:$PORT \
			--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false \
			--resync-period="$RESYNC" >"$WORK/ctrl-$side.log" 2>&1 &
	else
		"$UB/upstream-snapshot-controller" --kubeconfig="$KUBECONFIG" --http-endpoint=127.0.0.1:$PORT \
			--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false \
			--resync-period="$RESYNC" -v=2 >"$WORK/ctrl-$side.log" 2>&1 &
	fi
	cpid=$!
	t_sync=
	for _ in $(seq 1 4500); do # 900 s
		kill -0 "$cpid" 2>/dev/null || { echo "$side controller died: $(tail -3 "$WORK/ctrl-$side.log")" >&2; exit 1; }
		# the log is read once, when a cheap grep says the line is there (upstream's
		# grows by a line a cached snapshot once its workers run)
		[ -z "$t_sync" ] && synced_seen "$side" "$WORK/ctrl-$side.log" &&
			t_sync=$(synced_at "$side" "$WORK/ctrl-$side.log")
		[ -n "$t_sync" ] && grep -q '^ready ' "$WORK/sentinel-$side.txt" && break
		sleep 0.2
	done
	[ -n "$t_sync" ] || { echo "$side: no caches-synced signal in 900 s" >&2; exit 1; }
	wait "$sentpid"
	sentpid=
	t_content=$(awk '$1 == "content" {print $2}' "$WORK/sentinel-$side.txt")
	t_ready=$(awk '$1 == "ready" {print $2}' "$WORK/sentinel-$side.txt")
	[ -n "$t_ready" ] || { echo "$side: the pending snapshot did not become ready" >&2; exit 1; }
	res "${k}_sync_s $(minus "$t_sync" "$t_start")"
	res "${k}_pending_content_s $(minus "$t_content" "$t_start")"
	res "${k}_pending_ready_s $(minus "$t_ready" "$t_start")"
	settle "$cpid"
	c_settled=$(cpu_s "$cpid")
	res "${k}_cpu_start_s $c_settled"
	res "${k}_hwm_start $(kib "$cpid" VmHWM)"
	res "${k}_rss_quiet $(kib "$cpid" VmRSS)"

	# the sampling window, centred on a resync pass
	w=$(awk -v n="$SAMPLES" -v i="$INTERVAL" 'BEGIN {print n * i}')
	half=$(awk -v w="$w" 'BEGIN {print w / 2}')
	[ "$side" = ours ] && first=$t_start || first=$t_sync
	next=$(awk -v f="$first" -v r="$resync_s" -v h="$half" -v n="$(now)" \
		'BEGIN {t = f + r; while (t - h < n + 1) t += r; printf "%.3f", t}')
	wait_s=$(minus "$next" "$(now)")
	wait_s=$(minus "$wait_s" "$half")
	echo "  synced in $(minus "$t_sync" "$t_start")s; next resync at +$(minus "$next" "$t_start")s; sampling ${w}s around it (in ${wait_s}s)" >&2
	res "${k}_resync_expected_s $(minus "$next" "$t_start")"
	sleep "$wait_s"
	(while :; do echo "$(now) $(ticks "$cpid")"; sleep 0.5; done) >"$WORK/cpu-$side.txt" 2>/dev/null &
	tlpid=$!
	c_w0=$(cpu_s "$cpid")
	out=$(python3 "$load" paced scale-new "$SAMPLES" "$INTERVAL" src "$WORK/samples-$side.txt") ||
		{ echo "$out" >&2; exit 1; }
	echo "  $out" >&2
	c_w1=$(cpu_s "$cpid")
	kill "$tlpid" 2>/dev/null
	wait "$tlpid" 2>/dev/null
	tlpid=
	res "${k}_p50_s $(field latency_p50 "$out")"
	res "${k}_p99_s $(field ' p99' "$out")"
	res "${k}_max_s $(field max "$out")"
	res "${k}_cpu_window_s $(minus "$c_w1" "$c_w0")"
	res "${k}_cpu_peak_at_s $(awk -v s="$t_start" 'NR > 1 && $2 - p > m {m = $2 - p; t = $1} {p = $2}
		END {if (t) printf "%.1f", t - s}' "$WORK/cpu-$side.txt")"
	res "${k}_samples_start_s $(awk -v s="$t_start" 'NR == 1 {printf "%.1f", $1 - s}' "$WORK/samples-$side.txt")"
	res "${k}_samples_end_s $(awk -v s="$t_start" 'END {printf "%.1f", $1 - s}' "$WORK/samples-$side.txt")"

	out=$(python3 "$load" delete scale-new) || { echo "$out" >&2; exit 1; }
	echo "  $out" >&2
	settle "$cpid"
	c_end=$(cpu_s "$cpid")
	res "${k}_cpu_phase_s $c_end"
	res "${k}_hwm_end $(kib "$cpid" VmHWM)"
	res "${k}_rss_end $(kib "$cpid" VmRSS)"
	res "${k}_phase_s $(minus "$(now)" "$t_start")"
	bench_stop_pid "$cpid"
	cpid=
}

if [ "$FIRST" = ours ]; then sides="ours upstream"; else sides="upstream ours"; fi
for side in $sides; do run_side "$side"; done
res load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$R" <<'PY'
import sys
R = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition(" ")
    R[k] = v  # the last value of a key wins (the file is appended to)
def num(k):
    try:
        return float(R[k])
    except (KeyError, ValueError):
        return None
rows = [
    ("start -> caches synced", "sync_s", "s", 1),
    ("start -> pending snapshot's content", "pending_content_s", "s", 1),
    ("start -> pending snapshot ready", "pending_ready_s", "s", 1),
    ("CPU, start until quiet", "cpu_start_s", "s", 1),
    ("VmHWM after the initial sync", "hwm_start", "MiB", 1024),
    ("VmRSS quiet", "rss_quiet", "MiB", 1024),
    ("new snapshot -> ready p50", "p50_s", "s", 1),
    ("new snapshot -> ready p99", "p99_s", "s", 1),
    ("new snapshot -> ready max", "max_s", "s", 1),
    ("CPU, sampling window", "cpu_window_s", "s", 1),
    ("CPU, whole phase", "cpu_phase_s", "s", 1),
    ("VmHWM, whole phase", "hwm_end", "MiB", 1024),
    ("VmRSS at the end", "rss_end", "MiB", 1024),
]
def fmt(v, unit):
    if v is None:
        return "n/a"
    return (f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}") + f" {unit}"
print(f"scale: {R['n_scale']} ready VS + VSC existing (created in {R['create_s']}s, "
      f"{R['create_per_s']} pairs/s); {R['samples']} samples every {R['interval']}s; "
      f"resync {R['resync']}; first: {R['first']}; {R['nproc']} CPUs, "
      f"load {R['load_start']} -> {R['load_end']}")
w = max(len(r[0]) for r in rows)
print(f"{'figure':<{w}} | {'upstream':>10} | {'ours':>10} | ratio (ours/upstream)")
print(f"{'-' * w}-+-{'-' * 10}-+-{'-' * 10}-+-{'-' * 21}")
for name, key, unit, div in rows:
    u, o = num(f"upstream_{key}"), num(f"ours_{key}")
    u = None if u is None else u / div
    o = None if o is None else o / div
    r = f"{o / u:.2f}" if u and o is not None else "n/a"
    print(f"{name:<{w}} | {fmt(u, unit):>10} | {fmt(o, unit):>10} | {r}")
for side in ("upstream", "ours"):
    print(f"{side}: samples from +{R.get(side + '_samples_start_s')}s to "
          f"+{R.get(side + '_samples_end_s')}s after start, resync expected at "
          f"+{R.get(side + '_resync_expected_s')}s, busiest 0.5 s at +{R.get(side + '_cpu_peak_at_s')}s")
PY
