#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Lockout with pam_faillock's meanings: deny failures within fail_interval
# lock for unlock_time (0: until root unlocks); a locked user is told so and
# not prompted; the state lives in the record.
. "$top_srcdir/tests/pam/lib.sh"
setup

LOCKMSG="ERROR: Account locked due to too many failed codes; try again later"
wrong=000000
[ "$(code $T0)" = $wrong ] && wrong=111111

# Default deny = 5.
enrol alice >/dev/null
i=1; fine=true
while [ $i -le 4 ]; do
  refuses alice $((T0 + i)) $wrong || fine=false
  out_lacks "$LOCKMSG" || fine=false
  i=$((i + 1))
done
check "four wrong codes refused without a lock message" $fine
check "failure count is in the record" test "$(ledger alice fail_count)" = 4
check "fifth wrong code refused" refuses alice $((T0 + 5)) $wrong
check "fifth wrong code (deny=5) locks and says so" out_has "$LOCKMSG"
check "the locking failure is logged" syslog_has "user=alice rhost=test.example: wrong code; now locked"
check "locked_until = failure time + unlock_time (600)" test "$(ledger alice locked_until)" = $((T0 + 5 + 600))
login alice $((T0 + 10)) --answer "$(code $((T0 + 10)))"
check "locked user refused even when a right code is ready" result_is PAM_AUTH_ERR
check "locked user is not prompted" sh -c "! grep -q '^PROMPT_' '$T/out'"
check "locked user is told '...try again later'" out_has "$LOCKMSG"
check "locked refusal logged as 'locked'" syslog_has "user=alice rhost=test.example: locked"
check "refusals while locked are not counted as failures" test "$(ledger alice fail_count)" = 5
login alice $((T0 + 5 + 599)) --answer "$(code $((T0 + 5 + 599)))"
check "still locked one second before unlock_time ends" result_is PAM_AUTH_ERR
check "right code accepted once unlock_time has passed" accepts alice $((T0 + 5 + 600)) "$(code $((T0 + 5 + 600)))"
check "success clears the failure count" test "$(ledger alice fail_count)/$(ledger alice locked_until)" = 0/0

# After a lock expires the user has deny fresh attempts (no re-lock on the first failure).
enrol bob >/dev/null
for i in 1 2 3 4 5; do refuses bob $((T0 + i)) $wrong; done
check "bob locked after five failures" test "$(ledger bob locked_until)" = $((T0 + 605))
refuses bob $((T0 + 700)) $wrong
check "first failure after the lock expired does not lock again" out_lacks "$LOCKMSG"
check "count restarted at 1 after the lock expired" test "$(ledger bob fail_count)" = 1

# Failures outside fail_interval (900 s) are forgotten.
enrol carol >/dev/null
for i in 1 2 3 4; do refuses carol $((T0 + i)) $wrong; done
refuses carol $((T0 + 1 + 900)) $wrong
check "a failure fail_interval after the first of a run starts a new run" test "$(ledger carol fail_count)" = 1
check "and does not lock" test "$(ledger carol locked_until)" = 0
for i in 2 3 4; do refuses carol $((T0 + 901 + i)) $wrong; done
check "four failures in the new run: not locked" test "$(ledger carol locked_until)" = 0
refuses carol $((T0 + 910)) $wrong
check "fifth failure in the new run locks" out_has "$LOCKMSG"

# A success resets the run.
enrol dave >/dev/null
for i in 1 2 3 4; do refuses dave $((T0 + i)) $wrong; done
accepts dave $((T0 + 5)) "$(code $((T0 + 5)))"
for i in 6 7 8 9; do refuses dave $((T0 + i)) $wrong; done
check "4 failures, a success, 4 failures: not locked" test "$(ledger dave locked_until)/$(ledger dave fail_count)" = 0/4

# Malformed answers and replays count as failures too.
enrol erin >/dev/null
c=$(code $T0)
accepts erin $T0 "$c"
refuses erin $((T0 + 1)) "$c"
refuses erin $((T0 + 2)) ""
refuses erin $((T0 + 3)) "abc"
check "replayed and malformed answers count as failures" test "$(ledger erin fail_count)" = 3

# deny = 2, unlock_time = 0 (until root unlocks).
service strict "auth required $MODULE config=$(conf_with strict2 'deny = 2' 'unlock_time = 0')"
enrol frank >/dev/null
login --service strict frank $T0 --answer $wrong
login --service strict frank $((T0 + 1)) --answer $wrong
check "deny=2 locks at the second failure" out_has "$LOCKMSG"
login --service strict frank $((T0 + 10 * 365 * 86400)) --answer "$(code $((T0 + 10 * 365 * 86400)))"
check "unlock_time=0: still locked ten years later" sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && ! grep -q '^PROMPT_' '$T/out'"

# deny=0 disables the lockout.
service nolock "auth required $MODULE config=$(conf_with nolock 'deny = 0')"
enrol gina >/dev/null
for i in 1 2 3 4 5 6 7 8; do login --service nolock gina $((T0 + i)) --answer $wrong; done
login --service nolock gina $((T0 + 20)) --answer "$(code $((T0 + 20)))"
check "deny=0: right code still accepted after eight failures" result_is PAM_SUCCESS

# Settings from the config file: deny = 3, fail_interval = 60.
printf 'key_file = %s\nstate_dir = %s\ndeny = 3\nfail_interval = 60\n' "$T/key" "$T/state" >"$T/strict.conf"
chmod 600 "$T/strict.conf"
service filecfg "auth required $MODULE config=$T/strict.conf"
enrol hank >/dev/null
for i in 1 2; do login --service filecfg hank $((T0 + i)) --answer $wrong; done
login --service filecfg hank $((T0 + 61)) --answer $wrong
check "fail_interval=60 from the config file: third failure after 60 s does not lock" test "$(ledger hank locked_until)" = 0
login --service filecfg hank $((T0 + 62)) --answer $wrong
login --service filecfg hank $((T0 + 63)) --answer $wrong
check "deny=3 from the config file locks at the third failure in 60 s" out_has "$LOCKMSG"
finish
