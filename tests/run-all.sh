#!/bin/sh
# The whole test suite, as CI runs it: install what is missing, build
# with -Werror under AddressSanitizer and UndefinedBehaviorSanitizer, run
# every test (make check), look for secrets in every log it left, run a
# set of integration tests under valgrind memcheck in a second, plain
# build (about 4 min), check the release tarball (make distcheck),
# smoke-run the fuzz targets when clang is there (30 s each, one per
# core at a time: about 3 min), and end
# with one line "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-check"
jobs=$(nproc 2>/dev/null || echo 2)

sh "$top/tests/deps.sh" || exit 1
(cd "$top" && sh autogen.sh >/dev/null 2>&1) || { echo "autogen failed"; exit 1; }
mkdir -p "$build"
cd "$build" || exit 1
"$top/configure" -q --enable-werror --enable-asan || exit 1
make -s -j"$jobs" || exit 1

status=0
touch "$build/.check-start"
# Every integration test's work directory (its configs and logs) is kept
# under $workdirs for the secrets check, then removed; those of failed
# tests are also named in their logs and stay for diagnosis.
workdirs="$build/workdirs"
rm -rf "$workdirs"
SB_KEEP_WORKDIR=$workdirs make -s -j"$jobs" check || status=1

# No configured secret in any log the suite left.
secrets=pass
CHECK_SECRETS_SINCE="$build/.check-start" \
	sh "$top/tests/check-secrets.sh" "$build" "$top" "${TMPDIR:-/tmp}" \
	"$workdirs" || { secrets=fail; status=1; }
# Of the work directories, keep those of failed tests (their logs name
# them), for diagnosis as before.
kept=$(find tests -name '*.log' -exec sed -n 's/^# work directory kept: //p' {} + 2>/dev/null)
for d in "$workdirs"/sb-*; do
	[ -d "$d" ] || continue
	printf '%s\n' "$kept" | grep -qxF "$d" || rm -rf "$d"
done
rmdir "$workdirs" 2>/dev/null

# Valgrind memcheck (tests/valgrind.sh) over a set of integration tests,
# in a plain build: it sees uninitialised reads, which ASan cannot.
valgrind=skipped
if [ "${SB_SKIP_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
	if sh "$top/tests/valgrind.sh" "$top/build-valgrind"; then
		valgrind=pass
	else
		valgrind=fail
		status=1
	fi
fi
echo "valgrind: $valgrind"

distcheck=pass
if [ "${SB_SKIP_DISTCHECK:-0}" != 1 ]; then
	make -s -j"$jobs" distcheck >distcheck.log 2>&1 ||
		{ distcheck=fail; status=1; tail -40 distcheck.log; }
fi

# Fuzz smoke (README "Fuzzing"): a second build, instrumented for
# libFuzzer, runs each target briefly from the seed corpora.  Needs clang;
# a crash fails the run.
fuzz=skipped
if [ "${SB_SKIP_FUZZ:-0}" != 1 ] && command -v clang >/dev/null 2>&1; then
	fuzzbuild="$top/build-fuzz"
	mkdir -p "$fuzzbuild"
	if (cd "$fuzzbuild" && CC=clang \
	    CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -g -O1" \
	    LDFLAGS="-fsanitize=address,undefined" \
	    "$top/configure" -q --enable-fuzz >fuzz-build.log 2>&1 &&
	    make -s -j"$jobs" fuzz >>fuzz-build.log 2>&1); then
		sh "$top/tests/fuzz/smoke.sh" "$fuzzbuild/tests/fuzz" \
		    "${SB_FUZZ_SECONDS:-30}" && fuzz=pass || fuzz=fail
	else
		fuzz=fail
		tail -40 "$fuzzbuild/fuzz-build.log"
	fi
	[ "$fuzz" = pass ] || status=1
fi
echo "fuzz smoke: $fuzz"

# Every TAP test case of every test program counts once.
passed=$(cat $(find . -name '*.trs' -not -path './switchboard-*') 2>/dev/null |
	grep -c '^:test-result: \(PASS\|XFAIL\)')
failed=$(cat $(find . -name '*.trs' -not -path './switchboard-*') 2>/dev/null |
	grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)')
skipped=$(cat $(find . -name '*.trs' -not -path './switchboard-*') 2>/dev/null |
	grep -c '^:test-result: SKIP')
for r in "$distcheck" "$secrets"; do
	if [ "$r" = pass ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
for r in "$fuzz" "$valgrind"; do
	case $r in
	pass) passed=$((passed + 1)) ;;
	fail) failed=$((failed + 1)) ;;
	esac
done
[ "$status" = 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
