#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every build, test, demo and packaging dependency of pam_totp from
# Debian 12's archive. Idempotent: packages already present are left alone.
# Must run as root (apt-get). Services in the packages (openssh-server) are
# NOT started: a policy-rc.d refuses service starts for the duration.
set -eu

PACKAGES="
  build-essential autoconf automake libtool pkg-config
  libpam0g-dev libssl-dev libqrencode-dev libargon2-dev libcmocka-dev
  nlohmann-json3-dev
  libpam-modules libpam-runtime libpam-wrapper libpamtest0-dev pamtester
  oathtool zbar-tools imagemagick python3 jq expect tmux faketime libfaketime
  openssh-server openssh-client util-linux passwd procps iproute2
  clang libclang-rt-14-dev
  libpam-google-authenticator libpam-oath
  fail2ban libpam-u2f
  i3lock xvfb xdotool
  debhelper dpkg-dev fakeroot lintian groff groff-base man-db
  slapd ldap-utils libldap-dev
  libfuse3-dev fuse3
"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (it calls apt-get)" >&2
  exit 1
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps.sh: all dependencies present"
  exit 0
fi

echo "install-deps.sh: installing:$missing"
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
# slapd without a configuration: no /etc/ldap/slapd.d, no directory, no
# admin password asked; the LDAP suites start private slapds of their own.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps.sh: done"
