// SPDX-License-Identifier: Apache-2.0
// pam_totp state for the benchmark, made through the project's own core API
// (the same code path totp-setup uses): a master key, a root-owned 0700
// state directory, a config file naming both, and one active enrolment per
// user.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bench {

class TotpFixture {
 public:
  // Creates DIR/pam_totp.key, DIR/state and DIR/pam_totp.conf. Throws
  // std::runtime_error with the core's message on failure.
  explicit TotpFixture(const std::string& dir);
  ~TotpFixture();
  TotpFixture(const TotpFixture&) = delete;
  TotpFixture& operator=(const TotpFixture&) = delete;

  const std::string& config_path() const noexcept { return config_; }
  // The same config with the lockout off (deny = 0 is file-only).
  const std::string& nolock_config_path() const noexcept { return nolock_config_; }
  const std::string& key_file() const noexcept { return key_file_; }
  const std::string& state_dir() const noexcept { return state_dir_; }
  const std::string& dir() const noexcept { return dir_; }

  // An active enrolment (SHA1, 6 digits, 30 s: the authenticator apps'
  // default) with `recovery_codes` single-use codes; returns the codes as
  // the user would type them. Making each code costs one Argon2id hash.
  // recovery_codes == 0: the user gets 10 hashes made once and shared by
  // all such users (their codes are not returned), so every record has the
  // size of a real one without 10 Argon2id hashes per bench user.
  std::vector<std::string> enrol(const std::string& user, const std::vector<std::uint8_t>& secret,
                                 std::size_t recovery_codes);

  // Forgets the user's last used step (ledger-only write), so that the
  // current code is accepted again: lets a loop log in the same user
  // successfully over and over.
  void forget_last_step(const std::string& user);

  // Milliseconds of one Argon2id hash with the production cost, measured
  // now in this process (the yardstick for "one hash per recovery attempt").
  static double argon2_hash_ms();

 private:
  struct Impl;
  std::string dir_, key_file_, state_dir_, config_, nolock_config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bench
