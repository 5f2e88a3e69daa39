# SPDX-License-Identifier: Apache-2.0
# Settings (core/config) and logging (core/log) unit tests.
check_PROGRAMS += tests/unit/test_config tests/unit/test_log
TESTS += tests/unit/test_config tests/unit/test_log
tests_unit_test_config_SOURCES = tests/unit/test_config.cc
tests_unit_test_config_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_config_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test_log.cc
tests_unit_test_log_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_log_LDADD = $(TEST_UNIT_LIBS)
# The store setting and the ldap_* settings (issue 14).
check_PROGRAMS += tests/unit/test_config_store
TESTS += tests/unit/test_config_store
tests_unit_test_config_store_SOURCES = tests/unit/test_config_store.cc tests/unit/state_test_util.h
tests_unit_test_config_store_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_config_store_LDADD = $(TEST_UNIT_LIBS)
check_PROGRAMS += tests/unit/test_boot_rule
TESTS += tests/unit/test_boot_rule
tests_unit_test_boot_rule_SOURCES = tests/unit/test_boot_rule.cc
tests_unit_test_boot_rule_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_boot_rule_LDADD = $(TEST_UNIT_LIBS)
# The audit trail's line format, loginuid parser and actor (core/audit, issue 16).
check_PROGRAMS += tests/unit/test_audit
TESTS += tests/unit/test_audit
tests_unit_test_audit_SOURCES = tests/unit/test_audit.cc
tests_unit_test_audit_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_audit_LDADD = $(TEST_UNIT_LIBS)
# The event hook's environment and command checks (core/notify, issue 17).
check_PROGRAMS += tests/unit/test_notify
TESTS += tests/unit/test_notify
tests_unit_test_notify_SOURCES = tests/unit/test_notify.cc
tests_unit_test_notify_CXXFLAGS = $(TEST_UNIT_CXXFLAGS)
tests_unit_test_notify_LDADD = $(TEST_UNIT_LIBS)
