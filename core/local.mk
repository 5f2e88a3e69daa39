# SPDX-License-Identifier: Apache-2.0
# libtotpcore: everything the module and the tool share (not installed).
noinst_LTLIBRARIES += libtotpcore.la
libtotpcore_la_SOURCES = \
	core/result.h core/result.cc \
	core/secure_bytes.h core/secure_bytes.cc \
	core/base32.h core/base32.cc \
	core/otp.h core/otp.cc \
	core/uri.h core/uri.cc \
	core/recovery.h core/recovery.cc \
	core/config.h core/config.cc \
	core/log.h core/log.cc \
	core/audit.h core/audit.cc \
	core/fs.h core/fs.cc \
	core/key.h core/key.cc \
	core/record.h core/record.cc \
	core/vault.h core/vault.cc \
	core/byte_io.h \
	core/record_store.h core/store_factory.h core/store_factory.cc \
	core/store.h core/store.cc core/store_internal.h core/store_update.cc core/store_users.cc \
	core/sealed_record.h \
	core/ldap_connection.h core/ldap_plugin.cc \
	core/ldap_store.h core/ldap_store.cc \
	core/migrate.h core/migrate.cc \
	core/rekey.h core/rekey.cc \
	core/policy.h core/policy.cc \
	core/login_decision.h core/login_decision.cc \
	core/notify.h core/notify.cc core/notify_relay.h core/notify_relay.cc \
	core/trusted_device.h core/trusted_device.cc \
	core/remembered_login.h core/remembered_login.cc \
	core/boot_rule.h core/boot_rule.cc \
	core/import_common.h core/import_text.h core/import_text.cc \
	core/import_file.h core/import_file.cc \
	core/import_google.h core/import_google.cc \
	core/import_oath.h core/import_oath.cc
libtotpcore_la_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS) $(ARGON2_CFLAGS)
libtotpcore_la_LIBADD = $(CRYPTO_LIBS) $(ARGON2_LIBS)

# The directory connection (store = ldap): the only code that uses libldap,
# a plugin that the module, the tool and the helper load only when the
# settings ask for the directory (core/ldap_connection.h).
pkglib_LTLIBRARIES += ldap_connection.la
ldap_connection_la_SOURCES = \
	core/ldap_connection.h core/ldap_connection.cc \
	core/ldap_watchdog.h core/ldap_watchdog.cc \
	core/result.h core/result.cc \
	core/secure_bytes.h core/secure_bytes.cc
ldap_connection_la_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS) $(LDAP_CFLAGS)
ldap_connection_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined
ldap_connection_la_LIBADD = $(LDAP_LIBS) $(CRYPTO_LIBS) -lpthread
# For programs that link the implementation in (the unit tests).
noinst_LTLIBRARIES += libtotpldap.la
libtotpldap_la_SOURCES = core/ldap_connection.cc core/ldap_watchdog.cc
libtotpldap_la_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS) $(LDAP_CFLAGS)
libtotpldap_la_LIBADD = $(LDAP_LIBS) -lpthread
