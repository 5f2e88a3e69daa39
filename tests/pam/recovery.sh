#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recovery codes at the same prompt: once only, case/dash/space-insensitive,
# "N left" message, one Argon2id computation per attempt, none while locked.
. "$top_srcdir/tests/pam/lib.sh"
setup debug

LOCKMSG="ERROR: Account locked due to too many failed codes; try again later"
enrol alice --recovery 3 >"$T/codes" || { echo "Bail out! enrol failed"; exit 1; }
check "three recovery codes made" test "$(wc -l <"$T/codes")" = 3
r1=$(sed -n 1p "$T/codes"); r2=$(sed -n 2p "$T/codes"); r3=$(sed -n 3p "$T/codes")

check "recovery code accepted as printed" accepts alice $T0 "$r1"
check "user told 'Recovery code accepted; 2 left'" out_has "INFO: Recovery code accepted; 2 left"
check "logged as 'accepted recovery code (2 left)'" syslog_has "user=alice rhost=test.example: accepted recovery code (2 left)"
check "exactly one Argon2id computation for the attempt" syslog_has "argon2id computations: 1"
check "the code never reaches syslog" sh -c "! grep '^SYSLOG' '$T/out' | grep -qi -e '$r1' -e '$(echo "$r1" | tr -d -)'"
check "record keeps 2 unused codes" test "$(ledger alice recovery_left)" = 2
check "a used recovery code is refused" refuses alice $((T0 + 1)) "$r1"
check "used code logged as 'wrong code'" syslog_has "user=alice rhost=test.example: wrong code"
check "a refused recovery code also costs exactly one Argon2id computation" syslog_has "argon2id computations: 1"
check "and counts as a failure" test "$(ledger alice fail_count)" = 1

upper_nodash=$(echo "$r2" | tr -d - | tr 'a-z' 'A-Z')
check "recovery code in upper case without the dash accepted" accepts alice $((T0 + 2)) "$upper_nodash"
check "user told 1 left" out_has "INFO: Recovery code accepted; 1 left"
spaced=$(echo "$r3" | sed 's/-/ - /; s/^\(..\)/\1 /' | tr 'a-z' 'A-Z')
check "recovery code with spaces and mixed dashes accepted ('$spaced')" accepts alice $((T0 + 3)) "$spaced"
check "user told 0 left" out_has "INFO: Recovery code accepted; 0 left"
check "record has no codes left" test "$(ledger alice recovery_left)" = 0
check "next TOTP login accepted" accepts alice $((T0 + 4)) "$(code $((T0 + 4)))"
check "and says no recovery codes are left" out_has "INFO: No recovery codes left; run totp-setup recovery-codes"
check "an unused-looking recovery code with none left is refused" refuses alice $((T0 + 60)) "abcde-fghjk"

enrol bob --recovery 2 >"$T/codes" || { echo "Bail out! enrol failed"; exit 1; }
b1=$(sed -n 1p "$T/codes")
check "TOTP login with codes left says nothing about recovery codes" accepts bob $T0 "$(code $T0)"
check "(no recovery message)" out_lacks "ecovery"

# No Argon2id work while locked: lock bob, then offer a recovery code.
for i in 1 2 3 4 5; do refuses bob $((T0 + i)) 000000 || refuses bob $((T0 + i)) 111111; done
check "bob locked" test "$(ledger bob locked_until)" != 0
login bob $((T0 + 10)) --answer "$b1"
check "locked: recovery code refused" result_is PAM_AUTH_ERR
check "locked: not prompted" sh -c "! grep -q '^PROMPT_' '$T/out'"
check "locked: told so" out_has "$LOCKMSG"
check "locked: no Argon2id computation" sh -c "! grep -q 'argon2id computations' '$T/out'"
check "locked: the recovery code is not used up" test "$(ledger bob recovery_left)" = 2
check "after unlock_time the same recovery code works" accepts bob $((T0 + 5 + 600)) "$b1"
check "and leaves 1" out_has "INFO: Recovery code accepted; 1 left"
check "a recovery code login clears the failure count" test "$(ledger bob fail_count)/$(ledger bob locked_until)" = 0/0
check "a recovery login does not advance the TOTP step (next code still works)" accepts bob $((T0 + 630)) "$(code $((T0 + 630)))"

# Wrong recovery-shaped answers count towards the lockout.
enrol carol --recovery 1 >/dev/null
for i in 1 2 3 4 5; do login carol $((T0 + i)) --answer "zzzzz-zzzzz"; done
check "five wrong recovery codes lock the user" out_has "$LOCKMSG"
finish
