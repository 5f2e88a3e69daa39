// SPDX-License-Identifier: Apache-2.0
// Shared helpers for the state tests (fs, key, record, vault, store): temp
// directories removed even when a test fails, sample records, and checks
// that an error has the expected Errc and says why.
#pragma once

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/key.h"
#include "core/record.h"
#include "core/result.h"
#include "core/store.h"

// cmocka last: its macros clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

namespace state_test {

inline int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

// A fresh root-owned 0700 directory, removed recursively on destruction.
// cmocka ends a failing test with longjmp, which skips destructors; so every
// TempDir also registers itself for an atexit sweep.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/totp-state-test.XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (d == nullptr) fail_msg("mkdtemp failed");
    path_ = d;
    all().push_back(path_);
    static bool registered = false;
    if (!registered) {
      registered = true;
      std::atexit([] {
        for (auto& p : all()) remove_tree(p);
      });
    }
  }
  ~TempDir() { remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  static void remove_tree(const std::string& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    ::nftw(p.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }

 private:
  static std::vector<std::string>& all() {
    static std::vector<std::string> v;
    return v;
  }
  std::string path_;
};

inline bool is_root() { return ::geteuid() == 0; }

// Asserts `r` failed with `code` and that its message contains `word`.
template <class R>
void expect_error(const R& r, totp::Errc code, const char* word, const char* what = "") {
  if (r.ok()) fail_msg("%s: expected %s error mentioning '%s', got success", what, totp::errc_name(code), word);
  const auto& e = r.error();
  if (e.code != code) {
    fail_msg("%s: expected %s, got %s: %s", what, totp::errc_name(code), totp::errc_name(e.code), e.message.c_str());
  }
  if (e.message.find(word) == std::string::npos) {
    fail_msg("%s: message '%s' does not mention '%s'", what, e.message.c_str(), word);
  }
}

template <class R>
void expect_ok(const R& r, const char* what = "") {
  if (!r.ok()) fail_msg("%s: unexpected error %s: %s", what, totp::errc_name(r.error().code), r.error().message.c_str());
}

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_msg("cannot read %s", path.c_str());
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes a file with exactly `mode` (umask does not apply).
inline void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes, mode_t mode = 0600) {
  ::unlink(path.c_str());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail_msg("cannot write %s", path.c_str());
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  if (::chmod(path.c_str(), mode) != 0) fail_msg("chmod %s failed", path.c_str());
}

inline totp::MasterKey random_key() {
  totp::MasterKey k;
  k.bytes = totp::SecureBytes(totp::kMasterKeySize);
  if (!totp::random_bytes(k.bytes.span()).ok()) fail_msg("random_bytes failed");
  k.id = totp::key_id_of(k.bytes);
  return k;
}

inline totp::MasterKey clone_key(const totp::MasterKey& k) {
  totp::MasterKey c;
  c.bytes = k.bytes.clone();
  c.id = k.id;
  return c;
}

// A complete record with every field set to something recognisable.
inline totp::Record sample_record(std::uint8_t fill = 0x5a, std::size_t hashes = 3) {
  totp::Record r;
  r.enrolment.secret = totp::SecureBytes(20);
  for (std::size_t i = 0; i < 20; ++i) r.enrolment.secret[i] = static_cast<std::uint8_t>(fill + i);
  r.enrolment.otp = totp::OtpParams{totp::Algorithm::sha256, 8, 60};
  r.enrolment.created = 1700000000;
  r.enrolment.state = totp::EnrolmentState::active;
  for (std::size_t i = 0; i < r.enrolment.recovery_salt.size(); ++i) r.enrolment.recovery_salt[i] = static_cast<std::uint8_t>(i * 7 + fill);
  for (std::size_t h = 0; h < hashes; ++h) {
    totp::RecoveryHash hash{};
    for (std::size_t i = 0; i < hash.size(); ++i) hash[i] = static_cast<std::uint8_t>(h * 31 + i + fill);
    r.enrolment.recovery_hashes.push_back(hash);
  }
  r.ledger.last_used_step = 56666666;
  r.ledger.fail_count = 2;
  r.ledger.first_fail_time = 1700000100;
  r.ledger.locked_until = 1700000900;
  r.ledger.last_login_time = 1700000050;
  r.ledger.last_login_rhost = "192.0.2.7";
  return r;
}

inline void expect_same_record(const totp::Record& a, const totp::Record& b) {
  assert_true(totp::constant_time_equal(a.enrolment.secret.span(), b.enrolment.secret.span()));
  assert_int_equal(static_cast<int>(a.enrolment.otp.algorithm), static_cast<int>(b.enrolment.otp.algorithm));
  assert_int_equal(a.enrolment.otp.digits, b.enrolment.otp.digits);
  assert_int_equal(a.enrolment.otp.period, b.enrolment.otp.period);
  assert_true(a.enrolment.created == b.enrolment.created);
  assert_int_equal(static_cast<int>(a.enrolment.state), static_cast<int>(b.enrolment.state));
  assert_true(a.enrolment.recovery_salt == b.enrolment.recovery_salt);
  assert_true(a.enrolment.recovery_hashes == b.enrolment.recovery_hashes);
  assert_true(a.ledger.last_used_step == b.ledger.last_used_step);
  assert_int_equal(a.ledger.fail_count, b.ledger.fail_count);
  assert_true(a.ledger.first_fail_time == b.ledger.first_fail_time);
  assert_true(a.ledger.locked_until == b.ledger.locked_until);
  assert_true(a.ledger.last_login_time == b.ledger.last_login_time);
  assert_string_equal(a.ledger.last_login_rhost.c_str(), b.ledger.last_login_rhost.c_str());
}

// A fresh 0700 state directory and a random key, for the store tests.
struct StoreFixture {
  TempDir t;
  std::string dir = t / "state";
  totp::MasterKey key = random_key();
  StoreFixture() {
    if (::mkdir(dir.c_str(), 0700) != 0) fail_msg("mkdir");
  }
  totp::FileStore store() {
    auto s = totp::FileStore::open(dir, clone_key(key), ::geteuid());
    expect_ok(s, "FileStore::open");
    return std::move(*s);
  }
  std::string file(const std::string& user) const { return dir + "/" + user; }
};

}  // namespace state_test
