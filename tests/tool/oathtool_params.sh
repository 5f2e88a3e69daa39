#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# For every algorithm, digit count and several periods, the wizard's URI
# states the parameters, and a code oathtool computes from that URI is the
# one the wizard accepts (an independent implementation agrees with ours).
# Also: a code from another time is refused. The wizard reads codes from a
# pipe here (no terminal), which it accepts like typed input.
set -u
. "$top_srcdir/tests/tool/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the tool reads a private config only for root)"
for t in oathtool jq; do command -v $t >/dev/null || skip_all "$t not installed"; done
echo "1..20"
trap 'exec 8>&- 2>/dev/null; tool_cleanup' EXIT INT TERM
tool_setup

# run_wizard ALG DIGITS PERIOD [STALE]: enrols root with these parameters.
run_wizard() {
  alg=$1 digits=$2 period=$3 stale=${4:-}
  sed -i '/^algorithm\|^digits\|^period/d' "$conf"
  printf 'algorithm = %s\ndigits = %s\nperiod = %s\n' "$alg" "$digits" "$period" >> "$conf"
  rm -f "$tmp/fifo"; : > "$tmp/out"; mkfifo "$tmp/fifo"
  "$TOOL" enroll --force --qr none --config "$conf" < "$tmp/fifo" > "$tmp/out" 2>"$tmp/err" &
  pid=$!
  exec 8>"$tmp/fifo"
  i=0; while ! grep -q '^URI:' "$tmp/out" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  uri=$(sed -n 's/^URI: *//p' "$tmp/out")
  if [ -n "$stale" ]; then
    echo "$(oath_code "$uri" $(( $(date +%s) - 10 * period )))" >&8
  fi
  echo "$(oath_code "$uri")" >&8
  exec 8>&-
  wait $pid
}

for combo in "SHA1 6 30" "SHA1 7 60" "SHA1 8 15" "SHA256 6 60" "SHA256 7 15" "SHA256 8 30" \
             "SHA512 6 15" "SHA512 7 30" "SHA512 8 60"; do
  set -- $combo
  run_wizard "$1" "$2" "$3"
  rc=$?
  st=$("$TOOL" status --json --config "$conf" | jq -r '"\(.enrolled) \(.algorithm) \(.digits) \(.period)"')
  check "$1/$2 digits/$3 s: oathtool's code from the URI is accepted" test "$rc" = 0 -a "$st" = "true $1 $2 $3"
  case $uri in
    *"&algorithm=$1&digits=$2&period=$3") ok "$1/$2/$3: URI states algorithm, digits and period" ;;
    *) not_ok "$1/$2/$3: URI parameters: $uri" ;;
  esac
done

run_wizard SHA1 6 30 stale
rc=$?
check "a code from 10 periods ago is refused, then the current one is accepted" \
  sh -c "grep -q 'not accepted' '$tmp/err' && test $rc = 0"
rc=$?
check "the wizard said so on stderr only once per wrong code" test "$(grep -c 'not accepted' "$tmp/err")" = 1
exit $failed
