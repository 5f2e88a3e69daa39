#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The long fuzzing run: builds every libFuzzer target (fuzz/fuzz_NAME.cc, the
# same build as CI's fuzz/fuzzers.t, fuzz/build.sh) and runs them in turn,
# each for its share of the minutes given, on its kept corpus
# fuzz/corpus/NAME/. Inputs that reach new coverage are merged back into
# that corpus, minimised with libFuzzer's merge (-set_cover_merge=1, else
# -merge=1, on edges: only what adds coverage, so the corpus stays small).
# Per target it prints executions, exec/s, coverage (cov: edges, ft:
# features, as libFuzzer counts them at the end), the corpus size and the
# crashes; any crash, leak, UB report or timeout fails
# the run (exit 1) and its input is kept under the build directory.
#
#   sh scripts/fuzz.sh --minutes N [--jobs J] [TARGET...]
#
# TARGET: config, record, helper_request, ... (default: all). --jobs J > 1
# runs each target with libFuzzer's -fork=J (J processes). The machine may
# be shared: run it under `nice -n 19`. Environment: CLANGXX (the compiler),
# FUZZ_BUILD_DIR (default _build/fuzz-run; rebuilt on every run).
set -u

usage() {
  echo "usage: $0 --minutes N [--jobs J] [TARGET...]" >&2
  exit 2
}

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
export SRC_DIR
minutes=""
jobs=1
names=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) [ $# -ge 2 ] || usage; minutes=$2; shift 2 ;;
    --minutes=*) minutes=${1#*=}; shift ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) names="$names ${1#fuzz_}"; shift ;;
  esac
done
case $minutes in '' | *[!0-9]* | 0) usage ;; esac
case $jobs in '' | *[!0-9]* | 0) usage ;; esac

targets=""
if [ -z "$names" ]; then
  targets=$(ls "$SRC_DIR"/fuzz/fuzz_*.cc 2>/dev/null | sort)
else
  for n in $names; do
    [ -f "$SRC_DIR/fuzz/fuzz_$n.cc" ] || { echo "no target $n (fuzz/fuzz_$n.cc)" >&2; exit 2; }
    targets="$targets $SRC_DIR/fuzz/fuzz_$n.cc"
  done
fi
count=$(printf '%s\n' $targets | grep -c . || true)
[ "$count" -gt 0 ] || { echo "no fuzz targets in $SRC_DIR/fuzz" >&2; exit 1; }
secs=$((minutes * 60 / count))
[ "$secs" -ge 1 ] || secs=1

out=${FUZZ_BUILD_DIR:-$SRC_DIR/_build/fuzz-run}
rm -rf "$out"
mkdir -p "$out/artifacts" || exit 1

. "$SRC_DIR/fuzz/build.sh"
fuzz_find_cxx "$out" || { echo "no clang++ with libFuzzer (apt-get install clang libclang-rt-14-dev)" >&2; cat "$out/probe.log" >&2; exit 1; }
echo "fuzz.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $count target(s), ${secs}s each, $jobs job(s), $("$fuzz_cxx" --version | head -n 1)"
t0=$(date +%s)
# shellcheck disable=SC2086 # one path per target
if ! fuzz_build_objects "$out" $targets; then
  for f in $(cat "$out/obj.failed"); do
    echo "does not compile: $f" >&2
    head -n 30 "$out/obj/$(echo "${f#"$SRC_DIR"/}" | sed 's|/|_|g; s|\.cc$|.o|').log" >&2
  done
  exit 1
fi
echo "compiled in $(($(date +%s) - t0)) s"

# CPU time of this shell's finished children (user + system), in seconds.
clk=$(getconf CLK_TCK 2>/dev/null || echo 100)
child_cpu() { awk -v clk="$clk" '{ sub(/^.*\) /, ""); printf "%d\n", ($14 + $15) / clk }' /proc/$$/stat 2>/dev/null || echo 0; }
cpu0=$(child_cpu)

failed=0
table="| target | executions | exec/s | cov | ft | corpus | crashes |"
table="$table
|---|---:|---:|---:|---:|---:|---:|"
for t in $targets; do
  name=$(basename "$t" .cc)
  short=${name#fuzz_}
  if ! fuzz_link "$out" "$t"; then
    echo "$short: does not build"
    head -n 40 "$out/$name.build.log"
    failed=1
    continue
  fi
  corpus=$SRC_DIR/fuzz/corpus/$short
  new=$out/new-$short
  arts=$out/artifacts/$short
  mkdir -p "$corpus" "$new" "$arts"
  log=$out/$short.log
  mode="-print_final_stats=1"
  [ "$jobs" -gt 1 ] && mode="-fork=$jobs -ignore_crashes=0"
  # New inputs go to $new; the kept corpus is read, not written.
  # shellcheck disable=SC2086 # $mode is options
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout -k 10 $((secs + 300)) "$out/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    $mode -artifact_prefix="$arts/" "$new" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
  [ -n "$rate" ] || rate=$(echo "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  crashes=$(ls -A "$arts" | wc -l)
  if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes="1 (exit $rc)"; fi
  # The kept corpus becomes the named seeds (written by hand or by a
  # gen_*.cc, always kept) plus a minimal set of inputs (named by their
  # SHA-1, as libFuzzer names them) that reaches every edge the old corpus
  # and the new inputs reach together: libFuzzer's merge, with the greedy
  # set cover where this libFuzzer has it, and without hit counts
  # (-use_counters=0: every edge is kept, but not an input per loop count;
  # the helper's corpus went from 887 inputs to 139 with the same edges).
  min=$out/min-$short
  mkdir -p "$min"
  merge=-merge=1
  "$out/$name" -help=1 2>&1 | grep -q '^ *set_cover_merge' && merge=-set_cover_merge=1
  if ASAN_OPTIONS=detect_leaks=0 "$out/$name" $merge -use_counters=0 "$min" "$corpus" "$new" \
    >"$out/$short.merge.log" 2>&1; then
    seeds=$(cd "$corpus" && ls -A | grep -v -E '^[0-9a-f]{40}$' | while read -r f; do sha1sum <"$f" | cut -c1-40; done)
    for f in $(cd "$corpus" && ls -A | grep -E '^[0-9a-f]{40}$'); do
      [ -f "$min/$f" ] || rm -f "$corpus/$f"
    done
    for f in $(ls -A "$min"); do
      echo "$seeds" | grep -q -x "$f" || cp "$min/$f" "$corpus/$f"
    done
  else
    echo "$short: merge failed (see $out/$short.merge.log); corpus left as it was"
  fi
  size=$(ls -A "$corpus" | wc -l)
  echo "$short: ${runs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?} ft ${ft:-?}, corpus $size, crashes $crashes"
  table="$table
| $short | ${runs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $size | $crashes |"
  if [ "$crashes" != 0 ]; then
    failed=1
    grep -E 'ERROR|SUMMARY|runtime error|^ *#[0-5] |timeout|out-of-memory' "$log" | head -n 24
    for a in "$arts"/*; do
      [ -f "$a" ] || continue
      echo "input $a ($(wc -c <"$a") bytes):"
      od -An -tx1 "$a" | head -n 16
    done
  fi
done
cpu=$(($(child_cpu) - cpu0))
echo
echo "$table"
echo
echo "total: $(($(date +%s) - t0)) s wall, about $cpu s CPU for the runs; $( [ "$failed" = 0 ] && echo "no crash" || echo "FAILED")"
exit "$failed"
