# SPDX-License-Identifier: Apache-2.0
# tests/pam: the module driven through libpam itself.
# policy unit test (pure decisions)
check_PROGRAMS += tests/pam/test_policy
TESTS += tests/pam/test_policy
tests_pam_test_policy_SOURCES = tests/pam/test_policy.cc
tests_pam_test_policy_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_pam_test_policy_LDADD = $(TEST_UNIT_LIBS)

# The driver: pam_start_confdir + pam_authenticate with scripted answers.
# fake_host.cc's time()/clock_gettime()/syslog() are exported so that the
# dlopen'ed module binds to them (test clock and syslog capture).
check_PROGRAMS += tests/pam/pam_driver
tests_pam_pam_driver_SOURCES = tests/pam/pam_driver.cc tests/pam/fake_host.cc
tests_pam_pam_driver_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS)
tests_pam_pam_driver_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_pam_pam_driver_LDADD = $(PAM_LIBS)

# Enrols test users through the core APIs.
check_PROGRAMS += tests/pam/make_user_record
tests_pam_make_user_record_SOURCES = tests/pam/make_user_record.cc
tests_pam_make_user_record_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS)
tests_pam_make_user_record_LDADD = libtotpcore.la $(CRYPTO_LIBS) $(ARGON2_LIBS)

# A companion module that checks PAM_AUTHTOK (stacking tests).
check_LTLIBRARIES += tests/pam/pam_check_authtok.la
tests_pam_pam_check_authtok_la_SOURCES = tests/pam/pam_check_authtok.cc
tests_pam_pam_check_authtok_la_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS)
tests_pam_pam_check_authtok_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -rpath /nowhere
tests_pam_pam_check_authtok_la_LIBADD = $(PAM_LIBS)

# A name service that maps NAME@corp and CORP\NAME to local accounts
# (name_alias.sh). Not instrumented even in a sanitizer build: glibc may
# dlopen it into any program that runs in the test's namespace.
check_LTLIBRARIES += tests/pam/libnss_totpalias.la
tests_pam_libnss_totpalias_la_SOURCES = tests/pam/nss_totpalias.cc
tests_pam_libnss_totpalias_la_CXXFLAGS = $(AM_CXXFLAGS) -fno-sanitize=all
tests_pam_libnss_totpalias_la_LDFLAGS = $(AM_LDFLAGS) -fno-sanitize=all -module -avoid-version -shared -rpath /nowhere

PAM_TESTS = \
	tests/pam/login_totp.sh \
	tests/pam/replay_race.sh \
	tests/pam/lockout.sh \
	tests/pam/recovery.sh \
	tests/pam/authenticators.sh \
	tests/pam/state_and_settings.sh \
	tests/pam/stacking.sh \
	tests/pam/hostile_answers.sh \
	tests/pam/module_hygiene.sh \
	tests/pam/name_alias.sh \
	tests/pam/boot_rule.sh \
	tests/pam/notify.sh
TESTS += $(PAM_TESTS)
dist_check_SCRIPTS += $(PAM_TESTS)
EXTRA_DIST += tests/pam/lib.sh
# Run once, on the normal build, by scripts/test-all.sh (they add
# system accounts or need fail2ban): the shipped fail2ban filter on lines the
# module wrote, and the exemption and pam_u2f stacks.
EXTRA_DIST += tests/pam/fail2ban.t tests/pam/exemptions.t tests/pam/exemptions
