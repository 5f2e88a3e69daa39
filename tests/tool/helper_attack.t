#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 13, finding 1: guessing through the setuid helper must be counted,
# whatever the caller does to it. Mounted the way an attacker with a user's
# shell would, on the installed product: an unprivileged user runs
# $PREFIX/bin/totp-setup (which runs the setuid-root
# $PREFIX/libexec/pam_totp/totp-helper, made setuid for this suite and put
# back afterwards) or the helper itself, and
#   - sends 1,000 wrong codes through `remove`, re-enrolment and
#     `recovery-codes`, under `prlimit --fsize=0` (the ledger write that
#     records the failure would die of SIGXFSZ), a soft-only limit of 0,
#     1, 100 and 700 bytes, and no limit (root unlocks between rounds);
#   - tries to stop or kill its own helper (kill -STOP / -KILL: EPERM);
#   - has the helper killed at random moments (SIGKILL, SIGSTOP then
#     SIGKILL: what a user with cgroup.kill or the freezer could still do;
#     simulated as root here), and a writer killed with its temporary file
#     on disk;
#   - finds the user's lock held by someone else: the wait is bounded;
# and checks each time, as root, that at most `deny` attempts got a
# right/wrong answer before the lock, that root's `status` shows the lock,
# that the enrolment is intact (same creation time, recovery codes, secret)
# and that no temporary file is left behind. Finally a right code under
# `prlimit --fsize=0`: it works (the helper pins its limits), or, where the
# system withholds CAP_SYS_RESOURCE so that no one can raise a lowered hard
# limit, it gets the very refusal a wrong code gets (the helper refuses to
# run), and works with a soft-only limit.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR, BUILD_DIR.
set -u
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, makes the helper setuid)"
: "${PREFIX:?PREFIX not set}"
TOOL=$PREFIX/bin/totp-setup
HELPER=$PREFIX/libexec/pam_totp/totp-helper
[ -x "$TOOL" ] && [ -x "$HELPER" ] || skip_all "totp-setup or the helper is not installed in $PREFIX"
for t in oathtool jq useradd userdel runuser prlimit setpriv flock timeout od; do
  command -v $t >/dev/null || skip_all "$t not installed"
done

DENY=5
# A setuid-root helper can raise a hard limit the caller lowered only with
# CAP_SYS_RESOURCE in the bounding set (some containers withhold it); then
# it refuses to run under a hard limit too low for it, and a right code gets
# the same refusal as a wrong one.
capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
can_raise=$(( (0x${capbnd:-0} >> 24) & 1 ))
U=totpatk$$
CONF=$PREFIX/etc/security/pam_totp.conf
tmp=$(mktemp -d)
chmod 0755 "$tmp"           # the user's fifo lives in $tmp/u
state=$(mktemp -d)          # root 0700: key and state
sd=$state/state
helper_mode=$(stat -c %a "$HELPER")
PIDS=""
T0=$(date +%s)
cleanup() {
  for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
  exec 7>&- 2>/dev/null
  chmod "$helper_mode" "$HELPER" 2>/dev/null
  if [ -f "$tmp/conf.saved" ]; then mv "$tmp/conf.saved" "$CONF"; else rm -f "$CONF"; fi
  userdel "$U" 2>/dev/null
  rm -rf "$tmp" "$state"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

useradd -M -d /nonexistent -s /bin/sh "$U" || skip_all "useradd failed"
G=$(id -g "$U")
if ! runuser -u "$U" -- test -x "$HELPER"; then skip_all "$U cannot reach $HELPER (directory permissions)"; fi
mkdir -p "$(dirname "$CONF")"
[ -f "$CONF" ] && cp -p "$CONF" "$tmp/conf.saved"
cat > "$CONF" <<EOC
state_dir = $sd
key_file = $state/key
window = 1
deny = $DENY
unlock_time = 600
issuer = Attack Test
EOC
chmod 0644 "$CONF"
"$TOOL" init >/dev/null || { echo "Bail out! totp-setup init failed"; exit 1; }
chown root:root "$HELPER"
chmod 4755 "$HELPER"
mkdir "$tmp/u"; chown "$U" "$tmp/u"

# as_user: the attacker's shell (a clean environment, the user's uid).
as_user() { runuser -u "$U" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"; }
# as_user_exec: the same without runuser's fork, and exec'd, so that after
# `as_user_exec ... &` $! is the process itself (only ever run with &).
as_user_exec() {
  exec setpriv --reuid="$U" --regid="$G" --clear-groups -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"
}
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
code_at() {  # OFFSET_IN_PERIODS: the code of the enrolment ($uri) at now + offset
  oathtool --totp -b -d "$DIGITS" -s "$PERIOD" -N "@$(( $(date +%s) + $1 * PERIOD ))" "$SECRET"
}
fresh_step() {  # SECONDS: wait until at least SECONDS are left in the step
  left=$(( PERIOD - $(date +%s) % PERIOD ))
  if [ "$left" -lt "$1" ]; then sleep "$left"; fi
}
root_status() { "$TOOL" status --user "$U" --json; }
# gen_wrong COUNT: COUNT certainly wrong codes in $tmp/codes, one a line,
# each with a random 0-30 (ms) after a colon: random codes that are none of
# the codes of the steps from now-3 to now+20 (the accepted window is 1 step
# either side, and a round takes far less than 20 steps).
gen_wrong() {
  oathtool --totp -b -d "$DIGITS" -s "$PERIOD" -w 23 -N "@$(( $(date +%s) - 3 * PERIOD ))" "$SECRET" > "$tmp/valid"
  od -An -tu4 -N$(( 8 * $1 + 400 )) /dev/urandom | tr -s ' ' '\n' | sed '/^$/d' |
    awk -v n="$1" -v d="$DIGITS" -v vf="$tmp/valid" '
      BEGIN { while ((getline l < vf) > 0) valid[l] = 1; m = 1; for (i = 0; i < d; i++) m *= 10 }
      NR % 2 == 1 { c = sprintf("%0" d "d", $1 % m); next }
      !(c in valid) && k < n { printf "%s:%d\n", c, $1 % 31; k++ }' > "$tmp/codes"
  [ "$(wc -l < "$tmp/codes")" = "$1" ] || { echo "Bail out! could not make $1 wrong codes"; exit 1; }
}
# wrong_code: one certainly wrong code in $w.
wrong_code() { gen_wrong 1; w=$(cut -d: -f1 "$tmp/codes"); }
tmp_files() { find "$sd" -maxdepth 1 -name ".$U.tmp*" | wc -l; }

# --- the enrolment under attack ---------------------------------------------
as_user "$TOOL" enroll --yes --json > "$tmp/e.json" 2>"$tmp/err"
rc=$?
check "user: enrols through the helper" test "$rc" = 0 -a "$(jq -r '.recovery_codes | length' "$tmp/e.json" 2>/dev/null)" = 10
uri=$(jq -r .uri "$tmp/e.json")
SECRET=$(uri_param "$uri" secret); DIGITS=$(uri_param "$uri" digits); PERIOD=$(uri_param "$uri" period)
DIGITS=${DIGITS:-6}; PERIOD=${PERIOD:-30}
[ -n "$SECRET" ] || { echo "Bail out! no secret in the enrolment URI"; exit 1; }
root_status > "$tmp/s0.json"
created=$(jq -r .created_unix "$tmp/s0.json")
rc_left=$(jq -r .recovery_codes_left "$tmp/s0.json")
check "root: enrolled, $rc_left recovery codes, not locked" \
  test "$(jq -c '[.enrolled, .locked_until]' "$tmp/s0.json")" = "[true,null]" -a "$rc_left" = 10

# intact LABEL: the enrolment is the one made above, with its recovery codes.
intact() {
  root_status > "$tmp/st.json" 2>"$tmp/st.err" || { cat "$tmp/st.err" | sed 's/^/#   /'; return 1; }
  test "$(jq -r '"\(.enrolled) \(.created_unix) \(.recovery_codes_left)"' "$tmp/st.json")" = "true $created $rc_left"
}
locked_now() { root_status | jq -e '.locked_until != null' >/dev/null; }
unlock() { "$TOOL" unlock --user "$U" >/dev/null 2>&1; }

# --- 1. the user cannot signal their helper ------------------------------------
# The helper waits for a request on a fifo the suite keeps open.
runuser -u "$U" -- mkfifo "$tmp/u/fifo"
as_user_exec "$HELPER" < "$tmp/u/fifo" > "$tmp/sig.out" 2>&1 &
hpid=$!
PIDS="$PIDS $hpid"
exec 7>"$tmp/u/fifo"   # lets the helper start (its stdin opens) and stays open
i=0
while [ "$(readlink "/proc/$hpid/exe" 2>/dev/null)" != "$(readlink -f "$HELPER")" ] && [ $i -lt 100 ]; do
  sleep 0.05; i=$((i + 1))
done
sleep 0.2   # past its start-up (identity taken, uids set)
diag "helper uids (real effective saved fs): $(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$hpid/status" | tr -s '\t' ' ')"
runuser -u "$U" -- kill -STOP "$hpid" 2>"$tmp/kill.err"
rc=$?
check "user: kill -STOP of their helper fails (EPERM)" test "$rc" != 0 -a "$(grep -c 'not permitted' "$tmp/kill.err")" -ge 1
sleep 0.1
check "  the helper is not stopped" test "$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$hpid/status" 2>/dev/null)" = S
kill -CONT "$hpid" 2>/dev/null
runuser -u "$U" -- kill -KILL "$hpid" 2>"$tmp/kill.err"
rc=$?
check "user: kill -KILL of their helper fails (EPERM)" test "$rc" != 0 -a "$(grep -c 'not permitted' "$tmp/kill.err")" -ge 1
sleep 0.1
check "  the helper is still alive" kill -0 "$hpid"
(trap '' PIPE; printf '{"op":"status"}\n' >&7) 2>/dev/null   # (no reader if it was killed)
exec 7>&-
wait "$hpid" 2>/dev/null
check "  and still answers its user" test "$(jq -r .user "$tmp/sig.out" 2>/dev/null)" = "$U"

# --- 2. 1,000 wrong codes through totp-setup, under file-size limits -------------
# attempt OP LIMIT: one wrong code through `totp-setup OP` run by the user
# under `prlimit --fsize=LIMIT` (none: no limit). Output through a pipe
# (the limit does not apply to pipes). Sets cls: wrong (a "not valid"
# answer), locked, accepted (exit 0) or other.
attempt() {  # OP LIMIT CODE
  w=$3
  case $1 in
    remove) input="$w\n"; set -- "$2" remove --yes ;;
    recovery) input="$w\n"; set -- "$2" recovery-codes --yes ;;
    reenrol) input="y\n$w\n"; set -- "$2" enroll --qr none ;;
  esac
  lim=$1; shift
  if [ "$lim" = none ]; then
    out=$(printf "$input" | as_user "$TOOL" "$@" 2>&1); arc=$?
  else
    out=$(printf "$input" | as_user prlimit --fsize="$lim" -- "$TOOL" "$@" 2>&1); arc=$?
  fi
  if [ "$arc" = 0 ]; then cls=accepted
  elif printf '%s' "$out" | grep -qiE 'not valid|already used|not accepted'; then cls=wrong
  elif printf '%s' "$out" | grep -qi 'locked'; then cls=locked
  elif printf '%s' "$out" | grep -qi 'hard resource limit'; then cls=refused
  else cls=other; last_other="exit $arc: $(printf '%s' "$out" | tr '\n' ' ')"
  fi
}

# pick_op K: the operation of attempt K: remove and re-enrolment in turn,
# recovery-codes every tenth time (each of those costs the helper ten
# Argon2id hashes, made before the proof is looked at).
pick_op() {
  if [ $(($1 % 10)) = 9 ]; then op=recovery; elif [ $(($1 % 2)) = 0 ]; then op=remove; else op=reenrol; fi
}
# round LIMIT COUNT: unlock, then COUNT wrong codes through remove,
# re-enrolment and recovery-codes (pick_op).
round() {
  lim=$1; count=$2
  rt=$(date +%s)
  unlock
  nw=0; nl=0; na=0; nr=0; no=0; first_lock=0; last_other=""
  gen_wrong "$count"
  k=0
  for cd in $(cat "$tmp/codes"); do
    pick_op "$k"
    attempt $op "$lim" "${cd%:*}"
    k=$((k + 1))
    case $cls in
      wrong) nw=$((nw + 1)) ;;
      locked) nl=$((nl + 1)); [ $first_lock = 0 ] && first_lock=$k ;;
      accepted) na=$((na + 1)) ;;
      refused) nr=$((nr + 1)) ;;
      *) no=$((no + 1)) ;;
    esac
  done
  diag "fsize=$lim: $count wrong codes in $(( $(date +%s) - rt )) s -> $nw 'not valid', $nl 'locked' (first at attempt $first_lock), $na accepted, $nr refused to run under the limit, $no other${last_other:+ (last: $last_other)}"
  check "fsize=$lim: at most $DENY of $count wrong codes got an answer ($nw), none accepted" test "$nw" -le $DENY -a "$na" = 0
  if [ "$can_raise" = 1 ] || [ "$lim" = none ] || [ "$lim" = 0:unlimited ]; then
    check "fsize=$lim: every attempt got 'not valid' or 'locked' (the limit changes nothing)" test "$no" = 0 -a "$nr" = 0
    check "fsize=$lim: root's status shows the lock" locked_now
  else
    check "fsize=$lim: every attempt got 'not valid', 'locked' or the helper's refusal to run under a hard limit it cannot raise" test "$no" = 0
    if [ "$nr" = 0 ]; then check "fsize=$lim: root's status shows the lock" locked_now
    else skip "fsize=$lim: the helper refused to run under this hard limit (no CAP_SYS_RESOURCE here): nothing judged, no lock expected"
    fi
  fi
  check "fsize=$lim: the enrolment is intact (same created, $rc_left recovery codes)" intact
  check "fsize=$lim: no .$U.tmp* file in the state directory" test "$(tmp_files)" = 0
}

t=$(date +%s)
round none 100
round 0 500
round 0:unlimited 100
round 1 100
round 100 100
round 700 100
diag "1,000 attempts in $(( $(date +%s) - t )) s"

# --- 3. the helper killed at random moments -----------------------------------
# helper_try OP: the user's helper gets one request with a wrong code and is
# SIGKILLed (as root) after a random 0-30 ms; with STOP=1 it is SIGSTOPped
# then, and SIGKILLed 20 ms later. Sets cls from whatever reply came back.
helper_try() {  # OP CODE DELAY_MS
  w=$2
  case $1 in
    remove) printf '{"op":"remove","proof":"%s"}\n' "$w" ;;
    recovery) printf '{"op":"recovery_codes","proof":"%s"}\n' "$w" ;;
    reenrol) printf '{"op":"begin","proof":"%s"}\n' "$w" ;;
  esac > "$tmp/req"
  : > "$tmp/hout"
  as_user_exec "$HELPER" < "$tmp/req" > "$tmp/hout" 2>/dev/null &
  p=$!
  sleep "$(printf '0.%03d' "$3")"
  if [ "${STOP:-0}" = 1 ]; then kill -STOP "$p" 2>/dev/null; sleep 0.02; fi
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  if grep -q '"ok":true' "$tmp/hout"; then cls=accepted
  elif grep -qiE 'not valid|already used' "$tmp/hout"; then cls=wrong
  elif grep -qi '"locked"' "$tmp/hout"; then cls=locked
  else cls=none
  fi
}
kill_round() {  # LABEL COUNT
  label=$1; count=$2
  unlock
  nw=0; nl=0; na=0; nn=0
  gen_wrong "$count"
  k=0
  for cd in $(cat "$tmp/codes"); do
    pick_op "$k"
    helper_try $op "${cd%:*}" "${cd#*:}"
    k=$((k + 1))
    case $cls in
      wrong) nw=$((nw + 1)) ;;
      locked) nl=$((nl + 1)) ;;
      accepted) na=$((na + 1)) ;;
      *) nn=$((nn + 1)) ;;
    esac
  done
  diag "$label: $count helpers -> $nw 'not valid', $nl 'locked', $na accepted, $nn no answer"
  check "$label: at most $DENY answers 'not valid' ($nw), none accepted" test "$nw" -le $DENY -a "$na" = 0
  check "$label: root's status shows the lock" locked_now
  check "$label: the enrolment is intact" intact
  # the user's next operation (refused: locked) sweeps leftovers
  wrong_code
  printf '%s\n' "$w" | as_user "$TOOL" remove --yes >/dev/null 2>&1
  check "$label: no .$U.tmp* file after the user's next operation" test "$(tmp_files)" = 0
}
t=$(date +%s)
kill_round "SIGKILL at 0-30 ms" 300
STOP=1 kill_round "SIGSTOP at 0-30 ms, then SIGKILL" 60
diag "killed helpers in $(( $(date +%s) - t )) s"

# --- 4. leftovers of killed writers are swept ---------------------------------
# A whole-file rewrite (a new set of recovery codes, made by root here) is
# SIGKILLed the moment its temporary file appears (up to 3 writers, until
# one leaves a file behind); the user's next operation must sweep it.
# Root's writer leaves the ledger and the enrolment's identity alone.
t=$(date +%s)
seen=0
k=0
while [ $k -lt 3 ] && [ "$(tmp_files)" = 0 ]; do
  "$TOOL" recovery-codes --user "$U" --yes --json >/dev/null 2>&1 &
  p=$!
  while kill -0 "$p" 2>/dev/null; do
    set -- "$sd/.$U.tmp"*
    if [ -e "$1" ]; then kill -KILL "$p" 2>/dev/null; seen=$((seen + 1)); break; fi
  done
  wait "$p" 2>/dev/null
  k=$((k + 1))
done
diag "$k root writers killed as their temporary file appeared ($seen seen): $(tmp_files) left in the state directory"
check "killed writers: the enrolment is intact" intact
wrong_code
printf '%s\n' "$w" | as_user "$TOOL" remove --yes >/dev/null 2>&1
check "killed writers: no .$U.tmp* file after the user's next operation" test "$(tmp_files)" = 0
diag "killed writers in $(( $(date +%s) - t )) s"

# --- 5. a bounded wait for the user's lock ------------------------------------
unlock
lockfile=$sd/.lock.$U
if [ -f "$lockfile" ]; then
  ( exec 9<>"$lockfile" && flock -x 9 && : > "$tmp/held" && exec sleep 30 ) &
  lpid=$!
  PIDS="$PIDS $lpid"
  i=0; while [ ! -f "$tmp/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  wrong_code
  s=$(date +%s%N)
  out=$(printf '%s\n' "$w" | as_user timeout -s KILL 12 "$TOOL" remove --yes 2>&1); rc=$?
  ms=$(( ($(date +%s%N) - s) / 1000000 ))
  kill -KILL "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
  diag "remove while another process holds the lock: exit $rc after $ms ms: $(printf '%s' "$out" | tail -1)"
  check "lock held elsewhere: remove gives up within 8 s (took $ms ms)" test "$ms" -le 8000 -a "$rc" != 137
  check "lock held elsewhere: refused (non-zero exit), and the message names the lock" \
    sh -c "test $rc != 0 && printf '%s' \"\$1\" | grep -qi lock" - "$out"
  check "lock held elsewhere: the enrolment is intact" intact
else
  not_ok "no lock file $lockfile after the updates above"
fi

# --- 6. a right code under prlimit --fsize=0 ----------------------------------
unlock
fresh_step 4
out=$(printf '%s\n' "$(code_at 0)" | as_user prlimit --fsize=0 -- "$TOOL" recovery-codes --yes --json 2>&1); rc=$?
if [ "$can_raise" = 1 ]; then
  check "fsize=0: recovery-codes with a current code succeeds (the helper pins its limits)" \
    test "$rc" = 0 -a "$(printf '%s' "$out" | jq -r '.recovery_codes | length' 2>/dev/null)" = 10
  [ "$rc" = 0 ] || diag "exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
  check "  and status shows no failure, no lock" \
    test "$(root_status | jq -c '[.enrolled, .failures, .locked_until]')" = "[true,0,null]"
  # (output through a pipe: the tool itself runs under the limit)
  out=$(printf '%s\n' "$(code_at 1)" | as_user prlimit --fsize=0 -- "$TOOL" remove --yes --json 2>&1); rc=$?
  check "fsize=0: remove with the next code succeeds" test "$rc" = 0 -a "$(printf '%s' "$out" | jq -r .removed 2>/dev/null)" = true
  [ "$rc" = 0 ] || diag "exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
else
  diag "no CAP_SYS_RESOURCE in the bounding set: the helper cannot raise a lowered hard limit, so it must refuse to run"
  check "fsize=0 (hard): recovery-codes with a current code gets the same refusal as a wrong code (no answer, no oracle)" \
    sh -c "test $rc != 0 && printf '%s' \"\$1\" | grep -qi 'hard resource limit'" - "$out"
  # the attack of the review: wrong codes die unanswered, a right one removes
  out=$(printf '%s\n' "$(code_at 0)" | as_user prlimit --fsize=0 -- "$TOOL" remove --yes --json 2>&1); rc=$?
  check "fsize=0 (hard): remove with a current code gets the same refusal as a wrong code" \
    sh -c "test $rc != 0 && printf '%s' \"\$1\" | grep -qi 'hard resource limit'" - "$out"
  [ "$rc" != 0 ] || diag "remove went through: $(printf '%s' "$out" | tr '\n' ' ')"
  check "  nothing was judged or changed (enrolled, no failure, same recovery codes)" \
    test "$(root_status | jq -c '[.enrolled, .failures, .locked_until, .created_unix]')" = "[true,0,null,$created]"
  out=$(printf '%s\n' "$(code_at 0)" | as_user prlimit --fsize=0:unlimited -- "$TOOL" recovery-codes --yes --json 2>&1); rc=$?
  check "fsize=0 soft only: the same code then works (it was not used up; the helper raises the soft limit)" \
    test "$rc" = 0 -a "$(printf '%s' "$out" | jq -r '.recovery_codes | length' 2>/dev/null)" = 10
  [ "$rc" = 0 ] || diag "exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
  # (output through a pipe: the tool itself runs under the limit)
  out=$(printf '%s\n' "$(code_at 1)" | as_user prlimit --fsize=0:unlimited -- "$TOOL" remove --yes --json 2>&1); rc=$?
  check "fsize=0 soft only: remove with the next code succeeds" test "$rc" = 0 -a "$(printf '%s' "$out" | jq -r .removed 2>/dev/null)" = true
  [ "$rc" = 0 ] || diag "exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
fi
check "  and the user is no longer enrolled" test "$(root_status | jq -r .enrolled)" = false
check "no .$U.tmp* file at the end" test "$(tmp_files)" = 0

diag "whole suite: $(( $(date +%s) - T0 )) s"
echo "1..$n"
exit $failed
