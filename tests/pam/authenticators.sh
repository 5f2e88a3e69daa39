#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 16 through PAM: several authenticators on one account (enroll --add
# --name, remove --name), per-enrolment parameters, the recovery_codes
# setting, and revoke. Records are made by the built totp-setup as root
# (--config: the private key and state of lib.sh); users are system
# accounts that exist everywhere (daemon, bin, sys) and are never logged in.
. "$top_srcdir/tests/pam/lib.sh"
setup debug
TOOL=$top_builddir/totp-setup
printf 'deny = 3\nunlock_time = 600\nrecovery_codes = 4\n' >>"$CONF"
service nullok "auth required $MODULE config=$CONF nullok debug"

uri_param() { printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# ucode URI TIME: the code of that authenticator at TIME
ucode() {
  _alg=$(uri_param "$1" algorithm | tr 'A-Z' 'a-z')
  oathtool --totp="$_alg" -b -d "$(uri_param "$1" digits)" -s "$(uri_param "$1" period)s" -N "@$2" \
    "$(uri_param "$1" secret)"
}
tool() { "$TOOL" --config "$CONF" "$@"; }

now=$(date +%s)
T1=$(( (now / 30) * 30 + 300 ))   # a step boundary ahead of the real clock (the tool's own code checks use it)

tool enroll --user daemon --yes --json >"$T/e1" 2>"$T/err" || { cat "$T/err"; echo "Bail out! enroll failed"; exit 1; }
U1=$(json 'd["uri"]' <"$T/e1")
check "the recovery_codes setting: 4 codes made" test "$(json 'len(d["recovery_codes"])' <"$T/e1")" = 4
check "first authenticator's code accepted" accepts daemon $T1 "$(ucode "$U1" $T1)"
check "logged with the authenticator's name (default)" syslog_has "accepted totp (authenticator default)"

tool enroll --user daemon --add --name phone2 --yes --json >"$T/e2" 2>"$T/err"
check "root adds a second authenticator (enroll --add --name phone2 --yes)" test $? = 0
U2=$(json 'd["uri"]' <"$T/e2")
check "its JSON names it and issues no recovery codes" \
  test "$(json 'd["authenticator"] + ":" + str(len(d["recovery_codes"]))' <"$T/e2")" = "phone2:0"
check "a different secret" test "$(uri_param "$U1" secret)" != "$(uri_param "$U2" secret)"
tool status --user daemon --json >"$T/st"
check "status lists both by name" test "$(json '",".join(a["name"] for a in d["authenticators"])' <"$T/st")" = "default,phone2"
check "status text lists them" sh -c "'$TOOL' --config '$CONF' status --user daemon | grep -q 'phone2'"
check "the recovery codes are the account's: still 4" test "$(json 'd["recovery_codes_left"]' <"$T/st")" = 4

check "phone2's code for the step already used is refused (one last used step per account)" \
  refuses daemon $((T1 + 1)) "$(ucode "$U2" $T1)"
check "logged as a replay" syslog_has "replayed code"
check "phone2's next code accepted" accepts daemon $((T1 + 30)) "$(ucode "$U2" $((T1 + 30)))"
check "logged with phone2's name" syslog_has "accepted totp (authenticator phone2)"
check "the same code again refused" refuses daemon $((T1 + 31)) "$(ucode "$U2" $((T1 + 30)))"
check "the first authenticator's code of that step refused too" refuses daemon $((T1 + 32)) "$(ucode "$U1" $((T1 + 30)))"

tool unlock --user daemon >/dev/null   # the refusals above counted: start the next part unlocked
check "a name already taken is refused" sh -c "! '$TOOL' --config '$CONF' enroll --user daemon --add --name phone2 --yes --json 2>'$T/err'"
check "with a clear message" grep -q "exists already" "$T/err"
check "a bad name is refused" sh -c "! '$TOOL' --config '$CONF' enroll --user daemon --add --name 'my phone' --yes 2>'$T/err'"
check "naming the rule" grep -q "letters, digits" "$T/err"
check "--add with --digits is refused (the account's digits)" \
  sh -c "! '$TOOL' --config '$CONF' enroll --user daemon --add --name x --digits 8 --yes 2>'$T/err'"
check "--add without --name is a usage error" sh -c "'$TOOL' --config '$CONF' enroll --user daemon --add --yes 2>/dev/null; test \$? = 2"

check "remove --name phone2" tool remove --user daemon --name phone2 --yes
check "phone2's codes no longer work" refuses daemon $((T1 + 60)) "$(ucode "$U2" $((T1 + 60)))"
tool unlock --user daemon >/dev/null
check "the first authenticator's still do" accepts daemon $((T1 + 90)) "$(ucode "$U1" $((T1 + 90)))"
check "removing the only authenticator by name is refused" \
  sh -c "! '$TOOL' --config '$CONF' remove --user daemon --name default --yes 2>'$T/err'"
check "pointing at plain remove" grep -q "only authenticator" "$T/err"
check "an unknown name is refused" sh -c "! '$TOOL' --config '$CONF' remove --user daemon --name nosuch --yes 2>/dev/null"

tool enroll --user daemon --add --name phone3 --yes --json >"$T/e3" 2>/dev/null
U3=$(json 'd["uri"]' <"$T/e3")
check "remove --name default: the next authenticator becomes the first" tool remove --user daemon --name default --yes
check "the old first authenticator's codes refused" refuses daemon $((T1 + 120)) "$(ucode "$U1" $((T1 + 120)))"
check "phone3 still logs in" accepts daemon $((T1 + 150)) "$(ucode "$U3" $((T1 + 150)))"
tool status --user daemon --json >"$T/st"
check "status: phone3 alone" test "$(json '",".join(a["name"] for a in d["authenticators"])' <"$T/st")" = "phone3"

# The lockout is the account's: wrong codes on any authenticator add up.
tool unlock --user daemon >/dev/null
tool enroll --user daemon --add --name phone4 --yes --json >"$T/e4" 2>/dev/null
for i in 1 2 3; do refuses daemon $((T1 + 160 + i)) 000000 || refuses daemon $((T1 + 160 + i)) 111111; done
check "after deny wrong codes every authenticator is locked out" refuses daemon $((T1 + 180)) "$(ucode "$U3" $((T1 + 180)))"
check "(locked)" out_has "Account locked"

# Per-enrolment parameters (root).
tool enroll --user sys --digits 8 --period 60 --algorithm SHA256 --yes --json >"$T/p" 2>"$T/err"
UP=$(json 'd["uri"]' <"$T/p")
check "enroll --digits 8 --period 60 --algorithm SHA256" \
  test "$(uri_param "$UP" digits):$(uri_param "$UP" period):$(uri_param "$UP" algorithm)" = "8:60:SHA256"
TP=$(( (T1 / 60) * 60 + 600 ))
check "its 8-digit SHA256 code accepted through PAM" accepts sys $TP "$(ucode "$UP" $TP)"
check "--digits out of range refused" sh -c "! '$TOOL' --config '$CONF' enroll --user sys --force --digits 9 --yes 2>/dev/null"
check "--period out of range refused" sh -c "! '$TOOL' --config '$CONF' enroll --user sys --force --period 5 --yes 2>/dev/null"

# Revoke.
tool enroll --user bin --yes --json >"$T/b" 2>/dev/null
UB=$(json 'd["uri"]' <"$T/b")
RB=$(json 'd["recovery_codes"][0]' <"$T/b")
check "bin logs in before the revoke" accepts bin $T1 "$(ucode "$UB" $T1)"
tool revoke --user bin --yes --json >"$T/r" 2>"$T/err"
check "revoke --user bin" test $? = 0
check "revoke --json says revoked" test "$(json 'd["users"][0]["revoked"]' <"$T/r")" = True
login bin $((T1 + 30)) --answer "$(ucode "$UB" $((T1 + 30)))"
check "a right code is refused after the revoke" result_is PAM_AUTH_ERR
check "without a prompt" sh -c "! grep -q '^PROMPT_' '$T/out'"
check "the user is told it was revoked" out_has "Your second factor was revoked"
check "logged as revoked" syslog_has "the second factor was revoked"
login --service nullok bin $((T1 + 60)) --answer "$RB"
check "nullok does not let a revoked user in (PAM_AUTH_ERR, not PAM_IGNORE)" result_is PAM_AUTH_ERR
check "status says revoked" test "$(tool status --user bin --json | json 'd["revoked"]')" = True
check "revoking again says so" sh -c "'$TOOL' --config '$CONF' revoke --user bin --yes | grep -q 'revoked already'"
check "revoke of a user who is not enrolled fails" sh -c "! '$TOOL' --config '$CONF' revoke --user nobody --yes 2>/dev/null"
tool enroll --user bin --yes --json >"$T/b2" 2>"$T/err"
check "root enrols a revoked user again without --force" test $? = 0
UB2=$(json 'd["uri"]' <"$T/b2")
check "and the new enrolment logs in" accepts bin $((T1 + 90)) "$(ucode "$UB2" $((T1 + 90)))"
tool revoke --all --yes --json >"$T/all" 2>"$T/err"
check "revoke --all revokes every enrolled user" \
  test "$(json '",".join(sorted(u["user"] for u in d["users"] if u["revoked"]))' <"$T/all")" = "bin,daemon,sys"
check "daemon refused after revoke --all" refuses daemon $((T1 + 300)) "$(ucode "$U3" $((T1 + 300)))"
check "revoke needs --user or --all" sh -c "'$TOOL' --config '$CONF' revoke --yes 2>/dev/null; test \$? = 2"
finish
