#!/usr/bin/env bash
# image-rootfs.sh BINARY NAME OUT -- assemble the runtime root filesystem of
# one image from Debian packages, with nothing but what BINARY needs.
#
#   BINARY  the dynamically linked program (built on this Debian 12 machine)
#   NAME    what it is called in the image: /usr/bin/NAME
#   OUT     the directory to fill (emptied first)
#
# Which packages: the ones that own every library in BINARY's ldd closure,
# plus ca-certificates; at exactly the versions installed here (the versions
# the binary was linked and tested against).  apt-get download fetches their
# .debs from the Debian archive (cached in $DEB_CACHE), dpkg-deb extracts them
# into a scratch tree, and only these files are copied from it:
#   - the closure's libraries and the dynamic loader (with their symlinks),
#   - /etc/ssl/certs/ca-certificates.crt, made from the package's Mozilla
#     certificates the way update-ca-certificates does (the .deb ships the
#     certificates, its postinst makes the bundle),
#   - each package's copyright file and control stanza
#     (/var/lib/dpkg/status.d/PKG, the layout scanners read in distroless);
# plus /etc/passwd and /etc/group (root, nonroot 65532), an empty /tmp and the
# controller's state directory owned by 65532.  No shell, no package manager.
# BUNDLED ("PKG=VERSION@SYMBOL ...", from `make print-bundled`) names the
# Debian packages whose code a binary may hold statically (libcurl4,
# libmicrohttpd12: our builds of Debian's source at that version,
# scripts/curl-build.sh and mhd-build.sh).  Each one BINARY defines SYMBOL of
# gets its copyright file and control stanza like the closure's packages, so
# that scanners reading status.d see it, and none of its files.
# The same script runs here (make image) and in the Containerfile's build stage.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BINARY NAME OUT" >&2; exit 2; }
bin=$1 name=$2 out=$3
cache=${DEB_CACHE:-${TMPDIR:-/tmp}/sc-debs}
[ -x "$bin" ] || { echo "image-rootfs: $bin is not an executable" >&2; exit 1; }
mkdir -p "$cache"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# pkg_of PATH: the installed package owning PATH (merged-/usr aware).
pkg_of() {
	local p=$1 c
	for c in "$p" "$(readlink -f "$p")" "${p#/usr}" "/usr$p" "$(readlink -f "$p" | sed 's#^/usr##')"; do
		dpkg-query -S "$c" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
	done
	echo "image-rootfs: no package owns $p" >&2
	return 1
}

# The closure as the loader resolves it here: "name => path" and the loader.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
[ -n "$libs" ] || { echo "image-rootfs: $bin has no shared libraries (static?)" >&2; exit 1; }
if ldd "$bin" | grep -q 'not found'; then
	echo "image-rootfs: unresolved libraries:" >&2; ldd "$bin" | grep 'not found' >&2; exit 1
fi
pkgs=ca-certificates
for l in $libs; do pkgs="$pkgs $(pkg_of "$l")"; done
declare -A bundled=()
defined=$(nm --defined-only "$bin" 2>/dev/null | awk '{print $3}') || true
for pv in ${BUNDLED:-}; do
	[[ $pv == ?*=?*@?* ]] || { echo "image-rootfs: BUNDLED entry '$pv' is not PKG=VERSION@SYMBOL" >&2; exit 1; }
	grep -qx "${pv##*@}" <<<"$defined" || continue # not in this binary
	p=${pv%%=*} v=${pv#*=}
	bundled[$p]=${v%@*}
	pkgs="$pkgs $p"
done
pkgs=$(tr ' ' '\n' <<<"$pkgs" | sort -u)

# Download the installed versions (the archive's candidate when the archive no
# longer has that exact build, e.g. a binNMU: same upstream version and ABI),
# in one apt-get call, then extract them side by side.
mkdir -p "$scratch/x" "$scratch/status.d"
want=()
# One apt-cache call: "pkg | version | source" for every version the archive has.
madison=$(apt-cache madison $pkgs)
for p in $pkgs; do
	v=${bundled[$p]:-$(dpkg-query -W -f='${Version}' "$p")}
	if ! awk -F' *[|] *' -v p="$p" -v v="$v" '{ sub(/^ +/, "", $1) } $1 == p && $2 == v { f = 1 } END { exit !f }' <<<"$madison"; then
		c=$(awk -F' *[|] *' -v p="$p" '{ sub(/^ +/, "", $1) } $1 == p { print $2; exit }' <<<"$madison")
		[ -n "$c" ] || { echo "image-rootfs: the archive has no $p" >&2; exit 1; }
		echo "image-rootfs: $p $v is not in the archive; using $c" >&2
		v=$c
	fi
	want+=("$p=$v")
done
fetch=()
for pv in "${want[@]}"; do
	ls "$cache/${pv%%=*}_$(sed 's/:/%3a/' <<<"${pv#*=}")"_*.deb >/dev/null 2>&1 || fetch+=("$pv")
done
if [ ${#fetch[@]} -gt 0 ]; then
	(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "${fetch[@]}" >/dev/null) ||
		{ echo "image-rootfs: apt-get download ${fetch[*]} failed" >&2; exit 1; }
fi
for pv in "${want[@]}"; do
	p=${pv%%=*}
	deb=$(ls "$cache/${p}_$(sed 's/:/%3a/' <<<"${pv#*=}")"_*.deb)
	dpkg-deb -x "$deb" "$scratch/x"
	dpkg-deb -f "$deb" Package Version Architecture Source Maintainer Homepage >"$scratch/status.d/$p"
done

rm -rf "$out"
mkdir -p "$out"
x=$scratch/x
# copy_path P: P (relative to /) from the extracted tree, following symlinks
# inside it, each link and its target copied.
copy_path() {
	local p=${1#/} guard=0 t
	while :; do
		guard=$((guard + 1))
		[ $guard -lt 10 ] || { echo "image-rootfs: symlink loop at $1" >&2; return 1; }
		if [ ! -e "$x/$p" ] && [ ! -L "$x/$p" ]; then
			# ldd prints /lib/... for files packaged in /usr/lib/... and back.
			case "$p" in
			usr/*) [ -e "$x/${p#usr/}" ] || [ -L "$x/${p#usr/}" ] && p=${p#usr/} ;;
			*) [ -e "$x/usr/$p" ] || [ -L "$x/usr/$p" ] && p=usr/$p ;;
			esac
		fi
		[ -e "$x/$p" ] || [ -L "$x/$p" ] || { echo "image-rootfs: /$p is in no extracted package" >&2; return 1; }
		mkdir -p "$out/$(dirname "$p")"
		cp -a "$x/$p" "$out/$p"
		[ -L "$x/$p" ] || return 0
		t=$(readlink "$x/$p")
		case "$t" in
		/*) p=${t#/} ;;
		*) p=$(dirname "$p")/$t ;;
		esac
		p=$(realpath -m --relative-to=/ "/$p")
	done
}
for l in $libs; do copy_path "$l"; done

# The CA bundle, as update-ca-certificates builds it from ca-certificates.conf
# (every certificate of the mozilla directory, in name order).
mkdir -p "$out/etc/ssl/certs"
find "$x/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort |
	while read -r c; do cat "$c"; [ -z "$(tail -c1 "$c")" ] || echo; done >"$out/etc/ssl/certs/ca-certificates.crt"
n=$(grep -c 'BEGIN CERTIFICATE' "$out/etc/ssl/certs/ca-certificates.crt")
[ "$n" -gt 50 ] || { echo "image-rootfs: only $n CA certificates" >&2; exit 1; }

for p in $pkgs; do
	mkdir -p "$out/usr/share/doc/$p"
	if [ -f "$x/usr/share/doc/$p/copyright" ]; then
		cp "$x/usr/share/doc/$p/copyright" "$out/usr/share/doc/$p/copyright"
	else # a package whose doc directory is a symlink to its source's
		d=$(readlink "$x/usr/share/doc/$p" || true)
		cp "$x/usr/share/doc/${d:-$p}/copyright" "$out/usr/share/doc/$p/copyright"
	fi
done
mkdir -p "$out/var/lib/dpkg/status.d"
cp "$scratch/status.d/"* "$out/var/lib/dpkg/status.d/"

mkdir -p "$out/usr/bin"
install -m 0755 "$bin" "$out/usr/bin/$name"
strip --strip-unneeded "$out/usr/bin/$name"

printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$out/etc/group"
mkdir -p "$out/tmp" "$out/var/lib/snapshot-controller" "$out/home/nonroot"
chmod 1777 "$out/tmp"
chmod 0700 "$out/var/lib/snapshot-controller" "$out/home/nonroot"
echo "image-rootfs: $name: $(wc -w <<<"$pkgs") packages, $(du -sb "$out" | cut -f1) bytes"
