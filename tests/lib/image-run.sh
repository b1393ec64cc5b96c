#!/usr/bin/env bash
# tests/lib/image-run.sh -- run an unpacked OCI image the way a container
# runtime with a pod's securityContext would, from the image's own root
# filesystem only.  (crun, the Debian runtime, refuses this machine's hybrid
# cgroup setup, so this uses util-linux's unshare and coreutils' chroot.)
#
#   image-run.sh BUNDLE [-v SRC:DST[:ro]]... [-t DST]... [-e K=V]... [-- ARGS...]
#
# BUNDLE is `umoci unpack` output: BUNDLE/rootfs and BUNDLE/config.json, from
# which come the entrypoint (+ ARGS, which replace the image's cmd), the user
# (uid:gid), the environment and the working directory.  In new mount and pid
# namespaces (the network is the host's, so loopback is reachable):
#   - the root is BUNDLE/rootfs, bind-mounted read-only;
#   - /proc is a fresh proc, /dev a tmpfs holding null, zero, random and
#     urandom (bind mounts of the host's), /dev/shm a tmpfs;
#   - -v binds SRC at DST (read-only with :ro), -t puts a tmpfs at DST;
#   - the program runs as the image's user with no supplementary groups,
#     no capabilities (a non-zero uid after exec) and no_new_privs, with
#     exactly the image's environment plus -e.
# The pid printed on fd 3 (when open) is unshare's.  unshare ignores SIGTERM
# while it waits, and its --kill-child does not reach the program (the kernel
# clears the parent-death signal when chroot changes the uid): stop the
# program itself, unshare's child (tests/lib/image.sh img_stop).  Must run as
# root (mount namespaces).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUNDLE [-v SRC:DST[:ro]]... [-t DST]... [-e K=V]... [-- ARGS...]" >&2; exit 2; }
bundle=$(cd "$1" && pwd); shift
root=$bundle/rootfs
[ -d "$root" ] && [ -f "$bundle/config.json" ] || { echo "image-run: $bundle is not an unpacked bundle" >&2; exit 2; }
binds=() tmpfs=() env=() args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-v) binds+=("$2"); shift 2 ;;
	-t) tmpfs+=("$2"); shift 2 ;;
	-e) env+=("$2"); shift 2 ;;
	--) shift; args=("$@"); break ;;
	*) echo "image-run: unknown option $1" >&2; exit 2 ;;
	esac
done

# The image's runtime config, as umoci unpack wrote it (from the image config).
eval "$(python3 - "$bundle/config.json" <<'PY'
import json, shlex, sys
c = json.load(open(sys.argv[1]))
p = c["process"]
print("img_uid=%d img_gid=%d" % (p["user"]["uid"], p["user"]["gid"]))
print("img_cwd=%s" % shlex.quote(p.get("cwd", "/")))
print("img_entry=(%s)" % " ".join(shlex.quote(a) for a in p["args"]))
print("img_env=(%s)" % " ".join(shlex.quote(e) for e in p.get("env", []) if not e.startswith("TERM=")))
PY
)"
# The entrypoint is the image's first arg; ARGS replace the rest (the cmd).
cmd=("${img_entry[0]}")
if [ ${#args[@]} -gt 0 ]; then cmd+=("${args[@]}"); else cmd+=("${img_entry[@]:1}"); fi

# Mount points a runtime creates in the bundle before it runs the container.
mkdir -p "$root/proc" "$root/dev"
for b in "${binds[@]}"; do mkdir -p "$root/$(cut -d: -f2 <<<"$b")"; done
for t in "${tmpfs[@]}"; do mkdir -p "$root/$t"; done

setup=$(cat <<'SH'
set -eu
root=$1; shift
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o nosuid,mode=755,size=1m tmpfs "$root/dev"
for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mkdir "$root/dev/shm"; mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=8m tmpfs "$root/dev/shm"
while [ "$1" != --run ]; do
	case "$1" in
	bind) src=$2 dst=$3 ro=$4; shift 4
		mount --bind "$src" "$root$dst"
		[ "$ro" = ro ] && mount -o remount,bind,ro "$root$dst" ;;
	tmpfs) mount -t tmpfs -o nosuid,nodev,mode=1777,size=16m tmpfs "$root$2"; shift 2 ;;
	esac
done
shift
mount -o remount,bind,ro "$root"
exec "$@"
SH
)
ops=()
for b in "${binds[@]}"; do
	IFS=: read -r src dst ro <<<"$b"
	ops+=(bind "$src" "$dst" "${ro:-rw}")
done
for t in "${tmpfs[@]}"; do ops+=(tmpfs "$t"); done

# The inner exec: no_new_privs, an empty environment but the image's and -e,
# then chroot drops to the image user (groups cleared) and runs the entrypoint.
unshare --mount --pid --fork --propagation private --kill-child=SIGTERM \
	bash -c "$setup" image-run "$root" "${ops[@]}" --run \
	setpriv --no-new-privs env -i "${img_env[@]}" "${env[@]}" \
	"$(command -v chroot)" --userspec="$img_uid:$img_gid" --groups="$img_gid" "$root" "${cmd[@]}" &
pid=$!
{ echo "$pid" >&3; } 2>/dev/null || true
wait "$pid"
