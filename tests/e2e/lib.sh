# SPDX-License-Identifier: Apache-2.0
# tests/e2e/lib.sh: shared by the whole-product suites tests/e2e/*.t.
#
# A suite sources this file, calls `e2e_init "$@"` and then uses the helpers
# below to make throwaway users, a totp config, a private sshd and real
# logins. Everything a suite makes is recorded and removed by one EXIT trap,
# also when the suite fails or is interrupted.
#
# Isolation: where the kernel allows it (root on a normal machine), e2e_init
# re-runs the suite in a private mount namespace in which /etc, /home and
# /var/log are copy-on-write overlays kept on a tmpfs. The users, the PAM service files and
# the home directories the suite makes then exist only inside that namespace
# and vanish with it, even on `kill -9`; the real /etc/pam.d/sshd and
# /etc/pam.d/su are never written. Where no namespace can be made (or with
# E2E_NO_ISOLATE=1) the suite runs on the real /etc and its trap removes what
# it made.
#
# Environment (scripts/test-all.sh sets it): SRC_DIR (source tree), PREFIX
# (install prefix of the normal build: module in $PREFIX/lib/security,
# tool in $PREFIX/bin). Run by hand: `sudo sh tests/e2e/ssh-key-code.t`
# after `make install` into _build/normal/inst, or set PREFIX.

set -u

E2E_SRC=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
E2E_PREFIX=${PREFIX:-$E2E_SRC/_build/normal/inst}
E2E_MODULE=$E2E_PREFIX/lib/security/pam_totp.so
E2E_TOOL=$E2E_PREFIX/bin/totp-setup
E2E_DIR=$E2E_SRC/tests/e2e
E2E_GUIDE=$E2E_DIR/guide
E2E_TAG=${E2E_TAG:-tt$$}   # every user and service this run makes starts with it
export E2E_TAG

E2E_TMP=""
E2E_CONF=""
E2E_USERS=""
E2E_PIDS=""
E2E_FILES=""
E2E_MOUNTS=""
E2E_MADE_RUN_SSHD=0
E2E_ISOLATED=${E2E_ISOLATED:-}

# ---------------------------------------------------------------- TAP output
e2e_n=0
e2e_failed=0
plan() { echo "1..$1"; }
# done_testing: the plan at the end (TAP allows it); a suite that dies
# half-way has none, which the TAP driver reports as an error.
done_testing() { echo "1..$e2e_n"; }
ok() { e2e_n=$((e2e_n + 1)); echo "ok $e2e_n - $*"; }
not_ok() { e2e_n=$((e2e_n + 1)); e2e_failed=$((e2e_failed + 1)); echo "not ok $e2e_n - $*"; }
skip() { e2e_n=$((e2e_n + 1)); echo "ok $e2e_n # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail() { echo "Bail out! $*"; exit 1; }
# check DESCRIPTION COMMAND...: one test point from a command's status.
check() {
  _desc=$1; shift
  if "$@"; then ok "$_desc"; else not_ok "$_desc"; e2e_show_last; fi
  if [ "${E2E_TIMING:-0}" = 1 ]; then diag "  at $(( $(date +%s) - E2E_T0 )) s"; fi
}
E2E_T0=$(date +%s)

# ------------------------------------------------------------ setup, cleanup
# e2e_init "$@": root check, tools, isolation, temp dir, trap.
e2e_init() {
  [ "$(id -u)" = 0 ] || skip_all "needs root (it runs a private sshd, adds users and runs su)"
  for _t in sshd ssh ssh-keygen expect oathtool jq useradd userdel chpasswd ss runuser su unshare setpriv findmnt od; do
    command -v "$_t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$_t" >/dev/null 2>&1 ||
      bail "$_t not found (scripts/install-deps.sh installs it)"
  done
  PATH=$PATH:/usr/sbin:/sbin
  if [ "${E2E_NEED_PRODUCT:-1}" = 1 ]; then
    [ -f "$E2E_MODULE" ] || bail "pam_totp.so not found at $E2E_MODULE (make install with --prefix=\$PREFIX first)"
    [ -x "$E2E_TOOL" ] || bail "totp-setup not found at $E2E_TOOL (make install with --prefix=\$PREFIX first)"
  fi

  # In a chroot "/" is no mount point and --propagation private fails: a
  # namespace with the propagation unchanged is as good where no mount is
  # shared (see e2e_ns_mode).
  if [ -z "$E2E_ISOLATED" ] && [ -z "${E2E_NO_ISOLATE:-}" ] &&
     _ns_mode=$(e2e_ns_mode 2>/dev/null); then
    E2E_ISOLATED=pending
    export E2E_ISOLATED
    # unshare without --fork execs in place: same pid, so $$ and E2E_TAG hold.
    exec unshare --mount --propagation "$_ns_mode" -- sh "$0" "$@"
  fi

  E2E_TMP=$(mktemp -d /tmp/pam_totp-e2e.XXXXXX) || bail "mktemp failed"
  chmod 0700 "$E2E_TMP"
  trap e2e_cleanup EXIT
  trap 'exit 1' INT TERM HUP

  if [ "$E2E_ISOLATED" = pending ]; then
    if e2e_overlay_etc_home; then
      E2E_ISOLATED=yes
    else
      E2E_ISOLATED=no
      diag "no copy-on-write /etc here; running on the real /etc (the trap removes what the suite makes)"
    fi
  else
    E2E_ISOLATED=no
  fi

  if [ ! -d /run/sshd ]; then
    install -d -m0755 /run/sshd && E2E_MADE_RUN_SSHD=1
  fi
}

# Mounts tmpfs-backed overlays on /etc, /home and /var/log (inside our
# namespace only; /var/log takes what sshd writes about pty sessions).
e2e_overlay_etc_home() {
  # a mount below one of them (e.g. a container's /etc/hosts) would be hidden
  findmnt -rn -o TARGET | grep -qE '^/(etc|home|var/log)/' && return 1
  mkdir "$E2E_TMP/ovl" || return 1
  mount -t tmpfs -o mode=0700 e2e-overlay "$E2E_TMP/ovl" || return 1
  E2E_MOUNTS="$E2E_TMP/ovl"
  for _d in etc home var/log; do
    [ -d "/$_d" ] || continue
    _o=$(echo "$_d" | tr / _)
    mkdir -p "$E2E_TMP/ovl/$_o.up" "$E2E_TMP/ovl/$_o.work" || return 1
    mount -t overlay overlay \
      -o "lowerdir=/$_d,upperdir=$E2E_TMP/ovl/$_o.up,workdir=$E2E_TMP/ovl/$_o.work" "/$_d" || return 1
    E2E_MOUNTS="/$_d $E2E_MOUNTS"
  done
  return 0
}

e2e_cleanup() {
  set +e
  for _p in $E2E_PIDS; do e2e_stop "$_p"; done
  for _u in $E2E_USERS; do
    userdel -r "$_u" >/dev/null 2>&1 || userdel -f -r "$_u" >/dev/null 2>&1 ||
      echo "# cleanup: could not remove user $_u" >&2
  done
  for _f in $E2E_FILES; do rm -f -- "$_f"; done
  [ "$E2E_MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
  for _m in $E2E_MOUNTS; do umount -l "$_m" 2>/dev/null; done
  [ -n "$E2E_TMP" ] && rm -rf -- "$E2E_TMP"
  return 0
}

# quietly COMMAND...: runs it with its output kept out of the TAP stream
# (shown as comments when it fails).
quietly() {
  "$@" >"$E2E_TMP/quiet.out" 2>&1 && return 0
  _rc=$?; sed 's/^/#   /' "$E2E_TMP/quiet.out"; return $_rc
}

# e2e_stop PID: stops a process this suite started (a child of this shell):
# SIGTERM, then SIGKILL after 5 s, and reaps it, so that its pid is never
# signalled again once the system could reuse it.
e2e_stop() {
  kill "$1" 2>/dev/null || { wait "$1" 2>/dev/null; e2e_forget_pid "$1"; return 0; }
  ( sleep 5; kill -9 "$1" ) >/dev/null 2>&1 &
  _killer=$!
  wait "$1" 2>/dev/null
  kill "$_killer" 2>/dev/null; wait "$_killer" 2>/dev/null
  e2e_forget_pid "$1"
}
e2e_forget_pid() {
  _keep=""
  for _q in $E2E_PIDS; do [ "$_q" = "$1" ] || _keep="$_keep $_q"; done
  E2E_PIDS=$_keep
}

# Records a file this suite made, removed by the trap.
e2e_made_file() { E2E_FILES="$E2E_FILES $1"; }

# --------------------------------------------------------------------- users
# e2e_user NAME: makes user NAME (it must start with $E2E_TAG) with a home,
# /bin/sh and a random password.
e2e_user() {
  _name=$1
  case $_name in "$E2E_TAG"*) ;; *) bail "e2e_user: $_name does not start with $E2E_TAG" ;; esac
  useradd -m -s /bin/sh "$_name" >/dev/null 2>&1 || bail "useradd $_name failed"
  E2E_USERS="$E2E_USERS $_name"
  mkdir -p "$E2E_TMP/users"
  od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$E2E_TMP/users/$_name.pw"
  printf '%s:%s\n' "$_name" "$(cat "$E2E_TMP/users/$_name.pw")" | chpasswd || bail "chpasswd $_name failed"
}
e2e_password() { cat "$E2E_TMP/users/$1.pw"; }

# e2e_client_key: one client key pair for the suite ($E2E_TMP/client_key).
e2e_client_key() {
  [ -f "$E2E_TMP/client_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C e2e-client -f "$E2E_TMP/client_key" || bail "ssh-keygen failed"
}
# e2e_authorize USER: puts the client key in USER's authorized_keys.
e2e_authorize() {
  e2e_client_key
  _home=$(getent passwd "$1" | cut -d: -f6)
  install -d -m0700 -o "$1" -g "$(id -gn "$1")" "$_home/.ssh"
  install -m0600 -o "$1" -g "$(id -gn "$1")" "$E2E_TMP/client_key.pub" "$_home/.ssh/authorized_keys"
}

# ------------------------------------------------------------- totp config
# e2e_config NAME [LINE...]: writes E2E_CONF=$E2E_TMP/NAME.conf with its own
# key and state directory plus the extra lines, and runs `totp-setup init`.
e2e_config() {
  E2E_CONF=$E2E_TMP/$1.conf; _conf=$E2E_CONF; shift
  {
    echo "# pam_totp.conf of one e2e suite (or the demo): key and state in its temp dir"
    echo "state_dir = $E2E_TMP/state"
    echo "key_file = $E2E_TMP/pam_totp.key"
    for _l in "$@"; do echo "$_l"; done
  } >"$_conf"
  chmod 0644 "$_conf"
  "$E2E_TOOL" --config "$_conf" init >"$E2E_TMP/init.out" 2>&1 ||
    { cat "$E2E_TMP/init.out" >&2; bail "totp-setup init failed"; }
}

# e2e_enroll CONF USER: enrols USER (as root, no questions); keeps the JSON.
e2e_enroll() {
  mkdir -p "$E2E_TMP/enrol"
  "$E2E_TOOL" --config "$1" enroll --user "$2" --yes --json >"$E2E_TMP/enrol/$2.json" 2>"$E2E_TMP/enrol/$2.err" ||
    { cat "$E2E_TMP/enrol/$2.err" >&2; return 1; }
  jq -e '.uri | startswith("otpauth://totp/")' "$E2E_TMP/enrol/$2.json" >/dev/null
}
e2e_uri() { jq -r .uri "$E2E_TMP/enrol/$1.json"; }
# e2e_recovery USER N: the Nth (from 0) recovery code handed out at enrolment.
e2e_recovery() { jq -r ".recovery_codes[$2]" "$E2E_TMP/enrol/$1.json"; }
e2e_recovery_count() { jq -r '.recovery_codes | length' "$E2E_TMP/enrol/$1.json"; }

# e2e_uri_param USER NAME: a parameter of USER's otpauth URI (empty if absent).
e2e_uri_param() {
  e2e_uri "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"
}

# e2e_code USER [STEPS]: the code oathtool computes for USER's secret now
# (plus STEPS time steps), with the URI's algorithm, digits and period.
e2e_code() {
  _secret=$(e2e_uri_param "$1" secret)
  _alg=$(e2e_uri_param "$1" algorithm | tr 'A-Z' 'a-z')
  _digits=$(e2e_uri_param "$1" digits)
  _period=$(e2e_uri_param "$1" period)
  _mode=--totp
  [ -n "$_alg" ] && [ "$_alg" != sha1 ] && _mode=--totp=$_alg
  _t=$(( $(date +%s) + ${2:-0} * ${_period:-30} ))
  oathtool "$_mode" -b -d "${_digits:-6}" -s "${_period:-30}s" -N "@$_t" "$_secret"
}

# e2e_wrong_code USER: a 6-digit answer that is none of the codes of the
# previous, current and next step (so it is wrong whatever the clock does).
e2e_wrong_code() {
  # every code the module accepts now: the steps within E2E_WINDOW (the
  # suite's `window`, 1 unless it set another) either side
  _codes=" "; _s=$(( -${E2E_WINDOW:-1} ))
  while [ "$_s" -le "${E2E_WINDOW:-1}" ]; do _codes="$_codes$(e2e_code "$1" "$_s") "; _s=$((_s + 1)); done
  for _w in 000000 111111 222222; do
    case "$_codes" in *" $_w "*) continue ;; esac
    echo "$_w"; return
  done
}

# e2e_step USER: the current time step for USER's period.
e2e_step() {
  _period=$(e2e_uri_param "$1" period)
  echo $(( $(date +%s) / ${_period:-30} ))
}

# e2e_fresh_step USER SECONDS: waits until at least SECONDS are left in the
# current time step, so that what follows happens within one step.
e2e_fresh_step() {
  _period=$(e2e_uri_param "$1" period); _period=${_period:-30}
  _left=$(( _period - $(date +%s) % _period ))
  if [ "$_left" -lt "$2" ]; then sleep "$_left"; fi
}

# ------------------------------------------------------------- private sshd
# e2e_pam_from BASE SNIPPET [ARGS...]: prints a PAM service file made the
# way README "Deploy on a server" says: the system's BASE file (e.g.
# /etc/pam.d/sshd) with its "@include common-auth" line replaced by the guide
# snippet; the module is named by its installed path with config= this
# suite's config (and ARGS added).
e2e_pam_from() {
  _base=$1; _snippet=$2; shift 2
  _mod="$E2E_MODULE config=$E2E_CONF${*:+ $*}"
  sed "s|pam_totp\.so|$_mod|" "$_snippet" >"$E2E_TMP/auth-lines"
  awk -v f="$E2E_TMP/auth-lines" '
    $0 == "@include common-auth" { while ((getline l < f) > 0) print l; next }
    { print }' "$_base"
}
e2e_check_base() {
  [ "$(grep -c '^@include common-auth$' "$1")" = 1 ] ||
    bail "$1 has no single '@include common-auth' line: the deploy guide does not fit this system"
}

# e2e_sshd_service SNIPPET [ARGS...]: (re)writes the private sshd's PAM
# service /etc/pam.d/sshd-$E2E_TAG from /etc/pam.d/sshd. sshd reads it at
# every connection, so a suite can switch stacks without restarting sshd.
e2e_sshd_service() {
  E2E_SERVICE=sshd-$E2E_TAG
  e2e_check_base /etc/pam.d/sshd
  e2e_pam_from /etc/pam.d/sshd "$@" >"$E2E_TMP/pam-service"
  install -m0644 "$E2E_TMP/pam-service" "/etc/pam.d/$E2E_SERVICE"
  case " $E2E_FILES " in *" /etc/pam.d/$E2E_SERVICE "*) ;; *) e2e_made_file "/etc/pam.d/$E2E_SERVICE" ;; esac
}

# e2e_free_port: a free TCP port on 127.0.0.1 between 20000 and 59999.
e2e_free_port() {
  for _i in 1 2 3 4 5 6 7 8 9 10; do
    _port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
    if [ -z "$(ss -Hltn "sport = :$_port")" ]; then echo "$_port"; return 0; fi
  done
  return 1
}

# e2e_sshd_start SSHD_SNIPPET: starts a private sshd on 127.0.0.1:$E2E_PORT
# with its own host key, config and pid file, the guide's sshd_config lines,
# and PAM service sshd-$E2E_TAG (write it first with e2e_sshd_service). It
# admits only this suite's users.
e2e_sshd_start() {
  [ -f "$E2E_TMP/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$E2E_TMP/host_key" || bail "ssh-keygen failed"
  # sshd names its PAM service after the program name it was run as
  ln -sf "$(command -v sshd)" "$E2E_TMP/sshd-$E2E_TAG"
  for _try in 1 2 3; do
    E2E_PORT=$(e2e_free_port) || bail "no free port"
    {
      echo "# private sshd of an e2e suite; the deploy guide's lines first"
      cat "$1"
      echo "Port $E2E_PORT"
      echo "ListenAddress 127.0.0.1"
      echo "HostKey $E2E_TMP/host_key"
      echo "PidFile $E2E_TMP/sshd.pid"
      echo "AuthorizedKeysFile .ssh/authorized_keys"
      echo "AllowUsers $E2E_TAG*"
      echo "PermitRootLogin no"
      echo "PrintMotd no"
      echo "PrintLastLog no"
      echo "UseDNS no"
      echo "LogLevel VERBOSE"
    } >"$E2E_TMP/sshd_config"
    "$E2E_TMP/sshd-$E2E_TAG" -t -f "$E2E_TMP/sshd_config" || bail "sshd -t refuses the config"
    # --pdeathsig: sshd dies with the suite even if the suite is killed -9
    setpriv --pdeathsig TERM -- "$E2E_TMP/sshd-$E2E_TAG" -D -f "$E2E_TMP/sshd_config" -E "$E2E_TMP/sshd.log" &
    E2E_SSHD_PID=$!
    E2E_PIDS="$E2E_PIDS $E2E_SSHD_PID"
    _i=0
    while [ $_i -lt 100 ]; do
      if ! kill -0 "$E2E_SSHD_PID" 2>/dev/null; then break; fi
      if [ -n "$(ss -Hltn "sport = :$E2E_PORT")" ]; then return 0; fi
      sleep 0.1; _i=$((_i + 1))
    done
    e2e_stop "$E2E_SSHD_PID"
    diag "sshd did not start on port $E2E_PORT (try $_try):"; tail -5 "$E2E_TMP/sshd.log" | sed 's/^/# /'
  done
  bail "could not start a private sshd"
}

# ------------------------------------------------------------------- logins
# The command every successful login runs: its output is not its text, so
# seeing it proves the remote shell ran it.
E2E_CMD='echo "ran as $(id -un) sum=$((40+2))"'
e2e_ran_as() { grep -q "ran as $1 sum=42" "$E2E_TMP/last.out"; }

# e2e_ssh AUTH USER PASSWORD CODE: logs in through the private sshd with real
# ssh on a pty (answer.exp) and runs $E2E_CMD. AUTH: key (client key, then
# keyboard-interactive) or kbd (keyboard-interactive only, no key). With
# E2E_SSH_TTY=1 the session gets a pty (-tt): sshd shows PAM's messages after
# a successful keyboard-interactive login (e.g. recovery codes left) only
# then. Output in $E2E_TMP/last.out; returns ssh's exit status.
e2e_ssh() {
  case $1 in
    key) _auth="-i $E2E_TMP/client_key -o IdentitiesOnly=yes -o PubkeyAuthentication=yes -o PreferredAuthentications=publickey,keyboard-interactive" ;;
    kbd) _auth="-o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive" ;;
    *) bail "e2e_ssh: bad auth $1" ;;
  esac
  e2e_client_key
  # shellcheck disable=SC2086
  env -u SSH_AUTH_SOCK E2E_PASSWORD="$3" E2E_CODE="$4" expect -f "$E2E_DIR/answer.exp" \
    ssh -F /dev/null "$([ "${E2E_SSH_TTY:-0}" = 1 ] && echo -tt || echo -T)" -p "$E2E_PORT" $_auth \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
      -o CheckHostIP=no -o LogLevel=INFO -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
      -o BatchMode=no -o KbdInteractiveAuthentication=yes -o PasswordAuthentication=no \
      "$2@127.0.0.1" "$E2E_CMD" >"$E2E_TMP/last.out" 2>&1
}

# The prompts answer.exp saw in the last session, e.g. "code" or "password,code".
e2e_prompts() { sed -n 's/^E2E-PROMPTS: *//p' "$E2E_TMP/last.out" | tr -d '\r'; }
e2e_last_has() { tr -d '\r' <"$E2E_TMP/last.out" | grep -qiE "$1"; }

# Prints the last session and the end of the sshd log as TAP comments.
e2e_show_last() {
  if [ -n "$E2E_TMP" ] && [ -f "$E2E_TMP/last.out" ]; then
    tr -d '\r' <"$E2E_TMP/last.out" | sed 's/^/#   | /' | tail -20
  fi
  if [ -n "$E2E_TMP" ] && [ -f "$E2E_TMP/sshd.log" ]; then
    tail -8 "$E2E_TMP/sshd.log" | sed 's/^/#   sshd: /'
  fi
  return 0
}

# e2e_login_ok AUTH USER PASSWORD CODE: true when the login succeeded and ran
# the command as USER.
e2e_login_ok() { e2e_ssh "$@" && e2e_ran_as "$2"; }
# e2e_login_refused AUTH USER PASSWORD CODE: true when ssh was refused (255)
# and nothing ran.
e2e_login_refused() {
  e2e_ssh "$@"; _rc=$?
  [ "$_rc" = 255 ] && ! e2e_ran_as "$2" && e2e_last_has 'permission denied'
}

# ----------------------------------------------------------------------- su
# su picks its PAM service by its own name ("su", or "su-l" for `su -`), so a
# test cannot point it at a file of its own. Instead each su runs in a
# private mount namespace of its own in which $E2E_TMP/su.pam is bind-mounted
# over /etc/pam.d/su and /etc/pam.d/su-l: the real su reads our stack, the
# real files are never written, and the bind mounts die with the command.

# Not every machine can make that namespace: in a chroot "/" is no mount
# point, so `unshare --propagation private` (which makes "/" private first)
# fails with "cannot change root filesystem propagation: Invalid argument";
# without CAP_SYS_ADMIN no namespace can be made at all. e2e_ns_probe
# finds a way that is safe (e2e_ns_mode): --propagation private; else
# --propagation unchanged when no mount is shared (nothing mounted in the
# namespace can leak into its parent); else none, with the reason in
# E2E_NS_WHY. A suite that needs it calls
# e2e_need_ns (skips the whole suite) or tests e2e_have_ns (skips the
# points that need it): never a failure for the machine's sake.
E2E_NS_MODE=""
E2E_NS_WHY=""
e2e_ns_probe() {
  [ -n "$E2E_NS_MODE" ] && return 0
  [ -n "$E2E_NS_WHY" ] && return 1
  _why=$(e2e_ns_mode 2>&1 >/dev/null) && { E2E_NS_MODE=$(e2e_ns_mode); return 0; }
  E2E_NS_WHY=$_why
  return 1
}
# e2e_ns_mode: prints the --propagation that makes a mount namespace whose
# mounts stay inside it: private; else (a chroot) unchanged, but only when
# no mount here is shared (the suites mount over /etc, /home, /var/log,
# /dev/log, $PREFIX and under /tmp); fails with the reason on stderr.
e2e_ns_mode() {
  if _err=$(unshare --mount --propagation private -- true 2>&1); then echo private; return 0; fi
  _err=$(printf '%s' "${_err:-unshare --mount failed}" | head -1)
  if ! _mnts=$(unshare --mount --propagation unchanged -- findmnt -rn -o TARGET,PROPAGATION 2>/dev/null); then
    echo "$_err" >&2; return 1
  fi
  _shared=$(printf '%s\n' "$_mnts" | awk '$2 ~ /shared/ { print $1; exit }')
  if [ -n "$_shared" ]; then
    echo "$_err (and with the propagation unchanged, mounts would leak out: $_shared is shared)" >&2
    return 1
  fi
  echo unchanged
}
e2e_have_ns() { e2e_ns_probe; }
e2e_need_ns() { e2e_have_ns "$@" || skip_all "no private mount namespace can be made here: $E2E_NS_WHY"; }
# check_ns DESCRIPTION COMMAND...: `check`, or a skip with the reason where
# no namespace can be made (for the su points of a suite that has others).
check_ns() {
  _cd=$1; shift
  if e2e_have_ns; then check "$_cd" "$@"; else skip "$_cd: no private mount namespace can be made here: $E2E_NS_WHY"; fi
}

# e2e_su_service SNIPPET [ARGS...]: writes $E2E_TMP/su.pam from /etc/pam.d/su.
e2e_su_service() {
  e2e_check_base /etc/pam.d/su
  e2e_pam_from /etc/pam.d/su "$@" >"$E2E_TMP/su.pam"
  chmod 0644 "$E2E_TMP/su.pam"
}

# e2e_su FROM TO PASSWORD CODE: as user FROM (not root, so su asks), on a
# pseudo-terminal driven by answer.exp, runs `su TO -c $E2E_CMD`. Output in
# $E2E_TMP/last.out; returns su's exit status.
e2e_su() {
  if ! e2e_ns_probe /etc/pam.d/su; then
    echo "e2e_su: no private mount namespace: $E2E_NS_WHY" >"$E2E_TMP/last.out"
    return 97
  fi
  E2E_PASSWORD="$3" E2E_CODE="$4" expect -f "$E2E_DIR/answer.exp" \
    unshare --mount --propagation "${E2E_NS_MODE:-private}" -- sh -c '
      mount --bind "$1" /etc/pam.d/su || exit 97
      if [ -e /etc/pam.d/su-l ]; then mount --bind "$1" /etc/pam.d/su-l || exit 97; fi
      cd / && exec runuser -u "$2" -- su "$3" -c "$4"' e2e-su "$E2E_TMP/su.pam" "$1" "$2" "$E2E_CMD" \
    >"$E2E_TMP/last.out" 2>&1
}
e2e_su_ok() { e2e_su "$@" && e2e_ran_as "$2"; }
e2e_su_refused() {
  e2e_su "$@"; _rc=$?
  [ "$_rc" != 0 ] && [ "$_rc" != 97 ] && [ "$_rc" != 124 ] && ! e2e_ran_as "$2" &&
    e2e_last_has 'authentication failure|incorrect|denied'
}

# e2e_syslog_sink OUT: starts the suite's syslog socket, $E2E_TMP/log.sock
# (tests/e2e/syslog_sink.py), appending every message to OUT; the caller
# mounts it on /dev/log in its namespace. Returns 1 if it did not start.
e2e_syslog_sink() {
  command -v python3 >/dev/null 2>&1 || return 1
  : >"$1"
  setpriv --pdeathsig TERM -- python3 "$E2E_DIR/syslog_sink.py" "$E2E_TMP/log.sock" "$1" "$E2E_TMP/log.ready" &
  E2E_PIDS="$E2E_PIDS $!"
  _i=0; while [ ! -f "$E2E_TMP/log.ready" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
  [ -f "$E2E_TMP/log.ready" ]
}
