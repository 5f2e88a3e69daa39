# SPDX-License-Identifier: Apache-2.0
# Encrypted per-user state: fs helpers, master key, record format, vault,
# store (fail-closed matrix, initialize), and the concurrency/crash tests.
STATE_UNIT_TESTS = tests/unit/test_fs tests/unit/test_key tests/unit/test_record tests/unit/test_vault \
	tests/unit/test_store tests/unit/test_store_counting tests/unit/test_store_stress tests/unit/test_state_root
check_PROGRAMS += $(STATE_UNIT_TESTS)
TESTS += $(STATE_UNIT_TESTS)
EXTRA_DIST += tests/unit/state_test_util.h

tests_unit_test_fs_SOURCES = tests/unit/test_fs.cc tests/unit/state_test_util.h
tests_unit_test_fs_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_fs_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_key_SOURCES = tests/unit/test_key.cc tests/unit/state_test_util.h
tests_unit_test_key_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_key_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_record_SOURCES = tests/unit/test_record.cc tests/unit/state_test_util.h
tests_unit_test_record_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_record_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_vault_SOURCES = tests/unit/test_vault.cc tests/unit/state_test_util.h
tests_unit_test_vault_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_vault_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.cc tests/unit/state_test_util.h
tests_unit_test_store_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_store_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_store_counting_SOURCES = tests/unit/test_store_counting.cc tests/unit/state_test_util.h
tests_unit_test_store_counting_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_store_counting_LDADD = $(TEST_UNIT_LIBS)

tests_unit_test_store_stress_SOURCES = tests/unit/test_store_stress.cc tests/unit/state_test_util.h
tests_unit_test_store_stress_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_store_stress_LDADD = $(TEST_UNIT_LIBS)

# Root-only cases (chown to another uid); a TAP skip plan when not root.
tests_unit_test_state_root_SOURCES = tests/unit/test_state_root.cc tests/unit/state_test_util.h
tests_unit_test_state_root_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_state_root_LDADD = $(TEST_UNIT_LIBS)

# The directory store's pieces (issue 14): the sealed record form, and the
# filter escape, budget, watchdog and LdapStore without a directory.
check_PROGRAMS += tests/unit/test_sealed_record tests/unit/test_ldap_pieces
TESTS += tests/unit/test_sealed_record tests/unit/test_ldap_pieces
tests_unit_test_sealed_record_SOURCES = tests/unit/test_sealed_record.cc tests/unit/state_test_util.h
tests_unit_test_sealed_record_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_sealed_record_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_ldap_pieces_SOURCES = tests/unit/test_ldap_pieces.cc tests/unit/state_test_util.h
tests_unit_test_ldap_pieces_CXXFLAGS = $(TEST_UNIT_CXXFLAGS) $(LDAP_CFLAGS)
tests_unit_test_ldap_pieces_LDADD = libtotpldap.la $(TEST_UNIT_LIBS) $(LDAP_LIBS)

# Trusted devices (issue 17): SSH_AUTH_INFO_0, digest, matching, expiry, eviction.
check_PROGRAMS += tests/unit/test_trusted_device
TESTS += tests/unit/test_trusted_device
tests_unit_test_trusted_device_SOURCES = tests/unit/test_trusted_device.cc tests/unit/state_test_util.h
tests_unit_test_trusted_device_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_trusted_device_LDADD = $(TEST_UNIT_LIBS)

# The import parsers (issue 16): google-authenticator's file, pam_oath's
# users file and the checked reading of either, with hostile inputs.
check_PROGRAMS += tests/unit/test_import
TESTS += tests/unit/test_import
tests_unit_test_import_SOURCES = tests/unit/test_import.cc
tests_unit_test_import_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_import_LDADD = $(TEST_UNIT_LIBS)

# The key ring and the master key rotation (issue 16, rekey).
check_PROGRAMS += tests/unit/test_key_ring
TESTS += tests/unit/test_key_ring
tests_unit_test_key_ring_SOURCES = tests/unit/test_key_ring.cc tests/unit/state_test_util.h
tests_unit_test_key_ring_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_key_ring_LDADD = $(TEST_UNIT_LIBS)

# Faults (issue 19): the clock set back (verdict and log line) and when
# a whole-file write runs while_flushing (before the fsyncs).
check_PROGRAMS += tests/unit/test_faults
TESTS += tests/unit/test_faults
tests_unit_test_faults_SOURCES = tests/unit/test_faults.cc tests/unit/state_test_util.h
tests_unit_test_faults_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_faults_LDADD = $(TEST_UNIT_LIBS)
