#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 18's cold costs in one command, as root (not part of the tests):
#
#   sh scripts/bench-cold.sh            # default run, about 4-5 minutes
#   sh scripts/bench-cold.sh --big      # plus 100,000 enrolled users vs 200 (about 1 minute more)
#   BUILD_DIR=_build/normal sh scripts/bench-cold.sh   # reuse a build (configured --prefix=BUILD/inst)
#
# Prints one table: pam_permit, pam_google_authenticator and pam_totp in
#   model 1  a long-lived process (modules loaded once; pam_bench's measure),
#   model 2  a fresh process per login (bench/cold_driver: libcrypto loaded
#            and initialised first, as sshd has it, then one PAM transaction),
#   model 3  ssh logins, key then code, through a private sshd per module,
# all sampled in the same shuffled turns; then logins per second with 1 and
# 2 processes, (--big) the right-code median with 100,000 users vs 200, and
# what pam_totp pays at load against google-authenticator. Each target of
# issue 18 is printed as a ratio measured in the run, met or NOT MET and by
# how much. Options go to bench/cold_bench (`--help` lists them).
#
# Like scripts/bench.sh: installs the dependencies (scripts/install-deps.sh;
# SKIP_DEPS=1 skips it), builds out of tree (in $BUILD_DIR if set, kept;
# else in a temporary directory, removed at the end) with
# --prefix=BUILD/inst, installs there and measures the installed module.
set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-cold.sh: must run as root (private sshd, mount namespace, root-owned state)" >&2
  exit 1
fi

if [ "${SKIP_DEPS:-0}" != 1 ]; then sh "$SRC_DIR/scripts/install-deps.sh"; fi

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
  build=$(mktemp -d /var/tmp/pam_totp-bench-cold-build.XXXXXX)
  made_build=$build
fi
build=$(cd "$build" && pwd)
prefix=$build/inst

if [ ! -x "$SRC_DIR/configure" ]; then
  (cd "$SRC_DIR" && autoreconf -fi >/dev/null)
fi
if [ ! -f "$build/Makefile" ] || ! grep -qx "prefix = $prefix" "$build/Makefile"; then
  echo "bench-cold.sh: configuring in $build (--prefix=$prefix)"
  (cd "$build" && "$SRC_DIR/configure" -q --prefix="$prefix")
fi
echo "bench-cold.sh: building in $build, installing in $prefix"
make -C "$build" -j2 >/dev/null
make -C "$build" bench/cold_bench bench/cold_driver >/dev/null
make -C "$build" install >/dev/null

module=$prefix/lib/security/pam_totp.so
if [ ! -f "$module" ]; then
  echo "bench-cold.sh: pam_totp.so was not installed in $prefix/lib/security" >&2
  exit 1
fi
# The installed module as a package ships it: stripped (make install keeps
# the debug info, which is never mapped but is 18 MB to read from disk).
stripped=$build/pam_totp.stripped.so
strip --strip-unneeded -o "$stripped" "$module"

echo "bench-cold.sh: running $build/bench/cold_bench --totp $stripped $*"
"$build/bench/cold_bench" --totp "$stripped" --driver "$build/bench/cold_driver" --also-dlopen "$module" "$@"
