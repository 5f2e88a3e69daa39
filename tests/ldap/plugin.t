#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The directory connection is a plugin ($PREFIX/lib/pam_totp/ldap_connection.so)
# that pam_totp.so, totp-setup and the helper load only when store = ldap.
# As an admin and an attacker would find it:
#   - a files-store login never loads it (nor libldap): the module's own
#     dependencies do not include libldap, and a login leaves no libldap in
#     the process's maps;
#   - a directory login loads it, and works;
#   - a plugin that root does not own, that group or others may write, that
#     is missing, or that is another library in its place: the login is
#     refused (never PAM_IGNORE under nullok, never accepted), with one log
#     line saying why, and the tool exits 1 with the same reason;
#   - put back, logins work again.
# The installed plugin is changed in place and restored by the trap.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR, BUILD_DIR.
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PREFIX=${PREFIX:-$SRC_DIR/_build/normal/inst}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/_build/normal}
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { _d=$1; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; sed 's/^/#   | /' "$T/out" 2>/dev/null | tail -6; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root (slapd, root-owned key and state)"
PLUGIN=$PREFIX/lib/pam_totp/ldap_connection.so
MODULE=$PREFIX/lib/security/pam_totp.so
TOOL=$PREFIX/bin/totp-setup
DRIVER=$BUILD_DIR/tests/pam/pam_driver
for f in "$PLUGIN" "$MODULE" "$TOOL" "$DRIVER"; do [ -e "$f" ] || skip_all "$f is not built or installed"; done
for t in slapd ldapsearch oathtool jq; do command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"; done

T=$(mktemp -d)
. "$SRC_DIR/tests/ldap/slapd_lib.sh"
. "$SRC_DIR/tests/ldap/fleet_lib.sh"
cp -p "$PLUGIN" "$T/plugin.saved"
cleanup() {
  cp -p "$T/plugin.saved" "$PLUGIN" 2>/dev/null
  chown root:root "$PLUGIN" 2>/dev/null; chmod 0755 "$PLUGIN" 2>/dev/null
  ldap_stop >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ldap_start "$T/dir" >"$T/ldap.out" 2>&1 || { cat "$T/ldap.out"; echo "Bail out! slapd did not start"; exit 1; }
fleet_server "$T" A new || { echo "Bail out! totp-setup init failed"; exit 1; }
printf 'state_dir = %s\nkey_file = %s\n' "$T/F/state" "$T/A/key" >"$T/F.conf"
install -d -m0700 "$T/F/state"; chmod 0600 "$T/F.conf"
mkdir "$T/pam.d"; : >"$T/pam.d/other"
echo "auth required $MODULE config=$T/A.conf nullok" >"$T/pam.d/dir"
echo "auth required $MODULE config=$T/F.conf nullok" >"$T/pam.d/files"
"$TOOL" --config "$T/A.conf" enroll --user daemon --yes --json >"$T/d.json" || { echo "Bail out! enroll (directory) failed"; exit 1; }
"$TOOL" --config "$T/F.conf" enroll --user daemon --yes --json >"$T/f.json" || { echo "Bail out! enroll (files) failed"; exit 1; }
SD=$(fleet_secret "$T/d.json"); SF=$(fleet_secret "$T/f.json")
echo "1..16"

# One login at a faked time; prints the driver's output to $T/out. The
# driver's process maps after pam_end show whether libldap was loaded.
TN=$(( ($(date +%s) / 30 + 10) * 30 ))
login() {  # SERVICE CODE
  TN=$((TN + 30))
  PAM_TOTP_TEST_NOW=$TN "$DRIVER" --confdir "$T/pam.d" --service "$1" --user daemon --rhost 192.0.2.9 \
    --answer "$2" --check-host-state >"$T/out" 2>&1
}
code_for() { fleet_code "$1" $((TN + 30)); }
result() { grep -q "^RESULT: $1\$" "$T/out"; }
logged() { grep '^SYSLOG' "$T/out" | grep -qF -- "$1"; }

check "pam_totp.so does not depend on libldap" sh -c "! ldd '$MODULE' | grep -q libldap"
login files "$(code_for "$SF")"
check "a files-store login is accepted" result PAM_SUCCESS
# The driver process ends with the login; ask a fresh one under strace-free
# means: LD_DEBUG lists every library the dynamic loader opens.
PAM_TOTP_TEST_NOW=$((TN + 30)) LD_DEBUG=files "$DRIVER" --confdir "$T/pam.d" --service files --user daemon \
  --rhost 192.0.2.9 --answer 000000 >"$T/ld.out" 2>&1
check "  and never loads the plugin or libldap (LD_DEBUG)" sh -c "! grep -Eq 'ldap_connection.so|libldap' '$T/ld.out'"
PAM_TOTP_TEST_NOW=$((TN + 60)) LD_DEBUG=files "$DRIVER" --confdir "$T/pam.d" --service dir --user daemon \
  --rhost 192.0.2.9 --answer 000000 >"$T/ld2.out" 2>&1
check "a directory login loads the plugin (LD_DEBUG)" grep -q 'ldap_connection.so' "$T/ld2.out"
login dir "$(code_for "$SD")"
check "  and is accepted" result PAM_SUCCESS
check "  leaving the host as it found it" grep -q '^HOST_STATE: unchanged' "$T/out"

# refused: CASE-DESCRIPTION LOG-TEXT
refused() {
  login dir "$(code_for "$SD")"
  check "$1: the login is refused (not PAM_IGNORE under nullok)" result PAM_AUTH_ERR
  check "  the log says why" logged "$2"
}
chmod 0775 "$PLUGIN"
refused "plugin writable by its group" "not a regular file owned by root and writable only by it"
chmod 0755 "$PLUGIN"; chown 65534 "$PLUGIN"
refused "plugin owned by another user" "not a regular file owned by root and writable only by it"
chown root "$PLUGIN"
cp "$(ldconfig -p | sed -n 's/.*libpam.so.0 .*=> //p' | head -1)" "$PLUGIN"; chmod 0755 "$PLUGIN"
refused "another library in the plugin's place" "is from another build of pam_totp"
rm -f "$PLUGIN"
refused "plugin missing" "ldap_connection.so: No such file or directory"
"$TOOL" --config "$T/A.conf" status --user daemon >"$T/out" 2>&1; rc=$?
check "  totp-setup status exits 1 with the reason" sh -c "[ $rc = 1 ] && grep -q 'directory store unavailable' '$T/out'"
cp -p "$T/plugin.saved" "$PLUGIN"
login dir "$(code_for "$SD")"
check "the plugin put back: logins work again" result PAM_SUCCESS
