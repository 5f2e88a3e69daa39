#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 15: a PAM application that does not run as root, and that no one
# here wrote: Debian's `pamtester`, run by an unprivileged user on a
# pseudo-terminal (expect, tests/e2e/answer.exp), against PAM services that
# stack the installed pam_totp.so. The module cannot read the key or the
# state as that user; it hands the code to the setuid helper, which judges
# it under the system config ($PREFIX/etc/security/pam_totp.conf).
#   - right code in; wrong code out (root's status: failures 1); the same
#     code again refused (replay); a recovery code works once;
#   - nullok: a user who is not enrolled gets PAM_IGNORE with no prompt;
#     without nullok, refused with no prompt;
#   - one ledger: wrong codes through the user's pamtester and through a
#     real `su` (root side, guide's password-then-code stack) add up to the
#     same `deny`, and the lock then holds for both;
#   - refused, with the documented log line: a user asking about another
#     user (even with that user's right code; that user's ledger is not
#     touched), a helper without its setuid bit, a missing helper, a
#     helper from another build (this one with its build id changed),
#     `config=` on the PAM line of a non-root caller.
# Runs in a private mount namespace (tests/e2e/lib.sh): users, /etc/pam.d
# files, the config and the setuid bit (tests/e2e/nonroot.sh) vanish with it.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
command -v pamtester >/dev/null 2>&1 || skip_all "pamtester not installed (scripts/install-deps.sh)"
. "$E2E_DIR/nonroot.sh"

DENY=3
nr_system_config "window = $NR_WINDOW" "deny = $DENY" "unlock_time = 600"
A=${E2E_TAG}a   # another user (runs su; asks about B)
B=${E2E_TAG}b   # enrolled
C=${E2E_TAG}c   # not enrolled
for u in "$A" "$B" "$C"; do e2e_user "$u"; done
nr_reachable "$B" || skip_all "an unprivileged user cannot reach $E2E_MODULE or $NR_HELPER (directory permissions)"
e2e_enroll "$NR_CONF" "$B" || bail "totp-setup enroll $B failed"
if nr_syslog; then logs=1; else logs=0; diag "no syslog can be caught here: log lines are not checked"; fi

# PAM services of our own (in the namespace's /etc when isolated; the trap
# removes them otherwise). The module by its installed path.
svc() {  # NAME LINE...: /etc/pam.d/NAME with LINEs
  _f=/etc/pam.d/$1; shift
  printf '%s\n' "# pam_totp test service ($E2E_TAG)" "$@" >"$_f" && chmod 0644 "$_f"
  e2e_made_file "$_f"
}
S=pt-$E2E_TAG
svc "$S" "auth required $E2E_MODULE"
# the rollout stack (pam_permit.so stands for the password module)
svc "$S-nullok" "auth required $E2E_MODULE nullok" "auth required pam_permit.so"
svc "$S-strict" "auth required $E2E_MODULE" "auth required pam_permit.so"
# in only when pam_totp says PAM_IGNORE (success or failure both end the stack)
svc "$S-ignore" "auth [ignore=ignore default=die] $E2E_MODULE nullok" "auth required pam_permit.so"
svc "$S-config" "auth required $E2E_MODULE config=$NR_CONF"
e2e_su_service "$E2E_GUIDE/pam-password-code"   # the root side: su (config=$NR_CONF)
ok "users made, $B enrolled (deny = $DENY, window = $NR_WINDOW), services written$([ $logs = 1 ] && echo ', syslog caught')"

# pt CALLER SERVICE USER CODE: as CALLER, on a pty, `pamtester -v SERVICE USER
# authenticate`, answering "Verification code:" with CODE. Output in
# $E2E_TMP/last.out; pamtester's exit status.
pt() {
  E2E_CODE="$4" expect -f "$E2E_DIR/answer.exp" \
    sh -c 'cd / && exec runuser -u "$1" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 pamtester -v "$2" "$3" authenticate' \
    pt "$1" "$2" "$3" >"$E2E_TMP/last.out" 2>&1
}
pt_ok() { pt "$@" && e2e_last_has 'successfully authenticated'; }
pt_refused() {
  pt "$@"; _rc=$?
  [ "$_rc" != 0 ] && [ "$_rc" != 124 ] && ! e2e_last_has 'successfully authenticated' && e2e_last_has 'failure|denied|error'
}
logcheck() {  # DESCRIPTION EREGEX: a log line since the mark (skipped without syslog)
  if [ $logs = 1 ]; then
    if nr_logged "$2"; then ok "$1"; else not_ok "$1"; nr_show_log 6; fi
  else
    skip "$1 (no syslog here)"
  fi
}

# --- right, wrong, replay -------------------------------------------------------
w=$(nr_wrong_code "$B")
nr_log_mark
check "$B, own pamtester, wrong code: refused" pt_refused "$B" "$S" "$B" "$w"
check "  (asked 'Verification code:')" test "$(e2e_prompts)" = code
check "  root's status: failures 1" test "$(nr_failures "$B")" = 1
logcheck "  the helper logged the wrong code" 'totp-helper.*wrong'
nr_next_code "$B"
x=$nr_code
nr_log_mark
check "$B, own pamtester, right code: authenticated" pt_ok "$B" "$S" "$B" "$x"
check "  (asked 'Verification code:' once)" test "$(e2e_prompts)" = code
check "  root's status: the login is on record" test "$(nr_status "$B" | jq -r '.last_login.unix // 0')" -gt 0
logcheck "  the helper logged the accepted code" 'totp-helper.*accept'
check "the same code again (replay): refused" pt_refused "$B" "$S" "$B" "$x"

# --- recovery codes ---------------------------------------------------------------
r=$(e2e_recovery "$B" 0)
left=$(nr_status "$B" | jq -r .recovery_codes_left)
check "a recovery code at the code prompt: authenticated" pt_ok "$B" "$S" "$B" "$r"
check "  'Recovery code accepted; $((left - 1)) left' shown" e2e_last_has "recovery code accepted; $((left - 1)) left"
check "  root's status: $((left - 1)) recovery codes left" test "$(nr_status "$B" | jq -r .recovery_codes_left)" = $((left - 1))
check "the same recovery code again: refused" pt_refused "$B" "$S" "$B" "$r"
nr_unlock "$B"

# --- nullok -------------------------------------------------------------------------
check "$C (not enrolled), own pamtester, nullok service: in" pt_ok "$C" "$S-nullok" "$C" ""
check "  (no prompt)" test "$(e2e_prompts)" = ""
check "  pam_totp's answer is PAM_IGNORE (a stack that lets in only on PAM_IGNORE)" pt_ok "$C" "$S-ignore" "$C" ""
check "$C, same stack without nullok: refused" pt_refused "$C" "$S-strict" "$C" ""
check "  (no prompt)" test "$(e2e_prompts)" = ""
nr_next_code "$B"
check "$B (enrolled), nullok service, right code: in (nullok does not skip the code)" \
  pt_ok "$B" "$S-nullok" "$B" "$nr_code"
check "  (asked 'Verification code:')" test "$(e2e_prompts)" = code

# --- one ledger for both sides ---------------------------------------------------------
# deny = 3: one wrong code through B's own pamtester, one through su (root
# side), one through pamtester again: locked, for both.
nr_unlock "$B"
pwB=$(e2e_password "$B")
check "ledger: wrong code through $B's pamtester: refused" pt_refused "$B" "$S" "$B" "$w"
check_ns "ledger: right password + wrong code through su ($A -> $B): refused" e2e_su_refused "$A" "$B" "$pwB" "$w"
check "  (su asked for the password, then the code)" test "$(e2e_prompts)" = password,code
check "ledger: root's status: failures 2 (one from each side), not locked" \
  test "$(nr_failures "$B")" = 2 -a "$(nr_locked "$B" && echo locked)" = ""
check "ledger: the third wrong code, through pamtester: refused" pt_refused "$B" "$S" "$B" "$w"
check "ledger: root's status: locked" nr_locked "$B"
nr_next_code "$B"
check "locked: $B's pamtester with a right code: refused" pt_refused "$B" "$S" "$B" "$nr_code"
if ! e2e_last_has 'locked' || [ "$(e2e_prompts)" != "" ]; then
  not_ok "  pamtester: 'Account locked...' and no prompt (prompts: $(e2e_prompts))"; e2e_show_last
else
  ok "  pamtester: 'Account locked...' and no prompt"
fi
check_ns "locked: su with the right password and the same right code: refused" e2e_su_refused "$A" "$B" "$pwB" "$nr_code"
check "  (su shows the locked message)" e2e_last_has 'locked'
nr_unlock "$B"

# --- refusals -----------------------------------------------------------------------------
# One right code for all of them: none may judge it (each says why in the
# log, so a refusal for another reason, such as a replay, would show), and
# none may count against B's ledger.
f0=$(nr_failures "$B")
nr_log_mark
nr_next_code "$B"
check "$A asks about $B (with $B's right code): refused" pt_refused "$A" "$S" "$B" "$nr_code"
check "  $B's ledger is untouched (failures $f0, not locked)" \
  test "$(nr_failures "$B")" = "$f0" -a "$(nr_locked "$B" && echo locked)" = ""
logcheck "  the helper logged the refusal, naming the caller $A" "totp-helper.*user=$A .*another user.*refused"
logcheck "  the module logged 'the helper refused: ... asked to judge a login of another user'" \
  'pam_totp.*the helper refused: .*asked to judge a login of another user'

chmod 0755 "$NR_HELPER"
nr_log_mark
check "helper without its setuid bit: $B with a right code refused" pt_refused "$B" "$S" "$B" "$nr_code"
logcheck "  logged: '... is not setuid root'" "$NR_HELPER is not setuid root"
chmod 4755 "$NR_HELPER"

mv "$NR_HELPER" "$NR_HELPER.away"
nr_log_mark
check "helper missing: $B with a right code refused" pt_refused "$B" "$S" "$B" "$nr_code"
logcheck "  logged: '... is missing: reinstall the package'" "$NR_HELPER is missing: reinstall the package"
mv "$NR_HELPER.away" "$NR_HELPER"

# a helper from another build: this one with the build id it answers with
# changed ("protocol 1" -> "protocol 0", same length)
if python3 - "$NR_HELPER" "$E2E_TMP/other-helper" <<'EOF'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b.replace(b" protocol 1 ", b" protocol 0 "))
sys.exit(0 if b.count(b" protocol 1 ") else 1)
EOF
then
  mv "$NR_HELPER" "$NR_HELPER.away"
  install -o root -g root -m 4755 "$E2E_TMP/other-helper" "$NR_HELPER"
  nr_log_mark
    check "helper from another build: $B with a right code refused" pt_refused "$B" "$S" "$B" "$nr_code"
  logcheck "  logged: '... is from another build ...'" "$NR_HELPER is from another build"
  mv "$NR_HELPER.away" "$NR_HELPER"
else
  skip "helper from another build (no ' protocol 1 ' build id in $NR_HELPER to change)"
fi

nr_log_mark
check "config= on the PAM line of a non-root caller: refused" pt_refused "$B" "$S-config" "$B" "$nr_code"
logcheck "  logged: 'config= is refused for a PAM application that does not run as root'" \
  'config= is refused for a PAM application that does not run as root'
check "none of these refusals counted against $B's ledger (failures $f0, not locked)" \
  test "$(nr_failures "$B")" = "$f0" -a "$(nr_locked "$B" && echo locked)" = ""

# --- and afterwards --------------------------------------------------------------------
nr_next_code "$B"
check "afterwards: $B's own pamtester with a right code: authenticated" pt_ok "$B" "$S" "$B" "$nr_code"
check "  helper mode back to 4755 root" test "$(stat -c '%U %a' "$NR_HELPER")" = "root 4755"

done_testing
exit $((e2e_failed > 0))
