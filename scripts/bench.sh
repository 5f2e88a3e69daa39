#!/bin/sh
# The benchmark in one command (not part of the pass/fail tests):
#   sh scripts/bench.sh [pam_bench options]       e.g. --users 400 --rounds 5 --leak 0
# As root: installs the dependencies (scripts/install-deps.sh, which brings
# libpam-google-authenticator), builds pam_totp.so and bench/pam_bench
# out of tree (in $BUILD_DIR if set, kept; else in a temporary directory,
# removed at the end), then runs pam_bench, which prints the tables.
# Options are passed to pam_bench; `sh scripts/bench.sh --help` lists them.
set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "bench.sh: must run as root (installs packages; both modules need root-owned state)" >&2
  exit 1
fi

sh "$SRC_DIR/scripts/install-deps.sh"

made_build=""
cleanup() {
  if [ -n "$made_build" ]; then rm -rf "$made_build"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${BUILD_DIR:-}" ]; then
  build=$BUILD_DIR
  mkdir -p "$build"
else
  build=$(mktemp -d /var/tmp/pam_totp-bench-build.XXXXXX)
  made_build=$build
fi

if [ ! -x "$SRC_DIR/configure" ]; then
  (cd "$SRC_DIR" && autoreconf -fi >/dev/null)
fi
if [ ! -f "$build/Makefile" ]; then
  echo "bench.sh: configuring in $build"
  (cd "$build" && "$SRC_DIR/configure" -q)
fi
echo "bench.sh: building in $build"
make -C "$build" -j2 >/dev/null
make -C "$build" bench/pam_bench >/dev/null

module=$(find "$build" -name pam_totp.so -path '*/.libs/*' | head -n 1)
if [ -z "$module" ]; then
  echo "bench.sh: pam_totp.so was not built in $build" >&2
  exit 1
fi

echo "bench.sh: running $build/bench/pam_bench --totp $module $*"
"$build/bench/pam_bench" --totp "$module" "$@"
