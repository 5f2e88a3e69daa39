#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: the directory store when the directory misbehaves (issue 14, "Faults").
# A private slapd (tests/ldap/slapd_lib.sh), users enrolled in it with the
# installed tool, logins through tests/pam/pam_driver and the installed
# module at faked times, ldap_timeout = 2. For each fault: the login is
# refused (PAM_AUTH_ERR, never PAM_IGNORE even with nullok, never
# PAM_SUCCESS) within ldap_timeout + 1 s, the driver prints its RESULT (no
# SIGPIPE: it runs with SIGPIPE at the default disposition) and finds its
# host state unchanged, the syslog line says why, the record in the
# directory is unchanged, `totp-setup status` fails within the same budget
# with one stderr line, and once the fault is gone logins work again.
#   1 slapd SIGSTOPped: before a login; right after the prompt (the driver
#     held on a full stdout pipe, between the record's read and the judged
#     update); at a random moment under three loops of logins
#   2 slapd SIGKILLed: right after the prompt; at a random moment under
#     logins; then restarted: no record lost, no accepted code usable again;
#     the connection broken while the user types (slapd restarted, or its
#     idletimeout) with the directory back when the code comes: accepted
#   3 a port where nothing listens; failover to a second URI
#   4 a server that accepts StartTLS and then stalls (alone, and ldaps:// to
#     it: refused; listed first: failover within the budget, each URI's
#     share, as pam_totp.conf(5) says; listed second: not touched)
#   5 wrong CA   6 wrong bind password   7 an unprivileged directory user
#   8 a password file that is group-readable, other-readable, not root's
#   9 records tampered in the directory   10 an entry without a ledger
# A refused login may leave one counted failure when slapd, paused after
# receiving the login's first write (the attempt is counted before the code
# is judged), carries it out once resumed: never anything else.
# Budgets: a refused login within ldap_timeout + 1 s, measured around the
# driver (for a held login, from its release: the prompt's time is the
# user's). Needs root, slapd, ldap-utils, oathtool, jq, python3.
# Env: SRC_DIR, BUILD_DIR (pam_driver, pam_check_authtok.so), PREFIX (the
# installed module and tool); FAULTS_KEEP=1 keeps the work directory.
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR}
PREFIX=${PREFIX:-/usr/local}
PATH=$PATH:/usr/sbin:/sbin
MODULE=$PREFIX/lib/security/pam_totp.so
TOOL=$PREFIX/bin/totp-setup
DRIVER=$BUILD_DIR/tests/pam/pam_driver
CHECK_MODULE=$BUILD_DIR/tests/pam/.libs/pam_check_authtok.so
TIMEOUT=2
BUDGET=$(((TIMEOUT + 1) * 1000))

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (root-owned key and password files, SASL EXTERNAL over ldapi)"; exit 0; }
for t in slapd slapadd ldapsearch ldapmodify ldapadd ldapdelete openssl python3 setpriv oathtool jq env; do
  command -v "$t" >/dev/null 2>&1 || { echo "1..0 # SKIP $t not found (scripts/install-deps.sh installs it)"; exit 0; }
done
env --default-signal=PIPE true 2>/dev/null || { echo "1..0 # SKIP env --default-signal not supported"; exit 0; }
for f in "$MODULE" "$TOOL" "$DRIVER" "$CHECK_MODULE"; do
  [ -e "$f" ] || { echo "1..0 # SKIP $f not found (make, make check TESTS=, make install first)"; exit 0; }
done

. "$SRC_DIR/tests/ldap/slapd_lib.sh"
. "$SRC_DIR/tests/ldap/faults_lib.sh"

n=0
LAST=""
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
  n=$((n + 1)); echo "not ok $n - $*"
  if [ -n "$LAST" ]; then
    for _x in out err; do [ -s "$R/$LAST.$_x" ] && sed 's/^/#   /' "$R/$LAST.$_x" | tail -12; done
    [ -s "$R/$LAST.rc" ] && echo "#   exit $(cat "$R/$LAST.rc"), $(cat "$R/$LAST.ms") ms"
  fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
check() { _d=$1; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; fi; }
# Background jobs of the suite's own: `wait` alone would also wait for slapd.
BG=""
wait_bg() { for _p in $BG; do wait "$_p"; done; BG=""; }

T=$(mktemp -d) || exit 1
R=$T/r
stall_pid=""
GATE_PID=""
cleanup() {
  [ -n "$LDAP_PID" ] && kill -CONT "$LDAP_PID" 2>/dev/null
  for p in $BG $GATE_PID $stall_pid; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ldap_stop
  if [ -n "${FAULTS_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$R" "$T/pam.d" && : >"$T/pam.d/other"
f_write_gate
SUITE_START=$(f_ms)

ldap_start "$T/dir" || { echo "Bail out! ldap_start failed"; exit 1; }
mkconf good
"$TOOL" --config "$T/good.conf" init >"$T/init.out" 2>&1 || { cat "$T/init.out"; echo "Bail out! totp-setup init failed"; exit 1; }
# System users (the tool enrols only users that exist): each section its own.
USERS="daemon bin sys games man lp mail news proxy backup list irc"
for u in $USERS; do
  "$TOOL" --config "$T/good.conf" enroll --user "$u" --yes --json >"$T/enrol.$u" 2>&1 &&
    jq -r .secret "$T/enrol.$u" >"$T/secret.$u" ||
    { cat "$T/enrol.$u"; echo "Bail out! enrolling $u failed"; exit 1; }
done
# (without the marker entry uid=.pam_totp that init makes among the records)
listed() { ldap_as_root ldapsearch -LLL -b "$LDAP_BASE" -s one '(objectClass=pamTotpRecord)' uid | sed -n 's/^uid: //p' | grep -vx '[.]pam_totp' | sort | tr '\n' ' '; }
ALL_USERS=$(listed)
check "setup: $(echo $USERS | wc -w) users enrolled in the directory with the tool" \
  test "$ALL_USERS" = "$(printf '%s\n' $USERS | sort | tr '\n' ' ')"

# Faked times: a step boundary an hour ahead; every login takes a new step.
TN=$(( ($(date +%s) / 30 + 120) * 30 ))
next_t() { TN=$((TN + 30)); }

next_t
login base good daemon $TN "$(code $TN daemon)"
check "baseline: a right code is accepted through the directory" accepted base $BUDGET
login base2 good daemon $TN "$(code $TN daemon)"
check "baseline: the same code again is refused as replayed" replayed base2

# ---------------------------------------------------------------------------
# 1. slapd SIGSTOPped
# ---------------------------------------------------------------------------
next_t
before=$(record daemon)
c=$(code $TN daemon)
ldap_pause
login stop1 good daemon $TN "$c" & BG="$BG $!"
login stop1n good-n daemon $TN "$c" & BG="$BG $!"
login stop1u good-n nobody_here $TN 123456 & BG="$BG $!"
tool_status stop1s "$T/good.conf" daemon & BG="$BG $!"
wait_bg
ldap_resume
check "1 paused slapd: refused within ${BUDGET} ms ($(ms_of stop1) ms)" refused stop1 $BUDGET
check "  log: record unusable, StartTLS: no answer" \
  sh -c "grep -q '^SYSLOG err: .*record unusable (io_error): directory .*StartTLS: no answer within' $R/stop1.out"
check "  with nullok: refused, not PAM_IGNORE ($(ms_of stop1n) ms)" refused stop1n $BUDGET
check "  with nullok, a user without a record: refused, never 'not enrolled' ($(ms_of stop1u) ms)" \
  nullok_refused stop1u $BUDGET
LAST=stop1s
check "  totp-setup status: fails within ${BUDGET} ms with one stderr line ($(ms_of stop1s) ms)" \
  tool_failed stop1s $BUDGET "no answer within"
check "  totp-setup status: exit status 1" tool_exit1 stop1s
check "  the record is unchanged" test "$(record daemon)" = "$before"
login stop1b good daemon $TN "$c"
check "  resumed: the same code is accepted (the refused login used nothing)" accepted stop1b $BUDGET

# Held right after the prompt: the record was read, the update not begun.
# The login's first write after the prompt counts the attempt (before the
# code is judged); slapd, once resumed, still carries out a modify it had
# received: then the ledger holds one more counted failure and nothing else
# (a refused login may be counted, never lost).
next_t
c=$(code $TN daemon)
enr=$(attr daemon pamTotpEnrolment)
ls_before=$(ledger_state daemon)
if gated_login stop2 good daemon $TN "$c"; then
  ldap_pause
  release stop2; wait_gate
  ldap_resume
  check "1 paused right after the prompt: refused within ${BUDGET} ms of the answer ($(ms_of stop2) ms)" \
    refused stop2 $BUDGET
  check "  it was prompted, then: no answer within ldap_timeout" \
    sh -c "head -1 $R/stop2.out | grep -q '^PROMPT_ECHO_OFF' && grep -q 'no answer within' $R/stop2.out"
else
  release stop2; wait_gate; ldap_resume
  not_ok "1 paused right after the prompt: the driver was not held at its prompt"
  not_ok "  (skipped)"
fi
sleep 0.2   # anything the paused slapd still had queued is done
ls_after=$(ledger_state daemon)
ls_counted=$(printf '%s\n' "$ls_before" | jq -c '.failures += 1')
diag "ledger before: $ls_before" "ledger after:  $ls_after"
check "  the enrolment is unchanged; the ledger unchanged or one counted failure more" \
  test "$(attr daemon pamTotpEnrolment)" = "$enr" -a \( "$ls_after" = "$ls_before" -o "$ls_after" = "$ls_counted" \)
login stop2b good daemon $TN "$c"
check "  resumed: the same code is accepted" accepted stop2b $BUDGET

# Held after the prompt, slapd paused for less than the budget: the login
# waits and goes through.
next_t
c=$(code $TN daemon)
if gated_login stop3 good daemon $TN "$c"; then
  ldap_pause; release stop3; sleep 1; ldap_resume; wait_gate
  check "1 paused 1 s after the prompt (less than ldap_timeout): accepted ($(ms_of stop3) ms)" accepted stop3 $BUDGET
else
  release stop3; wait_gate
  not_ok "1 paused 1 s after the prompt: the driver was not held at its prompt"
fi
login stop3b good daemon $TN "$c"
check "  its code is then refused as replayed" replayed stop3b

# Loops of logins, slapd paused at a random moment for longer than the budget.
# login_loop NAME USER: right codes at successive steps until $R/stop;
# one line per login in $R/loop.NAME: "ID TIME CODE".
login_loop() {
  _lt=$LOOP_T _li=0
  while [ ! -e "$R/stop" ] && [ $_li -lt 300 ]; do
    _lc=$(code $_lt "$2")
    login "$1.$_li" good "$2" $_lt "$_lc"
    echo "$1.$_li $_lt $_lc" >>"$R/loop.$1"
    _lt=$((_lt + 30)); _li=$((_li + 1))
    sleep 0.02
  done
}
# loop_verdict NAME USER: every login ended in time with a RESULT, accepted
# or refused for a directory reason (never "replayed", "wrong"); sets
# L_ACC L_REF L_BAD, L_LAST (id of the last accepted), L_HELD (refused after
# being prompted: stopped mid-login).
loop_verdict() {
  L_ACC=0 L_REF=0 L_BAD="" L_LAST="" L_HELD=0
  while read -r _id _t _c; do
    if accepted "$_id" $BUDGET; then
      L_ACC=$((L_ACC + 1)); L_LAST="$_id $_t $_c"
    elif refused "$_id" $BUDGET && grep -q '^SYSLOG err: .*record unusable' "$R/$_id.out"; then
      L_REF=$((L_REF + 1))
      grep -q '^PROMPT' "$R/$_id.out" && L_HELD=$((L_HELD + 1))
    else
      L_BAD="$L_BAD $_id($(cat "$R/$_id.rc")/$(cat "$R/$_id.ms")ms)"
    fi
  done <"$R/loop.$1"
}
# last_code_spent NAME USER: the last accepted code is refused as replayed,
# and the ledger's last login is at least that late (no success lost).
last_code_spent() {
  set -- $L_LAST "$2"
  login "$1.again" good "$4" "$2" "$3"
  [ "$(cat "$R/$1.again.rc")" = 7 ] && grep -q 'replayed code' "$R/$1.again.out" &&
    [ "$("$TOOL" status --config "$T/good.conf" --user "$4" --json | jq -r .last_login.unix)" -ge "$2" ]
}

rm -f "$R/stop"
LOOP_T=$((TN + 30))
enr_before=""
for u in sys games man; do enr_before="$enr_before$(attr $u pamTotpEnrolment)"; done
for u in sys games man; do login_loop "p$u" $u & BG="$BG $!"; done
sleep "$(awk 'BEGIN { srand(); printf "%.2f", 0.3 + rand() * 0.6 }')"
ldap_pause; sleep 2.5; ldap_resume
sleep 0.8; : >"$R/stop"; wait_bg
TN=$((LOOP_T + 300 * 30))
for u in sys games man; do
  loop_verdict "p$u" $u
  LAST=""
  check "1 random pause under logins ($u): $L_ACC accepted, $L_REF refused ($L_HELD of them mid-login), none late or otherwise${L_BAD:+:$L_BAD}" \
    test -z "$L_BAD" -a "$L_REF" -gt 0 -a "$L_ACC" -gt 0
  check "  ($u) the last accepted code is spent, no success lost" last_code_spent "p$u" $u
done
enr_after=""
for u in sys games man; do enr_after="$enr_after$(attr $u pamTotpEnrolment)"; done
check "  their enrolments are unchanged" test "$enr_before" = "$enr_after"

# ---------------------------------------------------------------------------
# 2. slapd SIGKILLed, then restarted
# ---------------------------------------------------------------------------
kill_slapd() { kill -KILL "$LDAP_PID"; while ldap__alive "$LDAP_PID"; do sleep 0.01; done; }
next_t
c=$(code $TN lp)
before=$(record lp)
if gated_login kill1 good lp $TN "$c"; then
  kill_slapd
  release kill1; wait_gate
  check "2 slapd killed right after the prompt: refused within ${BUDGET} ms ($(ms_of kill1) ms)" refused kill1 $BUDGET
  check "  log: record unusable" logged kill1 "record unusable (io_error): directory"
else
  release kill1; wait_gate; kill_slapd
  not_ok "2 slapd killed right after the prompt: the driver was not held at its prompt"
  not_ok "  (skipped)"
fi
login kill1d good lp $TN "$c"
check "2 slapd down: refused ($(ms_of kill1d) ms), log says unreachable" refused kill1d $BUDGET
check "  log: unreachable" logged kill1d "unreachable"
tool_status kill1s "$T/good.conf" lp
check "  totp-setup status: fails with one stderr line ($(ms_of kill1s) ms)" tool_failed kill1s $BUDGET "unreachable"
check "  totp-setup status: exit status 1" tool_exit1 kill1s
ldap_restart || { echo "Bail out! slapd did not restart"; exit 1; }
check "  restarted: the record is unchanged" test "$(record lp)" = "$before"
login kill1b good lp $TN "$c"
check "  restarted: the same code is accepted" accepted kill1b $BUDGET

# The connection breaks while the user types, and the directory is fine
# again when the code comes: slapd restarted (killed and started), or
# slapd's idletimeout ended the idle connection. Nothing was sent on that
# connection since the record was read. pam_totp.conf(5), Failover: "If the
# connection breaks in the middle of a login, pam_totp connects again, from
# the first URI, with the time that is left; a write whose answer was lost
# refuses the login." A write the server never received is no lost answer
# (and a compare-and-swap's outcome can be read back): the login should go
# through. If it is refused, the code must at least still be good.
# held_break ID USER LABEL: after the break (done by the caller between
# gated_login and this), release and judge.
held_break() {
  release "$1"; wait_gate
  if accepted "$1" $BUDGET; then
    ok "$3: accepted through a new connection ($(ms_of "$1") ms)"
    login "$1.b" good "$2" $TN "$c"
    check "  its code is then spent" replayed "$1.b"
  else
    not_ok "$3: accepted through a new connection ($(ms_of "$1") ms)"
    login "$1.b" good "$2" $TN "$c"
    LAST="$1.b"
    check "  (refused: at least its code is still good)" accepted "$1.b" $BUDGET
  fi
}
next_t
c=$(code $TN lp)
if gated_login kill2 good lp $TN "$c"; then
  kill_slapd; ldap_restart || { echo "Bail out! slapd did not restart"; exit 1; }
  held_break kill2 lp "2 slapd killed and restarted while the user types"
else
  release kill2; wait_gate
  not_ok "2 killed and restarted while the user types: the driver was not held at its prompt"
fi
sed -i '/^loglevel 0$/a idletimeout 1' "$LDAP_WORKDIR/slapd.conf"
ldap_restart || { echo "Bail out! slapd did not restart"; exit 1; }
next_t
c=$(code $TN lp)
if gated_login idle1 good lp $TN "$c"; then
  sleep 2.2
  held_break idle1 lp "2 slapd's idletimeout (1 s) ends the connection while the user types (2 s)"
else
  release idle1; wait_gate
  not_ok "2 idletimeout: the driver was not held at its prompt"
fi
sed -i '/^idletimeout 1$/d' "$LDAP_WORKDIR/slapd.conf"
ldap_restart || { echo "Bail out! slapd did not restart"; exit 1; }

rm -f "$R/stop"
LOOP_T=$((TN + 30))
for u in mail backup; do login_loop "k$u" $u & BG="$BG $!"; done
sleep "$(awk 'BEGIN { srand(); printf "%.2f", 0.3 + rand() * 0.5 }')"
kill_slapd; sleep 0.5
ldap_restart || { echo "Bail out! slapd did not restart"; exit 1; }
sleep 0.6; : >"$R/stop"; wait_bg
TN=$((LOOP_T + 300 * 30))
for u in mail backup; do
  loop_verdict "k$u" $u
  LAST=""
  # Refusals while slapd is down say "unreachable" in "record unusable".
  check "2 random kill under logins ($u): $L_ACC accepted, $L_REF refused, none late or otherwise${L_BAD:+:$L_BAD}" \
    test -z "$L_BAD" -a "$L_REF" -gt 0 -a "$L_ACC" -gt 0
  check "  ($u) the last accepted code is spent, no success lost" last_code_spent "k$u" $u
done
check "  no record lost: every enrolled user still listed" test "$(listed)" = "$ALL_USERS"

# ---------------------------------------------------------------------------
# 3. a port where nothing listens
# ---------------------------------------------------------------------------
CLOSED=$(ldap__free_port)
mkconf closed "ldap_uri=ldap://127.0.0.1:$CLOSED"
mkconf failover "ldap_uri=ldap://127.0.0.1:$CLOSED $LDAP_URI"
next_t
c=$(code $TN daemon)
before=$(record daemon)
login closed1 closed daemon $TN "$c"
check "3 nothing listens: refused fast ($(ms_of closed1) ms)" refused closed1 1000
check "  log: unreachable, names the URI" logged closed1 "unreachable: ldap://127.0.0.1:$CLOSED"
login closed1n closed-n nobody_here $TN 123456
check "  with nullok, a user without a record: refused, not PAM_IGNORE" nullok_refused closed1n $BUDGET
tool_status closed1s "$T/closed.conf" daemon
check "  totp-setup status: fails fast with one stderr line ($(ms_of closed1s) ms)" tool_failed closed1s 1000 "127.0.0.1:$CLOSED"
check "  totp-setup status: exit status 1" tool_exit1 closed1s
check "  the record is unchanged" test "$(record daemon)" = "$before"
login closed2 failover daemon $TN "$c"
check "3 failover (closed port first, then slapd): accepted ($(ms_of closed2) ms)" accepted closed2 $BUDGET

# ---------------------------------------------------------------------------
# 4. a server that accepts StartTLS and then stalls
# ---------------------------------------------------------------------------
setpriv --pdeathsig TERM -- python3 "$SRC_DIR/tests/ldap/stall_starttls.py" 0 >"$T/stall.port" 2>/dev/null &
stall_pid=$!
i=0; while [ ! -s "$T/stall.port" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
STALL=$(head -1 "$T/stall.port")
mkconf stall "ldap_uri=ldap://127.0.0.1:$STALL"
mkconf stallfirst "ldap_uri=ldap://127.0.0.1:$STALL $LDAP_URI"
mkconf stallsecond "ldap_uri=$LDAP_URI ldap://127.0.0.1:$STALL"
mkconf stalltls "ldap_uri=ldaps://127.0.0.1:$STALL"
next_t
c=$(code $TN daemon)
before=$(record daemon)
login stall1 stall daemon $TN "$c" & BG="$BG $!"
login stall1n stall-n nobody_here $TN 123456 & BG="$BG $!"
login stall4 stalltls daemon $TN "$c" & BG="$BG $!"
tool_status stall1s "$T/stall.conf" daemon & BG="$BG $!"
wait_bg
check "4 StartTLS then silence: refused within ${BUDGET} ms ($(ms_of stall1) ms)" refused stall1 $BUDGET
check "  after the whole budget (the watchdog ended it, not an error)" test "$(ms_of stall1)" -ge $((TIMEOUT * 1000 - 100))
check "  log: StartTLS, no answer" logged stall1 "ldap://127.0.0.1:$STALL: StartTLS: no answer within"
check "  with nullok, a user without a record: refused, not PAM_IGNORE ($(ms_of stall1n) ms)" \
  nullok_refused stall1n $BUDGET
LAST=stall1s
check "  totp-setup status: fails within ${BUDGET} ms with one stderr line ($(ms_of stall1s) ms)" \
  tool_failed stall1s $BUDGET "no answer within"
check "  totp-setup status: exit status 1" tool_exit1 stall1s
check "4 ldaps:// to it (the TLS handshake stalls): refused within ${BUDGET} ms ($(ms_of stall4) ms)" refused stall4 $BUDGET
check "  log: no answer" logged stall4 "ldaps://127.0.0.1:$STALL: "
check "  the record is unchanged" test "$(record daemon)" = "$before"
# pam_totp.conf(5), Failover: while connecting each URI may take only its
# share of the budget left (here the first gets ldap_timeout / 2), so the
# next one is still tried.
login stall2 stallfirst daemon $TN "$c"
check "4 stalling server first, slapd second: accepted within ${BUDGET} ms ($(ms_of stall2) ms)" accepted stall2 $BUDGET
check "  after the first one's share of the budget" test "$(ms_of stall2)" -ge $((TIMEOUT * 1000 / 2 - 100))
next_t
login stall3 stallsecond daemon $TN "$(code $TN daemon)"
check "4 slapd first, stalling server second: accepted at once ($(ms_of stall3) ms)" accepted stall3 1000
# Held after the prompt with slapd then paused, a stalling server second:
# the login's connection to slapd does not answer the write; a write whose
# answer was lost refuses the login, whatever other URI there is.
mkconf pausefirst "ldap_uri=$LDAP_URI ldap://127.0.0.1:$STALL"
next_t
c=$(code $TN daemon)
if gated_login stall5 pausefirst daemon $TN "$c"; then
  ldap_pause; release stall5; wait_gate; ldap_resume
  check "4 slapd paused after the prompt, stalling server second: refused within ${BUDGET} ms ($(ms_of stall5) ms)" \
    refused stall5 $BUDGET
else
  release stall5; wait_gate
  not_ok "4 slapd paused after the prompt: the driver was not held at its prompt"
fi

# ---------------------------------------------------------------------------
# 5. wrong CA   6. wrong bind password   7. an unprivileged directory user
# 8. password files not root's alone
# ---------------------------------------------------------------------------
pwfile() { (umask 077 && printf '%s' "$2" >"$T/$1.pw"); echo "$T/$1.pw"; }
mkconf wrongca "ldap_ca_file=$LDAP_WRONG_CA"
mkconf wrongpw "ldap_bind_password_file=$(pwfile wrong "not-$LDAP_BIND_PASS")"
mkconf mallory "ldap_bind_dn=$LDAP_USER_DN" "ldap_bind_password_file=$(pwfile mallory "$LDAP_USER_PASS")"
cp "$LDAP_PASS_FILE" "$T/g.pw" && chmod 0640 "$T/g.pw"
cp "$LDAP_PASS_FILE" "$T/o.pw" && chmod 0604 "$T/o.pw"
cp "$LDAP_PASS_FILE" "$T/u.pw" && chmod 0600 "$T/u.pw" && chown 65534 "$T/u.pw"
mkconf pwgroup "ldap_bind_password_file=$T/g.pw"
mkconf pwother "ldap_bind_password_file=$T/o.pw"
mkconf pwowner "ldap_bind_password_file=$T/u.pw"
mkconf pwmissing "ldap_bind_password_file=$T/missing.pw"

next_t
c=$(code $TN daemon)
before=$(record daemon)
# fault NAME TEXT LABEL: the login (and nullok with a user without a
# record, and the tool) refused with TEXT in the log.
fault() {
  login "$1" "$1" daemon $TN "$c"
  check "$3: refused ($(ms_of "$1") ms)" refused "$1" $BUDGET
  check "  log: $2" logged "$1" "$2"
  check "  never 'not enrolled'" not_logged "$1" "not enrolled"
  login "$1.n" "$1-n" nobody_here $TN 123456
  check "  with nullok, a user without a record: refused, not PAM_IGNORE" nullok_refused "$1.n" $BUDGET
  tool_status "$1.s" "$T/$1.conf" daemon
  check "  totp-setup status: fails with one stderr line ($(ms_of "$1.s") ms)" tool_failed "$1.s" $BUDGET "$2"
  check "  totp-setup status: exit status 1 (got $(cat "$R/$1.s.rc"))" tool_exit1 "$1.s"
}
fault wrongca "StartTLS" "5 wrong CA"
check "  log says why: the certificate / TLS" sh -c "grep '^SYSLOG' $R/wrongca.out | grep -qiE 'certificate|TLS'"
fault wrongpw "bind as $LDAP_BIND_DN refused: Invalid credentials (49)" "6 wrong bind password"
fault mallory "cannot be read" "7 an unprivileged directory user as the bind DN"
login mallory.e mallory-n daemon $TN "$c"
check "  with nullok, the enrolled user: refused, not PAM_IGNORE" nullok_refused mallory.e $BUDGET
mallory() { LDAPTLS_CACERT=$LDAP_CA ldapsearch -x -ZZ -H "$LDAP_URI" -D "$LDAP_USER_DN" -w "$LDAP_USER_PASS" -LLL -o ldif-wrap=no "$@"; }
anon() { LDAPTLS_CACERT=$LDAP_CA ldapsearch -x -ZZ -H "$LDAP_URI" -LLL -o ldif-wrap=no "$@"; }
for who in mallory anon; do
  $who -b "uid=daemon,$LDAP_BASE" -s base '*' pamTotpEnrolment pamTotpLedger >"$T/$who.1" 2>&1
  $who -b "$LDAP_SUFFIX" '(|(objectClass=pamTotpRecord)(pamTotpLedger=*)(uid=daemon))' >"$T/$who.2" 2>&1
  check "7 ldapsearch as $who: neither the record nor its attributes are visible" \
    sh -c "! grep -qiE '^dn: uid=daemon|pamTotp' '$T/$who.1' '$T/$who.2'"
done
fault pwgroup "ldap_bind_password_file" "8 group-readable password file"
fault pwother "ldap_bind_password_file" "8 other-readable password file"
fault pwowner "ldap_bind_password_file" "8 password file not owned by root"
fault pwmissing "ldap_bind_password_file" "8 missing password file"
check "5-8 the record is unchanged" test "$(record daemon)" = "$before"
login after8 good daemon $TN "$c"
check "  with the right settings the same code is accepted" accepted after8 $BUDGET

# ---------------------------------------------------------------------------
# 9. records tampered in the directory (as root over ldapi)
# ---------------------------------------------------------------------------
flip_last() { python3 -c 'import base64, sys; b = bytearray(base64.b64decode(sys.argv[1])); b[int(sys.argv[2])] ^= 1; print(base64.b64encode(bytes(b)).decode())' "$1" "$2"; }
NEWS_ENR=$(attr news pamTotpEnrolment)
NEWS_LED=$(attr news pamTotpLedger)
# tamper ID LABEL: news's login refused "record tampered" (also with
# nullok), the tampered values left as they are, the tool fails.
tamper() {
  _tb=$(record news)
  next_t
  login "$1" good news $TN "$(code $TN news)"
  check "9 $2: refused ($(ms_of "$1") ms)" refused "$1" $BUDGET
  check "  log: record tampered" logged "$1" "record tampered"
  login "$1.n" good-n news $TN "$(code $TN news)"
  check "  with nullok: refused, not PAM_IGNORE" refused "$1.n" $BUDGET
  tool_status "$1.s" "$T/good.conf" news
  check "  totp-setup status: fails with one stderr line" tool_failed "$1.s" $BUDGET "news"
  check "  totp-setup status: exit status 1 (got $(cat "$R/$1.s.rc"))" tool_exit1 "$1.s"
  check "  the directory's values are left as they are" test "$(record news)" = "$_tb"
}
set_attr news pamTotpLedger "$(attr bin pamTotpLedger)"
tamper tledger "another user's ledger"
set_attr news pamTotpLedger "$NEWS_LED"
set_attr news pamTotpEnrolment "$(flip_last "$NEWS_ENR" -1)"
tamper tenrol "a bit flipped in the sealed enrolment"
set_attr news pamTotpEnrolment "$(flip_last "$NEWS_ENR" 30)"
tamper tenrol2 "a bit flipped in the enrolment's first sealed bytes"
set_attr news pamTotpEnrolment "$NEWS_ENR"
set_attr news pamTotpLedger "$(flip_last "$NEWS_LED" -1)"
tamper tledger2 "a bit flipped in the ledger"
printf 'dn: uid=news,%s\nchangetype: modify\nreplace: pamTotpEnrolment\npamTotpEnrolment:: %s\n-\nreplace: pamTotpLedger\npamTotpLedger:: %s\n' \
  "$LDAP_BASE" "$(attr bin pamTotpEnrolment)" "$(attr bin pamTotpLedger)" | ldap_as_root ldapmodify >/dev/null 2>&1
tamper tswap "another user's whole record"
printf 'dn: uid=news,%s\nchangetype: modify\nreplace: pamTotpEnrolment\npamTotpEnrolment:: %s\n-\nreplace: pamTotpLedger\npamTotpLedger:: %s\n' \
  "$LDAP_BASE" "$NEWS_ENR" "$NEWS_LED" | ldap_as_root ldapmodify >/dev/null 2>&1
next_t
login tback good news $TN "$(code $TN news)"
check "9 restored: accepted" accepted tback $BUDGET

# ---------------------------------------------------------------------------
# 10. entries without a ledger
# ---------------------------------------------------------------------------
# uucp has no enrolment: root adds an entry with only objectClass and uid.
printf 'dn: uid=uucp,%s\nobjectClass: pamTotpRecord\nuid: uucp\n' "$LDAP_BASE" | ldap_as_root ldapadd >/dev/null 2>&1
check "10 root added uid=uucp with no enrolment and no ledger" test $? = 0
next_t
login empty1 good uucp $TN 123456
check "10 an entry without pamTotpLedger: refused ($(ms_of empty1) ms)" refused empty1 $BUDGET
check "  log: record tampered, never 'not enrolled'" nullok_refused empty1 $BUDGET "record tampered"
login empty1n good-n uucp $TN 123456
check "  with nullok: refused, not PAM_IGNORE" refused empty1n $BUDGET
tool_status empty1s "$T/good.conf" uucp
check "  totp-setup status: fails with one stderr line" tool_failed empty1s $BUDGET "uucp"
check "  totp-setup status: exit status 1 (got $(cat "$R/empty1s.rc"))" tool_exit1 empty1s
# proxy is enrolled: root deletes its ledger.
PROXY_LED=$(attr proxy pamTotpLedger)
printf 'dn: uid=proxy,%s\nchangetype: modify\ndelete: pamTotpLedger\n' "$LDAP_BASE" | ldap_as_root ldapmodify >/dev/null 2>&1
before=$(record proxy)
next_t
login empty2 good proxy $TN "$(code $TN proxy)"
check "10 an enrolled user's ledger deleted: refused ($(ms_of empty2) ms), record tampered" \
  nullok_refused empty2 $BUDGET "record tampered"
login empty2n good-n proxy $TN "$(code $TN proxy)"
check "  with nullok: refused, not PAM_IGNORE" refused empty2n $BUDGET
check "  the entry is left as it is" test "$(record proxy)" = "$before"
set_attr proxy pamTotpLedger "$PROXY_LED"
login empty2b good proxy $TN "$(code $TN proxy)"
check "  ledger put back: accepted" accepted empty2b $BUDGET

LAST=""
check "no record lost in the whole run" test "$(listed)" = "$(printf '%s\n' $USERS uucp | sort | tr '\n' ' ')"
diag "run time $(( ($(f_ms) - SUITE_START) / 1000 )) s"
echo "1..$n"
