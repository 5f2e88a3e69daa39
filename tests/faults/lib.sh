# SPDX-License-Identifier: Apache-2.0
# tests/faults/lib.sh: shared by the fault suites tests/faults/*.t (issue 19).
# Each suite makes one fault for real (a full tmpfs, a FUSE filesystem that
# fails on demand, a read-only bind mount, a clock set back and forward)
# under the state directory of the INSTALLED normal build, and checks
# "fail closed, lose nothing" through PAM and through totp-setup.
#
# Environment (scripts/test-all.sh sets it): SRC_DIR, BUILD_DIR (the normal
# build: tests/pam/pam_driver, built by make check), PREFIX (its install).
# Logins go through tests/pam/pam_driver: libpam itself loads the installed
# module from a service file of the suite's own; the driver gives the module
# its clock (PAM_TOTP_TEST_NOW) and prints each syslog line ("SYSLOG level:
# text"). The tool enrols only accounts that exist: the suites use Debian's
# base-passwd system accounts (A=bin, B=sys, C=games, D=man, E1..E4=lp mail
# news uucp), enrolled in the suite's own state directory only.
set -u

F_SRC=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
F_BUILD=${BUILD_DIR:-$F_SRC/_build/normal}
F_PREFIX=${PREFIX:-$F_BUILD/inst}
F_MODULE=$F_PREFIX/lib/security/pam_totp.so
F_TOOL=$F_PREFIX/bin/totp-setup
F_DRIVER=$F_BUILD/tests/pam/pam_driver
F_T0=$(date +%s)
A=bin B=sys C=games D=man E1=lp E2=mail E3=news E4=uucp

f_n=0
f_failed=0
ok() { f_n=$((f_n + 1)); echo "ok $f_n - $*"; }
not_ok() { f_n=$((f_n + 1)); f_failed=$((f_failed + 1)); echo "not ok $f_n - $*"; }
skip() { f_n=$((f_n + 1)); echo "ok $f_n # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail() { echo "Bail out! $*"; exit 1; }
# check DESCRIPTION COMMAND...: one point; shows the last output on failure.
check() {
  _d=$1; shift
  if "$@"; then ok "$_d"; else not_ok "$_d"; f_show; fi
}
f_show() { [ -f "$T/out" ] && sed 's/^/#   | /' "$T/out" | tail -12; return 0; }
done_testing() { diag "took $(( $(date +%s) - F_T0 )) s"; echo "1..$f_n"; }

# f_init: root, tools, the installed product, a temp dir with a trap.
f_init() {
  [ "$(id -u)" = 0 ] || skip_all "needs root (mounts, a root-owned state directory)"
  PATH=$PATH:/usr/sbin:/sbin
  for _t in oathtool jq mount umount; do
    command -v "$_t" >/dev/null 2>&1 || skip_all "$_t not installed (scripts/install-deps.sh)"
  done
  [ -f "$F_MODULE" ] || bail "pam_totp.so not found at $F_MODULE (make install with --prefix=\$PREFIX first)"
  [ -x "$F_TOOL" ] || bail "totp-setup not found at $F_TOOL"
  [ -x "$F_DRIVER" ] || skip_all "$F_DRIVER not built (make check builds it)"
  for _u in bin sys games man lp mail news uucp; do
    getent passwd "$_u" >/dev/null 2>&1 || skip_all "no account '$_u' here (the suites enrol base-passwd's accounts)"
  done
  T=$(mktemp -d /tmp/pam_totp-faults.XXXXXX) || bail "mktemp failed"
  chmod 0700 "$T"
  F_MOUNTS=""
  F_PIDS=""
  trap f_cleanup EXIT
  trap 'exit 1' INT TERM HUP
}

f_cleanup() {
  set +e
  for _m in $F_MOUNTS; do umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null; done
  for _p in $F_PIDS; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done
  [ -n "${T:-}" ] && rm -rf -- "$T"
  return 0
}

# f_config [LINES...]: $CONF with the key in $T/key and the state in
# $STATE ($T/state unless set before), a PAM service "totp" that stacks the
# installed module with it, and `totp-setup init`.
f_config() {
  STATE=${STATE:-$T/state}
  CONF=$T/pam_totp.conf
  { echo "key_file = $T/key"; echo "state_dir = $STATE"; for _l in "$@"; do echo "$_l"; done; } >"$CONF"
  chmod 0600 "$CONF"
  mkdir -p "$T/pam.d"
  printf 'auth required %s config=%s\n' "$F_MODULE" "$CONF" >"$T/pam.d/totp"
  # the rollout stack: nullok's PAM_IGNORE lets the next module (here
  # pam_permit, for the password module) decide; a refusal ends it
  printf 'auth [success=ok ignore=ignore default=bad] %s config=%s nullok\nauth required pam_permit.so\n' \
    "$F_MODULE" "$CONF" >"$T/pam.d/totp-nullok"
  tool init >/dev/null || bail "totp-setup init failed: $(cat "$T/tool.err")"
}

# tool ARGS...: totp-setup with $CONF; stdout to stdout, stderr in $T/tool.err.
tool() { "$F_TOOL" --config "$CONF" "$@" 2>"$T/tool.err"; }
tool_err_has() { grep -qiF -- "$1" "$T/tool.err"; }

# enrol USER: enrols USER with --yes; the JSON (URI, recovery codes) kept.
enrol() {
  mkdir -p "$T/enrol"
  tool enroll --user "$1" --yes --json >"$T/enrol/$1.json" && jq -e .uri "$T/enrol/$1.json" >/dev/null
}
uri_param() { jq -r .uri "$T/enrol/$1.json" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
recovery() { jq -r ".recovery_codes[$2]" "$T/enrol/$1.json"; }
# code USER TIME: USER's TOTP code at unix TIME (oathtool).
code() {
  _alg=$(uri_param "$1" algorithm | tr 'A-Z' 'a-z')
  _m=--totp; [ -n "$_alg" ] && [ "$_alg" != sha1 ] && _m=--totp=$_alg
  _p=$(uri_param "$1" period)
  oathtool "$_m" -b -d "$(uri_param "$1" digits)" -s "${_p:-30}s" -N "@$2" "$(uri_param "$1" secret)"
}
# NOW: a step boundary well after boot; each login picks its own time from
# it, so that no suite waits for a fresh step.
NOW=$(( $(date +%s) / 30 * 30 ))

# login [--service S] USER TIME ANSWER: one pam_authenticate at TIME; the
# driver's output (RESULT, SYSLOG lines) in $T/out.
login() {
  _svc=totp
  if [ "$1" = --service ]; then _svc=$2; shift 2; fi
  PAM_TOTP_TEST_NOW=$2 PAM_TOTP_TEST_UPTIME=864000 "$F_DRIVER" --confdir "$T/pam.d" --service "$_svc" \
    --user "$1" --rhost faults.example --answer "$3" >"$T/out" 2>&1
}
result_is() { grep -q "^RESULT: $1\$" "$T/out"; }
accepts() { login "$@" && result_is PAM_SUCCESS; }
# refused: PAM_AUTH_ERR, never PAM_SUCCESS and never PAM_IGNORE.
refuses() { login "$@"; [ $? = 7 ] && result_is PAM_AUTH_ERR; }
logged() { grep '^SYSLOG ' "$T/out" | grep -qiE -- "$1"; }
# one_line_says EREGEX: exactly one syslog line of the login matches.
one_line_says() { [ "$(grep '^SYSLOG ' "$T/out" | grep -ciE -- "$1")" = 1 ]; }

# status_field USER FIELD: from `totp-setup status --json`.
status_field() { tool status --user "$1" --json | jq -r ".$2"; }
# all_load: `totp-setup list` reads every record (exit 0, no error state).
all_load() { tool list --json >"$T/list.json" && ! jq -e '.users[] | select(.state == "error")' "$T/list.json" >/dev/null; }
# no_temp_files DIR: no ".NAME.tmp" left behind.
no_temp_files() { [ -z "$(find "$1" -maxdepth 1 -name '.*.tmp' -print)" ]; }

# f_ns_mode: prints how a private mount namespace can be made here
# (--propagation private; or unchanged where no mount is shared, as in a
# container's chroot); nothing, and the reason in $T/ns.why, when it cannot
# (tests/e2e/lib.sh's e2e_ns_mode, whose rule this is).
f_ns_mode() {
  if _e=$(unshare --mount --propagation private -- true 2>&1); then echo private; return 0; fi
  _e=$(printf '%s' "${_e:-unshare --mount failed}" | head -1)
  if _m=$(unshare --mount --propagation unchanged -- findmnt -rn -o TARGET,PROPAGATION 2>/dev/null); then
    _s=$(printf '%s\n' "$_m" | awk '$2 ~ /shared/ { print $1; exit }')
    [ -z "$_s" ] && { echo unchanged; return 0; }
    _e="$_e (and with the propagation unchanged, mounts would leak out: $_s is shared)"
  fi
  echo "$_e" >"$T/ns.why"
  return 1
}
