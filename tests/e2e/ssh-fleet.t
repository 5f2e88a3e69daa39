#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A fleet of three servers through real OpenSSH: one private slapd
# (tests/ldap/slapd_lib.sh, the shipped schema and example ACL), one master
# key copied to three pam_totp configs A, B, C (tests/ldap/fleet_lib.sh:
# each its own state_dir and key file, the same ldap_* lines), three private
# sshd instances on their own ports, each with its own PAM service made the
# way the deploy guide says (key, then code) whose pam_totp line has
# config= A, B or C. A user enrolled once with totp-setup; real ssh logins
# with codes from oathtool at the real time:
#   a code used on A is refused on B, a new code logs in on C;
#   slapd paused (SIGSTOP): the login is refused within ldap_timeout + a
#   few s (never let in, never hung), and works again after SIGCONT.
# Needs root, sshd, ssh, expect, oathtool, jq, slapd and ldap-utils.
set -u
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (private sshd and slapd, users, root-owned configs)"; exit 0; }
for t in slapd slapadd slaptest slappasswd ldapsearch openssl python3; do
  command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 ||
    { echo "1..0 # SKIP $t not found (scripts/install-deps.sh installs it)"; exit 0; }
done
. "$SRC_DIR/tests/e2e/lib.sh"
e2e_init "$@"
. "$SRC_DIR/tests/ldap/slapd_lib.sh"
. "$SRC_DIR/tests/ldap/fleet_lib.sh"
trap 'ldap_stop; e2e_cleanup' EXIT

ldap_start "$E2E_TMP/dir" || bail "ldap_start failed (tests/ldap/slapd_env.t tells why)"
F=$E2E_TMP/fleet
mkdir -m0700 "$F"
fleet_server "$F" A new "deny = 5" || bail "server A: totp-setup init failed"
fleet_server "$F" B "$F/A/key" "deny = 5" || bail "server B: init with the copied key failed"
fleet_server "$F" C "$F/A/key" "deny = 5" || bail "server C: init with the copied key failed"
ok "servers A, B, C: one master key copied to three configs, one directory"

# The module's syslog: where the suite runs in its own mount namespace
# (e2e_init), our socket (tests/e2e/syslog_sink.py) goes on /dev/log there
# (on a copy-on-write /dev where there is none) before the sshds start, so
# they and their PAM modules log to it. Elsewhere the log checks skip.
LOG=$E2E_TMP/syslog.txt
HAVE_LOG=0
if [ "$E2E_ISOLATED" = yes ] && e2e_syslog_sink "$LOG"; then
  if [ ! -e /dev/log ]; then
    _d=$E2E_TMP/dev; mkdir "$_d" "$_d/up" "$_d/wk" "$_d/pts"
    mount --bind /dev/pts "$_d/pts" &&
      mount -t overlay overlay -o "lowerdir=/dev,upperdir=$_d/up,workdir=$_d/wk" /dev &&
      mount --move "$_d/pts" /dev/pts && : >/dev/log && E2E_MOUNTS="/dev $E2E_MOUNTS"
  fi
  mount --bind "$E2E_TMP/log.sock" /dev/log && E2E_MOUNTS="/dev/log $E2E_MOUNTS" && HAVE_LOG=1
fi
# logged SERVICE-LETTER TEXT: a line of pam_totp under server X's service
# since the last mark (log_mark).
log_mark() { LOG_FROM=$(($(wc -l <"$LOG") + 1)); }
logged() {
  _sv=sshd-$E2E_TAG-$(echo "$1" | tr 'A-Z' 'a-z')
  tail -n +"$LOG_FROM" "$LOG" | grep "pam_totp($_sv:auth)" | grep -qF -- "$2" ||
    { diag "syslog since the mark:"; tail -n +"$LOG_FROM" "$LOG" | sed 's/^/#   /' | tail -5; return 1; }
}
# check_log DESCRIPTION X TEXT: a test point, skipped without our syslog.
check_log() {
  if [ "$HAVE_LOG" = 1 ]; then check "$1" logged "$2" "$3"; else skip "$1 (no syslog of our own here)"; fi
}
LOG_FROM=1

U=${E2E_TAG}f
e2e_user "$U"
e2e_authorize "$U"
e2e_enroll "$F/A.conf" "$U" || bail "totp-setup enroll $U through A failed"
ok "$U enrolled once, through A"

# fleet_sshd X: a private sshd for server X on its own port (SSHD_PORT_X),
# PAM service sshd-$E2E_TAG-x from /etc/pam.d/sshd with the guide's
# key-then-code lines and config=$F/X.conf.
fleet_sshd() {
  _x=$1; _lx=$(echo "$1" | tr 'A-Z' 'a-z')
  _svc=sshd-$E2E_TAG-$_lx
  E2E_CONF=$F/$_x.conf
  e2e_check_base /etc/pam.d/sshd
  e2e_pam_from /etc/pam.d/sshd "$E2E_GUIDE/pam-key-code" >"$E2E_TMP/pam-$_lx"
  grep -q "pam_totp.so config=$F/$_x.conf\$" "$E2E_TMP/pam-$_lx" || bail "PAM service for $_x has no config= line"
  install -m0644 "$E2E_TMP/pam-$_lx" "/etc/pam.d/$_svc"
  e2e_made_file "/etc/pam.d/$_svc"
  [ -f "$E2E_TMP/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$E2E_TMP/host_key" || bail "ssh-keygen failed"
  ln -sf "$(command -v sshd)" "$E2E_TMP/$_svc"   # sshd's PAM service is its program name
  for _try in 1 2 3; do
    _port=$(e2e_free_port) || bail "no free port"
    {
      cat "$E2E_GUIDE/sshd_config-key-code"
      echo "Port $_port"
      echo "ListenAddress 127.0.0.1"
      echo "HostKey $E2E_TMP/host_key"
      echo "PidFile $E2E_TMP/sshd-$_lx.pid"
      echo "AuthorizedKeysFile .ssh/authorized_keys"
      echo "AllowUsers $E2E_TAG*"
      echo "PermitRootLogin no"
      echo "PrintMotd no"
      echo "PrintLastLog no"
      echo "UseDNS no"
      echo "LogLevel VERBOSE"
    } >"$E2E_TMP/sshd_config-$_lx"
    "$E2E_TMP/$_svc" -t -f "$E2E_TMP/sshd_config-$_lx" || bail "sshd -t refuses the config of $_x"
    setpriv --pdeathsig TERM -- "$E2E_TMP/$_svc" -D -f "$E2E_TMP/sshd_config-$_lx" -E "$E2E_TMP/sshd-$_lx.log" &
    _pid=$!
    E2E_PIDS="$E2E_PIDS $_pid"
    _i=0
    while [ $_i -lt 100 ] && kill -0 "$_pid" 2>/dev/null; do
      if [ -n "$(ss -Hltn "sport = :$_port")" ]; then eval "SSHD_PORT_$_x=$_port"; return 0; fi
      sleep 0.1; _i=$((_i + 1))
    done
    e2e_stop "$_pid"
  done
  bail "could not start the private sshd of server $_x"
}
for x in A B C; do fleet_sshd $x; done
ok "three private sshd on ports $SSHD_PORT_A, $SSHD_PORT_B, $SSHD_PORT_C, PAM services with config= A, B, C"

# on X: the next e2e_ssh goes to server X's sshd (and a failure shows its log).
on() {
  eval "E2E_PORT=\$SSHD_PORT_$1"
  ln -sf "$E2E_TMP/sshd-$(echo "$1" | tr 'A-Z' 'a-z').log" "$E2E_TMP/sshd.log"
}
login_ok_on() { on "$1"; shift; e2e_login_ok key "$@"; }
login_refused_on() { on "$1"; shift; e2e_login_refused key "$@"; }

# --- one code, three servers: all within one time step (checked) --------
e2e_fresh_step "$U" 12
step0=$(e2e_step "$U")
X=$(e2e_code "$U")
NEXT=$(e2e_code "$U" 1)
check "A: key + code X: logged in" login_ok_on A "$U" "" "$X"
refused_after_code_on() { login_refused_on "$@" && [ "$(e2e_prompts)" = code ]; }
log_mark
check "B: the same code X: refused (after the code prompt)" refused_after_code_on B "$U" "" "$X"
check_log "  (B's pam_totp logs: replayed code)" B "user=$U rhost=127.0.0.1: replayed code"
check "C: a new code (the next step's, inside the window): logged in" login_ok_on C "$U" "" "$NEXT"
check "A: that new code again: refused" login_refused_on A "$U" "" "$NEXT"
step2=$(e2e_step "$U")
if [ $((step2 - step0)) -le 1 ]; then ok "  (all within the window: steps $step0..$step2)"
else not_ok "  (all within the window: steps $step0..$step2)"; fi
check "status through B: C's login is the last one, from 127.0.0.1" \
  sh -c '[ "$("$1" --config "$2" status --user "$3" --json | jq -r .last_login.rhost)" = 127.0.0.1 ]' - \
  "$FLEET_TOOL" "$F/B.conf" "$U"

# --- the directory stops answering --------------------------------------
# A recovery code is valid at any time: the same answer before and after the
# pause, so the refusal can only be the directory's, and it must not be
# used up by the refused login.
RC=$(e2e_recovery "$U" 0)
ldap_pause
t0=$(date +%s%N)
on A
log_mark
e2e_ssh key "$U" "" "$RC"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ldap_resume
paused_refused() { [ $rc = 255 ] && [ $ms -lt 7000 ] && ! e2e_ran_as "$U"; }
check "slapd paused: key + a valid recovery code on A refused, in $ms ms (ldap_timeout 3 s)" paused_refused
check "  (sshd says so: Permission denied)" e2e_last_has 'permission denied'
check_log "  (A's pam_totp logs why: the directory is unreachable)" A "directory unreachable"
check "slapd resumed: that recovery code logs in on B" login_ok_on B "$U" "" "$RC"
check "and is then refused on C" login_refused_on C "$U" "" "$RC"

done_testing
