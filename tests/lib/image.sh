# tests/lib/image.sh -- helpers for tests that run our container images
# (tests/e2e/image.sh, tests/e2e/helm.sh).  Source after tests/lib/t.sh, with
# $top set and a cluster up (KUBECONFIG, CLUSTER_DIR, API_SERVER, TOOLS_BIN).
#
#   img_prepare          sets IMAGE_DIR/IMAGE_VERSION; builds the images with
#                        `make image` unless IMAGE_DIR was given.  Returns 2
#                        (after printing a SKIP line) only when the Debian tools
#                        cannot be installed.
#   img_unpack NAME DIR  umoci-unpacks NAME's image into the bundle DIR
#   img_sa_dir NS SA DIR a projected-token-like directory: token, ca.crt, namespace
#   img_start VAR LOG BUNDLE [image-run.sh options]   starts it; VAR := pid
#   img_prog_pid PID [NAME]  the program's pid (unshare's child, once it runs NAME)
#   img_stop PID         SIGTERM to the program, SIGKILL after 10 s
IMAGE_VERSION=$(cat "$top/VERSION")

img_prepare() {
	local t missing=()
	for t in umoci unshare setpriv chroot; do command -v "$t" >/dev/null || missing+=("$t"); done
	if [ ${#missing[@]} -gt 0 ]; then
		"$top/scripts/deps.sh" >&2 || true
		missing=()
		for t in umoci unshare setpriv chroot; do command -v "$t" >/dev/null || missing+=("$t"); done
		if [ ${#missing[@]} -gt 0 ]; then
			echo "SKIP $T_SUITE: cannot install ${missing[*]} (Debian packages umoci, util-linux, coreutils)"
			return 2
		fi
	fi
	[ "$(id -u)" -eq 0 ] || { echo "$T_SUITE: needs root (mount namespaces)" >&2; return 1; }
	if [ -z "${IMAGE_DIR:-}" ]; then
		IMAGE_DIR=$top/build/images
		local t0=$SECONDS
		# The plain build, whatever BUILD/BIN/OPT the caller's environment holds.
		make -C "$top" -s --no-print-directory BUILD=build BIN=bin OPT="-O2 -g" EXTRA_CFLAGS= EXTRA_LDFLAGS= image >&2 || { echo "$T_SUITE: make image failed" >&2; return 1; }
		echo "    make image: $((SECONDS - t0))s" >&2
	fi
	[ -d "$IMAGE_DIR/snapshot-controller.oci" ] && [ -d "$IMAGE_DIR/snapshot-webhook.oci" ] ||
		{ echo "$T_SUITE: no images in $IMAGE_DIR" >&2; return 1; }
}

img_unpack() {
	rm -rf "$2"
	umoci unpack --image "$IMAGE_DIR/$1.oci:$IMAGE_VERSION" "$2" >/dev/null
}

img_sa_dir() { # NS SA DIR
	mkdir -p "$3"
	"$TOOLS_BIN/kubectl" -n "$1" create token "$2" --duration=2h >"$3/token" || return 1
	cp "$CLUSTER_DIR/pki/ca.crt" "$3/ca.crt"
	printf '%s' "$1" >"$3/namespace"
	chmod 0644 "$3"/*
}

# The API server as in-cluster config sees it: KUBERNETES_SERVICE_HOST/PORT.
img_api_env() {
	local hp=${API_SERVER#https://}
	echo "-e KUBERNETES_SERVICE_HOST=${hp%:*} -e KUBERNETES_SERVICE_PORT=${hp##*:}"
}

img_start() { # VAR LOG BUNDLE [options]
	local var=$1 log=$2 pidf
	shift 2
	pidf=$(mktemp)
	"$top/tests/lib/image-run.sh" "$@" >"$log" 2>&1 3>"$pidf" &
	local bg=$!
	# Until image-run.sh has started unshare (or has failed).
	while [ ! -s "$pidf" ] && kill -0 "$bg" 2>/dev/null; do sleep 0.1; done
	printf -v "$var" '%s' "$(cat "$pidf")"
	rm -f "$pidf"
}

img_prog_pid() { # UNSHARE_PID [NAME]: once unshare's child has exec'd NAME
	local c
	c=$(awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null)
	[ -n "$c" ] || return 1
	[ -z "${2:-}" ] || [ "$(readlink "/proc/$c/exe" | sed 's#.*/##')" = "$2" ] || return 1
	echo "$c"
}

# unshare --fork ignores SIGTERM itself: the program (pid 1 of its pid
# namespace) gets the signal, and unshare exits with it.
img_stop() {
	local pid=$1 c i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	c=$(img_prog_pid "$pid")
	[ -n "$c" ] && kill -TERM "$c" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	[ -n "$c" ] && kill -KILL "$c" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
	return 0
}
