#!/usr/bin/env bash
# scripts/checksrc.sh -- source rules a compiler does not enforce (STYLE.md 3.1, 3.12):
#   - layering: common/ includes no other component; kube/ and state/ include
#     only common/; controller/ and webhook/ never include each other;
#   - banned functions: sprintf, vsprintf, strcpy, strcat, strncpy, strtok,
#     atoi, atol, gets;
#   - no printf/fprintf outside common/log.c, */main.c and tests/;
#   - every local struct and struct pointer starts initialised, in sources and
#     tests alike (scripts/uninit-structs.awk).
# Prints one line per violation and "checksrc: N passed, N failed" (one test per rule).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
rule() { # name, then the offending lines on stdin
	local name=$1 hits
	hits=$(cat)
	if [ -n "$hits" ]; then
		echo "FAIL checksrc.$name"
		printf '%s\n' "$hits" | sed 's/^/    /'
		failed=$((failed + 1))
	else
		echo "ok   checksrc.$name"
		passed=$((passed + 1))
	fi
}
src() { git ls-files "$@" 2>/dev/null; }
inc() { # component, allowed components regex
	src "$1/*.c" "$1/*.h" | xargs -r grep -nE '#include "[a-z]+/' | grep -vE "#include \"($2)/" || true
}
rule layering-common < <(inc common common)
rule layering-kube < <(inc kube 'common|kube')
rule layering-state < <(inc state 'common|state')
rule layering-controller < <(inc controller 'common|kube|state|controller')
rule layering-webhook < <(inc webhook 'common|kube|webhook')
rule banned-functions < <(src 'common/*.[ch]' 'kube/*.[ch]' 'state/*.[ch]' 'controller/*.[ch]' 'webhook/*.[ch]' |
	xargs -r grep -nE '(^|[^a-z_])(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets) *\(' |
	grep -vE '(snprintf|vsnprintf)')
# flags.c prints usage to the stream main() hands it.
rule no-printf-in-libraries < <(src 'common/*.c' 'kube/*.c' 'state/*.c' 'controller/*.c' 'webhook/*.c' |
	grep -vE '(^common/(log|flags)\.c|/main\.c)$' |
	xargs -r grep -nE '(^|[^a-z_])(printf|fprintf|puts) *\(' | grep -vE 'snprintf|vsnprintf|dprintf')
rule zeroed-local-structs < <(src '*.c' | xargs -r awk -f scripts/uninit-structs.awk)
echo "checksrc: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
