# SPDX-License-Identifier: Apache-2.0
# totp-setup tests run by make check (as root; they skip otherwise): QR
# decoding, the wizard in a real terminal, oathtool agreement, commands and
# JSON. tests/tool/selfenrol.t (run after install by scripts/test-all.sh)
# covers unprivileged users and the setuid helper.
TESTS += tests/tool/qr_zbar.sh tests/tool/wizard.sh tests/tool/oathtool_params.sh tests/tool/commands_json.sh
dist_check_SCRIPTS += tests/tool/qr_zbar.sh tests/tool/wizard.sh tests/tool/oathtool_params.sh \
	tests/tool/commands_json.sh
EXTRA_DIST += tests/tool/lib.sh tests/tool/qr_text_to_pgm.py tests/tool/selfenrol.t tests/tool/pamtester.t \
	tests/tool/helper_attack.t
EXTRA_DIST += tests/tool/import.t
EXTRA_DIST += tests/tool/list.t tests/tool/audit.t
EXTRA_DIST += tests/tool/notify.t

check_PROGRAMS += tests/tool/test_setup_units
TESTS += tests/tool/test_setup_units
tests_tool_test_setup_units_SOURCES = tests/tool/test_setup_units.cc
tests_tool_test_setup_units_CXXFLAGS = $(TEST_UNIT_CXXFLAGS) $(QRENCODE_CFLAGS)
tests_tool_test_setup_units_LDADD = libtotpsetup.la libtotpwire.la $(TEST_UNIT_LIBS) $(QRENCODE_LIBS)
