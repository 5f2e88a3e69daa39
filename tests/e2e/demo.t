#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The README's demo (scripts/demo.sh) keeps working: its login part, on the
# installed build (the part before it is install-deps, autoreconf, configure,
# make and make install, which scripts/test-all.sh has just done). Checks
# the steps it shows and that it leaves no user, no sshd and no temp dir.
src=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
prefix=${PREFIX:-$src/_build/normal/inst}
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (the demo runs a private sshd and adds a user)"; exit 0; }
[ -f "$prefix/lib/security/pam_totp.so" ] || { echo "Bail out! pam_totp.so not installed under $prefix"; exit 1; }
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; sed 's/^/#   | /' "$work/out" | tail -25; fi; }
work=$(mktemp -d /tmp/pam_totp-demo-test.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
ln -s "$prefix" "$work/prefix"
DEMO_START=$(date +%s) sh "$src/scripts/demo.sh" --login-part "$work" >"$work/out" 2>&1
rc=$?
t "the demo's login part exits 0" '[ $rc = 0 ]'
t "it shows a QR code" "grep -q '█' '$work/out' || grep -q '##' '$work/out'"
t "it logs in through real ssh with the code" "grep -q '=> logged in' '$work/out' && grep -q 'ran as totpdemo sum=42' '$work/out'"
t "it shows the replayed code refused" "grep -q '=> refused' '$work/out' && grep -q 'Permission denied' '$work/out'"
t "no demo user is left" '! getent passwd totpdemo >/dev/null'
t "no demo sshd is left running" "! ps -eo args | grep -q '^sshd-totpdemo'"
t "no PAM service is left" '[ ! -e /etc/pam.d/sshd-totpdemo ]'
t "its temp dir is gone" "! grep -o '/tmp/pam_totp-e2e\.[A-Za-z0-9]*' '$work/out' | sort -u | xargs -r ls -d 2>/dev/null | grep -q ."
echo "1..$n"
