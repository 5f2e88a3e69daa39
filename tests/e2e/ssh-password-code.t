#!/bin/sh
# Password, then code, through real OpenSSH: a private sshd on 127.0.0.1 with
# the deploy guide's lines (tests/e2e/guide/sshd_config-password-code with
# pam-password-code: the system's common-auth (pam_unix) then pam_totp;
# pam-password-code-nullok; pam-password-code-forward-pass: one prompt for
# both, pam_totp hands the password on to pam_unix), a real ssh client on a
# pty, throwaway users with passwords, enrolled with totp-setup, codes from
# oathtool.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

e2e_config e2e "deny = 3" "unlock_time = 600"
P=${E2E_TAG}p   # password then code
Q=${E2E_TAG}q   # wrong answers
N=${E2E_TAG}n   # not enrolled
F=${E2E_TAG}f   # forward_pass: good login
H=${E2E_TAG}h   # forward_pass: wrong answers
for u in "$P" "$Q" "$N" "$F" "$H"; do e2e_user "$u"; done
for u in "$P" "$Q" "$F" "$H"; do e2e_enroll "$E2E_CONF" "$u" || bail "totp-setup enroll $u failed"; done
ok "five users with passwords, four enrolled"

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

# --- forward_pass: "Password & verification code:" once, password first
e2e_sshd_service "$E2E_GUIDE/pam-password-code-forward-pass"
e2e_fresh_step "$F" 3
y=$(e2e_code "$F")
check "forward_pass: password and code at one prompt: logged in" e2e_login_ok kbd "$F" "$(e2e_password "$F")" "$y"
check "  (one prompt, for both)" test "$(e2e_prompts)" = password+code
check "forward_pass: the same code again (replay): refused" e2e_login_refused kbd "$F" "$(e2e_password "$F")" "$y"
check "forward_pass: right password + wrong code: refused" \
  e2e_login_refused kbd "$H" "$(e2e_password "$H")" "$(e2e_wrong_code "$H")"
check "forward_pass: wrong password + right code: refused" \
  e2e_login_refused kbd "$H" "wrong-$(e2e_password "$H")" "$(e2e_code "$H")"
check "forward_pass: the password alone: refused" e2e_login_refused kbd "$H" "$(e2e_password "$H")" ""

done_testing
