#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# contrib/fail2ban: the shipped filter, run by fail2ban-regex on lines the
# module really wrote. The module is driven through libpam (pam_driver,
# pam_start_confdir, PAM_RHOST set) with wrong, replayed, malformed and
# right codes, a wrong and a right recovery code, a locked user, forged-
# looking user names and an empty rhost; its syslog lines (captured by
# fake_host.cc's syslog()) are written as they appear in /var/log/auth.log
# ("Nov 30 21:00:00 host sshd[4242]: pam_totp(sshd:auth): ...") and each
# line is marked with the address fail2ban must find in it, or none.
# Checks: every failure line matches with the attacker's address; success,
# "not enrolled" and empty-rhost lines never match; user names "10.9.9.9",
# "x rhost=10.9.9.9" and "x rhost=10.9.9.9: wrong code" from 127.0.0.5 give
# 127.0.0.5 or nothing, never 10.9.9.9.
#
# Run by scripts/test-all.sh (SRC_DIR, BUILD_DIR) once, on the normal build;
# also by hand: top_srcdir=. top_builddir=_build/x sh tests/pam/fail2ban.t
started=$(date +%s)
top_srcdir=${top_srcdir:-${SRC_DIR:-}}
top_builddir=${top_builddir:-${BUILD_DIR:-}}
[ -n "$top_srcdir" ] && [ -n "$top_builddir" ] || { echo "Bail out! set SRC_DIR and BUILD_DIR"; exit 1; }
export top_srcdir top_builddir
. "$top_srcdir/tests/pam/lib.sh"
needs_root
needs_tools oathtool fail2ban-regex
F2B_COMMON=/etc/fail2ban/filter.d/common.conf
[ -r "$F2B_COMMON" ] || { echo "1..0 # SKIP $F2B_COMMON missing (fail2ban's own filter prefixes)"; exit 0; }
# The test programs are check_PROGRAMS: built by `make check`, or here.
if [ ! -x "$DRIVER" ] || [ ! -x "$MKREC" ]; then
  make -C "$top_builddir" tests/pam/pam_driver tests/pam/make_user_record >/dev/null 2>&1 ||
    { echo "Bail out! cannot build the pam test programs in $top_builddir"; exit 1; }
fi
setup
service sshd "auth required $MODULE config=$CONF"

ATTACKER=127.0.0.5
LOG=$T/auth.log
EXPECT=$T/expected   # one line per log line: ADDRESS-or-"-"|message
: >"$LOG"
: >"$EXPECT"
seq_no=0

# attempt WANT USER TIME RHOST [driver options]: one login through the sshd
# stack; its pam_totp line goes to $LOG in auth.log form and WANT (the
# address fail2ban must take from it, or -) to $EXPECT.
attempt() {
  a_want=$1 a_user=$2 a_time=$3 a_rhost=$4; shift 4
  login --service sshd "$a_user" "$a_time" --rhost "$a_rhost" "$@"
  grep '^SYSLOG [a-z]*: pam_totp(' "$T/out" | sed 's/^SYSLOG [a-z]*: //' >"$T/lines"
  if [ "$(wc -l <"$T/lines")" != 1 ]; then
    not_ok "one pam_totp line for $a_user from '$a_rhost' (got $(wc -l <"$T/lines"))"
    sed 's/^/# /' "$T/out"
    return
  fi
  a_msg=$(cat "$T/lines")
  seq_no=$((seq_no + 1))
  printf 'Nov 30 21:%02d:%02d testhost sshd[4242]: %s\n' $((seq_no / 60)) $((seq_no % 60)) "$a_msg" >>"$LOG"
  printf '%s|%s\n' "$a_want" "$a_msg" >>"$EXPECT"
}

# A code that is not the right one at TIME.
wrong_code() { c=$(code "$1"); if [ "$c" = 123456 ]; then echo 654321; else echo 123456; fi; }

enrol alice >/dev/null
enrol bob --recovery 2 >"$T/bob_codes"
enrol dave >/dev/null
enrol carol >/dev/null
enrol 10.9.9.9 >/dev/null

# The owner, from the office; then the attacker replays that code, and goes
# on with wrong, malformed and recovery guesses until alice is locked.
attempt - alice $T0 192.0.2.10 --answer "$(code $T0)"
attempt $ATTACKER alice $((T0 + 1)) $ATTACKER --answer "$(code $T0)"
attempt $ATTACKER alice $((T0 + 30)) $ATTACKER --answer "$(wrong_code $((T0 + 30)))"
attempt $ATTACKER alice $((T0 + 31)) $ATTACKER --answer "12ab56"
attempt $ATTACKER alice $((T0 + 32)) $ATTACKER --answer "$(sed -n 1p "$T/bob_codes")"
attempt $ATTACKER alice $((T0 + 33)) $ATTACKER --answer "$(wrong_code $((T0 + 33)))"
attempt $ATTACKER alice $((T0 + 34)) $ATTACKER --answer "$(code $((T0 + 34)))"
# Right answers, from the attacker's address too: never a failure.
attempt - bob $((T0 + 60)) $ATTACKER --answer "$(code $((T0 + 60)))"
attempt - bob $((T0 + 90)) $ATTACKER --answer "$(sed -n 2p "$T/bob_codes")"
# Another attacker over IPv6; a failure without an address (console, su).
attempt 2001:db8::5 dave $((T0 + 60)) 2001:db8::5 --answer "$(wrong_code $((T0 + 60)))"
attempt - carol $((T0 + 60)) "" --answer "$(wrong_code $((T0 + 60)))"
# Names typed to look like an address or like a second rhost= field.
attempt $ATTACKER 10.9.9.9 $((T0 + 60)) $ATTACKER --answer "$(wrong_code $((T0 + 60)))"
attempt - "x rhost=10.9.9.9" $((T0 + 60)) $ATTACKER --answer "$(wrong_code $((T0 + 60)))"
attempt - "x rhost=10.9.9.9: wrong code" $((T0 + 60)) $ATTACKER --answer "$(wrong_code $((T0 + 60)))"
# Not enrolled: the stack's configuration, not an attack on a code.
attempt - nobody_here $((T0 + 60)) $ATTACKER --answer "$(wrong_code $((T0 + 60)))"

sed 's/^/# /' "$LOG"

# The scenario really produced every kind of line the filter is about.
log_has() { grep -qF -- "$1" "$LOG"; }
check "logged: accepted totp" log_has "user=alice rhost=192.0.2.10: accepted totp"
check "logged: replayed code" log_has "user=alice rhost=$ATTACKER: replayed code"
check "logged: wrong code" log_has "user=alice rhost=$ATTACKER: wrong code"
check "logged: malformed answer" log_has "user=alice rhost=$ATTACKER: wrong code (malformed answer)"
check "logged: wrong code; now locked" log_has "user=alice rhost=$ATTACKER: wrong code; now locked"
check "logged: locked" log_has "user=alice rhost=$ATTACKER: locked"
check "logged: accepted recovery code" log_has "user=bob rhost=$ATTACKER: accepted recovery code"
check "logged: an empty rhost" log_has "user=carol rhost=: wrong code"
check "logged: user 10.9.9.9" log_has "user=10.9.9.9 rhost=$ATTACKER: wrong code"
check "logged: the space of 'x rhost=10.9.9.9' written as \\x20" \
  log_has "user=x\\x20rhost=10.9.9.9 rhost=$ATTACKER: "
check "logged: 'x rhost=10.9.9.9: wrong code' leaves one rhost= field" \
  log_has "user=x\\x20rhost=10.9.9.9:\\x20wrong\\x20code rhost=$ATTACKER: "
check "every line: no space inside the service, user= or rhost= value" \
  test "$(grep -c '^[^ ]* [^ ]* [^ ]* testhost sshd\[4242\]: pam_totp([^ ]*): user=[^ ]* rhost=[^ ]*: ' "$LOG")" = "$(wc -l <"$LOG")"

# fail2ban-regex with the shipped filter, beside fail2ban's common.conf as
# in /etc/fail2ban/filter.d.
mkdir -p "$T/f2b/filter.d"
ln -s "$F2B_COMMON" "$T/f2b/filter.d/common.conf"
cp "$top_srcdir/contrib/fail2ban/filter.d/pam_totp.conf" "$T/f2b/filter.d/"
(cd "$T" && fail2ban-regex --usedns=no -o '<ip>|<msg>' "$LOG" "$T/f2b/filter.d/pam_totp.conf") >"$T/matched" 2>"$T/f2b.err"
check "fail2ban-regex ran the filter" test $? = 0
sed 's/^/# matched: /' "$T/matched"
grep -v '^-|' "$EXPECT" | sed 's/^\([^|]*\)|[A-Z][a-z][a-z] [0-9 ]* [0-9:]* testhost sshd\[4242\]: /\1|/' | sort >"$T/want"
sed 's/^\([^|]*\)|[A-Z][a-z][a-z] [0-9 ]* [0-9:]* testhost sshd\[4242\]: /\1|/' "$T/matched" | sort >"$T/got"
check "every failure line matched, with the address from its rhost= field, and nothing else" cmp -s "$T/want" "$T/got"
if ! cmp -s "$T/want" "$T/got"; then diff "$T/want" "$T/got" | sed 's/^/# /'; fi
total=$(wc -l <"$LOG")
want_n=$(wc -l <"$T/want")
got_n=$(wc -l <"$T/matched")
check "$want_n of $total lines are failures with an address" test "$want_n" = 8
check "no success line matched" sh -c "! grep -q 'accepted' '$T/matched'"
check "no line with an empty rhost matched" sh -c "! grep -q 'rhost=: ' '$T/matched'"
check "no match took 10.9.9.9 as the address" sh -c "! grep -q '^10\\.9\\.9\\.9|' '$T/matched'"
check "user 10.9.9.9 from $ATTACKER: banned address $ATTACKER" \
  grep -q "^$ATTACKER|.*user=10.9.9.9 rhost=$ATTACKER: wrong code\$" "$T/matched"
check "the IPv6 attacker's address taken whole" grep -q "^2001:db8::5|" "$T/matched"

# The filter alone, on lines made by hand from the real ones: had a name
# with a space been enrolled (it cannot be), its failure line still gives
# the rhost= the module wrote; and the unescaped form an older module wrote
# for such a name matches nothing rather than 10.9.9.9.
forged=$(grep -F 'user=x\x20rhost=10.9.9.9 rhost=' "$LOG" | sed 's/: user name cannot be enrolled$/: wrong code/')
forged_colon=$(grep -F 'user=x\x20rhost=10.9.9.9:\x20wrong' "$LOG" | sed 's/: user name cannot be enrolled$/: locked/')
{
  printf '%s\n' "$forged" "$forged_colon"
  printf '%s\n' "$forged" | sed 's/\\x20/ /g'
  printf '%s\n' "$forged_colon" | sed 's/\\x20/ /g'
} >"$T/forged.log"
sed 's/^/# hand-made: /' "$T/forged.log"
(cd "$T" && fail2ban-regex --usedns=no -o '<ip>' "$T/forged.log" "$T/f2b/filter.d/pam_totp.conf") >"$T/forged.out" 2>&1
check "hand-made: escaped names give $ATTACKER twice; unescaped forgeries match nothing" \
  test "$(tr '\n' ' ' <"$T/forged.out")" = "$ATTACKER $ATTACKER "

# The same figures as fail2ban-regex reports them.
(cd "$T" && fail2ban-regex --usedns=no "$LOG" "$T/f2b/filter.d/pam_totp.conf") >"$T/summary" 2>&1
figures=$(grep '^Lines:' "$T/summary")
echo "# fail2ban-regex: $figures"
check "fail2ban-regex: $total lines, $want_n matched, $((total - want_n)) missed" \
  test "$figures" = "Lines: $total lines, 0 ignored, $want_n matched, $((total - want_n)) missed"
[ "$got_n" = "$want_n" ] || echo "# -o output had $got_n lines"

# The example jail: off as shipped; turned on beside fail2ban's own
# configuration, with the filter, fail2ban-client accepts it.
JAIL=$top_srcdir/contrib/fail2ban/jail.d/pam_totp.local
check "the example jail is off as shipped (enabled = false)" grep -Eq '^enabled *= *false$' "$JAIL"
if [ -d /etc/fail2ban ] && [ -r /etc/fail2ban/jail.conf ]; then
  cp -r /etc/fail2ban "$T/etc-fail2ban"
  rm -f "$T/etc-fail2ban/jail.d/"*
  cp "$top_srcdir/contrib/fail2ban/filter.d/pam_totp.conf" "$T/etc-fail2ban/filter.d/"
  sed 's/^enabled *= *false$/enabled = true/' "$JAIL" >"$T/etc-fail2ban/jail.d/pam_totp.local"
  (cd "$T" && fail2ban-client -c "$T/etc-fail2ban" -d) >"$T/jail.dump" 2>&1
  check "fail2ban-client reads the jail turned on: filter, maxretry 5, findtime 10m, bantime 1h" \
    sh -c "grep -q \"\\['add', 'pam_totp', 'systemd'\\]\" '$T/jail.dump' &&
           grep -q \"\\['set', 'pam_totp', 'maxretry', 5\\]\" '$T/jail.dump' &&
           grep -q \"\\['set', 'pam_totp', 'findtime', '10m'\\]\" '$T/jail.dump' &&
           grep -q \"\\['set', 'pam_totp', 'bantime', '1h'\\]\" '$T/jail.dump' &&
           grep -q \"'pam_totp', 'addfailregex'.*rhost=<HOST>\" '$T/jail.dump'"
  (cd "$T" && fail2ban-client -c "$T/etc-fail2ban" -t) >"$T/jail.test" 2>&1
  check "fail2ban-client -t: configuration test is successful" grep -q 'configuration test is successful' "$T/jail.test"
else
  skip "fail2ban-client on the jail: no /etc/fail2ban/jail.conf"
fi
# What make install put under $(datadir)/pam_totp/fail2ban is what was tested.
if [ -n "${PREFIX:-}" ] && [ -d "$PREFIX/share/pam_totp" ]; then
  check "installed: share/pam_totp/fail2ban/filter.d/pam_totp.conf is the tested filter" \
    cmp -s "$PREFIX/share/pam_totp/fail2ban/filter.d/pam_totp.conf" "$top_srcdir/contrib/fail2ban/filter.d/pam_totp.conf"
  check "installed: share/pam_totp/fail2ban/jail.d/pam_totp.local" \
    cmp -s "$PREFIX/share/pam_totp/fail2ban/jail.d/pam_totp.local" "$JAIL"
fi

finish
echo "# took $(( $(date +%s) - started )) s"
