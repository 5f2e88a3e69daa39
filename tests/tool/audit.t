#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The audit trail (issue 16, core/audit.h) on the installed product: every
# change to a second factor by root's totp-setup or through the setuid
# helper writes exactly one authpriv line
#   totp-setup[PID]: audit: action=A user=TARGET by=NAME uid=N [loginuid=N] [sudo_user=NAME] [via=helper] [k=v ...]
# read back here from a private log socket (tests/e2e/syslog_sink.py on
# /dev/log in the private mount namespace of tests/e2e/lib.sh, as
# tests/tool/pamtester.t and tests/e2e/su-limits.t do).
#   - root: enrol, replace (--force), recovery-codes, unlock, remove; each
#     names root, the login uid of the session (set here through
#     /proc/self/loginuid, as pam_loginuid does at login) and SUDO_USER;
#     a SUDO_USER that is no valid user name is left out; `sudo` (when
#     installed) is named as sudo_user=root; status writes nothing;
#   - an unprivileged user through the setuid helper: self-enrolment,
#     recovery codes and remove name the user, their uid and via=helper,
#     and never a SUDO_USER they set; a refused wrong code writes nothing;
#   - neither the secret, the otpauth URI nor any recovery code ever
#     reaches the log;
#   - import, rekey, revoke, add/remove-authenticator: the same checks.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
. "$E2E_DIR/nonroot.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"

nr_system_config "window = $NR_WINDOW" "deny = 10"
nr_syslog || skip_all "no private log socket can be mounted on /dev/log here"
TOOL=$E2E_TOOL
CONF=$NR_CONF
R=${E2E_TAG}r   # acted on by root
U=${E2E_TAG}u   # enrols through the helper
P=${E2E_TAG}p   # the person behind root: login uid and SUDO_USER
for u in "$R" "$U" "$P"; do e2e_user "$u"; done
nr_reachable "$U" || skip_all "an unprivileged user cannot reach $NR_HELPER (directory permissions)"
P_UID=$(id -u "$P")
U_UID=$(id -u "$U")
# Can this kernel (and this container) set a login uid? Then every command
# below runs in a "session" of its own with it.
if sh -c 'echo 4242 >/proc/self/loginuid && test "$(cat /proc/self/loginuid)" = 4242' 2>/dev/null; then
  have_luid=1
else
  have_luid=0
  diag "the login uid cannot be set here: loginuid= is not checked"
fi

# in_session LOGINUID COMMAND...: COMMAND with that login uid (when possible).
in_session() {
  sh -c 'echo "$1" >/proc/self/loginuid 2>/dev/null; shift; exec "$@"' in-session "$@"
}
# as_root SUDO_USER ARGS...: root's totp-setup in a session of $P.
as_root() {
  _su=$1; shift
  in_session "$P_UID" env SUDO_USER="$_su" "$TOOL" --config "$CONF" "$@"
}
# as_u ARGS...: $U's totp-setup (through the helper) in their own session,
# with a SUDO_USER of their choosing.
as_u() {
  in_session "$U_UID" runuser -u "$U" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent SUDO_USER=root \
    "$TOOL" "$@"
}

luid_re() { [ $have_luid = 1 ] && echo " loginuid=$1" || echo "( loginuid=[0-9]+)?"; }
ROOT_BY="by=root uid=0$(luid_re "$P_UID")"
U_BY="by=$U uid=$U_UID$(luid_re "$U_UID")"

# audited DESCRIPTION EREGEX: exactly one audit line since the mark, and it
# matches "audit: EREGEX( |$)".
audited() {
  nr_log_since | grep ' audit: ' >"$E2E_TMP/audit.since"
  if [ "$(wc -l <"$E2E_TMP/audit.since")" = 1 ] && grep -qE " audit: $2( |\$)" "$E2E_TMP/audit.since"; then
    ok "$1"
  else
    not_ok "$1"
    diag "  wanted one line: audit: $2" "  got:"
    sed 's/^/#     /' "$E2E_TMP/audit.since"
  fi
}
not_audited() {  # DESCRIPTION
  nr_log_since | grep ' audit: ' >"$E2E_TMP/audit.since"
  if [ ! -s "$E2E_TMP/audit.since" ]; then ok "$1"; else not_ok "$1"; sed 's/^/#     /' "$E2E_TMP/audit.since"; fi
}
# SECRETS: every secret, URI and recovery code handed out so far.
: >"$E2E_TMP/secrets"
keep_secrets() {  # JSON-FILE
  jq -r '(.secret // empty), (.uri // empty), (.recovery_codes // [] | .[])' "$1" >>"$E2E_TMP/secrets" 2>/dev/null
}

# --- root ----------------------------------------------------------------------------
nr_log_mark
as_root "$P" enroll --user "$R" --yes --json >"$E2E_TMP/r1.json" 2>"$E2E_TMP/err"
check "root: enroll --user $R" test $? = 0
keep_secrets "$E2E_TMP/r1.json"
audited "  one line: action=enrol user=$R by=root, loginuid, sudo_user=$P" \
  "action=enrol user=$R $ROOT_BY sudo_user=$P"
check "  from totp-setup, with its pid, at authpriv.notice (<85>)" grep -qE '^<85>.*totp-setup\[[0-9]+\]: audit: ' "$E2E_TMP/audit.since"

nr_log_mark
as_root "$P" enroll --user "$R" --force --yes --json >"$E2E_TMP/r2.json" 2>"$E2E_TMP/err"
check "root: enroll --force (replace)" test $? = 0
keep_secrets "$E2E_TMP/r2.json"
audited "  one line: action=replace" "action=replace user=$R $ROOT_BY sudo_user=$P"

nr_log_mark
as_root "$P" recovery-codes --user "$R" --yes --json >"$E2E_TMP/r3.json" 2>"$E2E_TMP/err"
check "root: recovery-codes" test $? = 0
keep_secrets "$E2E_TMP/r3.json"
audited "  one line: action=recovery-codes" "action=recovery-codes user=$R $ROOT_BY sudo_user=$P"

nr_log_mark
as_root "$P" unlock --user "$R" >/dev/null 2>"$E2E_TMP/err"
check "root: unlock" test $? = 0
audited "  one line: action=unlock" "action=unlock user=$R $ROOT_BY sudo_user=$P"

nr_log_mark
as_root "$P" status --user "$R" --json >/dev/null 2>&1
not_audited "root: status writes no audit line"

nr_log_mark
as_root "x y=z" enroll --user "$R" --force --yes --json >"$E2E_TMP/r4.json" 2>"$E2E_TMP/err"
keep_secrets "$E2E_TMP/r4.json"
audited "a SUDO_USER that is no user name is left out" "action=replace user=$R $ROOT_BY"
check "  (no sudo_user field at all)" sh -c "! grep -q 'sudo_user' '$E2E_TMP/audit.since'"

if command -v sudo >/dev/null 2>&1; then
  nr_log_mark
  in_session "$P_UID" env -u SUDO_USER sudo -u root "$TOOL" --config "$CONF" unlock --user "$R" >/dev/null 2>&1
  audited "under sudo: sudo_user=root" "action=unlock user=$R $ROOT_BY sudo_user=root"
else
  skip "under sudo: sudo_user=root (sudo not installed)"
fi

# --- import, rekey, revoke, authenticators ---------------------------------------------
# guarded DESCRIPTION EREGEX JSON-OR-- ARGS...: root runs ARGS and exactly one
# audit line matching EREGEX follows.
guarded() {
  _d=$1; _re=$2; _json=$3; shift 3
  nr_log_mark
  as_root "$P" "$@" >"$E2E_TMP/g.out" 2>&1; _rc=$?
  [ "$_json" != - ] && keep_secrets "$E2E_TMP/g.out"
  if [ $_rc != 0 ]; then
    not_ok "$_d (exit $_rc)"
    sed 's/^/#   | /' "$E2E_TMP/g.out" | head -5
    return
  fi
  audited "$_d" "$_re"
}
guarded "add-authenticator: one line naming it" \
  "action=add-authenticator user=$R $ROOT_BY sudo_user=$P( .*)? authenticator=spare" \
  json enroll --user "$R" --add --name spare --yes --json
guarded "remove-authenticator: one line naming it" \
  "action=remove-authenticator user=$R $ROOT_BY sudo_user=$P( .*)? authenticator=spare" \
  - remove --user "$R" --name spare --yes --json
# a google-authenticator file of $R's (secret, TOTP, three scratch codes)
GA=$E2E_TMP/ga-$R
printf '%s\n' JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP '" RATE_LIMIT 3 30' '" WINDOW_SIZE 3' '" DISALLOW_REUSE' '" TOTP_AUTH' \
  31415926 27182818 14142135 >"$GA"
chown "$R" "$GA"; chmod 0400 "$GA"
echo JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP >>"$E2E_TMP/secrets"
printf '%s\n' 31415926 27182818 14142135 >>"$E2E_TMP/secrets"
guarded "import: one line, from google-authenticator" \
  "action=import user=$R $ROOT_BY sudo_user=$P( .*)?" \
  json import --from google-authenticator --user "$R" --file "$GA" --yes --json
guarded "revoke: one line" "action=revoke user=$R $ROOT_BY sudo_user=$P( .*)?" - revoke --user "$R" --yes --json
guarded "rekey: one line, for no user" "action=rekey user=- $ROOT_BY sudo_user=$P( .*)?" - rekey --yes --json

nr_log_mark
as_root "$P" enroll --user "$R" --force --yes --json >"$E2E_TMP/r5.json" 2>"$E2E_TMP/err"
keep_secrets "$E2E_TMP/r5.json"
nr_log_mark
as_root "$P" remove --user "$R" --yes >/dev/null 2>"$E2E_TMP/err"
check "root: remove" test $? = 0
audited "  one line: action=remove" "action=remove user=$R $ROOT_BY sudo_user=$P"

# --- a user through the setuid helper --------------------------------------------------
nr_log_mark
as_u enroll --yes --json >"$E2E_TMP/u1.json" 2>"$E2E_TMP/err"
check "$U: self-enrolment through the helper" test $? = 0
keep_secrets "$E2E_TMP/u1.json"
mkdir -p "$E2E_TMP/enrol"; cp "$E2E_TMP/u1.json" "$E2E_TMP/enrol/$U.json"   # for e2e_code
audited "  one line: action=enrol user=$U by=$U, their uid, via=helper" "action=enrol user=$U $U_BY via=helper"
check "  from totp-helper; no SUDO_USER of theirs" \
  sh -c "grep -qE 'totp-helper\\[[0-9]+\\]: audit: ' '$E2E_TMP/audit.since' && ! grep -q sudo_user '$E2E_TMP/audit.since'"

nr_log_mark
w=$(nr_wrong_code "$U")
echo "$w" | as_u recovery-codes --yes --json >/dev/null 2>&1
check "$U: recovery-codes with a wrong code refused" test $? = 3
not_audited "  no audit line for a refused change"

nr_log_mark
nr_next_code "$U"
echo "$nr_code" | as_u recovery-codes --yes --json >"$E2E_TMP/u2.json" 2>"$E2E_TMP/err"
check "$U: recovery-codes with a current code" test $? = 0
keep_secrets "$E2E_TMP/u2.json"
audited "  one line: action=recovery-codes via=helper" "action=recovery-codes user=$U $U_BY via=helper"

nr_log_mark
nr_next_code "$U"
echo "$nr_code" | as_u remove --yes --json >/dev/null 2>"$E2E_TMP/err"
check "$U: remove with a current code" test $? = 0
audited "  one line: action=remove via=helper" "action=remove user=$U $U_BY via=helper"

# --- no secret anywhere in the log -----------------------------------------------------
sleep 0.2
check "secrets handed out during the suite: $(grep -c . "$E2E_TMP/secrets") (secrets, URIs, recovery codes)" \
  test "$(grep -c . "$E2E_TMP/secrets")" -ge 40
leaks=0
while read -r s; do
  [ -n "$s" ] || continue
  if grep -qF -- "$s" "$NR_LOG"; then leaks=$((leaks + 1)); diag "  in the log: a secret of length ${#s}"; fi
  # recovery codes also without their dash, as a user may type them
  case $s in *-*) grep -qF -- "$(echo "$s" | tr -d -)" "$NR_LOG" && leaks=$((leaks + 1)) ;; esac
done <"$E2E_TMP/secrets"
check "none of them is in the log" test $leaks = 0
check "the log holds the audit lines (sanity)" test "$(grep -c ' audit: ' "$NR_LOG")" -ge 8
[ "${AUDIT_SHOW:-0}" = 1 ] && diag "$(grep ' audit: ' "$NR_LOG")"
done_testing
exit $((e2e_failed > 0))
