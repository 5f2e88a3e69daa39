#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Not enrolled / pending / nullok; the settings chain (missing default
# config, bad settings); state files that are tampered, swapped, truncated,
# foreign-owned, badly moded or symlinked; a missing or wrong key. Every
# failure refuses (never PAM_SUCCESS, PAM_IGNORE only for nullok and no
# active enrolment) and says why in syslog.
. "$top_srcdir/tests/pam/lib.sh"
setup

# PAM_IGNORE from the only module would make libpam refuse the stack, so the
# nullok service lets the stack go on to a marker module when pam_totp ignores.
service nullok "auth [success=done ignore=ignore default=die] $MODULE config=$CONF nullok" \
  "auth required $CHECK_MODULE reached"
ignored() { result_is PAM_SUCCESS && out_has "INFO: check_authtok: reached"; }

# Not enrolled, pending.
login nobody_here $T0 --answer 123456
check "not enrolled, no nullok: PAM_AUTH_ERR" result_is PAM_AUTH_ERR
check "not enrolled: not prompted" sh -c "! grep -q '^PROMPT_' '$T/out'"
check "not enrolled logged" syslog_has "user=nobody_here rhost=test.example: not enrolled"
login --service nullok nobody_here $T0 --answer 123456
check "not enrolled with nullok: PAM_IGNORE" ignored
check "nullok: not prompted" sh -c "! grep -q '^PROMPT_' '$T/out'"
check "nullok skip logged" syslog_has "not enrolled (nullok)"
enrol pend --pending >/dev/null
login pend $T0 --answer "$(code $T0)"
check "pending enrolment, no nullok: PAM_AUTH_ERR even with a right code" result_is PAM_AUTH_ERR
check "pending logged as 'enrolment pending'" syslog_has "user=pend rhost=test.example: enrolment pending"
login --service nullok pend $T0 --answer "$(code $T0)"
check "pending enrolment with nullok: PAM_IGNORE (never PAM_SUCCESS)" ignored
check "(pending with nullok: not prompted)" sh -c "! grep -q '^PROMPT_' '$T/out'"
login "../../etc/passwd" $T0 --answer 123456
check "a user name that cannot be a file name: PAM_AUTH_ERR" result_is PAM_AUTH_ERR
check "and logged" syslog_has "user name cannot be enrolled"

# Missing default config file: defaults plus PAM arguments.
if [ -e /etc/security/pam_totp.conf ]; then
  skip "default config /etc/security/pam_totp.conf exists on this machine"
else
  service noconf "auth required $MODULE key_file=$T/key state_dir=$T/state"
  enrol alice >/dev/null
  login --service noconf alice $T0 --answer "$(code $T0)"
  check "no config= and no /etc/security/pam_totp.conf: defaults + PAM arguments work" result_is PAM_SUCCESS
fi
service named "auth required $MODULE config=$T/does-not-exist.conf key_file=$T/key state_dir=$T/state nullok"
login --service named alice $T0 --answer "$(code $T0)"
check "config=PATH that does not exist: refused (even with nullok)" result_is PAM_AUTH_ERR
check "and logged as a bad setting" syslog_has "bad setting"

# Bad settings refuse and name the setting.
bad_setting() {  # ARGS NAME
  service bad "auth required $MODULE config=$CONF nullok $1"
  login --service bad alice $((T0 + 100)) --answer "$(code $((T0 + 100)))"
  result_is PAM_AUTH_ERR && ! prompted && grep '^SYSLOG' "$T/out" | grep 'bad setting' | grep -q -- "$2"
}
check "window=99 refused, syslog names window" bad_setting window=99 window
check "deny on the PAM line refused as file-only, syslog names deny" bad_setting deny=3 "deny is file-only"
check "unlock_time on the PAM line refused as file-only" bad_setting unlock_time=0 "unlock_time is file-only"
check "fail_interval on the PAM line refused as file-only" bad_setting fail_interval=60 "fail_interval is file-only"
check "forward_pass refused with the way to the two-line stack" bad_setting forward_pass "split_code"
check "unknown frobnicate=1 refused, syslog names it" bad_setting frobnicate=1 frobnicate
check "state_dir=relative refused, syslog names state_dir" bad_setting state_dir=relative state_dir
check "algorithm=MD5 refused, syslog names algorithm" bad_setting algorithm=MD5 algorithm
check "a duplicate PAM argument refused" bad_setting "window=1 window=2" window
printf 'key_file = %s\nstate_dir = %s\nwindow = eleven\n' "$T/key" "$T/state" >"$T/bad.conf"; chmod 600 "$T/bad.conf"
service badfile "auth required $MODULE config=$T/bad.conf"
login --service badfile alice $T0 --answer "$(code $T0)"
check "bad value in the config file refused, syslog names window" sh -c "grep -q '^RESULT: PAM_AUTH_ERR' '$T/out' && grep '^SYSLOG' '$T/out' | grep -q 'window'"
printf 'key_file = %s\nstate_dir = %s\n' "$T/key" "$T/state" >"$T/open.conf"; chmod 666 "$T/open.conf"
service openfile "auth required $MODULE config=$T/open.conf"
login --service openfile alice $T0 --answer "$(code $T0)"
check "world-writable config file refused" result_is PAM_AUTH_ERR
printf 'key_file = %s\nstate_dir = %s\nwindow = 0\n' "$T/key" "$T/state" >"$T/w0.conf"; chmod 600 "$T/w0.conf"
service override "auth required $MODULE config=$T/w0.conf window=1"
enrol over >/dev/null
check "the PAM line wins over the config file (window=1 over window = 0)" \
  sh -c ". '$top_srcdir/tests/pam/lib.sh'; T='$T'; login --service override over $T0 --answer $(code $((T0 - 30))); result_is PAM_SUCCESS"

# State files: every problem refuses before prompting, also under nullok.
state_refused() {  # USER REASON-TEXT
  login --service nullok "$1" $((T0 + 200)) --answer "$(code $((T0 + 200)))"
  result_is PAM_AUTH_ERR && ! prompted && grep '^SYSLOG' "$T/out" | grep -q -- "$2"
}
# Layout (store.h): 24-byte header, sealed enrolment, two sealed ledger slots.
enrol tam >/dev/null
size=$(stat -c %s "$T/state/tam")
slot=$((12 + 8 + 128 + 16))
flip() {  # FILE OFFSET: xor-free flip: write a byte that differs from the one there
  cur=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  new=$(( (cur + 1) % 256 )); [ $new = 0 ] && new=1
  printf "\\$(printf %03o $new)" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
flip "$T/state/tam" 60
check "flipped byte in the enrolment: refused as 'state file tampered' (even with nullok)" state_refused tam "state file tampered"
enrol both >/dev/null
flip "$T/state/both" $((size - slot - 10))
flip "$T/state/both" $((size - 10))
check "flipped bytes in both ledger slots: refused as tampered" state_refused both "state file tampered"
enrol hdr >/dev/null
flip "$T/state/hdr" 2
check "flipped byte in the magic: refused" state_refused hdr "state file"
enrol ver >/dev/null
flip "$T/state/ver" 8
check "changed format version: refused" state_refused ver "state file"
enrol trunc >/dev/null
truncate -s $((size - 20)) "$T/state/trunc"
check "truncated file refused" state_refused trunc "state file"
enrol empty >/dev/null
: >"$T/state/empty"
check "empty file refused" state_refused empty "state file"
enrol victim >/dev/null
enrol attacker >/dev/null
cp -p "$T/state/attacker" "$T/state/victim"
check "another user's file copied over (swapped): refused as tampered" state_refused victim "state file tampered"
enrol foreign >/dev/null
chown 65534:65534 "$T/state/foreign"
check "file owned by another uid refused" state_refused foreign "state file"
enrol modey >/dev/null
chmod 0644 "$T/state/modey"
check "group/world-readable file refused" state_refused modey "state file"
enrol linked >/dev/null
mv "$T/state/linked" "$T/linked.real"
ln -s "$T/linked.real" "$T/state/linked"
check "symlinked state file refused" state_refused linked "state file"
enrol dirfile >/dev/null
rm -f "$T/state/dirfile"; mkdir "$T/state/dirfile"
check "a directory where the file should be refused" state_refused dirfile "state file"

# The key.
enrol keyuser >/dev/null
cp -p "$T/key" "$T/key.saved"
rm -f "$T/key"
check "missing key: refused (even with nullok)" state_refused keyuser "key file unusable"
check "missing key for a user without enrolment and nullok: still refused" state_refused nobody_here "key file unusable"
head -c 32 /dev/urandom >"$T/key"; chmod 600 "$T/key"
check "a different key: refused" state_refused keyuser "state file"
cp -p "$T/key.saved" "$T/key"; chmod 0640 "$T/key"
check "group-readable key refused" state_refused keyuser "key file unusable"
cp -p "$T/key.saved" "$T/key"; chmod 600 "$T/key"; truncate -s 31 "$T/key"
check "short key refused" state_refused keyuser "key file unusable"
cp -p "$T/key.saved" "$T/key"; chmod 600 "$T/key"
check "with the right key back, the user logs in" accepts keyuser $((T0 + 300)) "$(code $((T0 + 300)))"

# The state directory.
chmod 0755 "$T/state"
check "state directory with group/world bits refused" state_refused keyuser "state directory unusable"
chmod 0700 "$T/state"
mv "$T/state" "$T/state.away"
check "missing state directory refused (even with nullok)" state_refused keyuser "state directory unusable"
mv "$T/state.away" "$T/state"
finish
