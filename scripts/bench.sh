#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The benchmark in one command (not part of the pass/fail tests):
#   sh scripts/bench.sh [pam_bench options]       e.g. --users 400 --rounds 5 --leak 0
# As root: installs the dependencies (scripts/install-deps.sh, which brings
# libpam-google-authenticator), builds pam_totp.so and bench/pam_bench
# out of tree (in $BUILD_DIR if set, kept; else in a temporary directory,
# removed at the end) with --prefix=BUILD/inst, installs it there with the
# helper BUILD/inst/libexec/pam_totp/totp-helper setuid root (the installed
# module starts it when its caller is not root), then runs pam_bench on the
# installed module, which prints the tables, the helper path's included.
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
  chmod 0755 "$build"   # the non-root caller must reach the helper in it
fi
build=$(cd "$build" && pwd)
prefix=$build/inst

if [ ! -x "$SRC_DIR/configure" ]; then
  (cd "$SRC_DIR" && autoreconf -fi >/dev/null)
fi
# The helper's path and the config it reads are compiled in from --prefix:
# a build configured otherwise is configured again.
if [ ! -f "$build/Makefile" ] || ! grep -qx "prefix = $prefix" "$build/Makefile"; then
  echo "bench.sh: configuring in $build (--prefix=$prefix)"
  (cd "$build" && "$SRC_DIR/configure" -q --prefix="$prefix")
fi
echo "bench.sh: building in $build, installing in $prefix"
make -C "$build" -j2 >/dev/null
make -C "$build" bench/pam_bench >/dev/null
make -C "$build" install >/dev/null
helper=$prefix/libexec/pam_totp/totp-helper
chown root:root "$helper"
chmod 4755 "$helper"

module=$prefix/lib/security/pam_totp.so
if [ ! -f "$module" ]; then
  echo "bench.sh: pam_totp.so was not installed in $prefix/lib/security" >&2
  exit 1
fi

echo "bench.sh: running $build/bench/pam_bench --totp $module --helper-prefix $prefix $*"
"$build/bench/pam_bench" --totp "$module" --helper-prefix "$prefix" "$@"
