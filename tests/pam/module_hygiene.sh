#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shipped module: exports exactly pam_sm_authenticate and
# pam_sm_setcred, knows nothing of the test clock, and leaves its host as it
# found it (open fds, umask, cwd, signal dispositions and masks, rlimits)
# on every path.
. "$top_srcdir/tests/pam/lib.sh"

if ! command -v nm >/dev/null 2>&1; then
  skip "nm not installed"
else
  syms=$(nm -D --defined-only "$MODULE" | awk '{ print $NF }' | sort | tr '\n' ' ')
  if [ "$syms" = "pam_sm_authenticate pam_sm_setcred " ]; then
    ok "exported symbols are exactly pam_sm_authenticate and pam_sm_setcred"
  else
    not_ok "exported symbols are exactly pam_sm_authenticate and pam_sm_setcred (got: $syms)"
  fi
fi
if grep -qa 'PAM_TOTP_TEST' "$MODULE"; then
  not_ok "the module does not mention the test clock"
else
  ok "the module does not mention the test clock"
fi

setup
enrol alice --recovery 1 >"$T/codes"
r1=$(sed -n 1p "$T/codes")
unchanged() {  # USER TIME ANSWER [SERVICE]: runs a login with --check-host-state
  PAM_TOTP_TEST_NOW=$2 "$DRIVER" --confdir "$T/pam.d" --service "${4:-totp}" --user "$1" --answer "$3" \
    --check-host-state >"$T/out" 2>&1
  grep -q '^HOST_STATE: unchanged$' "$T/out"
}
check "host state unchanged after an accepted code" unchanged alice $T0 "$(code $T0)"
check "(that login succeeded)" result_is PAM_SUCCESS
check "host state unchanged after a wrong code" unchanged alice $((T0 + 30)) 000000
check "host state unchanged after a replayed code" unchanged alice $((T0 + 30)) "$(code $T0)"
check "host state unchanged after a recovery code (Argon2id)" unchanged alice $((T0 + 40)) "$r1"
check "(that login succeeded)" result_is PAM_SUCCESS
check "host state unchanged for a user who is not enrolled" unchanged nobody_here $T0 123456
service bad "auth required $MODULE config=$CONF window=99"
check "host state unchanged after a bad setting" unchanged alice $T0 123456 bad
for i in 1 2 3 4 5; do login alice $((T0 + 60 + i)) --answer 000000; done
check "host state unchanged for a locked user" unchanged alice $((T0 + 70)) 123456
check "(that user was locked)" out_has "Account locked"
chmod 0644 "$T/state/alice"
check "host state unchanged after a refused state file" unchanged alice $((T0 + 80)) 123456
rm -f "$T/key"
check "host state unchanged with a missing key" unchanged alice $((T0 + 90)) 123456
finish
