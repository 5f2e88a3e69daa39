#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# summarize-tests.sh DIR...  Sums every :test-result: line of the .trs files
# (automake's per-test result files) under DIRs, lists failures, and ends
# with the plain line "N passed, N failed, N skipped". Exit 1 if any failed
# or nothing ran.
set -u
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
find "$@" -name '*.trs' -type f 2>/dev/null | sort | while read -r trs; do
  sed -n "s|^:test-result: \([A-Z]*\)\(.*\)|\1 $trs\2|p" "$trs"
done > "$tmp"
passed=$(grep -c '^PASS \|^XFAIL ' "$tmp")
failed=$(grep -c '^FAIL \|^XPASS \|^ERROR ' "$tmp")
skipped=$(grep -c '^SKIP ' "$tmp")
if [ "$failed" -gt 0 ]; then
  echo "Failures:"
  grep '^FAIL \|^XPASS \|^ERROR ' "$tmp" | sed 's/^/  /'
fi
if [ "$skipped" -gt 0 ]; then
  echo "Skipped:"
  grep '^SKIP ' "$tmp" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
