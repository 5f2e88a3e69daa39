#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 16's rekey benchmark, as root (not part of the tests or CI):
#
#   sh scripts/bench-rekey.sh                 # 100,000 records
#   N=20000 sh scripts/bench-rekey.sh         # fewer
#   BUILD_DIR=_build/normal sh scripts/bench-rekey.sh   # reuse a build (configured --prefix=BUILD/inst)
#
# Makes N records in a private state directory (bench/rekey_fill: the
# store's own format, written without an fsync per file, then syncfs), then
# times the installed `totp-setup rekey` on them: the rotation (every record
# sealed again under a new key, each durably: atomic_replace with fsync of
# file and directory), then a re-run of an interrupted rotation that finds
# nothing left to do (every record read and authenticated, none written).
# Prints records per second for both.
# Builds out of tree (in $BUILD_DIR if set, kept; else in a temporary
# directory, removed at the end) with --prefix=BUILD/inst and installs there.
# The records live in $WORK_DIR (default: a temporary directory in /var/tmp,
# a disk rather than a tmpfs, so that the fsyncs cost what they cost).
set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100000}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-rekey.sh: must run as root (root-owned key and state)" >&2
  exit 1
fi

made_build=""
work=""
cleanup() {
  [ -n "$made_build" ] && rm -rf "$made_build"
  [ -n "$work" ] && rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${BUILD_DIR:-}" ]; then
  made_build=$(mktemp -d /tmp/bench-rekey-build.XXXXXX)
  BUILD_DIR=$made_build
  (cd "$BUILD_DIR" && "$SRC_DIR/configure" -q --prefix="$BUILD_DIR/inst" >/dev/null)
fi
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$BUILD_DIR" && make -j"$jobs" >/dev/null && make install >/dev/null && make bench/rekey_fill >/dev/null)
TOOL=$BUILD_DIR/inst/bin/totp-setup
FILL=$BUILD_DIR/bench/rekey_fill

work=$(mktemp -d "${WORK_DIR:-/var/tmp}/bench-rekey.XXXXXX")
chmod 0700 "$work"
conf=$work/pam_totp.conf
printf 'state_dir = %s\nkey_file = %s\n' "$work/state" "$work/key" >"$conf"
chmod 0600 "$conf"
"$TOOL" --config "$conf" init >/dev/null

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms < 1) ms = 1; printf "%.0f", n * 1000 / ms }'; }

t0=$(date +%s%N)
"$FILL" "$work/key" "$work/state" "$N" 2 >/dev/null
fill_ms=$(ms_since "$t0")
fs=$(df -T "$work" | awk 'NR == 2 { print $2 }')
echo "bench-rekey: $N records made in $fill_ms ms ($fs, $(nproc) CPUs)"

sync
t0=$(date +%s%N)
"$TOOL" --config "$conf" rekey --json >"$work/rekey.json"
rekey_ms=$(ms_since "$t0")
resealed=$(sed -n 's/.*"resealed": *\([0-9]*\).*/\1/p' "$work/rekey.json")
echo "rekey (rotation):     $resealed records sealed again in $rekey_ms ms: $(rate "$resealed" "$rekey_ms") records/s"

# A re-run that finds the rotation unfinished but every record already
# under the current key (as after a kill at the very end): it reads and
# authenticates every record, writes none, removes .previous. (.previous
# made as a second name of the key file: the ring ignores a previous key
# equal to the current one, rekey removes it.)
ln "$work/key" "$work/key.previous"
t0=$(date +%s%N)
"$TOOL" --config "$conf" rekey --json >"$work/rerun.json"
rerun_ms=$(ms_since "$t0")
already=$(sed -n 's/.*"already": *\([0-9]*\).*/\1/p' "$work/rerun.json")
echo "rekey (re-run, nothing left): $already records checked in $rerun_ms ms: $(rate "$already" "$rerun_ms") records/s"
