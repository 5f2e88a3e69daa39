# SPDX-License-Identifier: Apache-2.0
# Tests: every area includes its own fragment here.
# Unit test programs link libtotpcore and cmocka.
TEST_UNIT_CXXFLAGS = $(AM_CXXFLAGS) $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS)
TEST_UNIT_LIBS = libtotpcore.la $(CMOCKA_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)

include $(srcdir)/tests/unit/crypto.mk
include $(srcdir)/tests/unit/config.mk
include $(srcdir)/tests/unit/state.mk
include $(srcdir)/tests/pam/local.mk
include $(srcdir)/tests/tool/local.mk
