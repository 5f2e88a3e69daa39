#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# notify_command (issue 17) on the installed product, through the setuid
# helper: the events that tests/pam/notify.sh cannot reach from the build
# tree. A PAM application that does not run as root (Debian's pamtester, run
# by the user on a pty) hands the code to the helper; the helper judges and
# sends the event, the module does not, so each arrives exactly once:
#   - three wrong codes: one lockout event (user, service; no rhost);
#   - a recovery code at the prompt: one recovery-code-used event with the
#     codes left;
#   - the user's own totp-setup through the helper: remove with a recovery
#     code as the proof (recovery-code-used, then remove: one each), enrol
#     again (one enrol);
#   - the hook runs as nobody, with PATH and PAM_TOTP_* only (not the
#     user's environment).
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
command -v pamtester >/dev/null 2>&1 || skip_all "pamtester not installed (scripts/install-deps.sh)"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip_all "no user nobody to run the hook as"
NOBODY_GID=$(id -g nobody)
. "$E2E_DIR/nonroot.sh"
suite_start=$(date +%s)

# The hook in a root-owned directory; its output where only nobody writes.
H=$(mktemp -d /tmp/pam_totp-notify.XXXXXX) || bail "mktemp failed"
nr_trap "rm -rf '$H'"
chmod 755 "$H"
O=$H/out
mkdir "$O" && chown "$NOBODY_UID:$NOBODY_GID" "$O" && chmod 700 "$O"
cat >"$H/record" <<EOF
#!/bin/sh
f=$O/\$\$.tmp
{ tr '\\0' '\\n' </proc/\$\$/environ | sed 's/^/ENV /'; echo "ID \$(id -u) \$(id -g)"; } >"\$f"
mv "\$f" "$O/\$\$.ev"
EOF
chmod 755 "$H/record"

nr_system_config "window = $NR_WINDOW" "deny = 3" "unlock_time = 600" "notify_command = $H/record"
B=${E2E_TAG}b
e2e_user "$B"
nr_reachable "$B" || skip_all "an unprivileged user cannot reach $E2E_MODULE or $NR_HELPER (directory permissions)"
e2e_enroll "$NR_CONF" "$B" || bail "totp-setup enroll $B failed"
# The log, to show on a failure (not needed for the checks).
nr_syslog || diag "no syslog can be caught here"
S=nt-$E2E_TAG
printf '%s\n' "# pam_totp test service ($E2E_TAG)" "auth required $E2E_MODULE" >"/etc/pam.d/$S"
chmod 0644 "/etc/pam.d/$S"
e2e_made_file "/etc/pam.d/$S"

pt() {  # CODE: $B's own pamtester on service $S, answering CODE
  E2E_CODE="$1" expect -f "$E2E_DIR/answer.exp" \
    sh -c 'cd / && exec runuser -u "$1" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 MARK_FROM_USER=1 pamtester -v "$2" "$1" authenticate' \
    pt "$B" "$S" >"$E2E_TMP/last.out" 2>&1
}
as_b() { runuser -u "$B" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent MARK_FROM_USER=1 "$E2E_TOOL" "$@"; }
clear_events() { rm -f "$O"/*.ev "$O"/*.tmp; nr_log_mark; }
# check, and the log since the last clear_events when it fails
echeck() { if check "$@"; then :; else nr_show_log 12; fi; }
# wait_events N: until N events arrived (at most 5 s), then 0.3 s more.
wait_events() {
  _i=0
  while [ "$(ls "$O" | grep -c '\.ev$')" -lt "$1" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
  sleep 0.3
  cat "$O"/*.ev >"$E2E_TMP/ev" 2>/dev/null || : >"$E2E_TMP/ev"
}
n_events() { ls "$O" | grep -c '\.ev$'; }
count() { grep -cxF -- "ENV PAM_TOTP_EVENT=$1" "$E2E_TMP/ev"; }
ev_has() { grep -qxF -- "$1" "$E2E_TMP/ev"; }
wait_events 1
echeck "root's enrolment: one enrol event" test "$(n_events)/$(count enrol)" = 1/1

# --- lockout through the helper ---
clear_events
w=$(nr_wrong_code "$B")
pt "$w"; pt "$w"
wait_events 0
echeck "two wrong codes through pamtester: no event" test "$(n_events)" = 0
pt "$w"
echeck "the third: refused" sh -c "! grep -q 'successfully authenticated' '$E2E_TMP/last.out'"
echeck "  locked (root's status)" nr_locked "$B"
wait_events 1
echeck "one lockout event, sent by the helper only" test "$(n_events)/$(count lockout)" = 1/1
echeck "  for $B, service $S, no rhost" sh -c "grep -qx 'ENV PAM_TOTP_USER=$B' '$E2E_TMP/ev' &&
  grep -qx 'ENV PAM_TOTP_SERVICE=$S' '$E2E_TMP/ev' && grep -qx 'ENV PAM_TOTP_RHOST=' '$E2E_TMP/ev'"
echeck "  as nobody" ev_has "ID $NOBODY_UID $NOBODY_GID"
echeck "  with PATH and PAM_TOTP_* only (nothing of the user's environment)" \
  sh -c "! grep '^ENV ' '$E2E_TMP/ev' | grep -v -e '^ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\$' -e '^ENV PAM_TOTP_[A-Z_]*=' | grep -q ."
nr_unlock "$B"

# --- a recovery code at the prompt ---
clear_events
left=$(nr_status "$B" | jq -r .recovery_codes_left)
pt "$(e2e_recovery "$B" 0)"
echeck "a recovery code through pamtester: authenticated" e2e_last_has 'successfully authenticated'
wait_events 1
echeck "one recovery-code-used event" test "$(n_events)/$(count recovery-code-used)" = 1/1
echeck "  with $((left - 1)) left" ev_has "ENV PAM_TOTP_RECOVERY_LEFT=$((left - 1))"

# --- the user's own totp-setup through the helper ---
clear_events
e2e_recovery "$B" 1 | as_b remove --yes >"$E2E_TMP/rm.out" 2>&1
echeck "$B removes the enrolment with a recovery code" test $? = 0
wait_events 2
echeck "  one recovery-code-used and one remove event" \
  test "$(n_events)/$(count recovery-code-used)/$(count remove)" = 2/1/1
clear_events
as_b enroll --yes --json >"$E2E_TMP/en.out" 2>&1
echeck "$B enrols again through the helper" test $? = 0
wait_events 1
echeck "  one enrol event" test "$(n_events)/$(count enrol)" = 1/1
echeck "  for $B, service totp-setup" sh -c "grep -qx 'ENV PAM_TOTP_USER=$B' '$E2E_TMP/ev' && grep -qx 'ENV PAM_TOTP_SERVICE=totp-setup' '$E2E_TMP/ev'"

done_testing
diag "took $(( $(date +%s) - suite_start )) s"
