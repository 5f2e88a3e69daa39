#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A matrix of hostile answers (empty, huge, control bytes, escape sequences,
# format strings, non-UTF-8, look-alike digits, the right code with junk):
# every one is refused with PAM_AUTH_ERR without a crash, nothing of it
# reaches syslog, and the right code still works afterwards.
. "$top_srcdir/tests/pam/lib.sh"
setup

# deny=0: the matrix must not lock the user out before the final check.
service hostile "auth required $MODULE config=$(conf_with nolock 'deny = 0')"
enrol alice >/dev/null
now=$T0
c=$(code $now)

hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
rep() { awk -v s="$1" -v n="$2" 'BEGIN { while (n-- > 0) printf "%s", s }'; }

total=0
# hostile DESCRIPTION TEXT: refused, no crash, the answer not in syslog.
hostile() {
  total=$((total + 1))
  h=$(hexof "$2")
  if [ -z "$h" ]; then
    login --service hostile alice $now --answer ""
  else
    login --service hostile alice $now --answer-hex "$h"
  fi
  rc=$?
  if [ $rc = 7 ] && result_is PAM_AUTH_ERR && syslog_has "user=alice rhost=test.example: wrong code" &&
     ! grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/out"; then
    ok "hostile answer refused: $1"
  else
    not_ok "hostile answer refused: $1 (exit $rc)"; tail -5 "$T/out" | sed 's/^/# /'
  fi
}

hostile "empty" ""
hostile "one space" " "
hostile "six spaces" "      "
hostile "10 kB of digits" "$(rep 1 10240)"
hostile "exactly 4096 digits" "$(rep 7 4096)"
hostile "5000 letters" "$(rep a 5000)"
hostile "65 digits" "$(rep 9 65)"
hostile "five digits" "12345"
hostile "seven digits" "1234567"
hostile "30 digits" "123456789012345678901234567890"
hostile "letters abcdef" "abcdef"
hostile "letters ABCDEF" "ABCDEF"
hostile "digits and a letter" "12345a"
hostile "format string %s" "%s%s%s%s%s%s"
hostile "format string %n" "%n%n%n%n"
hostile "format string %x" "%x%x%x%x%x%x%x%x"
hostile "format string with width" "%999999999d"
hostile "1000 times %s" "$(rep %s 1000)"
hostile "terminal clear sequence" "$(printf '\033[2J\033[H')"
hostile "OSC title sequence" "$(printf '\033]0;pwned\007')"
hostile "escape sequence then the right code" "$(printf '\033[31m')$c"
hostile "control bytes 01..06" "$(printf '\001\002\003\004\005\006')"
hostile "DEL bytes" "$(printf '\177\177\177\177\177\177')"
hostile "non-UTF-8 bytes ff..fa" "$(printf '\377\376\375\374\373\372')"
hostile "invalid UTF-8 c3 28" "$(printf '\303\050')"
hostile "UTF-8 surrogate" "$(printf '\355\240\200')"
hostile "emoji" "$(printf '\360\237\230\200')"
hostile "fullwidth digits" "$(printf '\357\274\221\357\274\222\357\274\223\357\274\224\357\274\225\357\274\226')"
hostile "Arabic-Indic digits" "$(printf '\331\241\331\242\331\243\331\244\331\245\331\246')"
hostile "right code + newline" "$c
"
hostile "right code + CR" "$c$(printf '\r')"
hostile "right code with a tab inside" "$(echo $c | cut -c1-3)$(printf '\t')$(echo $c | cut -c4-6)"
hostile "vertical tab + right code" "$(printf '\013')$c"
hostile "right code + no-break space" "$c$(printf '\302\240')"
hostile "plus sign + right code" "+$c"
hostile "minus sign + right code" "-$c"
hostile "right code twice" "$c$c"
hostile "right code as hex" "0x$(printf '%x' $((1$c - 1000000)))"
hostile "SQL injection" "' OR 1=1 --"
hostile "path traversal" "../../../../etc/shadow"
hostile "shell substitution" '$(reboot)'
hostile "backticks" '`id`'
hostile "recovery-shaped, not a code" "zzzzz-zzzzz"
hostile "recovery-shaped upper case with a space" "ZZZZZ ZZZZZ"
hostile "dashes only" "----------"
hostile "spaced dashes" "- - - - - "
hostile "recovery code one character too long" "abcde-fghjkm"
hostile "5000 bytes of UTF-8 e-acute" "$(rep "$(printf '\303\251')" 2500)"
hostile "right code in Latin-1 with a high byte" "$c$(printf '\351')"

check "at least 40 hostile answers tried ($total)" test $total -ge 40
login --service hostile alice $now --answer "$c"
check "after all that, the right code is accepted" result_is PAM_SUCCESS
check "and no syslog line carried a raw control byte" sh -c "! grep '^SYSLOG' '$T/out' | LC_ALL=C grep -q '[[:cntrl:]]'"

# Hostile bytes in the user name and rhost reach syslog only escaped.
PAM_TOTP_TEST_NOW=$now "$DRIVER" --confdir "$T/pam.d" --service hostile \
  --user "$(printf 'ev\033[2Jil%%n%%s')" --rhost "$(printf 'h\033]0;x\007%%s')" --answer 123456 >"$T/out" 2>&1
check "hostile user name refused" result_is PAM_AUTH_ERR
check "hostile user name and rhost escaped in syslog" sh -c "grep '^SYSLOG' '$T/out' | grep -q 'user=' && ! grep '^SYSLOG' '$T/out' | LC_ALL=C grep -q \"\$(printf '\\033')\""

# Hostile PAM_AUTHTOK (use_first_pass) and split_code answers.
service ufp "auth required $CHECK_MODULE get" "auth required $MODULE config=$T/nolock.conf use_first_pass"
login --service ufp alice $now --answer-hex "$(hexof "$(rep 1 10240)")"
check "use_first_pass: 10 kB PAM_AUTHTOK refused" result_is PAM_AUTH_ERR
login --service ufp alice $now --answer-hex "$(hexof "$(printf '\033[2J%%n')")"
check "use_first_pass: escape/format PAM_AUTHTOK refused" result_is PAM_AUTH_ERR
service split "auth requisite $MODULE config=$T/nolock.conf split_code" "auth requisite $CHECK_MODULE get" \
  "auth required $MODULE config=$T/nolock.conf kept_code"
login --service split alice $now --answer-hex "$(hexof "$(rep x 10240)")"
check "split_code: 10 kB answer refused" result_is PAM_AUTH_ERR
login --service split alice $now --answer-hex "$(hexof "$(printf '\377\376')")"
check "split_code: non-UTF-8 answer refused" result_is PAM_AUTH_ERR
login --service split alice $now --answer ""
check "split_code: empty answer refused" result_is PAM_AUTH_ERR
finish
