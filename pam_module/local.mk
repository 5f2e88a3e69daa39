# pam_totp.so: the PAM module. Only pam_sm_* are exported: the sources build
# with -fvisibility=hidden, entry.cc marks the two entry points visible, and
# a version script makes everything else local (template instantiations
# from the C++ headers keep default visibility otherwise; libtool's
# -export-symbols-regex alone does not hide them for C++). -z defs: an
# unresolved symbol fails the link here, not the dlopen at login time
# (not with sanitizers: libtool leaves their runtime to the host program).
pammod_LTLIBRARIES += pam_totp.la
pam_totp_la_SOURCES = \
	pam_module/entry.cc \
	pam_module/authenticate.h pam_module/authenticate.cc \
	pam_module/conversation.h pam_module/conversation.cc \
	pam_module/answer.h pam_module/answer.cc \
	pam_module/user_name.h pam_module/user_name.cc \
	pam_module/helper_client.h pam_module/helper_client.cc
pam_totp_la_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
pam_totp_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -export-symbols-regex '^pam_sm_' \
	-Wl,--version-script=$(srcdir)/pam_module/pam_totp.map
if !SANITIZERS
pam_totp_la_LDFLAGS += -Wl,-z,defs
endif
pam_totp_la_LIBADD = libtotpwire.la libtotpcore.la $(PAM_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)
EXTRA_pam_totp_la_DEPENDENCIES = $(srcdir)/pam_module/pam_totp.map
EXTRA_DIST += pam_module/pam_totp.map
