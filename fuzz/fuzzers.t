#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fuzzers, CI's short run: builds every fuzz/fuzz_NAME.cc as a libFuzzer
# target with AddressSanitizer and UndefinedBehaviorSanitizer (fuzz/build.sh,
# shared with scripts/fuzz.sh, the long run), and runs each for
# ${FUZZ_SECONDS:-8} seconds on a copy of its seed corpus fuzz/corpus/NAME/,
# two targets at a time. TAP: one line for the build and one for the run of
# each target; any crash, leak, UB report or timeout is a failure, and the
# input that caused it is printed (hex) and kept under
# $BUILD_DIR/fuzz-artifacts.
#
#   SRC_DIR=/path/to/source [FUZZ_SECONDS=8] [FUZZ_OPT=-O0] [CLANGXX=clang++-16] sh fuzz/fuzzers.t
set -u

: "${SRC_DIR:?SRC_DIR must name the source tree}"
secs=${FUZZ_SECONDS:-8}
start=$(date +%s)
case $secs in '' | *[!0-9]*) echo "Bail out! FUZZ_SECONDS must be a number of seconds"; exit 1 ;; esac

targets=$(ls "$SRC_DIR"/fuzz/fuzz_*.cc 2>/dev/null | sort)
count=$(printf '%s\n' $targets | grep -c . || true)
if [ "$count" -eq 0 ]; then
  echo "1..1"
  echo "not ok 1 - no fuzz targets (fuzz/fuzz_*.cc) in $SRC_DIR"
  exit 1
fi
echo "1..$((2 * count))"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzzers.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
diag() { sed -e 's/^/# /'; }

# -O0: compiles in about half the time; a short run needs coverage of the
# seeds more than speed (scripts/fuzz.sh, the long run, builds with -O1).
FUZZ_OPT=${FUZZ_OPT:--O0}
. "$SRC_DIR/fuzz/build.sh"
if ! fuzz_find_cxx "$tmp"; then
  for t in $targets; do
    name=$(basename "$t" .cc)
    not_ok "build $name: no clang++ with libFuzzer (apt-get install clang libclang-rt-14-dev)"
    [ -f "$tmp/probe.log" ] && diag <"$tmp/probe.log"
    not_ok "run $name # not built"
  done
  exit 1
fi
echo "# compiler: $(command -v "$fuzz_cxx") ($("$fuzz_cxx" --version | head -n 1))"

# core and the targets' extra sources, once for all targets.
build_start=$(date +%s)
core_ok=1
# shellcheck disable=SC2086 # one path per target
fuzz_build_objects "$tmp" $targets || core_ok=0
echo "# compiled in $(($(date +%s) - build_start)) s"

# Runs one target on a copy of its seed corpus; leaves its TAP verdict in
# $tmp/NAME.result: "ok" or "not ok", the description, then diagnostics.
run_one() {
  name=$1
  short=${name#fuzz_}
  res="$tmp/$name.result"
  corpus="$tmp/corpus-$short"
  mkdir -p "$corpus" "$tmp/artifacts-$name"
  seeds=0
  if [ -d "$SRC_DIR/fuzz/corpus/$short" ]; then
    cp -R "$SRC_DIR/fuzz/corpus/$short/." "$corpus/"
    seeds=$(ls -A "$corpus" | wc -l)
  fi
  # -timeout: one input taking 10 s is a hang; the outer timeout guards the
  # whole run in case libFuzzer itself wedges.
  log="$tmp/$name.run.log"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout -k 10 $((secs + 120)) "$tmp/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$tmp/artifacts-$name/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
  if [ "$rc" = 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
    printf 'ok\nrun %s for %ss: %s inputs from %s seeds (%s), no crash\n' "$name" "$secs" "${runs:-?}" "$seeds" "${cov:-?}" >"$res"
    [ "$seeds" -gt 0 ] || echo "# $name: no seed corpus in fuzz/corpus/$short/" >>"$res"
    return
  fi
  {
    printf 'not ok\nrun %s (exit %s)\n' "$name" "$rc"
    # The report and the top of its stack; then libFuzzer's own last words.
    grep -E 'ERROR|SUMMARY|runtime error|^ *#[0-5] |timeout|out-of-memory' "$log" | head -n 24 | diag
    tail -n 8 "$log" | diag
    for a in "$tmp/artifacts-$name"/*; do
      [ -f "$a" ] || continue
      echo "# input $(basename "$a") ($(wc -c <"$a") bytes):"
      od -An -tx1 "$a" | head -n 16 | diag
      if [ -n "${BUILD_DIR:-}" ] && mkdir -p "$BUILD_DIR/fuzz-artifacts" 2>/dev/null; then
        cp "$a" "$BUILD_DIR/fuzz-artifacts/$name-$(basename "$a")" && echo "# kept as $BUILD_DIR/fuzz-artifacts/$name-$(basename "$a")"
      fi
    done
  } >"$res"
}

# Links, then runs, two targets at a time (the machine has two cores); the
# TAP lines come out in order, the build line of each target first.
set -- $targets
while [ $# -gt 0 ]; do
  pair=$1
  shift
  if [ $# -gt 0 ]; then
    pair="$pair $1"
    shift
  fi
  runnable=""
  if [ "$core_ok" = 1 ]; then
    for t in $pair; do
      ( fuzz_link "$tmp" "$t" && : >"$tmp/$(basename "$t" .cc).linked" ) &
    done
    wait
  fi
  for t in $pair; do
    name=$(basename "$t" .cc)
    if [ "$core_ok" = 0 ]; then
      not_ok "build $name: the sources do not compile with $fuzz_cxx"
      for f in $(cat "$tmp/obj.failed"); do
        echo "$f" | diag
        head -n 30 "$tmp/obj/$(echo "${f#"$SRC_DIR"/}" | sed 's|/|_|g; s|\.cc$|.o|').log" | diag
      done
    elif [ -f "$tmp/$name.linked" ]; then
      ok "build $name"
      runnable="$runnable $name"
      continue
    else
      not_ok "build $name"
      head -n 40 "$tmp/$name.build.log" | diag
    fi
    echo "not ok" >"$tmp/$name.result"
    echo "run $name # not built" >>"$tmp/$name.result"
  done
  for name in $runnable; do
    run_one "$name" &
  done
  wait
  for t in $pair; do
    name=$(basename "$t" .cc)
    verdict=$(sed -n 1p "$tmp/$name.result")
    what=$(sed -n 2p "$tmp/$name.result")
    if [ "$verdict" = ok ]; then ok "$what"; else not_ok "$what"; fi
    sed -n '3,$p' "$tmp/$name.result"
  done
done

echo "# took $(($(date +%s) - start)) s"
exit "$failed"
