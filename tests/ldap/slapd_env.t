#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: the test directory itself (tests/ldap/slapd_lib.sh) and the files
# pam_totp ships for it (ldap/): before a fleet-store suite blames
# pam_totp, this one shows that the private slapd, the shipped schema and
# the example ACL behave as shared/LDAP.md says: the records' attributes are
# single-valued octet strings, a CAS modify works and a stale one fails with
# 16 changing nothing, only the service account and root see the records,
# StartTLS needs the right CA, the stalling server stalls, and the fault
# helpers (pause, restart, stop) do what they claim. The cn=config forms
# (pam_totp.ldif, pam_totp-acl.ldif) are applied to a second, cn=config
# slapd, the way an administrator on Debian would.
#
# Needs root (SASL EXTERNAL as root is one of the two identities the ACL
# lets in) and slapd, ldap-utils, openssl, python3; skips otherwise.
# Env: SRC_DIR (source tree), PREFIX (installed build: its share/pam_totp/ldap
# files are the ones tested when present).
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH=$PATH:/usr/sbin:/sbin

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: one test point from a command's status.
check() { _d=$1; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; fi; }
ms() { echo $(($(date +%s%N) / 1000000)); }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (SASL EXTERNAL as root over ldapi)"; exit 0; }
for t in slapd slapadd ldapsearch ldapmodify ldapadd openssl python3 setpriv timeout; do
  command -v "$t" >/dev/null 2>&1 ||
    { echo "1..0 # SKIP $t not found (scripts/install-deps.sh installs it)"; exit 0; }
done

. "$SRC_DIR/tests/ldap/slapd_lib.sh"
tmp=$(mktemp -d) || exit 1
stall_pid=""
cfg_pid=""
cleanup() {
  ldap_stop
  for p in $stall_pid $cfg_pid; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

t0=$(ms)
ldap_start "$tmp/env" || { echo "Bail out! ldap_start failed"; exit 1; }
ok "ldap_start: slapd up in $(($(ms) - t0)) ms (pid $LDAP_PID, port $LDAP_PORT, files from $(ldap_files_dir))"
check "the shipped ACL is in slapd.conf with this directory's DNs, no placeholder left" \
  sh -c "grep -q 'by dn.exact=\"$LDAP_BIND_DN\" write' '$LDAP_WORKDIR/slapd.conf' &&
         ! grep -q 'dc=example,dc=com' '$LDAP_WORKDIR/slapd.conf'"

# --- schema ------------------------------------------------------------
# Values with NUL and 0xff bytes: opaque octet strings, like the sealed
# records, always shown base64 (attr:: ...) by the ldap tools.
# b64 PRINTF-FORMAT: the bytes the format (octal escapes) makes, in base64.
# shellcheck disable=SC2059
b64() { printf "$1" | base64 -w0; }
ENR=$(b64 'PTOT\000\001\000\000keyid-01\377\000sealed-enrolment\000')
L1=$(b64 'ledger\000one\377')
L2=$(b64 'ledger\000two\377')
L3=$(b64 'ledger\000three\377')
REC="uid=alice,$LDAP_BASE"
# value ATTR: the record's ATTR (base64) as the service account sees it.
value() {
  ldap_as_service ldapsearch -LLL -o ldif-wrap=no -b "$REC" -s base "$1" 2>/dev/null |
    sed -n "s/^$1:: //p"
}
# modify_rc LDIF-BODY: ldapmodify as the service account; prints the result code.
modify_rc() {
  printf 'dn: %s\nchangetype: modify\n%s\n' "$REC" "$1" |
    ldap_as_service ldapmodify >/dev/null 2>&1
  echo $?
}

check "the schema is loaded: both attributes single-valued octet strings" \
  sh -c "ldapsearch -Q -Y EXTERNAL -H '$LDAP_LDAPI_URI' -LLL -o ldif-wrap=no -b cn=subschema -s base attributeTypes |
         grep -E \"NAME '(pamTotpEnrolment|pamTotpLedger)'.*octetStringMatch.*121\\.1\\.40 SINGLE-VALUE\" | wc -l | grep -qx 2"
printf 'dn: %s\nobjectClass: pamTotpRecord\nuid: alice\npamTotpEnrolment:: %s\npamTotpLedger:: %s\n' \
  "$REC" "$ENR" "$L1" | ldap_as_service ldapadd >/dev/null 2>"$tmp/err"
rc=$?
check "the service account adds a pamTotpRecord over StartTLS (rc $rc)" test "$rc" = 0
check "  and reads both binary values back unchanged" \
  test "$(value pamTotpEnrolment)" = "$ENR" -a "$(value pamTotpLedger)" = "$L1"

# --- compare-and-swap and SINGLE-VALUE ----------------------------------
rc=$(modify_rc "delete: pamTotpLedger
pamTotpLedger:: $L1
-
add: pamTotpLedger
pamTotpLedger:: $L2
-")
check "CAS with the current value: rc 0 (got $rc), new value stored" test "$rc" = 0 -a "$(value pamTotpLedger)" = "$L2"
rc=$(modify_rc "delete: pamTotpLedger
pamTotpLedger:: $L1
-
add: pamTotpLedger
pamTotpLedger:: $L3
-")
check "CAS with a stale value: rc 16 (got $rc), value unchanged" test "$rc" = 16 -a "$(value pamTotpLedger)" = "$L2"
rc=$(modify_rc "add: pamTotpLedger
pamTotpLedger:: $L3
-")
check "a second value (plain add) is refused by SINGLE-VALUE: rc 19 (got $rc), value unchanged" \
  test "$rc" = 19 -a "$(value pamTotpLedger)" = "$L2"

# --- who may see the records --------------------------------------------
check "root over ldapi (SASL EXTERNAL) reads the record" \
  sh -c "ldapsearch -Q -Y EXTERNAL -H '$LDAP_LDAPI_URI' -LLL -o ldif-wrap=no -b '$REC' -s base |
         grep -qx 'pamTotpLedger:: $L2'"
# sees_nothing RC OUT: refused as noSuchObject (32), or answered with no
# entry; never an entry, never a record attribute.
sees_nothing() {
  { [ "$1" = 32 ] || [ "$1" = 0 ]; } && ! grep -qiE '^dn:|pamTotp|^uid:' "$2"
}
anon() { LDAPTLS_CACERT=$LDAP_CA ldapsearch -x -ZZ -H "$LDAP_URI" -LLL "$@"; }
mallory() { LDAPTLS_CACERT=$LDAP_CA ldapsearch -x -ZZ -H "$LDAP_URI" -D "$LDAP_USER_DN" -w "$LDAP_USER_PASS" -LLL "$@"; }
for who in anon mallory; do
  $who -b "$LDAP_BASE" >"$tmp/out" 2>&1; rc=$?
  check "$who: search of the records subtree: nothing (rc $rc)" sees_nothing "$rc" "$tmp/out"
  $who -b "$REC" -s base pamTotpLedger >"$tmp/out" 2>&1; rc=$?
  check "$who: read of the record itself: nothing (rc $rc)" sees_nothing "$rc" "$tmp/out"
  $who -b "$LDAP_SUFFIX" "(|(objectClass=pamTotpRecord)(uid=alice)(pamTotpLedger=*))" >"$tmp/out" 2>&1; rc=$?
  check "$who: search of the whole directory for records: nothing (rc $rc)" sees_nothing "$rc" "$tmp/out"
done
check "  (mallory's bind itself works: she sees her own entry)" \
  sh -c "LDAPTLS_CACERT='$LDAP_CA' ldapsearch -x -ZZ -H '$LDAP_URI' -D '$LDAP_USER_DN' -w '$LDAP_USER_PASS' -LLL -b '$LDAP_USER_DN' -s base dn | grep -q mallory"
printf 'dn: %s\nchangetype: modify\nreplace: pamTotpLedger\npamTotpLedger:: %s\n' "$REC" "$L3" |
  LDAPTLS_CACERT=$LDAP_CA ldapmodify -x -ZZ -H "$LDAP_URI" -D "$LDAP_USER_DN" -w "$LDAP_USER_PASS" >/dev/null 2>&1
rc=$?
check "mallory cannot rewrite a ledger (rc $rc), value unchanged" test "$rc" != 0 -a "$(value pamTotpLedger)" = "$L2"
printf 'dn: uid=eve,%s\nobjectClass: pamTotpRecord\nuid: eve\n' "$LDAP_BASE" |
  LDAPTLS_CACERT=$LDAP_CA ldapadd -x -ZZ -H "$LDAP_URI" -D "$LDAP_USER_DN" -w "$LDAP_USER_PASS" >/dev/null 2>&1
rc=$?
check "mallory cannot add a record (rc $rc)" test "$rc" != 0
printf 'dn: uid=bob,%s\nobjectClass: pamTotpRecord\nuid: bob\n' "$LDAP_BASE" | ldap_as_service ldapadd >/dev/null 2>&1 &&
  ldap_as_service ldapdelete "uid=bob,$LDAP_BASE" >/dev/null 2>&1
check "the service account adds and deletes a record" test $? = 0

# --- transport -----------------------------------------------------------
ldapsearch -x -H "$LDAP_URI" -D "$LDAP_BIND_DN" -y "$LDAP_PASS_FILE" -b "$LDAP_BASE" >/dev/null 2>&1; rc=$?
check "a password bind without StartTLS is refused (security simple_bind=64): rc 13 (got $rc)" test "$rc" = 13
LDAPTLS_CACERT=$LDAP_WRONG_CA ldapsearch -x -ZZ -H "$LDAP_URI" -D "$LDAP_BIND_DN" -y "$LDAP_PASS_FILE" \
  -b "$LDAP_BASE" >"$tmp/out" 2>&1; rc=$?
check "StartTLS with the wrong CA fails (rc $rc)" sh -c "[ $rc != 0 ] && ! grep -q '^dn:' '$tmp/out'"

setpriv --pdeathsig TERM -- python3 "$SRC_DIR/tests/ldap/stall_starttls.py" 0 >"$tmp/stall.port" 2>/dev/null &
stall_pid=$!
i=0; while [ ! -s "$tmp/stall.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sport=$(head -1 "$tmp/stall.port")
t0=$(ms)
LDAPTLS_CACERT=$LDAP_CA timeout 3 ldapsearch -x -ZZ -H "ldap://127.0.0.1:$sport" -b "$LDAP_BASE" >/dev/null 2>&1; rc=$?
t=$(($(ms) - t0))
check "stall_starttls.py (port $sport): a StartTLS client hangs until timeout 3 kills it (rc $rc after $t ms)" \
  test "$rc" = 124 -a "$t" -ge 2900
kill -TERM "$stall_pid"; wait "$stall_pid" 2>/dev/null; stall_pid=""

# --- fault helpers -------------------------------------------------------
ldap_pause
timeout 2 ldapsearch -Q -Y EXTERNAL -H "$LDAP_LDAPI_URI" -b "$LDAP_SUFFIX" -s base dn >/dev/null 2>&1; rc=$?
check "ldap_pause: a search hangs (rc $rc: timeout 2 fired)" test "$rc" = 124
ldap_resume
# answers: slapd answers root over ldapi (the check's own output stays visible).
answers() { ldap_as_root ldapsearch -b "$LDAP_SUFFIX" -s base dn >/dev/null 2>&1; }
# no_slapd_in DIR: no slapd process runs with a command line naming DIR
# (pgrep -f would find this test's own sh -c).
no_slapd_in() {
  for p in $(pgrep -x slapd); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$1" && return 1
  done
  return 0
}
check "ldap_resume: searches answer again" answers
old_pid=$LDAP_PID old_port=$LDAP_PORT
t0=$(ms)
ldap_restart; rc=$?
check "ldap_restart: back in $(($(ms) - t0)) ms, new pid $LDAP_PID, same port" \
  test "$rc" = 0 -a "$LDAP_PID" != "$old_pid" -a "$LDAP_PORT" = "$old_port"
check "  the old slapd is gone and the record survived" \
  sh -c "[ ! -e /proc/$old_pid ] && [ \"\$1\" = '$L2' ]" - "$(value pamTotpLedger)"
old_pid=$LDAP_PID
ldap_pause
t0=$(ms)
ldap_stop
t=$(($(ms) - t0))
check "ldap_stop of a paused slapd: gone in $t ms, no slapd of this run left" \
  test ! -e "/proc/$old_pid" -a "$(no_slapd_in "$tmp" && echo none)" = none

# A WORKDIR too long for a socket address: the socket goes to /tmp, and
# ldap_stop removes it.
long=$tmp/$(printf '%0100d' 0)
ldap_start "$long" >/dev/null 2>&1; rc=$?
sock_dir=${LDAP_SOCK%/*}
case $sock_dir in /tmp/ldapi.*) in_tmp=1 ;; *) in_tmp=0 ;; esac
check "ldap_start with a ${#long}-byte WORKDIR: socket in $sock_dir, slapd answers" \
  test "$rc" = 0 -a "$in_tmp" = 1 -a "$(answers && echo yes)" = yes
ldap_stop
check "  ldap_stop removed $sock_dir" test ! -e "$sock_dir"

# --- the cn=config forms --------------------------------------------------
# A Debian-like cn=config slapd (root manages cn=config over ldapi; the
# database has Debian's default ACL) gets the shipped pam_totp.ldif and
# pam_totp-acl.ldif as an administrator would apply them. Its suffix is the
# placeholders' own, dc=example,dc=com, so the ACL applies unedited.
files=$(ldap_files_dir)
cfg=$tmp/cfg
mkdir -p "$cfg/slapd.d" "$cfg/db"
csock=$(mktemp -u /tmp/ldapi-cfg.XXXXXX)   # short: $tmp may be long
curi="ldapi://$(printf '%s' "$csock" | sed 's|/|%2F|g')"
cat >"$cfg/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $cfg/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=example,dc=com
olcDbDirectory: $cfg/db
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
EOF
slapadd -q -n0 -F "$cfg/slapd.d" -l "$cfg/config.ldif" >"$cfg/slapadd.log" 2>&1 || cat "$cfg/slapadd.log" >&2
setpriv --pdeathsig TERM -- slapd -d 0 -F "$cfg/slapd.d" -h "$curi" </dev/null >"$cfg/slapd.log" 2>&1 &
cfg_pid=$!
i=0; until ldapsearch -Q -Y EXTERNAL -H "$curi" -b cn=config -s base dn >/dev/null 2>&1 || [ $i -ge 100 ]; do
  sleep 0.05; i=$((i + 1)); done
ldapadd -Q -Y EXTERNAL -H "$curi" -f "$files/pam_totp.ldif" >"$tmp/out" 2>&1; rc=$?
check "cn=config: ldapadd of pam_totp.ldif into a running slapd (rc $rc)" test "$rc" = 0
check "  the attributes and the class are known" \
  sh -c "ldapsearch -Q -Y EXTERNAL -H '$curi' -LLL -o ldif-wrap=no -b cn=subschema -s base attributeTypes objectClasses |
         grep -cE \"NAME '(pamTotpEnrolment|pamTotpLedger|pamTotpRecord)'\" | grep -qx 3"
ldapmodify -Q -Y EXTERNAL -H "$curi" -f "$files/pam_totp-acl.ldif" >"$tmp/out" 2>&1; rc=$?
check "cn=config: ldapmodify with pam_totp-acl.ldif (rc $rc)" test "$rc" = 0
ldapsearch -Q -Y EXTERNAL -H "$curi" -LLL -o ldif-wrap=no -b 'olcDatabase={1}mdb,cn=config' -s base olcAccess \
  >"$tmp/acl" 2>&1
check "  the three pam_totp rules come first, the existing rules follow unchanged" \
  sh -c "grep -q '^olcAccess: {0}to \\* by dn.regex=\"^gidNumber=\\[0-9\\]+\\[+\\]uidNumber=0,' '$tmp/acl' &&
         grep -q '^olcAccess: {1}to attrs=pamTotpEnrolment,pamTotpLedger' '$tmp/acl' &&
         grep -q '^olcAccess: {2}to dn.subtree=\"ou=totp,dc=example,dc=com\"' '$tmp/acl' &&
         grep -q '^olcAccess: {3}to attrs=userPassword by self write' '$tmp/acl' &&
         grep -q '^olcAccess: {4}to \\* by \\* read' '$tmp/acl'"
ldapmodify -Q -Y EXTERNAL -H "$curi" -f "$files/pam_totp-acl.ldif" >"$tmp/out" 2>&1; rc=$?
ldapsearch -Q -Y EXTERNAL -H "$curi" -LLL -o ldif-wrap=no -b 'olcDatabase={1}mdb,cn=config' -s base olcAccess \
  >"$tmp/acl2" 2>&1
check "  applied again: refused with 20 (got $rc), the ACL unchanged" \
  sh -c "[ $rc = 20 ] && cmp -s '$tmp/acl' '$tmp/acl2'"
kill -TERM "$cfg_pid"; wait "$cfg_pid" 2>/dev/null; cfg_pid=""
rm -f "$csock"

echo "1..$n"
