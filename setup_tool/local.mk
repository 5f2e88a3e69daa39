# SPDX-License-Identifier: Apache-2.0
# totp-setup (the tool, unprivileged) and totp-helper (setuid root when
# installed by the Debian package or a test; `make install` does not set
# the bit). Their shared pieces live in a small convenience library.
#
# libtotpwire: the helper's line protocol (JSON, strict parsers, our own
# writer), shared by the tool, the helper and pam_totp.so (which asks the
# helper when it does not run as root).
noinst_LTLIBRARIES += libtotpwire.la
libtotpwire_la_SOURCES = \
	setup_tool/protocol.h setup_tool/protocol.cc \
	setup_tool/request_parser.cc setup_tool/reply_parser.cc \
	setup_tool/json_writer.cc setup_tool/json_text.h setup_tool/json_text.cc
libtotpwire_la_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS)
noinst_LTLIBRARIES += libtotpsetup.la
libtotpsetup_la_SOURCES = \
	setup_tool/cli.h setup_tool/cli.cc \
	setup_tool/qr.h setup_tool/qr.cc \
	setup_tool/terminal.h setup_tool/terminal.cc \
	setup_tool/lockout.h setup_tool/lockout.cc \
	setup_tool/signal_block.h \
	setup_tool/account_service.h setup_tool/account_service.cc setup_tool/account_login.cc \
	setup_tool/account_devices.cc setup_tool/devices_command.cc \
	setup_tool/helper_login.h setup_tool/helper_login.cc \
	setup_tool/output.h setup_tool/output.cc \
	setup_tool/status_report.h setup_tool/status_report.cc \
	setup_tool/backend.h setup_tool/backend.cc \
	setup_tool/commands.h setup_tool/commands_common.h setup_tool/commands_common.cc \
	setup_tool/commands.cc setup_tool/migrate_command.cc setup_tool/wizard.cc \
	setup_tool/list_command.cc setup_tool/import_command.cc setup_tool/rekey_command.cc setup_tool/revoke_command.cc \
	setup_tool/session_end.h setup_tool/session_end.cc
libtotpsetup_la_CXXFLAGS = $(AM_CXXFLAGS) $(QRENCODE_CFLAGS) $(CRYPTO_CFLAGS)
SETUP_TOOL_LIBS = libtotpsetup.la libtotpwire.la libtotpcore.la $(QRENCODE_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)

bin_PROGRAMS += totp-setup
totp_setup_SOURCES = setup_tool/main.cc
totp_setup_CXXFLAGS = $(AM_CXXFLAGS)
totp_setup_LDADD = $(SETUP_TOOL_LIBS)

# $(libexecdir)/pam_totp/totp-helper: the path is compiled into the tool.
pkglibexec_PROGRAMS = totp-helper
totp_helper_SOURCES = setup_tool/helper_main.cc
totp_helper_CXXFLAGS = $(AM_CXXFLAGS)
totp_helper_LDADD = $(SETUP_TOOL_LIBS)
