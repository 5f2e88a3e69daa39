#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 17, trusted devices (remember), on the installed product: logins
# through libpam (tests/pam/pam_driver, with SSH_AUTH_INFO_0 in the PAM
# environment as sshd's ExposeAuthInfo puts it) make and use trusted
# devices; `totp-setup devices` and `forget` list and end them, as root and
# as the user through the setuid helper; a recovery-code login, revoke and a
# new enrolment end them; no key or no address is never remembered; an
# expired entry or a lowered `remember` asks again; a locked user still
# gets in from a trusted device.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR, BUILD_DIR.
set -u
started=$(date +%s)
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$tmp/out" 2>/dev/null | tail -12; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, makes the helper setuid)"
: "${PREFIX:?PREFIX not set}" "${BUILD_DIR:?BUILD_DIR not set}"
TOOL=$PREFIX/bin/totp-setup
HELPER=$PREFIX/libexec/pam_totp/totp-helper
MODULE=$PREFIX/lib/security/pam_totp.so
DRIVER=$BUILD_DIR/tests/pam/pam_driver
[ -x "$TOOL" ] && [ -x "$HELPER" ] && [ -f "$MODULE" ] || skip_all "the product is not installed in $PREFIX"
for t in oathtool jq useradd userdel runuser ssh-keygen; do command -v $t >/dev/null || skip_all "$t not installed"; done
if [ ! -x "$DRIVER" ] || ! "$DRIVER" --pam-env x=y 2>&1 | grep -q 'required'; then
  make -C "$BUILD_DIR" tests/pam/pam_driver >/dev/null 2>&1 || { echo "Bail out! cannot build tests/pam/pam_driver"; exit 1; }
fi

U=totpdev$$
CONF=$PREFIX/etc/security/pam_totp.conf
tmp=$(mktemp -d)
chmod 0755 "$tmp"
state=$(mktemp -d)
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
write_conf() {  # REMEMBER [DENY]
  printf 'state_dir = %s\nkey_file = %s\nwindow = 3\ndeny = %s\nunlock_time = 600\nremember = %s\n' \
    "$state/state" "$state/key" "${2:-100}" "$1" > "$CONF"
  chmod 0644 "$CONF"
}
write_conf 3600
"$TOOL" init >/dev/null || { echo "Bail out! totp-setup init failed"; exit 1; }
chown root:root "$HELPER"
chmod 4755 "$HELPER"
mkdir "$tmp/pam.d"
: > "$tmp/pam.d/other"
echo "auth required $MODULE" > "$tmp/pam.d/totp"

as_user() { runuser -u "$U" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"; }
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
code_at() {  # OFFSET_IN_PERIODS: a code of the current enrolment
  p=$(uri_param "$uri" period)
  oathtool --totp -b -d "$(uri_param "$uri" digits)" -s "$p" -N "@$(( $(date +%s) + $1 * p ))" "$(uri_param "$uri" secret)"
}
enrol() {  # [--force]
  "$TOOL" enroll --user "$U" --yes --json "$@" > "$tmp/enrol.json" 2>"$tmp/out" || return 1
  uri=$(jq -r .uri "$tmp/enrol.json")
  # Every code offset is used at most once per enrolment (replay).
  next=-3
}
# fresh: CODE is a code not used before (window = 3: offsets -3..3 of the
# current step; not in a subshell, so that `next` moves on).
fresh() { CODE=$(code_at "$next"); next=$((next + 1)); }
jqt() { jq -e "$@" >/dev/null; }

for k in a b; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$tmp/key_$k" || { echo "Bail out! ssh-keygen"; exit 1; }; done
info() { printf 'publickey %s\n' "$(cut -d' ' -f1,2 "$tmp/key_$1.pub")"; }
INFO_A=$(info a)
INFO_B="keyboard-interactive
$(info b)"
FP_A=$(ssh-keygen -l -f "$tmp/key_a.pub" | cut -d' ' -f2)

# login ANSWER INFO RHOST [VAR=VALUE...]: one pam_authenticate; output in $tmp/out.
login() {
  answer=$1 auth_info=$2 rhost=$3; shift 3
  set -- "$@" "$DRIVER" --confdir "$tmp/pam.d" --service totp --user "$U" --answer "$answer"
  [ -n "$rhost" ] && set -- "$@" --rhost "$rhost"
  [ -n "$auth_info" ] && set -- "$@" --pam-env "SSH_AUTH_INFO_0=$auth_info"
  env "$@" > "$tmp/out" 2>&1
}
asked() { grep -q 'Verification code' "$tmp/out"; }
in_with_code() { login "$@" && asked && grep -q 'RESULT: PAM_SUCCESS' "$tmp/out"; }
in_without_code() { login "" "$@" && ! asked && grep -q 'SYSLOG info: .*accepted trusted device [0-9a-f]\{8\} (key SHA256:' "$tmp/out"; }
refused_after_prompt() { ! login "" "$@" && asked; }
count() { "$TOOL" devices --user "$U" --json | jq '.devices | length'; }

enrol || { echo "Bail out! enrolment failed"; exit 1; }
rc0=$(jq -r '.recovery_codes[0]' "$tmp/enrol.json")

# --- remembered, used, not for another key, address or user ------------------------
fresh
check "remember=3600: key A from 192.0.2.10 with a code: in" in_with_code "$CODE" "$INFO_A" 192.0.2.10
check "  the module logs 'remembered device'" grep -q "SYSLOG info: .*remembered device [0-9a-f]\{8\} (key $FP_A, until " "$tmp/out"
check "the same key from the same address: in without a code (no prompt)" in_without_code "$INFO_A" 192.0.2.10
check "  and the log line names the key's fingerprint" grep -q "accepted trusted device .*(key $FP_A, until " "$tmp/out"
check "another key, same address: asked" refused_after_prompt "$INFO_B" 192.0.2.10
check "the same key, another address: asked" refused_after_prompt "$INFO_A" 192.0.2.11
check "no SSH key (a password or console login): asked" refused_after_prompt "" 192.0.2.10
check "no address: asked" refused_after_prompt "$INFO_A" ""
check "a malformed SSH_AUTH_INFO_0 (key type not the blob's): asked" \
  refused_after_prompt "$(echo "$INFO_A" | sed 's/ssh-ed25519/ssh-rsa/')" 192.0.2.10
fresh
check "key B (after a keyboard-interactive line) with a code: in, remembered" in_with_code "$CODE" "$INFO_B" 192.0.2.10
fresh
check "a login without a key is not remembered" in_with_code "$CODE" "" 192.0.2.10
check "  (two devices)" test "$(count)" = 2

# --- listing -------------------------------------------------------------------------
"$TOOL" devices --user "$U" --json > "$tmp/root.json" 2>"$tmp/out"
check "root: devices --user --json: user, remember and two devices" \
  jqt --arg u "$U" '.user == $u and .remember == 3600 and (.devices | length) == 2' "$tmp/root.json"
check "  each with id (8 hex), key, from, since, until (UTC)" jqt 'all(.devices[];
    (.id | test("^[0-9a-f]{8}$")) and (.key | startswith("SHA256:")) and .from == "192.0.2.10"
    and (.since | test("^[0-9-]{10}T[0-9:]{8}Z$")) and (.until | test("Z$")) and .until > .since)' "$tmp/root.json"
check "  key A's fingerprint as ssh-keygen -l shows it" jqt --arg fp "$FP_A" 'any(.devices[]; .key == $fp)' "$tmp/root.json"
ID_A=$(jq -r --arg fp "$FP_A" '.devices[] | select(.key == $fp) | .id' "$tmp/root.json")
as_user "$TOOL" devices --json > "$tmp/user.json" 2>"$tmp/out"
check "user (through the helper): devices --json lists the same two" \
  sh -c "jq -S .devices '$tmp/root.json' > '$tmp/a' && jq -S .devices '$tmp/user.json' > '$tmp/b' && cmp -s '$tmp/a' '$tmp/b'"
as_user "$TOOL" devices > "$tmp/out" 2>&1
check "user: devices as text: a header and the ID" sh -c "grep -q '^ID  *KEY  *FROM  *SINCE  *UNTIL' '$tmp/out' && grep -q '^$ID_A ' '$tmp/out'"
as_user "$TOOL" devices --user root > "$tmp/out" 2>&1
check "user: another user's devices: refused (exit 3)" test $? = 3
"$TOOL" devices --user nosuch$$ > "$tmp/out" 2>&1
check "root: devices of a user not enrolled: exit 1, 'not enrolled'" sh -c "test $? = 1 && grep -q 'not enrolled' '$tmp/out'"

# The helper's own checks, asked directly: it acts for its real uid only.
helper_says() {  # REQUEST EXPECTED_EXIT TEXT
  printf '%s\n' "$1" | as_user "$HELPER" > "$tmp/out" 2>&1
  [ $? = "$2" ] && grep -q "$3" "$tmp/out"
}
check "helper: devices naming a user is refused (no such field)" helper_says '{"op":"devices","user":"root"}' 2 'request refused'
check "helper: forget with both id and all is refused" helper_says '{"op":"forget","id":"0123abcd","all":true}' 2 'request refused'
check "helper: forget with neither is refused" helper_says '{"op":"forget"}' 2 'request refused'
check "helper: forget with a malformed id is refused" helper_says '{"op":"forget","id":"../../x"}' 2 'request refused'
check "helper: devices lists the caller's own" helper_says '{"op":"devices"}' 0 "\"user\":\"$U\""

# --- forget ----------------------------------------------------------------------------
"$TOOL" forget --user "$U" > "$tmp/out" 2>&1
check "forget without --all or --id: usage error (exit 2)" test $? = 2
"$TOOL" forget --user "$U" --id xyz --yes > "$tmp/out" 2>&1
check "forget --id not 8 hex digits: usage error (exit 2)" test $? = 2
"$TOOL" devices --user "$U" --all > "$tmp/out" 2>&1
check "devices --all: usage error (exit 2)" test $? = 2
unknown=00000000; [ "$ID_A" = "$unknown" ] && unknown=00000001
as_user "$TOOL" forget --id "$unknown" --yes > "$tmp/out" 2>&1
check "user: forget --id of no device: exit 1, says so" sh -c "test $? = 1 && grep -q 'no trusted device' '$tmp/out'"
as_user "$TOOL" forget --id "$ID_A" > "$tmp/out" 2>&1
check "user: forget without --yes and no terminal: exit 2, nothing forgotten" sh -c "test $? = 2 && test \$('$TOOL' devices --user '$U' --json | jq '.devices | length') = 2"
as_user "$TOOL" forget --id "$(echo "$ID_A" | tr a-f A-F)" --yes --json > "$tmp/f.json" 2>"$tmp/out"
check "user: forget --id ID (any case) --yes --json: one forgotten" jqt --arg id "$ID_A" '.forgotten == 1 and .id == $id' "$tmp/f.json"
check "  one device left, not A" sh -c "test \$('$TOOL' devices --user '$U' --json | jq --arg id '$ID_A' '[.devices[] | select(.id == \$id)] | length') = 0 && test \$('$TOOL' devices --user '$U' --json | jq '.devices | length') = 1"
check "key A is asked again" refused_after_prompt "$INFO_A" 192.0.2.10
check "key B still gets in without a code" in_without_code "$INFO_B" 192.0.2.10
"$TOOL" forget --user "$U" --all --yes > "$tmp/out" 2>&1
check "root: forget --user --all --yes: 'Forgot 1 trusted device'" grep -q "Forgot 1 trusted device of $U" "$tmp/out"
check "key B is asked again" refused_after_prompt "$INFO_B" 192.0.2.10
"$TOOL" forget --user "$U" --all --yes --json > "$tmp/f.json" 2>"$tmp/out"
check "forget --all with none left: not an error, 0 forgotten" jqt '.forgotten == 0' "$tmp/f.json"

# --- expiry and the setting -------------------------------------------------------------
fresh
check "key A with a code: remembered again" in_with_code "$CODE" "$INFO_A" 192.0.2.10
check "an hour later (expired): asked" refused_after_prompt "$INFO_A" 192.0.2.10 PAM_TOTP_TEST_NOW=$(( $(date +%s) + 3601 ))
write_conf 60
check "remember lowered to 60 s: two minutes later the device is asked" \
  refused_after_prompt "$INFO_A" 192.0.2.10 PAM_TOTP_TEST_NOW=$(( $(date +%s) + 120 ))
"$TOOL" devices --user "$U" --json > "$tmp/d.json" 2>"$tmp/out"
check "  and devices shows it ends 60 s after it was made" jqt '.remember == 60 and (.devices | length) == 1 and
    ((.devices[0].until | fromdateiso8601) - (.devices[0].since | fromdateiso8601)) == 60' "$tmp/d.json"
write_conf 0
check "remember = 0: asked" refused_after_prompt "$INFO_A" 192.0.2.10
"$TOOL" devices --user "$U" > "$tmp/out" 2>&1
check "remember = 0: devices is not an error and says remember is off" sh -c "test $? = 0 && grep -q 'remember is off' '$tmp/out'"
write_conf 3600
check "remember back to 3600: key A gets in again without a code" in_without_code "$INFO_A" 192.0.2.10

# --- a locked user gets in from a trusted device -----------------------------------------
write_conf 3600 3
"$TOOL" unlock --user "$U" >/dev/null 2>&1
for i in 1 2 3; do login 000000 "$INFO_B" 192.0.2.66 >/dev/null 2>&1; done
"$TOOL" status --user "$U" --json > "$tmp/st.json"
check "three wrong codes from a stranger (deny = 3): locked" jqt '.locked_until > 0' "$tmp/st.json"
check "locked: the trusted device still gets in without a code" in_without_code "$INFO_A" 192.0.2.10
fresh
login "$CODE" "$INFO_B" 192.0.2.10
check "locked: another key with a right code is refused as locked" grep -q 'SYSLOG warning: .*locked' "$tmp/out"
"$TOOL" unlock --user "$U" >/dev/null 2>&1
write_conf 3600

# --- what ends them all ---------------------------------------------------------------------
fresh
check "key B with a code: a second device" in_with_code "$CODE" "$INFO_B" 192.0.2.20
check "  (two devices)" test "$(count)" = 2
check "a recovery-code login (key B from elsewhere, asked): in" in_with_code "$rc0" "$INFO_B" 192.0.2.30
check "  and every device is forgotten" test "$(count)" = 0
check "  key A is asked again" refused_after_prompt "$INFO_A" 192.0.2.10
"$TOOL" unlock --user "$U" >/dev/null 2>&1
fresh
check "key A with a code: remembered" in_with_code "$CODE" "$INFO_A" 192.0.2.10
"$TOOL" revoke --user "$U" --yes >/dev/null 2>&1
check "revoke: no device left" test "$(count)" = 0
revoked_refused() { ! login "" "$INFO_A" 192.0.2.10 && ! grep -q 'accepted trusted' "$tmp/out" && grep -q 'revoked' "$tmp/out"; }
check "  and the trusted key is refused (revoked)" revoked_refused
enrol || { echo "Bail out! enrolment after revoke failed"; exit 1; }
fresh
check "enrolled again: key A with a code: remembered" in_with_code "$CODE" "$INFO_A" 192.0.2.10
enrol --force || { echo "Bail out! replacing the enrolment failed"; exit 1; }
check "a replaced enrolment: no device left" test "$(count)" = 0
check "  key A is asked again" refused_after_prompt "$INFO_A" 192.0.2.10
fresh
check "key A with a code: remembered" in_with_code "$CODE" "$INFO_A" 192.0.2.10
"$TOOL" remove --user "$U" --yes >/dev/null 2>&1
check "remove: the record and its devices are gone" sh -c "! '$TOOL' devices --user '$U' >/dev/null 2>&1"

echo "1..$n"
echo "# took $(( $(date +%s) - started )) s"
exit $failed
