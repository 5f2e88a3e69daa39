# Crypto core unit tests (base32, otp, uri, recovery, secure_bytes) and the
# oathtool cross-check.
check_PROGRAMS += tests/unit/otp_code
tests_unit_otp_code_SOURCES = tests/unit/otp_code.cc
tests_unit_otp_code_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_otp_code_LDADD = $(TEST_UNIT_LIBS)
