#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The licence (issue 16): Apache-2.0 in LICENSE, an SPDX identifier in every
# source file (scripts/spdx.sh --check), and debian/copyright in the
# machine-readable format naming the same licence.
# Env (scripts/test-all.sh): SRC_DIR.
set -u
src=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0; failed=0
check() { d=$1; shift; n=$((n + 1)); if "$@"; then echo "ok $n - $d"; else failed=1; echo "not ok $n - $d"; fi; }
check "LICENSE is the Apache License 2.0" grep -q "Apache License" "$src/LICENSE"
check "LICENSE is the whole text (TERMS AND CONDITIONS ... END OF TERMS)" \
  sh -c "grep -q 'TERMS AND CONDITIONS FOR USE' '$src/LICENSE' && grep -q 'END OF TERMS AND CONDITIONS' '$src/LICENSE'"
sh "$src/scripts/spdx.sh" --check >"${TMPDIR:-/tmp}/spdx.$$" 2>&1
check "every source file carries SPDX-License-Identifier: Apache-2.0" test $? = 0
sed 's/^/# /' "${TMPDIR:-/tmp}/spdx.$$" | head -20; rm -f "${TMPDIR:-/tmp}/spdx.$$"
check "debian/copyright is in the machine-readable format" \
  grep -qx "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" "$src/debian/copyright"
check "debian/copyright: Files: * is Apache-2.0" sh -c "grep -A2 '^Files: \*' '$src/debian/copyright' | grep -qx 'License: Apache-2.0'"
check "debian/copyright has the standalone Apache-2.0 licence paragraph" \
  sh -c "grep -qx 'License: Apache-2.0' '$src/debian/copyright' && grep -q 'common-licenses/Apache-2.0' '$src/debian/copyright'"
check "no 'License: other' left" sh -c "! grep -q '^License: other' '$src/debian/copyright'"
echo "1..$n"
exit $failed
