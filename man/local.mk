# Man pages, and the test that they render cleanly and document every
# setting the config parser knows (tests/man/check_man.sh).
dist_man_MANS += man/pam_totp.8 man/totp-setup.1 man/pam_totp.conf.5

check_PROGRAMS += tests/man/list_settings
tests_man_list_settings_SOURCES = tests/man/list_settings.cc
tests_man_list_settings_CXXFLAGS = $(AM_CXXFLAGS)
tests_man_list_settings_LDADD = libtotpcore.la

TESTS += tests/man/check_man.sh
dist_check_SCRIPTS += tests/man/check_man.sh
