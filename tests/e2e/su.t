#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# su to an enrolled user through pam_totp, on a pseudo-terminal.
#
# su chooses its PAM service by its own name, so the test cannot hand it a
# service file of its own; the su stack is the system's /etc/pam.d/su with
# "@include common-auth" replaced by the deploy guide's password-then-code
# lines (tests/e2e/guide/pam-password-code), written to the suite's temp dir
# and bind-mounted over /etc/pam.d/su (and su-l) inside a private mount
# namespace that lives as long as the one su command (see lib.sh). The real
# /etc/pam.d/su is never written. The caller is an unprivileged test user
# (runuser), so su really asks; expect plays the person at the terminal.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
e2e_need_ns /etc/pam.d/su   # every point is an su (lib.sh): skipped, with the reason, where none can be made

e2e_config e2e
A=${E2E_TAG}a   # who runs su
B=${E2E_TAG}b   # enrolled target
U=${E2E_TAG}u   # target without an enrolment
for u in "$A" "$B" "$U"; do e2e_user "$u"; done
e2e_enroll "$E2E_CONF" "$B" || bail "totp-setup enroll $B failed"
sum_before=$(cksum </etc/pam.d/su)
e2e_su_service "$E2E_GUIDE/pam-password-code"
ok "users made, $B enrolled, su stack written"

e2e_fresh_step "$B" 3
x=$(e2e_code "$B")
check "su: password + right code: the command runs as the target" e2e_su_ok "$A" "$B" "$(e2e_password "$B")" "$x"
check "  (asked for the password, then 'Verification code:')" test "$(e2e_prompts)" = password,code
check "su: the same code again (replay): refused" e2e_su_refused "$A" "$B" "$(e2e_password "$B")" "$x"
check "su: password + wrong code: refused" e2e_su_refused "$A" "$B" "$(e2e_password "$B")" "$(e2e_wrong_code "$B")"
check "su: wrong password: refused" e2e_su_refused "$A" "$B" "wrong-$(e2e_password "$B")" "$(e2e_code "$B")"
check "  (no code asked after the wrong password)" test "$(e2e_prompts)" = password
check "su to a user without an enrolment: refused" e2e_su_refused "$A" "$U" "$(e2e_password "$U")" ""
check "the real /etc/pam.d/su is unchanged" test "$(cksum </etc/pam.d/su)" = "$sum_before"

done_testing
