# SPDX-License-Identifier: Apache-2.0
# State store benchmark (load / locked ledger_only update / locked full
# rewrite, median and p90): `make bench/state_bench && bench/state_bench [RUNS] [DIR]`.
noinst_PROGRAMS += bench/state_bench
bench_state_bench_SOURCES = bench/state_bench.cc
bench_state_bench_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS)
bench_state_bench_LDADD = libtotpcore.la $(CRYPTO_LIBS) $(ARGON2_LIBS)

# 100,000 records for scripts/bench-rekey.sh (not run by make check or CI):
# `make bench/rekey_fill && bench/rekey_fill KEYFILE STATEDIR N [PROCS]`.
noinst_PROGRAMS += bench/rekey_fill
bench_rekey_fill_SOURCES = bench/rekey_fill.cc
bench_rekey_fill_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS)
bench_rekey_fill_LDADD = libtotpcore.la $(CRYPTO_LIBS) $(ARGON2_LIBS)
