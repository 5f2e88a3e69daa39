# SPDX-License-Identifier: Apache-2.0
# Common setup for tests/pam/*.sh (TAP). Sourced; needs top_builddir.
# Each test gets a fresh root-owned 0700 directory with a master key, a state
# directory, a config file and a PAM confdir whose service files load the
# module under test by absolute path. Time is faked per login through
# PAM_TOTP_TEST_NOW (see fake_host.cc); codes come from oathtool.
set -u
: "${top_builddir:?top_builddir must be set (make check sets it)}"

MODULE=$top_builddir/pam_totp.so
CHECK_MODULE=$top_builddir/tests/pam/.libs/pam_check_authtok.so
DRIVER=$top_builddir/tests/pam/pam_driver
MKREC=$top_builddir/tests/pam/make_user_record

# Throwaway test secrets (RFC 6238's test keys and a made-up one).
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
SECRET2=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
# A unix time on a 30 s step boundary.
T0=1700000010

tap_n=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
# check DESCRIPTION COMMAND...: ok if the command succeeds; shows the last
# driver output when it does not.
check() {
  tap_desc=$1; shift
  if "$@"; then ok "$tap_desc"; else not_ok "$tap_desc"; sed 's/^/# /' "$T/out" 2>/dev/null | tail -15; fi
}
finish() { echo "1..$tap_n"; }

needs_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root: the module accepts only root-owned key and state files"
    exit 0
  fi
}
needs_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "1..0 # SKIP $tool not installed"; exit 0; }
  done
}

# setup: fresh key, state, config and confdir in $T; service "totp" stacks
# the module with the arguments given.
setup() {
  needs_root
  needs_tools oathtool
  for f in "$MODULE" "$DRIVER" "$MKREC"; do
    [ -e "$f" ] || { echo "Bail out! $f not built"; exit 1; }
  done
  T=$(mktemp -d)
  trap 'rm -rf "$T"' EXIT
  trap 'exit 1' INT TERM HUP
  "$MKREC" init "$T" || { echo "Bail out! make_user_record init failed"; exit 1; }
  CONF=$T/pam_totp.conf
  printf 'key_file = %s\nstate_dir = %s\n' "$T/key" "$T/state" >"$CONF"
  chmod 600 "$CONF"
  mkdir "$T/pam.d"
  : >"$T/pam.d/other"
  service totp "auth required $MODULE config=$CONF $*"
}

# conf_with NAME LINE...: a config file $T/NAME.conf with $CONF's lines and
# these (for the file-only settings: deny, unlock_time, fail_interval);
# prints its path.
conf_with() {
  cw_path=$T/$1.conf; shift
  { cat "$CONF"; printf '%s\n' "$@"; } >"$cw_path"
  chmod 600 "$cw_path"
  printf '%s\n' "$cw_path"
}

# service NAME LINE...: writes a service file.
service() {
  svc_name=$1; shift
  printf '%s\n' "$@" >"$T/pam.d/$svc_name"
}

# enrol USER [make_user_record options]: an active record for $SECRET.
enrol() {
  en_user=$1; shift
  "$MKREC" enrol "$T" "$en_user" "$SECRET" "$@"
}

# code TIME [DIGITS PERIOD ALGORITHM [SECRET]]: the TOTP code from oathtool.
code() {
  c_alg=$(echo "${4:-sha1}" | tr 'A-Z' 'a-z')
  oathtool --totp="$c_alg" -b -d "${2:-6}" -s "${3:-30}s" -N "@$1" "${5:-$SECRET}"
}

# login [--service S] USER TIME [driver options]: one pam_authenticate at a
# faked time; output in $T/out; returns the PAM result.
login() {
  l_svc=totp
  if [ "$1" = --service ]; then l_svc=$2; shift 2; fi
  l_user=$1; l_now=$2; shift 2
  PAM_TOTP_TEST_NOW=$l_now "$DRIVER" --confdir "$T/pam.d" --service "$l_svc" --user "$l_user" \
    --rhost test.example "$@" >"$T/out" 2>&1
}

result_is() { grep -q "^RESULT: $1\$" "$T/out"; }
out_has() { grep -qF -- "$1" "$T/out"; }
out_lacks() { ! grep -qF -- "$1" "$T/out"; }
prompted() { grep -q '^PROMPT_' "$T/out"; }
# syslog_has TEXT: a syslog line of the module containing TEXT.
syslog_has() { grep '^SYSLOG ' "$T/out" | grep -qF -- "$1"; }
# ledger FIELD: one field of the user's ledger (make_user_record show).
ledger() { "$MKREC" show "$T" "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# accepts USER TIME ANSWER: login with ANSWER succeeds.
accepts() { login "$1" "$2" --answer "$3" && result_is PAM_SUCCESS; }
# refuses USER TIME ANSWER: login with ANSWER is PAM_AUTH_ERR.
refuses() { login "$1" "$2" --answer "$3"; [ $? = 7 ] && result_is PAM_AUTH_ERR; }
