#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# totp-setup list [--json] on the installed tool (issue 16): every user in
# the store with what `status` says of them.
#   - an empty store: {"users": []};
#   - users in different states, made through the product: enrolled and
#     never used; one wrong code (failures 1); locked (deny wrong codes);
#     logged in with a recovery code from a named host (9 left, last login
#     and host); a damaged state file and one sealed under another key
#     (state "error" with the reason, the others still listed, exit 1 and
#     one line on stderr);
#   - --json is JSON (python3 json.load) and each element equals what
#     `status --json --user U` prints; the text form has one aligned line
#     per user;
#   - without the unreadable records: exit 0;
#   - a user other than root is refused (exit 3).
# Wrong codes and the recovery code go through PAM (pamtester as root on
# a pseudo-terminal) with a service of the suite, in the private mount
# namespace of tests/e2e/lib.sh (users and /etc/pam.d vanish with it).
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
for t in pamtester python3; do command -v $t >/dev/null 2>&1 || skip_all "$t not installed (scripts/install-deps.sh)"; done

TOOL=$E2E_TOOL
DENY=3
CONF=$E2E_TMP/pam_totp.conf
{
  echo "state_dir = $E2E_TMP/state"
  echo "key_file = $E2E_TMP/pam_totp.key"
  echo "window = 3"
  echo "deny = $DENY"
  echo "unlock_time = 600"
} >"$CONF"
chmod 0600 "$CONF"
"$TOOL" --config "$CONF" init >/dev/null 2>&1 || bail "totp-setup init failed"
E2E_CONF=$CONF   # e2e_enroll's users go here
# a second store under another key: its record is copied into the first
CONF2=$E2E_TMP/other.conf
printf 'state_dir = %s\nkey_file = %s\n' "$E2E_TMP/state2" "$E2E_TMP/other.key" >"$CONF2"
chmod 0600 "$CONF2"
"$TOOL" --config "$CONF2" init >/dev/null 2>&1 || bail "totp-setup init (second store) failed"

plan 31
list() { "$TOOL" --config "$CONF" list "$@"; }

# --- an empty store ---------------------------------------------------------------
list --json >"$E2E_TMP/empty.json" 2>"$E2E_TMP/err"; rc=$?
check "empty store: exit 0" test $rc = 0
check "empty store: {\"users\": []}" test "$(jq -c . "$E2E_TMP/empty.json")" = '{"users":[]}'

# --- users in different states ----------------------------------------------------
A=${E2E_TAG}a   # enrolled, never used
B=${E2E_TAG}b   # one wrong code
C=${E2E_TAG}c   # locked
D=${E2E_TAG}d   # logged in with a recovery code from a named host
E=${E2E_TAG}e   # damaged state file
F=${E2E_TAG}f   # sealed under another key
G=${E2E_TAG}g   # revoked
for u in "$A" "$B" "$C" "$D" "$E" "$F" "$G"; do e2e_user "$u"; done
for u in "$A" "$B" "$C" "$D" "$E" "$G"; do e2e_enroll "$CONF" "$u" || bail "enroll $u failed"; done
"$TOOL" --config "$CONF2" enroll --user "$F" --yes --json >/dev/null 2>&1 || bail "enroll $F (second store) failed"
cp -p "$E2E_TMP/state2/$F" "$E2E_TMP/state/$F"
# damaged: the same size, one byte of the sealed enrolment flipped
python3 - "$E2E_TMP/state/$E" <<'EOF' || bail "could not damage the state file"
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[40] ^= 0x55
open(p, "r+b").write(bytes(b))
EOF

S=lt-$E2E_TAG
printf '%s\n' "# pam_totp list test ($E2E_TAG)" "auth required $E2E_MODULE config=$CONF" >"/etc/pam.d/$S"
chmod 0644 "/etc/pam.d/$S"
e2e_made_file "/etc/pam.d/$S"
# pt USER ANSWER RHOST: root's pamtester on a pty, answering the code prompt.
pt() {
  E2E_CODE="$2" expect -f "$E2E_DIR/answer.exp" \
    pamtester -v -I "rhost=$3" "$S" "$1" authenticate >"$E2E_TMP/last.out" 2>&1
}
pt "$B" "$(e2e_wrong_code "$B")" wrong.example.net
i=0; while [ $i -lt $DENY ]; do pt "$C" "$(e2e_wrong_code "$C")" attacker.example.net; i=$((i + 1)); done
pt "$D" "$(e2e_recovery "$D" 3)" laptop.example.org
check "$D logged in with a recovery code" e2e_last_has 'successfully authenticated'

"$TOOL" --config "$CONF" revoke --user "$G" --yes >"$E2E_TMP/revoke.out" 2>&1
if grep -q 'is not built yet' "$E2E_TMP/revoke.out"; then revoke_built=0; else revoke_built=1; fi

status_of() { "$TOOL" --config "$CONF" status --user "$1" --json; }
check "setup: $B has 1 failure, $C is locked" \
  test "$(status_of "$B" | jq -r .failures) $(status_of "$C" | jq -r '.locked_until != null')" = "1 true"

# --- list --json ------------------------------------------------------------------
list --json >"$E2E_TMP/list.json" 2>"$E2E_TMP/err"; rc=$?
check "list --json with two unreadable records: exit 1" test $rc = 1
check "  one line on stderr naming the count" test "$(wc -l <"$E2E_TMP/err")" = 1 -a -n "$(grep '2 record' "$E2E_TMP/err")"
check "  the output is JSON (python3 json.load)" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$E2E_TMP/list.json"
check "  every user, in order" test "$(jq -r '[.users[].user] | join(" ")' "$E2E_TMP/list.json")" = "$A $B $C $D $E $F $G"
same_as_status() {  # USER: the list element equals status --json
  [ "$(jq -S -c --arg u "$1" '.users[] | select(.user == $u)' "$E2E_TMP/list.json")" = "$(status_of "$1" | jq -S -c .)" ]
}
for u in "$A" "$B" "$C" "$D" "$G"; do check "  $u: the element equals status --json --user $u" same_as_status "$u"; done
el() { jq -r --arg u "$1" ".users[] | select(.user == \$u) | $2" "$E2E_TMP/list.json"; }
check "  $A: enrolled, no login, 10 codes, not locked" \
  test "$(el "$A" '"\(.enrolled) \(.last_login) \(.recovery_codes_left) \(.locked_until) \(.failures)"')" = "true null 10 null 0"
check "  $C: locked until a time, $DENY failures" \
  test "$(el "$C" '"\(.locked_until_unix > now) \(.failures)"')" = "true $DENY"
check "  $D: 9 codes left, last login from laptop.example.org" \
  test "$(el "$D" '"\(.recovery_codes_left) \(.last_login.rhost)"')" = "9 laptop.example.org"
check "  $E: state error, with the reason" test "$(el "$E" '"\(.state) \(.error | length > 0)"')" = "error true"
check "  $F (another key): state error, with the reason" test "$(el "$F" '"\(.state) \(.error | length > 0)"')" = "error true"

# --- the text form ------------------------------------------------------------------
list >"$E2E_TMP/list.txt" 2>"$E2E_TMP/err"; rc=$?
check "list (text): exit 1, one line per user and a header" test $rc = 1 -a "$(wc -l <"$E2E_TMP/list.txt")" = 8
line_has() { grep "^$1 " "$E2E_TMP/list.txt" | grep -qE "$2"; }  # USER ERE
check "  $A active, 10 codes, never logged in" line_has "$A" "^$A +active +[0-9]{4}-[0-9]{2}-[0-9]{2} +never +- +0 +- +10\$"
check "  $B one failure" line_has "$B" "^$B +active +[0-9-]{10} +never +- +1 +- +10\$"
check "  $C locked, with the time" line_has "$C" " locked .* $DENY +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +10\$"
check "  $D last login and host, 9 codes" line_has "$D" " active .*T[0-9:]{8}Z +laptop.example.org +0 +- +9\$"
check "  $E: error and the reason" line_has "$E" "^$E +error +[^ ]"
check "  $F: error and the reason" line_has "$F" "^$F +error +[^ ]"
if [ $revoke_built = 1 ]; then
  check "  $G revoked, its date and codes kept" line_has "$G" "^$G +revoked +[0-9]{4}-[0-9]{2}-[0-9]{2} +never +- +0 +- +10\$"
  check "  $G: revoked in the JSON" test "$(el "$G" .revoked)" = true
else
  e2e_n=$((e2e_n + 1)); echo "ok $e2e_n - $G revoked # SKIP not built yet"
  e2e_n=$((e2e_n + 1)); echo "ok $e2e_n - $G: revoked in the JSON # SKIP not built yet"
fi
# aligned: every column of the enrolled users' lines starts at the header's offset
aligned() {
  awk -v a="$A" -v b="$B" -v c="$C" -v d="$D" '
    NR == 1 { for (i = 1; i <= NF; i++) col[i] = index($0, $i); n = NF; next }
    $1 == a || $1 == b || $1 == c || $1 == d {
      pos = 1; rest = $0
      for (i = 1; i <= n; i++) {
        match(rest, /[^ ]+/); start = pos + RSTART - 1
        if (start != col[i]) bad = 1
        pos = start + RLENGTH; rest = substr(rest, RSTART + RLENGTH)
      }
    }
    END { exit bad }' "$E2E_TMP/list.txt"
}
check "  columns aligned under the header" aligned
[ "${LIST_SHOW:-0}" = 1 ] && diag "$(cat "$E2E_TMP/list.txt")"

# --- without the unreadable records ---------------------------------------------------
rm -f "$E2E_TMP/state/$E" "$E2E_TMP/state/$F"
list --json >"$E2E_TMP/list2.json" 2>"$E2E_TMP/err"; rc=$?
check "readable records only: exit 0, nothing on stderr" test $rc = 0 -a ! -s "$E2E_TMP/err"
check "  five users" test "$(jq '.users | length' "$E2E_TMP/list2.json")" = 5

# --- not root ---------------------------------------------------------------------
runuser -u "$A" -- "$TOOL" list >/dev/null 2>"$E2E_TMP/err"; rc=$?
check "a user other than root: refused (exit 3, one line)" test $rc = 3 -a "$(wc -l <"$E2E_TMP/err")" = 1
exit $((e2e_failed > 0))
