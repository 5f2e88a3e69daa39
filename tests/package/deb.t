#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: the Debian package libpam-totp, whole. Builds it from a copy of the
# source tree (dpkg-buildpackage -us -uc -b), runs lintian on it, installs
# it, checks files, modes and what postinst made, runs the installed tool
# (as root and, through the setuid helper, as nobody) and a login through
# the installed module, enables and checks the pam-auth-update profile,
# removes the package (PAM must no longer mention the module, key and
# state stay) and purges it (key and state gone).
#
# Needs root (dpkg -i); skips otherwise. Whatever happens, the package is
# purged and anything it would have clobbered (an existing key, state,
# config, /etc/pam.d/common-*) is put back.
#
# Env: SRC_DIR (source tree; default: two levels up from this file).
set -u
here=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=${SRC_DIR:-$(cd "$here/../.." && pwd)}
pkg=libpam-totp

if [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP needs root (dpkg -i, pam-auth-update)"
  exit 0
fi
for tool in dpkg-buildpackage dpkg-architecture lintian pam-auth-update oathtool pamtester jq setpriv; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed (scripts/install-deps.sh installs it)"
    exit 0
  fi
done
# installed, config-files, half-installed...; empty or not-installed when absent.
pkg_status() { dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null; }
case $(pkg_status) in ''|not-installed) ;; *)
  echo "1..0 # SKIP $pkg is already installed on this machine; not touching it"
  exit 0 ;;
esac

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
module=/lib/$multiarch/security/pam_totp.so
helper=/usr/libexec/pam_totp/totp-helper
conf=/etc/security/pam_totp.conf
key=/etc/security/pam_totp.key
state=/var/lib/pam_totp
profile=/usr/share/pam-configs/pam-totp
service=/etc/pam.d/totp-debtest

tmp=$(mktemp -d) || exit 1
saved="$tmp/saved"
mkdir -p "$saved"

# --- put aside what the package would clobber, and put it back at the end ---
for f in "$conf" "$key" "$state"; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    mkdir -p "$saved$(dirname "$f")"
    mv "$f" "$saved$f"
  fi
done
cp -a /etc/pam.d "$saved/pam.d"

cleanup() {
  trap - EXIT INT TERM
  rm -f "$service"
  if [ -n "$(pkg_status)" ] && [ "$(pkg_status)" != not-installed ]; then
    DEBIAN_FRONTEND=noninteractive dpkg -P "$pkg" >"$tmp/cleanup-purge.log" 2>&1 ||
      echo "# cleanup: dpkg -P $pkg failed: $(tail -3 "$tmp/cleanup-purge.log")"
  fi
  # If anything still names the module, the stack is back as it was.
  if grep -rqs 'pam_totp' /etc/pam.d; then
    echo "# cleanup: /etc/pam.d still named pam_totp; restoring the saved /etc/pam.d/common-*"
    cp -a "$saved/pam.d/"common-* /etc/pam.d/
  fi
  for f in "$conf" "$key" "$state"; do
    if [ -e "$saved$f" ] || [ -L "$saved$f" ]; then
      rm -rf "$f"
      mv "$saved$f" "$f"
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() {  # DESCRIPTION COMMAND...
  d=$1; shift
  if "$@"; then ok "$d"; else nok "$d"; fi
}
# mode, owner and group of a path: "4755 root root"
perms() { stat -c '%a %U %G' "$1" 2>/dev/null; }
is_perms() {  # PATH EXPECTED
  got=$(perms "$1")
  [ "$got" = "$2" ] && return 0
  echo "# $1: got '${got:-missing}', want '$2'"
  return 1
}
show() { sed 's/^/# /' "$1" | tail -n "${2:-25}"; }

echo "1..32"

# --- build -------------------------------------------------------------------
src="$tmp/build/pam-totp"
mkdir -p "$src"
if [ -d "$SRC_DIR/.git" ] && command -v git >/dev/null 2>&1; then
  # Tracked and new (not ignored) files, as they are in the work tree.
  (cd "$SRC_DIR" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$SRC_DIR" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$SRC_DIR" && tar --null -T - -cf -) | tar -xf - -C "$src"
else
  (cd "$SRC_DIR" && tar --exclude=./_build --exclude=./.git -cf - .) | tar -xf - -C "$src"
fi
start=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="parallel=2 nocheck noautodbgsym" dpkg-buildpackage -us -uc -b) \
     >"$tmp/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b builds ($(($(date +%s) - start)) s)"
else
  nok "dpkg-buildpackage -us -uc -b builds"
  show "$tmp/build.log" 40
  echo "Bail out! no package to test"
  exit 1
fi
deb=$(ls "$tmp"/build/${pkg}_*.deb 2>/dev/null | head -1)
check "the build made ${pkg}_*.deb" test -n "$deb"

# --- lintian -----------------------------------------------------------------
lintian --fail-on error --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q '^E:' "$tmp/lintian.log"; then
  ok "lintian reports no errors ($(grep -c '^W:' "$tmp/lintian.log") warnings)"
else
  nok "lintian reports no errors (exit $rc)"
fi
show "$tmp/lintian.log" 40

# --- what the .deb holds -----------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents" 2>&1
check "the helper is setuid root in the .deb" \
  grep -q "^-rwsr-xr-x root/root .* \.$helper\$" "$tmp/contents"
check "nothing else in the .deb is setuid or setgid" \
  sh -c "grep -E '^-..[sS]|^-.....[sS]' '$tmp/contents' | grep -v ' \.$helper\$' | grep -q . && exit 1 || exit 0"
check "the profile is in the .deb" grep -q " \.$profile\$" "$tmp/contents"
dpkg-deb -I "$deb" conffiles >"$tmp/conffiles" 2>/dev/null
check "$conf is a conffile" grep -qx "$conf" "$tmp/conffiles"

# --- install -----------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
  ok "dpkg -i installs the package"
else
  nok "dpkg -i installs the package"
  show "$tmp/install.log"
  echo "Bail out! not installed"
  exit 1
fi
check "module $module, 0644 root" is_perms "$module" "644 root root"
check "tool /usr/bin/totp-setup, 0755 root" is_perms /usr/bin/totp-setup "755 root root"
check "helper $helper, 4755 root:root" is_perms "$helper" "4755 root root"
check "postinst made the key, 0600 root, 32 bytes" \
  sh -c "[ \"\$(stat -c '%a %U %G %s' '$key')\" = '600 root root 32' ]"
check "postinst made the state directory, 0700 root" is_perms "$state" "700 root root"
check "the default config is installed and every setting in it is commented out" \
  sh -c "[ -f '$conf' ] && ! grep -v '^[[:space:]]*\(#\|\$\)' '$conf' | grep -q ."
check "the three man pages are installed" \
  sh -c 'for p in man8/pam_totp.8 man1/totp-setup.1 man5/pam_totp.conf.5; do [ -f /usr/share/man/$p.gz ] || exit 1; done'
check "the profile is installed but not enabled (common-auth does not name pam_totp)" \
  sh -c "[ -f '$profile' ] && ! grep -q pam_totp /etc/pam.d/common-auth"
want_version=$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')
/usr/bin/totp-setup --version >"$tmp/version" 2>&1
check "installed totp-setup --version prints $want_version" grep -q "$want_version" "$tmp/version"

# --- the installed tool and module work ------------------------------------------
/usr/bin/totp-setup init >"$tmp/init2" 2>&1
check "a second totp-setup init succeeds and keeps the key" \
  sh -c "[ \"\$(stat -c '%a %s' '$key')\" = '600 32' ]"
/usr/bin/totp-setup status --user root --json >"$tmp/status.json" 2>"$tmp/status.err"
check "totp-setup status --user root --json: not enrolled" \
  sh -c "jq -e '.user == \"root\" and .enrolled == false' '$tmp/status.json' >/dev/null"
setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/totp-setup status --json \
  >"$tmp/nobody.json" 2>"$tmp/nobody.err"
if jq -e '.user == "nobody" and .enrolled == false' "$tmp/nobody.json" >/dev/null 2>&1; then
  ok "as nobody, totp-setup status works through the setuid helper"
else
  nok "as nobody, totp-setup status works through the setuid helper"
  show "$tmp/nobody.err"
fi
/usr/bin/totp-setup enroll --user root --yes --json >"$tmp/enroll.json" 2>"$tmp/enroll.err"
secret=$(jq -r '.secret // empty' "$tmp/enroll.json" 2>/dev/null)
check "totp-setup enroll --user root --yes --json enrols root" \
  sh -c "[ -n '$secret' ] && [ \"\$(stat -c '%a %U' '$state/root')\" = '600 root' ]"
printf 'auth required pam_totp.so\naccount required pam_permit.so\n' >"$service"
code=$(oathtool --totp -b "$secret" 2>/dev/null)
if printf '%s\n' "$code" | pamtester totp-debtest root authenticate >"$tmp/pam.log" 2>&1; then
  ok "a login through the installed module accepts a fresh code"
else
  nok "a login through the installed module accepts a fresh code"
  show "$tmp/pam.log"
fi
if printf '%s\n' "$code" | pamtester totp-debtest root authenticate >"$tmp/pam2.log" 2>&1; then
  nok "the same code is refused the second time"
else
  ok "the same code is refused the second time"
fi
rm -f "$service"

# --- the pam-auth-update profile ---------------------------------------------------
pam-auth-update --enable pam-totp >"$tmp/enable.log" 2>&1
check "pam-auth-update --enable pam-totp adds 'required pam_totp.so nullok' to common-auth" \
  grep -q '^auth[[:space:]]\+required[[:space:]]\+pam_totp\.so nullok' /etc/pam.d/common-auth
check "the pam_totp line comes after pam_unix in common-auth" \
  sh -c "awk '/pam_unix\\.so/ && !u { u = NR } /pam_totp\\.so/ && !t { t = NR } END { exit !(u && t && u < t) }' /etc/pam.d/common-auth"

# --- remove --------------------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive dpkg -r "$pkg" >"$tmp/remove.log" 2>&1; then
  ok "dpkg -r removes the package"
else
  nok "dpkg -r removes the package"
  show "$tmp/remove.log"
fi
if grep -rqs pam_totp /etc/pam.d; then
  nok "after dpkg -r, /etc/pam.d does not mention pam_totp"
  grep -rs pam_totp /etc/pam.d | sed 's/^/# /'
else
  ok "after dpkg -r, /etc/pam.d does not mention pam_totp"
fi
check "after dpkg -r, the module, tool and helper are gone" \
  sh -c "[ ! -e '$module' ] && [ ! -e /usr/bin/totp-setup ] && [ ! -e '$helper' ]"
check "after dpkg -r, key, state and config stay" \
  sh -c "[ -f '$key' ] && [ -f '$state/root' ] && [ -f '$conf' ]"

# --- purge ---------------------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive dpkg -P "$pkg" >"$tmp/purge.log" 2>&1; then
  ok "dpkg -P purges the package"
else
  nok "dpkg -P purges the package"
  show "$tmp/purge.log"
fi
check "after dpkg -P, key, state and config are gone" \
  sh -c "[ ! -e '$key' ] && [ ! -e '$state' ] && [ ! -e '$conf' ]"
st=$(pkg_status)
check "after dpkg -P, dpkg knows nothing of $pkg (status '${st:-none}')" \
  test -z "$st" -o "$st" = not-installed
