#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 19, a read-only /var: inside a private mount namespace (unshare -m)
# the state directory is bind-mounted read-only over itself (mount --bind,
# then remount,ro,bind), as a /var remounted read-only looks to pam_totp.
# An enrolled user's login is refused with a log line naming the cause
# (EROFS: "Read-only file system"), never PAM_SUCCESS and never PAM_IGNORE
# (even with nullok); the tool fails with the cause named; a user who is
# not enrolled still gets nullok's PAM_IGNORE (nothing to write). Outside
# the namespace nothing changed: logins work, no code is accepted twice.
# Where no namespace can be made (no CAP_SYS_ADMIN, a chroot whose "/" is
# shared) the suite skips with the reason.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
f_init
command -v unshare >/dev/null 2>&1 || skip_all "unshare not installed (util-linux)"
f_config "deny = 10"
mode=$(f_ns_mode) || skip_all "no private mount namespace can be made here: $(cat "$T/ns.why")"
enrol $A || bail "enrol $A failed: $(cat "$T/tool.err")"
check "$A logs in (read-write)" accepts $A "$NOW" "$(code $A "$NOW")"
sum=$(cksum <"$STATE/$A")

# The checks that run inside the namespace (a shell that sources lib.sh
# again), numbered on from f_n; it prints the count it reached.
inside() {
  SRC_DIR=$F_SRC BUILD_DIR=$F_BUILD PREFIX=$F_PREFIX
  export SRC_DIR BUILD_DIR PREFIX
  t1=$((NOW + 30)); c1=$(code $A "$t1")
  r0=$(recovery $A 0)
  # shellcheck disable=SC2016
  unshare --mount --propagation "$mode" -- sh -c '
    set -u
    mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" || { echo "MOUNT-FAILED"; exit 3; }
    . "$2"   # lib.sh: the helpers, with T/CONF/STATE from the environment
    T=$3; CONF=$4; STATE=$1; NOW=$5; f_n=$6
    check "read-only: the bind mount is read-only (touch fails with EROFS)" \
      eval "! touch \"$STATE/x\" 2>\"$T/touch.err\" && grep -qi \"read-only file system\" \"$T/touch.err\""
    check "read-only: $A'"'"'s right code is refused (PAM_AUTH_ERR)" refuses $A "$7" "$8"
    check "  the log names the cause (Read-only file system)" one_line_says "read-only file system"
    diag "$(grep -i "read-only file system" "$T/out")"
    check "  and says nothing was accepted" eval "! logged accepted"
    check "read-only, nullok stack: $A is refused, never PAM_IGNORE" refuses --service totp-nullok $A "$7" "$8"
    check "  (PAM_AUTH_ERR, the cause logged)" one_line_says "read-only file system"
    check "read-only: a recovery code is refused" refuses $A "$7" "$9"
    check "read-only, nullok: a user who is not enrolled gets PAM_IGNORE (nothing to write)" \
      eval "accepts --service totp-nullok nobody-here \"$7\" 000000 && logged \"not enrolled \\(nullok\\)\""
    check "read-only: enroll $B fails, naming the cause" eval "! enrol $B && tool_err_has \"read-only file system\""
    check "read-only: recovery-codes fails, naming the cause" \
      eval "! tool recovery-codes --user $A --yes --json >/dev/null && tool_err_has \"read-only file system\""
    check "read-only: status still reads $A" eval "tool status --user $A --json >/dev/null"
    echo "F_N=$f_n"
  ' inside "$STATE" "$F_SRC/tests/faults/lib.sh" "$T" "$CONF" "$NOW" "$f_n" "$t1" "$c1" "$r0" >"$T/inside.out" 2>&1
}
inside
grep -v '^F_N=' "$T/inside.out"
if grep -q MOUNT-FAILED "$T/inside.out"; then
  skip "read-only: the read-only bind mount could not be made here"
else
  n_inside=$(sed -n 's/^F_N=//p' "$T/inside.out")
  [ -n "$n_inside" ] || bail "the namespace part died (see above)"
  f_n=$n_inside
  grep -q '^not ok' "$T/inside.out" && f_failed=1
fi

# --- outside: nothing changed --------------------------------------------------
check "outside: $A's record is unchanged by the read-only attempts" test "$(cksum <"$STATE/$A")" = "$sum"
check "outside: the state directory is writable (the ro mount stayed inside)" eval 'touch "$STATE/.probe" && rm -f "$STATE/.probe"'
t2=$((NOW + 60))
check "outside: $A logs in" accepts $A "$t2" "$(code $A "$t2")"
check "outside: that code only once" refuses $A "$t2" "$(code $A "$t2")"
check "outside: no $B" test ! -e "$STATE/$B"
check "outside: every record loads" all_load

done_testing
