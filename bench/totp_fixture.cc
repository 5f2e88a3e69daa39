// SPDX-License-Identifier: Apache-2.0
#include "bench/totp_fixture.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>

#include "bench/bench_util.h"
#include "core/key.h"
#include "core/record.h"
#include "core/recovery.h"
#include "core/store.h"

namespace bench {

namespace {

template <class T>
T take(totp::Result<T> r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

}  // namespace

struct TotpFixture::Impl {
  explicit Impl(totp::FileStore s) : store(std::move(s)) {}
  totp::FileStore store;
  std::optional<totp::Enrolment> shared;  // salt + 10 hashes for recovery_codes == 0
};

namespace {

// Salt and hashes for `n` fresh codes; the typed codes go to `typed`.
void make_codes(totp::Enrolment& e, std::size_t n, std::vector<std::string>& typed) {
  e.recovery_salt = take(totp::make_recovery_salt(), "recovery salt");
  for (std::size_t i = 0; i < n; ++i) {
    totp::SecureBytes code = totp::make_recovery_code();
    std::optional<totp::SecureBytes> norm = totp::normalize_recovery_code(code.view());
    if (!norm) throw std::runtime_error("make_recovery_code gave a code normalize_recovery_code refuses");
    e.recovery_hashes.push_back(take(totp::hash_recovery_code(norm->view(), e.recovery_salt), "hash recovery code"));
    typed.emplace_back(code.view());
  }
}

}  // namespace

TotpFixture::TotpFixture(const std::string& dir)
    : dir_(dir), key_file_(dir + "/pam_totp.key"), state_dir_(dir + "/state") {
  const std::string& key_file = key_file_;
  const std::string& state_dir = state_dir_;
  if ((mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) || mkdir(state_dir.c_str(), 0700) != 0) {
    throw std::runtime_error("mkdir " + state_dir + ": " + std::strerror(errno));
  }
  totp::MasterKey key = take(totp::create_master_key(key_file), "create master key");
  totp::FileStore store = take(totp::FileStore::open(state_dir, std::move(key)), "open state store");
  impl_ = std::make_unique<Impl>(std::move(store));
  config_ = dir + "/pam_totp.conf";
  write_file(config_, "# written by pam_bench\nstate_dir = " + state_dir + "\nkey_file = " + key_file + "\n", 0600);
  nolock_config_ = dir + "/pam_totp-nolock.conf";
  write_file(nolock_config_,
             "# written by pam_bench\nstate_dir = " + state_dir + "\nkey_file = " + key_file + "\ndeny = 0\n", 0600);
}

TotpFixture::~TotpFixture() = default;

std::vector<std::string> TotpFixture::enrol(const std::string& user, const std::vector<std::uint8_t>& secret,
                                            std::size_t recovery_codes) {
  totp::Record rec;
  rec.enrolment.secret = totp::SecureBytes(std::span<const std::uint8_t>(secret));
  rec.enrolment.otp = totp::OtpParams{};
  rec.enrolment.created = static_cast<std::int64_t>(time(nullptr));
  rec.enrolment.state = totp::EnrolmentState::active;
  std::vector<std::string> typed;
  if (recovery_codes > 0) {
    make_codes(rec.enrolment, recovery_codes, typed);
  } else {
    if (!impl_->shared) {
      impl_->shared.emplace();
      std::vector<std::string> unused;
      make_codes(*impl_->shared, totp::kRecoveryCodeCount, unused);
    }
    rec.enrolment.recovery_salt = impl_->shared->recovery_salt;
    rec.enrolment.recovery_hashes = impl_->shared->recovery_hashes;
  }
  auto status = impl_->store.update(user, [&](std::optional<totp::Record>& r) -> totp::Result<totp::FileStore::Write> {
    r = totp::clone_record(rec);
    return totp::FileStore::Write::everything;
  });
  if (!status.ok()) throw std::runtime_error("enrol " + user + ": " + status.error().message);
  return typed;
}

void TotpFixture::forget_last_step(const std::string& user) {
  auto status = impl_->store.update(user, [](std::optional<totp::Record>& r) -> totp::Result<totp::FileStore::Write> {
    if (!r) return totp::make_error(totp::Errc::not_found, "no record");
    r->ledger.last_used_step.reset();
    return totp::FileStore::Write::ledger_only;
  });
  if (!status.ok()) throw std::runtime_error("forget last step of " + user + ": " + status.error().message);
}

double TotpFixture::argon2_hash_ms() {
  totp::RecoverySalt salt = take(totp::make_recovery_salt(), "recovery salt");
  std::int64_t t0 = now_ns();
  (void)take(totp::hash_recovery_code("abcdefghjk", salt), "hash recovery code");
  return static_cast<double>(now_ns() - t0) / 1e6;
}

}  // namespace bench
