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
	core/fs.h core/fs.cc \
	core/key.h core/key.cc \
	core/record.h core/record.cc \
	core/vault.h core/vault.cc \
	core/byte_io.h \
	core/store.h core/store.cc core/store_internal.h core/store_update.cc \
	core/policy.h core/policy.cc \
	core/login_decision.h core/login_decision.cc
libtotpcore_la_CXXFLAGS = $(AM_CXXFLAGS) $(CRYPTO_CFLAGS) $(ARGON2_CFLAGS)
libtotpcore_la_LIBADD = $(CRYPTO_LIBS) $(ARGON2_LIBS)
