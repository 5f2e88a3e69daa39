#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 15: a real screen locker, which runs as the user, never as root:
# Debian's i3lock, started by an enrolled user on a private Xvfb display,
# the code typed into it with xdotool as a person would type a password.
# i3lock authenticates through the PAM service "i3lock"; in a private mount
# namespace of its own, a test file holding only
#     auth required $PREFIX/lib/security/pam_totp.so
# is bind-mounted over /etc/pam.d/i3lock (the real file is never written),
# so the code is the "password" of the lock screen. pam_totp.so, loaded by
# i3lock as the user, hands the code to the setuid helper.
#   - i3lock runs as the user (real, effective, saved and file uid), with no
#     capabilities;
#   - a wrong code keeps the screen locked (i3lock still running seconds
#     later), and root's status shows failures 1;
#   - the right code unlocks it: i3lock exits 0 within seconds, and root's
#     status shows the login;
#   - the same code again (a second lock) is refused: still locked; a fresh
#     code unlocks;
#   - in i3lock's process tree (sampled every millisecond while it
#     authenticates) nothing runs as root but the setuid helper;
#   - the helper's syslog lines say what it judged.
# Env (scripts/test-all.sh): PREFIX, SRC_DIR.
. "${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"
e2e_init "$@"
for t in Xvfb i3lock xdotool xauth mcookie python3; do
  command -v $t >/dev/null 2>&1 || skip_all "$t not installed (scripts/install-deps.sh)"
done
[ -f /etc/pam.d/i3lock ] || skip_all "/etc/pam.d/i3lock missing (the i3lock package installs it)"
e2e_need_ns /etc/pam.d/i3lock   # the locker runs in a mount namespace of its own (below)
. "$E2E_DIR/nonroot.sh"

MADE_X11_DIR=0
[ -d /tmp/.X11-unix ] || MADE_X11_DIR=1
sl_cleanup() {
  for _p in $E2E_PIDS; do e2e_stop "$_p"; done   # i3lock and Xvfb before the users go
  [ "$MADE_X11_DIR" = 1 ] && rmdir /tmp/.X11-unix 2>/dev/null
  return 0
}
nr_trap sl_cleanup

nr_system_config "window = $NR_WINDOW" "deny = 5" "unlock_time = 600"
B=${E2E_TAG}b
e2e_user "$B"
nr_reachable "$B" || skip_all "an unprivileged user cannot reach $E2E_MODULE or $NR_HELPER (directory permissions)"
e2e_enroll "$NR_CONF" "$B" || bail "totp-setup enroll $B failed"
if nr_syslog; then logs=1; else logs=0; diag "no syslog can be caught here: log lines are not checked"; fi
uidB=$(id -u "$B"); gidB=$(id -g "$B")
homeB=$(getent passwd "$B" | cut -d: -f6)
XAUTH=$homeB/.Xauthority
sum_before=$(cksum </etc/pam.d/i3lock)
printf '%s\n' "# i3lock's stack in screenlock.t: the code is the lock screen's password" \
  "auth required $E2E_MODULE" >"$E2E_TMP/i3lock.pam"
chmod 0644 "$E2E_TMP/i3lock.pam"

# as_b COMMAND...: as B, with B's X display and cookie, nothing else inherited
as_b() {
  setpriv --reuid="$uidB" --regid="$gidB" --init-groups -- \
    env -i PATH=/usr/bin:/bin HOME="$homeB" LANG=C.UTF-8 DISPLAY=":$DPY" XAUTHORITY="$XAUTH" "$@"
}

# --- a private X display (the X server is not part of the locker) ------------
start_x() {
  for _try in 1 2 3 4 5; do
    DPY=$(( 40 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 200 ))
    [ -e "/tmp/.X$DPY-lock" ] || [ -e "/tmp/.X11-unix/X$DPY" ] && continue
    rm -f "$XAUTH"
    xauth -q -f "$XAUTH" add 2>/dev/null ":$DPY" . "$(mcookie)" || bail "xauth failed"
    chown "$uidB:$gidB" "$XAUTH"; chmod 0600 "$XAUTH"
    setpriv --pdeathsig TERM -- Xvfb ":$DPY" -auth "$XAUTH" -nolisten tcp -screen 0 800x600x24 \
      >"$E2E_TMP/xvfb.log" 2>&1 &
    XPID=$!
    E2E_PIDS="$E2E_PIDS $XPID"
    _i=0
    while [ $_i -lt 100 ] && kill -0 "$XPID" 2>/dev/null; do
      as_b xdotool getmouselocation >/dev/null 2>&1 && return 0
      sleep 0.1; _i=$((_i + 1))
    done
    e2e_stop "$XPID"
  done
  tail -5 "$E2E_TMP/xvfb.log" | sed 's/^/# xvfb: /'
  bail "could not start Xvfb"
}
start_x
ok "$B enrolled (window = $NR_WINDOW), Xvfb on :$DPY$([ $logs = 1 ] && echo ', syslog caught')"

# --- the locker ----------------------------------------------------------------
# lock: starts i3lock -n as B, in a mount namespace of its own with our
# stack on /etc/pam.d/i3lock, and a PID namespace of its own, so that
# i3lock's child (it forks one that keeps its window on top) ends with it
# and nothing outlives the suite: unshare ($LWRAP, killed if the suite
# dies) -> sh (root, the namespace's init, waits and passes the exit status
# on) -> i3lock ($LPID: setpriv and env exec in place). i3lock runs with
# --debug: its stderr says when it holds the keyboard ("Watching window",
# from the child it forks after the grab) and when a refusal is over
# ("clearing auth wrong"); keys typed before that would be lost. Waits
# until the locker's window is up and it holds the keyboard.
lock() {
  setpriv --pdeathsig KILL -- unshare --mount --propagation "$E2E_NS_MODE" --pid --fork --kill-child -- sh -c '
    mount --bind "$1" /etc/pam.d/i3lock || exit 97
    cd / || exit 97
    setpriv --reuid="$2" --regid="$3" --init-groups -- \
      env -i PATH=/usr/bin:/bin HOME="$4" LANG=C.UTF-8 DISPLAY=":$5" XAUTHORITY="$6" i3lock -n --debug
    exit $?' \
    sl "$E2E_TMP/i3lock.pam" "$uidB" "$gidB" "$homeB" "$DPY" "$XAUTH" >"$E2E_TMP/i3lock.log" 2>&1 &
  LWRAP=$!
  E2E_PIDS="$E2E_PIDS $LWRAP"
  LPID=""
  _i=0
  while [ $_i -lt 100 ]; do
    alive "$LWRAP" || return 1
    if [ -z "$LPID" ]; then
      for _c in $(pgrep -P "$LWRAP"); do
        for _g in $(pgrep -P "$_c"); do
          [ "$(cat "/proc/$_g/comm" 2>/dev/null)" = i3lock ] && LPID=$_g
        done
      done
    fi
    [ -n "$LPID" ] && grep -q 'Watching window' "$E2E_TMP/i3lock.log" &&
      as_b xdotool search --onlyvisible --name i3lock >/dev/null 2>&1 && { sleep 0.2; return 0; }
    sleep 0.1; _i=$((_i + 1))
  done
  return 1
}
# alive PID: not gone, not a zombie
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# running: the locker is up
running() { [ -n "$LPID" ] && alive "$LPID"; }
# unlock_stop: ends a locker that is still up (after a failed test)
unlock_stop() { alive "$LWRAP" && e2e_stop "$LWRAP"; return 0; }
# type_code CODE: types CODE and Return into the locker, as B at the keyboard
type_code() { as_b xdotool type --delay 50 "$1" && as_b xdotool key Return; }
# gone_within SECONDS: the locker ended within SECONDS; i3lock's exit status in $lrc
gone_within() {
  _i=0
  while [ $_i -lt $(($1 * 10)) ]; do
    if ! alive "$LWRAP"; then
      wait "$LWRAP"; lrc=$?; e2e_forget_pid "$LWRAP"; return 0
    fi
    sleep 0.1; _i=$((_i + 1))
  done
  return 1
}
# still_locked_after SECONDS
still_locked_after() { sleep "$1"; running; }
# refusal_over N: i3lock has refused N answers and is ready for the next
# one (its "wrong!" state cleared), within 10 s
refusal_over() {
  _i=0
  while [ $_i -lt 100 ]; do
    [ "$(grep -c 'clearing auth wrong' "$E2E_TMP/i3lock.log")" -ge "$1" ] && return 0
    sleep 0.1; _i=$((_i + 1))
  done
  i3log; return 1
}
# the end of i3lock's stderr, without what it echoes of the typed code
i3log() {
  grep -v -e Fontconfig -e 'current password' -e scaling_factor -e redraw_screen "$E2E_TMP/i3lock.log" |
    tail -8 | sed 's/^/#   i3lock: /'
}

# A sampler of i3lock's process tree: every 1 ms, the name and uids of every
# process below (and including) $LPID, until told to stop (or the suite is gone).
cat >"$E2E_TMP/tree.py" <<'EOF'
import os, sys, time
root, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = {}
def info(pid):
    d = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.split()
    except OSError:
        return None
    return d
suite = os.getppid()
while not os.path.exists(stop) and os.getppid() == suite:
    parent = {}
    procs = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        d = info(int(p))
        if d and "PPid" in d:
            parent[int(p)] = int(d["PPid"][0]); procs[int(p)] = d
    for pid, d in procs.items():
        q, depth = pid, 0
        while q != root and q in parent and depth < 32:
            q, depth = parent[q], depth + 1
        if q == root and d.get("State", ["?"])[0] != "Z":
            key = (pid, d["Name"][0], " ".join(d["Uid"]))
            seen[key] = 1
    time.sleep(0.001)
with open(out, "w") as f:
    for pid, name, uids in sorted(seen):
        f.write("%d %s %s\n" % (pid, name, uids))
EOF
tree_start() {
  rm -f "$E2E_TMP/tree.stop" "$E2E_TMP/tree.out"
  setpriv --pdeathsig KILL -- python3 "$E2E_TMP/tree.py" "$LPID" "$E2E_TMP/tree.out" "$E2E_TMP/tree.stop" &
  TPID=$!
}
tree_stop() { : >"$E2E_TMP/tree.stop"; wait "$TPID"; cat "$E2E_TMP/tree.out" >>"$E2E_TMP/tree.all"; }
: >"$E2E_TMP/tree.all"

# --- wrong code, then the right one ----------------------------------------------
check "i3lock started by $B on :$DPY, screen locked" lock
running || bail "i3lock did not start: $(i3log)"
uids=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$LPID/status" | tr -s '[:space:]' ' ' | sed 's/ $//')
check "i3lock runs as $B: real, effective, saved and file uid $uidB ($uids)" test "$uids" = "$uidB $uidB $uidB $uidB"
check "i3lock has no capabilities" test "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$LPID/status")" = 0000000000000000
check "i3lock is not setuid (mode $(stat -c %a "$(command -v i3lock)"))" test ! -u "$(command -v i3lock)"

tree_start
nr_log_mark
type_code "$(nr_wrong_code "$B")"
check "a wrong code typed into the locker: still locked 4 s later" still_locked_after 4
check "  i3lock says the answer was refused, and is ready for the next" refusal_over 1
tree_stop
check "  root's status: failures 1" test "$(nr_failures "$B")" = 1
if [ $logs = 1 ]; then check "  the helper logged the wrong code" nr_logged 'totp-helper.*wrong'; nr_show_log 3; fi

t0=$(date +%s)
nr_next_code "$B"
x=$nr_code
tree_start
nr_log_mark
type_code "$x"
if gone_within 10; then
  ok "the right code typed into the locker: unlocked (i3lock ended)"
  check "  i3lock's exit status is 0 ($lrc)" test "$lrc" = 0
else
  not_ok "the right code typed into the locker: unlocked (i3lock ended)"; i3log
  not_ok "  i3lock's exit status is 0 (still running)"
fi
tree_stop
check "  root's status: the login is on record" test "$(nr_status "$B" | jq -r '.last_login.unix // 0')" -ge "$t0"
if [ $logs = 1 ]; then check "  the helper logged the accepted code" nr_logged 'totp-helper.*accept'; nr_show_log 3; fi

# --- the same code again --------------------------------------------------------------
unlock_stop
if lock; then
  tree_start
  type_code "$x"
  check "a second lock, the code that unlocked the first (replay): still locked 4 s later" still_locked_after 4
  check "  i3lock says the answer was refused, and is ready for the next" refusal_over 1
  nr_next_code "$B"
  type_code "$nr_code"
  if gone_within 10; then
    check "  then a fresh code unlocks it (i3lock exit status $lrc)" test "$lrc" = 0
  else
    not_ok "  then a fresh code unlocks it"; i3log
  fi
  tree_stop
  unlock_stop
else
  not_ok "a second lock"; i3log
fi

# --- who ran as root ---------------------------------------------------------------
sed 's/^/#   tree: /' "$E2E_TMP/tree.all" | sort -u -k2 | head -10
# a process with a root uid must be the helper (a sample taken in the
# middle of its exec, with the old name and the new uids, counts as the
# helper when the same pid is seen as the helper too)
rootish=$(awk '$2 == "totp-helper" { h[$1] = 1 }
  $3 == 0 || $4 == 0 || $5 == 0 || $6 == 0 { r[NR] = $0; p[NR] = $1 }
  END { for (i in r) if (!(p[i] in h)) print r[i] }' "$E2E_TMP/tree.all" | head -3)
check "nothing in i3lock's process tree ran as root but the helper${rootish:+ (seen: $rootish)}" test -z "$rootish"
helper_seen=$(awk '$2 == "totp-helper"' "$E2E_TMP/tree.all")
if [ -n "$helper_seen" ]; then
  # it starts with B's real uid (that is whom it judges for) and root's
  # effective uid; it may then take root's real uid too (so that B cannot
  # signal it half-way)
  check "  every sample of the helper has root's effective uid (setuid root)" \
    test -z "$(printf '%s\n' "$helper_seen" | awk '$4 != 0')"
  check "  it ran for no one but $B or root (real uids: $(printf '%s\n' "$helper_seen" | awk '{print $3}' | sort -u | tr '\n' ' '))" \
    test -z "$(printf '%s\n' "$helper_seen" | awk -v u="$uidB" '$3 != u && $3 != 0')"
else
  diag "  (the sampler did not catch the helper itself: it lives for a few ms)"
fi
check "the real /etc/pam.d/i3lock is unchanged" test "$(cksum </etc/pam.d/i3lock)" = "$sum_before"

done_testing
exit $((e2e_failed > 0))
