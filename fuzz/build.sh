# SPDX-License-Identifier: Apache-2.0
# Shell functions that build the libFuzzer targets, shared by fuzz/fuzzers.t
# (CI's short run) and scripts/fuzz.sh (the long run), so that the build is
# written once. Source it with SRC_DIR (and optionally FUZZ_OPT, CLANGXX)
# set; then:
#
#   fuzz_find_cxx DIR        sets fuzz_cxx to CLANGXX or the newest clang++
#                            whose libFuzzer links (DIR: scratch space);
#                            returns 1 (probe log in DIR/probe.log) if none
#   fuzz_build_objects DIR T...
#                            compiles core/*.cc and the extra sources that the
#                            targets T (fuzz/fuzz_NAME.cc paths) name, each
#                            once, two compilers at a time, into DIR/obj;
#                            returns 1 and lists the failures in DIR/obj.failed
#   fuzz_link DIR T          links one target as DIR/fuzz_NAME (its log in
#                            DIR/fuzz_NAME.build.log); returns 1 on failure
#
# A target names the non-core sources it needs (setup_tool/, pam_module/;
# never a file with a main()) in a comment line of its own:
#   // fuzz-sources: setup_tool/protocol.cc setup_tool/request_parser.cc
# core is linked as a static archive, so a target gets only the core objects
# it uses.
#
# Note: clang 14 cannot compile libstdc++ 12's range adaptors (std::views::*,
# std::ranges::subrange: LLVM bug 44178, fixed in clang 16) and no flag works
# around it; the newest clang++ installed is used, so core should avoid them.

: "${SRC_DIR:?SRC_DIR must name the source tree}"

fuzz_cxx=""
# ldap: core/ldap_connection.cc, the directory plugin's source, is in core/ too.
# -fno-sanitize-recover: a UBSan report must stop the run, not scroll by.
fuzz_san="address,undefined -fno-sanitize-recover=undefined"
fuzz_pkg_cflags=$(pkg-config --cflags libcrypto libargon2 ldap 2>/dev/null || true)
fuzz_pkg_libs="$(pkg-config --libs libcrypto libargon2 ldap 2>/dev/null || echo "-lcrypto -largon2 -lldap -llber") -lpthread"

# The same macros the autotools build passes (AM_CPPFLAGS), with the usual
# /usr values, so that every source compiles exactly as in the product.
# Printed for eval: single-quoted, so that the macros keep their quotes.
# FUZZ_OPT: -O1 (the default) for long runs; CI's short run takes -O0,
# which compiles in about half the time (the JSON library's templates) for
# fewer executions per second. Line tables only: a report's stack still
# names file and line, and the compiler writes less.
fuzz_flags() {
  echo "-std=c++20 -gline-tables-only ${FUZZ_OPT:--O1} '-I$SRC_DIR' $fuzz_pkg_cflags" \
    "'-DSYSCONFDIR=\"/etc\"' '-DLIBEXECDIR=\"/usr/libexec\"' '-DLOCALSTATEDIR=\"/var\"'" \
    "'-DPACKAGE_VERSION_STRING=\"fuzz\"' '-DPKGLIBDIR=\"/usr/lib/pam_totp\"'"
}

fuzz_find_cxx() {
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$1/probe.cc"
  for c in ${CLANGXX:-} clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++ clang++-14; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -std=c++20 -fsanitize=fuzzer,address,undefined "$1/probe.cc" -o "$1/probe" >"$1/probe.log" 2>&1; then
      fuzz_cxx=$c
      return 0
    fi
  done
  return 1
}

# The extra sources a target asks for (see above), as paths under SRC_DIR.
fuzz_extra_sources() {
  sed -n 's|^// fuzz-sources:||p' "$1" | tr ' ' '\n' | grep -v '^$' || true
}

fuzz_build_objects() {
  _dir=$1
  shift
  mkdir -p "$_dir/obj"
  rm -f "$_dir/obj.failed" "$_dir/libcore.a"
  _extra=$(for _t in "$@"; do fuzz_extra_sources "$_t"; done | sort -u)
  _n=0
  # shellcheck disable=SC2046 # word splitting of the flags is meant
  for _src in "$SRC_DIR"/core/*.cc $(for _e in $_extra; do echo "$SRC_DIR/$_e"; done); do
    _obj="$_dir/obj/$(echo "${_src#"$SRC_DIR"/}" | sed 's|/|_|g; s|\.cc$|.o|')"
    # Two compilers at a time: the machine has two cores.
    (eval "\"\$fuzz_cxx\" $(fuzz_flags) -fsanitize=fuzzer-no-link,$fuzz_san -c \"\$_src\" -o \"\$_obj\"" \
      >"$_obj.log" 2>&1 || echo "$_src" >>"$_dir/obj.failed") &
    _n=$((_n + 1))
    [ $((_n % 2)) = 0 ] && wait
  done
  wait
  [ -s "$_dir/obj.failed" ] && return 1
  ar rcs "$_dir/libcore.a" "$_dir"/obj/core_*.o
}

fuzz_link() {
  _dir=$1
  _t=$2
  _name=$(basename "$_t" .cc)
  _objs=""
  for _e in $(fuzz_extra_sources "$_t"); do
    _objs="$_objs $_dir/obj/$(echo "$_e" | sed 's|/|_|g; s|\.cc$|.o|')"
  done
  eval "\"\$fuzz_cxx\" $(fuzz_flags) -fsanitize=fuzzer,$fuzz_san \"\$_t\" $_objs \"\$_dir/libcore.a\" \$fuzz_pkg_libs -o \"\$_dir/\$_name\"" \
    >"$_dir/$_name.build.log" 2>&1
}
