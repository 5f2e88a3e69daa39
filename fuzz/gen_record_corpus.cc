// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_record (fuzz/corpus/record/): serialised
// enrolments and ledgers and whole state files sealed with the fuzzer's fixed
// key. Not a fuzz target (the name does not start with fuzz_). Regenerate with
//   g++ -std=c++20 -I. fuzz/gen_record_corpus.cc core/*.cc -lcrypto -largon2 -o /tmp/gen \
//     && /tmp/gen fuzz/corpus/record
#include <cstdio>
#include <string>

#include "core/record.h"
#include "core/store.h"
#include "fuzz/record_fuzz_key.h"

namespace {

bool write(const std::string& path, const std::uint8_t* p, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(p, 1, n, f) == n;
  return std::fclose(f) == 0 && ok;
}

totp::Record make(int variant) {
  totp::Record r;
  const std::size_t secret_len = variant == 0 ? 10 : (variant == 1 ? 20 : 64);
  r.enrolment.secret = totp::SecureBytes(secret_len);
  for (std::size_t i = 0; i < secret_len; ++i) r.enrolment.secret[i] = static_cast<std::uint8_t>(i * 11 + variant);
  r.enrolment.otp = totp::OtpParams{static_cast<totp::Algorithm>(1 + variant), 6 + variant, variant == 2 ? 300 : 30};
  r.enrolment.created = 1700000000 + variant;
  r.enrolment.state = variant == 0 ? totp::EnrolmentState::pending : totp::EnrolmentState::active;
  for (auto& b : r.enrolment.recovery_salt) b = static_cast<std::uint8_t>(0x40 + variant);
  const std::size_t hashes = variant == 0 ? 0 : (variant == 1 ? 10 : totp::kMaxRecoveryCodes);
  for (std::size_t h = 0; h < hashes; ++h) {
    totp::RecoveryHash x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(h + i);
    r.enrolment.recovery_hashes.push_back(x);
  }
  if (variant != 0) r.ledger.last_used_step = 56666666u + static_cast<unsigned>(variant);
  r.ledger.fail_count = static_cast<std::uint32_t>(variant);
  r.ledger.first_fail_time = variant ? 1700000100 : 0;
  r.ledger.locked_until = variant == 2 ? INT64_MAX : 0;
  r.ledger.last_login_time = variant ? 1700000050 : 0;
  r.ledger.last_login_rhost = variant == 2 ? std::string(64, 'h') : (variant ? "192.0.2.7" : "");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const totp::MasterKey key = fuzz_record::fixed_key();
  for (int v = 0; v < 3; ++v) {
    const totp::Record r = make(v);
    const auto e = totp::serialize_enrolment(r.enrolment);
    const auto l = totp::serialize_ledger(r.ledger);
    auto file = totp::encode_state_file(key, fuzz_record::kUser, r, static_cast<std::uint64_t>(v + 1));
    if (!file) {
      std::fprintf(stderr, "encode: %s\n", file.error().message.c_str());
      return 1;
    }
    const std::string n = std::to_string(v);
    if (!write(dir + "/enrolment-" + n, e.data(), e.size()) || !write(dir + "/ledger-" + n, l.data(), l.size()) ||
        !write(dir + "/state-" + n, file->data(), file->size())) {
      std::perror("write");
      return 1;
    }
  }
  return 0;
}
