#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Replay refusal: the same code twice, an older step after a newer one, and
# 50 processes racing with one code (exactly one may succeed).
. "$top_srcdir/tests/pam/lib.sh"
setup

enrol alice >/dev/null
c=$(code $T0)
check "first use of a code accepted" accepts alice $T0 "$c"
check "same code again refused" refuses alice $T0 "$c"
check "replay logged as 'replayed code'" syslog_has "user=alice rhost=test.example: replayed code"
check "replay shows no message that tells it from a wrong code" sh -c "! grep -q '^ERROR\\|^INFO' '$T/out'"
check "same code refused later in its window" refuses alice $((T0 + 25)) "$c"
check "code of the step before the used one refused (older step)" refuses alice $((T0 + 10)) "$(code $((T0 - 30)))"
check "code of the next step accepted" accepts alice $((T0 + 30)) "$(code $((T0 + 30)))"
check "code of the step used before it now refused" refuses alice $((T0 + 30)) "$(code $T0)"
enrol bob >/dev/null
check "a newer step accepted first (clock ahead)" accepts bob $T0 "$(code $((T0 + 30)))"
check "then the current step, older than the used one, refused" refuses bob $T0 "$(code $T0)"
check "last used step recorded in the ledger" test "$(ledger bob last_used_step)" = $(((T0 + 30) / 30))

# 50 logins racing with one code (deny=100 so that the refused ones are
# all judged as replays rather than hitting the lockout).
service race "auth required $MODULE config=$(conf_with race 'deny = 100')"
enrol racer >/dev/null
c=$(code $T0)
mkdir "$T/race"
i=0
while [ $i -lt 50 ]; do
  (PAM_TOTP_TEST_NOW=$T0 "$DRIVER" --confdir "$T/pam.d" --service race --user racer --answer "$c" \
     >"$T/race/$i.out" 2>&1; echo $? >"$T/race/$i.rc") &
  i=$((i + 1))
done
wait
succ=$(cat "$T/race"/*.rc | grep -cx 0)
refused=$(cat "$T/race"/*.rc | grep -cx 7)
check "50 racing logins with one code: exactly one success (got $succ)" test "$succ" = 1
check "the 49 others refused with PAM_AUTH_ERR (got $refused)" test "$refused" = 49
check "the 49 others logged as replayed" test "$(cat "$T/race"/*.out | grep -c 'user=racer rhost=: replayed code$')" = 49
finish
