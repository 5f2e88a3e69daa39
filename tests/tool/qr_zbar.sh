#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The QR code totp-setup prints is decoded back with zbarimg and compared
# byte for byte with the URI it prints, in ascii and utf8 drawing, for an
# issuer with spaces and non-ASCII letters; the drawings have exactly the
# documented shape (module width, quiet zone, half blocks).
set -u
. "$top_srcdir/tests/tool/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the tool reads a private config only for root)"
command -v zbarimg >/dev/null || skip_all "zbarimg (zbar-tools) not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
echo "1..12"
trap tool_cleanup EXIT INT TERM
tool_setup "issuer = Ärger GmbH Testing Long Issuer Name ✓"

for mode in ascii utf8; do
  out="$tmp/out-$mode"
  "$TOOL" enroll --yes --force --qr "$mode" --config "$conf" > "$out" 2>"$tmp/err"
  check "$mode: enroll --yes prints the wizard's output" test $? = 0
  uri=$(sed -n 's/^URI:     //p' "$out")
  sed '/^URI:/,$d' "$out" > "$tmp/qr-$mode"
  python3 "$QR2PGM" "$mode" < "$tmp/qr-$mode" > "$tmp/qr-$mode.pgm"
  decoded=$(zbarimg --raw -q "$tmp/qr-$mode.pgm" 2>/dev/null)
  check "$mode: zbarimg decodes the QR code to exactly the printed URI" test "x$decoded" = "x$uri"
  case $uri in
    *%C3%84rger%20GmbH%20Testing%20Long%20Issuer%20Name%20%E2%9C%93:root\?*) ok "$mode: issuer percent-encoded in the label" ;;
    *) not_ok "$mode: issuer percent-encoded in the label: $uri" ;;
  esac
done

# Shape of the ascii drawing: N+8 lines of 2(N+8) characters, '#' and ' '
# only, the first and last 4 lines blank (quiet zone), "##" pairs aligned.
python3 - "$tmp/qr-ascii" <<'PY' && ok "ascii: ## / two spaces per module, one line per row, 4-module quiet zone" || not_ok "ascii drawing shape"
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n")]
lines = lines[1:]                      # the empty line before the code
while lines and lines[-1] == "": lines.pop()
n = len(lines)
assert n >= 29 and (n - 8 - 21) % 4 == 0, n
for l in lines:
    assert len(l) == 2 * n, (len(l), n)
    assert set(l) <= {"#", " "}
    for i in range(0, len(l), 2): assert l[i] == l[i + 1]
for l in lines[:4] + lines[-4:]: assert l.strip() == ""
for l in lines: assert l[:8].strip() == "" and l[-8:].strip() == ""
assert lines[4][8:22] == "#" * 14      # finder pattern's top edge
PY
python3 - "$tmp/qr-utf8" <<'PY' && ok "utf8: half blocks, two module rows a line, 4-module quiet zone" || not_ok "utf8 drawing shape"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[1:]
while lines and lines[-1] == "": lines.pop()
w = len(lines[0])
assert (w - 8 - 21) % 4 == 0, w
assert len(lines) == (w + 1) // 2
for l in lines:
    assert len(l) == w
    assert set(l) <= {" ", "\u2580", "\u2584", "\u2588"}
    assert l[:4].strip() == "" and l[-4:].strip() == ""
assert lines[0].strip() == "" and lines[1].strip() == ""
assert lines[2][4:11] == "\u2588\u2580\u2580\u2580\u2580\u2580\u2588"
PY

# --qr none: no drawing, URI and grouped secret still shown.
"$TOOL" enroll --yes --force --qr none --config "$conf" > "$tmp/out-none"
first=$(head -1 "$tmp/out-none")
check "--qr none draws nothing" test "${first#URI:}" != "$first"
secret=$(uri_param "$(sed -n 's/^URI:     //p' "$tmp/out-none")" secret)
grouped=$(sed -n 's/^Secret:  //p' "$tmp/out-none")
check "secret shown in groups of four" test "$grouped" = "$(printf '%s' "$secret" | sed 's/..../& /g; s/ $//')"
check "secret is 160 bits (32 base32 letters)" test ${#secret} = 32

"$TOOL" enroll --yes --force --qr bogus --config "$conf" >/dev/null 2>"$tmp/err"
check "unknown --qr mode is a usage error (2)" test $? = 2
exit $failed
