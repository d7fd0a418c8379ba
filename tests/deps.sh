#!/bin/sh
# Install what building and testing switchboard needs on Debian (bookworm
# or later).  Installs only what is missing; needs root (or sudo).
set -e
# clang and libclang-rt-dev (its libFuzzer runtime): the fuzz smoke;
# valgrind: the memcheck pass (tests/valgrind.sh).
pkgs="gcc make autoconf automake pkg-config
	libwebsockets-dev libjansson-dev libcurl4-openssl-dev libconfig-dev
	libsqlite3-dev libuv1-dev libssl-dev libsecp256k1-dev libcmocka-dev
	python3 systemd
	clang libclang-rt-dev valgrind"
# The Nostr interop test runs a relay from the npm registry.
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
