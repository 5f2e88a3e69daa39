#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every source file of the project carries the SPDX identifier of its
# licence (Apache-2.0, see LICENSE) in its first lines.
#   scripts/spdx.sh --check   list the files without it (exit 1 if any)
#   scripts/spdx.sh --add     add it where it is missing (after a #! line)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:---check}
tag="SPDX-License-Identifier: Apache-2.0"

files() {
  cd "$src" || exit 1
  find core pam_module setup_tool tests bench fuzz scripts ldap -type f \
    \( -name '*.cc' -o -name '*.h' -o -name '*.sh' -o -name '*.t' -o -name '*.py' -o -name '*.mk' \
       -o -name '*.exp' -o -name '*.schema' -o -name '*.conf' \) -not -path 'fuzz/corpus/*' 2>/dev/null
  echo configure.ac; echo Makefile.am; echo .ci/run
}

missing=0
for f in $(files); do
  [ -f "$src/$f" ] || continue
  head -n 3 "$src/$f" | grep -q "$tag" && continue
  if [ "$mode" = --check ]; then
    echo "no SPDX identifier: $f"; missing=$((missing + 1)); continue
  fi
  case $f in
    *.cc|*.h) line="// $tag" ;;
    *.ldif) line="# $tag" ;;
    *) line="# $tag" ;;
  esac
  tmpf="$src/$f.spdx.$$"
  if head -n 1 "$src/$f" | grep -q '^#!'; then
    { head -n 1 "$src/$f"; echo "$line"; tail -n +2 "$src/$f"; } > "$tmpf"
  else
    { echo "$line"; cat "$src/$f"; } > "$tmpf"
  fi
  chmod --reference="$src/$f" "$tmpf" && mv "$tmpf" "$src/$f"
done
[ "$mode" = --check ] && [ "$missing" -gt 0 ] && { echo "$missing files without '$tag'"; exit 1; }
exit 0
