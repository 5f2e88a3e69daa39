#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 16 for a user without root, on the installed product (the setuid
# helper): adding a second authenticator needs a current code and a code
# from the new one; removing one by name needs a code; after root revokes,
# a code from the old phone no longer proves anything and only a recovery
# code lets the user enrol again; `revoke --sessions` ends the user's
# running processes.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR, BUILD_DIR.
set -u
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, makes the helper setuid)"
: "${PREFIX:?PREFIX not set}"
TOOL=$PREFIX/bin/totp-setup
HELPER=$PREFIX/libexec/pam_totp/totp-helper
[ -x "$TOOL" ] && [ -x "$HELPER" ] || skip_all "totp-setup or the helper is not installed in $PREFIX"
for t in oathtool jq useradd userdel runuser mkfifo; do command -v $t >/dev/null || skip_all "$t not installed"; done

U=totpmng$$
CONF=$PREFIX/etc/security/pam_totp.conf
tmp=$(mktemp -d)
chmod 0755 "$tmp"
state=$(mktemp -d)
helper_mode=$(stat -c %a "$HELPER")
cleanup() {
  chmod "$helper_mode" "$HELPER" 2>/dev/null
  if [ -f "$tmp/conf.saved" ]; then mv "$tmp/conf.saved" "$CONF"; else rm -f "$CONF"; fi
  pkill -KILL -u "$U" 2>/dev/null
  userdel "$U" 2>/dev/null
  rm -rf "$tmp" "$state"
}
trap cleanup EXIT INT TERM

useradd -M -d /nonexistent -s /bin/sh "$U" || skip_all "useradd failed"
if ! runuser -u "$U" -- test -x "$HELPER"; then skip_all "$U cannot reach $HELPER (directory permissions)"; fi
mkdir -p "$(dirname "$CONF")"
[ -f "$CONF" ] && cp -p "$CONF" "$tmp/conf.saved"
printf 'state_dir = %s\nkey_file = %s\nwindow = 3\ndeny = 10\n' "$state/state" "$state/key" > "$CONF"
chmod 0644 "$CONF"
"$TOOL" init >/dev/null || { echo "Bail out! totp-setup init failed"; exit 1; }
chown root:root "$HELPER"
chmod 4755 "$HELPER"

mkdir "$tmp/u"; chown "$U" "$tmp/u"
as_user() { runuser -u "$U" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"; }
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
code_at() {  # URI OFFSET_IN_PERIODS
  p=$(uri_param "$1" period)
  oathtool --totp -b -d "$(uri_param "$1" digits)" -s "$p" -N "@$(( $(date +%s) + $2 * p ))" "$(uri_param "$1" secret)"
}
root_status() { "$TOOL" status --user "$U" --json; }
# wizard ARGS...: runs `totp-setup ARGS` as the user reading a fifo (fd 8).
wizard_start() {
  rm -f "$tmp/u/fifo"; : > "$tmp/u/out"; chown "$U" "$tmp/u/out"
  runuser -u "$U" -- mkfifo "$tmp/u/fifo"
  (as_user "$TOOL" "$@" < "$tmp/u/fifo" > "$tmp/u/out" 2>"$tmp/err"; echo $? > "$tmp/rc") &
  exec 8>"$tmp/u/fifo"
}
wait_uri() { i=0; while ! grep -q '^URI:' "$tmp/u/out" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
  sed -n 's/^URI: *//p' "$tmp/u/out"; }

as_user "$TOOL" enroll --yes --json > "$tmp/e1.json" 2>"$tmp/err" || { echo "Bail out! enrolment failed"; exit 1; }
uri1=$(jq -r .uri "$tmp/e1.json")
rc1=$(jq -r '.recovery_codes[0]' "$tmp/e1.json")

# --- another authenticator ----------------------------------------------------
as_user "$TOOL" enroll --add --name spare --yes 2>"$tmp/err" >/dev/null
check "user: --add --yes refused (a code from the new one is needed)" test $? = 3
printf '000000\n' | as_user "$TOOL" enroll --add --name spare --qr none >/dev/null 2>"$tmp/err"
check "user: --add with a wrong code refused (exit 3)" test $? = 3
check "and counted" test "$(root_status | jq -r .failures)" = 1
wizard_start enroll --add --name spare --qr none
code_at "$uri1" -2 >&8
uri2=$(wait_uri)
check "user: a current code starts adding 'spare' (a new secret shown)" test -n "$uri2" -a "$uri2" != "$uri1"
check "nothing added before its code is confirmed" test "$(root_status | jq -r '.authenticators | length')" = 1
code_at "$uri2" -2 >&8
exec 8>&-
wait
check "user: the code from the new authenticator activates it (exit 0)" test "$(cat "$tmp/rc")" = 0
check "root's status lists default and spare" test "$(root_status | jq -r '[.authenticators[].name] | join(",")')" = "default,spare"
as_user "$TOOL" status --json > "$tmp/s.json"
check "user's own status lists them too (through the helper)" test "$(jq -r '[.authenticators[].name] | join(",")' "$tmp/s.json")" = "default,spare"
check "the recovery codes did not change" test "$(root_status | jq -r .recovery_codes_left)" = 10
echo "$(code_at "$uri2" -1)" | as_user "$TOOL" remove --name default --yes >/dev/null 2>"$tmp/err"
check "user: remove --name default with a code from 'spare'" test $? = 0
check "spare is now the only one" test "$(root_status | jq -r '[.authenticators[].name] | join(",")')" = "spare"
echo "$(code_at "$uri1" 0)" | as_user "$TOOL" recovery-codes --yes --json >/dev/null 2>&1
check "the removed phone's code no longer proves anything" test $? = 3
"$TOOL" unlock --user "$U" >/dev/null 2>&1

# --- revoke ---------------------------------------------------------------------
"$TOOL" revoke --user "$U" --yes >/dev/null 2>"$tmp/err"
check "root: revoke" test $? = 0
check "status: revoked" test "$(as_user "$TOOL" status --json | jq -r .revoked)" = true
echo "$(code_at "$uri2" 0)" | as_user "$TOOL" enroll --qr none >/dev/null 2>"$tmp/err"
check "user: a code from the (stolen) phone cannot enrol again" test $? = 3
check "the refusal says a recovery code is needed" grep -q "recovery code" "$tmp/err"
as_user "$TOOL" enroll --yes --json >/dev/null 2>&1
check "user: --yes cannot enrol a revoked account" test $? = 3
wizard_start enroll --qr none
echo "$rc1" >&8
uri3=$(wait_uri)
check "user: a recovery code starts a new enrolment" test -n "$uri3"
code_at "$uri3" -2 >&8
exec 8>&-
wait
check "and the new phone's code completes it (exit 0)" test "$(cat "$tmp/rc")" = 0
check "no longer revoked, one authenticator" test "$(root_status | jq -c '[.revoked, (.authenticators | length), .enrolled]')" = "[false,1,true]"

# --- revoke --sessions ------------------------------------------------------------
runuser -u "$U" -- sh -c 'exec sleep 600' &
sleeper=$!
runuser -u "$U" -- sh -c 'trap "" TERM; exec sleep 601' &
stubborn=$!
sleep 0.5
"$TOOL" revoke --user "$U" --sessions --yes --json > "$tmp/rv.json" 2>"$tmp/err"
check "root: revoke --sessions" test $? = 0
check "it says how the sessions were ended" test -n "$(jq -r '.users[0].sessions.how' "$tmp/rv.json")"
sleep 0.3
check "the user's processes are gone" sh -c "! pgrep -u '$U' >/dev/null"
check "one that ignores SIGTERM too" sh -c "! kill -0 $stubborn 2>/dev/null"
wait $sleeper $stubborn 2>/dev/null
"$TOOL" enroll --user root --yes --json >/dev/null 2>&1   # in this private state only
"$TOOL" revoke --user root --sessions --yes >/dev/null 2>"$tmp/err"
check "revoke --user root --sessions revokes but refuses to end root's processes (exit 1)" test $? = 1
check "saying so" grep -q "not ending root's processes" "$tmp/err"
check "(this test, run by root, is still here to say it)" test -d "$tmp"

echo "1..$n"
exit $failed
