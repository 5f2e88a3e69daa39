#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14: the directory store for callers that are not root. The system
# config ($PREFIX/etc/security/pam_totp.conf) says store = ldap with SASL
# EXTERNAL over ldapi:// (the setuid helper binds as root through the
# socket's peer credentials). Then, as an unprivileged user:
#   - self-enrolment with totp-setup through the helper: the record is an
#     entry in the directory, nothing is written to the state directory;
#   - Debian's pamtester run by the user: right code in, replay refused,
#     wrong code counted (root sees it through the directory);
#   - the directory stopped (SIGSTOP): the user's login is refused within
#     ldap_timeout (+ a margin), the helper logs why; after SIGCONT it works;
#   - a login by root through su with the same config shares the ledger;
#   - the user removes their enrolment with a code: the entry is gone.
# Runs in a private mount namespace (tests/e2e/lib.sh, nonroot.sh).
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
for t in pamtester slapd ldapsearch expect jq oathtool; do
  command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (scripts/install-deps.sh)"
done
. "$E2E_DIR/nonroot.sh"
. "$E2E_SRC/tests/ldap/slapd_lib.sh"

# The directory, started from this (main) shell; stopped by the trap.
WIZ=$(mktemp -d /tmp/totp-wiz.XXXXXX) || bail "mktemp failed"   # the wizard's fifo, reachable by the user
chmod 0711 "$WIZ"
nr_trap "ldap_stop; rm -rf '$WIZ'"
ldap_start "$E2E_TMP/ldap" >"$E2E_TMP/ldap.out" 2>&1 || { cat "$E2E_TMP/ldap.out" >&2; bail "slapd did not start"; }
TIMEOUT=3
nr_system_config "window = $NR_WINDOW" "deny = 5" "store = ldap" "ldap_uri = $LDAP_LDAPI_URI" \
  "ldap_base = $LDAP_BASE" "ldap_timeout = $TIMEOUT"

B=${E2E_TAG}b
e2e_user "$B"
nr_reachable "$B" || skip_all "an unprivileged user cannot reach $E2E_MODULE or $NR_HELPER (directory permissions)"
if nr_syslog; then logs=1; else logs=0; diag "no syslog can be caught here: log lines are not checked"; fi
logcheck() {  # DESCRIPTION EREGEX
  if [ $logs = 1 ]; then
    if nr_logged "$2"; then ok "$1"; else not_ok "$1"; nr_show_log 6; fi
  else
    skip "$1 (no syslog here)"
  fi
}
as_user() { (cd / && runuser -u "$B" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent "$@"); }
entry_of() {  # USER: the user's entry as root sees it (LDIF; empty when none)
  ldap_as_root ldapsearch -LLL -b "$LDAP_BASE" "(uid=$1)" dn pamTotpLedger 2>/dev/null
}

# --- self-enrolment through the helper --------------------------------------------
mkdir -p "$E2E_TMP/enrol"
as_user "$E2E_TOOL" enroll --yes --json >"$E2E_TMP/enrol/$B.json" 2>"$E2E_TMP/enrol.err"
check "$B enrols themself through the helper (store = ldap, SASL EXTERNAL)" \
  sh -c "jq -e '.uri | startswith(\"otpauth://totp/\")' '$E2E_TMP/enrol/$B.json' >/dev/null"
entry_of "$B" >"$E2E_TMP/entry1"
check "  root finds uid=$B,$LDAP_BASE with a ledger" grep -q "^dn: uid=$B,$LDAP_BASE" "$E2E_TMP/entry1"
check "  nothing in the state directory" test -z "$(ls -A "$E2E_TMP/state" 2>/dev/null)"
check "  root's status through the directory: enrolled" test "$(nr_status "$B" | jq -r .enrolled)" = true
check "  an anonymous directory client sees no record" \
  sh -c "! ldapsearch -x -LLL -H '$LDAP_LDAPI_URI' -b '$LDAP_BASE' '(uid=$B)' 2>/dev/null | grep -q pamTotp"

S=ptl-$E2E_TAG
printf '%s\n' "# pam_totp test service ($E2E_TAG)" "auth required $E2E_MODULE" >"/etc/pam.d/$S"
chmod 0644 "/etc/pam.d/$S"; e2e_made_file "/etc/pam.d/$S"
pt() {  # CODE: as B, on a pty, pamtester -v S B authenticate
  E2E_CODE="$1" expect -f "$E2E_DIR/answer.exp" \
    sh -c 'cd / && exec runuser -u "$1" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 pamtester -v "$2" "$1" authenticate' \
    pt "$B" "$S" >"$E2E_TMP/last.out" 2>&1
}
pt_ok() { pt "$@" && e2e_last_has 'successfully authenticated'; }
pt_refused() {
  pt "$@"; _rc=$?
  [ "$_rc" != 0 ] && [ "$_rc" != 124 ] && ! e2e_last_has 'successfully authenticated'
}

# --- logins through the helper ------------------------------------------------------
nr_next_code "$B"; x=$nr_code
nr_log_mark
check "$B's own pamtester, right code: authenticated" pt_ok "$x"
logcheck "  the helper logged the accepted code" 'totp-helper.*accepted totp'
check "  the same code again: refused (replay)" pt_refused "$x"
entry_of "$B" >"$E2E_TMP/entry2"
check "  the directory's ledger changed" sh -c "! cmp -s '$E2E_TMP/entry1' '$E2E_TMP/entry2'"
w=$(nr_wrong_code "$B")
check "a wrong code: refused" pt_refused "$w"
check "  counted in the directory (root's status: failures 2: replay + wrong)" test "$(nr_failures "$B")" = 2

# --- the directory stops answering ------------------------------------------------------
nr_next_code "$B"; y=$nr_code
ldap_pause
nr_log_mark
t0=$(date +%s)
check "slapd stopped (SIGSTOP): $B's right code refused" pt_refused "$y"
t1=$(date +%s)
check "  within ldap_timeout + 3 s ($((t1 - t0)) s)" test $((t1 - t0)) -le $((TIMEOUT + 3))
logcheck "  the module logged why (the helper's answer: the directory)" 'pam_totp.*helper refused: directory unreachable.*ldap_timeout'
ldap_resume
ldap_wait_ready || bail "slapd did not come back"
check "slapd resumed: the same code now authenticates (it was never used)" pt_ok "$y"

# --- one ledger for root's su and the user's helper ---------------------------------
e2e_su_service "$E2E_GUIDE/pam-password-code"
A=${E2E_TAG}a
e2e_user "$A"
w=$(nr_wrong_code "$B")
nr_log_mark
check_ns "a wrong code through su (root side, same directory): refused" e2e_su_refused "$A" "$B" "$(e2e_password "$B")" "$w"
check "  counted on the one ledger (failures 1 after the success)" test "$(nr_failures "$B")" = 1

# --- removal by the user ---------------------------------------------------------------
nr_next_code "$B"
echo "$nr_code" | as_user "$E2E_TOOL" remove --yes --json >"$E2E_TMP/rm.json" 2>"$E2E_TMP/rm.err"
check "$B removes their enrolment with a code" sh -c "jq -e '.removed == true' '$E2E_TMP/rm.json' >/dev/null"
check "  the entry is gone from the directory" test -z "$(entry_of "$B")"
check "  root's status: not enrolled" test "$(nr_status "$B" | jq -r .enrolled)" = false

# --- the interactive wizard, through the helper, into the directory ---------------------
# The user answers the wizard's "Verification code:" with a code of the
# secret it shows (read from its output through a fifo, as a person would).
W=$WIZ
mkfifo -m 0600 "$W/in" && chown "$B" "$W/in" || bail "mkfifo failed"
(as_user sh -c 'exec "$1" enroll --qr none' wiz "$E2E_TOOL" <"$W/in" >"$W/out" 2>"$W/err"; echo $? >"$W/rc") &
wizard=$!
exec 8>"$W/in"
i=0; while ! grep -q '^URI:' "$W/out" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
wuri=$(sed -n 's/^URI: *//p' "$W/out")
check "the wizard shows a new enrolment (URI) before any code" test -n "$wuri"
check "  nothing active in the directory before the code is confirmed" \
  test "$(nr_status "$B" | jq -r .enrolled)" = false
wsecret=$(printf '%s\n' "$wuri" | sed -n 's/.*[?&]secret=\([^&]*\).*/\1/p')
oathtool --totp -b "$wsecret" >&8
exec 8>&-
wait "$wizard"   # not a bare wait: slapd and the syslog sink are children too
check "  the wizard, given the app's code, exits 0" test "$(cat "$W/rc")" = 0
check "  and shows 10 recovery codes" test "$(grep -cE '^ +[0-9]+\. +[a-z0-9]{5}-[a-z0-9]{5}$' "$W/out")" = 10
check "  the enrolment is active, in the directory" test "$(nr_status "$B" | jq -r .enrolled)" = true
entry_of "$B" >"$E2E_TMP/entry3"
check "  uid=$B is back in the directory" grep -q "^dn: uid=$B,$LDAP_BASE" "$E2E_TMP/entry3"
done_testing
