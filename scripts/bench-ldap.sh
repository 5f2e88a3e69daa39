#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The directory store's benchmark in one command (not part of the tests: a
# slow machine never fails it):
#   sh scripts/bench-ldap.sh [ldap_bench options]     e.g. --users 500 --tput-rounds 5
# As root, on Debian 12 (installs what is missing with scripts/install-deps.sh):
# builds pam_totp.so and bench/ldap_bench out of tree (in $BUILD_DIR if set,
# kept; else in a temporary directory, removed at the end) and installs them
# with --prefix=BUILD/inst; or, with PREFIX set to an installed tree, measures
# $PREFIX/lib/security/pam_totp.so (bench/ldap_bench is then built in
# $BUILD_DIR, which must be configured already). Then starts a private slapd
# (tests/ldap/slapd_lib.sh: the shipped schema and example ACL, mdb with
# default durability, ldapi:// and ldap://127.0.0.1 with StartTLS and a test
# CA), runs bench/ldap_bench against it, stops it and prints the figures.
# A default run takes about two minutes. `sh scripts/bench-ldap.sh --help`
# lists ldap_bench's options.
set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-ldap.sh: must run as root (root-owned key and configs; SASL EXTERNAL as root)" >&2
  exit 1
fi

for a in "$@"; do
  case $a in -h|--help) need_help=1 ;; esac
done

sh "$SRC_DIR/scripts/install-deps.sh"

made_build=""
work=""
cleanup() {
  ldap_stop 2>/dev/null || :
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ -n "$made_build" ]; then rm -rf "$made_build"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${BUILD_DIR:-}" ]; then
  build=$BUILD_DIR
  mkdir -p "$build"
else
  build=$(mktemp -d /var/tmp/pam_totp-bench-ldap-build.XXXXXX)
  made_build=$build
fi
build=$(cd "$build" && pwd)

if [ -n "${PREFIX:-}" ]; then
  prefix=$PREFIX
  if [ ! -f "$build/Makefile" ]; then
    echo "bench-ldap.sh: PREFIX is set: BUILD_DIR must name a configured build tree (for bench/ldap_bench)" >&2
    exit 1
  fi
  echo "bench-ldap.sh: measuring the installed $prefix; building bench/ldap_bench in $build"
  make -C "$build" -j2 bench/ldap_bench >/dev/null
else
  prefix=$build/inst
  if [ ! -x "$SRC_DIR/configure" ]; then
    (cd "$SRC_DIR" && autoreconf -fi >/dev/null)
  fi
  if [ ! -f "$build/Makefile" ] || ! grep -qx "prefix = $prefix" "$build/Makefile"; then
    echo "bench-ldap.sh: configuring in $build (--prefix=$prefix)"
    (cd "$build" && "$SRC_DIR/configure" -q --prefix="$prefix")
  fi
  echo "bench-ldap.sh: building in $build, installing in $prefix"
  make -C "$build" -j2 >/dev/null
  make -C "$build" -j2 bench/ldap_bench >/dev/null
  make -C "$build" install >/dev/null
fi

module=$prefix/lib/security/pam_totp.so
if [ ! -f "$module" ]; then
  echo "bench-ldap.sh: pam_totp.so is not installed in $prefix/lib/security" >&2
  exit 1
fi
if [ -n "${need_help:-}" ]; then
  "$build/bench/ldap_bench" --help
  exit 0
fi

# The slapd, from the shipped schema and ACL ($PREFIX's when installed there).
PREFIX=$prefix
export PREFIX SRC_DIR
. "$SRC_DIR/tests/ldap/slapd_lib.sh"
work=$(mktemp -d /var/tmp/pam_totp-bench-ldap.XXXXXX)
ldap_start "$work" || { echo "bench-ldap.sh: slapd did not start" >&2; exit 1; }
echo "bench-ldap.sh: slapd $LDAP_PID on $LDAP_URI and $LDAP_LDAPI_URI, data in $LDAP_WORKDIR/db"
echo "bench-ldap.sh: running $build/bench/ldap_bench --totp $module $*"
echo
# Not exec: the EXIT trap stops slapd afterwards. The bench's result is the
# script's (it exits 0 whether or not a target is met).
rc=0
"$build/bench/ldap_bench" --totp "$module" "$@" || rc=$?
exit $rc
