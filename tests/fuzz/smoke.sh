#!/bin/sh
# Run every fuzz target for a while: smoke.sh TARGET_DIR SECONDS [NAME...]
# TARGET_DIR is the build's tests/fuzz (targets fuzz_NAME, seeds in
# corpus/NAME from make fuzz).  SECONDS is the time of each target.
# Prints per target executions, exec/s and coverage (cov:) from
# libFuzzer's final stats; exits 1 if any target crashed.
set -u
dir=${1:?usage: smoke.sh TARGET_DIR SECONDS [NAME...]}
secs=${2:?usage: smoke.sh TARGET_DIR SECONDS [NAME...]}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
names=${*:-$(cd "$dir" && ls fuzz_* 2>/dev/null | grep -v '\.' | sed 's/^fuzz_//')}
LSAN_OPTIONS="suppressions=$src/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
status=0
ran=0
crashed=0
for n in $names; do
	t="$dir/fuzz_$n"
	[ -x "$t" ] || { echo "fuzz $n: no target $t"; status=1; continue; }
	work="$dir/work/$n"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
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
	ran=$((ran + 1))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
	if [ "$rc" = 0 ]; then
		echo "fuzz $n: ok, ${execs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?}"
	else
		crashed=$((crashed + 1))
		status=1
		echo "fuzz $n: CRASH (exit $rc), ${execs:-?} executions, cov ${cov:-?}"
		grep -A30 '^==[0-9]*==ERROR\|runtime error\|SUMMARY' "$log" | head -40
		ls "$work/artifacts/" 2>/dev/null | sed 's/^/  artifact: /'
	fi
done
echo "fuzz: $ran targets, $crashed crashed"
exit $status
