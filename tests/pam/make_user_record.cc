// SPDX-License-Identifier: Apache-2.0
// Test-only tool: prepares key, state directory and user records through
// the core APIs (the real totp-setup is tested on its own).
//
//   make_user_record init DIR
//       DIR/key (master key) and DIR/state (0700), as `totp-setup init` would
//   make_user_record enrol DIR USER BASE32SECRET [--algorithm A] [--digits N]
//                    [--period P] [--pending] [--recovery N]
//       writes an active (or pending) record; prints the N recovery codes
//       (default 0), one a line
//   make_user_record show DIR USER
//       prints the ledger and the number of unused recovery codes
// Throwaway test secrets only.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/base32.h"
#include "core/key.h"
#include "core/otp.h"
#include "core/recovery.h"
#include "core/store.h"

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "make_user_record: %s\n", why.c_str());
  std::exit(1);
}

totp::FileStore open_store(const std::string& dir) {
  auto key = totp::load_master_key(dir + "/key");
  if (!key) die("key: " + key.error().message);
  auto store = totp::FileStore::open(dir + "/state", std::move(key.value()));
  if (!store) die("state: " + store.error().message);
  return std::move(store.value());
}

int enrol(const std::string& dir, const std::string& user, const std::string& secret_b32,
          const std::vector<std::string>& opts) {
  totp::Enrolment e;
  e.state = totp::EnrolmentState::active;
  e.created = 1;
  std::size_t recovery = 0;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    const auto value = [&]() -> std::string {
      if (i + 1 >= opts.size()) die("missing value for " + opts[i]);
      return opts[++i];
    };
    const std::string& o = opts[i];
    if (o == "--algorithm") {
      auto a = totp::parse_algorithm(value());
      if (!a) die("bad algorithm");
      e.otp.algorithm = *a;
    } else if (o == "--digits") {
      e.otp.digits = std::atoi(value().c_str());
    } else if (o == "--period") {
      e.otp.period = std::atoi(value().c_str());
    } else if (o == "--pending") {
      e.state = totp::EnrolmentState::pending;
    } else if (o == "--recovery") {
      recovery = static_cast<std::size_t>(std::atoi(value().c_str()));
    } else {
      die("unknown option " + o);
    }
  }
  auto secret = totp::base32_decode(secret_b32, totp::Base32Mode::strict);
  if (!secret) die("secret: " + secret.error().message);
  e.secret = std::move(secret.value());
  auto salt = totp::make_recovery_salt();
  if (!salt) die(salt.error().message);
  e.recovery_salt = *salt;
  std::vector<std::string> codes;
  for (std::size_t i = 0; i < recovery; ++i) {
    totp::SecureBytes code = totp::make_recovery_code();
    auto normalized = totp::normalize_recovery_code(code.view());
    if (!normalized) die("made a recovery code that does not normalise");
    auto hash = totp::hash_recovery_code(normalized->view(), e.recovery_salt);
    if (!hash) die(hash.error().message);
    e.recovery_hashes.push_back(*hash);
    codes.emplace_back(code.view());
  }
  totp::FileStore store = open_store(dir);
  auto st = store.update(user, [&](std::optional<totp::Record>& rec) -> totp::Result<totp::FileStore::Write> {
    rec = totp::Record{std::move(e), totp::Ledger{}};
    return totp::FileStore::Write::everything;
  });
  if (!st) die("write: " + st.error().message);
  for (const auto& c : codes) std::printf("%s\n", c.c_str());
  return 0;
}

int show(const std::string& dir, const std::string& user) {
  totp::FileStore store = open_store(dir);
  auto rec = store.load(user);
  if (!rec) die(std::string(totp::errc_name(rec.error().code)) + ": " + rec.error().message);
  if (!rec->has_value()) {
    std::printf("no record\n");
    return 0;
  }
  const totp::Record& r = **rec;
  const totp::Ledger& l = r.ledger;
  std::printf("state=%s last_used_step=%s fail_count=%u first_fail_time=%lld locked_until=%lld "
              "last_login_time=%lld last_login_rhost=%s recovery_left=%zu\n",
              r.enrolment.state == totp::EnrolmentState::active ? "active" : "pending",
              l.last_used_step ? std::to_string(*l.last_used_step).c_str() : "none", l.fail_count,
              static_cast<long long>(l.first_fail_time), static_cast<long long>(l.locked_until),
              static_cast<long long>(l.last_login_time), l.last_login_rhost.c_str(), r.enrolment.recovery_hashes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "init") {
    auto st = totp::initialize(args[1] + "/key", args[1] + "/state", [](const std::string&) {});
    if (!st) die(st.error().message);
    return 0;
  }
  if (args.size() >= 4 && args[0] == "enrol") {
    return enrol(args[1], args[2], args[3], std::vector<std::string>(args.begin() + 4, args.end()));
  }
  if (args.size() == 3 && args[0] == "show") return show(args[1], args[2]);
  die("usage: make_user_record init DIR | enrol DIR USER SECRET [opts] | show DIR USER");
}
