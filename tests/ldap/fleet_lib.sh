# SPDX-License-Identifier: Apache-2.0
# tests/ldap/fleet_lib.sh: "servers" of one fleet for the fleet-store suites
# (tests/ldap/fleet.t at the PAM level, tests/e2e/ssh-fleet.t through sshd).
#
# POSIX sh, sourced after tests/ldap/slapd_lib.sh (and after ldap_start: the
# server configs carry its ldap_conf_lines). A "server" is what one machine
# of a fleet has: its own pam_totp.conf, its own state_dir and its own copy
# of the fleet's master key file, and the same ldap_* lines as every other.
#
# fleet_server DIR NAME KEYFROM [LINE...]
#   Makes DIR/NAME/ (root 0700) and DIR/NAME.conf (0600): state_dir and
#   key_file under DIR/NAME, the ldap_conf_lines, then the LINEs. KEYFROM:
#     new          `totp-setup init` makes a fresh master key (the first
#                  server of a fleet, or a server of another fleet)
#     PATH         the key file PATH is copied (install -m0600, as the deploy
#                  guide says: the same bytes on every server), then
#                  `totp-setup init` makes the state directory and must keep
#                  the copied key
#   Returns non-zero (with the tool's output on stderr) when init fails.
#   Prints nothing; the config is DIR/NAME.conf, the key DIR/NAME/key.
# fleet_conf_set DIR/NAME.conf KEY VALUE: replaces a setting's line.
# fleet_service CONFDIR SERVICE CONF [ARGS...]
#   A PAM service file CONFDIR/SERVICE whose one auth line loads the
#   installed module with config=CONF and ARGS; CONFDIR/other is made empty
#   (libpam reads it when nothing else matches).
# fleet_secret JSON: the base32 secret from `enroll --json`'s "uri".
# fleet_code SECRET UNIXTIME: the 6-digit SHA1/30 s code at that time.
# fleet_wrong SECRET UNIXTIME: a 6-digit answer that is none of the codes
#   of the 5 steps around UNIXTIME (wrong whatever the window).

FLEET_PREFIX=${PREFIX:-${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/_build/normal/inst}
FLEET_MODULE=$FLEET_PREFIX/lib/security/pam_totp.so
FLEET_TOOL=$FLEET_PREFIX/bin/totp-setup

fleet_server() {
  _fd=$1; _fn=$2; _fk=$3; shift 3
  install -d -m0700 "$_fd/$_fn" || return 1
  {
    echo "# server $_fn of a test fleet (tests/ldap/fleet_lib.sh)"
    echo "state_dir = $_fd/$_fn/state"
    echo "key_file = $_fd/$_fn/key"
    ldap_conf_lines
    for _fl in "$@"; do echo "$_fl"; done
  } >"$_fd/$_fn.conf" || return 1
  chmod 0600 "$_fd/$_fn.conf"
  if [ "$_fk" != new ]; then
    install -m0600 -o root -g root "$_fk" "$_fd/$_fn/key" || return 1
  fi
  "$FLEET_TOOL" --config "$_fd/$_fn.conf" init >"$_fd/$_fn/init.out" 2>&1 ||
    { cat "$_fd/$_fn/init.out" >&2; return 1; }
  if [ "$_fk" != new ]; then
    cmp -s "$_fk" "$_fd/$_fn/key" || { echo "fleet_server: init changed the copied key of $_fn" >&2; return 1; }
  fi
  return 0
}

fleet_conf_set() {
  _fc=$1; _fkey=$2; _fval=$3
  sed -i "/^$_fkey *=/d" "$_fc" && echo "$_fkey = $_fval" >>"$_fc"
}

fleet_service() {
  _fsd=$1; _fss=$2; _fsc=$3; shift 3
  mkdir -p "$_fsd" && : >"$_fsd/other"
  echo "auth required $FLEET_MODULE config=$_fsc${*:+ $*}" >"$_fsd/$_fss"
}

fleet_secret() { jq -r .uri "$1" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p'; }

fleet_code() { oathtool --totp -b -d 6 -s 30s -N "@$2" "$1"; }

fleet_wrong() {
  _fcodes=" $(for _s in -2 -1 0 1 2; do fleet_code "$1" $(($2 + _s * 30)); done | tr '\n' ' ') "
  for _fw in 000000 111111 222222 333333 444444 555555; do
    case $_fcodes in *" $_fw "*) continue ;; esac
    echo "$_fw"; return 0
  done
  return 1
}
