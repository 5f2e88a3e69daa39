#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: the fleet store the way a fleet is run, at the PAM level. One private
# slapd (tests/ldap/slapd_lib.sh, the shipped schema and example ACL), one
# master key copied to three "servers" A, B and C (each its own config,
# state_dir and copy of the key file, the same ldap_* lines; deny = 5), and
# PAM services loading the installed module with config= one of them;
# logins through tests/pam/pam_driver (pam_start_confdir) at faked times
# (PAM_TOTP_TEST_NOW), every one with --check-host-state. Enrolment, status,
# unlock, recovery codes and remove through the installed totp-setup.
#
# What a fleet must get right: a code used on one server is refused on all
# (also when 50 logins race with it over the three), failures from all
# servers count toward one lockout and one unlock lifts it everywhere,
# recovery codes are single-use fleet-wide, the admin commands act on the
# directory; a server with another master key, an identity that cannot see
# ldap_base, a mistyped ldap_base or a paused slapd never turn into
# "not enrolled" (PAM_IGNORE under nullok); someone who can write the
# directory cannot move a record to another user.
#
# Faked times stay within a few hours of the real clock: the test CA's
# certificates (valid from now, 7 days) are checked against the module's
# clock, which is the faked one.
#
# Env (scripts/test-all.sh): SRC_DIR, BUILD_DIR (tests/pam/pam_driver),
# PREFIX (installed module, tool, share/pam_totp/ldap). Needs root.
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/_build/normal}
PREFIX=${PREFIX:-$BUILD_DIR/inst}
PATH=$PATH:/usr/sbin:/sbin

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail() { echo "Bail out! $*"; exit 1; }
# check DESCRIPTION COMMAND...: one test point; on failure shows the last
# transaction's output.
check() {
  _d=$1; shift
  if "$@"; then ok "$_d"; else not_ok "$_d"; [ -f "$T/out" ] && sed 's/^/#   | /' "$T/out" | tail -12; fi
}

[ "$(id -u)" = 0 ] || skip_all "needs root (root-owned key and config files, SASL EXTERNAL over ldapi)"
for t in slapd slapadd slaptest slappasswd ldapsearch ldapmodify ldapadd openssl python3 setpriv \
         oathtool jq flock timeout; do
  command -v "$t" >/dev/null 2>&1 || skip_all "$t not found (scripts/install-deps.sh installs it)"
done
DRIVER=$BUILD_DIR/tests/pam/pam_driver
MARKER=$BUILD_DIR/tests/pam/.libs/pam_check_authtok.so
[ -x "$DRIVER" ] || skip_all "$DRIVER not built (make check TESTS= builds it)"
[ -f "$MARKER" ] || skip_all "$MARKER not built (make check TESTS= builds it)"
[ -f "$PREFIX/lib/security/pam_totp.so" ] || skip_all "no pam_totp.so under $PREFIX (make install first)"
[ -x "$PREFIX/bin/totp-setup" ] || skip_all "no totp-setup under $PREFIX (make install first)"
for u in daemon bin sys games man lp; do
  getent passwd "$u" >/dev/null || skip_all "system user $u missing (the tool enrols only existing users)"
done

. "$SRC_DIR/tests/ldap/slapd_lib.sh"
. "$SRC_DIR/tests/ldap/fleet_lib.sh"
TOOL=$FLEET_TOOL

T=$(mktemp -d /tmp/fleet.XXXXXX) || bail "mktemp failed"
chmod 0700 "$T"
cleanup() {
  set +e
  if [ -n "${RACE_PIDS:-}" ]; then for p in $RACE_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; fi
  ldap_stop
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
SECONDS0=$(date +%s)

ldap_start "$T/dir" || bail "ldap_start failed (tests/ldap/slapd_env.t tells why)"

# --- the fleet -------------------------------------------------------
fleet_server "$T" A new "deny = 5" || bail "server A: totp-setup init failed"
KEY=$T/A/key
fleet_server "$T" B "$KEY" "deny = 5" || bail "server B: init with the copied key failed"
fleet_server "$T" C "$KEY" "deny = 5" || bail "server C: init with the copied key failed"
ok "servers A, B, C: one master key (init on A, copied to B and C; init there kept it), own state_dir each"
# D: a server of another fleet (another key), same directory.
fleet_server "$T" D new "deny = 5" || bail "server D: init failed"
cmp -s "$KEY" "$T/D/key" && bail "D's fresh key equals A's"
# D2: the fleet's key, but bound as mallory, an ordinary directory user
# whom the ACL does not let see the records subtree.
(umask 077 && printf '%s\n' "$LDAP_USER_PASS" >"$T/mallory.pw")
fleet_server "$T" D2 "$KEY" "deny = 5" || bail "server D2: init failed"
fleet_conf_set "$T/D2.conf" ldap_bind_dn "$LDAP_USER_DN"
fleet_conf_set "$T/D2.conf" ldap_bind_password_file "$T/mallory.pw"
# D3: the service account, but ldap_base mistyped (no such entry).
fleet_server "$T" D3 "$KEY" "deny = 5" || bail "server D3: init failed"
fleet_conf_set "$T/D3.conf" ldap_base "ou=totps,$LDAP_SUFFIX"

P=$T/pam.d
for s in A B C D D2 D3; do
  fleet_service "$P" "$(echo "$s" | tr 'A-Z' 'a-z')" "$T/$s.conf"
done
# nullok services: PAM_IGNORE from the only module would make libpam refuse
# the stack, so an ignoring pam_totp lets the stack go on to a marker module
# ("INFO: check_authtok: reached", PAM_SUCCESS); success ends the stack,
# anything else refuses with pam_totp's own result.
nullok_service() {  # SERVICE CONF [ARGS...]
  _ns=$1; _nc=$2; shift 2
  printf '%s\n' "auth [success=done ignore=ignore default=die] $FLEET_MODULE config=$_nc nullok${*:+ $*}" \
    "auth required $MARKER reached" >"$P/$_ns"
}
nullok_service a-nullok "$T/A.conf"
nullok_service b-nullok "$T/B.conf"
nullok_service d2-nullok "$T/D2.conf"
nullok_service d3-nullok "$T/D3.conf"

# --- logins ----------------------------------------------------------
# login SERVICE USER NOW ANSWER...: one pam_authenticate as pam_driver
# does it, at the faked time NOW, with --check-host-state; output in
# $T/out (and OUT=$T/out); returns the PAM result.
HS_N=0; HS_SETXID=0; HS_BAD=0; HS_WHAT=""
login() {
  _svc=$1; _user=$2; _now=$3; shift 3
  set -- $(for _a in "$@"; do printf -- '--answer %s ' "$_a"; done)
  PAM_TOTP_TEST_NOW=$_now "$DRIVER" --confdir "$P" --service "$_svc" --user "$_user" \
    --rhost "host-$_svc" --check-host-state "$@" >"$T/out" 2>&1
  _rc=$?
  hs_tally "$T/out"
  return $_rc
}
# hs_tally FILE: counts the transaction's HOST_STATE verdict. A change of
# SigCgt in exactly the bit of signal 33 is told apart (glibc installs its
# internal SIGSETXID handler when a process makes its first thread; it is
# invisible to sigaction()); anything else changed is remembered.
hs_tally() {
  HS_N=$((HS_N + 1))
  _hs=$(grep '^HOST_STATE: ' "$1")
  case $_hs in
    "HOST_STATE: unchanged") return 0 ;;
  esac
  _b=$(printf '%s\n' "$_hs" | sed -n 's/.*\[SigCgt:[[:space:]]*\([0-9a-f]*\)\] became \[SigCgt:[[:space:]]*\([0-9a-f]*\)\]$/\1/p')
  _a=$(printf '%s\n' "$_hs" | sed -n 's/.*\[SigCgt:[[:space:]]*\([0-9a-f]*\)\] became \[SigCgt:[[:space:]]*\([0-9a-f]*\)\]$/\2/p')
  if [ -n "$_b" ] && [ -n "$_a" ] && [ $(( 0x$_b ^ 0x$_a )) = $(( 1 << 32 )) ]; then
    HS_SETXID=$((HS_SETXID + 1))
  else
    HS_BAD=$((HS_BAD + 1))
    [ -n "$HS_WHAT" ] || HS_WHAT="${_hs:-no HOST_STATE line (the driver died?)}"
  fi
}
# not_let_in SERVICE USER NOW ANSWER LOGTEXT: neither PAM_SUCCESS nor
# PAM_IGNORE (and the driver ran to the end), LOGTEXT in the syslog.
not_let_in() {
  login "$1" "$2" "$3" "$4"; _r=$?
  [ $_r != 0 ] && [ $_r != 25 ] && ! reached && grep -q '^RESULT: PAM_' "$T/out" && syslog_has "$5"
}
# quietly COMMAND...: its output only as TAP comments, when it fails.
quietly() { "$@" >"$T/quiet.out" 2>&1 && return 0; _q=$?; sed 's/^/#   /' "$T/quiet.out"; return $_q; }
result_is() { grep -q "^RESULT: $1\$" "$T/out"; }
reached() { grep -q '^INFO: check_authtok: reached' "$T/out"; }
syslog_has() { grep '^SYSLOG ' "$T/out" | grep -qF -- "$1"; }
# accepted SERVICE USER NOW ANSWER: PAM_SUCCESS (from pam_totp, not the marker).
accepted() { login "$@" && result_is PAM_SUCCESS && ! reached; }
# refused SERVICE USER NOW ANSWER LOGTEXT: PAM_AUTH_ERR with LOGTEXT in a
# syslog line of the module.
refused() {
  _log=$5
  login "$1" "$2" "$3" "$4"; _r=$?
  [ $_r = 7 ] && result_is PAM_AUTH_ERR && syslog_has "$_log"
}

# status_of CONF USER FIELD: one field of `status --json` (jq path).
status_of() { "$TOOL" --config "$1" status --user "$2" --json 2>/dev/null | jq -c "$3"; }
# same_status USER JQ-FILTER: the filter gives the same, non-empty value
# through A, B and C; prints it.
same_status() {
  _sa=$(status_of "$T/A.conf" "$1" "$2"); _sb=$(status_of "$T/B.conf" "$1" "$2"); _sc=$(status_of "$T/C.conf" "$1" "$2")
  echo "$_sa"
  [ -n "$_sa" ] && [ "$_sa" = "$_sb" ] && [ "$_sb" = "$_sc" ] ||
    { diag "status differs: A=$_sa B=$_sb C=$_sc"; return 1; }
}
# entry USER: the record's two values as root reads them (empty if none).
entry() {
  ldap_as_root ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$LDAP_BASE" -s base \
    pamTotpEnrolment pamTotpLedger 2>/dev/null | grep -E '^pamTotp(Enrolment|Ledger)::' | sort
}
# no_entry USER: the directory has no record (search result 32).
no_entry() {
  ldap_as_root ldapsearch -LLL -b "uid=$1,$LDAP_BASE" -s base dn >/dev/null 2>&1
  [ $? = 32 ]
}
enrol() {  # enrol CONF USER [tool options]: JSON in $T/USER.json
  _c=$1; _u=$2; shift 2
  "$TOOL" --config "$_c" enroll --user "$_u" --yes --json "$@" >"$T/$_u.json" 2>"$T/$_u.err" &&
    [ -n "$(fleet_secret "$T/$_u.json")" ]
}
# A time on a step boundary + 5 s, some steps ahead of the real clock (after
# the enrolments' creation time, within the certificates' validity).
NOW0=$(( ($(date +%s) / 30 + 4) * 30 + 5 ))

# --- enrol once, log in on A, replay on B and C --------------------------
U=daemon
check "enrol $U once with the tool through A (--yes --json gives the otpauth URI)" enrol "$T/A.conf" "$U"
S=$(fleet_secret "$T/$U.json")
in_directory_only() {
  [ "$(entry "$1" | wc -l)" = 2 ] || { diag "entry: $(entry "$1")"; return 1; }
  _left=$(find "$T/A/state" "$T/B/state" "$T/C/state" -mindepth 1)
  [ -z "$_left" ] || { diag "in a state_dir: $_left"; return 1; }
}
check "the record is in the directory (uid=$U,ldap_base, both attributes) and not in any state_dir" in_directory_only "$U"
t=$NOW0; X=$(fleet_code "$S" $t)
check "A: the code accepted" accepted a "$U" $t "$X"
check "B: the same code refused (replayed code)" refused b "$U" $t "$X" "replayed code"
check "C: the same code refused (replayed code)" refused c "$U" $t "$X" "replayed code"
check "C: an older step's code (never used) refused too" refused c "$U" $t "$(fleet_code "$S" $((t - 30)))" "replayed code"
check "B: the same code a step later, still in the window, refused" refused b "$U" $((t + 30)) "$X" "replayed code"
t=$((t + 30))
check "C: the next step's code accepted" accepted c "$U" $t "$(fleet_code "$S" $t)"
check "A: that code again refused (used on C)" refused a "$U" $t "$(fleet_code "$S" $t)" "replayed code"
check "status through A, B, C: the same last login (C's, at the faked time)" \
  sh -c "[ \"\$1\" = $t ]" - "$(same_status "$U" .last_login.unix)"
check "status through A, B, C: the same failure count (1: the replay on A after C's success)" \
  sh -c "[ \"\$1\" = 1 ]" - "$(same_status "$U" .failures)"
check "status through A, B, C: the same rhost of the last login (C's service)" \
  sh -c "[ \"\$1\" = '\"host-c\"' ]" - "$(same_status "$U" .last_login.rhost)"

# --- 50 logins racing with one fresh code ---------------------------------
R=bin
check "enrol $R through B" enrol "$T/B.conf" "$R"
RS=$(fleet_secret "$T/$R.json")
tr_=$((NOW0 + 300)); RC=$(fleet_code "$RS" $tr_)
mkdir "$T/race"
exec 9>"$T/race/gate"
flock -x 9
RACE_PIDS=""
i=0
while [ $i -lt 50 ]; do
  case $((i % 3)) in 0) s=a ;; 1) s=b ;; 2) s=c ;; esac
  PAM_TOTP_TEST_NOW=$tr_ flock -s "$T/race/gate" "$DRIVER" --confdir "$P" --service $s --user "$R" \
    --rhost "race-$i" --check-host-state --answer "$RC" >"$T/race/$i.out" 2>&1 9>&- &
  RACE_PIDS="$RACE_PIDS $!"
  i=$((i + 1))
done
sleep 0.5    # every racer blocked on the gate
flock -u 9   # go
t_race=$(date +%s%N)
for p in $RACE_PIDS; do wait "$p"; done
RACE_PIDS=""
exec 9>&-
race_ms=$(( ($(date +%s%N) - t_race) / 1000000 ))
wins=$(grep -l '^RESULT: PAM_SUCCESS$' "$T/race"/*.out | wc -l)
losses=$(grep -l '^RESULT: PAM_AUTH_ERR$' "$T/race"/*.out | wc -l)
for f in "$T/race"/*.out; do hs_tally "$f"; done
diag "race: 50 logins in $race_ms ms; refusals by reason:"
grep -h '^SYSLOG ' "$T/race"/*.out | grep -v 'accepted totp' | sed 's/.*rhost=[^:]*: //' | sort | uniq -c | sed 's/^/#   /'
check "race: 50 logins over A, B, C with one code: exactly one PAM_SUCCESS (got $wins)" [ "$wins" = 1 ]
check "race: the 49 others PAM_AUTH_ERR, every one finished (got $losses)" [ "$losses" = 49 ]
winner=$(grep -l '^RESULT: PAM_SUCCESS$' "$T/race"/*.out | head -1 | sed 's|.*/||; s|\.out$||')
check "race: every loser was refused for the replay or the lockout it caused (no directory error, no tampering)" \
  sh -c "! grep -h '^SYSLOG ' '$T'/race/*.out | grep -v 'accepted totp' | grep -vE 'replayed code|: locked\$'"
check "race: status through A, B, C agrees on the winner's login (race-$winner)" \
  sh -c "[ \"\$1\" = '\"race-$winner\"' ]" - "$(same_status "$R" .last_login.rhost)"

# --- lockout: five wrong codes spread over A, B, C ---------------------------
L=sys
check "enrol $L through C" enrol "$T/C.conf" "$L"
LS=$(fleet_secret "$T/$L.json")
tl=$((NOW0 + 600)); W=$(fleet_wrong "$LS" $tl)
k=0
for s in a b c a; do
  k=$((k + 1))
  check "lockout: wrong code $k on $(echo $s | tr a-z A-Z) refused" refused $s "$L" $((tl + k)) "$W" "wrong code"
done
check "lockout: after 4 failures status through A, B, C says 4 and not locked" \
  sh -c "[ \"\$1\" = '[4,null]' ]" - "$(same_status "$L" '[.failures,.locked_until_unix]')"
check "lockout: wrong code 5 on B refused and locks" refused b "$L" $((tl + 5)) "$W" "now locked"
for s in a b c; do
  check "lockout: then the right code on $(echo $s | tr a-z A-Z) refused: locked" \
    refused $s "$L" $((tl + 10)) "$(fleet_code "$LS" $tl)" "locked"
done
check "lockout: status through A, B, C shows the same lock (5 failures, until the 5th + unlock_time)" \
  sh -c "[ \"\$1\" = '[5,$((tl + 5 + 600))]' ]" - "$(same_status "$L" '[.failures,.locked_until_unix]')"
check "lockout: totp-setup unlock --config B --user $L" quietly "$TOOL" --config "$T/B.conf" unlock --user "$L"
check "lockout: status through A, B, C: unlocked, no failures" \
  sh -c "[ \"\$1\" = '[0,null]' ]" - "$(same_status "$L" '[.failures,.locked_until_unix]')"
check "lockout: after the unlock on B the right code is accepted on A" \
  accepted a "$L" $((tl + 30)) "$(fleet_code "$LS" $((tl + 30)))"

# --- recovery codes, regenerate, remove, re-enrol ---------------------------
G=games
check "enrol $G through A" enrol "$T/A.conf" "$G"
GS=$(fleet_secret "$T/$G.json")
rc0=$(jq -r '.recovery_codes[0]' "$T/$G.json"); rc1=$(jq -r '.recovery_codes[1]' "$T/$G.json")
total=$(jq -r '.recovery_codes | length' "$T/$G.json")
tg=$((NOW0 + 900))
recovered() { accepted "$@" && grep -q "^INFO: .*$((total - 1)) left" "$T/out"; }
check "recovery: a recovery code accepted on A, the user told $((total - 1)) left" recovered a "$G" $tg "$rc0"
check "recovery: the same recovery code refused on B" refused b "$G" $((tg + 1)) "$rc0" "wrong"
check "recovery: and on C, typed upper-case without the dash" \
  refused c "$G" $((tg + 2)) "$(printf '%s' "$rc0" | tr -d - | tr a-z A-Z)" "wrong"
check "recovery: status through A, B, C: $((total - 1)) left" \
  sh -c "[ \"\$1\" = $((total - 1)) ]" - "$(same_status "$G" .recovery_codes_left)"
# race_logins DIR NOW SERVICE:ANSWER...: one login per argument, all let go
# at once (they wait on a lock this shell holds); outputs DIR/1.out...
race_logins() {
  _rd=$1; _rt=$2; shift 2
  mkdir -p "$_rd"; rm -f "$_rd"/*.out
  exec 9>"$_rd/gate"; flock -x 9
  _pids=""; _j=0
  for _sa in "$@"; do
    _j=$((_j + 1))
    PAM_TOTP_TEST_NOW=$_rt flock -s "$_rd/gate" "$DRIVER" --confdir "$P" --service "${_sa%%:*}" --user "$G" \
      --rhost "race-$_j" --check-host-state --answer "${_sa#*:}" >"$_rd/$_j.out" 2>&1 9>&- &
    _pids="$_pids $!"
  done
  RACE_PIDS=$_pids
  sleep 0.3; flock -u 9
  for _p in $_pids; do wait "$_p"; done
  RACE_PIDS=""; exec 9>&-
  for _f in "$_rd"/*.out; do hs_tally "$_f"; done
  diag "  results: $(grep -h '^SYSLOG ' "$_rd"/*.out | sed 's/.*rhost=[^:]*: //' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
}
successes() { grep -l '^RESULT: PAM_SUCCESS$' "$1"/*.out 2>/dev/null | wc -l; }
rc2=$(jq -r '.recovery_codes[2]' "$T/$G.json"); rc3=$(jq -r '.recovery_codes[3]' "$T/$G.json")
rc4=$(jq -r '.recovery_codes[4]' "$T/$G.json"); rc5=$(jq -r '.recovery_codes[5]' "$T/$G.json")
rc6=$(jq -r '.recovery_codes[6]' "$T/$G.json")
race_logins "$T/rrace" $((tg + 5)) a:"$rc2" b:"$rc2" c:"$rc2" a:"$rc2" b:"$rc2" c:"$rc2"
check "recovery race: one recovery code, 6 logins at once over A, B, C: exactly one accepted" \
  [ "$(successes "$T/rrace")" = 1 ]
check "  (status through A, B, C: exactly one more code used: $((total - 2)) left)" \
  sh -c "[ \"\$1\" = $((total - 2)) ]" - "$(same_status "$G" .recovery_codes_left)"
quietly "$TOOL" --config "$T/A.conf" unlock --user "$G"
# Four right answers at once are four logins of the user's own: each must
# count as one attempt, none may be refused (e.g. as "locked": deny is 5).
race_logins "$T/rrace" $((tg + 6)) a:"$rc3" b:"$rc4" c:"$rc5" a:"$rc6"
check "recovery race: four different valid recovery codes at once on A, B, C, A: all four accepted" \
  [ "$(successes "$T/rrace")" = 4 ]
check "  (status through A, B, C: as many fewer codes as were accepted, no failure left on record)" \
  sh -c "[ \"\$1\" = '[$((total - 2 - $(successes "$T/rrace"))),0]' ]" - "$(same_status "$G" '[.recovery_codes_left,.failures]')"
quietly "$TOOL" --config "$T/A.conf" unlock --user "$G"
"$TOOL" --config "$T/C.conf" recovery-codes --user "$G" --yes --json >"$T/$G.rc.json" 2>"$T/$G.rc.err"
check "recovery-codes --config C: a new set" \
  sh -c "[ \"\$(jq -r '.recovery_codes|length' '$T/$G.rc.json')\" -ge 1 ] && ! jq -e --arg c '$rc1' '.recovery_codes|index(\$c)' '$T/$G.rc.json' >/dev/null"
nrc0=$(jq -r '.recovery_codes[0]' "$T/$G.rc.json" 2>/dev/null)
check "recovery: an old code (never used before) refused on A after the regeneration on C" \
  refused a "$G" $((tg + 3)) "$rc1" "wrong"
check "recovery: a new code accepted on B" accepted b "$G" $((tg + 4)) "$nrc0"
# the lockout counts are not the point here: start clean
"$TOOL" --config "$T/A.conf" unlock --user "$G" >/dev/null 2>&1
before=$(entry "$G")
"$TOOL" --config "$T/B.conf" enroll --user "$G" --yes --json >"$T/$G.again.json" 2>&1; rc=$?
check "enrol again through B without --force: refused, the directory record unchanged" \
  sh -c "[ $rc != 0 ] && [ \"\$1\" = \"\$2\" ]" - "$before" "$(entry "$G")"
check "remove --config B --user $G" quietly "$TOOL" --config "$T/B.conf" remove --user "$G" --yes
check "remove: the entry is gone from the directory (root's search: 32)" no_entry "$G"
check "remove: status through A says not enrolled" \
  sh -c "[ \"\$1\" = false ]" - "$(status_of "$T/A.conf" "$G" .enrolled)"
check "remove: a login on C is refused (not enrolled)" refused c "$G" $((tg + 30)) "$(fleet_code "$GS" $((tg + 30)))" "not enrolled"
check "re-enrol $G through C" enrol "$T/C.conf" "$G"
GS2=$(fleet_secret "$T/$G.json")
check "re-enrol: a new secret" sh -c "[ -n '$GS2' ] && [ '$GS2' != '$GS' ]"
check "re-enrol: the old secret's code refused on A" refused a "$G" $((tg + 60)) "$(fleet_code "$GS" $((tg + 60)))" "wrong"
check "re-enrol: the new secret's code accepted on A" accepted a "$G" $((tg + 90)) "$(fleet_code "$GS2" $((tg + 90)))"

# --- another fleet's master key ------------------------------------------
td=$((NOW0 + 1200)); XD=$(fleet_code "$S" $td)
before=$(entry "$U")
check "D (another master key): $U's right code refused, the log names the key ids" \
  refused d "$U" $td "$XD" "sealed under key id"
kid_rec=$(grep '^SYSLOG ' "$T/out" | sed -n 's/.*sealed under key id \([0-9a-f]\{16\}\).*/\1/p')
kid_own=$(grep '^SYSLOG ' "$T/out" | sed -n 's/.*this server.s master key (key id \([0-9a-f]\{16\}\)).*/\1/p')
check "  (two different 16-hex key ids: the record's $kid_rec, D's $kid_own)" \
  sh -c "[ -n '$kid_rec' ] && [ -n '$kid_own' ] && [ '$kid_rec' != '$kid_own' ]"
check "  (the record is unchanged)" sh -c "[ \"\$1\" = \"\$2\" ]" - "$before" "$(entry "$U")"
check "D refused it without using it up: the same code accepted on A" accepted a "$U" $td "$XD"
"$TOOL" --config "$T/D.conf" status --user "$U" >"$T/d.status" 2>&1; rc=$?
check "totp-setup status through D fails and says the key id" \
  sh -c "[ $rc != 0 ] && grep -q 'key id' '$T/d.status'"

# --- nullok: only "not enrolled" is PAM_IGNORE --------------------------------
N=man
tn=$((NOW0 + 1500))
ignored() { login "$@" && result_is PAM_SUCCESS && reached && syslog_has "not enrolled (nullok)"; }
check "nullok, not enrolled, directory up: PAM_IGNORE" ignored a-nullok "$N" $tn 123456
check "without nullok, not enrolled: refused (not enrolled)" refused b "$N" $tn 123456 "not enrolled"
check "nullok, an identity that cannot see ldap_base (mallory): refused, not ignored; the log says the base cannot be read" \
  refused d2-nullok "$N" $tn 123456 "cannot be read"
check "  (an enrolled user through that identity: refused the same way)" \
  refused d2 "$U" $((tn + 30)) "$(fleet_code "$S" $((tn + 30)))" "cannot be read"
check "nullok, a mistyped ldap_base (no such entry): refused, not ignored; the log says the base cannot be read" \
  refused d3-nullok "$N" $tn 123456 "cannot be read"
ldap_pause
t_p=$(date +%s%N)
login b-nullok "$N" $tn 123456
rc=$?
ms_p=$(( ($(date +%s%N) - t_p) / 1000000 ))
ldap_resume
paused_ok() { [ $rc = 7 ] && [ $ms_p -lt 4500 ] && result_is PAM_AUTH_ERR; }
check "nullok, slapd paused: refused (not ignored) in $ms_p ms (ldap_timeout 3 s)" paused_ok
check "  (the log says the directory is unreachable)" syslog_has "directory unreachable"
check "slapd resumed: PAM_IGNORE again for the user who is not enrolled" ignored b-nullok "$N" $((tn + 1)) 123456
check "slapd resumed: $U's next code accepted on B" accepted b "$U" $((tn + 60)) "$(fleet_code "$S" $((tn + 60)))"

# --- the store is set in the file only ------------------------------------------
tf=$((NOW0 + 1800))
i=0
for arg in "store=files" "ldap_uri=ldap://127.0.0.1:1" "ldap_base=ou=people,$LDAP_SUFFIX" "ldap_timeout=60" \
           "ldap_bind_dn=$LDAP_USER_DN" "ldap_ca_file=$LDAP_WRONG_CA"; do
  i=$((i + 1))
  nullok_service "line$i" "$T/A.conf" "$arg"
  check "PAM line '$arg': refused as file-only (a right code, nullok: neither success nor ignore)" \
    not_let_in "line$i" "$U" $tf "$(fleet_code "$S" $tf)" "file-only"
done
check "  (none of them used the code: it is accepted on C)" accepted c "$U" $tf "$(fleet_code "$S" $tf)"

# --- someone who can write the directory moves a record -------------------------
V=lp
{
  echo "dn: uid=$V,$LDAP_BASE"; echo "objectClass: pamTotpRecord"; echo "uid: $V"
  entry "$U"
} >"$T/moved.ldif"
check "(as root over ldapi) $U's record copied to uid=$V" quietly ldap_as_root ldapadd -f "$T/moved.ldif"
tm=$((NOW0 + 2100))
check "$V with $U's record and $U's code (nullok): refused, the record is bound to $U" \
  not_let_in a-nullok "$V" $tm "$(fleet_code "$S" $tm)" ""
diag "  log: $(grep '^SYSLOG ' "$T/out" | tail -1)"
check "$U himself still logs in with that code on B" accepted b "$U" $tm "$(fleet_code "$S" $tm)"
check "'DAEMON' (the directory matches uid case-insensitively) with $U's code (nullok): neither accepted nor ignored" \
  not_let_in a-nullok "DAEMON" $((tm + 30)) "$(fleet_code "$S" $((tm + 30)))" ""

# --- the host ----------------------------------------------------------------
check "every one of $HS_N PAM transactions left fds, umask, cwd, signal mask, ignored signals and handlers as they were, apart from glibc's SIGSETXID ($HS_SETXID)${HS_WHAT:+: first other change: $HS_WHAT}" \
  [ "$HS_BAD" = 0 ]
check "every one of $HS_N PAM transactions: HOST_STATE: unchanged ($HS_SETXID changed SigCgt by glibc's SIGSETXID handler: the module started a thread)" \
  [ "$HS_BAD$HS_SETXID" = 00 ]

diag "ran in $(( $(date +%s) - SECONDS0 )) s"
echo "1..$n"
