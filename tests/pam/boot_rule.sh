#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 18: a TOTP login does not wait for the disk, and a code used before a
# power loss is still never accepted after it (the boot rule, core/boot_rule.h).
#   - a TOTP login and a wrong code make no fsync/fdatasync; a recovery code
#     (which cannot be taken back) still does, before the answer;
#   - a power loss, as the disk would show it: the state file as it was
#     before a login (the slot the login wrote never reached the disk). With
#     a boot after the code's step, the same code is refused ("replayed");
#     with the machine never rebooted (the control) the same restored file
#     would take it again, which is what the rule is for;
#   - in the first minute after a boot: a code is not checked, not counted,
#     and the user is told to wait for the next one; a recovery code works;
#     a minute later codes work again.
# The clock and the time since boot are faked (PAM_TOTP_TEST_NOW,
# PAM_TOTP_TEST_UPTIME: tests/pam/fake_host.cc).
. "$top_srcdir/tests/pam/lib.sh"
setup debug

# T0 is on a step boundary; s0 = T0/30.
UP_LONG=1000000   # booted long ago: the rule never bites
PAM_TOTP_TEST_UPTIME=$UP_LONG; export PAM_TOTP_TEST_UPTIME
# up SECONDS COMMAND...: COMMAND with that much time since boot.
up() { PAM_TOTP_TEST_UPTIME=$1; shift; "$@"; _r=$?; PAM_TOTP_TEST_UPTIME=$UP_LONG; return $_r; }

# --- what waits for the disk ------------------------------------------------------
if command -v strace >/dev/null 2>&1; then
  enrol dora --recovery 2 >"$T/dora.codes" || { echo "Bail out! enrol failed"; exit 1; }
  syncs() {  # TIME ANSWER: the sync calls of one login (strace), its output in $T/out
    PAM_TOTP_TEST_NOW=$1 PAM_TOTP_TEST_UPTIME=$UP_LONG strace -f -qq -e trace=fsync,fdatasync,sync_file_range \
      -o "$T/strace" "$DRIVER" --confdir "$T/pam.d" --service totp --user dora --rhost test.example \
      --answer "$2" >"$T/out" 2>&1
    grep -cE 'fsync|fdatasync|sync_file_range' "$T/strace"
  }
  n=$(syncs $T0 "$(code $T0)"); okr=0; result_is PAM_SUCCESS && okr=1
  check "a right TOTP code: accepted without fsync or fdatasync ($n sync calls)" test "$okr $n" = "1 0"
  n=$(syncs $((T0 + 30)) 000000)
  check "a wrong code: counted without waiting for the disk ($n sync calls)" test "$n $(ledger dora fail_count)" = "0 1"
  n=$(syncs $((T0 + 60)) "$(sed -n 1p "$T/dora.codes")"); okr=0; result_is PAM_SUCCESS && okr=1
  check "a recovery code: durable before the answer ($n sync calls)" test "$okr" = 1 -a "$n" -ge 1
else
  skip "strace not installed: the sync calls are not counted"
  skip "strace not installed"
  skip "strace not installed"
fi

# --- a power loss after a login -------------------------------------------------------
# At T0 (step s0) alice types the code of step s0+1 (her phone runs ahead;
# window 1 accepts it). The machine loses power right after; the slot the
# login wrote never reached the disk: the file is as it was before.
enrol alice >/dev/null
cp -p "$T/state/alice" "$T/alice.before"
c1=$(code $((T0 + 30)))
check "a code of the next step accepted at T0 (clock ahead)" accepts alice $T0 "$c1"
check "  its step is on record" test "$(ledger alice last_used_step)" = $(((T0 + 30) / 30))
cp -p "$T/alice.before" "$T/state/alice"   # the power loss: the login's write is lost
check "power loss: the ledger on disk no longer knows that step" test "$(ledger alice last_used_step)" = none

# The control: had the machine not rebooted (no boot since long before),
# nothing would stop the same code now -- this is the danger.
cp -p "$T/state/alice" "$T/alice.lost"
login alice $((T0 + 60)) --answer "$c1"; r=$?
check "control (no reboot): the lost login's code would be taken again" test $r = 0
cp -p "$T/alice.lost" "$T/state/alice"

# The real case: the machine rebooted 5 s after the loss. At T0+60 (step
# s0+2) the code of step s0+1 is within the window, but it could have been
# typed before the boot: refused as used.
BOOT=$((T0 + 5))
up $((T0 + 60 - BOOT)) login alice $((T0 + 60)) --answer "$c1"; r=$?
check "after the reboot the lost login's code is refused (PAM_AUTH_ERR)" test $r = 7
check "  logged as a replayed code" syslog_has "user=alice rhost=test.example: replayed code"
c3=$(code $((T0 + 60)))
up $((T0 + 60 - BOOT)) login alice $((T0 + 60)) --answer "$c3"; r=$?
check "  while the current code (typed after the boot) is accepted" test $r = 0

# --- the first minute after a boot ----------------------------------------------------------
enrol erin --recovery 2 >"$T/erin.codes" || { echo "Bail out! enrol failed"; exit 1; }
BOOT=$((T0 + 100))       # step s0+3
NOW=$((T0 + 110))        # 10 s after the boot
up $((NOW - BOOT)) login erin $NOW --answer "$(code $NOW)"; r=$?
check "10 s after a boot, the right code: refused" test $r = 7
check "  the user is told the system just started and to wait for the next code" \
  out_has "ERROR: This system has just started: codes from before its start are not accepted. Wait for the next code from your app and try again (or use a recovery code)"
check "  logged at notice, naming the boot rule" syslog_has "code not checked: this system started too recently"
check "  not counted as a failure" test "$(ledger erin fail_count)" = 0
up $((NOW - BOOT)) login erin $NOW --answer 000000; r=$?
okr=0; out_has 'ERROR: This system has just started' && okr=1
check "  a wrong code gets the same answer (nothing is told about the code)" test "$r $okr $(ledger erin fail_count)" = "7 1 0"
up $((NOW - BOOT)) login erin $NOW --answer "$(sed -n 1p "$T/erin.codes")"; r=$?
check "  a recovery code works at once" test $r = 0
LATER=$((BOOT + 80))     # the step after the first that nobody could have typed before the boot
up $((LATER - BOOT)) login erin $LATER --answer "$(code $LATER)"; r=$?
check "80 s after the boot, the code of that moment is accepted" test $r = 0
finish
