#!/bin/sh
# use_first_pass, try_first_pass and forward_pass, stacked with a module
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
check "use_first_pass: a password in PAM_AUTHTOK is a wrong code" result_is PAM_AUTH_ERR
check "use_first_pass: still no prompt of ours" test "$(prompts)" = 1
service ufp_alone "auth required $MODULE config=$CONF use_first_pass"
login --service ufp_alone alice $((T0 + 60)) --answer "$(code $((T0 + 60)))"
check "use_first_pass without PAM_AUTHTOK: refused without prompting" sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && ! grep -q '^PROMPT_' '$T/out'"
check "use_first_pass without PAM_AUTHTOK: logged" syslog_has "no code in PAM_AUTHTOK"

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
service tfp_alone "auth required $MODULE config=$CONF try_first_pass"
login --service tfp_alone bob $((T0 + 60)) --answer "$(code $((T0 + 60)))"
check "try_first_pass without PAM_AUTHTOK: prompts and accepts" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q '^PROMPT_ECHO_OFF: Verification code: ' '$T/out'"

# forward_pass: one prompt; the code is cut from the end; the password is
# handed on in PAM_AUTHTOK.
service fwd "auth required $MODULE config=$CONF forward_pass" "auth required $CHECK_MODULE expect=s3cret"
enrol carol --recovery 2 >"$T/codes"
login --service fwd carol $T0 --answer "s3cret$(code $T0)"
check "forward_pass: password+code accepted" result_is PAM_SUCCESS
check "forward_pass: one prompt 'Password & verification code: '" \
  sh -c "test \$(grep -c '^PROMPT_' '$T/out') = 1 && grep -q '^PROMPT_ECHO_OFF: Password & verification code: \$' '$T/out'"
check "forward_pass: next module got the password in PAM_AUTHTOK" out_has "INFO: check_authtok: match"
login --service fwd carol $((T0 + 30)) --answer "s3cret000000"
check "forward_pass: wrong code refused" result_is PAM_AUTH_ERR
check "forward_pass: password still handed on after a wrong code" out_has "INFO: check_authtok: match"
login --service fwd carol $((T0 + 60)) --answer "wrongpw$(code $((T0 + 60)))"
check "forward_pass: right code, wrong password: the stack refuses" result_is PAM_AUTH_ERR
check "forward_pass: (the next module saw the other password)" out_has "INFO: check_authtok: mismatch"
r1=$(sed -n 1p "$T/codes")
login --service fwd carol $((T0 + 90)) --answer "s3cret$r1"
check "forward_pass: password+recovery code accepted" result_is PAM_SUCCESS
check "forward_pass: recovery code message" out_has "INFO: Recovery code accepted; 1 left"
check "forward_pass: password handed on after a recovery code" out_has "INFO: check_authtok: match"
r2=$(sed -n 2p "$T/codes" | tr -d -)
login --service fwd carol $((T0 + 120)) --answer "s3cret$r2"
check "forward_pass: password+recovery code without dash accepted" result_is PAM_SUCCESS
service fwd8 "auth required $MODULE config=$CONF forward_pass" "auth required $CHECK_MODULE expect=pw"
enrol dave --digits 8 >/dev/null
login --service fwd8 dave $T0 --answer "pw$(code $T0 8)"
check "forward_pass with an 8-digit enrolment cuts 8 digits" sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q 'check_authtok: match' '$T/out'"
service fwdnull "auth [success=done ignore=ignore default=die] $MODULE config=$CONF forward_pass nullok" \
  "auth required $CHECK_MODULE expect_unset"
login --service fwdnull nobody_here $T0 --answer "whatever"
check "forward_pass + nullok, not enrolled: not prompted, PAM_AUTHTOK untouched" \
  sh -c "grep -q '^RESULT: PAM_SUCCESS' '$T/out' && grep -q 'check_authtok: unset' '$T/out' && ! grep -q '^PROMPT_' '$T/out'"
service fwdprompt "auth required $MODULE config=$CONF forward_pass prompt=Both:" "auth required $CHECK_MODULE expect=pw"
enrol erin >/dev/null
login --service fwdprompt erin $T0 --answer "pw$(code $T0)"
check "forward_pass with prompt=TEXT uses TEXT" sh -c "grep -q '^PROMPT_ECHO_OFF: Both:\$' '$T/out' && grep -q '^RESULT: PAM_SUCCESS' '$T/out'"
finish
