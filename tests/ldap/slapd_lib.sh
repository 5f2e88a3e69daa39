# SPDX-License-Identifier: Apache-2.0
# tests/ldap/slapd_lib.sh: a private slapd for the fleet-store suites.
#
# POSIX sh, sourced by a TAP suite (alone or after tests/e2e/lib.sh):
#     . "$SRC_DIR/tests/ldap/slapd_lib.sh"
#     ldap_start "$tmp" || bail "slapd did not start"
#     trap 'ldap_stop; rm -rf "$tmp"' EXIT
# The slapd is built the way an administrator would build one, from the
# files pam_totp ships: ldap/pam_totp.schema and the example ACL
# ldap/pam_totp-acl.conf with its placeholder DNs replaced by this
# directory's, so the suites test the shipped files. They are taken from
# $PREFIX/share/pam_totp/ldap when PREFIX is set and holds them (the
# installed build, as scripts/test-all.sh runs it), else from the source
# tree ($SRC_DIR, default two levels above the suite).
#
# Call ldap_start and ldap_restart from the suite's main shell, never inside
# $( ) or ( ): slapd dies with the shell that started it (so a suite that is
# killed leaves no slapd behind), and the variables must reach the caller.
#
# ldap_start WORKDIR: CA + server certificate, slapd.conf, base entries,
#   slapd on ldap://127.0.0.1:$LDAP_PORT (StartTLS) and ldapi://; everything
#   under WORKDIR/slapd (the caller removes WORKDIR) except, when WORKDIR is
#   too long for a socket address, the ldapi socket (a /tmp dir that
#   ldap_stop removes). Exports:
#   LDAP_PORT       the TCP port on 127.0.0.1
#   LDAP_URI        ldap://127.0.0.1:PORT (clients must use StartTLS)
#   LDAP_LDAPI_URI  ldapi://%2F... (root binds with SASL EXTERNAL here)
#   LDAP_SOCK       the ldapi socket's path
#   LDAP_SUFFIX     dc=example,dc=test, the whole directory
#   LDAP_BASE       ou=totp,dc=example,dc=test, the records subtree (ldap_base)
#   LDAP_BIND_DN    cn=pam_totp,ou=services,dc=example,dc=test, the service account
#   LDAP_PASS_FILE  its password, root-owned 0600, no trailing newline
#   LDAP_BIND_PASS  the same password
#   LDAP_CA         the test CA (PEM) that signed slapd's certificate
#   LDAP_WRONG_CA   another CA (PEM), for "wrong CA" tests
#   LDAP_USER_DN / LDAP_USER_PASS  uid=mallory, an unprivileged directory user
#   LDAP_PID        slapd's pid
#   LDAP_WORKDIR    WORKDIR/slapd (slapd.conf, db/, slapd.log, certificates)
# ldap_stop            stops slapd (also a paused one), removes the /tmp socket dir
# ldap_restart         stops and starts it again: same port, socket and data
# ldap_pause / ldap_resume   SIGSTOP / SIGCONT (a server that stops answering)
# ldap_wait_ready      waits until slapd answers over ldapi (returns 1 after 10 s)
# ldap_conf_lines      pam_totp.conf lines for the service account over StartTLS
# ldap_as_root TOOL ARGS...     an ldap* tool as root over ldapi (SASL EXTERNAL)
# ldap_as_service TOOL ARGS...  an ldap* tool as the service account, StartTLS

LDAP_LIB_SRC=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LDAP_SUFFIX="dc=example,dc=test"
LDAP_BASE="ou=totp,$LDAP_SUFFIX"
LDAP_BIND_DN="cn=pam_totp,ou=services,$LDAP_SUFFIX"
LDAP_USER_DN="uid=mallory,ou=people,$LDAP_SUFFIX"
LDAP_PID=""
LDAP_SOCK_TMP=""   # the /tmp dir holding the socket, if ldap_start made one
export LDAP_SUFFIX LDAP_BASE LDAP_BIND_DN LDAP_USER_DN

# The shipped files: the installed copy when there is one, else the tree's.
ldap_files_dir() {
  if [ -n "${PREFIX:-}" ] && [ -f "$PREFIX/share/pam_totp/ldap/pam_totp.schema" ]; then
    echo "$PREFIX/share/pam_totp/ldap"
  else
    echo "$LDAP_LIB_SRC/ldap"
  fi
}

# ldap__free_port: a port nobody listens on now (the kernel's choice);
# ldap_start retries if another process takes it first.
ldap__free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ldap__alive PID: true while PID runs; a zombie (exited, not yet reaped
# by this shell) counts as gone.
ldap__alive() {
  [ -r "/proc/$1/stat" ] || return 1
  ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# ldap__certs DIR: a test CA, slapd's certificate (SAN localhost and
# 127.0.0.1, the names clients connect to) and an unrelated second CA.
# EC P-256: fast to make, and what a current deployment would use.
ldap__certs() {
  _ldd=$1
  printf '%s\n' '[req]' 'distinguished_name = dn' '[dn]' \
    '[ca]' 'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign' \
    '[server]' 'basicConstraints = CA:FALSE' 'keyUsage = critical, digitalSignature' \
    'extendedKeyUsage = serverAuth' 'subjectAltName = DNS:localhost, IP:127.0.0.1' >"$_ldd/openssl.cnf"
  for _ldca in ca wrong-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -config "$_ldd/openssl.cnf" -extensions ca -subj "/CN=pam_totp test $_ldca" -days 7 \
      -keyout "$_ldd/$_ldca.key" -out "$_ldd/$_ldca.pem" 2>/dev/null || return 1
  done
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -config "$_ldd/openssl.cnf" -subj "/CN=localhost" \
    -keyout "$_ldd/server.key" -out "$_ldd/server.csr" 2>/dev/null &&
  openssl x509 -req -in "$_ldd/server.csr" -CA "$_ldd/ca.pem" -CAkey "$_ldd/ca.key" -CAcreateserial \
    -extfile "$_ldd/openssl.cnf" -extensions server -days 7 -out "$_ldd/server.pem" 2>/dev/null
}

# ldap__conf: slapd.conf. The ACL is the shipped example with this
# directory's DNs put in for its placeholders.
ldap__conf() {
  _ldf=$(ldap_files_dir)
  cat <<EOF
# Made by tests/ldap/slapd_lib.sh for one test run.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $_ldf/pam_totp.schema
pidfile $LDAP_WORKDIR/slapd.pid
argsfile $LDAP_WORKDIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb.la
# Only what is logged whatever the level (start, stop, errors): a bench
# must not measure slapd writing its log.
loglevel 0
TLSCACertificateFile $LDAP_WORKDIR/ca.pem
TLSCertificateFile $LDAP_WORKDIR/server.pem
TLSCertificateKeyFile $LDAP_WORKDIR/server.key
# As a real deployment should: no simple bind (no password) in clear text;
# StartTLS and ldapi pass.
security simple_bind=64

database mdb
suffix "$LDAP_SUFFIX"
directory $LDAP_WORKDIR/db
# No rootdn: root's rights come from the ACL (SASL EXTERNAL over ldapi),
# as in the shipped example.
maxsize 268435456
index objectClass eq
index uid eq
EOF
  sed -e "s/cn=pam_totp,ou=services,dc=example,dc=com/$LDAP_BIND_DN/g" \
      -e "s/ou=totp,dc=example,dc=com/$LDAP_BASE/g" "$_ldf/pam_totp-acl.conf"
}

# ldap__base_ldif: the tree: the records subtree (empty), the service
# account and an ordinary user, mallory, who must not see the records.
ldap__base_ldif() {
  cat <<EOF
dn: $LDAP_SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: pam_totp tests

dn: $LDAP_BASE
objectClass: organizationalUnit
ou: totp

dn: ou=services,$LDAP_SUFFIX
objectClass: organizationalUnit
ou: services

dn: $LDAP_BIND_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: pam_totp
userPassword: $(slappasswd -n -s "$LDAP_BIND_PASS")

dn: ou=people,$LDAP_SUFFIX
objectClass: organizationalUnit
ou: people

dn: $LDAP_USER_DN
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: Mallory
userPassword: $(slappasswd -n -s "$LDAP_USER_PASS")
EOF
}

ldap_start() {
  [ $# = 1 ] || { echo "usage: ldap_start WORKDIR" >&2; return 2; }
  ldap_stop   # one directory per shell: the variables describe only one
  PATH=$PATH:/usr/sbin:/sbin
  for _ldt in slapd slapadd slaptest slappasswd ldapsearch openssl python3 setpriv; do
    command -v "$_ldt" >/dev/null 2>&1 || { echo "ldap_start: $_ldt not found" >&2; return 1; }
  done
  mkdir -p "$1" && LDAP_WORKDIR=$(cd "$1" && pwd)/slapd || return 1
  mkdir -p "$LDAP_WORKDIR/db" && chmod 0700 "$LDAP_WORKDIR" || return 1
  # sun_path holds 107 bytes; a long WORKDIR, or one whose name would need
  # more URL escaping than / -> %2F, gets a short /tmp directory instead.
  LDAP_SOCK=$LDAP_WORKDIR/ldapi
  case $LDAP_SOCK in *[!A-Za-z0-9._/-]*) _ldplain=0 ;; *) _ldplain=1 ;; esac
  if [ $_ldplain = 0 ] || [ ${#LDAP_SOCK} -gt 100 ]; then
    LDAP_SOCK_TMP=$(mktemp -d /tmp/ldapi.XXXXXX) || return 1
    LDAP_SOCK=$LDAP_SOCK_TMP/s
  fi
  LDAP_LDAPI_URI="ldapi://$(printf '%s' "$LDAP_SOCK" | sed 's|/|%2F|g')"
  LDAP_CA=$LDAP_WORKDIR/ca.pem
  LDAP_WRONG_CA=$LDAP_WORKDIR/wrong-ca.pem
  LDAP_PASS_FILE=$LDAP_WORKDIR/bind.pw
  LDAP_BIND_PASS=svc-$(openssl rand -hex 12)
  LDAP_USER_PASS=usr-$(openssl rand -hex 12)
  # No trailing newline: ldapsearch -y sends the whole file as the password.
  (umask 077 && printf '%s' "$LDAP_BIND_PASS" >"$LDAP_PASS_FILE") || return 1
  export LDAP_WORKDIR LDAP_SOCK LDAP_LDAPI_URI LDAP_CA LDAP_WRONG_CA LDAP_PASS_FILE LDAP_BIND_PASS LDAP_USER_PASS
  ldap__certs "$LDAP_WORKDIR" || { echo "ldap_start: openssl failed" >&2; return 1; }
  ldap__conf >"$LDAP_WORKDIR/slapd.conf"
  slaptest -Q -u -f "$LDAP_WORKDIR/slapd.conf" >"$LDAP_WORKDIR/slaptest.log" 2>&1 ||
    { echo "ldap_start: bad slapd.conf:" >&2; cat "$LDAP_WORKDIR/slaptest.log" >&2; return 1; }
  ldap__base_ldif >"$LDAP_WORKDIR/base.ldif"
  slapadd -q -f "$LDAP_WORKDIR/slapd.conf" -l "$LDAP_WORKDIR/base.ldif" >"$LDAP_WORKDIR/slapadd.log" 2>&1 ||
    { echo "ldap_start: slapadd failed:" >&2; cat "$LDAP_WORKDIR/slapadd.log" >&2; return 1; }
  # A port picked now may be taken before slapd binds it: try a few.
  for _ldtry in 1 2 3 4 5; do
    LDAP_PORT=$(ldap__free_port) || return 1
    LDAP_URI="ldap://127.0.0.1:$LDAP_PORT"
    export LDAP_PORT LDAP_URI
    ldap__launch && return 0
    ldap__kill
  done
  echo "ldap_start: slapd did not start; $LDAP_WORKDIR/slapd.log:" >&2
  tail -20 "$LDAP_WORKDIR/slapd.log" >&2
  return 1
}

# ldap__launch: slapd in the foreground (-d 0: no fork, its messages to
# slapd.log) as a background job of this shell, with a parent-death signal
# so that it cannot outlive the suite. ldap://127.0.0.1 only: nothing is
# reachable from another machine.
ldap__launch() {
  rm -f "$LDAP_SOCK"   # a socket left by a killed slapd
  setpriv --pdeathsig TERM -- slapd -d 0 -f "$LDAP_WORKDIR/slapd.conf" \
    -h "$LDAP_URI/ $LDAP_LDAPI_URI" </dev/null >>"$LDAP_WORKDIR/slapd.log" 2>&1 &
  LDAP_PID=$!
  export LDAP_PID
  ldap_wait_ready
}

# ldap_wait_ready: polls a search as root over ldapi (slapd is up when the
# database answers, not merely when the socket exists); gives up at once
# if slapd died (e.g. its port was taken), else after 10 s.
ldap_wait_ready() {
  _ldi=0
  while [ $_ldi -lt 200 ]; do
    ldap__alive "$LDAP_PID" || return 1
    ldap_as_root ldapsearch -b "$LDAP_SUFFIX" -s base dn >/dev/null 2>&1 && return 0
    sleep 0.05
    _ldi=$((_ldi + 1))
  done
  return 1
}

# ldap__kill: TERM (after CONT, so that a paused slapd can act on it), KILL
# after 3 s; returns once the process is gone. Only our own slapd: the pid
# is checked to still be a slapd (or the setpriv about to become one)
# before any signal.
ldap__kill() {
  [ -n "$LDAP_PID" ] || return 0
  case $(cat "/proc/$LDAP_PID/comm" 2>/dev/null) in slapd|setpriv) _ldours=1 ;; *) _ldours=0 ;; esac
  if [ $_ldours = 1 ] && ldap__alive "$LDAP_PID"; then
    kill -CONT "$LDAP_PID" 2>/dev/null || :
    kill -TERM "$LDAP_PID" 2>/dev/null || :
    _ldi=0
    while ldap__alive "$LDAP_PID" && [ $_ldi -lt 60 ]; do sleep 0.05; _ldi=$((_ldi + 1)); done
    if ldap__alive "$LDAP_PID"; then
      kill -KILL "$LDAP_PID" 2>/dev/null || :
      while ldap__alive "$LDAP_PID"; do sleep 0.05; done
    fi
  fi
  wait "$LDAP_PID" 2>/dev/null || :   # reap it: it is this shell's child
  LDAP_PID=""
  return 0
}

ldap_stop() {
  ldap__kill
  if [ -n "$LDAP_SOCK_TMP" ]; then rm -rf "$LDAP_SOCK_TMP"; LDAP_SOCK_TMP=""; fi
  return 0
}

# ldap_restart: same port, socket, certificates and data (slapd.conf and db/
# are kept). Returns 1 if it does not come back (e.g. the port was taken).
ldap_restart() {
  ldap__kill
  ldap__launch
}

ldap_pause() { kill -STOP "$LDAP_PID"; }
ldap_resume() { kill -CONT "$LDAP_PID"; }

ldap_conf_lines() {
  cat <<EOF
store = ldap
ldap_uri = $LDAP_URI
ldap_base = $LDAP_BASE
ldap_bind_dn = $LDAP_BIND_DN
ldap_bind_password_file = $LDAP_PASS_FILE
ldap_ca_file = $LDAP_CA
ldap_timeout = 3
EOF
}

# ldap_as_root TOOL ARGS...: e.g. ldap_as_root ldapsearch -b "$LDAP_BASE".
ldap_as_root() {
  _ldtool=$1; shift
  "$_ldtool" -Q -Y EXTERNAL -H "$LDAP_LDAPI_URI" "$@"
}

# ldap_as_service TOOL ARGS...: simple bind after StartTLS (-ZZ: refuse to
# go on without it), trusting only the test CA.
ldap_as_service() {
  _ldtool=$1; shift
  LDAPTLS_CACERT=$LDAP_CA LDAPTLS_REQCERT=demand \
    "$_ldtool" -x -ZZ -H "$LDAP_URI" -D "$LDAP_BIND_DN" -y "$LDAP_PASS_FILE" "$@"
}
