#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: `totp-setup migrate --to ldap` the way an administrator moves servers
# into a fleet (issue 14). One private slapd (tests/ldap/slapd_lib.sh, the
# shipped schema and example ACL); servers that were in service before the
# fleet (init with the files store, then the ldap_* settings added with
# store = files still, as the admin does before migrating); local records
# made fast with tests/pam/make_user_record; logins through
# tests/pam/pam_driver and the installed module at faked times
# (PAM_TOTP_TEST_NOW); the installed totp-setup. The directory's contents
# are read with slapcat (a search stops at slapd's size limit of 500).
#
#   F   3 users, the first migrate into a fresh directory (no server ran
#       init with store = ldap yet); --json --remove-local.
#   A   1,000 local users (files store, its key K_A, which becomes the
#       fleet's key), six of them system users with state worth carrying,
#       made through local logins: daemon locked out, bin with 2 failures,
#       sys with a used time step, games with a recovery code used, man
#       with a pending enrolment, lp (later re-enrolled in the directory).
#       migrate with store = files (timed): everything copied, verified,
#       local files untouched; then store = ldap on A (and C, a fleet server
#       with K_A): status as before, logins through the directory for 20
#       random users and the carried state in force; a second run writes
#       nothing (the directory's newer ledger stays); a conflicting
#       enrolment is never overwritten; --json; --remove-local.
#   B   a server with its own key K_B and its own users (one a name A also
#       has, two differing only in letter case, a damaged file, a temporary
#       file): after K_A is copied into B's key_file, migrate fails per user
#       naming the key ids; with --from-key <K_B> it copies them sealed anew
#       under K_A, and they log in on A.
#   E   301 more local users (K_A): the directory stopped before a run, and
#       paused and killed in the middle of one (the tool SIGSTOPped once it
#       has copied some): migrate stops early with one error, not after
#       ldap_timeout per user, and a re-run after the restart completes;
#       a user who used a recovery code through the directory since is
#       still "already" on a re-run and --remove-local.
#   and: non-root is refused (3), usage errors (2).
#
# Env (scripts/test-all.sh): SRC_DIR, BUILD_DIR (tests/pam/pam_driver,
# make_user_record), PREFIX (installed module, tool, share/pam_totp/ldap).
# Needs root.
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
# command's output ($T/out, $T/err).
check() {
  _d=$1; shift
  if "$@"; then ok "$_d"; else
    not_ok "$_d"
    for _f in "$T/out" "$T/err"; do [ -s "$_f" ] && sed 's/^/#   | /' "$_f" | tail -8; done
  fi
  return 0
}

[ "$(id -u)" = 0 ] || skip_all "needs root (root-owned key and config files, SASL EXTERNAL over ldapi)"
for t in slapd slapadd slapcat slaptest slappasswd ldapsearch ldapadd openssl python3 setpriv oathtool jq \
         sha256sum shuf; do
  command -v "$t" >/dev/null 2>&1 || skip_all "$t not found (scripts/install-deps.sh installs it)"
done
DRIVER=$BUILD_DIR/tests/pam/pam_driver
MUR=$BUILD_DIR/tests/pam/make_user_record
[ -x "$DRIVER" ] || skip_all "$DRIVER not built (make check TESTS= builds it)"
[ -x "$MUR" ] || skip_all "$MUR not built (make check TESTS= builds it)"
[ -f "$PREFIX/lib/security/pam_totp.so" ] || skip_all "no pam_totp.so under $PREFIX (make install first)"
[ -x "$PREFIX/bin/totp-setup" ] || skip_all "no totp-setup under $PREFIX (make install first)"
SPECIAL="daemon bin sys games man lp"
for u in $SPECIAL; do
  getent passwd "$u" >/dev/null || skip_all "system user $u missing (the tool's status and enroll need one)"
done
NOBODY=$(id -u nobody 2>/dev/null) || skip_all "no user nobody (for the non-root test)"

. "$SRC_DIR/tests/ldap/slapd_lib.sh"
. "$SRC_DIR/tests/ldap/fleet_lib.sh"
TOOL=$FLEET_TOOL

T=$(mktemp -d /tmp/migrate.XXXXXX) || bail "mktemp failed"
chmod 0700 "$T"
BGPID=""
cleanup() {
  set +e
  if [ -n "$BGPID" ]; then kill -CONT "$BGPID" 2>/dev/null; kill "$BGPID" 2>/dev/null; wait "$BGPID" 2>/dev/null; fi
  ldap_stop
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
T_START=$(date +%s)
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

ldap_start "$T/dir" || bail "ldap_start failed (tests/ldap/slapd_env.t tells why)"
# The suite stops and restarts slapd: its ldapi socket must be in WORKDIR
# (ldap_stop removes a /tmp socket directory that ldap_restart would need).
[ -z "$LDAP_SOCK_TMP" ] || bail "ldapi socket outside the work directory ($LDAP_SOCK_TMP): use a shorter TMPDIR"

# --- helpers ------------------------------------------------------------------
# secrets_for PREFIX FIRST LAST: "user secret" lines, a distinct 160-bit
# secret per user (from the name and a salt, so B's u0001 differs from A's).
secrets_for() {
  python3 - "$@" <<'EOF'
import base64, hashlib, sys
prefix, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
salt = sys.argv[4] if len(sys.argv) > 4 else ""
for i in range(first, last + 1):
    u = "%s%04d" % (prefix, i) if prefix else ""
    print(u, base64.b32encode(hashlib.sha1((salt + u).encode()).digest()).decode())
EOF
}
secret_of_name() {  # NAME SALT: the same derivation for one name
  python3 -c 'import base64, hashlib, sys; print(base64.b32encode(hashlib.sha1((sys.argv[2] + sys.argv[1]).encode()).digest()).decode())' "$1" "$2"
}
# make_records DIR FILE: make_user_record enrol for every "user secret"
# line of FILE, in two parallel halves.
make_records() {
  _n=$(wc -l <"$2"); _h=$(( (_n + 1) / 2 ))
  head -n "$_h" "$2" >"$2.1"; tail -n +"$((_h + 1))" "$2" >"$2.2"
  _pids=""
  for _p in 1 2; do
    ( while read -r _u _s; do "$MUR" enrol "$1" "$_u" "$_s" >/dev/null || echo "$_u" >>"$2.failed"; done <"$2.$_p" ) &
    _pids="$_pids $!"
  done
  for _p in $_pids; do wait "$_p"; done   # not a bare wait: slapd is a child of this shell too
  [ ! -s "$2.failed" ]
}
# local_users DIR: the record files of DIR/state (no lock or temp files)
local_users() { ls -A "$1/state" | grep -v '^\.' | sort; }
# state_sum DIR: one checksum over the names and contents of the record files
state_sum() { (cd "$1/state" && ls -A | grep -v '^\.' | sort | xargs sha256sum) | sha256sum | cut -c1-64; }
# dir_dump [FILTER]: the users' records as slapd holds them (slapcat reads
# the mdb database beside the running slapd; a search would stop at the size
# limit of 500), one line each: dn, both values and entryCSN (which any write
# changes), sorted. Not the marker entry uid=.pam_totp that init makes.
dir_dump() {
  slapcat -f "$LDAP_WORKDIR/slapd.conf" -o ldif-wrap=no -a "(&(objectClass=pamTotpRecord)${1:-})" 2>/dev/null |
    grep -E '^(dn|pamTotpEnrolment|pamTotpLedger|entryCSN):' |
    awk '/^dn:/ { if (e) print e; e = $0; next } { e = e " " $0 } END { if (e) print e }' |
    grep -v '^dn: uid=\.' | sort
}
dir_count() { dir_dump "${1:-}" | wc -l; }
# complete_entries: entries that have both attributes
complete_entries() { dir_dump "${1:-}" | grep -c 'pamTotpEnrolment::.*pamTotpLedger::'; }
entry() { dir_dump "(uid=$1)"; }
ledger_of() { entry "$1" | sed -n 's/.*pamTotpLedger:: \([^ ]*\).*/\1/p'; }

# migrate NAME [ARGS...]: the tool's migrate, output in $T/NAME.out/.err,
# also copied to $T/out, $T/err (for check's diagnostics); RC, MS.
migrate() {
  _mn=$1; shift
  _t0=$(date +%s%N)
  "$TOOL" migrate "$@" >"$T/$_mn.out" 2>"$T/$_mn.err"
  RC=$?
  MS=$(ms_since "$_t0")
  cp "$T/$_mn.out" "$T/out"; cp "$T/$_mn.err" "$T/err"
}
summary_is() { [ "$(tail -n 1 "$T/$1.out")" = "$2" ]; }
lines_like() { grep -c "$2" "$T/$1.out"; }

# login SERVICE USER NOW ANSWER: one pam_authenticate at the faked time NOW,
# output in $T/out; returns the PAM result.
P=$T/pam.d
login() {
  PAM_TOTP_TEST_NOW=$3 "$DRIVER" --confdir "$P" --service "$1" --user "$2" --rhost "host-$1" \
    --answer "$4" >"$T/out" 2>&1
}
result_is() { grep -q "^RESULT: $1\$" "$T/out"; }
syslog_has() { grep '^SYSLOG ' "$T/out" | grep -qF -- "$1"; }
accepted() { : >"$T/err"; login "$@" && result_is PAM_SUCCESS; }
refused() {  # SERVICE USER NOW ANSWER LOGTEXT
  : >"$T/err"; login "$1" "$2" "$3" "$4"; _r=$?
  [ $_r = 7 ] && result_is PAM_AUTH_ERR && syslog_has "$5"
}
# cond 'SHELL CONDITION': evaluated in this shell (its functions and variables)
cond() { eval "$1"; }
# eq GOT WANT: equal, else a diagnostic
eq() { [ "$1" = "$2" ] || { diag "got:  $1" "want: $2"; return 1; }; }
# old_server DIR NAME KEYFROM [LINE...]: a server that was running before the
# fleet: DIR/NAME.conf with state_dir, key_file and the LINEs, `totp-setup
# init` with the files store (KEYFROM: new, or a key file to copy first);
# then the ldap_* settings added with store = files still, as the admin does
# before `migrate`. Config, key and state as fleet_server makes them.
old_server() {
  _od=$1; _on=$2; _ok=$3; shift 3
  install -d -m0700 "$_od/$_on" || return 1
  {
    echo "# server $_on, in service before the fleet (tests/ldap/migrate.t)"
    echo "state_dir = $_od/$_on/state"
    echo "key_file = $_od/$_on/key"
    for _ol in "$@"; do echo "$_ol"; done
  } >"$_od/$_on.conf" && chmod 0600 "$_od/$_on.conf" || return 1
  if [ "$_ok" != new ]; then install -m0600 -o root -g root "$_ok" "$_od/$_on/key" || return 1; fi
  "$TOOL" --config "$_od/$_on.conf" init >"$_od/$_on/init.out" 2>&1 || { cat "$_od/$_on/init.out" >&2; return 1; }
  ldap_conf_lines | sed 's/^store = ldap$/store = files/' >>"$_od/$_on.conf"
  grep -qx 'store = files' "$_od/$_on.conf"
}
status_json() { "$TOOL" --config "$1" status --user "$2" --json 2>"$T/err"; }
code() { fleet_code "$@"; }

NOW0=$(( ($(date +%s) / 30 + 4) * 30 + 5 ))

# --- the first migrate into a fresh directory -------------------------------------
# No server has run init with store = ldap yet: the directory holds only
# the (empty) ldap_base. The documented order: migrate with store = files,
# then switch.
old_server "$T" F new "deny = 5" || bail "server F: totp-setup init failed"
secrets_for f 1 3 F >"$T/F.users"
make_records "$T/F" "$T/F.users" || bail "make_user_record (F) failed"
check "fresh directory: no entry under ldap_base yet (init never ran with store = ldap)" \
  eq "$(ldap_as_root ldapsearch -LLL -b "$LDAP_BASE" -s one dn 2>&1 | grep -c '^dn:')" 0
migrate mf --to ldap --config "$T/F.conf"
check "fresh directory, store = files: the first migrate copies all 3 (exit $RC, '$(tail -n 1 "$T/mf.out")')" \
  cond '[ $RC = 0 ] && summary_is mf "3 copied, 0 already in the directory, 0 failed"'
check "  no user failed for the missing marker entry" sh -c "! grep -q '^failed.*marker' '$T/mf.out'"
check "  migrate made the marker entry itself, as init would (first line says so)" \
  sh -c "head -n 1 '$T/mf.out' | grep -q 'created the marker entry uid=.pam_totp,'"
migrate mfj --to ldap --json --remove-local --config "$T/F.conf"
check "--json --remove-local: exit 0 ($RC); the 3 users under copied or already, all 3 under removed_local, failed []" \
  cond '[ $RC = 0 ] && eq "$(jq -c "[([.copied[], .already[]] | sort), .removed_local, .failed]" "$T/mfj.out")" "[[\"f0001\",\"f0002\",\"f0003\"],[\"f0001\",\"f0002\",\"f0003\"],[]]"'
check "  F's state_dir holds no record file any more" eq "$(local_users "$T/F" | wc -l)" 0

# --- server A: 1,000 local users -----------------------------------------------
AF="(|(uid=u0*)$(for u in $SPECIAL; do printf '(uid=%s)' "$u"; done))"   # A's users in the directory
old_server "$T" A new "deny = 5" || bail "server A: totp-setup init failed"
KEY_A=$T/A/key
fleet_service "$P" a "$T/A.conf"
secrets_for u 1 994 >"$T/A.users"
for u in $SPECIAL; do echo "$u $(secret_of_name "$u" A)"; done >"$T/A.special"
t0=$(date +%s%N)
make_records "$T/A" "$T/A.users" || bail "make_user_record failed for $(wc -l <"$T/A.users.failed") users, e.g. $(head -3 "$T/A.users.failed" | tr '\n' ' ')"
sec() { grep "^$1 " "$T/A.special" "$T/A.users" 2>/dev/null | head -1 | cut -d' ' -f2; }
for u in daemon bin sys lp; do "$MUR" enrol "$T/A" "$u" "$(sec $u)" >/dev/null || bail "make_user_record $u"; done
"$MUR" enrol "$T/A" man "$(sec man)" --pending >/dev/null || bail "make_user_record man --pending"
"$MUR" enrol "$T/A" games "$(sec games)" --recovery 10 >"$T/games.rc" || bail "make_user_record games --recovery"
diag "made 1000 local records in $(ms_since "$t0") ms"
check "A: 1000 local records (994 u0001..u0994 and $SPECIAL)" [ "$(local_users "$T/A" | wc -l)" = 1000 ]

# State worth carrying, made by logins through the files store.
S_SYS=$(sec sys); X_SYS=$(code "$S_SYS" $NOW0)
check "local: sys logs in (files store) at step $((NOW0 / 30))" accepted a sys $NOW0 "$X_SYS"
W=$(fleet_wrong "$(sec bin)" $NOW0)
for k in 1 2; do check "local: bin wrong code $k (files store)" refused a bin $((NOW0 + k)) "$W" "wrong code"; done
W=$(fleet_wrong "$(sec daemon)" $NOW0)
for k in 1 2 3 4; do login a daemon $((NOW0 + k)) "$W"; done
check "local: daemon's 5th wrong code locks him (files store)" refused a daemon $((NOW0 + 5)) "$W" "now locked"
RC0=$(sed -n 1p "$T/games.rc")
recovered() {  # SERVICE USER NOW CODE LEFT: accepted, the user told LEFT left
  accepted "$1" "$2" "$3" "$4" && grep -q "^INFO: .*$5 left" "$T/out"
}
check "local: games logs in with a recovery code, told 9 left" recovered a games $((NOW0 + 3)) "$RC0" 9
check "local: man (pending) refused: enrolment pending" refused a man $((NOW0 + 3)) "$(code "$(sec man)" $NOW0)" "enrolment pending"
for u in $SPECIAL; do status_json "$T/A.conf" "$u" >"$T/$u.before.json"; done
check "local status: daemon locked until $((NOW0 + 5 + 600)), bin 2 failures, sys last login $NOW0, games 9 codes left, man pending" \
  eq "$(jq -c '[.locked_until_unix,.failures]' "$T/daemon.before.json") $(jq -c .failures "$T/bin.before.json") $(jq -c .last_login.unix "$T/sys.before.json") $(jq -c .recovery_codes_left "$T/games.before.json") $(jq -c .pending "$T/man.before.json")" \
     "[$((NOW0 + 605)),5] 2 $NOW0 9 true"

# --- the first run, store still = files ------------------------------------------
local_users "$T/A" >"$T/A.list"
SUM_A=$(state_sum "$T/A")
migrate m1 --to ldap --config "$T/A.conf"
MS_1000=$MS
diag "migrate --to ldap of 1000 users: $MS_1000 ms"
check "migrate --to ldap with store = files: exit 0 ($RC), nothing on stderr" sh -c "[ $RC = 0 ] && [ ! -s '$T/m1.err' ]"
check "  summary '1000 copied, 0 already in the directory, 0 failed'" \
  summary_is m1 "1000 copied, 0 already in the directory, 0 failed"
check "  one 'copied USER' line per local user" \
  sh -c "sed -n 's/^copied //p' '$T/m1.out' | sort | cmp -s - '$T/A.list'"
check "  1000 entries in the directory (slapcat), each with pamTotpEnrolment and pamTotpLedger" \
  eq "$(dir_count "$AF") $(complete_entries "$AF")" "1000 1000"
check "  the local records untouched (1000 files, same bytes)" \
  eq "$(local_users "$T/A" | wc -l) $(state_sum "$T/A")" "1000 $SUM_A"
check "  well under a minute for 1000 users ($MS_1000 ms)" [ "$MS_1000" -lt 60000 ]

# --- store = ldap: logins through the directory --------------------------------------
fleet_conf_set "$T/A.conf" store ldap
fleet_server "$T" C "$KEY_A" "deny = 5" || bail "server C: init with A's key failed"
fleet_service "$P" c "$T/C.conf"
same_status() {  # USER: status --json through A (now ldap) as before the move
  status_json "$T/A.conf" "$1" >"$T/$1.after.json" && cmp -s "$T/$1.before.json" "$T/$1.after.json" ||
    { diag "$1 before: $(jq -c . "$T/$1.before.json")" "$1 after:  $(jq -c . "$T/$1.after.json" 2>/dev/null)"; return 1; }
}
for u in $SPECIAL; do
  check "store = ldap: status --json of $u through the directory is what it was locally" same_status "$u"
done
shuf -n 20 "$T/A.users" >"$T/sample"
diag "sample: $(cut -d' ' -f1 "$T/sample" | tr '\n' ' ')"
ts=$((NOW0 + 120)); good=0; replay=0
while read -r u s; do
  accepted a "$u" $ts "$(code "$s" $ts)" && good=$((good + 1))
  refused c "$u" $((ts + 1)) "$(code "$s" $ts)" "replayed code" && replay=$((replay + 1))
done <"$T/sample"
check "20 random users: the right code accepted through the directory on A ($good/20)" [ $good = 20 ]
check "  the same code refused on C (replayed code) ($replay/20)" [ $replay = 20 ]
check "sys: the code used locally refused through the directory on A (replayed code)" \
  refused a sys $((NOW0 + 10)) "$X_SYS" "replayed code"
check "  and on C" refused c sys $((NOW0 + 11)) "$X_SYS" "replayed code"
check "  the next step's code accepted on C" accepted c sys $((NOW0 + 30)) "$(code "$S_SYS" $((NOW0 + 30)))"
check "daemon: the right code refused on A: still locked" refused a daemon $((NOW0 + 60)) "$(code "$(sec daemon)" $((NOW0 + 60)))" "locked"
check "  and on C" refused c daemon $((NOW0 + 61)) "$(code "$(sec daemon)" $((NOW0 + 60)))" "locked"
W=$(fleet_wrong "$(sec bin)" $((NOW0 + 60)))
check "bin: wrong code 3 (the first through the directory) refused, not locked" refused a bin $((NOW0 + 60)) "$W" "wrong code"
check "  (not locked yet)" sh -c "! grep -q 'now locked' '$T/out'"
login c bin $((NOW0 + 61)) "$W"
check "bin: wrong code 5 locks him: the 2 local failures counted toward deny = 5" \
  refused a bin $((NOW0 + 62)) "$W" "now locked"
check "games: the recovery code used locally refused through the directory" \
  refused a games $((NOW0 + 63)) "$RC0" "wrong"
check "man: still pending in the directory: refused (enrolment pending)" \
  refused a man $((NOW0 + 65)) "$(code "$(sec man)" $((NOW0 + 60)))" "enrolment pending"

# --- a second run: nothing to do, nothing written -------------------------------------------
U1=$(sed -n 1p "$T/sample" | cut -d' ' -f1)
L_U1=$(ledger_of "$U1")
dir_dump >"$T/dump.before2"
migrate m2 --to ldap --config "$T/A.conf"
check "second run (store = ldap now): exit 0 ($RC)" [ $RC = 0 ]
check "  summary '0 copied, 1000 already in the directory, 0 failed'" \
  summary_is m2 "0 copied, 1000 already in the directory, 0 failed"
check "  1000 'already in the directory: USER' lines" [ "$(lines_like m2 '^already in the directory: ')" = 1000 ]
dir_dump >"$T/dump.after2"
check "  the directory unchanged (values and entryCSN of all 1000 entries)" cmp -s "$T/dump.before2" "$T/dump.after2"
check "  $U1 (logged in through the directory) keeps its newer ledger" \
  cond '[ -n "$L_U1" ] && eq "$(ledger_of "$U1")" "$L_U1"' 
check "  sys: status still shows the login on C at $((NOW0 + 30)), not the local one" \
  eq "$(status_json "$T/A.conf" sys | jq -c '[.last_login.unix,.last_login.rhost]')" "[$((NOW0 + 30)),\"host-c\"]"

# --- a user re-enrolled in the directory: never overwritten --------------------------------
"$TOOL" --config "$T/A.conf" enroll --user lp --yes --json --force >"$T/lp.json" 2>"$T/err"
S_LP2=$(fleet_secret "$T/lp.json")
check "lp re-enrolled in the directory with the tool (--force)" sh -c "[ -n '$S_LP2' ] && [ '$S_LP2' != '$(sec lp)' ]"
E_LP=$(entry lp)
dir_dump >"$T/dump.before3"
migrate m3 --to ldap --config "$T/A.conf"
check "third run: exit 1 ($RC)" [ $RC = 1 ]
check "  'failed lp: the directory holds a different enrolment for lp: not overwritten ...'" \
  grep -q '^failed lp: .*different enrolment.*not overwritten' "$T/m3.out"
check "  one failed line only" [ "$(lines_like m3 '^failed ')" = 1 ]
check "  summary '0 copied, 999 already in the directory, 1 failed'" \
  summary_is m3 "0 copied, 999 already in the directory, 1 failed"
check "  stderr says a record was not migrated" grep -q 'not migrated' "$T/m3.err"
dir_dump >"$T/dump.after3"
check "  the directory unchanged (lp's entry too)" \
  cond 'cmp -s "$T/dump.before3" "$T/dump.after3" && [ -n "$E_LP" ] && eq "$(entry lp)" "$E_LP"'
check "  lp's new secret accepted through the directory" accepted a lp $((NOW0 + 150)) "$(code "$S_LP2" $((NOW0 + 150)))"
check "  lp's local (old) secret refused" refused c lp $((NOW0 + 180)) "$(code "$(sec lp)" $((NOW0 + 180)))" "wrong code"

# --- --json --------------------------------------------------------------------------------
migrate mj --to ldap --json --config "$T/A.conf"
check "--json: exit 1 ($RC), stdout one JSON object and nothing else" \
  cond '[ $RC = 1 ] && jq -e "type == \"object\"" "$T/mj.out" >/dev/null && [ $(jq -c . "$T/mj.out" | wc -l) = 1 ] &&
        ! grep -q "^already in the directory" "$T/mj.out"' 
check "  keys exactly copied, already, failed, removed_local" \
  eq "$(jq -c keys "$T/mj.out")" '["already","copied","failed","removed_local"]' 
check "  copied [], already 999 names (every local user but lp), removed_local []" \
  cond 'eq "$(jq -c "[.copied, (.already|length), (.already|index(\"lp\")), .removed_local]" "$T/mj.out")" "[[],999,null,[]]" &&
        grep -vx lp "$T/A.list" >"$T/A.nolp" && jq -r ".already[]" "$T/mj.out" | sort | cmp -s - "$T/A.nolp"' 
check "  failed: [{\"user\":\"lp\",\"error\":\"...different enrolment...\"}]" \
  cond 'jq -e "(.failed|length) == 1 and (.failed[0]|keys) == [\"error\",\"user\"] and .failed[0].user == \"lp\" and (.failed[0].error|test(\"different enrolment\"))" "$T/mj.out" >/dev/null' 

# --- --remove-local --------------------------------------------------------------------------
LP_SUM=$(sha256sum <"$T/A/state/lp")
migrate mr --to ldap --remove-local --config "$T/A.conf"
check "--remove-local: exit 1 ($RC) (lp still conflicts)" [ $RC = 1 ]
check "  summary '0 copied, 999 already in the directory, 1 failed, 999 local records removed'" \
  summary_is mr "0 copied, 999 already in the directory, 1 failed, 999 local records removed"
check "  999 'removed local record of USER' lines, none for lp" \
  cond 'eq "$(lines_like mr "^removed local record of ")" 999 && ! grep -q "^removed local record of lp\$" "$T/mr.out"' 
check "  only lp's record file is left in state_dir, unchanged (lock files may stay)" \
  cond 'eq "$(local_users "$T/A" | tr "\n" " ")" "lp " && eq "$(sha256sum <"$T/A/state/lp")" "$LP_SUM"' 
check "  the directory still holds 1000 complete entries" cond 'eq "$(complete_entries "$AF")" 1000' 
S2=$(sed -n 2p "$T/sample" | cut -d' ' -f2); U2=$(sed -n 2p "$T/sample" | cut -d' ' -f1)
check "  $U2 (local file gone) logs in through the directory" accepted a "$U2" $((NOW0 + 210)) "$(code "$S2" $((NOW0 + 210)))"
migrate mr2 --to ldap --remove-local --config "$T/A.conf"
check "  a re-run: exit 1 ($RC), '0 copied, 0 already in the directory, 1 failed, 0 local records removed'" \
  cond '[ $RC = 1 ] && summary_is mr2 "0 copied, 0 already in the directory, 1 failed, 0 local records removed"' 

# --- server B: its own key and users -----------------------------------------------------------
old_server "$T" B new "deny = 5" || bail "server B: totp-setup init failed"
fleet_service "$P" b "$T/B.conf"
secrets_for b 1 30 B >"$T/B.users"
echo "u0001 $(secret_of_name u0001 B)" >>"$T/B.users"   # the same name as on A, enrolled separately
# Two local users whose names differ only in letter case (the files store
# tells them apart, LDAP's uid matching does not).
echo "Bcase $(secret_of_name Bcase B)" >>"$T/B.users"
echo "bcase $(secret_of_name bcase B)" >>"$T/B.users"
make_records "$T/B" "$T/B.users" || bail "make_user_record (B) failed for $(wc -l <"$T/B.users.failed") users"
# A damaged record file and a temporary file (ignored: names starting with '.').
head -c 300 /dev/urandom >"$T/B/state/bcorrupt" && chmod 0600 "$T/B/state/bcorrupt"
head -c 300 /dev/urandom >"$T/B/state/.b0002.tmp" && chmod 0600 "$T/B/state/.b0002.tmp"
secB() { grep "^$1 " "$T/B.users" | cut -d' ' -f2; }
check "B: b0001 logs in locally (files store, B's key)" accepted b b0001 $((NOW0 + 240)) "$(code "$(secB b0001)" $((NOW0 + 240)))"
install -m0600 -o root -g root "$T/B/key" "$T/KB.old" || bail "copying K_B"
install -m0600 -o root -g root "$KEY_A" "$T/B/key" || bail "copying K_A into B"
fleet_conf_set "$T/B.conf" store ldap
E_U0001=$(entry u0001)
migrate mb1 --to ldap --config "$T/B.conf"
check "B with the fleet's key, without --from-key: exit 1 ($RC)" [ $RC = 1 ]
check "  all 34 record files failed: 33 naming the key ids (16 hex), bcorrupt as not a state file" \
  cond 'eq "$(lines_like mb1 "^failed ") $(grep "^failed " "$T/mb1.out" | grep -c "key id [0-9a-f]\{16\}.*key id [0-9a-f]\{16\}") $(grep -c "^failed bcorrupt: .*not a pam_totp state file" "$T/mb1.out")" "34 33 1"' 
diag "  e.g. $(grep -m1 '^failed ' "$T/mb1.out")"
check "  summary '0 copied, 0 already in the directory, 34 failed'; the temporary file not mentioned" \
  cond 'summary_is mb1 "0 copied, 0 already in the directory, 34 failed" && ! grep -q "b0002.tmp" "$T/mb1.out"' 
check "  nothing written: no b* entry, u0001's entry unchanged" \
  cond 'eq "$(dir_count "(uid=b0*)")" 0 && [ -n "$E_U0001" ] && eq "$(entry u0001)" "$E_U0001"' 
migrate mbx --to ldap --from-key "$T/no-such-key" --config "$T/B.conf"
check "--from-key naming a missing file: exit 1 ($RC), the path in the error" \
  sh -c "[ $RC = 1 ] && grep -q 'no-such-key' '$T/mbx.err' && [ $(dir_count '(uid=b0*)') = 0 ]"
install -m0644 "$T/KB.old" "$T/KB.644"
migrate mbm --to ldap --from-key "$T/KB.644" --config "$T/B.conf"
check "--from-key naming a key file of mode 0644: refused ($RC), the path and the mode in the error, nothing written" \
  cond '[ $RC != 0 ] && grep -q "KB.644.*mode 0644" "$T/mbm.err" && eq "$(dir_count "(uid=b0*)")" 0'
migrate mb2 --to ldap --from-key "$T/KB.old" --config "$T/B.conf"
check "--from-key K_B: exit 1 ($RC) (u0001, bcase and bcorrupt fail)" [ $RC = 1 ]
check "  summary '31 copied, 0 already in the directory, 3 failed'" \
  summary_is mb2 "31 copied, 0 already in the directory, 3 failed"
check "  'failed u0001: ... different enrolment ...' (A's u0001 is not overwritten by B's)" \
  grep -q '^failed u0001: .*different enrolment' "$T/mb2.out"
check "  Bcase copied, then 'failed bcase: ...' naming the letter-case clash" \
  cond 'grep -qx "copied Bcase" "$T/mb2.out" && grep -q "^failed bcase: .*letter case" "$T/mb2.out"'
check "  'failed bcorrupt: ...' and the temporary file not mentioned" \
  cond 'grep -q "^failed bcorrupt: " "$T/mb2.out" && ! grep -q "b0002.tmp" "$T/mb2.out"' 
check "  30 complete b* entries, u0001's entry unchanged" \
  cond 'eq "$(complete_entries "(uid=b0*)")" 30 && eq "$(entry u0001)" "$E_U0001"' 
tb=$((NOW0 + 270)); bgood=0
for u in b0002 b0015 b0030; do accepted a "$u" $tb "$(code "$(secB $u)" $tb)" && bgood=$((bgood + 1)); done
check "  B's users log in on A's config (sealed anew under K_A) ($bgood/3)" [ $bgood = 3 ]
check "  b0001's code used locally on B refused on A (replayed code)" \
  refused a b0001 $((NOW0 + 245)) "$(code "$(secB b0001)" $((NOW0 + 240)))" "replayed code"
check "  A's u0001 still logs in with A's secret" accepted a u0001 $tb "$(code "$(sec u0001)" $tb)"
check "  and B's u0001 secret is refused for u0001" \
  refused a u0001 $((tb + 30)) "$(code "$(secB u0001)" $((tb + 30)))" "wrong code"
migrate mb3 --to ldap --from-key "$T/KB.old" --config "$T/B.conf"
check "--from-key re-run: '0 copied, 31 already in the directory, 3 failed'" \
  summary_is mb3 "0 copied, 31 already in the directory, 3 failed"

# --- the directory down --------------------------------------------------------------------------
old_server "$T" E "$KEY_A" "deny = 5" || bail "server E: init failed"
secrets_for e 1 300 E >"$T/E.users"
make_records "$T/E" "$T/E.users" || bail "make_user_record (E) failed for $(wc -l <"$T/E.users.failed") users"
S_ERCV=$(secret_of_name ercv E)
"$MUR" enrol "$T/E" ercv "$S_ERCV" --recovery 2 >"$T/ercv.rc" || bail "make_user_record ercv --recovery"
EN=301
ldap_stop
migrate md1 --to ldap --config "$T/E.conf"
check "slapd stopped: migrate exits non-zero ($RC) in $MS ms (< 4000; ldap_timeout is 3 s)" \
  sh -c "[ $RC != 0 ] && [ $MS -lt 4000 ]"
check "  one error on stderr, saying the directory is unreachable" \
  cond 'eq "$(wc -l <"$T/md1.err")" 1 && grep -qi unreachable "$T/md1.err"' 
check "  at most one 'failed' line, no summary claiming users were processed" \
  sh -c "[ \"$(lines_like md1 '^failed ')\" -le 1 ] && [ \"$(lines_like md1 '^copied ')\" = 0 ]"
diag "  stdout: $(head -c 300 "$T/md1.out")" "  stderr: $(head -c 300 "$T/md1.err")"
migrate md1j --to ldap --json --config "$T/E.conf"
check "slapd stopped, --json: exit non-zero ($RC); stdout empty or one JSON object" \
  cond '[ $RC != 0 ] && { [ ! -s "$T/md1j.out" ] || jq -e "type == \"object\"" "$T/md1j.out" >/dev/null; }'
diag "  --json stdout: $(head -c 300 "$T/md1j.out")" "  --json stderr: $(head -c 300 "$T/md1j.err")"
ldap_restart || bail "slapd did not restart"

# In the middle of a run: the tool is stopped (SIGSTOP) once it has copied
# some users, slapd paused or killed, the tool let go.
# mid_run NAME: starts migrate for E in the background, stops it once the
# directory holds at least 20 more e* entries than before; BGPID.
mid_run() {
  _base=$(dir_count '(uid=e*)')
  "$TOOL" migrate --to ldap --config "$T/E.conf" >"$T/$1.out" 2>"$T/$1.err" &
  BGPID=$!
  _i=0
  while [ $_i -lt 2000 ]; do
    [ "$(dir_count '(uid=e*)')" -ge $((_base + 20)) ] && break
    kill -0 "$BGPID" 2>/dev/null || break
    _i=$((_i + 1))
  done
  kill -STOP "$BGPID" 2>/dev/null
  MID=$(dir_count '(uid=e*)')
}
finish_bg() {  # lets the tool go; RC, MS (from now until it ended)
  _t0=$(date +%s%N)
  kill -CONT "$BGPID"
  wait "$BGPID"; RC=$?
  MS=$(ms_since "$_t0")
  BGPID=""
  cp "$T/$1.out" "$T/out"; cp "$T/$1.err" "$T/err"
}
mid_run md2
if [ "$MID" -ge $EN ]; then
  kill -CONT "$BGPID"; wait "$BGPID"; BGPID=""
  not_ok "slapd paused mid-run: could not stop the tool in the middle (it had copied all $EN already)"
else
  ldap_pause
  finish_bg md2
  ldap_resume
  check "slapd paused after $MID of $EN: migrate exits non-zero ($RC) in $MS ms (< 8000: about 2 x ldap_timeout, not per user)" \
    sh -c "[ $RC != 0 ] && [ $MS -lt 8000 ]"
  check "  one error on stderr" cond 'eq "$(wc -l <"$T/md2.err")" 1' 
  check "  at most one 'failed' line" [ "$(lines_like md2 '^failed ')" -le 1 ]
  diag "  stderr: $(head -c 300 "$T/md2.err")"
fi
mid_run md3
if [ "$MID" -ge $EN ]; then
  kill -CONT "$BGPID"; wait "$BGPID"; BGPID=""
  not_ok "slapd killed mid-run: could not stop the tool in the middle"
else
  ldap_stop
  finish_bg md3
  check "slapd killed after $MID of $EN: migrate exits non-zero ($RC) in $MS ms (< 4000)" \
    sh -c "[ $RC != 0 ] && [ $MS -lt 4000 ]"
  check "  one error on stderr" cond 'eq "$(wc -l <"$T/md3.err")" 1' 
  diag "  stderr: $(head -c 300 "$T/md3.err")"
  ldap_restart || bail "slapd did not restart"
fi
HAVE=$(dir_count '(uid=e*)')
migrate md4 --to ldap --config "$T/E.conf"
check "after the restart a re-run completes: exit 0 ($RC), '$((EN - HAVE)) copied, $HAVE already in the directory, 0 failed'" \
  cond '[ $RC = 0 ] && summary_is md4 "$((EN - HAVE)) copied, $HAVE already in the directory, 0 failed"' 
check "  $EN complete e* entries" [ "$(complete_entries '(uid=e*)')" = $EN ]
te=$((NOW0 + 300)); egood=0
for u in e0001 e0150 e0300; do accepted a "$u" $te "$(code "$(grep "^$u " "$T/E.users" | cut -d' ' -f2)" $te)" && egood=$((egood + 1)); done
check "  e0001, e0150, e0300 log in through the directory ($egood/3)" [ $egood = 3 ]

# --- a recovery code used through the directory since the copy ---------------------------------
check "ercv: a recovery code accepted through the directory, told 1 left" \
  recovered a ercv $((NOW0 + 330)) "$(sed -n 1p "$T/ercv.rc")" 1
migrate me1 --to ldap --config "$T/E.conf"
check "a re-run after that: exit 0 ($RC), '0 copied, $EN already in the directory, 0 failed'" \
  cond '[ $RC = 0 ] && summary_is me1 "0 copied, $EN already in the directory, 0 failed"'
check "  ercv is 'already in the directory' (the same enrolment, one recovery code fewer), not a different enrolment" \
  grep -qx 'already in the directory: ercv' "$T/me1.out"
E_ERCV=$(entry ercv)
migrate me2 --to ldap --remove-local --config "$T/E.conf"
check "--remove-local on E: exit 0 ($RC), '0 copied, $EN already in the directory, 0 failed, $EN local records removed'" \
  cond '[ $RC = 0 ] && summary_is me2 "0 copied, $EN already in the directory, 0 failed, $EN local records removed"'
check "  E's state_dir holds no record file; ercv's entry untouched" \
  cond 'eq "$(local_users "$T/E" | wc -l)" 0 && [ -n "$E_ERCV" ] && eq "$(entry ercv)" "$E_ERCV"'
check "ercv's second recovery code accepted through the directory (0 left)" \
  recovered a ercv $((NOW0 + 331)) "$(sed -n 2p "$T/ercv.rc")" 0

# --- who may run it, and how ------------------------------------------------------------------------
dir_dump >"$T/dump.before-usage"
: >"$T/out"
setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" --clear-groups "$TOOL" migrate --to ldap >"$T/out" 2>"$T/err"; RC=$?
check "non-root (nobody): migrate --to ldap refused, exit 3 ($RC)" [ $RC = 3 ]
diag "  stderr: $(head -c 200 "$T/err")"
usage() {  # ARGS...: exit 2 and a message on stderr
  "$TOOL" "$@" >"$T/out" 2>"$T/err"; _r=$?
  [ $_r = 2 ] && [ -s "$T/err" ] || { diag "exit $_r"; return 1; }
}
check "migrate without --to: usage error (exit 2)" usage migrate --config "$T/A.conf"
check "migrate --to files: usage error (exit 2)" usage migrate --to files --config "$T/A.conf"
check "migrate --to (no value): usage error (exit 2)" usage migrate --config "$T/A.conf" --to
check "migrate --to ldap --from-key relative/path: usage error (exit 2)" usage migrate --to ldap --from-key KB.old --config "$T/B.conf"
check "status --remove-local: usage error (exit 2)" usage status --user daemon --remove-local --config "$T/A.conf"
check "status --from-key: usage error (exit 2)" usage status --user daemon --from-key "$T/KB.old" --config "$T/A.conf"
dir_dump >"$T/dump.after-usage"
check "the usage errors and the refused non-root run wrote nothing" cmp -s "$T/dump.before-usage" "$T/dump.after-usage"

diag "migrate of 1000 users: $MS_1000 ms; suite ran in $(( $(date +%s) - T_START )) s"
echo "1..$n"
