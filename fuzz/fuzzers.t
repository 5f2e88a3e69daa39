#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fuzzers: builds every fuzz/fuzz_NAME.cc as a libFuzzer target with
# AddressSanitizer and UndefinedBehaviorSanitizer, linked with all of core,
# and runs each for ${FUZZ_SECONDS:-30} seconds on a copy of its seed corpus
# fuzz/corpus/NAME/. TAP: one line for the build and one for the run of each
# target; any crash, leak, UB report or timeout is a failure, and the input
# that caused it is printed (hex) and kept under $BUILD_DIR/fuzz-artifacts.
#
#   SRC_DIR=/path/to/source [FUZZ_SECONDS=30] [CLANGXX=clang++-16] sh fuzz/fuzzers.t
#
# Note: clang 14 cannot compile libstdc++ 12's range adaptors (std::views::*,
# std::ranges::subrange: LLVM bug 44178, fixed in clang 16) and no flag works
# around it; the newest clang++ installed is used, so core should avoid them.
set -u

: "${SRC_DIR:?SRC_DIR must name the source tree}"
secs=${FUZZ_SECONDS:-30}
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

# --- the compiler: CLANGXX, else the newest clang++ whose libFuzzer links ----
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$tmp/probe.cc"
cxx=""
for c in ${CLANGXX:-} clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++ clang++-14; do
  command -v "$c" >/dev/null 2>&1 || continue
  if "$c" -std=c++20 -fsanitize=fuzzer,address,undefined "$tmp/probe.cc" -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
    cxx=$c
    break
  fi
done
if [ -z "$cxx" ]; then
  for t in $targets; do
    name=$(basename "$t" .cc)
    not_ok "build $name: no clang++ with libFuzzer (apt-get install clang libclang-rt-14-dev)"
    [ -f "$tmp/probe.log" ] && diag <"$tmp/probe.log"
    not_ok "run $name # not built"
  done
  exit 1
fi
echo "# compiler: $(command -v "$cxx") ($("$cxx" --version | head -n 1))"

# The same macros the autotools build passes (AM_CPPFLAGS), with the usual
# /usr values, so that every core/*.cc compiles exactly as in the product.
# (ldap: core/ldap_connection.cc, the directory plugin's source, is in core/ too)
pkg_cflags=$(pkg-config --cflags libcrypto libargon2 ldap 2>/dev/null || true)
pkg_libs="$(pkg-config --libs libcrypto libargon2 ldap 2>/dev/null || echo "-lcrypto -largon2 -lldap -llber") -lpthread"
# -fno-sanitize-recover: a UBSan report must stop the run, not scroll by.
san="address,undefined -fno-sanitize-recover=undefined"
set -- -std=c++20 -g -O1 -I"$SRC_DIR" $pkg_cflags \
  -DSYSCONFDIR='"/etc"' -DLIBEXECDIR='"/usr/libexec"' -DLOCALSTATEDIR='"/var"' \
  -DPACKAGE_VERSION_STRING='"fuzz"' -DPKGLIBDIR='"/usr/lib/pam_totp"'

# --- core, once for all targets (with coverage, without libFuzzer's main) ---
mkdir -p "$tmp/core"
core_ok=1
started=0
for src in "$SRC_DIR"/core/*.cc; do
  obj="$tmp/core/$(basename "$src" .cc).o"
  # Two compilers at a time: the machine has two cores.
  ( "$cxx" "$@" -fsanitize=fuzzer-no-link,$san -c "$src" -o "$obj" >"$obj.log" 2>&1 || echo "$src" >>"$tmp/core.failed" ) &
  started=$((started + 1))
  [ $((started % 2)) = 0 ] && wait
done
wait
if [ -s "$tmp/core.failed" ]; then
  core_ok=0
fi

for t in $targets; do
  name=$(basename "$t" .cc)
  short=${name#fuzz_}
  bin="$tmp/$name"

  if [ "$core_ok" = 0 ]; then
    not_ok "build $name: core/*.cc does not compile with $cxx"
    for f in $(cat "$tmp/core.failed"); do
      echo "$f" | diag
      head -n 30 "$tmp/core/$(basename "$f" .cc).o.log" | diag
    done
    not_ok "run $name # not built"
    continue
  fi
  if ! "$cxx" "$@" -fsanitize=fuzzer,$san "$t" "$tmp"/core/*.o $pkg_libs -o "$bin" >"$tmp/$name.build.log" 2>&1; then
    not_ok "build $name"
    head -n 40 "$tmp/$name.build.log" | diag
    not_ok "run $name # not built"
    continue
  fi
  ok "build $name"

  corpus="$tmp/corpus-$short"
  mkdir -p "$corpus" "$tmp/artifacts-$name"
  seeds=0
  if [ -d "$SRC_DIR/fuzz/corpus/$short" ]; then
    cp -R "$SRC_DIR/fuzz/corpus/$short/." "$corpus/"
    seeds=$(ls -A "$corpus" | wc -l)
  fi
  [ "$seeds" -gt 0 ] || echo "# $name: no seed corpus in fuzz/corpus/$short/"

  # -timeout: one input taking 10 s is a hang; the outer timeout guards the
  # whole run in case libFuzzer itself wedges.
  log="$tmp/$name.run.log"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$tmp/artifacts-$name/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" = 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
    ok "run $name for ${secs}s: ${runs:-?} inputs from $seeds seeds, no crash"
  else
    not_ok "run $name (exit $rc)"
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
  fi
done

exit "$failed"
