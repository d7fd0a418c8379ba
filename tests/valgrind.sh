#!/bin/sh
# Integration tests under valgrind memcheck: valgrind.sh BUILD_DIR [TEST...]
# memcheck sees what AddressSanitizer cannot, above all reads of
# uninitialised memory, and the two do not mix: BUILD_DIR is a build
# without sanitizers, configured here (CFLAGS="-g -O1" --enable-werror)
# when it has no Makefile yet.  Each TEST (a name like test_delivery, or
# a path) runs with SB_VALGRIND=1 (sbtest.py: every daemon and CLI run
# under memcheck, and a check that no log reports an error); two at a
# time (SB_VALGRIND_JOBS).  Prints per test passed/failed and its wall
# time, then a total line; exits 1 on any failure.
set -u
if [ "${1:-}" = --one ]; then
	# One test, run by xargs below: TAP output to BUILD/valgrind/NAME.log.
	build=$2 src=$3 t=$4
	name=$(basename "$t" .py)
	case $t in */*) ;; *) t="$src/tests/integration/$name.py" ;; esac
	out="$build/valgrind/$name.log"
	start=$(date +%s)
	SB_SRCDIR=$src SB_BUILDDIR=$build SB_BINARY=$build/switchboard \
	    SB_VALGRIND=${SB_VALGRIND:-1} PYTHONDONTWRITEBYTECODE=1 \
	    python3 "$t" >"$out" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if grep -q '^1\.\.0 # SKIP' "$out"; then
		result=skipped
	elif [ "$rc" = 0 ] && grep -q '^1\.\.[1-9]' "$out" &&
	    ! grep -q '^not ok\|^Bail out!' "$out"; then
		result=passed
	else
		result=failed
	fi
	echo "valgrind $name: $result ($secs s, $(grep -c '^ok' "$out") checks)"
	if [ "$result" = failed ]; then
		grep -A40 '^not ok\|^Bail out!' "$out" | head -80
		grep '^# work directory kept' "$out"
	fi
	exit 0
fi

build=${1:?usage: valgrind.sh BUILD_DIR [TEST...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${SB_VALGRIND_JOBS:-2}
# Together these run most of the daemon: Jetstream (delivery), Mastodon,
# Nostr (reload: all three sources at once), delivery with retries and
# Retry-After, the seven chat platforms, the listener and slash commands
# (listener, hostile), replies and publishing on all three networks,
# socket mode, reload, a failing store.  Longest first; about 4 minutes
# on two cores.  Left out: test_nostr and test_notify (they time the
# daemon's first seconds: a REQ's since within 2 s of the test's clock,
# watchdog pings counted in the first 2 s), test_chaos, test_resume,
# test_state_tools and test_cli (90, 90, 90 and 45 s, little the set
# does not already run), test_flood (a throughput limit).
[ $# -gt 0 ] || set -- test_delivery test_reload test_store_failure \
	test_platforms test_mastodon test_hostile test_reply_nostr \
	test_socket_mode test_listener test_reply

command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed"; exit 1; }
mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && CFLAGS="-g -O1" "$src/configure" -q --enable-werror) ||
		{ echo "valgrind: configure failed"; exit 1; }
fi
if grep -q '^\(SB_\)\{0,1\}\(C\|LD\)FLAGS *=.*-fsanitize' "$build/Makefile"; then
	echo "valgrind: $build is a sanitizer build; valgrind needs a plain one"
	exit 1
fi
make -s -C "$build" -j"$jobs" switchboard >"$build/valgrind-build.log" 2>&1 ||
	{ tail -40 "$build/valgrind-build.log"; echo "valgrind: build failed"; exit 1; }

rm -rf "$build/valgrind"
mkdir -p "$build/valgrind"
start=$(date +%s)
printf '%s\n' "$@" | xargs -n1 -P"$jobs" sh "$0" --one "$build" "$src" |
	tee "$build/valgrind/summary"
passed=$(grep -c '^valgrind [^ ]*: passed' "$build/valgrind/summary")
failed=$(grep -c '^valgrind [^ ]*: failed' "$build/valgrind/summary")
skipped=$(grep -c '^valgrind [^ ]*: skipped' "$build/valgrind/summary")
[ $((passed + failed + skipped)) = $# ] || failed=$(($# - passed - skipped))
echo "valgrind: $passed passed, $failed failed, $skipped skipped" \
    "($(($(date +%s) - start)) s)"
[ "$failed" = 0 ]
