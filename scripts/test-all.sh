#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The one test command (README, .ci/run): installs dependencies, builds and
# runs every suite in a normal build and in an ASan+UBSan build, then the
# suites that need a whole installed product (real sshd and su logins, the
# Debian package, the fuzzers), and ends with "N passed, N failed, N skipped".
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
out="$src/_build"
jobs=$(nproc 2>/dev/null || echo 2)

started=$(date +%s)
# Each step prints the seconds since the start, so a slow suite shows itself.
step() { printf '\n=== [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

step "dependencies"
"$src/scripts/install-deps.sh" || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

step "autoreconf"
(cd "$src" && autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

rm -rf "$out"
mkdir -p "$out"
build_failed=0

build_and_check() {  # NAME CONFIGURE-ARGS...
  name=$1; shift
  step "build: $name"
  mkdir -p "$out/$name"
  if ! (cd "$out/$name" && "$src/configure" -q --prefix="$out/$name/inst" "$@" >configure.out 2>&1); then
    cat "$out/$name/configure.out"; cat "$out/$name/config.log" | tail -30
    echo "configure ($name) failed"; build_failed=1; return
  fi
  if ! (cd "$out/$name" && make -j"$jobs" >make.out 2>&1); then
    tail -60 "$out/$name/make.out"; echo "build ($name) failed"; build_failed=1; return
  fi
  step "make check: $name"
  (cd "$out/$name" && make -j"$jobs" check >check.out 2>&1)
  grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL|# )' "$out/$name/check.out" | grep -vE '^PASS' | head -200
  grep -c '^PASS' "$out/$name/check.out" | sed 's/^/  passed lines: /'
  for log in $(grep -l -E '^(not ok|Bail out)' $(find "$out/$name" -name '*.log' -path '*tests*') 2>/dev/null); do
    echo "--- $log"; grep -E -B2 -A12 '^(not ok|Bail out)' "$log" | head -80
  done
}

# -g1 (line tables: enough for sanitizer and crash stack traces) and -O1
# for the sanitizer build (what ASan recommends) halve the compile time of
# the sanitizer build and cut the normal one by a quarter: CI time counts.
build_and_check normal "CXXFLAGS=-O2 -g1"
build_and_check asan --enable-sanitizers "CXXFLAGS=-O1 -g1"

# Whole-product suites: each tests/*/*.t and fuzz/*.t is a TAP script that
# gets the normal build and installs what it needs; it skips (TAP SKIP) with
# a reason when it cannot run here (e.g. not root).
if [ "$build_failed" = 0 ]; then
  (cd "$out/normal" && make install >install.out 2>&1) || { tail -30 "$out/normal/install.out"; build_failed=1; }
fi
if [ "$build_failed" = 0 ]; then
  for t in "$src"/tests/*/*.t "$src"/fuzz/*.t; do
    [ -f "$t" ] || continue
    name=$(basename "$(dirname "$t")")-$(basename "$t" .t)
    step "suite: $name"
    SRC_DIR="$src" BUILD_DIR="$out/normal" PREFIX="$out/normal/inst" ASAN_BUILD_DIR="$out/asan" \
      "$src/scripts/tap-run.sh" "$out/extra" "$name" sh "$t"
    grep -E '^(not ok|# |Bail out)' "$out/extra/$name.log" | head -40
  done
fi

step "summary"
if [ "$build_failed" != 0 ]; then
  mkdir -p "$out/extra"
  printf ':test-result: ERROR build\n' > "$out/extra/build.trs"
fi
"$src/scripts/summarize-tests.sh" "$out"
