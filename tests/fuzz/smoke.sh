#!/bin/sh
# Run every fuzz target for a while: smoke.sh TARGET_DIR SECONDS [NAME...]
# TARGET_DIR is the build's tests/fuzz (targets fuzz_NAME, seeds in
# corpus/NAME from make fuzz).  SECONDS is the time of each target.
# Prints per target executions, exec/s and coverage (cov:) from
# libFuzzer's final stats; exits 1 if any target crashed.  Runs
# SB_FUZZ_JOBS targets at a time (default: one per core).
set -u
dir=${1:?usage: smoke.sh TARGET_DIR SECONDS [NAME...]}
secs=${2:?usage: smoke.sh TARGET_DIR SECONDS [NAME...]}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
names=${*:-$(cd "$dir" && ls fuzz_* 2>/dev/null | grep -v '\.' | sed 's/^fuzz_//')}
LSAN_OPTIONS="suppressions=$src/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
jobs=${SB_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# One target: its summary line in work/NAME/result, the exit status
# in work/NAME/rc.
fuzz_one() {
	n=$1
	t="$dir/fuzz_$n"
	work="$dir/work/$n"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	if [ ! -x "$t" ]; then
		echo "fuzz $n: no target $t" >"$work/result"
		echo 127 >"$work/rc"
		return
	fi
	seeds=
	[ -d "$dir/corpus/$n" ] && seeds="$dir/corpus/$n"
	dict=
	[ -f "$src/dict/$n.dict" ] && dict="-dict=$src/dict/$n.dict"
	log="$work/fuzz.log"
	# shellcheck disable=SC2086
	"$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	    $dict "$work/corpus" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
	if [ "$rc" = 0 ]; then
		echo "fuzz $n: ok, ${execs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?}"
	else
		echo "fuzz $n: CRASH (exit $rc), ${execs:-?} executions, cov ${cov:-?}"
		grep -A30 '^==[0-9]*==ERROR\|runtime error\|SUMMARY' "$log" | head -40
		ls "$work/artifacts/" 2>/dev/null | sed 's/^/  artifact: /'
	fi >"$work/result"
	echo "$rc" >"$work/rc"
}

running=0
for n in $names; do
	fuzz_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

status=0
ran=0
crashed=0
for n in $names; do
	ran=$((ran + 1))
	cat "$dir/work/$n/result"
	rc=$(cat "$dir/work/$n/rc" 2>/dev/null || echo 1)
	if [ "$rc" != 0 ]; then
		status=1
		[ "$rc" = 127 ] || crashed=$((crashed + 1))
	fi
done
echo "fuzz: $ran targets, $crashed crashed"
exit $status
