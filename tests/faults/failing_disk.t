#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 19, a failing disk: the state directory is a FUSE filesystem
# (tests/faults/faultfs.c, built here with libfuse3) passing through to a
# backing directory, which fails write, fsync, rename or the directory's
# fsync with EIO when its control file says so. Each write path of the
# store meets each failure:
#   - a TOTP login: the ledger's pwrite into the spare slot (a write fault
#     refuses the login; the ledger is never waited for on the disk, by
#     design -- the boot rule covers a lost one -- so fsync/rename faults do
#     not touch it);
#   - a recovery code login: a whole new file (temp, fsync, rename,
#     directory fsync). A fault after the data was written comes AFTER the
#     verdict was logged ("accepted recovery code"): the login is refused
#     all the same, the log says "login not recorded durably, so refused
#     after all", and the code is never accepted twice afterwards;
#   - totp-setup enroll, recovery-codes, import, rekey: non-zero exit and the
#     cause named;
# and afterwards (fault off) every record loads and nothing is accepted twice.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
f_init
[ -c /dev/fuse ] || skip_all "/dev/fuse missing (no FUSE here: kernel module or container device)"
command -v pkg-config >/dev/null 2>&1 && pkg-config --exists fuse3 ||
  skip_all "libfuse3-dev not installed (scripts/install-deps.sh)"
command -v fusermount3 >/dev/null 2>&1 || command -v mountpoint >/dev/null 2>&1 || true
${CC:-cc} -O1 -Wall -Wextra -Werror -o "$T/faultfs" "$F_SRC/tests/faults/faultfs.c" \
  $(pkg-config --cflags --libs fuse3) 2>"$T/cc.err" || { cat "$T/cc.err" >&2; bail "faultfs does not build"; }

mkdir -m 0700 "$T/backing" "$T/state"
: >"$T/ctl"
"$T/faultfs" "$T/ctl" "$T/backing" "$T/state" -f -s -o default_permissions 2>"$T/faultfs.log" &
F_PIDS=$!
i=0
while ! grep -q " $T/state fuse" /proc/mounts && kill -0 "$F_PIDS" 2>/dev/null && [ $i -lt 100 ]; do
  sleep 0.05; i=$((i + 1))
done
grep -q " $T/state fuse" /proc/mounts || skip_all "cannot mount a FUSE filesystem here: $(head -1 "$T/faultfs.log")"
F_MOUNTS="$T/state"
STATE=$T/state
f_config "deny = 20"

# fault WORDS: what faultfs fails from now on (see faultfs.c); `fault` alone:
# nothing. injected OP: faultfs made OP fail since the last `fault`.
fault() { printf '%s\n' "$*" >"$T/ctl"; f_mark=$(wc -l <"$T/faultfs.log"); }
injected() { tail -n +"$((f_mark + 1))" "$T/faultfs.log" | grep -q "^faultfs: $1 "; }
fault

enrol $A || bail "enrol $A failed: $(cat "$T/tool.err")"
t=$NOW
next() { t=$((t + 30)); }   # a fresh step for the next code
check "no fault: $A logs in" accepts $A "$t" "$(code $A "$t")"

# --- TOTP logins: the ledger's pwrite --------------------------------------
next; c=$(code $A "$t")
fault write
check "write fails: the TOTP login is refused" refuses $A "$t" "$c"
check "  the fault was made (a write failed)" injected write
check "  one log line names it (Input/output error)" one_line_says 'input/output error'
fault
check "  fault off: the record loads" all_load
login $A "$t" "$c"; a1=$?
login $A "$t" "$c"; a2=$?
check "  fault off: that code is accepted at most once" test "$(( (a1 == 0) + (a2 == 0) ))" -le 1
for f in fsync rename fsyncdir; do
  next; c=$(code $A "$t")
  fault "$f"
  check "$f fails: a TOTP login is accepted (a ledger write is not waited for: the boot rule covers it)" \
    accepts $A "$t" "$c"
  check "  and the same code is refused (replay)" refuses $A "$t" "$c"
  fault
done

# reading fails: refused, never PAM_IGNORE (nullok stack: PAM_AUTH_ERR)
for f in read open; do
  next; c=$(code $A "$t")
  fault "$f"
  check "$f fails: the login is refused, also with nullok (never PAM_IGNORE)" refuses --service totp-nullok $A "$t" "$c"
  check "  the fault was made, the log names it" eval 'injected "$f" && one_line_says "input/output error"'
  fault
done

# --- recovery codes: a whole new file ---------------------------------------
k=0
for f in write@.tmp fsync rename fsyncdir; do
  next; r=$(recovery $A $k); k=$((k + 1))
  fault "$f"
  check "$f fails: a recovery code login is refused" refuses $A "$t" "$r"
  check "  the fault was made" injected "${f%@*}"
  case $f in
    write*)
      check "  one log line names it (Input/output error)" one_line_says 'input/output error'
      check "  no 'accepted' line" eval '! logged "accepted"' ;;
    *)
      check "  the verdict was logged before the failure" logged 'accepted recovery code'
      check "  then: not recorded durably, so refused after all (naming EIO)" \
        logged 'login not recorded durably, so refused after all: .*input/output error'
      diag "$(grep '^SYSLOG' "$T/out" | grep -v 'no default config')" ;;
  esac
  fault
  check "  no temp file left" no_temp_files "$T/backing"
  check "  fault off: every record loads" all_load
  next
  login $A "$t" "$r"; a1=$?
  login $A "$t" "$r"; a2=$?
  check "  fault off: the code is accepted at most once" test "$(( (a1 == 0) + (a2 == 0) ))" -le 1
  if [ "$f" = fsyncdir ]; then
    check "  (after the rename it was used up: refused)" test "$a1" != 0
  fi
done

# --- the tool ------------------------------------------------------------------
for fu in write:$E1 fsync:$E2 rename:$E3 fsyncdir:$E4; do
  f=${fu%%:*} u=${fu#*:}
  fault "$f"
  check "$f fails: enroll $u fails (non-zero exit)" eval '! enrol "$u"'
  check "  naming the cause (Input/output error)" tool_err_has 'input/output error'
  fault
  check "  no temp file left, every record loads" eval 'no_temp_files "$T/backing" && all_load'
done
fault fsync
check "fsync fails: recovery-codes for $A fails" eval '! tool recovery-codes --user $A --yes --json >"$T/rc.json"'
check "  naming the cause" tool_err_has 'input/output error'
fault
next
check "  fault off: $A's old recovery codes still work" accepts $A "$t" "$(recovery $A 9)"
printf 'HOTP/T30 %s - 3132333435363738393031323334353637383930\n' "$D" >"$T/users.oath"
chmod 0600 "$T/users.oath"
fault write
check "write fails: import fails" eval '! tool import --from oath --file "$T/users.oath" >"$T/import.out"'
check "  naming the cause" eval 'tool_err_has "input/output error" || grep -qi "input/output error" "$T/import.out"'
fault rename
tool rekey >"$T/rekey.out"; rc=$?
check "rename fails: rekey fails (exit 1)" test "$rc" = 1
check "  naming the cause" eval 'tool_err_has "input/output error" || grep -qi "input/output error" "$T/rekey.out"'
fault
check "fault off: every record loads" all_load
check "fault off: rekey completes" eval 'tool rekey >"$T/rekey.out"'
next
check "fault off: $A logs in under the new key" accepts $A "$t" "$(code $A "$t")"
check "fault off: and that code only once" refuses $A "$t" "$(code $A "$t")"
check "nothing left over in the backing directory (no temp files)" no_temp_files "$T/backing"

done_testing
