#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 19, the tests on a strange machine: a suite that needs a private
# mount namespace must skip with the reason where none can be made, never
# fail for the machine's sake, and use one that works where it can.
#   - a chroot like a fresh Debian installed with debootstrap on a systemd
#     host: its "/" is no mount point (so `unshare --propagation private`
#     fails: "cannot change root filesystem propagation: Invalid argument")
#     and its mounts are shared: tests/e2e/su.t skips, saying so;
#   - the same chroot with private mounts (a container's): lib.sh picks
#     `unshare --propagation unchanged`, which is safe there;
#   - no CAP_SYS_ADMIN (capsh --drop=cap_sys_admin): su.t and the fault
#     suites that mount skip, saying so.
# The chroot is simulated inside a private namespace of this suite: a
# tmpfs with a root directory in it, /usr /dev /tmp /run /sys and the
# source tree bind-mounted, /etc /home /var copy-on-write overlays.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
f_init
for t in unshare chroot capsh findmnt; do command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"; done
unshare --mount --propagation private -- true 2>/dev/null ||
  skip_all "this machine is itself one where no mount namespace can be made (nothing to simulate)"
export SRC_DIR="$F_SRC" BUILD_DIR="$F_BUILD" PREFIX="$F_PREFIX"

# in_chroot SHARED COMMAND: runs COMMAND (sh -c) as root in a simulated
# chroot whose mounts are shared (1) or private (0); output in $T/out.
in_chroot() {
  unshare --mount --propagation private -- sh -c '
    set -e
    R=$1; shared=$2; src=$3; cmd=$4
    mount -t tmpfs chroot-sim "$R"
    mkdir -p "$R/root/proc" "$R/root/$src" "$R/ovl"
    for d in usr dev tmp run sys; do
      [ -d "/$d" ] || continue
      mkdir -p "$R/root/$d"; mount --rbind "/$d" "$R/root/$d"
    done
    mount --rbind "$src" "$R/root/$src"
    for d in bin lib lib64 lib32 sbin; do [ -L "/$d" ] && ln -s "usr/$d" "$R/root/$d"; done
    mount -t proc proc "$R/root/proc"
    for d in etc home var; do
      mkdir -p "$R/ovl/$d.up" "$R/ovl/$d.work" "$R/root/$d"
      mount -t overlay overlay -o "lowerdir=/$d,upperdir=$R/ovl/$d.up,workdir=$R/ovl/$d.work" "$R/root/$d"
    done
    if [ "$shared" = 1 ]; then mount --make-rshared "$R"; else mount --make-rprivate "$R"; fi
    exec chroot "$R/root" sh -c "$cmd"
  ' in_chroot "$T/chr" "$1" "$F_SRC" "$2" >"$T/out" 2>&1
}
mkdir -p "$T/chr"
for d in bin lib sbin; do [ -L "/$d" ] || skip_all "/$d is not a symlink into /usr (the simulated chroot needs a merged /usr)"; done

# 1. the chroot of the issue
in_chroot 1 'unshare --mount --propagation private true; echo "private-rc=$?"'
check "simulated chroot: unshare --propagation private fails as in the issue" \
  grep -q 'cannot change root filesystem propagation: Invalid argument' "$T/out"
in_chroot 1 "cd '$F_SRC' && sh tests/e2e/su.t"
check "chroot, shared mounts: e2e su.t skips the whole suite" grep -q '^1\.\.0 # SKIP' "$T/out"
check "  naming the reason (cannot change root filesystem propagation)" \
  grep -q '^1\.\.0 # SKIP.*cannot change root filesystem propagation: Invalid argument' "$T/out"
check "  no test fails" eval '! grep -q "^not ok" "$T/out"'

# 2. the same with private mounts: a namespace that works
in_chroot 0 ". '$F_SRC/tests/e2e/lib.sh'; e2e_ns_mode"
check "chroot, private mounts: lib.sh makes its namespace with --propagation unchanged" \
  test "$(tail -1 "$T/out")" = unchanged
in_chroot 0 "unshare --mount --propagation unchanged -- sh -c 'mount --bind /etc/hostname /etc/hosts' && echo bound"
check "  and a bind mount in it works" grep -q '^bound$' "$T/out"

# 3. no CAP_SYS_ADMIN
nocap() { capsh --drop=cap_sys_admin -- -c "cd '$F_SRC' && sh $1" >"$T/out" 2>&1; }
for s in tests/e2e/su.t tests/faults/readonly.t tests/faults/full_disk.t tests/faults/failing_disk.t; do
  nocap "$s"
  check "no CAP_SYS_ADMIN: $s skips, saying why" grep -qE '^1\.\.0 # SKIP .*(not permitted|permission denied)' "$T/out"
  check "  no test fails" eval '! grep -q "^not ok" "$T/out"'
done

done_testing
