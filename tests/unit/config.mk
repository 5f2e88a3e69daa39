# Settings (core/config) and logging (core/log) unit tests.
check_PROGRAMS += tests/unit/test_config tests/unit/test_log
TESTS += tests/unit/test_config tests/unit/test_log
tests_unit_test_config_SOURCES = tests/unit/test_config.cc
tests_unit_test_config_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_config_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test_log.cc
tests_unit_test_log_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_log_LDADD = $(TEST_UNIT_LIBS)
