# SPDX-License-Identifier: Apache-2.0
# pam_totp.so: the PAM module. Only pam_sm_* are exported: the sources build
# with -fvisibility=hidden, entry.cc marks the two entry points visible, and
# a version script makes everything else local (template instantiations
# from the C++ headers keep default visibility otherwise; libtool's
# -export-symbols-regex alone does not hide them for C++). -z defs: an
# unresolved symbol fails the link here, not the dlopen at login time
# (not with sanitizers: libtool leaves their runtime to the host program).
#
# Built as a "program" that the compiler driver links with -shared, not as
# a libtool library: libtool links C++ libraries with -nostdlib and its own
# -lstdc++, which defeats -static-libstdc++. The C++ runtime is linked in
# (only the parts used, --gc-sections, and hidden, --exclude-libs): sshd
# starts a process per login, which loads the module afresh, and
# libstdc++.so was most of that cost (issue 18: dlopen in a process that
# already has libcrypto and libpam, 1.1 ms -> 0.2 ms).
pammod_PROGRAMS += pam_totp.so
pam_totp_so_SOURCES = \
	pam_module/entry.cc \
	pam_module/authenticate.h pam_module/authenticate.cc \
	pam_module/conversation.h pam_module/conversation.cc \
	pam_module/answer.h pam_module/answer.cc \
	pam_module/user_name.h pam_module/user_name.cc \
	pam_module/helper_client.h pam_module/helper_client.cc
pam_totp_so_CXXFLAGS = $(AM_CXXFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
pam_totp_so_LDFLAGS = $(AM_LDFLAGS) -Wc,-shared -Wl,--version-script=$(srcdir)/pam_module/pam_totp.map
if !SANITIZERS
# -z nodelete: pam_end's dlclose would unmap it (about 100 us per login in
# a fresh process) only for the next login to map it again. --as-needed:
# no library the module does not use (libm came along with the runtime).
pam_totp_so_LDFLAGS += -Wl,-z,defs -Wc,-static-libstdc++ -Wc,-static-libgcc -Wl,--exclude-libs,ALL \
	-Wl,--gc-sections -Wl,-z,nodelete -Wl,--as-needed
endif
pam_totp_so_LDADD = libtotpwire.la libtotpcore.la $(PAM_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS)
EXTRA_pam_totp_so_DEPENDENCIES = $(srcdir)/pam_module/pam_totp.map
EXTRA_DIST += pam_module/pam_totp.map
