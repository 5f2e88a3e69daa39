#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 13, finding 1, the module's side: an unprivileged user runs su to an
# enrolled user under `prlimit --fsize=N` (no limit, 0, 1, 100, 700 bytes),
# as an attacker with a shell would, hoping that the write which records a
# wrong code fails (SIGXFSZ or EFBIG) while the code is judged anyway, or
# that a right code answers differently from a wrong one. For each limit:
#   - control: su to a user without an enrolment through the guide's nullok
#     stack: if su itself cannot run under the limit (for reasons that have
#     nothing to do with pam_totp) the suite says so;
#   - deny+2 wrong codes: none lets in, at most `deny` are judged (the code
#     asked for, then refused), every judged one is on record (root's
#     status: that many failures, or the lock);
#   - then, in the state those wrong codes left, the right password and
#     the right code: they must get no other answer than the wrong codes
#     got (no answer, or the lock), never a way in: otherwise a refusal or
#     a dead su would tell the attacker "wrong";
#   - unlocked, the right password and code: either let in AND on record
#     (root's status shows the login), or refused, and then, when su lived
#     to log it, a syslog line says the state could not be written;
#   - the enrolment is intact (same creation time and recovery codes), and
#     at the end a right code still lets in (the same secret).
# The su stack is the guide's password-then-code lines, bind-mounted over
# /etc/pam.d/su in a private mount namespace per su (as lib.sh's e2e_su).
# The module's syslog lines are caught by a datagram socket of this suite
# mounted on /dev/log in that namespace (over the real one, or on a copy-
# on-write /dev where there is none), so no system logger is needed.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
e2e_need_ns /etc/pam.d/su   # every point is an su: skipped, with the reason, where no namespace can be made
for t in prlimit python3 mount flock; do command -v $t >/dev/null 2>&1 || skip_all "$t not installed"; done

DENY=3   # deny+2 wrong codes per limit, each costs su's failure delay (about 3 s)
# window 4: nine codes are accepted at any moment, so the right codes the
# suite needs (two or three per limit) rarely wait for a new time step.
E2E_WINDOW=4
e2e_config e2e "deny = $DENY" "unlock_time = 600" "window = $E2E_WINDOW"
A=${E2E_TAG}a   # who runs su (the attacker's shell)
B=${E2E_TAG}b   # enrolled target
C=${E2E_TAG}c   # target without an enrolment (control)
for u in "$A" "$B" "$C"; do e2e_user "$u"; done
e2e_enroll "$E2E_CONF" "$B" || bail "totp-setup enroll $B failed"
e2e_su_service "$E2E_GUIDE/pam-password-code"
e2e_pam_from /etc/pam.d/su "$E2E_GUIDE/pam-password-code-nullok" >"$E2E_TMP/su-nullok.pam"
chmod 0644 "$E2E_TMP/su-nullok.pam"
root_status() { "$E2E_TOOL" --config "$E2E_CONF" status --user "$B" --json; }
unlock() { "$E2E_TOOL" --config "$E2E_CONF" unlock --user "$B" >/dev/null 2>&1; }
created=$(root_status | jq -r .created_unix)
rc_left=$(root_status | jq -r .recovery_codes_left)
intact() { test "$(root_status | jq -r '"\(.enrolled) \(.created_unix) \(.recovery_codes_left)"')" = "true $created $rc_left"; }
ok "users made, $B enrolled (deny = $DENY), su stacks written"

# --- a syslog of our own -------------------------------------------------------
LOG=$E2E_TMP/syslog.txt
e2e_syslog_sink "$LOG" || bail "the syslog socket did not start"

# su_lim LIMIT PAMFILE FROM TO PASSWORD CODE: as e2e_su, with the caller's
# shell running `prlimit --fsize=LIMIT -- su ...` (none: no prlimit), and
# our socket on /dev/log. Output in $E2E_TMP/last.out; su's exit status.
su_lim() {
  _d=$(mktemp -d "$E2E_TMP/dev.XXXXXX")   # a /dev overlay's dirs: one per su
  mkdir "$_d/up" "$_d/wk" "$_d/pts"
  E2E_PASSWORD="$5" E2E_CODE="$6" expect -f "$E2E_DIR/answer.exp" \
    unshare --mount --propagation "$E2E_NS_MODE" -- sh -c '
      mount --bind "$1" /etc/pam.d/su || exit 97
      if [ -e /etc/pam.d/su-l ]; then mount --bind "$1" /etc/pam.d/su-l || exit 97; fi
      if [ ! -e /dev/log ]; then
        # a copy-on-write /dev, with the pseudo-terminals put back
        mount --bind /dev/pts "$7/pts" &&
          mount -t overlay overlay -o "lowerdir=/dev,upperdir=$7/up,workdir=$7/wk" /dev &&
          mount --move "$7/pts" /dev/pts && : >/dev/log || exit 97
      fi
      mount --bind "$6/log.sock" /dev/log || exit 97
      cd / || exit 97
      if [ "$5" = none ]; then exec runuser -u "$2" -- su "$3" -c "$4"; fi
      exec runuser -u "$2" -- prlimit --fsize="$5" -- su "$3" -c "$4"' e2e-su \
      "$2" "$3" "$4" "$E2E_CMD" "$1" "$E2E_TMP" "$_d" \
    >"$E2E_TMP/last.out" 2>&1
}
# classify: after su_lim, sets cls: ran (the command ran as the target),
# locked (the locked message, no code asked), judged (a code was asked and
# su refused), other (no answer: su died, or anything else); and shows why.
classify() {  # EXIT TARGET
  if e2e_ran_as "$2"; then cls=ran
  elif e2e_last_has 'locked'; then
    if [ "$(e2e_prompts)" = password,code ]; then cls=judged; else cls=locked; fi
  elif [ "$(e2e_prompts)" = password,code ] && e2e_last_has 'authentication failure|incorrect|denied'; then cls=judged
  else cls=other
  fi
}
log_mark() { mark=$(wc -l <"$LOG"); }
log_write_error() { log_since | grep -qiE 'not recorded|state file|write|too large|limit'; }
locked_now() { root_status | jq -e '.locked_until != null' >/dev/null; }
# right_code: a right code in $x that no login used yet: for the earliest
# step after the last one used that is still accepted (E2E_WINDOW), waiting
# for the next step when all of them are used, with 8 s left in the step.
# code_seen CLS: after a login with $x: a code that was judged (let in or
# refused after the prompt) counts as used; one that su never got to judge
# (locked before the prompt, su killed at the first state write) does not.
PERIOD=$(e2e_uri_param "$B" period); PERIOD=${PERIOD:-30}
last_step=0
right_code() {
  e2e_fresh_step "$B" 8
  cur=$(( $(date +%s) / PERIOD ))
  s=$((last_step + 1)); [ $s -lt $((cur - E2E_WINDOW)) ] && s=$((cur - E2E_WINDOW))
  if [ $s -gt $((cur + E2E_WINDOW)) ]; then
    sleep $(( (s - E2E_WINDOW) * PERIOD - $(date +%s) ))
    e2e_fresh_step "$B" 8
  fi
  x=$(e2e_code "$B" $((s - $(date +%s) / PERIOD)))
  x_step=$s
}
code_seen() { case $1 in ran|judged) last_step=$x_step ;; esac; }
log_since() { tail -n +$((mark + 1)) "$LOG"; }
last_line() { tr -d '\r' <"$E2E_TMP/last.out" | grep -v '^E2E-PROMPTS' | grep . | tail -1; }

for L in none 0 1 100 700; do
  # --- control: su itself under this limit, without pam_totp in the way ----
  su_lim "$L" "$E2E_TMP/su-nullok.pam" "$A" "$C" "$(e2e_password "$C")" ""; rc=$?
  if e2e_ran_as "$C"; then
    su_runs=1
  else
    su_runs=0
    diag "fsize=$L: su itself does not run here (to a user without an enrolment, nullok, exit $rc: $(last_line)); only refusals are meaningful under this limit"
  fi

  # --- wrong codes ------------------------------------------------------------
  unlock
  nj=0; nl=0; nr=0; no=0; lock_at=0; last_other=""
  k=0
  while [ $k -lt $((DENY + 2)) ]; do
    k=$((k + 1))
    su_lim "$L" "$E2E_TMP/su.pam" "$A" "$B" "$(e2e_password "$B")" "$(e2e_wrong_code "$B")"; rc=$?
    classify "$rc" "$B"
    case $cls in
      judged) nj=$((nj + 1)) ;;
      locked) nl=$((nl + 1)); [ $lock_at = 0 ] && lock_at=$k ;;
      ran) nr=$((nr + 1)) ;;
      *) no=$((no + 1)); last_other="exit $rc: $(last_line)" ;;
    esac
  done
  last_wrong=$cls
  failures=$(root_status | jq -r .failures)
  diag "fsize=$L: $((DENY + 2)) wrong codes -> $nj judged (code asked, refused), $nl locked (first at $lock_at), $nr let in, $no no answer${last_other:+ (last: $last_other)}; root's status: $failures failures, $(locked_now && echo locked || echo not locked)"
  check "fsize=$L: no wrong code let in" test "$nr" = 0
  check "fsize=$L: at most $DENY wrong codes judged ($nj)" test "$nj" -le $DENY
  check "fsize=$L: every judged code is on record ($nj judged; status: $failures failures or the lock)" \
    sh -c 'test "$1" -ge "$2" || test "$3" = yes' - "$failures" "$nj" "$(locked_now && echo yes)"
  if [ "$nj" -ge $DENY ]; then check "fsize=$L: root's status shows the lock" locked_now; fi
  # The oracle: in the state the wrong codes left, a right code must get
  # the same answer (no answer, or the lock), never a way in.
  right_code
  t0=$(date +%s)
  su_lim "$L" "$E2E_TMP/su.pam" "$A" "$B" "$(e2e_password "$B")" "$x"; rc=$?
  classify "$rc" "$B"; code_seen "$cls"
  diag "fsize=$L: then the right password + right code in that state -> $cls (exit $rc: $(last_line))"
  check "fsize=$L: in the state the wrong codes left, the right code gets no other answer than they did ($last_wrong)" \
    test "$cls" != ran
  check "fsize=$L: the enrolment is intact after the wrong codes" intact

  # --- the right password and the right code, unlocked ----------------------
  unlock
  right_code
  t0=$(date +%s)
  log_mark
  su_lim "$L" "$E2E_TMP/su.pam" "$A" "$B" "$(e2e_password "$B")" "$x"; rc=$?
  classify "$rc" "$B"; code_seen "$cls"
  diag "fsize=$L: unlocked, right password + right code -> $cls (exit $rc: $(last_line))"
  if [ "$cls" = ran ]; then
    check "fsize=$L: right code let in, and the login is on record (root's status: last login now)" \
      test "$(root_status | jq -r '.last_login.unix // 0')" -ge "$t0"
  elif log_since | grep -q 'pam_totp'; then
    check "fsize=$L: right code refused, and the log says the state could not be written" log_write_error
    log_since | sed 's/^/#   log: /' | tail -3
  elif [ "$su_runs" = 0 ] || grep -q 'E2E-TIMEOUT' "$E2E_TMP/last.out"; then
    skip "fsize=$L: right code refused; no log line to check (su did not get that far)"
  else
    skip "fsize=$L: right code refused; no log line: su ended before pam_totp could log (exit $rc, e.g. killed by SIGXFSZ at the state write)"
  fi
  check "fsize=$L: the enrolment is intact after the right code" intact
done

# --- a held lock does not hang logins ------------------------------------------
# Someone (a stopped login, a hung process) holds the user's lock: the
# next su must be refused after a bounded wait, with a log line, not hang.
unlock
lockfile=$E2E_TMP/state/.lock.$B
if [ -f "$lockfile" ]; then
  ( exec 9<>"$lockfile" && flock -x 9 && : >"$E2E_TMP/held" && exec sleep 60 ) &
  lpid=$!
  E2E_PIDS="$E2E_PIDS $lpid"
  i=0; while [ ! -f "$E2E_TMP/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  right_code
  log_mark
  t_ns=$(date +%s%N)
  E2E_TIMEOUT=25 su_lim none "$E2E_TMP/su.pam" "$A" "$B" "$(e2e_password "$B")" "$x"; rc=$?
  ms=$(( ($(date +%s%N) - t_ns) / 1000000 ))
  e2e_stop "$lpid"
  classify "$rc" "$B"
  last_step=$x_step   # a su left waiting may still judge it once the lock is free
  diag "su while another process holds $B's lock: $cls after $ms ms (exit $rc: $(last_line))"
  log_since | grep pam_totp | sed 's/^/#   log: /' | tail -2
  check "lock held elsewhere: su is refused, not hung (took $ms ms, within 10 s with su's failure delay)" \
    test "$cls" != ran -a "$ms" -le 10000
  log_since >"$E2E_TMP/since"
  check "lock held elsewhere: the log says the lock is held" grep -qiE 'lock.*(held|busy|wait)' "$E2E_TMP/since"
else
  not_ok "no lock file $lockfile"
fi

# --- the secret is the one enrolled: a right code still works -----------------
unlock
right_code
check "afterwards, without a limit: the right password and code let in" e2e_su_ok "$A" "$B" "$(e2e_password "$B")" "$x"
done_testing
