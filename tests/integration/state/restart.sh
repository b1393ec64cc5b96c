#!/usr/bin/env bash
# tests/integration/state/restart.sh -- state/ across a controller restart,
# against the real control plane, through kube/'s work queue and Event
# recorder wired to state/ (restart_prog.c holds the adapter code):
#
#  - a process fails one key 3 times and another once (real 404s from the API
#    server), is killed with SIGKILL, and a new process resumes: the key whose
#    backoff has not run out waits for it (not retried at once), the key that
#    is due runs at once, both keep their failure counts, and success clears
#    the rows.  With an empty state dir the same restart retries both at once.
#  - the same Warning before (count 2, then SIGKILL) and after the restart
#    lands on ONE Event object whose count reaches 3; with an empty state dir
#    a second Event is created (what upstream does).
#
# Needs KUBECONFIG (tests/cluster/up).  Builds restart_prog in $SC_BUILD
# (default build/) with the flags of that build (ASan if the name says asan).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=state-restart

B=${SC_BUILD:-$top/build}
case "$B" in
*asan*) opt="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" ;;
*) opt="-O2 -g" ;;
esac
opt=${STATE_IT_OPT:-$opt}
kubectl=${TOOLS_BIN:+$TOOLS_BIN/}kubectl
prog=$B/tests/integration/state/restart_prog

build() {
	make -s --no-print-directory BUILD="$B" OPT="$opt" "$B/libkube.a" "$B/libstate.a" \
		"$B/libcommon.a" "$B/tests/integration/state/restart_prog.o" || return 1
	# shellcheck disable=SC2086,SC2046
	cc $opt -pthread -o "$prog" "$B/tests/integration/state/restart_prog.o" "$B/libkube.a" \
		"$B/libstate.a" "$B/libcommon.a" $(make -s --no-print-directory print-lib-ldlibs)
}

[ -n "${KUBECONFIG:-}" ] || { echo "KUBECONFIG is not set (eval \"\$(tests/cluster/up)\")"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
if ! build >"$B/state-restart-build.log" 2>&1; then
	cat "$B/state-restart-build.log"
	echo "$T_SUITE: 0 passed, 1 failed"
	exit 1
fi

ns=state-it-$$
work=$(mktemp -d /tmp/state-it-XXXXXX)
trap 'rm -rf "$work"; $kubectl delete ns "$ns" --wait=false >/dev/null 2>&1' EXIT
$kubectl create ns "$ns" >/dev/null || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

# field NAME LINE-PREFIX OUTPUT: the value of NAME= on the line starting with PREFIX
field() {
	grep -E "^$2" <<<"$3" | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

retry_resumes_backoff() {
	local dir=$work/retry out rc da db wa wb fa fb
	mkdir -p "$dir"
	out=$("$prog" retry-fail "$dir" "$ns" cm-a cm-b 2>"$work/fail.err")
	rc=$?
	echo "$out" | sed 's/^/    /'
	t_eq "$rc" 137 "exit status of the killed process (SIGKILL)" || return 1
	t_contains "$out" "failed key=cm-a failures=3 next_backoff_ms=8000" || return 1
	t_contains "$out" "failed key=cm-b failures=1" || return 1
	t_contains "$out" 'error=configmaps "cm-a" not found' || return 1
	$kubectl -n "$ns" create configmap cm-a >/dev/null || return 1
	$kubectl -n "$ns" create configmap cm-b >/dev/null || return 1

	out=$("$prog" retry-resume "$dir" "$ns" cm-a cm-b 2>"$work/resume.err")
	rc=$?
	echo "$out" | sed 's/^/    /'
	t_eq "$rc" 0 "resume exit status" || { cat "$work/resume.err"; return 1; }
	t_contains "$out" "state_open=opened" || return 1
	da=$(field due_in_ms "seed key=cm-a" "$out")
	db=$(field due_in_ms "seed key=cm-b" "$out")
	wa=$(field waited_ms "processed key=cm-a" "$out")
	wb=$(field waited_ms "processed key=cm-b" "$out")
	fa=$(field failures_before "processed key=cm-a" "$out")
	fb=$(field failures_before "processed key=cm-b" "$out")
	t_eq "$fa" 3 "cm-a failures after the restart" || return 1
	t_eq "$fb" 1 "cm-b failures after the restart" || return 1
	# cm-a failed 3 times: 4 s backoff from its last failure, most of it still ahead
	[ -n "$da" ] && [ "$da" -gt 1500 ] && [ "$da" -le 4000 ] || t_fail "cm-a due in $da ms, want 1500..4000" || return 1
	[ "$wa" -ge $((da - 300)) ] && [ "$wa" -le $((da + 1000)) ] || t_fail "cm-a ran after $wa ms, its backoff had $da ms left" || return 1
	# cm-b's 1 s backoff ran out while the controller was down: retried at once
	[ "$db" -le 0 ] || t_fail "cm-b due in $db ms, want <= 0" || return 1
	[ "$wb" -lt 500 ] || t_fail "cm-b waited $wb ms, want < 500" || return 1

	out=$("$prog" retry-rows "$dir" 2>/dev/null)
	t_contains "$out" "retry_rows=0" "rows after success" || return 1

	# control: the same restart without the state file retries both at once
	$kubectl -n "$ns" delete configmap cm-a cm-b >/dev/null || return 1
	mkdir -p "$work/retry2" "$work/empty"
	("$prog" retry-fail "$work/retry2" "$ns" cm-a cm-b >/dev/null 2>&1) 2>/dev/null
	$kubectl -n "$ns" create configmap cm-a >/dev/null || return 1
	$kubectl -n "$ns" create configmap cm-b >/dev/null || return 1
	out=$("$prog" retry-resume "$work/empty" "$ns" cm-a cm-b 2>/dev/null)
	echo "$out" | sed 's/^/    control: /'
	wa=$(field waited_ms "processed key=cm-a" "$out")
	fa=$(field failures_before "processed key=cm-a" "$out")
	t_eq "$fa" 0 "cm-a failures without state" || return 1
	[ "$wa" -lt 500 ] || t_fail "without state cm-a waited $wa ms, want < 500" || return 1
}

# events_of OBJ: "name count" of the StateRestartTest Events about ConfigMap OBJ
events_of() {
	$kubectl -n "$ns" get events --field-selector "involvedObject.name=$1,reason=StateRestartTest" \
		-o jsonpath='{range .items[*]}{.metadata.name} {.count}{"\n"}{end}'
}

event_aggregates_across_restart() {
	local dir=$work/events out rc ev
	mkdir -p "$dir"
	$kubectl -n "$ns" create configmap obj1 >/dev/null || return 1
	out=$("$prog" event "$dir" "$ns" obj1 "volume snapshot failed: same text" 2 kill 2>"$work/ev1.err")
	rc=$?
	echo "$out" | sed 's/^/    /'
	t_eq "$rc" 137 "exit status of the killed process" || return 1
	t_contains "$out" "created=1 patched=1" || return 1
	ev=$(events_of obj1)
	t_eq "$(wc -l <<<"$ev")" 1 "Events before the restart" || return 1
	t_eq "$(cut -d' ' -f2 <<<"$ev")" 2 "count before the restart" || return 1

	out=$("$prog" event "$dir" "$ns" obj1 "volume snapshot failed: same text" 1 2>"$work/ev2.err")
	rc=$?
	echo "$out" | sed 's/^/    /'
	t_eq "$rc" 0 "exit status" || { cat "$work/ev2.err"; return 1; }
	t_contains "$out" "created=0 patched=1" || return 1
	ev=$(events_of obj1)
	echo "$ev" | sed 's/^/    event: /'
	t_eq "$(wc -l <<<"$ev")" 1 "Events after the restart" || return 1
	t_eq "$(cut -d' ' -f2 <<<"$ev")" 3 "count after the restart" || return 1

	# a different message is a different Event
	out=$("$prog" event "$dir" "$ns" obj1 "another text" 1 2>/dev/null)
	t_contains "$out" "created=1 patched=0" || return 1

	# control: without the state file the restart makes a duplicate Event
	mkdir -p "$work/events-empty"
	out=$("$prog" event "$work/events-empty" "$ns" obj1 "volume snapshot failed: same text" 1 2>/dev/null)
	t_contains "$out" "created=1 patched=0" || return 1
	ev=$(events_of obj1)
	t_eq "$(grep -c . <<<"$ev")" 3 "Events after a restart without state (2 for the same text + 1 other)" || return 1
}

t_run retry_resumes_backoff retry_resumes_backoff
t_run event_aggregates_across_restart event_aggregates_across_restart
t_done
