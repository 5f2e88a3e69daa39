#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Right codes, window edges, outside the window, every algorithm/digits/
# period, codes typed with spaces, and that the test clock is really used.
. "$top_srcdir/tests/pam/lib.sh"
setup

enrol alice >/dev/null
check "right code at now is accepted" accepts alice $T0 "$(code $T0)"
check "accepted login logged as 'accepted totp' with service, user, rhost" \
  syslog_has "pam_totp(totp:auth): user=alice rhost=test.example: accepted totp"
check "prompt is 'Verification code: ' with echo off" out_has "PROMPT_ECHO_OFF: Verification code: "
check "last login time and rhost recorded" test "$(ledger alice last_login_time)/$(ledger alice last_login_rhost)" = "$T0/test.example"
c=$(code $T0)
check "no code or secret in syslog" sh -c "! grep '^SYSLOG' '$T/out' | grep -qe '$c' -e '$SECRET'"

# The fake clock must be honoured: a code for a time far away is refused,
# and the same code is accepted at that time.
far=$((T0 + 86400 * 365))
enrol clockuser >/dev/null
check "code from a year later is refused at T0 (clock is faked)" refuses clockuser $T0 "$(code $far)"
check "same code accepted at the faked time a year later" accepts clockuser $far "$(code $far)"

# Window edges (window = 1 by default): each on a fresh user, no replay.
enrol w1 >/dev/null; check "code of the previous step accepted" accepts w1 $T0 "$(code $((T0 - 30)))"
enrol w2 >/dev/null; check "code of the next step accepted" accepts w2 $T0 "$(code $((T0 + 30)))"
enrol w3 >/dev/null; check "code two steps back refused" refuses w3 $T0 "$(code $((T0 - 60)))"
enrol w4 >/dev/null; check "code two steps ahead refused" refuses w4 $T0 "$(code $((T0 + 60)))"
check "refusal logged as 'wrong code'" syslog_has "user=w4 rhost=test.example: wrong code"
check "refusal shows no message that tells wrong from replayed" sh -c "! grep -q '^ERROR\\|^INFO' '$T/out'"
enrol w5 >/dev/null; check "last second of the step still accepts the step's code" accepts w5 $((T0 + 29)) "$(code $T0)"
enrol w6 >/dev/null; check "window=0 (PAM argument) refuses the previous step" \
  sh -c ". '$top_srcdir/tests/pam/lib.sh'; T='$T'; service totp 'auth required $MODULE config=$CONF window=0'; \
         login w6 $T0 --answer $(code $((T0 - 30))); result_is PAM_AUTH_ERR"
service totp "auth required $MODULE config=$CONF window=3"
enrol w7 >/dev/null; check "window=3 accepts three steps back" accepts w7 $T0 "$(code $((T0 - 90)))"
enrol w8 >/dev/null; check "window=3 refuses four steps back" refuses w8 $T0 "$(code $((T0 - 120)))"
service totp "auth required $MODULE config=$CONF"

# Every algorithm, digits and period the record can hold.
for alg in SHA1 SHA256 SHA512; do
  for digits in 6 7 8; do
    for period in 30 60; do
      u=u_${alg}_${digits}_${period}
      enrol $u --algorithm $alg --digits $digits --period $period >/dev/null
      t=$((T0 + 7))
      c=$(code $t $digits $period $alg)
      check "$alg, $digits digits, ${period}s: oathtool's code accepted" accepts $u $t "$c"
    done
  done
done
enrol p15 --period 15 >/dev/null
check "period 15: code of the step before accepted" accepts p15 $T0 "$(code $((T0 - 15)) 6 15)"
enrol d8 --digits 8 >/dev/null
check "8-digit user: a 6-digit code is refused" refuses d8 $T0 "$(code $T0 6)"

# Codes typed with spaces.
enrol sp1 >/dev/null
c=$(code $T0)
check "code typed as 'ddd ddd' accepted" accepts sp1 $T0 "$(echo "$c" | sed 's/^\(...\)/\1 /')"
enrol sp2 >/dev/null
check "code typed with spaces around and between digits accepted" accepts sp2 $T0 " $(echo "$c" | sed 's/./& /g')"
enrol sp3 >/dev/null
check "code with a tab is refused" refuses sp3 $T0 "$(printf '%s\t%s' "$(echo $c | cut -c1-3)" "$(echo $c | cut -c4-6)")"

# Custom prompt.
service totp "auth required $MODULE config=$CONF prompt=OTP:"
enrol pr >/dev/null
check "prompt=TEXT is used" sh -c "PAM_TOTP_TEST_NOW=$T0 '$DRIVER' --confdir '$T/pam.d' --service totp --user pr --answer $(code $T0) | grep -q '^PROMPT_ECHO_OFF: OTP:\$'"

# setcred is a no-op success.
service totp "auth required $MODULE config=$CONF"
enrol sc >/dev/null
check "pam_setcred returns PAM_SUCCESS" sh -c "PAM_TOTP_TEST_NOW=$T0 '$DRIVER' --confdir '$T/pam.d' --service totp --user sc --setcred --answer $(code $T0) | grep -q '^SETCRED: PAM_SUCCESS\$'"
finish
