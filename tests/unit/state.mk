# Encrypted per-user state: fs helpers, master key, record format, vault,
# store (fail-closed matrix, initialize), and the concurrency/crash tests.
STATE_UNIT_TESTS = tests/unit/test_fs
check_PROGRAMS += $(STATE_UNIT_TESTS)
TESTS += $(STATE_UNIT_TESTS)
EXTRA_DIST += tests/unit/state_test_util.h

tests_unit_test_fs_SOURCES = tests/unit/test_fs.cc tests/unit/state_test_util.h
tests_unit_test_fs_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_fs_LDADD = $(TEST_UNIT_LIBS)
