# scripts/debsrc.sh -- sourced by the scripts that build a library from
# Debian's own source (curl-build.sh, mhd-build.sh).  Not a program.
#
# debsrc_begin PKG VERSION OUT
#   the common start: VERSION is the installed PKG's (empty: not installed),
#   OUT/.done marks a finished build (exit 0 then), one build at a time
#   under OUT's parent (flock), and a scratch directory removed on exit.
#   Sets OUT (absolute), WORK, APT (OUT's parent/apt) and DEBSRC_LOG.
# debsrc_make SRC WHAT CHECK LIBDIR INCDIR CONFIGURE-ARGS...
#   ./configure in SRC for a static library installed into $WORK/inst, with
#   CONFIGURE-ARGS; its summary must match CHECK (grep; WHAT names what it
#   says in the error); then make and install LIBDIR and INCDIR (under SRC).
# debsrc_install OUT LIB INCLUDE...
#   OUT emptied, then $WORK/inst/lib/LIB into OUT/lib and each
#   $WORK/inst/include/INCLUDE (file or directory) into OUT/include.
# debsrc_finish OUT VERSION COPYRIGHT
#   records VERSION and the copyright file in OUT, and marks it done.
# debsrc_fetch SOURCE VERSION WORK APT
#   apt-get source SOURCE=VERSION into WORK, with a private sources list and
#   state in APT (the system's apt configuration is not touched, and apt
#   checks the archive's signatures as usual).  When the archive no longer
#   has VERSION (the machine is behind), its newest version instead, as
#   scripts/image-rootfs.sh does for packages.  Sets DEBSRC_DIR (the unpacked
#   tree, Debian's series applied) and DEBSRC_VERSION.  Logs to $DEBSRC_LOG.
# debsrc_patch DIR PATCHDIR
#   applies PATCHDIR/*.patch (ours: each says why, and what it measured) in
#   name order.
# debsrc_fail WHAT
#   prints WHAT failed and the log's tail, and exits 1.

debsrc_fail() {
	echo "$(basename "$0"): $1 failed; the last lines of its log:" >&2
	tail -n 20 "$DEBSRC_LOG" >&2
	exit 1
}

debsrc_fetch() {
	local source=$1 version=$2 work=$3 apt=$4 codename newest
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || { echo "$(basename "$0"): no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	cat >"$apt/sources.list" <<SRC
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
SRC
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
	apt-get "${opts[@]}" update >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "apt-get update (deb-src)"
	if ! (cd "$work" && apt-get "${opts[@]}" source --only-source "$source=$version") >>"$DEBSRC_LOG" 2>&1; then
		newest=$(apt-cache "${opts[@]}" showsrc "$source" 2>>"$DEBSRC_LOG" | sed -n 's/^Version: //p' | sort -V | tail -n 1)
		[ -n "$newest" ] && [ "$newest" != "$version" ] || debsrc_fail "apt-get source $source=$version"
		echo "$(basename "$0"): the archive no longer has $source $version; using $newest" >&2
		version=$newest
		(cd "$work" && apt-get "${opts[@]}" source --only-source "$source=$version") >>"$DEBSRC_LOG" 2>&1 ||
			debsrc_fail "apt-get source $source=$version"
	fi
	DEBSRC_VERSION=$version
	DEBSRC_DIR=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "$source-*" | head -n 1)
	[ -n "$DEBSRC_DIR" ] || debsrc_fail "unpacking $source"
}

debsrc_patch() {
	local dir=$1 patches=$2 p
	for p in "$patches"/*.patch; do
		[ -f "$p" ] || continue
		patch -d "$dir" -p1 -s --no-backup-if-mismatch <"$p" >>"$DEBSRC_LOG" 2>&1 ||
			debsrc_fail "applying $(basename "$p")"
	done
}

debsrc_begin() {
	local pkg=$1 base
	[ -n "$2" ] || {
		echo "$(basename "$0"): $pkg is not installed (scripts/deps.sh installs it;" \
			"or link the system's shared library: make CURL=system MHD=system)" >&2
		exit 1
	}
	[ -f "$3/.done" ] && exit 0
	local t
	for t in apt-get dpkg-source patch make flock; do
		command -v "$t" >/dev/null || { echo "$(basename "$0"): $t is not installed (scripts/deps.sh)" >&2; exit 1; }
	done
	mkdir -p "$(dirname "$3")"
	base=$(cd "$(dirname "$3")" && pwd)
	OUT=$base/$(basename "$3")
	APT=$base/apt
	exec 9>"$base/.lock"
	flock 9
	[ -f "$OUT/.done" ] && exit 0
	WORK=$(mktemp -d "$base/build.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$WORK'" EXIT
	DEBSRC_LOG=$WORK/build.log
	: >"$DEBSRC_LOG"
}

debsrc_finish() {
	cp "$3" "$1/copyright"
	echo "$2" >"$1/version"
	touch "$1/.done"
}

debsrc_make() {
	local src=$1 what=$2 check=$3 libdir=$4 incdir=$5
	shift 5
	(cd "$src" && ./configure --prefix="$WORK/inst" --disable-shared --enable-static --with-pic \
		--disable-dependency-tracking "$@") >>"$DEBSRC_LOG" 2>&1 || debsrc_fail configure
	grep -q -- "$check" "$DEBSRC_LOG" || debsrc_fail "configure ($what)"
	make -C "$src/$libdir" -j"$(nproc)" >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C $libdir"
	make -C "$src/$libdir" install >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C $libdir install"
	make -C "$src/$incdir" install >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C $incdir install"
}

debsrc_install() {
	local out=$1 lib=$2 inc
	shift 2
	rm -rf "$out"
	mkdir -p "$out/lib" "$out/include"
	cp "$WORK/inst/lib/$lib" "$out/lib/"
	for inc in "$@"; do
		cp -r "$WORK/inst/include/$inc" "$out/include/"
	done
}
