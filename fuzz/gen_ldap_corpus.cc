// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_ldap_values (fuzz/corpus/ldap_values/):
// fake directory answers (fuzz/ldap_fuzz_input.h) holding records sealed
// with the fuzzers' fixed keys, and the ways an entry can be wrong. Not a
// fuzz target (the name does not start with fuzz_). Regenerate with
//   g++ -std=c++20 -I. fuzz/gen_ldap_corpus.cc core/*.cc -lcrypto -largon2 -lldap -llber -o /tmp/gen \
//     && /tmp/gen fuzz/corpus/ldap_values
#include <cstdio>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/sealed_record.h"
#include "fuzz/ldap_fuzz_input.h"
#include "fuzz/record_fuzz_key.h"

namespace {

using Bytes = std::vector<std::uint8_t>;

bool write(const std::string& path, const Bytes& b) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  return std::fclose(f) == 0 && ok;
}

totp::Record make(int variant) {
  totp::Record r;
  r.enrolment.secret = totp::SecureBytes(20);
  for (std::size_t i = 0; i < 20; ++i) r.enrolment.secret[i] = static_cast<std::uint8_t>(i * 7 + variant);
  r.enrolment.otp = totp::OtpParams{totp::Algorithm::sha1, 6, 30};
  r.enrolment.created = 1700000000;
  r.enrolment.state = totp::EnrolmentState::active;
  for (auto& b : r.enrolment.recovery_salt) b = 0x55;
  if (variant > 0) {
    for (std::size_t h = 0; h < 3; ++h) r.enrolment.recovery_hashes.push_back(totp::RecoveryHash{});
    r.ledger.last_used_step = 56666666u;
    r.ledger.fail_count = 2;
    r.ledger.first_fail_time = 1700000100;
    r.ledger.last_login_rhost = "198.51.100.9";
  }
  return r;
}

Bytes head(std::uint8_t rc, std::uint8_t flags) { return Bytes{rc, flags}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string user(fuzz_record::kUser);
  auto current = totp::seal_record(fuzz_record::fixed_key(), user, make(0), 1);
  auto second = totp::seal_record(fuzz_record::fixed_key(), user, make(1), 7);
  auto previous = totp::seal_record(fuzz_ldap::previous_key(), user, make(1), 3);
  auto bob = totp::seal_record(fuzz_record::fixed_key(), "bob", make(0), 1);
  if (!current || !second || !previous || !bob) {
    std::fprintf(stderr, "seal failed\n");
    return 1;
  }
  using fuzz_ldap::put;
  std::vector<std::pair<std::string, Bytes>> seeds;
  const auto entry = [&](std::uint8_t rc, std::uint8_t flags, const std::string& uid, const totp::SealedRecord& r) {
    Bytes b = head(rc, flags);
    put(b, fuzz_ldap::kUid, uid);
    put(b, fuzz_ldap::kEnrolment, r.enrolment);
    put(b, fuzz_ldap::kLedger, r.ledger);
    return b;
  };
  seeds.emplace_back("valid", entry(0, 1, user, *current));
  seeds.emplace_back("valid-recovery", entry(0, 1, user, *second));
  seeds.emplace_back("previous-key", entry(0, 3, user, *previous));
  seeds.emplace_back("previous-key-unknown", entry(0, 1, user, *previous));
  seeds.emplace_back("other-case-uid", entry(0, 1, "Alice", *current));
  seeds.emplace_back("other-users-record", entry(0, 1, user, *bob));
  {
    Bytes b = entry(0, 1, user, *current);
    put(b, fuzz_ldap::kLedger, second->ledger);  // two ledger values
    seeds.emplace_back("two-ledgers", b);
  }
  {
    Bytes b = head(0, 1);
    put(b, fuzz_ldap::kUid, user);
    put(b, fuzz_ldap::kEnrolment, current->enrolment);
    put(b, fuzz_ldap::kLedger, second->ledger);  // a ledger of another enrolment
    seeds.emplace_back("mixed-ledger", b);
  }
  {
    Bytes b = head(0, 1);
    put(b, fuzz_ldap::kEnrolment, current->enrolment);
    put(b, fuzz_ldap::kLedger, current->ledger);  // no uid: hidden by the ACL
    seeds.emplace_back("no-uid", b);
  }
  seeds.emplace_back("absent", head(1, 1));
  seeds.emplace_back("absent-no-marker", head(1, 0));
  seeds.emplace_back("refused", head(50, 1));
  {
    Bytes b = head(1, 1);
    for (const char* n : {"alice", "bob", ".pam_totp", "Carol", "-x", "dave.e_f-1", "alice", "", "a b"}) {
      put(b, fuzz_ldap::kListed, std::string(n));
    }
    seeds.emplace_back("listing", b);
  }
  for (const auto& [name, bytes] : seeds) {
    if (!write(dir + "/" + name, bytes)) {
      std::perror(name.c_str());
      return 1;
    }
  }
  return 0;
}
