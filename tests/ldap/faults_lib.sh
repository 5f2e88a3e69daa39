# SPDX-License-Identifier: Apache-2.0
# tests/ldap/faults_lib.sh: helpers for tests/ldap/faults.t (directory
# faults during PAM logins through the installed module).
#
# POSIX sh, sourced after tests/ldap/slapd_lib.sh, with these set:
#   T        the suite's work directory (configs, PAM service files, results)
#   R        where each login's output, exit status and wall time go
#   MODULE   the installed pam_totp.so      TOOL    the installed totp-setup
#   DRIVER   tests/pam/pam_driver           CHECK_MODULE  pam_check_authtok.so
#
# Logins (a result id names each one; all of it is kept in $R):
#   login ID SERVICE USER TIME ANSWER   one pam_authenticate at a faked time,
#       SIGPIPE at its default disposition (so a stray one would kill the
#       driver), host state checked; $R/ID.out, $R/ID.rc (128+N: signal N),
#       $R/ID.ms (wall time). Safe to run in the background.
#   gated_login ID SERVICE USER TIME ANSWER   the same, but the driver is held
#       right after the module prompted (its stdout is a full pipe: the
#       prompt line cannot be written), that is between the record's first
#       read and the judged update. Returns once the driver is held; do the
#       fault, then `release ID` and `wait_gate ID`. $R/ID.ms counts from the
#       release (the prompt's time is the human's, not the directory's).
#   tool_status ID CONF USER   `totp-setup status`: $R/ID.err, .rc, .ms
# Verdicts on a finished login:
#   refused ID MS   PAM_AUTH_ERR: exit 7 and the RESULT line, no signal, within
#                   MS, host state unchanged (see host_ok)
#   accepted ID MS  PAM_SUCCESS likewise
#   logged ID TEXT / not_logged ID TEXT   a SYSLOG line of the driver with TEXT
# Configuration:
#   mkconf NAME [SETTING=VALUE]...  $T/NAME.conf: the working directory config
#       (ldap_timeout = $TIMEOUT) with these settings replaced or added, and
#       two PAM services: NAME (auth required pam_totp) and NAME-n (nullok,
#       PAM_IGNORE goes on to a marker module, anything else ends the stack)
# Records:
#   record USER             the entry's pamTotpEnrolment and pamTotpLedger as
#                           root sees them (LDIF, base64)
#   attr USER ATTR          one value, base64
#   set_attr USER ATTR B64  replace it, as root
#   code TIME USER          the user's right code at TIME (oathtool)

f_ms() { echo $(($(date +%s%N) / 1000000)); }
# A numeric remote host: libpam's audit record resolves PAM_RHOST, and a
# name sent to this machine's resolver sometimes waited 5 s (its timeout),
# which is no time of the module's.
RHOST=192.0.2.7

login() {
  _fid=$1 _fsvc=$2 _fuser=$3 _ft=$4 _fans=$5
  _fs=$(f_ms)
  PAM_TOTP_TEST_NOW=$_ft env --default-signal=PIPE "$DRIVER" --confdir "$T/pam.d" --service "$_fsvc" \
    --user "$_fuser" --rhost "$RHOST" --answer "$_fans" --check-host-state >"$R/$_fid.out" 2>&1
  echo $? >"$R/$_fid.rc"
  echo $(($(f_ms) - _fs)) >"$R/$_fid.ms"
  LAST=$_fid
}

# The gate: python3 $T/gate.py RESULTS ID COMMAND... (see gated_login).
f_write_gate() {
  cat >"$T/gate.py" <<'EOF'
import fcntl, os, signal, subprocess, sys, time
rdir, rid, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
base = os.path.join(rdir, rid)
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)                      # F_SETPIPE_SZ: one page
size = fcntl.fcntl(w, 1032)                     # F_GETPIPE_SZ
fill = size - 8                                 # no room for a prompt line
os.write(w, b"#" * fill)
p = subprocess.Popen(cmd, stdout=w, stderr=w, stdin=subprocess.DEVNULL)  # SIGPIPE: default
os.close(w)
held = "no"
end = time.monotonic() + 10
while time.monotonic() < end and p.poll() is None:
    try:
        with open("/proc/%d/syscall" % p.pid) as f:
            sc = f.read().split()
    except OSError:
        sc = []
    if sc[:2] == ["1", "0x1"]:                  # write(1, ...): held at its first line
        held = "yes"
        break
    time.sleep(0.002)
with open(base + ".held", "w") as f:
    f.write(held + "\n")
while not os.path.exists(base + ".go"):
    time.sleep(0.002)
t0 = time.monotonic()
data = b""
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    data += chunk
rc = p.wait()
ms = int((time.monotonic() - t0) * 1000)
with open(base + ".out", "wb") as f:
    f.write(data[fill:])
with open(base + ".rc", "w") as f:
    f.write("%d\n" % (rc if rc >= 0 else 128 - rc))
with open(base + ".ms", "w") as f:
    f.write("%d\n" % ms)
EOF
}

gated_login() {
  _fid=$1 _fsvc=$2 _fuser=$3 _ft=$4 _fans=$5
  rm -f "$R/$_fid.held" "$R/$_fid.go"
  PAM_TOTP_TEST_NOW=$_ft python3 "$T/gate.py" "$R" "$_fid" "$DRIVER" --confdir "$T/pam.d" --service "$_fsvc" \
    --user "$_fuser" --rhost "$RHOST" --answer "$_fans" --check-host-state &
  GATE_PID=$!
  _fi=0
  while [ ! -s "$R/$_fid.held" ] && [ $_fi -lt 400 ]; do sleep 0.01; _fi=$((_fi + 1)); done
  LAST=$_fid
  grep -qx yes "$R/$_fid.held" 2>/dev/null
}
release() { : >"$R/$1.go"; }
wait_gate() { wait "$GATE_PID" 2>/dev/null; GATE_PID=""; }

tool_status() {
  _fs=$(f_ms)
  env --default-signal=PIPE "$TOOL" status --config "$2" --user "$3" >"$R/$1.stdout" 2>"$R/$1.err" </dev/null
  echo $? >"$R/$1.rc"
  echo $(($(f_ms) - _fs)) >"$R/$1.ms"
  LAST=$1
}
# tool_failed ID MS TEXT: a failure exit (not 0, not a signal), within MS,
# one stderr line containing TEXT, nothing on stdout. tool_exit1 ID: the
# status totp-setup(1) gives "the directory could not be used": 1.
tool_failed() {
  _fr=$(cat "$R/$1.rc")
  [ "$_fr" != 0 ] && [ "$_fr" -lt 128 ] && [ "$(cat "$R/$1.ms")" -le "$2" ] &&
    [ "$(wc -l <"$R/$1.err")" = 1 ] && grep -qF -- "$3" "$R/$1.err" && [ ! -s "$R/$1.stdout" ]
}
tool_exit1() { [ "$(cat "$R/$1.rc")" = 1 ]; }
# ledger_state USER: what the ledger says, through the tool (JSON, one line).
ledger_state() {
  "$TOOL" status --config "$T/good.conf" --user "$1" --json |
    jq -c '{failures, last: .last_login.unix, recovery: .recovery_codes_left, locked: .locked_until_unix}'
}

# host_ok ID: the driver found its host state unchanged (fds, threads,
# umask, cwd, signal dispositions and mask, rlimits).
host_ok() { grep -qx 'HOST_STATE: unchanged' "$R/$1.out"; }
f_result() { grep -qx "RESULT: $2" "$R/$1.out"; }
refused() {
  [ "$(cat "$R/$1.rc")" = 7 ] && f_result "$1" PAM_AUTH_ERR && [ "$(cat "$R/$1.ms")" -le "$2" ] && host_ok "$1"
}
accepted() {
  [ "$(cat "$R/$1.rc")" = 0 ] && f_result "$1" PAM_SUCCESS && [ "$(cat "$R/$1.ms")" -le "$2" ] && host_ok "$1"
}
# ignored ID: pam_totp said PAM_IGNORE (the nullok service went on to the marker).
ignored() { f_result "$1" PAM_SUCCESS && grep -q '^INFO: check_authtok: reached' "$R/$1.out"; }
logged() { grep '^SYSLOG ' "$R/$1.out" | grep -qF -- "$2"; }
not_logged() { ! grep '^SYSLOG ' "$R/$1.out" | grep -qF -- "$2"; }
ms_of() { cat "$R/$1.ms"; }

mkconf() {
  _fn=$1; shift
  {
    printf 'key_file = %s\nstate_dir = %s\n' "$T/key" "$T/state"
    ldap_conf_lines | sed "s/^ldap_timeout = .*/ldap_timeout = $TIMEOUT/"
  } >"$T/$_fn.conf"
  for _fkv in "$@"; do
    _fk=${_fkv%%=*}
    grep -v "^$_fk = " "$T/$_fn.conf" >"$T/$_fn.conf.new"
    printf '%s = %s\n' "$_fk" "${_fkv#*=}" >>"$T/$_fn.conf.new"
    mv "$T/$_fn.conf.new" "$T/$_fn.conf"
  done
  chmod 600 "$T/$_fn.conf"
  printf 'auth required %s config=%s\n' "$MODULE" "$T/$_fn.conf" >"$T/pam.d/$_fn"
  printf 'auth [success=done ignore=ignore default=die] %s config=%s nullok\nauth required %s reached\n' \
    "$MODULE" "$T/$_fn.conf" "$CHECK_MODULE" >"$T/pam.d/$_fn-n"
}

record() {
  ldap_as_root ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$LDAP_BASE" -s base pamTotpEnrolment pamTotpLedger 2>&1
}
attr() { record "$1" | sed -n "s/^$2:: //p"; }
set_attr() {
  printf 'dn: uid=%s,%s\nchangetype: modify\nreplace: %s\n%s:: %s\n' "$1" "$LDAP_BASE" "$2" "$2" "$3" |
    ldap_as_root ldapmodify >/dev/null 2>&1
}
code() { oathtool --totp -b -N "@$1" "$(cat "$T/secret.$2")"; }
# replayed ID: refused as a replayed code.
replayed() { [ "$(cat "$R/$1.rc")" = 7 ] && logged "$1" "replayed code"; }
# nullok_refused ID MS [TEXT]: refused (see refused), never "not enrolled",
# never on to the next module (PAM_IGNORE), with TEXT in the log if given.
nullok_refused() {
  refused "$1" "$2" && not_logged "$1" "not enrolled" && ! grep -q 'check_authtok: reached' "$R/$1.out" &&
    { [ $# -lt 3 ] || logged "$1" "$3"; }
}
