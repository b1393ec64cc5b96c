#!/usr/bin/env bash
# mhd-build.sh VERSION OUT -- build the libmicrohttpd the webhook links:
# Debian's own libmicrohttpd source at VERSION (the installed
# libmicrohttpd-dev's; its patches included) with our patch
# (scripts/patches/libmicrohttpd/: a TLS reply whose header and body fit in
# one record is sent as one), as a static library in OUT (lib/
# libmicrohttpd.a, include/microhttpd.h, copyright, version).  TLS is still
# the system's shared GnuTLS.  No PostProcessor, authentication or
# "Upgrade" support: the webhook uses none.
#
# Why: docs/performance.md, "Our own libmicrohttpd".  How: scripts/debsrc.sh,
# then configure and `make -C src/microhttpd`.  About 30 s on 2 cores.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VERSION OUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/debsrc.sh"
debsrc_begin libmicrohttpd-dev "$1" "$2"
echo "mhd-build: Debian's libmicrohttpd $1 with our patch, static -> $OUT" >&2
debsrc_fetch libmicrohttpd "$1" "$WORK" "$APT"
src=$DEBSRC_DIR
debsrc_patch "$src" "$here/patches/libmicrohttpd"
conf=(--prefix="$WORK/inst" --disable-shared --enable-static --with-pic --disable-dependency-tracking
	--disable-doc --disable-examples --disable-curl --enable-https --disable-nls
	--disable-postprocessor --disable-dauth --disable-httpupgrade)
(cd "$src" && ./configure "${conf[@]}") >>"$DEBSRC_LOG" 2>&1 || debsrc_fail configure
grep -q '^  HTTPS support: *yes (using libgnutls)' "$DEBSRC_LOG" || debsrc_fail "configure (no HTTPS)"
make -C "$src/src/microhttpd" -j"$(nproc)" >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C src/microhttpd"
make -C "$src/src/microhttpd" install >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C src/microhttpd install"
make -C "$src/src/include" install >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "make -C src/include install"

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/include"
cp "$WORK/inst/lib/libmicrohttpd.a" "$OUT/lib/"
cp "$WORK/inst/include/microhttpd.h" "$OUT/include/"
debsrc_finish "$OUT" "$DEBSRC_VERSION" "$src/debian/copyright"
