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
echo "mhd-build: Debian's libmicrohttpd $1 with our patches, static -> $OUT" >&2
debsrc_fetch libmicrohttpd "$1" "$WORK" "$APT"
src=$DEBSRC_DIR
debsrc_patch "$src" "$here/patches/libmicrohttpd"
debsrc_make "$src" "no HTTPS" '^  HTTPS support: *yes (using libgnutls)' src/microhttpd src/include \
	--disable-doc --disable-examples --disable-curl --enable-https --disable-nls \
	--disable-postprocessor --disable-dauth --disable-httpupgrade
debsrc_install "$OUT" libmicrohttpd.a microhttpd.h
debsrc_finish "$OUT" "$DEBSRC_VERSION" "$src/debian/copyright"
