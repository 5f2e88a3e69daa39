#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The e2e harness itself, with stand-in PAM stacks (pam_unix, pam_permit) and
# no pam_totp: a private sshd on loopback, real ssh on a pty, test users and
# su through a bind-mounted PAM service. When this suite fails, the other
# e2e suites' failures say nothing about pam_totp.
E2E_NEED_PRODUCT=0
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

A=${E2E_TAG}a
B=${E2E_TAG}b
e2e_user "$A"
e2e_user "$B"
e2e_authorize "$A"
PA=$(e2e_password "$A")
PB=$(e2e_password "$B")

# password through keyboard-interactive: the system's common-auth (pam_unix)
printf '@include common-auth\n' >"$E2E_TMP/standin-password"
printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods keyboard-interactive\n' \
  >"$E2E_TMP/standin-sshd-kbd"
e2e_sshd_service "$E2E_TMP/standin-password"
e2e_sshd_start "$E2E_TMP/standin-sshd-kbd"
ok "private sshd listens on 127.0.0.1:$E2E_PORT as PAM service $E2E_SERVICE"

check "right password: logs in and runs the command" e2e_login_ok kbd "$A" "$PA" ""
check "the password prompt came through keyboard-interactive" test "$(e2e_prompts)" = password
check "wrong password: refused" e2e_login_refused kbd "$A" "wrong-$PA" ""
check "a user without this suite's tag is refused (AllowUsers)" e2e_login_refused kbd root "x" ""

# key, then keyboard-interactive with a stack that asks nothing
printf 'auth required pam_permit.so\n' >"$E2E_TMP/standin-permit"
e2e_sshd_service "$E2E_TMP/standin-permit"
e2e_stop "$E2E_SSHD_PID"
printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods publickey,keyboard-interactive\n' \
  >"$E2E_TMP/standin-sshd-key"
e2e_sshd_start "$E2E_TMP/standin-sshd-key"
check "key then keyboard-interactive: logs in" e2e_login_ok key "$A" "" ""
check "no key: refused even though the PAM stack permits" e2e_login_refused kbd "$A" "" ""

# su through a bind-mounted PAM service, from an unprivileged user on a pty
# (needs a private mount namespace: skipped with the reason where none can be made)
sum_before=$(cksum </etc/pam.d/su)
e2e_su_service "$E2E_TMP/standin-password"
if e2e_have_ns /etc/pam.d/su; then
  check "su with the target's password runs the command as the target" e2e_su_ok "$A" "$B" "$PB" ""
  check "su asked for the password on the terminal" test "$(e2e_prompts)" = password
  check "su with a wrong password: refused" e2e_su_refused "$A" "$B" "wrong-$PB" ""
else
  for _d in "su with the target's password runs the command as the target" "su asked for the password on the terminal" \
            "su with a wrong password: refused"; do
    skip "$_d: no private mount namespace can be made here: $E2E_NS_WHY"
  done
fi
check "the real /etc/pam.d/su was not changed" test "$(cksum </etc/pam.d/su)" = "$sum_before"

done_testing
