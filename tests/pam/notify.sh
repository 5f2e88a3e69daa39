#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# notify_command (issue 17, core/notify.h) through PAM and root's totp-setup:
#   - a lockout and a recovery-code login each send one event, with the
#     user, rhost, service and time (and the codes left); a right TOTP code,
#     a wrong one below `deny` and a login while locked send none;
#   - enrol, replace (--force, and root enrolling a revoked account again),
#     revoke (one per user with --all), remove and import (enrol, or replace
#     with --yes) through totp-setup send one event each; remove --name (one
#     authenticator) and revoking a revoked account send none;
#   - the hook runs as nobody (no groups, no new privileges), in its own
#     process group and session, umask 077, in /, with 0/1/2 on /dev/null and
#     nothing else of the host's, and an environment of PATH and PAM_TOTP_*
#     only: a variable of the driver's environment or of the PAM environment
#     (pam_env) does not reach it, nor any code;
#   - a hook that sleeps does not delay the login (measured) and its process
#     group is gone after the time limit; a failing, a missing, a non-root,
#     a group-writable and a symlinked hook leave the login's result as it
#     was, and the unsafe ones are refused with a log line;
#   - the host's state (fds, signals, threads, umask...) is unchanged.
# Needs root (the drop to nobody).
. "$top_srcdir/tests/pam/lib.sh"
setup
suite_start=$(date +%s)
TOOL=$top_builddir/totp-setup
NOBODY_UID=$(id -u nobody 2>/dev/null) || { echo "1..0 # SKIP no user nobody to run the hook as"; exit 0; }
NOBODY_GID=$(id -g nobody)
[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }

# Hooks in a root-owned directory; their output where only nobody writes.
chmod 711 "$T"
H=$T/hooks
O=$T/out.d
mkdir "$H" "$O"
chmod 755 "$H"
chown "$NOBODY_UID:$NOBODY_GID" "$O"
chmod 700 "$O"

cat >"$H/record" <<EOF
#!/bin/sh
f=$O/\$\$.tmp
{
  tr '\\0' '\\n' </proc/\$\$/environ | sed 's/^/ENV /'
  echo "ID \$(id -u) \$(id -g) \$(id -G)"
  echo "UMASK \$(umask)"
  echo "CWD \$(pwd)"
  read -r _pid _comm _state _ppid pgrp sid _rest </proc/\$\$/stat
  echo "PGRP \$pgrp SID \$sid PID \$\$"
  grep '^NoNewPrivs' /proc/\$\$/status
  # Listed by a child into a file: no pipe of our own in the list.
  ls -l /proc/\$\$/fd/ >"\$f.fd"
} >"\$f"
sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)\$/FD \1 \2/p' "\$f.fd" >>"\$f"
rm -f "\$f.fd"
mv "\$f" "$O/\$\$.ev"
EOF
cat >"$H/sleeper" <<EOF
#!/bin/sh
trap 'date +%s >$O/sleeper.term; exit 143' TERM
echo \$\$ >$O/sleeper.tmp && mv $O/sleeper.tmp $O/sleeper.pid
sleep 60
echo survived >$O/sleeper.survived
EOF
cat >"$H/fail" <<EOF
#!/bin/sh
: >$O/fail.ran
exit 1
EOF
chmod 755 "$H/record" "$H/sleeper" "$H/fail"
cp "$H/record" "$H/theirs" && chown "$NOBODY_UID" "$H/theirs"
cp "$H/record" "$H/groupw" && chmod 775 "$H/groupw"
ln -s "$H/record" "$H/link"

LIMITS="deny = 3
unlock_time = 600"
# svc NAME HOOK: a service NAME whose config runs HOOK; prints the config.
svc() {
  c=$(conf_with "$1" "$LIMITS" "notify_command = $2")
  service "$1" "auth required $MODULE config=$c"
  printf '%s\n' "$c"
}
svc rec "$H/record" >/dev/null
svc sleep "$H/sleeper" >/dev/null
svc fail "$H/fail" >/dev/null
svc missing "$T/no-such-hook" >/dev/null
svc theirs "$H/theirs" >/dev/null
svc groupw "$H/groupw" >/dev/null
svc link "$H/link" >/dev/null
c=$(conf_with none "$LIMITS")
service none "auth required $MODULE config=$c"
TOOLCONF=$(conf_with tool "$LIMITS" "recovery_codes = 1" "notify_command = $H/record")
# A variable the application put into the PAM environment (pam_env).
printf 'PAMAPP_MARK DEFAULT=set-by-the-application\n' >"$T/env.conf"
PAM_ENV=
for d in /lib/*/security /usr/lib/*/security /lib/security /usr/lib/security /lib64/security; do
  [ -e "$d/pam_env.so" ] && { PAM_ENV=$d/pam_env.so; break; }
done
if [ -n "$PAM_ENV" ]; then
  service rec "auth optional $PAM_ENV conffile=$T/env.conf readenv=0 user_readenv=0" \
    "auth required $MODULE config=$T/rec.conf"
fi

# Events: one file per run of the record hook.
clear_events() { rm -f "$O"/*.ev "$O"/*.tmp; }
# wait_events N: until N events arrived (at most 5 s), then 0.3 s more for
# any that should not; all of them in $T/ev.
wait_events() {
  i=0
  while [ "$(ls "$O" | grep -c '\.ev$')" -lt "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  sleep 0.3
  cat "$O"/*.ev >"$T/ev" 2>/dev/null || : >"$T/ev"
  ls "$O" | grep -c '\.ev$' >"$T/ev.n"
}
n_events() { cat "$T/ev.n"; }
ev_has() { grep -qxF -- "$1" "$T/ev"; }
# one_event EVENT USER [SERVICE]: exactly one event, this one.
one_event() {
  [ "$(n_events)" = 1 ] && ev_has "ENV PAM_TOTP_EVENT=$1" && ev_has "ENV PAM_TOTP_USER=$2" &&
    ev_has "ENV PAM_TOTP_SERVICE=${3:-totp-setup}"
}
wrong() { code "$1" | tr 0-9 1-90; }
ms_now() { date +%s%N | cut -c1-13; }

enrol alice
enrol bob --recovery 2 >"$T/codes" || { echo "Bail out! enrol failed"; exit 1; }
r1=$(sed -n 1p "$T/codes")

# --- a sleeping hook: started first, checked at the end (time limit) ---
enrol sam --recovery 2 >"$T/scodes"
clear_events
t0=$(ms_now)
login --service sleep sam $T0 --answer "$(sed -n 1p "$T/scodes")"
rc=$?
t1=$(ms_now)
sleep_ms=$((t1 - t0))
sleep_start=$(date +%s)
check "a recovery login with a hook that sleeps 60 s succeeds" test $rc = 0
check "... in well under a second (${sleep_ms} ms)" test $sleep_ms -lt 1000
t0=$(ms_now)
login --service none sam $((T0 + 1)) --answer "$(sed -n 2p "$T/scodes")"
t1=$(ms_now)
none_ms=$((t1 - t0))
diag_times="login with the sleeping hook: ${sleep_ms} ms; without a hook: ${none_ms} ms"
echo "# $diag_times"

# --- lockout ---
clear_events
FOO_SECRET=leak PAM_TOTP_EXTRA=leak login --service rec alice $((T0 + 1)) --answer "$(wrong $((T0 + 1)))"
rc1=$?
login --service rec alice $((T0 + 2)) --answer "$(wrong $((T0 + 2)))"
wait_events 0
check "two wrong codes below deny: refused, no event" test "$rc1/$(n_events)" = 7/0
FOO_SECRET=leak PAM_TOTP_EXTRA=leak login --service rec alice $((T0 + 3)) --answer "$(wrong $((T0 + 3)))" --check-host-state
rc=$?
check "the third wrong code is refused as without a hook" sh -c "test $rc = 7 && grep -q '^RESULT: PAM_AUTH_ERR' '$T/out'"
check "and told the account is locked" out_has "ERROR: Account locked"
check "the host's state is unchanged (fds, signals, threads, umask...)" out_has "HOST_STATE: unchanged"
wait_events 1
check "one lockout event for alice" one_event lockout alice rec
check "with rhost, host and time" sh -c "grep -qx 'ENV PAM_TOTP_RHOST=test.example' '$T/ev' &&
  grep -qx 'ENV PAM_TOTP_HOST=$(uname -n)' '$T/ev' && grep -qx 'ENV PAM_TOTP_TIME=$((T0 + 3))' '$T/ev' &&
  grep -qx 'ENV PAM_TOTP_TIME_UTC=2023-11-14T22:13:33Z' '$T/ev'"
check "the environment is PATH and PAM_TOTP_* only" \
  test "$(grep '^ENV ' "$T/ev" | cut -d= -f1 | tr '\n' ' ')" = \
  "ENV PATH ENV PAM_TOTP_EVENT ENV PAM_TOTP_USER ENV PAM_TOTP_HOST ENV PAM_TOTP_RHOST ENV PAM_TOTP_SERVICE ENV PAM_TOTP_TIME ENV PAM_TOTP_TIME_UTC "
check "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ev_has "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin"
if [ -n "$PAM_ENV" ]; then
  check "a variable of the PAM environment (pam_env) does not reach it" sh -c "! grep -q PAMAPP_MARK '$T/ev'"
else
  skip "pam_env.so not found"
fi
check "nor the caller's environment (FOO_SECRET, PAM_TOTP_TEST_NOW)" sh -c "! grep -q -e leak -e TEST_NOW '$T/ev'"
check "it runs as nobody with nobody's group only" ev_has "ID $NOBODY_UID $NOBODY_GID $NOBODY_GID"
check "with no new privileges" ev_has "NoNewPrivs:	1"
check "umask 077, in /" sh -c "grep -qx 'UMASK 0077' '$T/ev' && grep -qx 'CWD /' '$T/ev'"
pg=$(sed -n 's/^PGRP \([0-9]*\) SID \([0-9]*\) PID \([0-9]*\)$/\1 \2 \3/p' "$T/ev")
set -- $pg
check "in a process group of its own, in a session of the watchdog's" test "$1" = "$3" -a "$2" != "$3" -a "$2" != "$$"
check "0, 1 (but for its own redirection) and 2 on /dev/null" sh -c "grep -qx 'FD 0 /dev/null' '$T/ev' && grep -qx 'FD 2 /dev/null' '$T/ev'"
check "no other descriptor of the host (only /dev/null, its own file, its output)" \
  sh -c "! grep '^FD ' '$T/ev' | grep -v -e ' /dev/null\$' -e ' $H/record\$' -e ' $O/' | grep -q ."
check "no code in the event" sh -c "! grep -q -e '$(code $((T0 + 3)))' -e '$(wrong $((T0 + 3)))' '$T/ev'"
clear_events
login --service rec alice $((T0 + 4)) --answer "$(code $((T0 + 4)))"
wait_events 0
check "a login while locked: refused, no event" test "$(n_events)" = 0 -a "$(tail -1 "$T/out")" = "RESULT: PAM_AUTH_ERR"

spid=$(cat "$O/sleeper.pid" 2>/dev/null)
check "the sleeping hook is still running ($(( $(date +%s) - sleep_start )) s after the login)" \
  sh -c "test -n '$spid' && kill -0 -'$spid' 2>/dev/null"

# --- recovery code, right code ---
clear_events
login --service rec bob $((T0 + 5)) --answer "$r1"
rc=$?
check "a recovery code login succeeds" test $rc = 0
wait_events 1
check "one recovery-code-used event for bob" one_event recovery-code-used bob rec
check "with the codes left (1)" ev_has "ENV PAM_TOTP_RECOVERY_LEFT=1"
check "and not the recovery code" sh -c "! grep -qi -e '$r1' -e '$(echo "$r1" | tr -d -)' '$T/ev'"
clear_events
accepts bob $((T0 + 60)) "$(code $((T0 + 60)))" >/dev/null
rc=$?
login --service rec bob $((T0 + 90)) --answer "$(code $((T0 + 90)))"
rc=$((rc + $?))
wait_events 0
check "right TOTP codes send nothing" test "$rc/$(n_events)" = 0/0

# --- failing, missing and refused hooks ---
enrol carol --recovery 6 >"$T/ccodes"
n=1
for s in fail missing theirs groupw link; do
  clear_events
  login --service $s carol $((T0 + 100 + n)) --answer "$(sed -n ${n}p "$T/ccodes")"
  rc=$?
  check "hook '$s': the recovery login still succeeds" sh -c "test $rc = 0 && grep -q '^INFO: Recovery code accepted; $((6 - n)) left' '$T/out'"
  cp "$T/out" "$T/out.$s"
  n=$((n + 1))
done
login --service groupw carol $((T0 + 200)) --answer "$(wrong $((T0 + 200)))"
check "hook 'groupw': a wrong code is refused as ever" result_is PAM_AUTH_ERR
wait_events 0
check "no refused hook ran" test "$(n_events)" = 0
i=0; while [ ! -e "$O/fail.ran" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "the failing hook did run" test -e "$O/fail.ran"
cp "$T/out.missing" "$T/out"
check "a missing hook: one log line" sh -c "test \$(grep -c '^SYSLOG.*notify_command' '$T/out') = 1 && grep -q 'notify_command $T/no-such-hook (event recovery-code-used) not run: it does not exist' '$T/out'"
cp "$T/out.theirs" "$T/out"
check "a hook owned by nobody: refused with a log line" syslog_has "notify_command $H/theirs (event recovery-code-used) not run: it is owned by uid $NOBODY_UID, not root"
cp "$T/out.groupw" "$T/out"
check "a group-writable hook: refused with a log line" syslog_has "not run: it is writable by group or others"
cp "$T/out.link" "$T/out"
check "a symlinked hook: refused with a log line" syslog_has "not run: it is a symbolic link"

# --- totp-setup (root) ---
tool() { "$TOOL" --config "$TOOLCONF" "$@" >"$T/tool.out" 2>&1; }
clear_events; tool enroll --user daemon --yes; wait_events 1
check "enroll: one enrol event" one_event enrol daemon
check "(no rhost from the tool)" ev_has "ENV PAM_TOTP_RHOST="
clear_events; tool enroll --user daemon --force --yes; wait_events 1
check "enroll --force: one replace event" one_event replace daemon
clear_events; tool enroll --user daemon --add --name phone2 --yes; tool remove --user daemon --name phone2 --yes
wait_events 0
check "adding and removing one authenticator: no event" test "$(n_events)" = 0
clear_events; tool revoke --user daemon --yes; wait_events 1
check "revoke: one revoke event" one_event revoke daemon
clear_events; tool revoke --user daemon --yes; wait_events 0
check "revoking again (nothing changes): no event" test "$(n_events)" = 0
clear_events; tool enroll --user daemon --yes; wait_events 1
check "enrolling a revoked account again: one replace event" one_event replace daemon
clear_events; tool remove --user daemon --yes; wait_events 1
check "remove: one remove event" one_event remove daemon
printf 'HOTP/T30\tsys\t-\t3132333435363738393031323334353637383930\n' >"$T/users.oath"
chmod 600 "$T/users.oath"
clear_events; tool import --from oath --file "$T/users.oath"; wait_events 1
check "import of a user who had no enrolment: one enrol event" one_event enrol sys
clear_events; tool import --from oath --file "$T/users.oath" --yes; wait_events 1
check "import --yes over an enrolment: one replace event" one_event replace sys
clear_events; tool enroll --user daemon --yes; tool enroll --user bin --yes; wait_events 2
clear_events
# Every enrolled user of this store: the test users too.
nusers=$("$TOOL" --config "$TOOLCONF" list --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["users"]))' 2>/dev/null)
tool revoke --all --yes
wait_events "${nusers:-2}"
check "revoke --all: one revoke event per user (${nusers:-?})" sh -c "test \$(grep -c '^ENV PAM_TOTP_EVENT=revoke\$' '$T/ev') = '$nusers' && test '$(n_events)' = '$nusers' &&
  test \$(grep '^ENV PAM_TOTP_USER=' '$T/ev' | sort -u | wc -l) = '$nusers'"

# --- the sleeping hook is gone after the time limit ---
i=0; while [ ! -e "$O/sleeper.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
spid=$(cat "$O/sleeper.pid" 2>/dev/null)
check "the sleeping hook had started" test -n "$spid"
alive() { [ -n "$spid" ] && kill -0 "-$spid" 2>/dev/null; }
while alive && [ $(( $(date +%s) - sleep_start )) -lt 14 ]; do sleep 0.2; done
gone_after=$(( $(date +%s) - sleep_start ))
check "its process group is gone after the time limit (${gone_after} s after the login)" sh -c "! kill -0 -$spid 2>/dev/null"
check "(killed, not finished)" test ! -e "$O/sleeper.survived"
term=$(cat "$O/sleeper.term" 2>/dev/null)
check "SIGTERM came at the time limit ($((${term:-0} - sleep_start)) s after the login)" \
  test -n "$term" -a "$((${term:-0} - sleep_start))" -ge 9 -a "$((${term:-0} - sleep_start))" -le 12

finish
echo "# $diag_times"
echo "# took $(( $(date +%s) - suite_start )) s"
