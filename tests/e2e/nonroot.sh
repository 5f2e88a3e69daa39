# SPDX-License-Identifier: Apache-2.0
# tests/e2e/nonroot.sh: shared by the suites in which a PAM application that
# does not run as root (pamtester run by a user, the i3lock screen locker)
# loads pam_totp.so, which then hands the decision to the setuid helper.
# Source it after tests/e2e/lib.sh and `e2e_init "$@"`.
#
# The helper reads only the installed tree's system config
# ($PREFIX/etc/security/pam_totp.conf) and must be setuid root. Where the
# suite runs isolated (lib.sh: a private mount namespace), $PREFIX is made a
# copy-on-write overlay in that namespace: the config and the setuid bit
# exist only there and vanish with it, even on `kill -9`. Otherwise the real
# files are changed and the EXIT trap puts them back (as tests/tool/selfenrol.t).
#
# The module's and the helper's syslog lines are caught by a datagram socket
# of the suite mounted on /dev/log in the namespace (over the real one, or on
# a copy-on-write /dev where there is none), as tests/e2e/su-limits.t does.

NR_HELPER=$E2E_PREFIX/libexec/pam_totp/totp-helper
NR_CONF=$E2E_PREFIX/etc/security/pam_totp.conf
NR_LOG=""            # the caught syslog lines ("" when none can be caught)
NR_RESTORE=""        # fallback without isolation: what the trap puts back
NR_MADE_DIRS=""

nr_cleanup() {
  set +e
  if [ -n "$NR_RESTORE" ]; then
    chmod "$NR_HELPER_MODE" "$NR_HELPER" 2>/dev/null
    if [ -f "$E2E_TMP/conf.saved" ]; then mv "$E2E_TMP/conf.saved" "$NR_CONF"; else rm -f "$NR_CONF"; fi
    for _d in $NR_MADE_DIRS; do rmdir "$_d" 2>/dev/null; done
  fi
  return 0
}
# the suite's own cleanup (if any) first, then ours, then lib.sh's
nr_trap() { trap "${1:+$1; }nr_cleanup; e2e_cleanup" EXIT; }
nr_trap

# nr_system_config LINE...: writes the system config (key and state in the
# suite's temp dir, plus LINEs), makes the helper setuid root, runs
# `totp-setup init`; sets E2E_CONF to the system config, so that lib.sh's
# su stacks (config=$E2E_CONF) and root's totp-setup use the same file,
# key, state and ledger as the helper.
nr_system_config() {
  [ -f "$NR_HELPER" ] || bail "the helper is not installed at $NR_HELPER"
  if [ "$E2E_ISOLATED" = yes ]; then
    mkdir "$E2E_TMP/pfx" && mount -t tmpfs -o mode=0700 e2e-prefix "$E2E_TMP/pfx" || bail "tmpfs for \$PREFIX failed"
    E2E_MOUNTS="$E2E_TMP/pfx $E2E_MOUNTS"
    mkdir "$E2E_TMP/pfx/up" "$E2E_TMP/pfx/work" || bail "mkdir failed"
    mount -t overlay overlay -o "lowerdir=$E2E_PREFIX,upperdir=$E2E_TMP/pfx/up,workdir=$E2E_TMP/pfx/work" "$E2E_PREFIX" ||
      bail "could not make $E2E_PREFIX copy-on-write"
    E2E_MOUNTS="$E2E_PREFIX $E2E_MOUNTS"
  else
    NR_HELPER_MODE=$(stat -c %a "$NR_HELPER")
    [ -f "$NR_CONF" ] && cp -p "$NR_CONF" "$E2E_TMP/conf.saved"
    _d=$(dirname "$NR_CONF")
    while [ ! -d "$_d" ]; do NR_MADE_DIRS="$NR_MADE_DIRS $_d"; _d=$(dirname "$_d"); done
    NR_RESTORE=1
  fi
  mkdir -p "$(dirname "$NR_CONF")"
  {
    echo "# pam_totp.conf of one e2e suite: key and state in its temp dir"
    echo "state_dir = $E2E_TMP/state"
    echo "key_file = $E2E_TMP/pam_totp.key"
    for _l in "$@"; do echo "$_l"; done
  } >"$NR_CONF"
  chmod 0644 "$NR_CONF"
  chown root:root "$NR_HELPER" && chmod 4755 "$NR_HELPER" || bail "could not make the helper setuid root"
  E2E_CONF=$NR_CONF
  "$E2E_TOOL" --config "$NR_CONF" init >"$E2E_TMP/init.out" 2>&1 ||
    { cat "$E2E_TMP/init.out" >&2; bail "totp-setup init failed"; }
}

# nr_reachable USER: USER can load the module and run the helper (directory
# permissions on the way to $PREFIX).
nr_reachable() {
  runuser -u "$1" -- test -r "$E2E_MODULE" && runuser -u "$1" -- test -x "$NR_HELPER"
}

# nr_syslog: starts the suite's syslog socket and mounts it on /dev/log.
# Returns 1 (and NR_LOG stays empty) where that cannot be done.
nr_syslog() {
  [ "$E2E_ISOLATED" = yes ] || return 1
  e2e_syslog_sink "$E2E_TMP/syslog.txt" || return 1
  if [ ! -e /dev/log ]; then
    # a copy-on-write /dev (this namespace only), its submounts put back
    _d=$E2E_TMP/dev
    mkdir -p "$_d/up" "$_d/wk" "$_d/keep" || return 1
    _subs=$(findmnt -rn -o TARGET | grep '^/dev/' | sort -u)
    _k=0
    for _s in $_subs; do
      _k=$((_k + 1)); mkdir "$_d/keep/$_k" && mount --bind "$_s" "$_d/keep/$_k" || return 1
    done
    mount -t overlay overlay -o "lowerdir=/dev,upperdir=$_d/up,workdir=$_d/wk" /dev || return 1
    _k=0
    for _s in $_subs; do
      _k=$((_k + 1)); mount --move "$_d/keep/$_k" "$_s" || return 1
    done
    : >/dev/log || return 1
  fi
  mount --bind "$E2E_TMP/log.sock" /dev/log || return 1
  E2E_MOUNTS="/dev/log $E2E_MOUNTS"
  NR_LOG=$E2E_TMP/syslog.txt
  return 0
}
nr_log_mark() { nr_mark=0; [ -n "$NR_LOG" ] && nr_mark=$(wc -l <"$NR_LOG"); return 0; }
# the lines logged since the last nr_log_mark (a short pause first: the
# datagrams of a process that just ended may still be on their way)
nr_log_since() { [ -n "$NR_LOG" ] || return 0; sleep 0.2; tail -n +$((nr_mark + 1)) "$NR_LOG"; }
# nr_logged EREGEX: a line since the mark matches
nr_logged() { nr_log_since >"$E2E_TMP/since"; grep -qiE "$1" "$E2E_TMP/since"; }
nr_show_log() { [ -n "$NR_LOG" ] && nr_log_since | tail -"${1:-4}" | sed 's/^/#   log: /'; return 0; }

# nr_status USER: root's `totp-setup status --json` for USER, on the system config.
nr_status() { "$E2E_TOOL" --config "$NR_CONF" status --user "$1" --json; }
nr_failures() { nr_status "$1" | jq -r .failures; }
nr_locked() { nr_status "$1" | jq -e '.locked_until != null' >/dev/null; }
nr_unlock() { "$E2E_TOOL" --config "$NR_CONF" unlock --user "$1" >/dev/null 2>&1; }

# Codes. The suites use `window = 5` (9 right codes at any time, with a
# step to spare on either side, before nr_next_code must wait); each right code is of a later step
# than the last one handed out (the module refuses a step it has seen).
NR_WINDOW=5
nr_last_step=0
# nr_next_code USER: sets nr_code to a right code not handed out before
# (a variable, not output: $(...) would lose the step it used).
nr_next_code() {
  _period=$(e2e_uri_param "$1" period); _period=${_period:-30}
  _cur=$(( $(date +%s) / _period ))
  _s=$((nr_last_step + 1))
  [ $_s -lt $((_cur - NR_WINDOW + 1)) ] && _s=$((_cur - NR_WINDOW + 1))
  if [ $_s -gt $((_cur + NR_WINDOW - 1)) ]; then   # all used: wait for the next step
    sleep $(( (_s - NR_WINDOW + 1) * _period - $(date +%s) ))
    _cur=$(( $(date +%s) / _period ))
  fi
  nr_last_step=$_s
  nr_code=$(e2e_code "$1" $((_s - _cur)))
}
# nr_wrong_code USER: a 6-digit answer that no step within the window accepts.
nr_wrong_code() {
  for _w in 000000 111111 222222 333333; do
    _hit=0
    _o=$((-NR_WINDOW - 1))
    while [ $_o -le $((NR_WINDOW + 1)) ]; do
      [ "$(e2e_code "$1" $_o)" = "$_w" ] && _hit=1
      _o=$((_o + 1))
    done
    [ $_hit = 0 ] && { echo "$_w"; return; }
  done
}
