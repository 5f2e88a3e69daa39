#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 13, finding 2: a name the name service resolves to an enrolled
# account is always asked for that account's code, also under nullok, in
# whatever form it is typed. The attack as the reviewer mounted it: a name
# service that (like sssd or winbind) resolves alice@corp and CORP\alice to
# alice; typing such a form at a nullok login skipped the code.
#
# The name service is tests/pam/nss_totpalias.cc (libnss_totpalias.so.2,
# found through LD_LIBRARY_PATH). The test re-runs itself in a private mount
# namespace (unshare -m) and bind-mounts there over /etc/nsswitch.conf
# ("passwd: files totpalias"); the test's accounts are in a file of its own
# that only the test name service reads, so the machine's own files and
# users are never touched.
. "$top_srcdir/tests/pam/lib.sh"
NSS_LIB=$top_builddir/tests/pam/.libs/libnss_totpalias.so

if [ -z "${NAME_ALIAS_IN_NAMESPACE:-}" ]; then
  needs_root
  needs_tools unshare mount getent oathtool
  [ -e "$NSS_LIB" ] || { echo "Bail out! $NSS_LIB not built"; exit 1; }
  unshare -m --propagation private true 2>/dev/null ||
    { echo "1..0 # SKIP cannot make a private mount namespace (unshare -m)"; exit 0; }
  NAME_ALIAS_IN_NAMESPACE=1 exec unshare -m --propagation private sh "$0"
  echo "Bail out! unshare failed"; exit 1
fi

# From here on: root, in a private mount namespace.
setup
[ -e "$CHECK_MODULE" ] || { echo "Bail out! $CHECK_MODULE not built"; exit 1; }
for u in aliasann aliasbob aliaslong; do
  if grep -q "^$u:" /etc/passwd; then echo "Bail out! account $u exists on this machine"; exit 1; fi
done

# The test's accounts, known only to the test name service (which reads
# $TOTPALIAS_PASSWD): aliasann is enrolled, aliasbob is not.
# /etc/nsswitch.conf is a bind mount of a file in $T; writing that file in
# place changes what glibc reads. (/etc/passwd is not bind-mounted: a
# useradd elsewhere renames over it, which detaches such a mount.)
TOTPALIAS_PASSWD=$T/passwd
export TOTPALIAS_PASSWD
cat >"$T/passwd" <<'EOF'
aliasann:x:64101:64101:name_alias.sh (enrolled):/nonexistent:/usr/sbin/nologin
aliasbob:x:64102:64102:name_alias.sh (not enrolled):/nonexistent:/usr/sbin/nologin
EOF
nss_files_only() { printf 'passwd: files\ngroup: files\nshadow: files\n' >"$T/nsswitch.conf"; }
nss_with_aliases() { printf 'passwd: files totpalias\ngroup: files\nshadow: files\n' >"$T/nsswitch.conf"; }
nss_with_aliases
mkdir "$T/nss"
cp "$NSS_LIB" "$T/nss/libnss_totpalias.so.2"
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf || { echo "Bail out! cannot bind-mount /etc/nsswitch.conf"; exit 1; }
# A running nscd would answer from the machine's own name service.
for d in /run/nscd /var/run/nscd; do
  [ -d "$d" ] && mount -t tmpfs -o size=64k,mode=755 none "$d"
done
LD_LIBRARY_PATH=$T/nss${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

# getent NAME: the passwd entry's name field (empty when unknown).
entry_name() { getent passwd "$1" 2>/dev/null | cut -d: -f1; }
check "fixture: the name service maps aliasann@corp to aliasann" test "$(entry_name aliasann@corp)" = aliasann
check "fixture: and CORP\\\\aliasann to aliasann" test "$(entry_name 'CORP\aliasann')" = aliasann
check "fixture: and AliasAnn@Corp to aliasann" test "$(entry_name AliasAnn@Corp)" = aliasann
check "fixture: ghost@corp is unknown" test -z "$(entry_name ghost@corp)"
# The parent (make's shell) still sees the machine's own files.
if [ -r "/proc/$PPID/root/etc/passwd" ]; then
  check "fixture: outside the namespace /etc/passwd is untouched" sh -c "! grep -q '^aliasann:' /proc/$PPID/root/etc/passwd"
  check "fixture: outside the namespace /etc/nsswitch.conf is untouched" sh -c "! grep -q totpalias /proc/$PPID/root/etc/nsswitch.conf"
else
  skip "cannot see the parent's /etc to show it untouched"
fi

# The shipped pam-auth-update profile: pam_totp nullok after the password
# module (here a stand-in that has already said yes).
service profile "auth required $CHECK_MODULE reached" "auth required $MODULE config=$CONF nullok"
# The same, but pam_totp's own result is visible: PAM_IGNORE goes on to the
# marker module, success ends the stack, anything else refuses.
service exact "auth [success=done ignore=ignore default=die] $MODULE config=$CONF nullok" \
  "auth required $CHECK_MODULE reached"
ignored() { result_is PAM_SUCCESS && out_has "INFO: check_authtok: reached"; }
asked() { out_has "PROMPT_ECHO_OFF: Verification code: "; }
not_asked() { ! prompted; }
fails() { ledger aliasann fail_count; }
# wrong_code TIME: a code that is not aliasann's at TIME nor a step either side.
wrong_code() {
  wc_t=$1
  while :; do
    wc=$(code "$wc_t" 6 30 sha1 "$SECRET2")
    [ "$wc" != "$(code $(($1 - 30)))" ] && [ "$wc" != "$(code "$1")" ] && [ "$wc" != "$(code $(($1 + 30)))" ] && break
    wc_t=$((wc_t + 30))
  done
  echo "$wc"
}
# shown FORM: FORM for a TAP description (lib.sh's echo would read a
# backslash as an escape).
shown() { printf '%s' "$1" | sed 's/\\/\\\\/g'; }

enrol aliasann >/dev/null

# The attack: at the profile's stack, the alias with no answer at all.
t=$T0
login --service profile 'aliasann@corp' $t
check "attack: aliasann@corp at a nullok login is asked for the code" asked
check "attack: aliasann@corp without a code does not get in" sh -c "! grep -q '^RESULT: PAM_SUCCESS' '$T/out'"
check "attack: not taken for a name that cannot be enrolled" sh -c "! grep '^SYSLOG' '$T/out' | grep -q 'cannot be enrolled'"
login --service profile 'CORP\aliasann' $t
check "attack: CORP\\\\aliasann at a nullok login is asked for the code" asked
check "attack: CORP\\\\aliasann without a code does not get in" sh -c "! grep -q '^RESULT: PAM_SUCCESS' '$T/out'"

# Every form of the enrolled name: asked, a wrong code refused and counted
# on aliasann's record, the right code accepted, its replay refused.
i=0
for form in 'aliasann@corp' 'CORP\aliasann' 'aliasann' 'AliasAnn@CORP' 'corp\ALIASANN' 'AliasAnn'; do
  d=$(shown "$form")
  i=$((i + 1))
  t=$((T0 + 90 * i))
  before=$(fails)
  login --service exact "$form" $t --answer "$(wrong_code $t)"
  check "$d: asked for the code" asked
  check "$d: a wrong code is refused" result_is PAM_AUTH_ERR
  check "$d: the failure is counted on aliasann's record" test "$(fails)" = $((before + 1))
  check "$d: logged as aliasann's wrong code" \
    sh -c "grep '^SYSLOG' '$T/out' | grep 'wrong code' | grep -q 'user=aliasann[ )]'"
  login --service exact "$form" $((t + 1)) --answer "$(code $t)"
  check "$d: the right code is accepted" sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && ! grep -q 'check_authtok: reached' '$T/out'"
  check "$d: (after being asked)" asked
  check "$d: accepted as aliasann" sh -c "grep '^SYSLOG' '$T/out' | grep 'accepted totp' | grep -q 'user=aliasann[ )]'"
  check "$d: the success cleared aliasann's failures" test "$(fails)" = 0
  login --service exact "$form" $((t + 2)) --answer "$(code $t)"
  check "$d: the same code again is refused (replay)" result_is PAM_AUTH_ERR
  check "$d: (asked, not ignored)" asked
done
check "the only record is aliasann's (none under a typed form)" test "$(ls "$T/state")" = aliasann

# Names that resolve to an account without enrolment, or to nothing: nullok
# lets them through without a code.
t=$((T0 + 3600))
before=$(fails)
for form in 'aliasbob@corp' 'CORP\aliasbob' 'aliasbob'; do
  d=$(shown "$form")
  login --service exact "$form" $t --answer 123456
  check "$d (not enrolled): PAM_IGNORE under nullok" ignored
  check "$d (not enrolled): not asked" not_asked
  check "$d (not enrolled): logged as not enrolled" syslog_has "not enrolled (nullok)"
done
for form in 'ghost@corp' 'CORP\ghost' 'ghost' 'aliasann@elsewhere' 'ELSEWHERE\aliasann'; do
  d=$(shown "$form")
  login --service exact "$form" $t --answer 123456
  check "$d (unknown to the system): PAM_IGNORE under nullok" ignored
  check "$d (unknown to the system): not asked" not_asked
done
check "none of that touched aliasann's record" test "$(fails)" = "$before"

# A name service that fails for the name: refused, never skipped.
before=$(fails)
for form in 'aliasann@down' 'DOWN\aliasann'; do
  d=$(shown "$form")
  login --service exact "$form" $t --answer "$(code $t)"
  check "$d (name service fails): refused, not PAM_IGNORE" \
    sh -c "grep -q '^RESULT: PAM_' '$T/out' && ! grep -q '^RESULT: PAM_SUCCESS' '$T/out' && ! grep -q 'check_authtok: reached' '$T/out'"
done
check "a name-service failure is not counted as a wrong code" test "$(fails)" = "$before"

# A long passwd entry: the name service needs a bigger buffer than the
# first one it is given (ERANGE), for the alias as for everything else.
long_gecos=$(printf '%04000d' 0 | tr 0 g)
printf 'aliaslong:x:64103:64103:%s:/nonexistent:/usr/sbin/nologin\n' "$long_gecos" >>"$T/passwd"
check "fixture: aliaslong@corp resolves to the long entry" test "$(entry_name aliaslong@corp)" = aliaslong
enrol aliaslong >/dev/null
t=$((T0 + 7200))
login --service exact 'aliaslong@corp' $t
check "aliaslong@corp (long entry): asked for the code" asked
login --service exact 'aliaslong@corp' $t --answer "$(code $t)"
check "aliaslong@corp (long entry): the right code is accepted" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && ! grep -q 'check_authtok: reached' '$T/out'"
login --service exact 'aliasann@corp' $t
check "aliasann@corp behind a long entry: still asked" asked

# Without the alias service, the typed forms are names nobody knows.
nss_files_only
check "fixture: without totpalias, aliasann@corp is unknown" test -z "$(entry_name aliasann@corp)"
t=$((T0 + 10800))
for form in 'aliasann@corp' 'CORP\aliasann' 'AliasAnn'; do
  d=$(shown "$form")
  login --service exact "$form" $t --answer "$(code $t)"
  check "$d without the alias service: an unknown name, PAM_IGNORE" ignored
  check "$d without the alias service: not asked" not_asked
done
login --service exact aliasann $t --answer "$(code $t)"
check "aliasann without the alias service: asked and accepted" sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_' '$T/out'"
finish
