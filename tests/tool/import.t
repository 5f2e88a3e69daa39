#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TAP: `totp-setup import` (issue 16) the way an administrator switches a
# server from google-authenticator-libpam or pam_oath to pam_totp, with no
# user scanning anything new.
#   G  a file made by google-authenticator(1) itself, kept outside a home
#      (pam_google_authenticator's secret= and user= options): the peer
#      module accepts a code through PAM; after `import --user --file`
#      pam_totp accepts the same code once (its own ledger), never twice,
#      and each old scratch code works exactly once (typed as today).
#   H  users' homes (throwaway users): `import --all` takes the good ones
#      (one checked through the peer first) and refuses, with one stderr
#      line each and nothing imported, a wrong owner, a group-writable
#      file, a symlink, 1 MiB, a truncated file (half the secret), bad
#      base32, a counter-based (HOTP) file; an enrolled user is skipped
#      without --yes and replaced with it; --remove-source removes a file
#      only once its import is written; --json.
#   O  an users.oath that pam_oath.so accepts a code from (T30 and T60/8
#      tokens, a PIN): every time token imported, the HOTP line and the
#      duplicated user refused; the same codes then work with pam_totp.
#   K  kill -9 during `import --all` at random moments (10 rounds; IMPORT_KILL_ROUNDS): every
#      user is always either fully imported (its code and scratch codes
#      count right) or has no record; a final run finishes and every user
#      logs in with a code and a scratch code.
# Logins go through tests/pam/pam_driver (libpam with a private service
# directory) at a faked time, with the installed pam_totp.so and the peers'
# modules from the system. Runs in a private mount namespace
# (tests/e2e/lib.sh): the users and their homes vanish with it.
# Env (scripts/test-all.sh): SRC_DIR, BUILD_DIR (tests/pam/pam_driver),
# PREFIX (installed module and tool). Needs root.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
BUILD_DIR=${BUILD_DIR:-$E2E_SRC/_build/normal}
DRIVER=$BUILD_DIR/tests/pam/pam_driver
[ "$(id -u)" = 0 ] || skip_all "needs root (it adds users and reads their secret files)"
[ -x "$DRIVER" ] || skip_all "$DRIVER not built (make check TESTS= builds it)"
for _t in google-authenticator oathtool jq; do
  command -v "$_t" >/dev/null 2>&1 || skip_all "$_t not installed (scripts/install-deps.sh)"
done
SECDIR=""
for _d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security /lib/security /usr/lib/security \
  "$(dirname "$(find / -xdev -name pam_unix.so -path '*security*' 2>/dev/null | head -n 1)" 2>/dev/null)"; do
  [ -f "$_d/pam_google_authenticator.so" ] && [ -f "$_d/pam_oath.so" ] && { SECDIR=$_d; break; }
done
[ -n "$SECDIR" ] || skip_all "pam_google_authenticator.so or pam_oath.so not installed (libpam-google-authenticator, libpam-oath)"
e2e_init "$@"

e2e_config main "window = 1" "deny = 50"
CONF=$E2E_CONF
T=$E2E_TMP
P=$T/pam.d
mkdir -p "$P"
: >"$P/other"
printf 'auth required %s config=%s\n' "$E2E_MODULE" "$CONF" >"$P/totp"
# A time in the middle of a step, near now (the boot rule and the files'
# timestamps stay sensible); every login of a section uses it or a step on.
NOW=$(( $(date +%s) / 30 * 30 + 15 ))

# login SERVICE USER TIME ANSWER: one pam_authenticate; output in $T/out.
login() {
  PAM_TOTP_TEST_NOW=$3 "$DRIVER" --confdir "$P" --service "$1" --user "$2" --rhost import.test \
    --answer "$4" >"$T/out" 2>&1
}
accepted() { login "$@" && grep -q '^RESULT: PAM_SUCCESS$' "$T/out"; }
refused() { login "$@"; _rc=$?; [ "$_rc" != 0 ] && ! grep -q '^RESULT: PAM_SUCCESS$' "$T/out"; }
# tool ARGS...: the installed totp-setup with the main config; $T/tout, $T/terr.
tool() { "$E2E_TOOL" --config "${TCONF:-$CONF}" "$@" >"$T/tout" 2>"$T/terr"; }
status_field() { "$E2E_TOOL" --config "${TCONF:-$CONF}" status --user "$1" --json 2>/dev/null | jq -r ".$2"; }
enrolled() { [ "$(status_field "$1" enrolled)" = true ]; }
not_enrolled() { [ "$(status_field "$1" enrolled)" = false ]; }
codes_left() { [ "$(status_field "$1" recovery_codes_left)" = "$2" ]; }
show_tool() { for _f in "$T/tout" "$T/terr"; do [ -s "$_f" ] && sed 's/^/#   | /' "$_f" | tail -12; done; return 0; }
tcheck() {  # like check, showing the tool's output on failure
  _d=$1; shift
  if "$@"; then ok "$_d"; else not_ok "$_d"; show_tool; sed 's/^/#   > /' "$T/out" 2>/dev/null | tail -6; fi
}
# ga_make FILE [OWNER] [google-authenticator options]: a time-based file
# made by google-authenticator itself (as OWNER when given).
ga_make() {
  _f=$1; _o=$2; shift 2
  if [ -n "$_o" ]; then
    runuser -u "$_o" -- google-authenticator -t -d -f -r 3 -R 30 -w 3 -Q none -C -s "$_f" "$@" </dev/null >/dev/null 2>&1
  else
    google-authenticator -t -d -f -r 3 -R 30 -w 3 -Q none -C -s "$_f" "$@" </dev/null >/dev/null 2>&1
  fi
}
ga_secret() { head -n 1 "$1"; }
ga_scratch() { grep -E '^[0-9]{8}$' "$1" | sed -n "${2}p"; }
code_b32() { oathtool --totp -b -N "@$2" "$1"; }        # SECRET TIME
jqq() { jq -e "$@" >/dev/null; }
home_of() { getent passwd "$1" | cut -d: -f6; }
# stderr lines of the last tool run that name USER
err_lines() { grep -c "import $1:" "$T/terr"; }

# =========================== G: one file, kept outside a home ==================
U=${E2E_TAG}g
e2e_user "$U"
GAF=$T/ga-root
ga_make "$GAF" "" || bail "google-authenticator failed"
SEC=$(ga_secret "$GAF")
printf 'auth required %s/pam_google_authenticator.so secret=%s user=root\n' "$SECDIR" "$GAF" >"$P/ga-root"
C0=$(code_b32 "$SEC" "$NOW")
tcheck "G: pam_google_authenticator accepts the code of its file ($U)" accepted ga-root "$U" "$NOW" "$C0"
tcheck "G: and refuses it a second time (DISALLOW_REUSE)" refused ga-root "$U" "$NOW" "$C0"
cp "$GAF" "$T/ga-root.copy"   # the scratch codes as the user has them
tcheck "G: import --from google-authenticator --user --file: exit 0" tool import --from google-authenticator --user "$U" --file "$GAF"
tcheck "G: it says what was imported and where the plaintext remains" \
  sh -c "grep -q 'imported $U from $GAF: 5 recovery codes' '$T/tout' && grep -q 'plaintext secret still in $GAF: remove it once logins work' '$T/tout' && [ -f '$GAF' ]"
tcheck "G: status: enrolled, SHA1, 6 digits, 30 s, 5 recovery codes" \
  sh -c "[ \"\$($E2E_TOOL --config $CONF status --user $U --json | jq -c '[.enrolled,.algorithm,.digits,.period,.recovery_codes_left]')\" = '[true,\"SHA1\",6,30,5]' ]"
tcheck "G: pam_totp accepts the same code" accepted totp "$U" "$NOW" "$C0"
tcheck "G: but not a second time" refused totp "$U" "$NOW" "$C0"
tcheck "G: the next step's code is accepted" accepted totp "$U" "$((NOW + 30))" "$(code_b32 "$SEC" $((NOW + 30)))"
for i in 1 2 3; do
  s=$(ga_scratch "$T/ga-root.copy" "$i")
  tcheck "G: scratch code $i works once through PAM" accepted totp "$U" "$NOW" "$s"
  tcheck "G: scratch code $i is refused the second time" refused totp "$U" "$NOW" "$s"
done
s=$(ga_scratch "$T/ga-root.copy" 4)
tcheck "G: a scratch code typed with a space works too" accepted totp "$U" "$NOW" "$(echo "$s" | sed 's/^\(....\)/\1 /')"
tcheck "G: 1 recovery code left (reported by status)" codes_left "$U" 1
tcheck "G: a wrong 8-digit answer is refused" refused totp "$U" "$NOW" 12345678

# =========================== H: homes, --all, hostile files ====================
H1=${E2E_TAG}h1; H2=${E2E_TAG}h2; H3=${E2E_TAG}h3
BOWN=${E2E_TAG}bown; BGW=${E2E_TAG}bgw; BLNK=${E2E_TAG}blnk; BBIG=${E2E_TAG}bbig
BTRN=${E2E_TAG}btrn; BB32=${E2E_TAG}bb32; BHOT=${E2E_TAG}bhot
for u in "$H1" "$H2" "$H3" "$BOWN" "$BGW" "$BLNK" "$BBIG" "$BTRN" "$BB32" "$BHOT"; do e2e_user "$u"; done
for u in "$H1" "$H2" "$H3" "$BOWN" "$BGW" "$BLNK" "$BTRN" "$BB32"; do
  ga_make "$(home_of "$u")/.google_authenticator" "$u" || bail "google-authenticator as $u failed"
done
# hostile variants, each made from a good file
chown "$H1" "$(home_of "$BOWN")/.google_authenticator"                       # someone else's
chmod 0620 "$(home_of "$BGW")/.google_authenticator"                          # group-writable
mv "$(home_of "$BLNK")/.google_authenticator" "$(home_of "$BLNK")/real"       # a symlink
ln -s real "$(home_of "$BLNK")/.google_authenticator"
head -c 1048576 /dev/zero | tr '\0' 'A' >"$(home_of "$BBIG")/.google_authenticator"  # 1 MiB
chown "$BBIG" "$(home_of "$BBIG")/.google_authenticator"; chmod 0400 "$(home_of "$BBIG")/.google_authenticator"
f=$(home_of "$BTRN")/.google_authenticator; s=$(head -n 1 "$f")              # half the secret
printf '%s' "$s" | cut -c 1-13 | tr -d '\n' >"$f.tmp"; cat "$f.tmp" >"$f"; rm -f "$f.tmp"
f=$(home_of "$BB32")/.google_authenticator                                    # bad base32 (a 1 and an 8)
sed -i '1s/^../18/' "$f"; chown "$BB32" "$f"; chmod 0400 "$f"
runuser -u "$BHOT" -- google-authenticator -c -f -r 3 -R 30 -w 3 -Q none -C \
  -s "$(home_of "$BHOT")/.google_authenticator" </dev/null >/dev/null 2>&1 || bail "google-authenticator -c failed"
printf 'auth required %s/pam_google_authenticator.so\n' "$SECDIR" >"$P/ga-home"
H1F=$(home_of "$H1")/.google_authenticator
H1S=$(ga_secret "$H1F")
cp "$H1F" "$T/h1.copy"
tcheck "H: pam_google_authenticator accepts $H1's code from its home file" accepted ga-home "$H1" "$NOW" "$(code_b32 "$H1S" "$NOW")"

tool import --from google-authenticator --all; rc=$?
tcheck "H: import --all: exit status 1 (some refused)" [ "$rc" = 1 ]
for u in "$H1" "$H2" "$H3"; do
  tcheck "H: $u imported" sh -c "grep -q 'imported $u from' '$T/tout'"
done
for pair in "$BOWN:owned by uid" "$BGW:group- or other-writable (mode 0620)" "$BLNK:symbolic link" \
  "$BBIG:larger than 65536 bytes" "$BTRN:does not end with a newline" "$BB32:not base32" \
  "$BHOT:counter-based (HOTP) google-authenticator file cannot be imported: pam_totp is time-based only; re-enrol this user"; do
  u=${pair%%:*}; why=${pair#*:}
  tcheck "H: $u refused with one line ($why)" sh -c "[ \$(grep -c 'import $u:' '$T/terr') = 1 ] && grep 'import $u:' '$T/terr' | grep -qF '$why'"
  tcheck "H: nothing imported for $u" not_enrolled "$u"
done
tcheck "H: no secret in the tool's output" sh -c "! grep -qF '$H1S' '$T/tout' '$T/terr'"
tcheck "H: $H1 logs in with the code the peer accepted, once" accepted totp "$H1" "$NOW" "$(code_b32 "$H1S" "$NOW")"
tcheck "H: $H1's first scratch code works" accepted totp "$H1" "$NOW" "$(ga_scratch "$T/h1.copy" 1)"

# an enrolled user is skipped without --yes, with one line; the rerun is not an error
tool import --from google-authenticator --user "$H2"; rc=$?
tcheck "H: an enrolled user is skipped without --yes (exit 0, one line)" \
  sh -c "[ $rc = 0 ] && [ \$(grep -c 'import $H2:' '$T/terr') = 1 ] && grep -q 'already has a pam_totp enrolment' '$T/terr'"
# --remove-source does nothing when the import did not happen
tool import --from google-authenticator --user "$H2" --remove-source
tcheck "H: --remove-source leaves the file of a user that was not imported" [ -f "$(home_of "$H2")/.google_authenticator" ]
tool import --from google-authenticator --user "$BGW" --remove-source
tcheck "H: --remove-source leaves a refused file" [ -f "$(home_of "$BGW")/.google_authenticator" ]
# --yes replaces; --remove-source then removes, after the write
H2S=$(ga_secret "$(home_of "$H2")/.google_authenticator")
tcheck "H: --yes --remove-source --json: exit 0" tool import --from google-authenticator --user "$H2" --yes --remove-source --json
tcheck "H: JSON: imported [{user, from, recovery_codes}], skipped [], plaintext_left []" \
  jqq --arg u "$H2" '(.imported == [{"user": $u, "from": "google-authenticator", "recovery_codes": 5}]) and .skipped == [] and .plaintext_left == []' "$T/tout"
tcheck "H: the file is gone" [ ! -e "$(home_of "$H2")/.google_authenticator" ]
tcheck "H: $H2 logs in after the replacement" accepted totp "$H2" "$NOW" "$(code_b32 "$H2S" "$NOW")"
tool import --from google-authenticator --all --json
tcheck "H: --all --json: the skipped users with reasons, the plaintext files" \
  jqq --arg h1 "$H1" --arg bgw "$BGW" --arg f "$H1F" '.imported == [] and
    ([.skipped[] | select(.user == $h1) | .reason | test("already has")] == [true]) and
    ([.skipped[] | select(.user == $bgw) | .reason | test("writable")] == [true]) and (.plaintext_left | index($f) != null)' "$T/tout"

# =========================== O: pam_oath's users.oath ==========================
O1=${E2E_TAG}o1; O2=${E2E_TAG}o2; O3=${E2E_TAG}o3; O4=${E2E_TAG}o4; O5=${E2E_TAG}o5
for u in "$O1" "$O2" "$O3" "$O4" "$O5"; do e2e_user "$u"; done
hexsecret() { od -An -N20 -tx1 /dev/urandom | tr -d ' \n'; }
X1=$(hexsecret); X2=$(hexsecret); X3=$(hexsecret); X4=$(hexsecret); X5=$(hexsecret)
OATH=$T/users.oath
{
  echo "# pam_oath users"
  printf 'HOTP/T30\t%s\t-\t%s\n' "$O1" "$X1"
  printf 'HOTP/T60/8\t%s\t-\t%s\n' "$O2" "$X2"
  printf 'HOTP\t%s\t-\t%s\t0\n' "$O3" "$X3"
  printf 'HOTP/T30\t%s\t-\t%s\n' "$O4" "$X4"
  printf 'HOTP/T30/6\t%s\t-\t%s\n' "$O4" "$X5"
  printf 'HOTP/T30\t%s\t4711\t%s\n' "$O5" "$X5"
} >"$OATH"
chmod 0600 "$OATH"
printf 'auth required %s/pam_oath.so usersfile=%s window=1\n' "$SECDIR" "$OATH" >"$P/oath"
c1=$(oathtool --totp -N "@$NOW" "$X1")
c2=$(oathtool --totp -s 60 -d 8 -N "@$NOW" "$X2")
tcheck "O: pam_oath accepts $O1's code (HOTP/T30)" accepted oath "$O1" "$NOW" "$c1"
tcheck "O: pam_oath accepts $O2's code (HOTP/T60/8)" accepted oath "$O2" "$NOW" "$c2"
tool import --from oath --file "$OATH"; rc=$?
tcheck "O: import --from oath: exit 1 (a HOTP line, a duplicated user)" [ "$rc" = 1 ]
for u in "$O1" "$O2" "$O5"; do tcheck "O: $u imported" sh -c "grep -q 'imported $u from $OATH line' '$T/tout'"; done
tcheck "O: the HOTP line is refused with one line" \
  sh -c "[ \$(grep -c 'import $O3:' '$T/terr') = 1 ] && grep 'import $O3:' '$T/terr' | grep -q 'counter-based (HOTP)'"
tcheck "O: the duplicated user is refused with one line" \
  sh -c "[ \$(grep -c 'import $O4:' '$T/terr') = 1 ] && grep 'import $O4:' '$T/terr' | grep -q 'appears on lines 5, 6'"
not_enrolled "$O3" && not_enrolled "$O4"; tcheck "O: $O3 and $O4 have no record" [ $? = 0 ]
tcheck "O: the PIN is dropped, with a note" sh -c "grep -q '$O5: its PIN is dropped' '$T/tout' && ! grep -q 4711 '$T/tout'"
tcheck "O: the plaintext file is named" sh -c "grep -q 'plaintext secret still in $OATH' '$T/tout'"
kept_8_60() { [ "$(status_field "$1" digits)/$(status_field "$1" period)" = 8/60 ]; }
tcheck "O: $O2 kept 8 digits and 60 s" kept_8_60 "$O2"
tcheck "O: pam_totp accepts $O1's same code" accepted totp "$O1" "$NOW" "$c1"
tcheck "O: pam_totp accepts $O2's same 8-digit code" accepted totp "$O2" "$NOW" "$c2"
tcheck "O: $O5 logs in without the PIN" accepted totp "$O5" "$NOW" "$(oathtool --totp -N "@$NOW" "$X5")"
chmod 0620 "$OATH"
tool import --from oath --file "$OATH"; rc=$?
tcheck "O: a group-writable users.oath is refused whole (exit 1, one line)" \
  sh -c "[ $rc = 1 ] && grep -q 'group- or other-writable' '$T/terr' && ! grep -q '^imported' '$T/tout'"

# =========================== K: kill -9 during import --all ====================
# A config of its own; K users with 3 scratch codes each (the homes of the
# users above are imported too: more work to interrupt).
KCONF=$T/kill.conf
printf 'state_dir = %s\nkey_file = %s\nwindow = 1\ndeny = 50\n' "$T/kstate" "$T/kkey" >"$KCONF"
chmod 0644 "$KCONF"
"$E2E_TOOL" --config "$KCONF" init >/dev/null 2>&1 || bail "init (kill config) failed"
TCONF=$KCONF
KUSERS=""
for i in 1 2 3 4 5 6; do
  u=${E2E_TAG}k$i; e2e_user "$u"; KUSERS="$KUSERS $u"
  ga_make "$(home_of "$u")/.google_authenticator" "$u" -e 3 || bail "google-authenticator as $u failed"
  cp "$(home_of "$u")/.google_authenticator" "$T/$u.copy"
done
# whole: enrolled with 3 codes, or no record at all; anything else (an
# error reading it, a partial record) is a failure.
whole() {
  _e=$(status_field "$1" enrolled)
  case $_e in
    true) codes_left "$1" 3 ;;
    false) return 0 ;;
    *) return 1 ;;
  esac
}
# One whole run first (the other homes are done with), then each round
# undoes three K users and kills the run that puts them back.
"$E2E_TOOL" --config "$TCONF" import --from google-authenticator --all >/dev/null 2>&1
bad=0; killed_with_some=0; killed_running=0
# CI runs 10 rounds (its time is counted); IMPORT_KILL_ROUNDS=200 for a long run.
ROUNDS=${IMPORT_KILL_ROUNDS:-10}
for round in $(seq 1 "$ROUNDS"); do
  # undo three imports so that every round has work left
  for u in $(printf '%s\n' $KUSERS | shuf -n 3); do
    "$E2E_TOOL" --config "$TCONF" remove --user "$u" --yes >/dev/null 2>&1
  done
  before=0; for u in $KUSERS; do enrolled "$u" && before=$((before + 1)); done
  "$E2E_TOOL" --config "$TCONF" import --from google-authenticator --all >/dev/null 2>&1 &
  pid=$!
  sleep "$(shuf -i 0-1 -n 1).$(shuf -i 0-4 -n 1)$(shuf -i 0-9 -n 1)"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; [ $? = 137 ] && killed_running=$((killed_running + 1))
  some=0
  for u in $KUSERS; do
    whole "$u" || { bad=$((bad + 1)); diag "round $round: $u is neither imported nor absent"; }
    enrolled "$u" && some=$((some + 1))
  done
  [ "$some" -gt "$before" ] && [ "$some" -lt 6 ] && killed_with_some=$((killed_with_some + 1))
done
tcheck "K: $ROUNDS rounds of kill -9: every user whole or absent every time" [ "$bad" = 0 ]
diag "rounds in which the import was killed while running: $killed_running; in which it had put back some but not all of the missing K users: $killed_with_some"
leftovers=$(find "$T/kstate" -name '.*.tmp' | wc -l)
diag "temporary files left by killed writers: $leftovers (removed by the next write of that user)"
tool import --from google-authenticator --all; rc=$?
tcheck "K: the final run completes (exit 1 only for the hostile homes; no K user refused)" \
  sh -c "[ $rc = 1 ] && ! grep 'import ${E2E_TAG}k' '$T/terr' | grep -vq 'already has'"
printf 'auth required %s config=%s\n' "$E2E_MODULE" "$TCONF" >"$P/ktotp"
allin=1
for u in $KUSERS; do
  s=$(ga_secret "$T/$u.copy")
  enrolled "$u" && codes_left "$u" 3 || { allin=0; diag "$u not imported after the final run"; continue; }
  accepted ktotp "$u" "$NOW" "$(code_b32 "$s" "$NOW")" || { allin=0; diag "$u: code refused"; }
  accepted ktotp "$u" "$NOW" "$(ga_scratch "$T/$u.copy" 2)" || { allin=0; diag "$u: scratch code refused"; }
done
tcheck "K: after the final run every user logs in with a code and with a scratch code" [ "$allin" = 1 ]
unset TCONF

# =========================== usage ============================================
tool import --from google-authenticator --user "$H1" --all; rc=$?
tcheck "usage: --user with --all is a usage error (2)" [ "$rc" = 2 ]
tool import --from oath --file "$OATH" --remove-source; rc=$?
tcheck "usage: --from oath takes no --remove-source (2)" [ "$rc" = 2 ]
rc=0; runuser -u "$H1" -- "$E2E_TOOL" import --from google-authenticator --all >/dev/null 2>&1 || rc=$?
tcheck "a non-root caller is refused (3)" [ "$rc" = 3 ]

done_testing
[ "$e2e_failed" = 0 ]
