# SPDX-License-Identifier: Apache-2.0
# Fuzz targets are built (fuzz/build.sh) and run by fuzz/fuzzers.t and
# scripts/fuzz.sh (with clang's libFuzzer), not by make; here they are only
# shipped in the tarball. Every fuzz/fuzz_NAME.cc is picked up, with its
# seed corpus under fuzz/corpus/.
EXTRA_DIST += fuzz/fuzzers.t fuzz/build.sh fuzz/corpus \
	$(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/fuzz/fuzz_*.cc $(srcdir)/fuzz/gen_*.cc $(srcdir)/fuzz/*.h))
