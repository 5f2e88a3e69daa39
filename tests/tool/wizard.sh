#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The enrolment wizard driven through a real terminal (tmux): the QR code on
# the screen decodes to the printed URI; a wrong code is refused and asked
# again with a hint; the right code (from oathtool) activates and recovery
# codes are shown once; the typed code is not echoed; Ctrl-C, EOF or three
# wrong codes leave nothing active and no stray file; an existing
# enrolment survives an interrupted replacement.
set -u
. "$top_srcdir/tests/tool/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the tool reads a private config only for root)"
for t in tmux oathtool zbarimg python3 jq; do command -v $t >/dev/null || skip_all "$t not installed"; done
echo "1..22"
runs=0
sock="totp-wizard-$$-0"
cleanup() {
  i=0; while [ $i -le $runs ]; do tmux -L "totp-wizard-$$-$i" kill-server 2>/dev/null; i=$((i + 1)); done
  tool_cleanup
}
trap cleanup EXIT INT TERM
tool_setup "issuer = Ärger GmbH Testing Long Issuer Name ✓"

screen() { tmux -L "$sock" capture-pane -p -J -S -200 -t w 2>/dev/null; }
wait_for() {  # PATTERN [SECONDS]
  i=0; lim=$(( ${2:-20} * 10 ))
  while [ $i -lt $lim ]; do
    screen | grep -q -- "$1" && return 0
    sleep 0.1; i=$((i + 1))
  done
  diag "timed out waiting for: $1"; screen | tail -15 | sed 's/^/# /'
  return 1
}
prompts() { screen | grep -c 'Verification code:'; }
start() {  # ARGS... : runs the tool in a fresh tmux window
  tmux -L "$sock" kill-server 2>/dev/null
  runs=$((runs + 1)); sock="totp-wizard-$$-$runs"
  rm -f "$tmp/exit"
  tmux -L "$sock" -f /dev/null new-session -d -s w -x 200 -y 150 \
    "trap '' INT; env LANG=C.UTF-8 LC_ALL=C.UTF-8 '$TOOL' $* --config '$conf'; echo \$? > '$tmp/exit'; stty -a > '$tmp/stty'; sleep 600"
}
keys() { tmux -L "$sock" send-keys -t w "$@"; }
exit_status() {
  i=0; while [ ! -s "$tmp/exit" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  cat "$tmp/exit" 2>/dev/null
}
state_files() { ls -A "$tmp/state" | grep -v '^\.lock\.' | tr '\n' ' '; }

# --- a complete enrolment ---------------------------------------------------
start enroll --qr utf8
wait_for 'Verification code:'
check "wizard explains, shows the URI and asks for a code" wait_for '^URI:'
uri=$(screen | sed -n 's/^URI: *//p' | head -1)
screen | python3 "$QR2PGM" utf8 > "$tmp/screen.pgm"
decoded=$(zbarimg --raw -q "$tmp/screen.pgm" 2>/dev/null)
check "QR code captured from the terminal decodes to the printed URI" test "x$decoded" = "x$uri"
check "nothing is stored before a code is confirmed" test -z "$(state_files)"
code=$(oath_code "$uri")
wrong=$(printf "%s" "$code" | tr "0-9" "1-90")
keys "$wrong" Enter
wait_for 'clock'
check "a wrong code is refused with a hint about the phone's clock" wait_for "phone.s clock"
check "and the code is asked again" test "$(prompts)" = 2
check "the typed code is not echoed" sh -c "! tmux -L '$sock' capture-pane -p -t w | grep -q '$wrong'"
code=$(oath_code "$uri")
keys "$code" Enter
check "the right code activates the enrolment" wait_for 'is now active'
check "ten recovery codes are shown" test "$(screen | grep -cE '^ +[0-9]+\. +[a-z0-9]{5}-[a-z0-9]{5}$')" = 10
check "the user is asked to confirm they saved them" wait_for 'saved the recovery codes? \[y/N\]'
keys y Enter
check "wizard exits 0" test "$(exit_status)" = 0
"$TOOL" status --json --config "$conf" > "$tmp/st.json"
check "status: enrolled with 10 recovery codes" \
  test "$(jq -r '"\(.enrolled) \(.recovery_codes_left) \(.algorithm) \(.digits) \(.period)"' "$tmp/st.json")" = "true 10 SHA1 6 30"
created=$(jq -r .created_unix "$tmp/st.json")

# --- root without --force may not replace ------------------------------------
"$TOOL" enroll --config "$conf" </dev/null >/dev/null 2>"$tmp/err"
rc=$?
check "root needs --force to replace an enrolment (exit 3, one line)" test "$rc" = 3 -a "$(wc -l < "$tmp/err")" = 1

# --- Ctrl-C in a replacement leaves the old enrolment -------------------------
sleep 1
start enroll --force --qr ascii
wait_for 'Verification code:'
keys C-c
check "Ctrl-C ends the wizard (killed by SIGINT)" test "$(exit_status)" = 130
"$TOOL" status --json --config "$conf" > "$tmp/st2.json"
check "after Ctrl-C the old enrolment is untouched" \
  test "$(jq -r '"\(.enrolled) \(.created_unix) \(.recovery_codes_left)"' "$tmp/st2.json")" = "true $created 10"
check "after Ctrl-C no stray file in the state directory" test "$(state_files)" = "root "
sleep 0.3; check "the terminal echoes again after Ctrl-C" grep -q ' echo ' "$tmp/stty"

# --- Ctrl-C, EOF and three wrong codes for a new user -------------------------
other=nobody
start enroll --user $other --qr none
wait_for 'Verification code:'
keys C-c
exit_status >/dev/null
check "Ctrl-C: $other not enrolled" test "$("$TOOL" status --user $other --json --config "$conf" | jq -r .enrolled)" = false
start enroll --user $other --qr none
wait_for 'Verification code:'
keys C-d
check "EOF at the prompt: exit 4 (cancelled)" test "$(exit_status)" = 4
check "EOF: $other not enrolled" test "$("$TOOL" status --user $other --json --config "$conf" | jq -r .enrolled)" = false
start enroll --user $other --qr none
wait_for 'Verification code:'
for i in 1 2 3; do keys 000000 Enter; sleep 0.3; done
check "three wrong codes: exit 3" test "$(exit_status)" = 3
check "three wrong codes: $other not enrolled" test "$("$TOOL" status --user $other --json --config "$conf" | jq -r .enrolled)" = false
check "no stray file in the state directory" test "$(state_files)" = "root "
exit $failed
