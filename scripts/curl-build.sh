#!/usr/bin/env bash
# curl-build.sh VERSION OUT -- build the libcurl both binaries link: Debian's
# own curl source at VERSION (the installed libcurl4-openssl-dev's; security
# patches included), configured for HTTP and HTTPS over OpenSSL only, as a
# static library in OUT (lib/libcurl.a, include/curl/*.h, copyright, version,
# features).
#
# Why: Debian's libcurl.so.4 brings 29 more shared objects into the process
# (LDAP, RTMP, SSH, Kerberos, SASL, IDN, PSL, brotli, zstd, nghttp2, and
# GnuTLS through libldap and librtmp), about 3.7 MB of idle RSS for
# protocols the controller never speaks (docs/performance.md, "Our own
# libcurl").  OpenSSL stays the system's shared library.
#
# How (scripts/debsrc.sh): apt-get source; the OpenSSL flavour as Debian
# builds it (the last two patches of the series, the GnuTLS and NSS renames,
# taken off); ours from scripts/patches/curl/; autoreconf, configure, `make
# -C lib`.  The Makefile names OUT after the version and a hash of the recipe.
# About a minute on 2 cores.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VERSION OUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/debsrc.sh"
debsrc_begin libcurl4-openssl-dev "$1" "$2"
for t in autoreconf libtoolize; do
	command -v "$t" >/dev/null || { echo "curl-build: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done
echo "curl-build: Debian's curl $1, HTTP and HTTPS only, static -> $OUT" >&2
debsrc_fetch curl "$1" "$WORK" "$APT"
src=$DEBSRC_DIR

# Debian's OpenSSL flavour: its series ends with the GnuTLS and NSS patches,
# which debian/rules pops before configuring that flavour.
series=$src/debian/patches/series
[ "$(grep -v '^\s*\(#\|$\)' "$series" | tail -n 2 | tr '\n' ' ')" = "90_gnutls.patch 99_nss.patch " ] ||
	{ echo "curl-build: the series no longer ends with 90_gnutls.patch 99_nss.patch; check debian/rules" >&2; exit 1; }
for p in 99_nss.patch 90_gnutls.patch; do
	patch -d "$src" -R -p1 -s <"$src/debian/patches/$p" >>"$DEBSRC_LOG" 2>&1 || debsrc_fail "taking off $p"
done
debsrc_patch "$src" "$here/patches/curl"

(cd "$src" && autoreconf -fi) >>"$DEBSRC_LOG" 2>&1 || debsrc_fail autoreconf
debsrc_make "$src" "protocols other than HTTP and HTTPS" '^  Protocols:  *HTTP HTTPS$' lib include \
	--with-openssl --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
	--without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 --without-nghttp2 \
	--without-librtmp --without-libssh2 --without-libssh --without-gssapi --without-libgsasl \
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
	--disable-gopher --disable-mqtt --disable-manual --disable-libcurl-option --disable-ntlm \
	--disable-ntlm-wb --disable-tls-srp --disable-unix-sockets --disable-cookies --disable-doh \
	--disable-mime --disable-dateparse --disable-netrc --disable-progress-meter --disable-dnsshuffle \
	--disable-get-easy-options --disable-alt-svc --disable-headers-api --disable-hsts \
	--disable-websockets --disable-crypto-auth --disable-kerberos-auth --disable-negotiate-auth \
	--disable-aws
debsrc_install "$OUT" libcurl.a curl
sed -n '/^  curl version:/,/^  Features:/p' "$DEBSRC_LOG" >"$OUT/features"
debsrc_finish "$OUT" "$DEBSRC_VERSION" "$src/debian/copyright"
