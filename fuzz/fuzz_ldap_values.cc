// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the values of the directory store (core/ldap_store.h,
// core/sealed_record.h) as they arrive from LDAP, without a server: a fake
// LdapConnection, registered as the built-in one, answers LdapStore's reads
// and listings with what the input says (format: fuzz/ldap_fuzz_input.h).
// The directory is not trusted more than a file: an administrator, a
// replication accident or a compromised peer can put anything there.
// Exercised: LdapStore::load (the entry's uid check, one enrolment and one
// ledger value, open_sealed_record, the marker for "not enrolled") and
// LdapStore::users (the listed uids), and open_sealed_record directly on
// every enrolment/ledger pair. Checked beyond "no crash":
//   - a record is loaded only from an entry read with success whose uids
//     include the exact name and that has exactly one value of each
//     attribute; it validates, and sealing it again (seal_record) and
//     opening that gives the same enrolment and ledger bytes and seq;
//   - "not enrolled" only when the read said noSuchObject and the marker
//     entry is visible;
//   - users() are valid user names, sorted, distinct, each one listed;
//   - error messages are one line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/ldap_connection.h"
#include "core/ldap_store.h"
#include "core/record.h"
#include "core/sealed_record.h"
#include "core/store.h"
#include "fuzz/ldap_fuzz_input.h"
#include "fuzz/record_fuzz_key.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

using Value = std::vector<std::uint8_t>;

// What the fake directory holds for this input.
struct Directory {
  int read_rc = 0;
  bool marker_visible = false;
  std::vector<Value> uids, enrolments, ledgers;
  std::vector<std::string> listed;
};
Directory g_dir;

class FakeConnection final : public totp::LdapConnection {
 public:
  totp::LdapBudget& budget() noexcept override { return budget_; }
  std::string server() const override { return "ldapi:///fuzz"; }
  bool alive() const override { return true; }
  totp::Result<int> read(const std::string& dn, const std::vector<std::string>& attributes,
                         totp::LdapEntry& out) override {
    out = totp::LdapEntry{};
    if (dn.starts_with("uid=.pam_totp,")) {
      out.found = g_dir.marker_visible;
      if (g_dir.marker_visible) out.attributes.push_back({"uid", {Value{'.', 'p', 'a', 'm', '_', 't', 'o', 't', 'p'}}});
      return g_dir.marker_visible ? 0 : 32;
    }
    out.found = g_dir.read_rc == 0;
    for (const auto& a : attributes) {
      if (a == "uid" && !g_dir.uids.empty()) out.attributes.push_back({a, g_dir.uids});
      if (a == totp::kLdapEnrolmentAttribute && !g_dir.enrolments.empty()) out.attributes.push_back({a, g_dir.enrolments});
      if (a == totp::kLdapLedgerAttribute && !g_dir.ledgers.empty()) out.attributes.push_back({a, g_dir.ledgers});
    }
    return g_dir.read_rc;
  }
  totp::Result<int> modify(const std::string&, const std::vector<totp::LdapChange>&) override { return 50; }
  totp::Result<int> add(const std::string&, const std::vector<totp::LdapChange>&) override { return 50; }
  totp::Result<int> delete_if(const std::string&, const std::string&) override { return 50; }
  totp::Result<int> list(const std::string&, const std::string&, const std::string&,
                         std::vector<std::string>& out) override {
    out = g_dir.listed;
    return 0;
  }

 private:
  totp::LdapBudget budget_{5000};
};

totp::LdapConnection* make_fake(const totp::LdapConfig*) { return new FakeConnection(); }

totp::KeyRing ring(bool with_previous) {
  totp::KeyRing r(fuzz_record::fixed_key());
  if (with_previous) r.previous = fuzz_ldap::previous_key();
  return r;
}

std::unique_ptr<totp::LdapStore> open_store(bool with_previous) {
  static const bool registered = (totp::use_builtin_ldap_connection(make_fake), true);
  (void)registered;
  totp::Settings s;
  s.ldap_uri = {"ldapi:///"};
  s.ldap_base = "ou=totp,dc=example,dc=org";
  auto store = totp::LdapStore::open(s, ring(with_previous));
  if (!store) {
    std::fprintf(stderr, "LdapStore::open: %s\n", store.error().message.c_str());
    std::abort();
  }
  return std::move(*store);
}

bool same(const totp::SecureBytes& a, const totp::SecureBytes& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void one_line(const totp::Error& e) { check(e.message.find('\n') == std::string::npos); }

// A record that opened: valid, and sealing it again opens to the same.
void check_reseal(const totp::KeyRing& keys, const totp::DecodedState& d) {
  check(totp::validate_enrolment(d.record.enrolment).ok());
  auto sealed = totp::seal_record(keys.current, fuzz_record::kUser, d.record, d.seq);
  check(sealed.ok());
  auto again = totp::open_sealed_record(keys, fuzz_record::kUser, sealed->enrolment, sealed->ledger);
  check(again.ok() && again->seq == d.seq && again->key_id == keys.current.id);
  check(same(totp::serialize_enrolment(again->record.enrolment), totp::serialize_enrolment(d.record.enrolment)));
  check(same(totp::serialize_ledger(again->record.ledger), totp::serialize_ledger(d.record.ledger)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  g_dir = Directory{};
  g_dir.read_rc = data[0] == 0 ? 0 : (data[0] == 1 ? 32 : data[0]);
  g_dir.marker_visible = (data[1] & 1) != 0;
  const bool with_previous = (data[1] & 2) != 0;
  std::size_t at = 2;
  while (at + 3 <= size) {
    const std::uint8_t tag = data[at] % 4;
    const std::size_t len = std::min<std::size_t>(data[at + 1] | (std::size_t{data[at + 2]} << 8), size - at - 3);
    Value v(data + at + 3, data + at + 3 + len);
    at += 3 + len;
    switch (tag) {
      case fuzz_ldap::kUid: g_dir.uids.push_back(std::move(v)); break;
      case fuzz_ldap::kEnrolment: g_dir.enrolments.push_back(std::move(v)); break;
      case fuzz_ldap::kLedger: g_dir.ledgers.push_back(std::move(v)); break;
      default: g_dir.listed.emplace_back(v.begin(), v.end()); break;
    }
  }

  const totp::KeyRing keys = ring(with_previous);
  // Every pair, directly.
  for (const auto& e : g_dir.enrolments) {
    for (const auto& l : g_dir.ledgers) {
      auto d = totp::open_sealed_record(keys, fuzz_record::kUser, e, l);
      if (d) {
        check_reseal(keys, *d);
      } else {
        one_line(d.error());
      }
    }
  }

  // Through the store.
  auto store = open_store(with_previous);
  auto loaded = store->load(fuzz_record::kUser);
  if (loaded) {
    if (*loaded) {
      check(g_dir.read_rc == 0 && g_dir.enrolments.size() == 1 && g_dir.ledgers.size() == 1);
      bool named = false;
      for (const auto& u : g_dir.uids) named = named || std::string(u.begin(), u.end()) == fuzz_record::kUser;
      check(named);
      check(totp::validate_enrolment((*loaded)->enrolment).ok());
    } else {
      check(g_dir.read_rc == 32 && g_dir.marker_visible);
    }
  } else {
    one_line(loaded.error());
  }

  auto users = store->users();
  check(users.ok());
  check(std::is_sorted(users->begin(), users->end()));
  check(std::adjacent_find(users->begin(), users->end()) == users->end());
  for (const auto& u : *users) {
    check(totp::validate_user_name(u).ok());
    check(std::find(g_dir.listed.begin(), g_dir.listed.end(), u) != g_dir.listed.end());
  }
  return 0;
}
