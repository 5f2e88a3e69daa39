#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 19, a full disk: the state directory on a small tmpfs, filled to the
# last block by a filler file (dd until ENOSPC). Through PAM (the installed
# module) and totp-setup:
#   - a TOTP login of an enrolled user still works: the ledger is rewritten
#     in place (a pwrite into the spare slot), no new block is needed; the
#     code is then refused as a replay, a wrong code is counted;
#   - a user whose lock file is missing (a record restored from a backup)
#     needs a new file: refused with one log line naming ENOSPC;
#   - a recovery code needs a whole new file: refused with one log line
#     naming ENOSPC; the code is not used up (it was never accepted);
#   - enrol, recovery-codes, import and rekey fail with a message naming
#     the cause and a non-zero exit, no temp file left, no record changed;
#   - once space is freed everything works, every record loads, and no code
#     is accepted twice.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
f_init

# The tmpfs holds the state directory and the filler beside it.
mkdir -p "$T/var"
mount -t tmpfs -o size=512k,nr_inodes=200,mode=0755 pam_totp-faults "$T/var" 2>"$T/mount.err" ||
  skip_all "cannot mount a tmpfs here: $(head -1 "$T/mount.err")"
F_MOUNTS="$T/var"
STATE=$T/var/state
f_config "deny = 10"
for u in $A $B; do enrol "$u" || bail "enrol $u failed: $(cat "$T/tool.err")"; done
check "$A logs in (before the disk fills)" accepts $A "$NOW" "$(code $A "$NOW")"

# A record restored from a backup has no lock file yet: its first login
# must make one, which a full disk refuses (tmpfs: no inode left).
rm -f "$STATE/.lock.$B"
# Fill to the last block: dd stops at ENOSPC; then nothing more fits; and
# to the last inode.
dd if=/dev/zero of="$T/var/filler" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$T/var/filler2" bs=512 >/dev/null 2>&1
mkdir "$T/var/inodes"
# (true, not ":": a failed redirection of a special built-in ends the shell)
i=0; while true 2>/dev/null >"$T/var/inodes/$i"; do i=$((i + 1)); done
check "the filesystem is full (df: 0 blocks and 0 inodes available)" \
  test "$(df --output=avail,iavail "$T/var" | tail -1 | tr -s ' ')" = " 0 0"
before_alice=$(cksum <"$STATE/$A")

# --- logins on a full disk ---------------------------------------------------
t1=$((NOW + 60))
c1=$(code $A "$t1")
check "full: $A's TOTP login works (the ledger is rewritten in place)" accepts $A "$t1" "$c1"
check "full: the same code again is refused (replay)" refuses $A "$t1" "$c1"
check "full: a wrong code is refused" refuses $A "$t1" 000000
check "full: the replay and the wrong code are counted (failures 2)" test "$(status_field $A failures)" = 2
check "full: $B, whose lock file is missing (needs a new file), is refused" refuses $B "$t1" "$(code $B "$t1")"
check "  with one log line naming the cause (lock file: No space left on device)" \
  one_line_says 'lock file: no space left on device'
diag "$(grep -i 'no space left on device' "$T/out")"
rm -f "$T/var/inodes/0"   # one inode free again: the next file can be made, not written
r0=$(recovery $A 0)
check "full: a recovery code (needs a new file) is refused" refuses $A "$t1" "$r0"
check "  with one log line naming the cause (No space left on device)" one_line_says 'no space left on device'
diag "$(grep -i 'no space left on device' "$T/out")"
check "  and no 'accepted' line" eval '! logged "accepted"'
check "full: no temp file left in the state directory" no_temp_files "$STATE"

# --- the tool on a full disk -------------------------------------------------
check "full: enroll $C fails (non-zero exit)" eval '! enrol $C'
check "  saying why (No space left on device)" tool_err_has 'no space left on device'
check "  no record, no temp file for $C" eval '[ ! -e "$STATE/$C" ] && no_temp_files "$STATE"'
check "full: recovery-codes for $A fails" eval '! tool recovery-codes --user $A --yes --json >"$T/rc.json"'
check "  saying why" tool_err_has 'no space left on device'
printf 'HOTP/T30 %s - 3132333435363738393031323334353637383930\n' "$D" >"$T/users.oath"
chmod 0600 "$T/users.oath"
check "full: import --from oath fails" eval '! tool import --from oath --file "$T/users.oath" >"$T/import.out"'
check "  saying why" eval 'tool_err_has "no space left on device" || grep -qi "no space left on device" "$T/import.out"'
check "  no record for $D" test ! -e "$STATE/$D"
tool rekey >"$T/rekey.out"; rc=$?
check "full: rekey fails (exit 1)" test "$rc" = 1
check "  saying why" eval 'tool_err_has "no space left on device" || grep -qi "no space left on device" "$T/rekey.out"'
check "full: every record still loads (list)" all_load
check "full: no temp file left" no_temp_files "$STATE"

# --- space freed -------------------------------------------------------------
rm -rf "$T/var/filler" "$T/var/filler2" "$T/var/inodes"
t2=$((NOW + 120))
check "freed: every record loads" all_load
check "freed: $A's code from the full disk is still refused (replay)" refuses $A "$t2" "$c1"
check "freed: $B logs in (with the code refused on the full disk: it was never accepted)" accepts $B "$t2" "$(code $B "$t2")"
check "freed: $A logs in with a new code" accepts $A "$t2" "$(code $A "$t2")"
check "freed: the recovery code refused on the full disk works now (never accepted before)" accepts $A "$t2" "$r0"
check "freed: ... and only once" refuses $A "$t2" "$r0"
check "freed: enroll $C works" enrol $C
check "freed: $C logs in" accepts $C "$t2" "$(code $C "$t2")"
check "freed: recovery-codes for $A works" eval 'tool recovery-codes --user $A --yes --json >"$T/rc.json"'
check "freed: $A's old recovery codes are gone" refuses $A "$t2" "$(recovery $A 1)"
check "freed: import works" eval 'tool import --from oath --file "$T/users.oath" >"$T/import.out"'
check "freed: rekey works" eval 'tool rekey >"$T/rekey.out"'
t3=$((NOW + 180))
check "freed: after rekey $A, $B, $C and $D log in" eval '
  accepts $A "$t3" "$(code $A "$t3")" && accepts $B "$t3" "$(code $B "$t3")" &&
  accepts $C "$t3" "$(code $C "$t3")" &&
  accepts $D "$t3" "$(oathtool --totp -d 6 -N "@$t3" 3132333435363738393031323334353637383930)"'
check "freed: every record loads, none in error" all_load
check "freed: no temp file left" no_temp_files "$STATE"

done_testing
