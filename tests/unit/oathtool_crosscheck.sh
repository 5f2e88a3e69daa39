#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Cross-checks our TOTP codes against oathtool (an independent
# implementation): random secrets of 10-64 bytes, all three hash algorithms,
# 6-8 digits, periods 15-300 s, times from 1970 to the far future plus edge
# values. One TAP line per case; a mismatch prints the whole case (the
# secrets are throwaway test data) so it can be replayed by hand.
# Secrets go to both programs on stdin, never on a command line.
set -u

: "${top_builddir:?top_builddir must be set (make check sets it)}"
OTP_CODE="$top_builddir/tests/unit/otp_code"
CASES=${CROSSCHECK_CASES:-240}

if ! command -v oathtool >/dev/null 2>&1; then
  echo "1..0 # SKIP oathtool is not installed (Debian package oathtool)"
  exit 0
fi
if [ ! -x "$OTP_CODE" ]; then
  echo "1..1"
  echo "not ok 1 - $OTP_CODE is missing (make check builds it)"
  exit 0
fi

# Fixed edge times first, then random ones. awk makes the random parameters
# from a seed taken from /dev/urandom (printed, so a failing run can be
# repeated with CROSSCHECK_SEED; the secrets are printed on failure).
seed=${CROSSCHECK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# seed $seed, $CASES cases"

# Random bytes for every secret in one read (64 bytes per case at most);
# awk turns each case's share into unpadded base32 with plain arithmetic,
# so a case costs just the two programs under test.
cases=$(od -An -v -tu1 -N $((CASES * 64)) /dev/urandom | awk -v seed="$seed" -v n="$CASES" '
{ for (f = 1; f <= NF; f++) pool[npool++] = $f }
END {
  srand(seed)
  split("SHA1 SHA256 SHA512", algs, " ")
  split("0 1 29 30 59 1111111109 2147483647 2147483648 4294967295 4294967296 253402300799 9999999999999", edge, " ")
  b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  used = 0
  for (i = 1; i <= n; i++) {
    alg = algs[1 + (i % 3)]
    digits = 6 + int(rand() * 3)
    period = (i % 5 == 0) ? 30 : 15 + int(rand() * 286)
    bytes = 10 + int(rand() * 55)
    r = rand()
    if (i <= 12)      t = edge[i]
    else if (r < 0.5) t = int(rand() * 2147483648)                    # 1970-2038
    else if (r < 0.8) t = 2147483648 + int(rand() * 2147483648 * 4)   # 2038-2242
    else              t = int(rand() * 253402300799)                  # up to year 9999
    bits = ""
    for (k = 0; k < bytes; k++) {
      v = pool[used++]
      for (m = 128; m >= 1; m /= 2) { if (v >= m) { bits = bits "1"; v -= m } else bits = bits "0" }
    }
    while (length(bits) % 5 != 0) bits = bits "0"
    secret = ""
    for (k = 1; k <= length(bits); k += 5) {
      idx = 0
      for (m = 0; m < 5; m++) idx = idx * 2 + substr(bits, k + m, 1)
      secret = secret substr(b32, idx + 1, 1)
    }
    printf "%s %d %d %d %.0f %s\n", alg, digits, period, bytes, t, secret
  }
}')

# Our codes for all cases from one process (a sanitizer build starts once);
# oathtool runs per case.
ours_all=$(printf '%s\n' "$cases" | awk '{ print $1, $2, $3, $5, $6 }' | "$OTP_CODE" --batch)
batch_rc=$?

echo "1..$((CASES + 1))"
i=0
while read -r alg digits period bytes t secret && read -r ours <&3; do
  i=$((i + 1))
  theirs=$(printf '%s\n' "$secret" | oathtool --totp="$alg" -b -d "$digits" -s "${period}s" -N "@$t" - 2>&1)
  what="$alg digits=$digits period=$period bytes=$bytes t=$t"
  if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
    echo "ok $i - $what"
  else
    echo "not ok $i - $what"
    echo "#   secret=$secret ours='$ours' oathtool='$theirs'"
  fi
done <<EOF 3<<EOF_OURS
$cases
EOF
$ours_all
EOF_OURS
if [ "$batch_rc" -eq 0 ]; then
  echo "ok $((CASES + 1)) - otp_code --batch exited 0"
else
  echo "not ok $((CASES + 1)) - otp_code --batch exited $batch_rc"
fi
