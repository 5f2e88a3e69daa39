#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: `totp-setup rekey` (issue 16) on the installed tool and module, files
# store, in a private config (key and state in a fresh root-owned 0700
# directory). 30 users enrolled with the tool (`enroll --user U --yes
# --json`); logins through PAM (tests/pam/pam_driver and the installed
# pam_totp.so) with oathtool's code at faked times (PAM_TOTP_TEST_NOW, one
# 30 s step further for every round, so that no code is a replay).
#   - a rekey: every user logs in after it; every record's header names the
#     new key id (the SHA-256 prefix of the new key file); .previous gone;
#     --json; the text summary
#   - the middle of a rotation (key file renamed over, old key in
#     .previous, as rekey's step b leaves it): every user logs in; a login
#     moves its record to the new key; `init` is not confused; a record
#     under neither key is refused naming the key ids (status, and the
#     module's log line); rekey finishes
#   - logins while rekey runs
#   - kill -9 of rekey at random moments, 12 rounds (REKEY_KILL_ROUNDS): after
#     each, 5 users log in (and all 30 every 4 rounds); at the end a re-run finishes and
#     removes .previous, and all 30 log in
#   - a damaged record: reported by name, exit 1, .previous kept; after it
#     is removed, a re-run finishes
#   - not root: refused (3)
# Env (scripts/test-all.sh): SRC_DIR, BUILD_DIR (tests/pam/pam_driver),
# PREFIX (installed tool and module). Needs root.
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/_build/normal}
PREFIX=${PREFIX:-$BUILD_DIR/inst}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail() { echo "Bail out! $*"; exit 1; }
check() {
  _d=$1; shift
  if "$@"; then ok "$_d"; else
    not_ok "$_d"
    for _f in "$T/out" "$T/err"; do [ -s "$_f" ] && sed 's/^/#   | /' "$_f" | tail -8; done
  fi
  return 0
}
cond() { eval "$1"; }
eq() { [ "$1" = "$2" ] || { diag "got:  $1" "want: $2"; return 1; }; }

[ "$(id -u)" = 0 ] || skip_all "needs root (root-owned key and state files)"
PATH=$PATH:/usr/sbin:/sbin
# The tool enrols only users that exist: a private mount namespace, where a
# copy of /etc/passwd with the suite's users is mounted over the real one
# (unshare without --fork execs in place).
if [ -z "${REKEY_T_NS:-}" ] && command -v unshare >/dev/null 2>&1 &&
   unshare --mount --propagation private true 2>/dev/null; then
  REKEY_T_NS=1 exec unshare --mount --propagation private -- sh "$0" "$@"
fi
for t in oathtool jq sha256sum od setpriv; do
  command -v "$t" >/dev/null 2>&1 || skip_all "$t not found (scripts/install-deps.sh installs it)"
done
DRIVER=$BUILD_DIR/tests/pam/pam_driver
TOOL=$PREFIX/bin/totp-setup
MODULE=$PREFIX/lib/security/pam_totp.so
[ -x "$DRIVER" ] || skip_all "$DRIVER not built (make check TESTS= builds it)"
[ -x "$TOOL" ] || skip_all "no totp-setup under $PREFIX (make install first)"
[ -f "$MODULE" ] || skip_all "no pam_totp.so under $PREFIX (make install first)"
NOBODY=$(id -u nobody 2>/dev/null) || skip_all "no user nobody (for the non-root test)"

T=$(mktemp -d /tmp/rekey.XXXXXX) || bail "mktemp failed"
chmod 0700 "$T"
BGPID=""
MADE_USERS=""
cleanup() {
  set +e
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  for u in $MADE_USERS; do userdel "$u" >/dev/null 2>&1; done
  [ -n "${REKEY_T_NS:-}" ] && umount /etc/passwd 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# rk01..rk30 and rkx: in the namespace's /etc/passwd, or else made with
# useradd and removed by the trap.
MADE_USERS=""
cp /etc/passwd "$T/passwd"
i=1
for u in $(seq -f 'rk%02g' 1 30) rkx; do
  echo "$u:x:$((61000 + i)):$((61000 + i)):rekey.t:/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
  i=$((i + 1))
done
chmod 0644 "$T/passwd"
if [ -n "${REKEY_T_NS:-}" ] && mount --bind "$T/passwd" /etc/passwd 2>/dev/null; then
  :
else
  command -v useradd >/dev/null 2>&1 || skip_all "no private namespace and no useradd to make the test users"
  for u in $(seq -f 'rk%02g' 1 30) rkx; do
    useradd -M -d /nonexistent -s /usr/sbin/nologin "$u" >/dev/null 2>&1 || bail "useradd $u failed"
    MADE_USERS="$MADE_USERS $u"
  done
fi

KEY=$T/key
CONF=$T/pam_totp.conf
printf 'state_dir = %s\nkey_file = %s\nwindow = 1\ndeny = 1000\n' "$T/state" "$KEY" >"$CONF"
chmod 0600 "$CONF"
"$TOOL" --config "$CONF" init >"$T/out" 2>"$T/err" || bail "totp-setup init failed: $(cat "$T/err")"
mkdir "$T/pam.d"
printf 'auth required %s config=%s\n' "$MODULE" "$CONF" >"$T/pam.d/totp"

# --- helpers ------------------------------------------------------------------
USERS=""
i=1
while [ $i -le 30 ]; do USERS="$USERS rk$(printf %02d $i)"; i=$((i + 1)); done
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
# The faked clock: a step boundary an hour from now, one step further per round.
NOW=$(( ($(date +%s) / 30 + 120) * 30 ))
next_step() { NOW=$((NOW + 30)); }
code_for() {  # USER: oathtool's code at NOW
  _u=$(cat "$T/uri.$1")
  _alg=$(uri_param "$_u" algorithm)
  case $_alg in SHA256) _m=--totp=sha256 ;; SHA512) _m=--totp=sha512 ;; *) _m=--totp ;; esac
  oathtool "$_m" -b -d "$(uri_param "$_u" digits)" -s "$(uri_param "$_u" period)s" -N "@$NOW" "$(uri_param "$_u" secret)"
}
login() {  # USER [OUT]: one pam_authenticate with the right code at NOW
  _o=${2:-$T/out}
  PAM_TOTP_TEST_NOW=$NOW "$DRIVER" --confdir "$T/pam.d" --service totp --user "$1" --rhost rekey.test \
    --answer "$(code_for "$1")" >"$_o" 2>&1 && grep -q '^RESULT: PAM_SUCCESS$' "$_o"
}
# logins_ok USER...: every one logs in (at NOW); the failures in $T/failed_logins
logins_ok() {
  : >"$T/failed_logins"
  for _u in "$@"; do
    login "$_u" "$T/login.$_u" || { echo "$_u" >>"$T/failed_logins"; cp "$T/login.$_u" "$T/out"; }
  done
  [ ! -s "$T/failed_logins" ] || { diag "refused: $(tr '\n' ' ' <"$T/failed_logins")"; return 1; }
}
key_id_of() { sha256sum "$1" | cut -c1-16; }                    # a key file's id
header_id() { od -An -tx1 -j12 -N8 "$T/state/$1" | tr -d ' \n'; }  # a record's key id
# all_under KEYID: every user's record header names KEYID
all_under() {
  for _u in $USERS; do
    [ "$(header_id "$_u")" = "$1" ] || { diag "$_u is under $(header_id "$_u"), not $1"; return 1; }
  done
}
rekey() {  # [ARGS]: output in $T/out, $T/err; RC
  "$TOOL" --config "$CONF" rekey "$@" >"$T/out" 2>"$T/err"
  RC=$?
}
sample5() { echo $USERS | tr ' ' '\n' | shuf -n 5 | tr '\n' ' '; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- enrol 30 users through the tool ------------------------------------------------
enrolled=0
for u in $USERS; do
  if "$TOOL" --config "$CONF" enroll --user "$u" --yes --json >"$T/enrol.$u" 2>"$T/err" &&
     jq -r '.uri // .otpauth_uri // empty' "$T/enrol.$u" >"$T/uri.$u" && [ -s "$T/uri.$u" ]; then
    enrolled=$((enrolled + 1))
  else
    diag "enroll $u: $(cat "$T/err")"
  fi
done
[ "$enrolled" = 30 ] || bail "enrolled $enrolled of 30 users"
ok "30 users enrolled with totp-setup enroll --json"
K0=$(key_id_of "$KEY")
check "every record is under the key file's id ($K0)" all_under "$K0"
next_step
check "all 30 log in before any rekey" logins_ok $USERS

# --- one rekey ------------------------------------------------------------------------
t0=$(date +%s%N)
rekey --json
REKEY_MS=$(ms_since "$t0")
cp "$T/out" "$T/rekey1.json"
K1=$(key_id_of "$KEY")
check "rekey --json: exit 0 (${REKEY_MS} ms for 30 records)" eq "$RC" 0
check "  a new key id in the key file ($K0 -> $K1)" cond '[ "$K1" != "$K0" ]'
check "  JSON: key_id $K1, previous_key_id $K0, resealed 30, already 0, failed []" \
  eq "$(jq -c '[.key_id, .previous_key_id, .resealed, .already, (.failed | length), .previous_removed]' "$T/rekey1.json")" \
  "[\"$K1\",\"$K0\",30,0,0,true]"
check "  every record's header names $K1" all_under "$K1"
check "  $KEY.previous and $KEY.next are gone" cond '[ ! -e "$KEY.previous" ] && [ ! -e "$KEY.next" ]'
check "  the key file is root:root 0600, 32 bytes" eq "$(stat -c '%u:%g %a %s' "$KEY")" "0:0 600 32"
next_step
check "  all 30 log in under the new key" logins_ok $USERS
rekey
check "rekey (text) again: exit 0, summary names 30 records, the new key and the removed previous one" \
  cond '[ $RC = 0 ] && K2=$(key_id_of "$KEY") && grep -q "^30 record(s) sealed under key id $K2 .*previous key id $K1 removed" "$T/out"'
next_step
check "  all 30 log in" logins_ok $USERS

# --- the middle of a rotation, made by hand as step b leaves it ----------------------------
KOLD=$(key_id_of "$KEY")
ln "$KEY" "$KEY.previous"
head -c 32 /dev/urandom >"$T/newkey"; chmod 0600 "$T/newkey"
mv "$T/newkey" "$KEY"
KNEW=$(key_id_of "$KEY")
next_step
check "mid-rotation (records under $KOLD = .previous, key file $KNEW): rk01 logs in" login rk01
check "  rk01's record is now under the current key $KNEW (whole rewrite)" eq "$(header_id rk01)" "$KNEW"
check "  rk02's record (not logged in) is still under $KOLD" eq "$(header_id rk02)" "$KOLD"
next_step
check "  all 30 log in" logins_ok $USERS
check "  (and each login moved its record to $KNEW)" all_under "$KNEW"
"$TOOL" --config "$CONF" init >"$T/out" 2>"$T/err"; rc=$?
check "  init: exit 0, keeps the key, reports the unfinished rotation" \
  cond '[ $rc = 0 ] && grep -q "kept master key" "$T/out" && grep -q "previous master key.*rekey" "$T/out"'
# A record under a third key: refused, naming the key ids.
head -c 32 /dev/urandom >"$T/stranger.key"; chmod 0600 "$T/stranger.key"
KS=$(key_id_of "$T/stranger.key")
printf 'state_dir = %s\nkey_file = %s\n' "$T/strange" "$T/stranger.key" >"$T/strange.conf"; chmod 0600 "$T/strange.conf"
"$TOOL" --config "$T/strange.conf" init >/dev/null 2>&1
"$TOOL" --config "$T/strange.conf" enroll --user rkx --yes --json >"$T/enrol.rkx" 2>"$T/err"
jq -r '.uri // .otpauth_uri // empty' "$T/enrol.rkx" >"$T/uri.rkx"
cp "$T/strange/rkx" "$T/state/rkx"
"$TOOL" --config "$CONF" status --user rkx >"$T/out" 2>"$T/err"; rc=$?
check "  status of a record under neither key: fails naming its key id $KS, the current and the previous" \
  cond '[ $rc != 0 ] && grep -q "$KS" "$T/err" && grep -q "$KNEW" "$T/err" && grep -q "previous key (key id $KOLD)" "$T/err"'
next_step
login rkx
check "  its login is refused; the module's log line names the key ids" \
  cond 'grep -q "^RESULT: PAM_" "$T/out" && ! grep -q "^RESULT: PAM_SUCCESS" "$T/out" && grep "^SYSLOG" "$T/out" | grep -q "sealed under key id $KS"'
rekey --json
check "  rekey then: exit 1, rkx failed (named), .previous kept" \
  cond '[ $RC = 1 ] && [ "$(jq -r ".failed[0].user" "$T/out")" = rkx ] && [ -e "$KEY.previous" ]'
rm -f "$T/state/rkx"
rekey --json
check "  after rkx is removed: exit 0, 30 already under $KNEW, .previous removed" \
  cond '[ $RC = 0 ] && [ "$(jq -c "[.key_id, .already, .resealed, .previous_removed]" "$T/out")" = "[\"$KNEW\",30,0,true]" ] && [ ! -e "$KEY.previous" ]'

# --- logins while rekey runs -----------------------------------------------------------------
next_step
"$TOOL" --config "$CONF" rekey >"$T/bg.out" 2>"$T/bg.err" &
BGPID=$!
: >"$T/failed_during"
during=0
while kill -0 "$BGPID" 2>/dev/null || [ $during -lt 30 ]; do
  for u in $(sample5); do
    login "$u" "$T/during.$u" || { echo "$u" >>"$T/failed_during"; cp "$T/during.$u" "$T/out"; }
    during=$((during + 1))
  done
  next_step
  [ $during -ge 200 ] && break
done
wait "$BGPID"; rc=$?; BGPID=""
check "logins while rekey runs: $during logins, none refused; rekey exit 0" \
  cond '[ ! -s "$T/failed_during" ] && [ $rc = 0 ]'
check "  every record under the key file's id, .previous gone" \
  cond 'all_under "$(key_id_of "$KEY")" && [ ! -e "$KEY.previous" ]'

# --- kill -9 at random moments ---------------------------------------------------------------
# A round kills a rekey after a random pause between 0 and the time a whole
# rekey took above (x 1.5); then 5 random users log in (all 30 every 4th).
# CI runs 12 rounds (its time is counted); REKEY_KILL_ROUNDS=200 for a long run.
MAXMS=$(( REKEY_MS * 3 / 2 + 20 ))
ROUNDS=${REKEY_KILL_ROUNDS:-12}
rounds_mid=0; rounds_bad=0; killed=0
for round in $(seq 1 "$ROUNDS"); do
  "$TOOL" --config "$CONF" rekey >/dev/null 2>&1 &
  BGPID=$!
  sleep "$(awk -v m="$MAXMS" -v r="$(shuf -i 0-1000 -n 1)" 'BEGIN { printf "%.3f", m * r / 1000 / 1000 }')"
  kill -9 "$BGPID" 2>/dev/null && killed=$((killed + 1))
  wait "$BGPID" 2>/dev/null; BGPID=""
  [ -e "$KEY.previous" ] && rounds_mid=$((rounds_mid + 1))
  next_step
  if [ $((round % 4)) = 0 ]; then who=$USERS; else who=$(sample5); fi
  if ! logins_ok $who; then
    rounds_bad=$((rounds_bad + 1))
    diag "round $round: refused after the kill: $(cat "$T/failed_logins")" "$(ls -la "$T" | grep key)"
  fi
done
check "$ROUNDS rounds of kill -9 during rekey ($killed killed while running, $rounds_mid left a rotation unfinished): every login after every kill accepted" \
  eq "$rounds_bad" 0
rekey
check "  a re-run: exit 0" eq "$RC" 0
check "  .previous, .next and .next.tmp gone" \
  cond '[ ! -e "$KEY.previous" ] && [ ! -e "$KEY.next" ] && [ ! -e "$KEY.next.tmp" ]'
check "  every record under the key file's id" all_under "$(key_id_of "$KEY")"
next_step
check "  all 30 log in" logins_ok $USERS
check "  no temp file left in the state directory" cond '[ -z "$(ls -A "$T/state" | grep "\.tmp$")" ]'

# --- a damaged record --------------------------------------------------------------------------
# Flip every bit of byte 40 (writing a fixed byte left the record intact
# whenever it already held that byte: 1 run in 256).
b=$(od -An -tu1 -j40 -N1 "$T/state/rk07" | tr -d ' ')
printf "\\$(printf '%03o' $(( 255 - b )))" | dd of="$T/state/rk07" bs=1 seek=40 conv=notrunc 2>/dev/null
check "  (byte 40 of rk07 changed)" cond '[ "$(od -An -tu1 -j40 -N1 "$T/state/rk07" | tr -d " ")" = $(( 255 - b )) ]'
rekey
check "a damaged record: rekey exit 1, rk07 named, the others resealed, .previous kept" \
  cond '[ $RC = 1 ] && grep -q "^failed rk07: " "$T/out" && grep -q "could not be sealed" "$T/err" && [ -e "$KEY.previous" ]'
others=$(echo $USERS | tr ' ' '\n' | grep -v '^rk07$' | tr '\n' ' ')
next_step
check "  the 29 others log in" logins_ok $others
rm -f "$T/state/rk07"
rekey --json
check "  rk07 removed: a re-run exits 0, 29 already, .previous removed" \
  cond '[ $RC = 0 ] && [ "$(jq -c "[.already, .resealed, .previous_removed]" "$T/out")" = "[29,0,true]" ] && [ ! -e "$KEY.previous" ]'

# --- not root --------------------------------------------------------------------------------------
K_BEFORE=$(key_id_of "$KEY")
(cd / && setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups "$TOOL" rekey) >"$T/out" 2>"$T/err"; rc=$?
check "not root: refused (exit 3)" cond '[ $rc = 3 ] && grep -q "root" "$T/err"'
check "  (the key file unchanged)" eq "$(key_id_of "$KEY")" "$K_BEFORE"

echo "1..$n"
