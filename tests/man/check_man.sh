#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: the three man pages render with groff without a single warning, and
# pam_totp.conf(5) documents every setting the config parser knows (the
# names come from the built parser, tests/man/list_settings, so a new key
# without docs fails here). Also: pam_totp(8) names every setting as a
# module option, and the shipped default config and the example in
# pam_totp.conf(5) are accepted by the parser.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
man="$top_srcdir/man"
lister="$top_builddir/tests/man/list_settings"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() {  # DESCRIPTION COMMAND...
  d=$1; shift
  if "$@"; then ok "$d"; else nok "$d"; fi
}

pages="pam_totp.8 totp-setup.1 pam_totp.conf.5"
if ! "$lister" >"$tmp/keys" 2>"$tmp/lister.err" || [ ! -s "$tmp/keys" ]; then
  echo "1..1"
  echo "not ok 1 - list_settings prints the parser's setting names"
  sed 's/^/# /' "$tmp/lister.err"
  exit 0
fi
nkeys=$(wc -l <"$tmp/keys")
echo "1..$((3 * 2 + nkeys + 5))"

# --- rendering ---------------------------------------------------------------
for p in $pages; do
  f="$man/$p"
  if [ ! -f "$f" ]; then nok "$p exists"; nok "$p renders without warnings"; continue; fi
  # A page has NAME, SYNOPSIS (or for a file page, DESCRIPTION) and SEE ALSO.
  if grep -q '^\.SH NAME' "$f" && grep -q '^\.SH DESCRIPTION' "$f" && grep -q '^\.SH "SEE ALSO"' "$f" &&
     grep -q '^\.TH ' "$f"; then
    ok "$p has .TH, NAME, DESCRIPTION and SEE ALSO"
  else
    nok "$p has .TH, NAME, DESCRIPTION and SEE ALSO"
  fi
  if ! command -v groff >/dev/null 2>&1; then
    skip "groff is not installed (apt-get install groff)"
    continue
  fi
  LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -ww -Wbreak -z "$f" >/dev/null 2>"$tmp/groff.err"
  rc=$?
  if [ "$rc" -eq 0 ] && [ ! -s "$tmp/groff.err" ]; then
    ok "$p renders with groff -mandoc -Tutf8 -ww -Wbreak -z without warnings"
  else
    nok "$p renders with groff -mandoc -Tutf8 -ww -Wbreak -z without warnings (exit $rc)"
    sed 's/^/# /' "$tmp/groff.err"
  fi
done

# --- every setting is an item of pam_totp.conf(5) ------------------------------
# An item is ".TP" followed by a line ".B key", ".BI key ..." or ".BR key ...".
conf="$man/pam_totp.conf.5"
awk 'prev == ".TP" && $1 ~ /^\.B[IR]?$/ { k = $2; gsub(/"/, "", k); print k } { prev = $0 }' \
  "$conf" 2>/dev/null | sort -u >"$tmp/documented"
while read -r key; do
  if grep -qx -- "$key" "$tmp/documented"; then
    ok "pam_totp.conf(5) documents setting '$key'"
  else
    nok "pam_totp.conf(5) documents setting '$key' (no '.TP' item '.B $key')"
  fi
done <"$tmp/keys"

# --- every setting is a module option in pam_totp(8) ---------------------------
missing=""
while read -r key; do
  grep -q -- "^\.B[IR]\{0,1\} \"\{0,1\}$key" "$man/pam_totp.8" 2>/dev/null || missing="$missing $key"
done <"$tmp/keys"
if [ -z "$missing" ]; then
  ok "pam_totp(8) lists every setting as a module option"
else
  nok "pam_totp(8) lists every setting as a module option (missing:$missing)"
fi

# --- totp-setup(1) documents every command and option of `totp-setup --help` ---
tool="$top_builddir/totp-setup"
if "$tool" --help >"$tmp/help" 2>&1; then
  # Commands: the first word of each line of the "Commands:" block.
  sed -n '/^Commands:/,/^$/p' "$tmp/help" | awk 'NR > 1 && NF { print $1 }' >"$tmp/commands"
  grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u >"$tmp/options"
  page="$man/totp-setup.1"
  missing=""
  [ -s "$tmp/commands" ] || missing=" (no commands found in --help)"
  while read -r c; do
    r=$(printf '%s' "$c" | sed 's/-/\\\\-/g')
    grep -q "^\.B[R]\{0,1\} \"\{0,1\}$r\( \|\"\|\$\)" "$page" || missing="$missing $c"
  done <"$tmp/commands"
  if [ -z "$missing" ]; then ok "totp-setup(1) has an item for every command of totp-setup --help"
  else nok "totp-setup(1) has an item for every command of totp-setup --help (missing:$missing)"; fi
  missing=""
  [ -s "$tmp/options" ] || missing=" (no options found in --help)"
  while read -r o; do
    r=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$r" "$page" || missing="$missing $o"
  done <"$tmp/options"
  if [ -z "$missing" ]; then ok "totp-setup(1) documents every option of totp-setup --help"
  else nok "totp-setup(1) documents every option of totp-setup --help (missing:$missing)"; fi
else
  nok "totp-setup --help runs (for the command list)"
  nok "totp-setup --help runs (for the option list)"
fi

# --- the shipped default config and the page's example parse -------------------
# The default file has every setting commented out at its default: it must
# name each, and with every "#key = value" line uncommented it must parse.
default="$top_srcdir/debian/pam_totp.conf"
missing=""
while read -r key; do
  grep -q "^#$key\( \|$\)" "$default" 2>/dev/null || missing="$missing $key"
done <"$tmp/keys"
sed -n 's/^#\([a-z_][a-z_]*\( =.*\)\{0,1\}\)$/\1/p' "$default" >"$tmp/default.conf" 2>/dev/null
if [ -z "$missing" ] && "$lister" --parse "$tmp/default.conf" 2>"$tmp/parse.err"; then
  ok "debian/pam_totp.conf names every setting at a value the parser accepts"
else
  nok "debian/pam_totp.conf names every setting at a value the parser accepts (missing:$missing)"
  sed 's/^/# /' "$tmp/parse.err"
fi

# The example file: the .EX/.EE block of the EXAMPLE section, roff escapes
# turned back into text.
awk '/^\.SH EXAMPLE/ { in_ex = 1; next } /^\.SH / { in_ex = 0 }
     in_ex && /^\.EX/ { on = 1; next } in_ex && /^\.EE/ { on = 0; exit } on { print }' "$conf" |
  sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\(dq/"/g' -e 's/\\&//g' >"$tmp/example.conf"
if [ -s "$tmp/example.conf" ] && "$lister" --parse "$tmp/example.conf" 2>"$tmp/parse.err"; then
  ok "the example file in pam_totp.conf(5) is accepted by the parser"
else
  nok "the example file in pam_totp.conf(5) is accepted by the parser"
  sed 's/^/# /' "$tmp/parse.err"
fi
