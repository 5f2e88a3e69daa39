#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Model 3 of issue 18 alone: whole ssh logins (a key, then a code) through a
# private sshd on 127.0.0.1 per module, pam_permit, pam_google_authenticator
# and pam_totp taking turns. As root, after a build:
#
#   sh bench/ssh_bench.sh [BUILD_DIR] [cold_bench options]   e.g. --ssh-logins 300
#
# BUILD_DIR defaults to _build/normal (configured with --prefix=BUILD/inst
# and installed). bench/cold_bench does the work: in a private mount
# namespace it adds its users to a copy of /etc/passwd, writes PAM services
# sshd-cb-{permit,ga,totp} (the system's /etc/pam.d/sshd with
# "@include common-auth" replaced by the module) into a copy of /etc/pam.d,
# starts one sshd per service (sshd names its PAM service after argv[0]),
# and times `ssh -T user@127.0.0.1 true` from spawn to exit; the code is
# answered by an SSH_ASKPASS script (SSH_ASKPASS_REQUIRE=force, no pty, no
# expect). scripts/bench-cold.sh runs all three models together.
set -eu
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
build=$SRC_DIR/_build/normal
case ${1:-} in -*|"") ;; *) build=$1; shift ;; esac
[ "$(id -u)" -eq 0 ] || { echo "ssh_bench.sh: must run as root" >&2; exit 1; }
make -C "$build" bench/cold_bench bench/cold_driver >/dev/null
exec "$build/bench/cold_bench" --totp "$build/inst/lib/security/pam_totp.so" --driver "$build/bench/cold_driver" \
  --models 3 --tput-rounds 0 --load-samples 0 "$@"
