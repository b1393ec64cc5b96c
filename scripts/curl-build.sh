#!/usr/bin/env bash
# curl-build.sh VERSION OUT -- build the libcurl both binaries link: Debian's
# own curl source at VERSION (the version of the installed
# libcurl4-openssl-dev, security patches included), configured for HTTP and
# HTTPS over OpenSSL only, as a static library in OUT (lib/libcurl.a,
# include/curl/*.h, copyright).
#
# Why: Debian's libcurl.so.4 brings 29 more shared objects into the process
# (LDAP, RTMP, SSH, Kerberos, SASL, IDN, PSL, brotli, zstd, nghttp2, and
# GnuTLS through libldap and librtmp), about 3.7 MB of idle RSS for
# protocols the controller never speaks (docs/performance.md, "Our own
# libcurl").  OpenSSL stays the system's shared library.
#
# How: apt-get source with a private sources list and state under OUT's
# parent (the system's apt configuration is not touched), so apt checks the
# archive's signatures as usual; the OpenSSL flavour is what Debian builds:
# the last two patches of the series (GnuTLS and NSS renames) are taken off,
# ours in scripts/curl-patches/ are applied, then autoreconf, configure and
# `make -C lib`.  Idempotent: OUT/.done marks a finished build (the Makefile
# names OUT after the version and a hash of this script and the patches).
# About a minute on 2 cores.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VERSION OUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
version=$1 out=$2
[ -n "$version" ] || {
	echo "curl-build: no Debian version of libcurl4-openssl-dev (scripts/deps.sh installs it;" \
		"or build with the system's shared libcurl: make CURL=system)" >&2
	exit 1
}
[ -f "$out/.done" ] && exit 0
for t in apt-get dpkg-source autoreconf libtoolize make; do
	command -v "$t" >/dev/null || { echo "curl-build: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "curl-build: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
base=$(cd "$(dirname "$out")" && pwd)
out=$base/$(basename "$out")
apt=$base/apt
# One build at a time (two makes may ask at once on a fresh machine).
exec 9>"$base/.lock"
flock 9
[ -f "$out/.done" ] && exit 0
work=$(mktemp -d "$base/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
cat >"$apt/sources.list" <<EOF
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
EOF
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
log=$work/build.log
echo "curl-build: Debian's curl $version, HTTP and HTTPS only, static -> $out" >&2
fail() { echo "curl-build: $1 failed; the last lines of its log:" >&2; tail -n 20 "$log" >&2; exit 1; }
apt-get "${aptopts[@]}" update >"$log" 2>&1 || fail "apt-get update (deb-src)"
# The installed libcurl4-openssl-dev's version; when the archive no longer
# has that build (the machine is behind), its newest curl source instead,
# as scripts/image-rootfs.sh does for packages.  OUT/version says which.
if ! (cd "$work" && apt-get "${aptopts[@]}" source --only-source "curl=$version") >>"$log" 2>&1; then
	newest=$(apt-cache "${aptopts[@]}" showsrc curl 2>>"$log" | sed -n 's/^Version: //p' | sort -V | tail -n 1)
	[ -n "$newest" ] && [ "$newest" != "$version" ] || fail "apt-get source curl=$version"
	echo "curl-build: the archive no longer has curl $version; using $newest" >&2
	version=$newest
	(cd "$work" && apt-get "${aptopts[@]}" source --only-source "curl=$version") >>"$log" 2>&1 ||
		fail "apt-get source curl=$version"
fi
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'curl-*' | head -n 1)
[ -n "$src" ] || fail "unpacking the source"

# Debian's OpenSSL flavour: its series ends with the GnuTLS and NSS patches,
# which debian/rules pops before configuring that flavour.
series=$src/debian/patches/series
[ "$(grep -v '^\s*\(#\|$\)' "$series" | tail -n 2 | tr '\n' ' ')" = "90_gnutls.patch 99_nss.patch " ] ||
	{ echo "curl-build: the series no longer ends with 90_gnutls.patch 99_nss.patch; check debian/rules" >&2; exit 1; }
for p in 99_nss.patch 90_gnutls.patch; do
	patch -d "$src" -R -p1 -s <"$src/debian/patches/$p" >>"$log" 2>&1 || fail "taking off $p"
done
# Then ours (scripts/curl-patches/, each with its reason and measurement).
for p in "$here"/curl-patches/*.patch; do
	[ -f "$p" ] || continue
	patch -d "$src" -p1 -s --no-backup-if-mismatch <"$p" >>"$log" 2>&1 || fail "applying $(basename "$p")"
done

conf=(--prefix="$work/inst" --disable-shared --enable-static --with-pic --disable-dependency-tracking
	--with-openssl --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path
	--without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 --without-nghttp2
	--without-librtmp --without-libssh2 --without-libssh --without-gssapi --without-libgsasl
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp
	--disable-gopher --disable-mqtt --disable-manual --disable-libcurl-option --disable-ntlm
	--disable-ntlm-wb --disable-tls-srp --disable-unix-sockets --disable-cookies --disable-doh
	--disable-mime --disable-dateparse --disable-netrc --disable-progress-meter --disable-dnsshuffle
	--disable-get-easy-options --disable-alt-svc --disable-headers-api --disable-hsts
	--disable-websockets --disable-crypto-auth --disable-kerberos-auth --disable-negotiate-auth
	--disable-aws)
(cd "$src" && autoreconf -fi) >>"$log" 2>&1 || fail autoreconf
(cd "$src" && ./configure "${conf[@]}") >>"$log" 2>&1 ||
	fail configure
grep -q '^  Protocols:  *HTTP HTTPS$' "$log" || fail "configure (protocols other than HTTP and HTTPS)"
make -C "$src/lib" -j"$(nproc)" >>"$log" 2>&1 || fail "make -C lib"
make -C "$src/lib" install >>"$log" 2>&1 || fail "make -C lib install"
make -C "$src/include" install >>"$log" 2>&1 || fail "make -C include install"

rm -rf "$out"
mkdir -p "$out/lib" "$out/include"
cp "$work/inst/lib/libcurl.a" "$out/lib/"
cp -r "$work/inst/include/curl" "$out/include/"
cp "$src/debian/copyright" "$out/copyright"
echo "$version" >"$out/version"
sed -n '/^  curl version:/,/^  Features:/p' "$log" >"$out/features"
touch "$out/.done"
