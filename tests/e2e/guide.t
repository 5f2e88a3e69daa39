#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The deploy guide cannot rot: every configuration block of README.md's
# "Deploy on a server" section is a file in tests/e2e/guide/, verbatim, and
# every such file is what an e2e suite really logs in through. No root needed.
src=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
readme=$src/README.md
guide=$src/tests/e2e/guide
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The section, and each of its fenced blocks as a file blockN.
awk '/^## / { in_s = ($0 == "## Deploy on a server") } in_s' "$readme" >"$tmp/section"
if [ -s "$tmp/section" ]; then ok "README.md has the section '## Deploy on a server'"; else not_ok "README.md has the section '## Deploy on a server'"; fi
awk -v dir="$tmp" '
  /^```/ { if (inb) { inb = 0; close(f) } else { inb = 1; f = dir "/block" (++k) ; printf "" > f } ; next }
  inb { print > f }' "$tmp/section"

for snippet in "$guide"/*; do
  name=$(basename "$snippet")
  found=no
  for b in "$tmp"/block*; do
    [ -f "$b" ] && cmp -s "$b" "$snippet" && found=yes && break
  done
  if [ $found = yes ]; then ok "README quotes guide/$name verbatim, as a whole block"; else not_ok "README quotes guide/$name verbatim, as a whole block"; fi
  if grep -q "GUIDE/$name\"" "$src"/tests/e2e/*.t; then ok "an e2e suite logs in through guide/$name"; else not_ok "an e2e suite logs in through guide/$name"; fi
done

# Every configuration block of the section (not the shell commands) is a guide file.
for b in "$tmp"/block*; do
  [ -f "$b" ] || continue
  head -1 "$b" | grep -qE '^# /etc/' || continue
  found=no
  for snippet in "$guide"/*; do cmp -s "$b" "$snippet" && found=yes && break; done
  first=$(head -1 "$b")
  if [ $found = yes ]; then ok "block '$first' is a tested guide file"; else not_ok "block '$first' is a tested guide file"; fi
done

# The bare module name in the guide is what the suites rewrite to the installed path.
if grep -q 'pam_totp\.so' "$guide"/pam-*; then ok "the PAM lines name pam_totp.so"; else not_ok "the PAM lines name pam_totp.so"; fi
echo "1..$n"
