#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Who is not asked for a code, with the modules people already use, and a
# security key beside us: the stacks of the README sections "Exemptions
# (groups, networks, service accounts)" and "Security keys (pam_u2f) beside
# pam_totp", driven through libpam (pam_driver, pam_start_confdir) with the
# module under test. pam_totp has no exemption logic of its own.
#   a) a group: [success=1 default=ignore] pam_succeed_if.so user ingroup totp-exempt
#   b) networks: [success=1 default=ignore] pam_access.so accessfile=... (PAM_RHOST)
#   c) a service account: pam_succeed_if.so user = backup-robot
#   d) sufficient pam_u2f.so cue nouserok, a user without a key: falls
#      through to the code
# The stacks are the files in tests/pam/exemptions/, which the README quotes
# verbatim (checked at the end, as tests/e2e/guide.t does for the deploy
# guide); the suite puts in the module under test and its own files, and
# for "@include common-auth" a password module (tests/pam/pam_check_authtok,
# password s3cret, requisite as common-auth's pam_deny line makes it).
# Exempt means no prompt at all (the driver prints every prompt). Needs
# root: it adds the group totp-exempt and the users tx-member, tx-other and
# backup-robot (comment "pam_totp exemptions.t"), and removes them at the
# end. Run by scripts/test-all.sh once, on the normal build.
started=$(date +%s)
top_srcdir=${top_srcdir:-${SRC_DIR:-}}
top_builddir=${top_builddir:-${BUILD_DIR:-}}
[ -n "$top_srcdir" ] && [ -n "$top_builddir" ] || { echo "Bail out! set SRC_DIR and BUILD_DIR"; exit 1; }
export top_srcdir top_builddir
. "$top_srcdir/tests/pam/lib.sh"
needs_root
needs_tools oathtool useradd userdel groupadd groupdel getent
if [ ! -x "$DRIVER" ] || [ ! -x "$MKREC" ] || [ ! -e "$CHECK_MODULE" ]; then
  make -C "$top_builddir" tests/pam/pam_driver tests/pam/make_user_record tests/pam/pam_check_authtok.la \
    >/dev/null 2>&1 || { echo "Bail out! cannot build the pam test programs in $top_builddir"; exit 1; }
fi
SECDIR=$(dirname "$(find /lib /usr/lib -name pam_succeed_if.so -path '*/security/*' 2>/dev/null | head -1)")
for m in pam_succeed_if.so pam_access.so pam_permit.so; do
  [ -e "$SECDIR/$m" ] || { echo "1..0 # SKIP $m not found (libpam-modules)"; exit 0; }
done

GROUP=totp-exempt
MEMBER=tx-member
OTHER=tx-other
ROBOT=backup-robot
MARK="pam_totp exemptions.t"

# Accounts of ours only: one left by an interrupted run (our comment) is
# removed; anything else of that name belongs to the machine: skip.
ours() { [ "$(getent passwd "$1" | cut -d: -f5)" = "$MARK" ]; }
for u in $MEMBER $OTHER $ROBOT; do
  if getent passwd "$u" >/dev/null; then
    ours "$u" || { echo "1..0 # SKIP user $u exists on this machine and is not the suite's"; exit 0; }
    userdel "$u" >/dev/null 2>&1
  fi
done
if getent group $GROUP >/dev/null; then
  members=$(getent group $GROUP | cut -d: -f4)
  [ -z "$members" ] || [ "$members" = $MEMBER ] ||
    { echo "1..0 # SKIP group $GROUP exists on this machine and is not the suite's"; exit 0; }
  groupdel $GROUP >/dev/null 2>&1
fi

# useradd and friends take /etc/passwd's lock: retry while another suite
# holds it.
retry() { r_i=0; until "$@" >/dev/null 2>&1; do r_i=$((r_i + 1)); [ $r_i -ge 20 ] && return 1; sleep 0.2; done; }
cleanup_accounts() {
  for u in $MEMBER $OTHER $ROBOT; do ours "$u" && retry userdel "$u"; done
  getent group $GROUP >/dev/null && retry groupdel $GROUP
  return 0
}
setup
trap 'cleanup_accounts; rm -rf "$T"' EXIT
retry groupadd $GROUP || { echo "Bail out! groupadd $GROUP failed"; exit 1; }
for u in $MEMBER $OTHER $ROBOT; do
  groups=""
  [ $u = $MEMBER ] && groups="-G $GROUP"
  # shellcheck disable=SC2086
  retry useradd -M -s /usr/sbin/nologin -c "$MARK" $groups "$u" || { echo "Bail out! useradd $u failed"; exit 1; }
done
for u in $MEMBER $OTHER $ROBOT; do enrol "$u" >/dev/null; done

TOTP="$MODULE config=$CONF"
EX=$top_srcdir/tests/pam/exemptions
# stack SERVICE FILE: the service file SERVICE made from the README's FILE.
stack() {
  sed -e "s|pam_totp\.so|$TOTP|" \
    -e "s|/etc/security/totp-exempt-networks\.conf|$T/exempt-networks.conf|" \
    -e "s|/etc/security/u2f_keys|$T/u2f_keys|" \
    -e "s|^@include common-auth\$|auth requisite $CHECK_MODULE get expect=s3cret|" "$EX/$2" >"$T/pam.d/$1"
}
# One login; then: in without any prompt / asked for the code.
in_unasked() { result_is PAM_SUCCESS && ! prompted; }
asked_code() { out_has "PROMPT_ECHO_OFF: Verification code: "; }
# wrong_code TIME: not the right code at TIME.
wrong_code() { c=$(code "$1"); if [ "$c" = 123456 ]; then echo 654321; else echo 123456; fi; }
now=$T0
# next: the next 30 s step, so that every right code is a fresh one.
next() { now=$((now + 30)); }

# --- a) A group that is not asked -------------------------------------------
# Key then code (sshd's publickey came first): the jump skips pam_totp; a
# jump counts as "ignore" for pam_authenticate, so pam_permit ends the stack
# with a success; a code refused by pam_totp (required) still fails.
stack group_key pam-group-key
next; login --service group_key $MEMBER $now --rhost 192.0.2.7
check "group, key then code: a member of $GROUP gets in without a prompt" in_unasked
next; login --service group_key $OTHER $now --rhost 192.0.2.7 --answer "$(wrong_code $now)"
check "group: a non-member is asked for the code" asked_code
check "group: and refused with a wrong code" result_is PAM_AUTH_ERR
next; login --service group_key $OTHER $now --rhost 192.0.2.7 --answer "$(code $now)"
check "group: a non-member gets in with the right code" result_is PAM_SUCCESS
next; login --service group_key tx-nosuchuser $now --rhost 192.0.2.7 --answer "$(code $now)"
check "group: a name with no account is not exempt (pam_totp judges it: not enrolled, refused)" \
  sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && grep -q 'not enrolled' '$T/out'"
# Why the pam_permit line: without it nothing in the stack says "success".
service group_key_no_permit \
  "auth [success=1 default=ignore] pam_succeed_if.so user ingroup $GROUP quiet" \
  "auth required $TOTP"
next; login --service group_key_no_permit $MEMBER $now
check "group, without the pam_permit line: even the member is refused" sh -c "! grep -q '^RESULT: PAM_SUCCESS' '$T/out'"

# Password then code: the same line after the password module (here a
# stand-in for common-auth, requisite as its pam_deny line makes it).
stack group_pw pam-group-password
next; login --service group_pw $MEMBER $now --answer s3cret
check "group, password then code: the member gets in with the password alone" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && test \$(grep -c '^PROMPT_' '$T/out') = 1 && ! grep -q 'Verification code' '$T/out'"
next; login --service group_pw $MEMBER $now --answer wrong-password
check "group, password then code: a wrong password still refuses the member" result_is PAM_AUTH_ERR
next; login --service group_pw $OTHER $now --answer s3cret --answer "$(code $now)"
check "group, password then code: a non-member gives password and code" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
next; login --service group_pw $OTHER $now --answer s3cret --answer "$(wrong_code $now)"
check "group, password then code: a non-member's wrong code is refused" result_is PAM_AUTH_ERR

# --- b) Networks that are not asked (pam_access, PAM_RHOST) -----------------
# pam_access grants when a line with + matches and when NO line matches:
# the file must end with a line that denies everything else.
cp "$EX/exempt-networks" "$T/exempt-networks.conf"
stack net_key pam-networks-key
next; login --service net_key $OTHER $now --rhost 10.1.2.3
check "networks: from 10.1.2.3 (in 10.0.0.0/8) in without a prompt" in_unasked
next; login --service net_key $OTHER $now --rhost 192.168.10.77
check "networks: from 192.168.10.77 (in 192.168.10.0/24) in without a prompt" in_unasked
next; login --service net_key $OTHER $now --rhost 192.0.2.7 --answer "$(wrong_code $now)"
check "networks: from 192.0.2.7 asked for the code" asked_code
check "networks: from 192.0.2.7 a wrong code is refused" result_is PAM_AUTH_ERR
next; login --service net_key $OTHER $now --rhost 11.1.2.3 --answer "$(code $now)"
check "networks: from 11.1.2.3 (outside 10.0.0.0/8) asked, and in with the right code" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
next; login --service net_key $OTHER $now --rhost "" --answer "$(wrong_code $now)"
check "networks: no remote address (console): asked, refused with a wrong code" \
  sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
# The pitfall, shown: without the last line every address is exempt.
printf '%s\n' "+ : ALL : 10.0.0.0/8" >"$T/no-deny-line.conf"
service net_pitfall \
  "auth [success=1 default=ignore] pam_access.so accessfile=$T/no-deny-line.conf" \
  "auth required $TOTP" \
  "auth required pam_permit.so"
next; login --service net_pitfall $OTHER $now --rhost 192.0.2.7
check "networks, pitfall: without '- : ALL : ALL' a stranger's address is exempt too" in_unasked

# --- c) A service account ----------------------------------------------------
stack robot_key pam-service-account-key
next; login --service robot_key $ROBOT $now --rhost 192.0.2.7
check "service account: $ROBOT in without a prompt" in_unasked
next; login --service robot_key $OTHER $now --rhost 192.0.2.7 --answer "$(wrong_code $now)"
check "service account: another user is asked and refused with a wrong code" \
  sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
next; login --service robot_key $MEMBER $now --rhost 192.0.2.7 --answer "$(code $now)"
check "service account: another user gets in with the right code" result_is PAM_SUCCESS

# --- d) The password, then a security key (pam_u2f) or else a code ---------
if [ -e "$SECDIR/pam_u2f.so" ]; then
  : >"$T/u2f_keys"
  for what in "empty authfile" "absent authfile"; do
    [ "$what" = "absent authfile" ] && rm -f "$T/u2f_keys"
    stack u2f pam-u2f-or-code
    next; login --service u2f $OTHER $now --rhost "" --answer s3cret --answer "$(code $now)"
    check "pam_u2f ($what), a user without a key: asked for the code, in with the right one" \
      sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
    next; login --service u2f $OTHER $now --rhost "" --answer s3cret --answer "$(wrong_code $now)"
    check "pam_u2f ($what), a user without a key: refused with a wrong code" result_is PAM_AUTH_ERR
    next; login --service u2f $OTHER $now --rhost "" --answer s3cret
    check "pam_u2f ($what): the password alone is not enough (nouserok is not a way in)" \
      sh -c "! grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
  done
  next; login --service u2f $OTHER $now --rhost "" --answer wrong-password --answer "$(code $now)"
  check "pam_u2f: a wrong password stops the stack before the key and the code" \
    sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && ! grep -q 'Verification code' '$T/out'"
  # A key registered (a made-up one) but none plugged in: the stack goes on
  # to the code, as when the user left the key at home. Only where no
  # FIDO/U2F device is attached (a real one would wait for a touch).
  if ls /dev/hidraw* >/dev/null 2>&1; then
    skip "pam_u2f, a key registered but none plugged in: this machine has /dev/hidraw devices"
  else
    printf '%s:dGVzdGtleWhhbmRsZQ==,BFakePublicKeyAAAA==,es256,+presence\n' $OTHER >"$T/u2f_keys"
    stack u2f pam-u2f-or-code
    next; login --service u2f $OTHER $now --rhost "" --answer s3cret --answer "$(code $now)"
    check "pam_u2f, a key registered but none plugged in: asked for the code, in with the right one" \
      sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"
  fi
else
  skip "pam_u2f: pam_u2f.so not installed (libpam-u2f)"
fi

# --- The README quotes every stack above verbatim, as a whole block --------
README=${TEST_README:-$top_srcdir/README.md}  # TEST_README: to check a draft
if grep -q 'totp-exempt' "$README" 2>/dev/null; then
  awk -v dir="$T" '
    /^```/ { if (inb) { inb = 0; close(f) } else { inb = 1; f = dir "/readme_block" (++k); printf "" > f }; next }
    inb { print > f }' "$README"
  for f in "$EX"/*; do
    found=no
    for b in "$T"/readme_block*; do cmp -s "$b" "$f" && found=yes && break; done
    check "README quotes tests/pam/exemptions/$(basename "$f") verbatim" test $found = yes
  done
else
  skip "README quotes the exemption stacks: README.md has no exemption section yet"
fi

finish
echo "# took $(( $(date +%s) - started )) s"
