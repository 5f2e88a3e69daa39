# SPDX-License-Identifier: Apache-2.0
# benchmarks
include $(srcdir)/bench/state.mk

# pam_bench: pam_totp vs pam_google_authenticator vs pam_permit through PAM
# itself (scripts/bench.sh runs it). Built with everything so it cannot rot;
# never run by `make check`.
noinst_PROGRAMS += bench/pam_bench
bench_pam_bench_SOURCES = \
	bench/pam_bench.cc \
	bench/bench_util.h bench/bench_util.cc \
	bench/ga_fixture.h bench/ga_fixture.cc \
	bench/helper_caller.h bench/helper_caller.cc \
	bench/totp_fixture.h bench/totp_fixture.cc \
	bench/phase_costs.h bench/phase_costs.cc
bench_pam_bench_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
bench_pam_bench_LDADD = libtotpcore.la $(PAM_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)

# ldap_bench: the directory store (store = ldap) beside the files store,
# through PAM, against a private slapd (scripts/bench-ldap.sh runs it).
# The module's syslog calls are answered by the program itself
# (bench/ldap_syslog_capture.cc), so those symbols are exported.
noinst_PROGRAMS += bench/ldap_bench
bench_ldap_bench_SOURCES = \
	bench/ldap_bench.cc \
	bench/bench_util.h bench/bench_util.cc \
	bench/ldap_probe.h bench/ldap_probe.cc \
	bench/ldap_syslog_capture.h bench/ldap_syslog_capture.cc
bench_ldap_bench_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS) $(LDAP_CFLAGS)
bench_ldap_bench_LDFLAGS = -Wl,--export-dynamic-symbol=syslog -Wl,--export-dynamic-symbol=vsyslog \
	-Wl,--export-dynamic-symbol=__syslog_chk -Wl,--export-dynamic-symbol=__vsyslog_chk
bench_ldap_bench_LDADD = libtotpcore.la $(PAM_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS) $(LDAP_LIBS)

# cold_bench: the three process models of issue 18 (long-lived process,
# fresh process per login, ssh end to end) side by side, plus throughput,
# 100,000 users (--big) and load costs (scripts/bench-cold.sh runs it).
# cold_driver is the fresh process of model 2: C-style C++ with no
# exceptions or RTTI, linked --as-needed, so it has libcrypto and libpam
# like sshd and no libstdc++ of its own.
noinst_PROGRAMS += bench/cold_bench bench/cold_driver
bench_cold_bench_SOURCES = \
	bench/cold_bench.cc \
	bench/bench_util.h bench/bench_util.cc \
	bench/ga_fixture.h bench/ga_fixture.cc \
	bench/totp_fixture.h bench/totp_fixture.cc
bench_cold_bench_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
bench_cold_bench_LDADD = libtotpcore.la $(PAM_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)
bench_cold_driver_SOURCES = bench/cold_driver.cc
bench_cold_driver_CXXFLAGS = $(AM_CXXFLAGS) -fno-exceptions -fno-rtti $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
bench_cold_driver_LDFLAGS = -Wl,--as-needed
bench_cold_driver_LDADD = $(PAM_LIBS) $(CRYPTO_LIBS) -ldl
