// SPDX-License-Identifier: Apache-2.0
// ldap_bench's floors: the directory operations a login makes, timed with
// bare libldap (no module, no PAM, no pam_totp code), so that a directory
// login's figure can be read against what the directory itself costs.
//   - a cold connection: ldap_initialize .. (StartTLS) .. bind .. unbind,
//     what every directory login pays today (a new connection per login);
//   - on one warm connection kept open: a base search of a record's two
//     attributes (a login's read) and a compare-and-swap modify of the
//     ledger value (delete the exact old value, add a new one of the same
//     size: a login's write, with slapd's durable commit).
#pragma once

#include <ldap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct LdapTarget {
  std::string uri;       // ldapi://... (SASL EXTERNAL) or ldap://... (StartTLS + simple bind)
  std::string bind_dn;   // empty: SASL EXTERNAL
  std::string password;
  std::string ca_file;   // for StartTLS
};

// A connected, bound handle; throws std::runtime_error saying which step failed.
LDAP* ldap_probe_connect(const LdapTarget& t);
void ldap_probe_close(LDAP* ld);

// Nanoseconds of connect + (StartTLS) + bind + unbind.
std::int64_t ldap_probe_cold_connection(const LdapTarget& t);

class LdapWarmProbe {
 public:
  // `dn`: an entry whose pamTotpLedger the probe may overwrite (its own).
  LdapWarmProbe(const LdapTarget& t, std::string dn);
  ~LdapWarmProbe();
  LdapWarmProbe(const LdapWarmProbe&) = delete;
  LdapWarmProbe& operator=(const LdapWarmProbe&) = delete;

  // Base search of pamTotpEnrolment + pamTotpLedger; nanoseconds.
  std::int64_t search();
  // One CAS of pamTotpLedger (old value -> fresh random one); nanoseconds.
  std::int64_t cas();

 private:
  LDAP* ld_ = nullptr;
  std::string dn_;
  std::vector<unsigned char> value_;  // the ledger value the directory holds
};

// Reads `attribute` of `dn` (first value) over a fresh connection.
std::vector<unsigned char> ldap_probe_read_value(const LdapTarget& t, const std::string& dn, const std::string& attribute);
// Adds `dn` as a pamTotpRecord with the given values (replacing it if present).
void ldap_probe_add_record(const LdapTarget& t, const std::string& dn, const std::string& uid,
                           const std::vector<unsigned char>& enrolment, const std::vector<unsigned char>& ledger);

}  // namespace bench
