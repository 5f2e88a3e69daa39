#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Key, then code, through real OpenSSH: a private sshd on 127.0.0.1 with the
# deploy guide's lines (tests/e2e/guide/sshd_config-key-code and
# pam-key-code: pam_totp alone in the auth stack after the public key), a
# real ssh client on a pty, throwaway users enrolled with totp-setup and
# codes from oathtool.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"

# deny = 2 so that the lockout test needs only two wrong codes; the other
# users never fail twice in a row.
e2e_config e2e "deny = 2" "unlock_time = 600"
G=${E2E_TAG}g   # good: the plain login
R=${E2E_TAG}r   # replay
W=${E2E_TAG}w   # wrong codes
L=${E2E_TAG}l   # locked
C=${E2E_TAG}c   # recovery codes
N=${E2E_TAG}n   # not enrolled
for u in "$G" "$R" "$W" "$L" "$C" "$N"; do e2e_user "$u"; e2e_authorize "$u"; done
for u in "$G" "$R" "$W" "$L" "$C"; do e2e_enroll "$E2E_CONF" "$u" || bail "totp-setup enroll $u failed"; done
ok "six users, five enrolled with totp-setup enroll --yes --json"

e2e_sshd_service "$E2E_GUIDE/pam-key-code"
e2e_sshd_start "$E2E_GUIDE/sshd_config-key-code"

# --- the plain login
check "key + right code: logged in, the command ran as the user" e2e_login_ok key "$G" "" "$(e2e_code "$G")"
check "the prompt was 'Verification code:' (that spelling), once" \
  sh -c "test '$(e2e_prompts)' = code && grep -q 'Verification code: ' '$E2E_TMP/last.out'"
check "no key: refused before any code is asked" e2e_login_refused kbd "$G" "" "$(e2e_code "$G" 1)"
check "  (no 'Verification code:' prompt without the key)" test -z "$(e2e_prompts)"

# --- wrong and malformed codes
check "key + wrong code: refused" e2e_login_refused key "$W" "" "$(e2e_wrong_code "$W")"
check "  (after the code prompt)" test "$(e2e_prompts)" = code
check "key + letters instead of a code: refused" e2e_login_refused key "$W" "" "abc!def"

# --- replay: the same code twice. With window = 1 every code below stays
# inside the accepted window as long as the clock moves at most one step
# during this block (checked), so each refusal is for the replay, not for
# an expired code.
e2e_fresh_step "$R" 3
step0=$(e2e_step "$R")
x=$(e2e_code "$R")
next=$(e2e_code "$R" 1)
check "replay: code X logs in" e2e_login_ok key "$R" "" "$x"
check "replay: the same X again is refused" e2e_login_refused key "$R" "" "$x"
check "replay: a fresh code (next step, inside the window) logs in" e2e_login_ok key "$R" "" "$next"
check "replay: that code again is refused" e2e_login_refused key "$R" "" "$next"
check "replay: the older, never-used code of step X is now refused too" e2e_login_refused key "$R" "" "$x"
step1=$(e2e_step "$R")
if [ $((step1 - step0)) -le 1 ]; then ok "  (all within the window: steps $step0..$step1)"
else not_ok "  (all within the window: steps $step0..$step1)"; fi

# --- lockout: deny = 2
check "lockout: wrong code 1 refused" e2e_login_refused key "$L" "" "$(e2e_wrong_code "$L")"
check "lockout: wrong code 2 refused" e2e_login_refused key "$L" "" "$(e2e_wrong_code "$L")"
check "lockout: now even the right code is refused" e2e_login_refused key "$L" "" "$(e2e_code "$L")"
check "  (told the account is locked, not asked for a code)" sh -c \
  "grep -qi 'locked' '$E2E_TMP/last.out' && ! grep -q '^E2E-PROMPTS: .*code' '$E2E_TMP/last.out'"
check "lockout: totp-setup unlock --user works" quietly "$E2E_TOOL" --config "$E2E_CONF" unlock --user "$L"
check "lockout: after unlock the right code logs in" e2e_login_ok key "$L" "" "$(e2e_code "$L")"

# --- recovery codes: each works once
rc0=$(e2e_recovery "$C" 0)
rc1=$(e2e_recovery "$C" 1)
total=$(e2e_recovery_count "$C")
E2E_SSH_TTY=1
check "recovery: a recovery code logs in (session with a pty)" e2e_login_ok key "$C" "" "$rc0"
E2E_SSH_TTY=0
check "  (the user is told $((total - 1)) are left)" e2e_last_has "$((total - 1)) left"
check "recovery: the same recovery code again is refused" e2e_login_refused key "$C" "" "$rc0"
# typed in the other case and without its dash
rc1_typed=$(printf '%s' "$rc1" | tr -d '-' | tr 'a-zA-Z' 'A-Za-z')
check "recovery: another code, other case, no dash, logs in" e2e_login_ok key "$C" "" "$rc1_typed"

# --- users without an enrolment
check "not enrolled: refused" e2e_login_refused key "$N" "" "$(e2e_code "$G")"
e2e_sshd_service "$E2E_GUIDE/pam-key-code-nullok"
check "not enrolled, nullok: let in with the key alone" e2e_login_ok key "$N" "" ""
check "  (no code asked)" test -z "$(e2e_prompts)"
check "nullok: an enrolled user is still refused with a wrong code" e2e_login_refused key "$G" "" "$(e2e_wrong_code "$G")"

done_testing
