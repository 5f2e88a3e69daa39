#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Self-enrolment without root, on the installed product: an unprivileged
# user runs $PREFIX/bin/totp-setup, which uses the setuid-root helper
# $PREFIX/libexec/pam_totp/totp-helper (made setuid for this test and put
# back afterwards). The user can enrol, see status, regenerate codes and
# remove their own enrolment; cannot act on another user, read the key or
# any state file, or replace an enrolment without a current code; hostile
# requests to the helper (oversized, malformed, naming another user,
# unknown op) are refused.
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
for t in oathtool jq useradd userdel runuser; do command -v $t >/dev/null || skip_all "$t not installed"; done

U=totpself$$
CONF=$PREFIX/etc/security/pam_totp.conf
tmp=$(mktemp -d)
chmod 0755 "$tmp"           # the user's scratch files live in $tmp/u
state=$(mktemp -d)          # root 0700: key and state
helper_mode=$(stat -c %a "$HELPER")
cleanup() {
  chmod "$helper_mode" "$HELPER" 2>/dev/null
  if [ -f "$tmp/conf.saved" ]; then mv "$tmp/conf.saved" "$CONF"; else rm -f "$CONF"; fi
  userdel "$U" 2>/dev/null
  rm -rf "$tmp" "$state"
}
trap cleanup EXIT INT TERM

useradd -M -d /nonexistent -s /bin/sh "$U" || skip_all "useradd failed"
if ! runuser -u "$U" -- test -x "$HELPER"; then skip_all "$U cannot reach $HELPER (directory permissions)"; fi
mkdir -p "$(dirname "$CONF")"
[ -f "$CONF" ] && cp -p "$CONF" "$tmp/conf.saved"
cat > "$CONF" <<EOC
state_dir = $state/state
key_file = $state/key
window = 3
deny = 10
issuer = Self Test
EOC
chmod 0644 "$CONF"
"$TOOL" init >/dev/null || { echo "Bail out! totp-setup init failed"; exit 1; }
chown root:root "$HELPER"
chmod 4755 "$HELPER"

echo "1..33"
mkdir "$tmp/u"; chown "$U" "$tmp/u"
as_user() { runuser -u "$U" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"; }
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
code_at() {  # URI OFFSET_IN_PERIODS
  p=$(uri_param "$1" period)
  oathtool --totp -b -d "$(uri_param "$1" digits)" -s "$p" -N "@$(( $(date +%s) + $2 * p ))" "$(uri_param "$1" secret)"
}
root_status() { "$TOOL" status --user "$U" --json; }

# --- status and first enrolment -------------------------------------------
as_user "$TOOL" status --json > "$tmp/s0.json" 2>"$tmp/err"
check "user: status --json through the helper" test "$(jq -c '[.user,.enrolled]' "$tmp/s0.json")" = "[\"$U\",false]"
as_user "$TOOL" enroll --yes --json > "$tmp/e1.json" 2>"$tmp/err"
check "user: first enrolment with --yes --json" test $? = 0 -a "$(jq -r '.recovery_codes | length' "$tmp/e1.json")" = 10
uri1=$(jq -r .uri "$tmp/e1.json")
check "user: URI names the user and the configured issuer" test "${uri1#otpauth://totp/Self%20Test:$U?}" != "$uri1"
check "root sees the user's enrolment" test "$(root_status | jq -r .enrolled)" = true
check "state file is root-owned 0600" test "$(stat -c '%U %a' "$state/state/$U")" = "root 600"

# --- what the user must not be able to do -----------------------------------
as_user "$TOOL" enroll --yes --json >/dev/null 2>"$tmp/err"
check "user: --yes cannot replace an enrolment (exit 3)" test $? = 3
as_user "$TOOL" status --user root 2>"$tmp/err"
check "user: --user root refused (exit 3, one line)" test $? = 3 -a "$(wc -l < "$tmp/err")" = 1
as_user "$TOOL" remove --user root --yes 2>/dev/null
check "user: remove --user root refused" test $? = 3
as_user "$TOOL" unlock --user "$U" 2>/dev/null
check "user: unlock refused" test $? = 3
as_user "$TOOL" enroll --force --yes 2>/dev/null
check "user: --force refused" test $? = 3
as_user "$TOOL" status --config /dev/null 2>/dev/null
check "user: --config refused" test $? = 2
check "user cannot read the key" sh -c "! runuser -u '$U' -- cat '$state/key' >/dev/null 2>&1"
check "user cannot read their state file" sh -c "! runuser -u '$U' -- cat '$state/state/$U' >/dev/null 2>&1"
check "user cannot list the state directory" sh -c "! runuser -u '$U' -- ls '$state/state' >/dev/null 2>&1"

# --- replacing needs a current code ----------------------------------------
printf 'y\n000000\n' | as_user "$TOOL" enroll --qr none >/dev/null 2>"$tmp/err"
check "user: replacement with a wrong code refused (exit 3)" test $? = 3
check "the wrong code counted as a failure; enrolment unchanged" \
  test "$(root_status | jq -r '"\(.failures) \(.recovery_codes_left)"')" = "1 10"
created1=$(root_status | jq -r .created_unix)

rm -f "$tmp/u/fifo"; : > "$tmp/u/out"; chown "$U" "$tmp/u/out"
runuser -u "$U" -- mkfifo "$tmp/u/fifo"
(as_user "$TOOL" enroll --qr none < "$tmp/u/fifo" > "$tmp/u/out" 2>"$tmp/err"; echo $? > "$tmp/rc") &
exec 8>"$tmp/u/fifo"
printf 'y\n%s\n' "$(code_at "$uri1" -2)" >&8
i=0; while ! grep -q '^URI:' "$tmp/u/out" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
uri2=$(sed -n 's/^URI: *//p' "$tmp/u/out")
check "user: a current code allows a new enrolment to start" test -n "$uri2" -a "$uri2" != "$uri1"
check "the old enrolment stays active until the new code is confirmed" \
  test "$(root_status | jq -r '"\(.enrolled) \(.created_unix)"')" = "true $created1"
code_at "$uri2" -2 >&8
exec 8>&-
wait
check "user: wizard with the new code exits 0" test "$(cat "$tmp/rc")" = 0
check "recovery codes shown" test "$(grep -cE '^ +[0-9]+\. +[a-z0-9]{5}-[a-z0-9]{5}$' "$tmp/u/out")" = 10
check "the new enrolment is active" test "$(root_status | jq -r '"\(.enrolled) \(.failures)"')" = "true 0"

# --- recovery codes: need a fresh code; replay refused -----------------------
c=$(code_at "$uri2" -1)
echo "$c" | as_user "$TOOL" recovery-codes --yes --json > "$tmp/r.json" 2>"$tmp/err"
check "user: recovery-codes with a current code" test $? = 0 -a "$(jq -r '.recovery_codes | length' "$tmp/r.json")" = 10
echo "$c" | as_user "$TOOL" recovery-codes --yes --json > /dev/null 2>"$tmp/err"
check "the same code again is refused (replay, exit 3)" test $? = 3
echo "$(code_at "$uri2" -2)" | as_user "$TOOL" recovery-codes --yes --json > /dev/null 2>&1
check "an older code is refused too" test $? = 3
rc1=$(jq -r '.recovery_codes[0]' "$tmp/r.json")
echo "$rc1" | tr a-z A-Z | tr -d - | as_user "$TOOL" recovery-codes --yes --json > "$tmp/r2.json" 2>"$tmp/err"
check "a recovery code (upper case, no dash) works as the proof" test $? = 0
echo "$rc1" | as_user "$TOOL" recovery-codes --yes --json > /dev/null 2>&1
check "a used recovery code is refused" test $? = 3

# --- hostile requests straight to the helper ----------------------------------
hreq() { as_user "$HELPER" > "$tmp/h.out" 2>/dev/null; echo $?; }
rc=$(head -c 10000 /dev/zero | tr '\0' a | hreq)
check "helper: oversized request refused" test "$rc" != 0 -a "$(jq -r .ok "$tmp/h.out")" = false
rc=$(printf '{"op":"status"\n' | hreq)
check "helper: malformed JSON refused" test "$rc" != 0 -a "$(jq -r .ok "$tmp/h.out")" = false
rc=$(printf '{"op":"status","user":"root"}\n' | hreq)
check "helper: a request naming another user is refused" test "$rc" != 0 -a "$(jq -r .ok "$tmp/h.out")" = false
rc=$(printf '{"op":"unlock"}\n' | hreq)
check "helper: unknown op refused" test "$rc" != 0 -a "$(jq -r .ok "$tmp/h.out")" = false
rc=$(printf '{"op":"status"}\n' | runuser -u "$U" -- env USER=root LOGNAME=root "$HELPER" 2>/dev/null | jq -r .user)
check "helper: acts for the real uid whatever the environment says" test "$rc" = "$U"

# --- remove --------------------------------------------------------------------
echo "$(code_at "$uri2" 1)" | as_user "$TOOL" remove --yes --json > "$tmp/rm.json" 2>"$tmp/err"
check "user: remove with a current code" test $? = 0 -a "$(jq -r .removed "$tmp/rm.json")" = true
check "after remove: not enrolled" test "$(as_user "$TOOL" status --json | jq -r .enrolled)" = false
exit $failed
