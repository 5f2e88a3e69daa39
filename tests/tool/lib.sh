# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/tool scripts: TAP helpers and a private config (key
# and state in a fresh root-owned 0700 directory). Source it; then call
# tool_setup [EXTRA CONFIG LINES...].
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() {  # check DESCRIPTION COMMAND...
  d=$1; shift
  if "$@"; then ok "$d"; else not_ok "$d"; fi
}
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

TOOL=${TOOL:-$top_builddir/totp-setup}
QR2PGM="$top_srcdir/tests/tool/qr_text_to_pgm.py"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

tool_setup() {
  tmp=$(mktemp -d)
  chmod 0700 "$tmp"
  conf="$tmp/pam_totp.conf"
  {
    echo "state_dir = $tmp/state"
    echo "key_file = $tmp/key"
    for line in "$@"; do echo "$line"; done
  } > "$conf"
  chmod 0600 "$conf"
  "$TOOL" init --config "$conf" >/dev/null || { echo "Bail out! totp-setup init failed"; exit 1; }
}

tool_cleanup() { [ -n "${tmp:-}" ] && rm -rf "$tmp"; return 0; }

# query FIELD of an otpauth URI
uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }

# oathtool code for a URI at unix time $2 (default now)
oath_code() {
  uri=$1; at=${2:-$(date +%s)}
  secret=$(uri_param "$uri" secret)
  alg=$(uri_param "$uri" algorithm)
  digits=$(uri_param "$uri" digits)
  period=$(uri_param "$uri" period)
  case $alg in SHA1) mode=--totp ;; SHA256) mode=--totp=sha256 ;; SHA512) mode=--totp=sha512 ;; esac
  oathtool "$mode" -b -d "$digits" -s "$period" -N "@$at" "$secret"
}
