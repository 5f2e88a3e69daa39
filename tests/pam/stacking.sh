#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# use_first_pass, try_first_pass and split_code/kept_code, stacked with a module
# that sets or checks PAM_AUTHTOK (pam_check_authtok.so, test only).
. "$top_srcdir/tests/pam/lib.sh"
setup
[ -e "$CHECK_MODULE" ] || { echo "Bail out! $CHECK_MODULE not built"; exit 1; }

prompts() { grep -c '^PROMPT_' "$T/out"; }

# use_first_pass: the code comes from PAM_AUTHTOK, never a prompt of ours.
service ufp "auth required $CHECK_MODULE get" "auth required $MODULE config=$CONF use_first_pass"
enrol alice >/dev/null
login --service ufp alice $T0 --answer "$(code $T0)"
check "use_first_pass: code from PAM_AUTHTOK accepted" result_is PAM_SUCCESS
check "use_first_pass: only the first module's prompt" test "$(prompts)" = 1
check "use_first_pass: that prompt was 'Password: '" out_has "PROMPT_ECHO_OFF: Password: "
login --service ufp alice $((T0 + 30)) --answer "not-a-code"
check "use_first_pass: a password in PAM_AUTHTOK is refused" result_is PAM_AUTH_ERR
check "use_first_pass: still no prompt of ours" test "$(prompts)" = 1
check "use_first_pass: a password is not counted as a failed code" test "$(ledger alice fail_count)" = 0
check "use_first_pass: the log says why" syslog_has "PAM_AUTHTOK is not a 6-digit code"
for pw in password12 dragon1999 "123 456" 1234567; do
  login --service ufp alice $((T0 + 30)) --answer "$pw"
done
check "use_first_pass: code-shaped passwords are not judged or counted" test "$(ledger alice fail_count)" = 0
service ufp_alone "auth required $MODULE config=$CONF use_first_pass"
login --service ufp_alone alice $((T0 + 60)) --answer "$(code $((T0 + 60)))"
check "use_first_pass without PAM_AUTHTOK: refused without prompting" sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && ! grep -q '^PROMPT_' '$T/out'"
check "use_first_pass without PAM_AUTHTOK: logged" syslog_has "PAM_AUTHTOK is not a 6-digit code"

# try_first_pass: a code-shaped PAM_AUTHTOK is used; a password is not a
# failed code: the module asks.
service tfp "auth required $CHECK_MODULE get" "auth required $MODULE config=$CONF try_first_pass"
enrol bob >/dev/null
login --service tfp bob $T0 --answer "$(code $T0)"
check "try_first_pass: code from PAM_AUTHTOK accepted without a second prompt" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && test \$(grep -c '^PROMPT_' '$T/out') = 1"
login --service tfp bob $((T0 + 30)) --answer "hunter2" --answer "$(code $((T0 + 30)))"
check "try_first_pass: a password in PAM_AUTHTOK makes the module prompt" out_has "PROMPT_ECHO_OFF: Verification code: "
check "try_first_pass: and the prompted code is accepted" result_is PAM_SUCCESS
check "try_first_pass: the password did not count as a failure" test "$(ledger bob fail_count)" = 0
for pw in password12 dragon1999 abcde-fghij; do
  login --service tfp bob $((T0 + 31)) --answer "$pw" --answer ""
done
check "try_first_pass: passwords shaped like codes or recovery codes are never taken as one" \
  test "$(grep -c '^PROMPT_ECHO_OFF: Verification code: ' "$T/out")" = 1
service tfp_alone "auth required $MODULE config=$CONF try_first_pass"
login --service tfp_alone bob $((T0 + 60)) --answer "$(code $((T0 + 60)))"
check "try_first_pass without PAM_AUTHTOK: prompts and accepts" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"

# split_code + password module + kept_code: one prompt; split_code cuts the
# code from the end and hands the password on; kept_code judges the code only
# once the password module (requisite) let the stack go on.
split_service() {  # NAME EXPECTED-PASSWORD [MODULE ARGS...]
  ss_name=$1; ss_pw=$2; shift 2
  service "$ss_name" "auth requisite $MODULE config=$CONF split_code $*" \
    "auth requisite $CHECK_MODULE expect=$ss_pw" "auth required $MODULE config=$CONF kept_code $*"
}
split_service split s3cret
enrol carol --recovery 2 >"$T/codes"
login --service split carol $T0 --answer "s3cret$(code $T0)"
check "split_code: password+code accepted" result_is PAM_SUCCESS
check "split_code: one prompt 'Password & verification code: '" \
  sh -c "test \$(grep -c '^PROMPT_' '$T/out') = 1 && grep -q '^PROMPT_ECHO_OFF: Password & verification code: \$' '$T/out'"
check "split_code: next module got the password in PAM_AUTHTOK" out_has "INFO: check_authtok: match"
login --service split carol $((T0 + 30)) --answer "s3cret000000"
check "kept_code: wrong code refused" result_is PAM_AUTH_ERR
check "kept_code: the wrong code counted (after the right password)" test "$(ledger carol fail_count)" = 1
for i in 1 2 3 4 5 6; do
  login --service split carol $((T0 + 60 + i)) --answer "wrongpw$(code $((T0 + 60 + i)))"
done
check "wrong password + right code: the stack refuses" result_is PAM_AUTH_ERR
check "  (the password module saw the other password)" out_has "INFO: check_authtok: mismatch"
check "  six wrong passwords counted nothing and locked nothing" \
  test "$(ledger carol fail_count) $(ledger carol locked_until)" = "1 0"
check "  and the code was not used up" test "$(ledger carol last_used_step)" = "$((T0 / 30))"
login --service split carol $((T0 + 90)) --answer "s3cret$(code $((T0 + 90)))"
check "then the right password and code get in" result_is PAM_SUCCESS
r1=$(sed -n 1p "$T/codes")
login --service split carol $((T0 + 120)) --answer "s3cret$r1"
check "split_code: password+recovery code accepted" result_is PAM_SUCCESS
check "split_code: recovery code message" out_has "INFO: Recovery code accepted; 1 left"
r2=$(sed -n 2p "$T/codes" | tr -d -)
login --service split carol $((T0 + 150)) --answer "s3cret$r2"
check "split_code: password+recovery code without dash accepted" result_is PAM_SUCCESS

split_service split8 pw
enrol dave --digits 8 >/dev/null
login --service split8 dave $T0 --answer "pw$(code $T0 8)"
check "split_code with an 8-digit enrolment cuts 8 digits" sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q 'check_authtok: match' '$T/out'"

# Not enrolled, nullok: the same prompt, and all of it is the password (a
# password that ends in digits is not cut).
split_service splitnull "pw123456" nullok
login --service splitnull nobody_here $T0 --answer "pw123456"
check "split_code + nullok, not enrolled: same prompt, whole answer is the password, in" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q 'check_authtok: match' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Password & verification code: ' '$T/out'"

# A locked user and a wrong password: nothing tells that the user is locked.
enrol lena >/dev/null
for i in 1 2 3 4 5; do login --service split lena $((T0 + i)) --answer "s3cret000000"; done
check "lena is locked by wrong codes after the right password" test "$(ledger lena locked_until)" != 0
login --service split lena $((T0 + 10)) --answer "wrongpw000000"
cp "$T/out" "$T/out.locked"
login --service split nobody_here $((T0 + 10)) --answer "wrongpw000000"
check "wrong password: a locked user and an unknown user see the same conversation" \
  sh -c "grep -v '^SYSLOG' '$T/out.locked' >'$T/a'; grep -v '^SYSLOG' '$T/out' >'$T/b'; cmp -s '$T/a' '$T/b'"
login --service split lena $((T0 + 11)) --answer "s3cret$(code $((T0 + 11)))"
check "right password: the locked user is told" out_has "Account locked"

service split_prompt "auth requisite $MODULE config=$CONF split_code prompt=Both:" \
  "auth requisite $CHECK_MODULE expect=pw" "auth required $MODULE config=$CONF kept_code"
enrol erin >/dev/null
login --service split_prompt erin $T0 --answer "pw$(code $T0)"
check "split_code with prompt=TEXT uses TEXT" sh -c "grep -q '^PROMPT_ECHO_OFF: Both:\$' '$T/out' && grep -q '^RESULT: PAM_SUCCESS' '$T/out'"

# kept_code without split_code before it: refused, and the log says why.
service kept_alone "auth required $CHECK_MODULE get" "auth required $MODULE config=$CONF kept_code"
login --service kept_alone erin $((T0 + 30)) --answer "$(code $((T0 + 30)))"
check "kept_code without split_code: refused" result_is PAM_AUTH_ERR
check "  the log names the missing line" syslog_has "'pam_totp.so split_code' must come before"
finish
