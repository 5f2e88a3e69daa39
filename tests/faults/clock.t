#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 19, the clock: set back one hour and forward one day between
# logins. The module reads the wall clock (time()); the PAM driver gives it
# the time of each login (PAM_TOTP_TEST_NOW) and shows its log lines, and
# pamtester under libfaketime (faketime) checks the same on the system
# clock as libc reports it. The rules (pam_totp(8)):
#   - no code is ever accepted twice: the last used step is a floor, so a
#     clock set back refuses every code until it has caught up, and says so
#     in one line ("clock is behind the last used code by N s: codes are
#     refused until then");
#   - a lock ends at an absolute time (locked_until): a clock set back keeps
#     it until the clock reaches that time (longer, never shorter: fail
#     closed; `totp-setup unlock` ends it), a clock set forward past it ends
#     it (as any wall-clock limit); it is never stuck and never lifted
#     while the clock is before its end.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
f_init
f_config "deny = 3" "unlock_time = 600" "fail_interval = 900"
for u in $A $B; do enrol "$u" || bail "enrol $u failed: $(cat "$T/tool.err")"; done

t=$((NOW + 300))
c=$(code $A "$t")
check "$A logs in at t" accepts $A "$t" "$c"
check "  no clock line when the clock is right" eval '! logged "clock is behind"'

# --- back one hour ---------------------------------------------------------------
b=$((t - 3600))
check "clock back 1 h: the code shown for that time is refused" refuses $A "$b" "$(code $A "$b")"
check "  one line: clock is behind the last used code by 3600 s" \
  one_line_says 'clock is behind the last used code by 3600 s: codes are refused until then'
check "clock back 1 h: the code used at t is refused too" refuses $A "$b" "$c"
check "  (again with the clock line)" logged 'clock is behind the last used code by 3600 s'
check "clock back 1 h: a wrong code is refused and counted" refuses $A "$((b + 30))" 000000
check "clock back to t: the code used at t is refused (replay), no clock line" \
  eval 'refuses $A "$t" "$c" && logged "replayed code" && ! logged "clock is behind"'
check "clock at t+30: the next code is accepted" accepts $A "$((t + 30))" "$(code $A "$((t + 30))")"

# --- forward one day -------------------------------------------------------------
d=$((t + 86400))
cd1=$(code $A "$d")
check "clock forward 1 day: that day's code is accepted (the clock says so)" accepts $A "$d" "$cd1"
check "clock right again (t+60): today's code is refused: nothing older than the day's step" \
  refuses $A "$((t + 60))" "$(code $A "$((t + 60))")"
check "  the log says the clock is behind by about a day" \
  one_line_says "clock is behind the last used code by $((86400 - 60)) s"
check "  a recovery code still works meanwhile (the way in until the clock catches up)" \
  accepts $A "$((t + 90))" "$(recovery $A 0)"
check "clock at the day again: the day's code is refused (replay)" refuses $A "$d" "$cd1"
check "every record loads" all_load

# --- the lockout across the jumps --------------------------------------------------
l=$((t + 600))
for i in 1 2 3; do login $B "$l" 000000; done
check "$B: three wrong codes lock him (deny = 3)" logged 'now locked'
cb=$(code $B "$((l + 30))")
check "locked: the right code is refused" refuses $B "$((l + 30))" "$cb"
check "clock back 1 h: still locked (not lifted early)" eval 'refuses $B "$((l - 3600))" "$(code $B "$((l - 3600))")" && logged "locked"'
check "clock at the lock's end minus 1 s: still locked" eval 'refuses $B "$((l + 599))" "$(code $B "$((l + 599))")" && logged "locked"'
check "clock at the lock's end: the right code is accepted (not stuck)" accepts $B "$((l + 600))" "$(code $B "$((l + 600))")"
for i in 1 2 3; do login $B "$((l + 700))" 000000; done
check "locked again" refuses $B "$((l + 730))" "$(code $B "$((l + 730))")"
check "clock forward 1 day: the lock has ended (an absolute end, passed)" \
  accepts $B "$((l + 86400))" "$(code $B "$((l + 86400))")"

# --- the system clock through libc: pamtester under libfaketime -------------------
FT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
  [ -f "$f" ] && { FT=$f; break; }
done
if [ -z "$FT" ] || ! command -v pamtester >/dev/null 2>&1 || ! command -v faketime >/dev/null 2>&1; then
  skip "libfaketime and pamtester: not installed (scripts/install-deps.sh)"
else
  # pamtester reads its service from /etc/pam.d only: in a private mount
  # namespace the suite's own pam.d is bind-mounted there (the real one is
  # never written); where none can be made, a service file of ours in the
  # real /etc/pam.d, removed by the trap.
  if mode=$(f_ns_mode); then
    pt() {  # OFFSET CODE: pamtester as root, the clock moved by OFFSET (faketime's syntax)
      printf '%s\n' "$2" | unshare --mount --propagation "$mode" -- sh -c \
        'mount --bind "$1" /etc/pam.d && exec faketime -f "$2" pamtester totp "$3" authenticate' \
        pt "$T/pam.d" "$1" "$C" >"$T/out" 2>&1
    }
  else
    svc=pam_totp-faults-$$
    cp "$T/pam.d/totp" "/etc/pam.d/$svc"
    trap 'rm -f "/etc/pam.d/$svc"; f_cleanup' EXIT
    pt() { printf '%s\n' "$2" | faketime -f "$1" pamtester "$svc" "$C" authenticate >"$T/out" 2>&1; }
  fi
  # accepted / refused as pamtester says it (not merely its exit status)
  pt_ok() { pt "$@" && grep -q 'successfully authenticated' "$T/out"; }
  pt_refused() { ! pt "$@" && grep -q 'Authentication failure' "$T/out"; }
  enrol $C || bail "enrol $C failed"
  now=$(date +%s)
  if pt_ok "+0" "$(code $C "$now")"; then
    ok "pamtester, real clock: $C's code is accepted"
    back=$(code $C "$((now - 3600))")
    check "pamtester, clock back 1 h (faketime -1h): the code for that time is refused" pt_refused "-1h" "$back"
    check "pamtester, clock back 1 h: the current code is refused (already used)" pt_refused "-1h" "$(code $C "$now")"
    day=$(code $C "$((now + 86400))")
    check "pamtester, clock forward 1 day (faketime +1d): that day's code is accepted" pt_ok "+1d" "$day"
    check "pamtester, real clock again: the next code is refused (behind the day's step)" \
      eval 'pt_refused "+0" "$(code $C "$(( $(date +%s) + 30 ))")"'
    check "pamtester, clock forward 1 day again: the day's code is refused (replay)" pt_refused "+1d" "$day"
  else
    skip "pamtester does not take the code from a pipe here: $(tail -1 "$T/out")"
  fi
fi

done_testing
