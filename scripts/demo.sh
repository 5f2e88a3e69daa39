#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The README's first command: on a fresh Debian 12 machine, as root,
#   sh scripts/demo.sh
# installs the dependencies, builds pam_totp, installs it into a temporary
# prefix, enrols a demo user with totp-setup (QR code and all), starts a
# private sshd on 127.0.0.1 whose PAM stack is the deploy guide's key-then-
# code lines, and logs in through the real ssh client typing the current
# code from oathtool; then shows that the same code is refused a second time.
#
# It leaves nothing behind: the build, the prefix, the key and the state live
# in one temporary directory that is removed at the end; the sshd it starts
# is stopped. The demo user and the PAM service exist only inside a private
# mount namespace in which /etc and /home are copy-on-write overlays (see
# tests/e2e/lib.sh), so nothing under the real /etc is written at all; where
# the kernel refuses such a namespace, they are created for the duration and
# removed by a trap.
#
# Usage: sh scripts/demo.sh
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)

DEMO_START=${DEMO_START:-$(date +%s)}
export DEMO_START
say() { printf '\n\033[1m==> %s\033[0m  [%s s]\n' "$*" "$(( $(date +%s) - DEMO_START ))"; }
# a session as the person at the terminal saw it
session() { grep -v -e '^E2E-PROMPTS' -e 'Permanently added' "$1" | tr -d '\r' | sed '/^$/d; s/^/    | /'; }
show() { printf '    $ %s\n' "$*"; }

# ------------------------------------------------------------------ part 2
# Runs inside the private mount namespace (lib.sh re-executes this script
# there), after the build: the enrolment and the logins.
if [ "${1:-}" = --login-part ]; then
  work=$2
  SRC_DIR=$src PREFIX=$work/prefix E2E_TAG=totpdemo
  export SRC_DIR PREFIX E2E_TAG
  . "$src/tests/e2e/lib.sh"
  e2e_init "$@"
  if [ "$E2E_ISOLATED" = yes ]; then
    echo "    (in a private mount namespace: /etc and /home are copy-on-write here, the real ones stay untouched)"
  else
    echo "    (no private mount namespace here: the demo user and PAM service are removed again by a trap)"
  fi
  user=totpdemo
  getent passwd "$user" >/dev/null && bail "a user '$user' already exists; the demo will not touch it"

  say "5. A config of our own, then 'totp-setup init' (master key + state directory)"
  e2e_config demo
  sed 's/^/    | /' "$E2E_CONF"
  show "totp-setup --config $E2E_CONF init"
  sed 's/^/    /' "$E2E_TMP/init.out"
  ls -la "$E2E_TMP/pam_totp.key" "$E2E_TMP/state" | sed 's/^/    /'

  say "6. The demo user '$user' (a throwaway account with an ssh key), enrolled by root"
  e2e_user "$user"
  e2e_authorize "$user"
  show "totp-setup --config $E2E_CONF enroll --user $user --yes --qr utf8"
  "$E2E_TOOL" --config "$E2E_CONF" enroll --user "$user" --yes --qr utf8 >"$E2E_TMP/enrol.out" 2>&1 ||
    { cat "$E2E_TMP/enrol.out"; bail "enrolment failed"; }
  cat "$E2E_TMP/enrol.out"
  uri=$(grep -o 'otpauth://totp/[^[:space:]]*' "$E2E_TMP/enrol.out" | head -1)
  [ -n "$uri" ] || bail "no otpauth:// URI in totp-setup's output"
  mkdir -p "$E2E_TMP/enrol"
  jq -n --arg uri "$uri" '{uri: $uri}' >"$E2E_TMP/enrol/$user.json"
  echo "    (A phone would scan the QR code; this demo reads the secret from the URI and"
  echo "     computes codes with oathtool, an independent RFC 6238 implementation.)"

  say "7. A private sshd on 127.0.0.1 with the deploy guide's key-then-code lines"
  e2e_sshd_service "$E2E_GUIDE/pam-key-code"
  e2e_sshd_start "$E2E_GUIDE/sshd_config-key-code"
  echo "    sshd_config (README 'Deploy on a server'):"
  sed 's/^/    | /' "$E2E_GUIDE/sshd_config-key-code"
  echo "    PAM service /etc/pam.d/$E2E_SERVICE = /etc/pam.d/sshd with '@include common-auth' replaced by:"
  sed 's/^/    | /' "$E2E_TMP/auth-lines"
  echo "    listening on 127.0.0.1:$E2E_PORT (pid $E2E_SSHD_PID)"

  say "8. Log in with real ssh: the key, then the current code"
  e2e_fresh_step "$user" 5
  code=$(e2e_code "$user")
  show "oathtool --totp -b SECRET    # -> $code"
  show "ssh -p $E2E_PORT -i client_key $user@127.0.0.1 '$E2E_CMD'"
  echo "    (expect types $code at the prompt; the terminal does not echo it)"
  if e2e_login_ok key "$user" "" "$code"; then
    session "$E2E_TMP/last.out"
    echo "    => logged in: the command ran as $user"
  else
    e2e_show_last; bail "the login with the right code failed"
  fi

  say "9. The same code once more: a replay, refused"
  show "ssh -p $E2E_PORT -i client_key $user@127.0.0.1 ...    # typing $code again"
  if e2e_login_refused key "$user" "" "$code"; then
    session "$E2E_TMP/last.out"
    echo "    => refused: a code is good for one login only"
  else
    e2e_show_last; bail "the replayed code was not refused"
  fi

  say "10. Cleaning up: stopping sshd, removing the user and the PAM service"
  exit 0
fi

# ------------------------------------------------------------------ part 1
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and runs a private sshd)" >&2; exit 1; }

if [ -f "$src/config.status" ]; then
  echo "demo.sh: $src was configured in place; the demo builds out of tree: run 'make distclean' there first" >&2
  exit 1
fi

say "1. Dependencies (scripts/install-deps.sh, apt-get)"
sh "$src/scripts/install-deps.sh"

work=$(mktemp -d /tmp/pam_totp-demo.XXXXXX)
chmod 0700 "$work"
cleanup() {
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say "2. autoreconf"
show "autoreconf -fi"
(cd "$src" && autoreconf -fi >"$work/autoreconf.out" 2>&1) || { cat "$work/autoreconf.out"; exit 1; }

say "3. Build in $work/build"
show "configure --prefix=$work/prefix && make -j$(nproc)"
mkdir -p "$work/build"
(cd "$work/build" && "$src/configure" -q --prefix="$work/prefix" >"$work/configure.out" 2>&1) ||
  { tail -30 "$work/configure.out"; exit 1; }
(cd "$work/build" && make -j"$(nproc)" >"$work/make.out" 2>&1) || { tail -40 "$work/make.out"; exit 1; }

say "4. Install into the temporary prefix $work/prefix"
show "make install"
(cd "$work/build" && make install >"$work/install.out" 2>&1) || { tail -30 "$work/install.out"; exit 1; }
(cd "$work/prefix" && find . -type f \( -name 'pam_totp.so' -o -path './bin/*' \) | sed 's/^/    /')

# From here on: nothing under /etc may change. A marker to prove it.
touch "$work/etc-marker"
sleep 1
sh "$0" --login-part "$work" || { echo "demo.sh: the login part failed (see above)"; exit 1; }

say "11. Checks"
changed=$(find /etc -newer "$work/etc-marker" 2>/dev/null | head -5)
if [ -z "$changed" ]; then echo "    nothing under /etc changed"; else echo "    changed under /etc:"; echo "$changed" | sed 's/^/      /'; fi
if ps -eo args | grep -q '^sshd-totpdemo'; then echo "    an sshd-totpdemo is still running!"; else echo "    no demo sshd left running"; fi
getent passwd totpdemo >/dev/null && echo "    the demo user still exists!" || echo "    no demo user left"
echo "    demo took $(( $(date +%s) - DEMO_START )) s; removing $work"
