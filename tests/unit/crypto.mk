# SPDX-License-Identifier: Apache-2.0
# Crypto core unit tests (secure_bytes, base32, otp, uri, recovery) and the
# oathtool cross-check of our TOTP codes.
check_PROGRAMS += tests/unit/test_secure_bytes tests/unit/test_base32 tests/unit/test_otp \
	tests/unit/test_uri tests/unit/test_recovery tests/unit/otp_code
TESTS += tests/unit/test_secure_bytes tests/unit/test_base32 tests/unit/test_otp \
	tests/unit/test_uri tests/unit/test_recovery tests/unit/oathtool_crosscheck.sh
dist_check_SCRIPTS += tests/unit/oathtool_crosscheck.sh

tests_unit_test_secure_bytes_SOURCES = tests/unit/test_secure_bytes.cc
tests_unit_test_secure_bytes_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_secure_bytes_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_base32_SOURCES = tests/unit/test_base32.cc
tests_unit_test_base32_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_base32_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_otp_SOURCES = tests/unit/test_otp.cc
tests_unit_test_otp_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_otp_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_uri_SOURCES = tests/unit/test_uri.cc
tests_unit_test_uri_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_uri_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_recovery_SOURCES = tests/unit/test_recovery.cc
tests_unit_test_recovery_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_recovery_LDADD = $(TEST_UNIT_LIBS)

# Test-only CLI: prints our TOTP code (secret on stdin) for the cross-check.
tests_unit_otp_code_SOURCES = tests/unit/otp_code.cc
tests_unit_otp_code_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_otp_code_LDADD = $(TEST_UNIT_LIBS)
