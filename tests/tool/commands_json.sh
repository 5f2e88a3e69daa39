#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every command's --json output parses with jq and has the documented keys;
# exit statuses and the one-line error; --help for each command; --version;
# option placement before or after the command.
set -u
. "$top_srcdir/tests/tool/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the tool reads a private config only for root)"
command -v jq >/dev/null || skip_all "jq not installed"
echo "1..24"
trap tool_cleanup EXIT INT TERM
tool_setup "deny = 2" "unlock_time = 0"
T() { "$TOOL" "$@"; }

T --config "$conf" init --json > "$tmp/init.json"
check "init --json (again): keys, nothing created" \
  test "$(jq -r '"\(.key_file) \(.state_dir) \(.actions | length) \(.actions[0] | startswith("kept"))"' "$tmp/init.json")" = "$tmp/key $tmp/state 2 true"

T status --user nobody --json --config "$conf" > "$tmp/s0.json"
check "status --json of a user without enrolment" \
  test "$(jq -c '[.user,.enrolled,.algorithm,.created,.last_login,.recovery_codes_left,.locked_until]' "$tmp/s0.json")" = '["nobody",false,null,null,null,0,null]'

T enroll --user nobody --yes --json --config "$conf" > "$tmp/e.json"
check "enroll --yes --json: exit 0" test $? = 0
check "enroll --json has user, uri, secret, 10 recovery codes, parameters, issuer" \
  test "$(jq -r '"\(.user) \(.uri | startswith("otpauth://totp/")) \(.secret | length) \(.recovery_codes | length) \(.algorithm) \(.digits) \(.period) \(.issuer | length > 0) \(.replaced)"' "$tmp/e.json")" = "nobody true 32 10 SHA1 6 30 true false"
check "recovery codes look like xxxxx-xxxxx and are all different" \
  test "$(jq -r '.recovery_codes[]' "$tmp/e.json" | grep -E '^[a-z0-9]{5}-[a-z0-9]{5}$' | sort -u | wc -l)" = 10
check "the URI carries the printed secret" sh -c "jq -r .uri '$tmp/e.json' | grep -q \"secret=\$(jq -r .secret '$tmp/e.json')&\""

T status --user nobody --json --config "$conf" > "$tmp/s1.json"
check "status --json after enrolment" \
  test "$(jq -r '"\(.enrolled) \(.algorithm) \(.digits) \(.period) \(.recovery_codes_left) \(.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) \(.created_unix > 1600000000)"' "$tmp/s1.json")" = "true SHA1 6 30 10 true true"

T enroll --user nobody --yes --json --config "$conf" >/dev/null 2>"$tmp/err"
check "enroll over an enrolment without --force: exit 3, one line on stderr" test $? = 3 -a "$(wc -l < "$tmp/err")" = 1
T --user nobody enroll --yes --force --json --config "$conf" > "$tmp/e2.json"
check "--force replaces (replaced: true), options before the command" test "$(jq -r .replaced "$tmp/e2.json")" = true
check "the new secret differs" test "$(jq -r .secret "$tmp/e.json")" != "$(jq -r .secret "$tmp/e2.json")"

T recovery-codes --user nobody --yes --json --config "$conf" > "$tmp/r.json"
check "recovery-codes --json: user and 10 new codes" \
  test "$(jq -r '"\(.user) \(.recovery_codes | length)"' "$tmp/r.json")" = "nobody 10"
check "the new codes differ from the old" \
  test -z "$(jq -r '.recovery_codes[]' "$tmp/r.json" "$tmp/e2.json" | sort | uniq -d)"

T remove --user nobody --json --config "$conf" </dev/null >/dev/null 2>"$tmp/err"
check "remove without --yes and without a terminal: usage error (2)" test $? = 2
T unlock --user nobody --json --config "$conf" > "$tmp/u.json"
check "unlock --json" test "$(jq -c '[.user,.unlocked]' "$tmp/u.json")" = '["nobody",true]'
T remove --user nobody --yes --json --config "$conf" > "$tmp/rm.json"
check "remove --json" test "$(jq -c '[.user,.removed]' "$tmp/rm.json")" = '["nobody",true]'
check "after remove: not enrolled" test "$(T status --user nobody --json --config "$conf" | jq .enrolled)" = false
T remove --user nobody --yes --config "$conf" 2>"$tmp/err"
check "remove of a user without enrolment: exit 1, one line" test $? = 1 -a "$(wc -l < "$tmp/err")" = 1

T unlock --config "$conf" 2>/dev/null; check "unlock without --user: usage error" test $? = 2
T status --bogus 2>/dev/null; check "unknown option: usage error" test $? = 2
T frobnicate 2>/dev/null; check "unknown command: usage error" test $? = 2
T status --qr ascii 2>/dev/null; check "an option the command does not take: usage error" test $? = 2
T enroll --user 'bad/name' --yes --config "$conf" 2>/dev/null; check "bad user name refused" test $? = 2
all_help=0
for c in enroll status recovery-codes remove unlock init; do
  T "$c" --help | grep -q "^Usage: totp-setup.*$c" || all_help=1
done
check "--help for every command" test $all_help = 0
check "--version" sh -c "'$TOOL' --version | grep -q '^totp-setup (pam_totp) [0-9]'"
exit $failed
