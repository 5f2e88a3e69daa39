#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Password, then code, through real OpenSSH: a private sshd on 127.0.0.1 with
# the deploy guide's lines (tests/e2e/guide/sshd_config-password-code with
# pam-password-code: the system's common-auth (pam_unix) then pam_totp;
# pam-password-code-nullok), a real ssh client on a pty, throwaway users with
# passwords, enrolled with totp-setup, codes from oathtool. The one-prompt
# stack (split_code / kept_code) and what strangers can do with wrong
# passwords are in ssh-one-prompt.t.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

e2e_config e2e "deny = 3" "unlock_time = 600"
P=${E2E_TAG}p   # password then code
Q=${E2E_TAG}q   # wrong answers
N=${E2E_TAG}n   # not enrolled
for u in "$P" "$Q" "$N"; do e2e_user "$u"; done
for u in "$P" "$Q"; do e2e_enroll "$E2E_CONF" "$u" || bail "totp-setup enroll $u failed"; done
ok "three users with passwords, two enrolled"

e2e_sshd_service "$E2E_GUIDE/pam-password-code"
e2e_sshd_start "$E2E_GUIDE/sshd_config-password-code"

# --- password, then code
e2e_fresh_step "$P" 3
x=$(e2e_code "$P")
check "password + right code: logged in, the command ran as the user" e2e_login_ok kbd "$P" "$(e2e_password "$P")" "$x"
check "the prompts were the password, then 'Verification code:'" test "$(e2e_prompts)" = password,code
check "password + the same code again (replay): refused" e2e_login_refused kbd "$P" "$(e2e_password "$P")" "$x"
check "password + wrong code: refused" e2e_login_refused kbd "$Q" "$(e2e_password "$Q")" "$(e2e_wrong_code "$Q")"
check "wrong password + right code: refused" e2e_login_refused kbd "$Q" "wrong-$(e2e_password "$Q")" "$(e2e_code "$Q")"
check "  (the code is not even asked after a wrong password)" test "$(e2e_prompts)" = password
check "right password + that (unspent) code: logged in" e2e_login_ok kbd "$Q" "$(e2e_password "$Q")" "$(e2e_code "$Q")"
check "not enrolled: refused even with the right password" e2e_login_refused kbd "$N" "$(e2e_password "$N")" ""

# --- nullok: the gradual rollout
e2e_sshd_service "$E2E_GUIDE/pam-password-code-nullok"
check "nullok: not enrolled gets in with the password alone" e2e_login_ok kbd "$N" "$(e2e_password "$N")" ""
check "  (no code asked)" test "$(e2e_prompts)" = password
check "nullok: an enrolled user with a wrong code is still refused" \
  e2e_login_refused kbd "$P" "$(e2e_password "$P")" "$(e2e_wrong_code "$P")"

done_testing
