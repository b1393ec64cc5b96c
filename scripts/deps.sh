#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is
# missing.  Idempotent and quiet when everything is there.  Only the Debian
# archive is used; the Go tools come from the Go module proxy (tests/tools).
set -euo pipefail
pkgs=(build-essential pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev
      libmicrohttpd-dev libsqlite3-dev openssl curl clang clang-format clang-tidy
      libclang-rt-14-dev wrk sqlite3 valgrind procps psmisc iproute2 python3
      python3-yaml jq umoci util-linux coreutils binutils prometheus gnuplot-nox linux-perf
      autoconf automake libtool dpkg-dev strace)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
