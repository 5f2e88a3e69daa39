#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `totp-setup list` with many users (issue 16: 100,000 users in a few
# seconds), as root; not part of the tests.
#
#   BUILD_DIR=_build/normal sh scripts/bench-list.sh [USERS] [RUNS]
#
# BUILD_DIR: a build configured with --prefix=BUILD_DIR/inst (default
# _build/normal); it is built and installed first (SKIP_BUILD=1: use what
# is installed there and the libtotpcore built there). USERS (default 100000)
# records are made in a fresh store under /var/tmp (a real disk) by a small
# generator compiled here against the build's libtotpcore: the same record
# encoding totp-setup writes (encode_state_file), without the per-record
# fsync and lock of the store's update, in 2 processes; the states vary
# (failures, locks, last logins with hosts, used recovery codes) so that
# every column has something to print. Then the installed
# `totp-setup list --json >/dev/null` and `totp-setup list >/dev/null` run
# RUNS times each (default 3); prints each time, the median and users/s.
# The page cache is warm (the records were just written); nothing is
# dropped, since other work shares the machine. KEEP=1 keeps the store
# (for a profiler: totp-setup --config DIR/pam_totp.conf list).
set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
USERS=${1:-100000}
RUNS=${2:-3}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-list.sh: must run as root (the store is root-owned, list is root only)" >&2
  exit 1
fi

build=$(cd "${BUILD_DIR:-$SRC_DIR/_build/normal}" && pwd)
prefix=$build/inst
if [ ! -f "$build/Makefile" ] || ! grep -qx "prefix = $prefix" "$build/Makefile"; then
  echo "bench-list.sh: $build is not configured with --prefix=$prefix" >&2
  exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bench-list.sh: building and installing in $build"
  make -C "$build" -j2 >/dev/null
  make -C "$build" install >/dev/null
fi
tool=$prefix/bin/totp-setup

work=$(mktemp -d /var/tmp/pam_totp-bench-list.XXXXXX)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "bench-list.sh: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0700 "$work"

# --- the generator ------------------------------------------------------------------
cat >"$work/fill.cc" <<'EOF'
// fill STATE_DIR KEY_FILE PREFIX N PROCS: N records PREFIX0..PREFIX(N-1).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "core/key.h"
#include "core/recovery.h"
#include "core/store.h"

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  const std::string dir = argv[1], prefix = argv[3];
  const long n = std::atol(argv[4]);
  const int procs = std::atoi(argv[5]);
  auto key = totp::load_master_key(argv[2]);
  if (!key) { std::fprintf(stderr, "key: %s\n", key.error().message.c_str()); return 1; }
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  totp::Record base;
  base.enrolment.state = totp::EnrolmentState::active;
  base.enrolment.created = now - 86400 * 30;
  auto salt = totp::make_recovery_salt();
  if (!salt) return 1;
  base.enrolment.recovery_salt = *salt;
  // One set of 10 hashes shared by every record (10 Argon2id hashes, not 1,000,000).
  for (int i = 0; i < 10; ++i) {
    totp::SecureBytes code = totp::make_recovery_code();
    auto norm = totp::normalize_recovery_code(code.view());
    auto h = totp::hash_recovery_code(norm->view(), base.enrolment.recovery_salt);
    if (!h) return 1;
    base.enrolment.recovery_hashes.push_back(*h);
  }
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) continue;
    const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) _exit(3);
    for (long i = p; i < n; i += procs) {
      totp::Record r = totp::clone_record(base);
      std::uint8_t secret[20];
      for (int b = 0; b < 20; ++b) secret[b] = static_cast<std::uint8_t>((i * 131 + b * 7) & 0xff);
      r.enrolment.secret = totp::SecureBytes(std::span<const std::uint8_t>(secret, sizeof secret));
      r.enrolment.recovery_hashes.resize(10 - static_cast<std::size_t>(i % 11 == 0 ? i % 10 : 0));
      if (i % 3 == 0) {
        r.ledger.last_login_time = now - i;
        r.ledger.last_login_rhost = "host-" + std::to_string(i % 1000) + ".example.net";
        r.ledger.last_used_step = static_cast<std::uint64_t>((now - i) / 30);
      }
      if (i % 7 == 0) { r.ledger.fail_count = 2; r.ledger.first_fail_time = now - 10; }
      if (i % 13 == 0) { r.ledger.fail_count = 10; r.ledger.first_fail_time = now - 10; r.ledger.locked_until = now + 600; }
      const std::string user = prefix + std::to_string(i);
      auto bytes = totp::encode_state_file(*key, user, r, 1);
      if (!bytes) _exit(4);
      const int fd = openat(dfd, user.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 || write(fd, bytes->data(), bytes->size()) != static_cast<ssize_t>(bytes->size())) _exit(5);
      close(fd);
    }
    _exit(0);
  }
  int bad = 0;
  for (int p = 0; p < procs; ++p) {
    int st = 0;
    if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
  }
  return bad;
}
EOF
var() { sed -n "s/^$1 = //p" "$build/Makefile"; }
# shellcheck disable=SC2046
g++ -std=c++20 -O2 -I"$SRC_DIR" -I"$build" -o "$work/fill" "$work/fill.cc" \
  "$build/.libs/libtotpcore.a" $(var CRYPTO_LIBS) $(var ARGON2_LIBS) -lpthread

# --- the store -------------------------------------------------------------------------
conf=$work/pam_totp.conf
printf 'state_dir = %s\nkey_file = %s\n' "$work/state" "$work/key" >"$conf"
chmod 0600 "$conf"
"$tool" --config "$conf" init >/dev/null
now_ms() { date +%s%3N; }
t0=$(now_ms)
"$work/fill" "$work/state" "$work/key" u "$USERS" 2
t1=$(now_ms)
echo "bench-list.sh: $USERS records made in $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s ($(du -sh "$work/state" | cut -f1) on disk)"

# --- the runs ----------------------------------------------------------------------------
measure() {  # LABEL ARGS...: RUNS runs; prints each, the median and users/s
  label=$1; shift
  times=""
  r=0
  while [ $r -lt "$RUNS" ]; do
    s=$(now_ms)
    rc=0
    "$tool" --config "$conf" list "$@" >/dev/null 2>"$work/err" || rc=$?
    e=$(now_ms)
    if [ $rc -ne 0 ]; then echo "bench-list.sh: list $* failed (exit $rc): $(cat "$work/err")" >&2; exit 1; fi
    times="$times $((e - s))"
    r=$((r + 1))
  done
  med=$(printf '%s\n' $times | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  rate=$(awk -v u="$USERS" -v ms="$med" 'BEGIN {printf "%.0f", (ms > 0) ? (u * 1000 / ms) : 0}')
  printf '%-26s runs (ms):%s  median %d ms  %s users/s\n' "$label" "$times" "$med" "$rate"
}
# the JSON is right (and complete) once, outside the timing
"$tool" --config "$conf" list --json | python3 -c 'import json,sys; u=json.load(sys.stdin)["users"]; assert len(u) == int(sys.argv[1]), len(u)' "$USERS"
measure "list --json >/dev/null" --json
measure "list >/dev/null"
