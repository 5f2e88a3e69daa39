#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Password and code at one prompt through real OpenSSH, and what a stranger
# who knows no password can do to a user (issue 13, finding 3).
#
# The deploy guide's one-prompt stack (tests/e2e/guide/pam-one-prompt):
#   auth requisite pam_totp.so split_code    one prompt, the code cut off and kept
#   auth requisite pam_unix.so use_first_pass  the password, checked first
#   auth required  pam_totp.so kept_code     the kept code, judged only now
# and its nullok variant, then the password-then-code stack
# (guide/pam-password-code). A private sshd on 127.0.0.1, a real ssh client
# on a pty (answer.exp), throwaway users, codes from oathtool, and root's
# `totp-setup status --json` for the failure count.
#
# What must hold in every documented stack: a wrong password never counts
# toward the code lockout (five wrong passwords, then the owner logs in) and
# never reveals whether the user is enrolled or locked (the session after a
# wrong password reads the same for every kind of user).
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

# deny = 5 (the default, written out): the stranger's five tries are exactly
# what locked the user out under the old forward_pass stack.
e2e_config e2e "deny = 5" "fail_interval = 900" "unlock_time = 600"
A=${E2E_TAG}a   # enrolled: the stranger's target, then the owner logs in
B=${E2E_TAG}b   # enrolled, then locked by wrong codes after the right password
N=${E2E_TAG}n   # not enrolled
U=${E2E_TAG}u   # unknown: never made
P=${E2E_TAG}p   # enrolled, password-then-code stack
for u in "$A" "$B" "$N" "$P"; do e2e_user "$u"; done
# Passwords that end in digits, like a code: the split must not eat them.
set_password() {
  printf '%s' "$2" >"$E2E_TMP/users/$1.pw"
  printf '%s:%s\n' "$1" "$2" | chpasswd || bail "chpasswd $1 failed"
}
set_password "$A" "$(e2e_password "$A")1999"
set_password "$N" "$(e2e_password "$N")202406"
for u in "$A" "$B" "$P"; do e2e_enroll "$E2E_CONF" "$u" || bail "totp-setup enroll $u failed"; done
ok "four users with passwords (two ending in digits), three enrolled; $U does not exist"

# status USER FIELD: a field of root's `totp-setup status --user USER --json`.
status() {
  "$E2E_TOOL" --config "$E2E_CONF" status --user "$1" --json 2>"$E2E_TMP/status.err" | jq -r ".$2"
}
failures_are() {
  _f=$(status "$1" failures)
  [ "$_f" = "$2" ] || { diag "  $1: failures $_f, locked until $(status "$1" locked_until)"; return 1; }
}
not_locked() {
  _l=$(status "$1" locked_until_unix)
  [ "$_l" = null ] || [ "$_l" = 0 ] || { diag "  $1: locked until $(status "$1" locked_until)"; return 1; }
}
is_locked() { _l=$(status "$1" locked_until_unix); test "$_l" != null && test "$_l" != 0; }
# transcript USER: the last session as the client saw it, the user's name
# replaced by USER (so that sessions of different users compare).
transcript() { tr -d '\r' <"$E2E_TMP/last.out" | sed "s/$1/USER/g"; }
# wrong_pw USER: a wrong password for USER (also for users without one).
wrong_pw() { echo "not-the-password-$1"; }

e2e_sshd_service "$E2E_GUIDE/pam-one-prompt"
e2e_sshd_start "$E2E_GUIDE/sshd_config-password-code"

# --- a stranger who knows neither the password nor the code: five (deny)
# wrong passwords, each with a wrong code
bad=$(e2e_wrong_code "$A")
for i in 1 2 3 4 5; do
  check "stranger: wrong password $i + a wrong code: refused" e2e_login_refused kbd "$A" "$(wrong_pw "$i")" "$bad"
done
check "  (one prompt, 'Password & verification code:', and nothing after it)" \
  sh -c "test '$(e2e_prompts)' = password+code && ! grep -qi 'locked' '$E2E_TMP/last.out'"
check "root's status: failures 0 after the five wrong passwords" failures_are "$A" 0
check "root's status: not locked" not_locked "$A"

# --- one who has the code (a shoulder surfer) but not the password: the
# code typed with a wrong password is not spent (window = 1 keeps x good
# for the next step too, so the owner can still use it)
e2e_fresh_step "$A" 3
x=$(e2e_code "$A")
for i in 6 7; do
  check "stranger: wrong password $i + the right code: refused" e2e_login_refused kbd "$A" "$(wrong_pw "$i")" "$x"
done
check "  (root's status: failures still 0)" failures_are "$A" 0
check "the owner: right password + that same code: logged in" \
  e2e_login_ok kbd "$A" "$(e2e_password "$A")" "$x"
check "  (at one prompt, the password ending in digits)" test "$(e2e_prompts)" = password+code
E2E_SSH_TTY=1
check "the owner: right password + a recovery code: logged in" \
  e2e_login_ok kbd "$A" "$(e2e_password "$A")" "$(e2e_recovery "$A" 0)"
E2E_SSH_TTY=0
check "  (told how many recovery codes are left)" e2e_last_has "$(( $(e2e_recovery_count "$A") - 1 )) left"

# --- the code counts once the password is right
check "right password + wrong code: refused" e2e_login_refused kbd "$A" "$(e2e_password "$A")" "$(e2e_wrong_code "$A")"
check "  (root's status: failures 1)" failures_are "$A" 1
check "right password + the code already used (replay): refused" \
  e2e_login_refused kbd "$A" "$(e2e_password "$A")" "$x"
check "  (root's status: failures 2)" failures_are "$A" 2
check "right password alone: refused" e2e_login_refused kbd "$A" "$(e2e_password "$A")" ""
check "not enrolled, no nullok: refused with the right password" \
  e2e_login_refused kbd "$N" "$(e2e_password "$N")" ""

# --- lock B with wrong codes after the right password (deny = 5)
n=0
for i in 1 2 3 4 5; do
  e2e_login_refused kbd "$B" "$(e2e_password "$B")" "$(e2e_wrong_code "$B")" && n=$((n + 1))
done
check "right password + five wrong codes: refused each time" test "$n" = 5
check "  (root's status: $B locked)" is_locked "$B"
check "locked: right password + right code refused" \
  e2e_login_refused kbd "$B" "$(e2e_password "$B")" "$(e2e_code "$B")"
check "  (the one who knows the password is told the account is locked)" e2e_last_has 'locked'
locked_b=$(status "$B" locked_until_unix)
fails_b=$(status "$B" failures)
fails_a=$(status "$A" failures)

# --- after a wrong password every kind of user reads the same
for who in A N U B; do
  eval "u=\$$who"
  case $who in A|B) c=$(e2e_code "$u") ;; *) c=123456 ;; esac
  check "wrong password for $who ($(case $who in A) echo enrolled ;; N) echo not enrolled ;; U) echo unknown ;; B) echo locked ;; esac)): refused" \
    e2e_login_refused kbd "$u" "$(wrong_pw "$who")" "$c"
  transcript "$u" >"$E2E_TMP/wrong.$who"
done
for who in N U B; do
  check "  (the session for $who reads exactly as for the enrolled user A)" \
    cmp -s "$E2E_TMP/wrong.A" "$E2E_TMP/wrong.$who"
  cmp -s "$E2E_TMP/wrong.A" "$E2E_TMP/wrong.$who" ||
    diff "$E2E_TMP/wrong.A" "$E2E_TMP/wrong.$who" | sed 's/^/#   /'
done
check "  (no session says 'locked')" sh -c "! grep -qi locked '$E2E_TMP'/wrong.?"
check "  (one prompt each, nothing else asked)" \
  sh -c "test \"\$(grep -h '^E2E-PROMPTS:' '$E2E_TMP'/wrong.? | sort -u)\" = 'E2E-PROMPTS: password+code'"
check "  (root's status: the lock and the failure counts are unchanged)" \
  test "$(status "$B" locked_until_unix) $(status "$B" failures) $(status "$A" failures)" = "$locked_b $fails_b $fails_a"

# --- nullok: a password ending in digits is all password for a user not enrolled
e2e_sshd_service "$E2E_GUIDE/pam-one-prompt-nullok"
check "nullok: not enrolled, the password (ending in digits) alone: logged in" \
  e2e_login_ok kbd "$N" "$(e2e_password "$N")" ""
check "  (the same one prompt)" test "$(e2e_prompts)" = password+code
check "nullok: enrolled, right password + wrong code: refused" \
  e2e_login_refused kbd "$A" "$(e2e_password "$A")" "$(e2e_wrong_code "$A")"

# --- the settings that must not stand on a PAM line fail closed
"$E2E_TOOL" --config "$E2E_CONF" unlock --user "$B" >/dev/null 2>&1
printf '%s\n' '# the old one-prompt stack' 'auth    required    pam_totp.so forward_pass' \
  'auth    required    pam_unix.so try_first_pass' >"$E2E_TMP/old-stack"
e2e_sshd_service "$E2E_TMP/old-stack"
check "the old forward_pass stack now refuses every login (fails closed)" \
  e2e_login_refused kbd "$B" "$(e2e_password "$B")" "$(e2e_code "$B")"
e2e_sshd_service "$E2E_GUIDE/pam-one-prompt" deny=100
check "deny on a PAM line (file-only): every login refused" \
  e2e_login_refused kbd "$B" "$(e2e_password "$B")" "$(e2e_code "$B")"

# --- password, then code: a wrong password stops in common-auth
e2e_sshd_service "$E2E_GUIDE/pam-password-code"
e2e_fresh_step "$P" 3
y=$(e2e_code "$P")
n=0
for i in 1 2 3 4 5; do
  e2e_login_refused kbd "$P" "$(wrong_pw "$i")" "$y" && [ "$(e2e_prompts)" = password ] && n=$((n + 1))
done
check "password then code: five wrong passwords refused, the code never asked" test "$n" = 5
check "  (root's status: failures 0, not locked)" sh -c "test '$(status "$P" failures)' = 0 && test '$(status "$P" locked_until_unix)' = null"
check "password then code: right password + right code: logged in" \
  e2e_login_ok kbd "$P" "$(e2e_password "$P")" "$y"

done_testing
