# SPDX-License-Identifier: Apache-2.0
# The fleet store's directory files (issue 14): the schema in slapd.conf and
# cn=config form and the example ACL in both forms. They are data for the
# administrator's slapd, not read by pam_totp itself: installed as they are
# under $(datadir)/pam_totp/ldap and distributed with the sources.
ldapschemadir = $(datadir)/pam_totp/ldap
dist_ldapschema_DATA = \
	ldap/pam_totp.schema ldap/pam_totp.ldif \
	ldap/pam_totp-acl.conf ldap/pam_totp-acl.ldif
