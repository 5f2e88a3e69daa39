// SPDX-License-Identifier: Apache-2.0
// See ldap_probe.h.
#include "bench/ldap_probe.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "bench/bench_util.h"

namespace bench {

namespace {

std::string text(int rc) { return std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")"; }

void check(int rc, const std::string& what) {
  if (rc != LDAP_SUCCESS) throw std::runtime_error("ldap probe: " + what + ": " + text(rc));
}

berval as_berval(const std::vector<unsigned char>& v) {
  berval b{};
  b.bv_len = static_cast<ber_len_t>(v.size());
  b.bv_val = const_cast<char*>(reinterpret_cast<const char*>(v.data()));
  return b;
}

}  // namespace

LDAP* ldap_probe_connect(const LdapTarget& t) {
  LDAP* ld = nullptr;
  check(ldap_initialize(&ld, t.uri.c_str()), "ldap_initialize " + t.uri);
  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  try {
    if (t.uri.rfind("ldap://", 0) == 0) {
      const int hard = LDAP_OPT_X_TLS_HARD;
      const int new_context = 0;
      ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard);
      if (!t.ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, t.ca_file.c_str());
      ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &new_context);  // the same options the store sets
      check(ldap_start_tls_s(ld, nullptr, nullptr), "StartTLS " + t.uri);
    }
    if (t.bind_dn.empty()) {
      berval none{0, const_cast<char*>("")};
      check(ldap_sasl_bind_s(ld, nullptr, "EXTERNAL", &none, nullptr, nullptr, nullptr), "SASL EXTERNAL bind");
    } else {
      berval cred{static_cast<ber_len_t>(t.password.size()), const_cast<char*>(t.password.data())};
      check(ldap_sasl_bind_s(ld, t.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr),
            "bind as " + t.bind_dn);
    }
  } catch (...) {
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    throw;
  }
  return ld;
}

void ldap_probe_close(LDAP* ld) {
  if (ld != nullptr) ldap_unbind_ext_s(ld, nullptr, nullptr);
}

std::int64_t ldap_probe_cold_connection(const LdapTarget& t) {
  const std::int64_t t0 = now_ns();
  ldap_probe_close(ldap_probe_connect(t));
  return now_ns() - t0;
}

std::vector<unsigned char> ldap_probe_read_value(const LdapTarget& t, const std::string& dn, const std::string& attribute) {
  LDAP* ld = ldap_probe_connect(t);
  char* attrs[] = {const_cast<char*>(attribute.c_str()), nullptr};
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr, nullptr, nullptr,
                             1, &res);
  std::vector<unsigned char> out;
  if (rc == LDAP_SUCCESS) {
    LDAPMessage* e = ldap_first_entry(ld, res);
    berval** vals = e != nullptr ? ldap_get_values_len(ld, e, attribute.c_str()) : nullptr;
    if (vals != nullptr && vals[0] != nullptr) {
      out.assign(vals[0]->bv_val, vals[0]->bv_val + vals[0]->bv_len);
    }
    if (vals != nullptr) ldap_value_free_len(vals);
  }
  ldap_msgfree(res);
  ldap_probe_close(ld);
  check(rc, "read " + dn);
  if (out.empty()) throw std::runtime_error("ldap probe: " + dn + " has no " + attribute);
  return out;
}

void ldap_probe_add_record(const LdapTarget& t, const std::string& dn, const std::string& uid,
                           const std::vector<unsigned char>& enrolment, const std::vector<unsigned char>& ledger) {
  LDAP* ld = ldap_probe_connect(t);
  (void)ldap_delete_ext_s(ld, dn.c_str(), nullptr, nullptr);  // a previous run's (noSuchObject otherwise)
  char oc[] = "pamTotpRecord";
  char* oc_vals[] = {oc, nullptr};
  char* uid_vals[] = {const_cast<char*>(uid.c_str()), nullptr};
  berval e = as_berval(enrolment), l = as_berval(ledger);
  berval* e_vals[] = {&e, nullptr};
  berval* l_vals[] = {&l, nullptr};
  LDAPMod m_oc{}, m_uid{}, m_e{}, m_l{};
  m_oc.mod_op = LDAP_MOD_ADD;
  m_oc.mod_type = const_cast<char*>("objectClass");
  m_oc.mod_values = oc_vals;
  m_uid.mod_op = LDAP_MOD_ADD;
  m_uid.mod_type = const_cast<char*>("uid");
  m_uid.mod_values = uid_vals;
  m_e.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
  m_e.mod_type = const_cast<char*>("pamTotpEnrolment");
  m_e.mod_bvalues = e_vals;
  m_l.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
  m_l.mod_type = const_cast<char*>("pamTotpLedger");
  m_l.mod_bvalues = l_vals;
  LDAPMod* mods[] = {&m_oc, &m_uid, &m_e, &m_l, nullptr};
  const int rc = ldap_add_ext_s(ld, dn.c_str(), mods, nullptr, nullptr);
  ldap_probe_close(ld);
  check(rc, "add " + dn);
}

LdapWarmProbe::LdapWarmProbe(const LdapTarget& t, std::string dn) : dn_(std::move(dn)) {
  value_ = ldap_probe_read_value(t, dn_, "pamTotpLedger");
  ld_ = ldap_probe_connect(t);
}

LdapWarmProbe::~LdapWarmProbe() { ldap_probe_close(ld_); }

std::int64_t LdapWarmProbe::search() {
  char* attrs[] = {const_cast<char*>("pamTotpEnrolment"), const_cast<char*>("pamTotpLedger"), nullptr};
  LDAPMessage* res = nullptr;
  const std::int64_t t0 = now_ns();
  const int rc = ldap_search_ext_s(ld_, dn_.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr, nullptr,
                                   nullptr, 2, &res);
  const bool found = rc == LDAP_SUCCESS && ldap_first_entry(ld_, res) != nullptr;
  ldap_msgfree(res);
  const std::int64_t dt = now_ns() - t0;
  check(rc, "search " + dn_);
  if (!found) throw std::runtime_error("ldap probe: search " + dn_ + ": no entry");
  return dt;
}

std::int64_t LdapWarmProbe::cas() {
  std::vector<unsigned char> next(value_.size());
  if (RAND_bytes(next.data(), static_cast<int>(next.size())) != 1) throw std::runtime_error("RAND_bytes");
  berval old_v = as_berval(value_), new_v = as_berval(next);
  berval* old_vals[] = {&old_v, nullptr};
  berval* new_vals[] = {&new_v, nullptr};
  LDAPMod del{}, add{};
  del.mod_op = LDAP_MOD_DELETE | LDAP_MOD_BVALUES;
  del.mod_type = const_cast<char*>("pamTotpLedger");
  del.mod_bvalues = old_vals;
  add.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
  add.mod_type = const_cast<char*>("pamTotpLedger");
  add.mod_bvalues = new_vals;
  LDAPMod* mods[] = {&del, &add, nullptr};
  const std::int64_t t0 = now_ns();
  const int rc = ldap_modify_ext_s(ld_, dn_.c_str(), mods, nullptr, nullptr);
  const std::int64_t dt = now_ns() - t0;
  check(rc, "CAS modify " + dn_);
  value_ = std::move(next);
  return dt;
}

}  // namespace bench
