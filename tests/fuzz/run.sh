#!/bin/sh
# tests/fuzz/run.sh NAME DIR SECONDS RSS_MB TIMEOUT - run DIR/fuzz_NAME for
# SECONDS on a copy of tests/fuzz/corpus/NAME (in DIR/corpus/NAME, so the
# committed seeds stay as they are) and print one line:
#   fuzz NAME: N runs, 0 crashes (cov C, ft F, corpus K, E exec/s)
# A crash, leak, sanitizer report, an input slower than TIMEOUT seconds or
# a process above RSS_MB MiB fails: the log's report is printed with the
# reproducer libFuzzer saved (DIR/artifacts/NAME/), and the exit code is 1.
set -eu
name=$1 dir=$2 seconds=$3 rss=$4 timeout=$5
bin=$dir/fuzz_$name
seeds=tests/fuzz/corpus/$name
work=$dir/corpus/$name
artifacts=$dir/artifacts/$name
log=$dir/$name.log
rm -rf "$work" "$artifacts"
mkdir -p "$work" "$artifacts"
if [ -d "$seeds" ]; then
    cp "$seeds"/* "$work"/ 2>/dev/null || true
fi
dict=""
if [ -f "tests/fuzz/$name.dict" ]; then
    dict="-dict=tests/fuzz/$name.dict"
fi
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] &&
    [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
    ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
    export ASAN_SYMBOLIZER_PATH
fi
ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
rc=0
# A hard limit on the whole run: on out-of-memory libFuzzer first prints
# ASan's heap profile, which took over 18 minutes once (a scenario regex
# that expanded to gigabytes), before it saves the reproducer.
limit=$((seconds + 4 * timeout + 60))
# shellcheck disable=SC2086
timeout -k 10 "$limit" "$bin" -max_total_time="$seconds" \
    -rss_limit_mb="$rss" -timeout="$timeout" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" $dict "$work" >"$log" 2>&1 || rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "fuzz $name: killed after $limit s (out of memory or hung); log: $log"
    grep -E 'ERROR|out-of-memory' "$log" | head -n 5 || true
    grep -E '^#[0-9]+' "$log" | tail -n 3 || true
    exit 1
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
if [ "$rc" -eq 0 ] && ! grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$log"; then
    echo "fuzz $name: ${runs:-0} runs, 0 crashes (cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, ${speed:-?} exec/s)"
    exit 0
fi
echo "fuzz $name: FAILED after ${runs:-?} runs (exit $rc); log: $log"
grep -E 'ERROR|runtime error|FUZZ_CHECK|SUMMARY|^ +#[0-9]+ .* in |Test unit written|^Base64' "$log" |
    grep -vE 'fuzzer::|libc_start|in _start|__sanitizer_|pthread_kill|in raise |in abort |in main ' |
    head -n 40 || true
for f in "$artifacts"/*; do
    [ -e "$f" ] || continue
    echo "reproducer: $f ($(wc -c <"$f") bytes)"
    echo "replay:     $bin $f"
done
exit 1
