#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Trusted devices (remember, issue 17) through real OpenSSH: a private sshd
# with the deploy guide's key-then-code lines plus ExposeAuthInfo yes (sshd
# puts the accepted key into SSH_AUTH_INFO_0), pam_totp with remember, a
# real ssh client on a pty, codes from oathtool.
#   key + code -> in; the same key from the same address -> in without a
#   code; another key, another address (ssh -b 127.0.0.2), an expired
#   entry, a forgotten device -> asked; a user locked by a stranger's wrong
#   codes still gets in from the trusted device, and another key is refused
#   as locked.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

e2e_config e2e "deny = 10" "unlock_time = 600" "remember = 3600"
G=${E2E_TAG}g   # the usual user
L=${E2E_TAG}l   # locked by a stranger
for u in "$G" "$L"; do e2e_user "$u"; done
e2e_client_key
ssh-keygen -q -t ed25519 -N '' -C e2e-other -f "$E2E_TMP/key_b" || bail "ssh-keygen failed"
for u in "$G" "$L"; do
  e2e_authorize "$u"
  cat "$E2E_TMP/key_b.pub" >>"$(getent passwd "$u" | cut -d: -f6)/.ssh/authorized_keys"
  e2e_enroll "$E2E_CONF" "$u" || bail "totp-setup enroll $u failed"
done
FP_A=$(ssh-keygen -l -f "$E2E_TMP/client_key.pub" | cut -d' ' -f2)
ok "two users, both keys authorized, enrolled with totp-setup enroll --yes --json"

{ cat "$E2E_GUIDE/sshd_config-key-code"; echo "ExposeAuthInfo yes"; } >"$E2E_TMP/sshd_config-remember"
e2e_sshd_service "$E2E_GUIDE/pam-key-code"
e2e_sshd_start "$E2E_TMP/sshd_config-remember"

# rssh KEY SOURCE_ADDRESS USER CODE: e2e_ssh with a chosen key and source
# address (sshd sees it as the remote address).
rssh() {
  env -u SSH_AUTH_SOCK E2E_PASSWORD="" E2E_CODE="$4" expect -f "$E2E_DIR/answer.exp" \
    ssh -F /dev/null -T -p "$E2E_PORT" -b "$2" -i "$1" -o IdentitiesOnly=yes -o PubkeyAuthentication=yes \
      -o PreferredAuthentications=publickey,keyboard-interactive \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
      -o CheckHostIP=no -o LogLevel=INFO -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
      -o BatchMode=no -o KbdInteractiveAuthentication=yes -o PasswordAuthentication=no \
      "$3@127.0.0.1" "$E2E_CMD" >"$E2E_TMP/last.out" 2>&1
}
A=$E2E_TMP/client_key
B=$E2E_TMP/key_b
in_with_code() { rssh "$@" && e2e_ran_as "$3" && [ "$(e2e_prompts)" = code ]; }
in_without_code() { rssh "$1" "$2" "$3" "" && e2e_ran_as "$3" && [ -z "$(e2e_prompts)" ]; }
asked_refused() {
  rssh "$1" "$2" "$3" ""; _rc=$?
  [ "$_rc" = 255 ] && ! e2e_ran_as "$3" && [ "$(e2e_prompts)" = code ] && e2e_last_has 'permission denied'
}
devices() { "$E2E_TOOL" --config "$E2E_CONF" devices --user "$1" --json; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- remembered after a code, then no code from the same key and address
t0=$(ms)
check "key A + code: logged in" in_with_code "$A" 127.0.0.1 "$G" "$(e2e_code "$G")"
t1=$(ms)
check "  the device is listed: key A's fingerprint, from 127.0.0.1" \
  sh -c "devices_json=\$('$E2E_TOOL' --config '$E2E_CONF' devices --user '$G' --json) &&
    printf '%s' \"\$devices_json\" | jq -e --arg fp '$FP_A' '(.devices | length) == 1 and .devices[0].key == \$fp and .devices[0].from == \"127.0.0.1\"' >/dev/null"
t2=$(ms)
check "the same key from the same address: logged in without a code (no prompt)" in_without_code "$A" 127.0.0.1 "$G"
t3=$(ms)
diag "a code login took $((t1 - t0)) ms, a trusted-device login $((t3 - t2)) ms (ssh, sshd, PAM, expect)"
check "another key (B), same address: asked for a code" asked_refused "$B" 127.0.0.1 "$G"
check "key A from another address (127.0.0.2): asked for a code" asked_refused "$A" 127.0.0.2 "$G"
check "key A from 127.0.0.1 still needs no code" in_without_code "$A" 127.0.0.1 "$G"

# --- forgotten
check "totp-setup forget --all: done" quietly "$E2E_TOOL" --config "$E2E_CONF" forget --user "$G" --all --yes
check "a forgotten device is asked for a code" asked_refused "$A" 127.0.0.1 "$G"

# --- expired: remembered for 3 s (remember on the PAM line), then waited out
e2e_sshd_service "$E2E_GUIDE/pam-key-code" remember=3
check "remember=3: key A + code: logged in" in_with_code "$A" 127.0.0.1 "$G" "$(e2e_code "$G" 1)"
until_t=$(devices "$G" | jq -r '.devices[0].until // empty')
check "  remembered (listed until $until_t)" test -n "$until_t"
e2e_sshd_service "$E2E_GUIDE/pam-key-code"
# poll until the entry has expired by its own time (remember is 3600 again)
_i=0
while [ -n "$(devices "$G" | jq -r '.devices[0].until // empty')" ] && [ $_i -lt 60 ]; do sleep 0.2; _i=$((_i + 1)); done
check "an expired entry (remember back at 3600) is asked for a code" asked_refused "$A" 127.0.0.1 "$G"

# --- a stranger locks the user out; the trusted device still gets in
# deny is a file-only setting: a second config, same key and state, deny = 2.
sed 's/^deny = 10$/deny = 2/' "$E2E_CONF" >"$E2E_TMP/deny2.conf"
_conf=$E2E_CONF; E2E_CONF=$E2E_TMP/deny2.conf
e2e_sshd_service "$E2E_GUIDE/pam-key-code"
E2E_CONF=$_conf
check "user L: key A + code: logged in (remembered)" in_with_code "$A" 127.0.0.1 "$L" "$(e2e_code "$L")"
wrong_refused() {
  rssh "$B" 127.0.0.2 "$L" "$(e2e_wrong_code "$L")"; _rc=$?
  [ "$_rc" = 255 ] && ! e2e_ran_as "$L" && [ "$(e2e_prompts)" = code ]
}
check "a stranger (key B, from 127.0.0.2): wrong code 1 refused" wrong_refused
check "a stranger: wrong code 2 refused (deny = 2 reached)" wrong_refused
check "  L is locked" sh -c "'$E2E_TOOL' --config '$E2E_CONF' status --user '$L' --json | jq -e '.locked_until > 0' >/dev/null"
check "locked: the trusted device (key A, 127.0.0.1) gets in without a code" in_without_code "$A" 127.0.0.1 "$L"
locked_refused() {
  rssh "$B" 127.0.0.1 "$L" "$(e2e_code "$L" 1)"; _rc=$?
  [ "$_rc" = 255 ] && ! e2e_ran_as "$L" && e2e_last_has 'locked' && [ -z "$(e2e_prompts)" ]
}
check "locked: key B with a right code is refused as locked (no prompt)" locked_refused

diag "took $(( $(date +%s) - E2E_T0 )) s"
done_testing
