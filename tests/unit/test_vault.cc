// SPDX-License-Identifier: Apache-2.0
// Vault: AES-256-GCM round trips, fresh nonces, and refusal of every flipped
// bit, every truncation, a wrong key and a wrong context (AAD).
#include <openssl/evp.h>

#include <cstdint>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/vault.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

void test_round_trip_sizes(void**) {
  const MasterKey key = state_test::random_key();
  const auto aad = bytes_of("context");
  for (std::size_t n : {0, 1, 15, 16, 17, 100, 1000, 4096}) {
    std::vector<std::uint8_t> plain(n);
    for (std::size_t i = 0; i < n; ++i) plain[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto sealed = seal(key, aad, plain);
    expect_ok(sealed);
    assert_int_equal(sealed->size(), n + kSealOverhead);
    if (n >= 16) {
      // The plaintext does not appear in the output.
      assert_true(std::search(sealed->begin(), sealed->end(), plain.begin(), plain.end()) == sealed->end());
    }
    auto opened = unseal(key, aad, *sealed);
    expect_ok(opened);
    assert_int_equal(opened->size(), n);
    if (n > 0) assert_memory_equal(opened->data(), plain.data(), n);
  }
  // Empty AAD works too (and is a different context from a non-empty one).
  auto s = seal(key, {}, bytes_of("x"));
  expect_ok(s);
  expect_ok(unseal(key, {}, *s));
  expect_error(unseal(key, aad, *s), Errc::tampered, "authentication", "empty vs non-empty AAD");
}

// Cross-check the output layout nonce || ciphertext || tag with a plain
// OpenSSL decryption written here.
void test_layout_is_nonce_ct_tag(void**) {
  const MasterKey key = state_test::random_key();
  const auto aad = bytes_of("aad!");
  const auto plain = bytes_of("the quick brown fox");
  auto sealed = seal(key, aad, plain);
  expect_ok(sealed);
  const std::uint8_t* nonce = sealed->data();
  const std::uint8_t* ct = nonce + 12;
  const std::uint8_t* tag = ct + plain.size();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  assert_non_null(ctx);
  assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), nonce), 1);
  int len = 0;
  assert_int_equal(EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())), 1);
  std::vector<std::uint8_t> out(plain.size());
  assert_int_equal(EVP_DecryptUpdate(ctx, out.data(), &len, ct, static_cast<int>(plain.size())), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<std::uint8_t*>(tag)), 1);
  std::uint8_t tail[16];
  assert_int_equal(EVP_DecryptFinal_ex(ctx, tail, &len), 1);
  EVP_CIPHER_CTX_free(ctx);
  assert_true(out == plain);
}

void test_fresh_nonce_per_seal(void**) {
  const MasterKey key = state_test::random_key();
  const auto plain = bytes_of("same plaintext every time");
  std::set<std::vector<std::uint8_t>> nonces;
  std::set<std::vector<std::uint8_t>> outputs;
  for (int i = 0; i < 200; ++i) {
    auto sealed = seal(key, {}, plain);
    expect_ok(sealed);
    nonces.insert(std::vector<std::uint8_t>(sealed->begin(), sealed->begin() + kNonceSize));
    outputs.insert(*sealed);
  }
  assert_int_equal(nonces.size(), 200);
  assert_int_equal(outputs.size(), 200);
}

void test_every_bit_flip_refused(void**) {
  const MasterKey key = state_test::random_key();
  const auto aad = bytes_of("user alice");
  std::vector<std::uint8_t> plain(40, 0x33);
  auto sealed = seal(key, aad, plain);
  expect_ok(sealed);
  for (std::size_t byte = 0; byte < sealed->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = *sealed;
      bad[byte] ^= static_cast<std::uint8_t>(1u << bit);
      auto r = unseal(key, aad, bad);
      if (r.ok()) fail_msg("flip of byte %zu bit %d was accepted", byte, bit);
      assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::tampered));
    }
  }
  // Every bit of the AAD matters too.
  for (std::size_t byte = 0; byte < aad.size(); ++byte) {
    auto bad_aad = aad;
    bad_aad[byte] ^= 0x01;
    expect_error(unseal(key, bad_aad, *sealed), Errc::tampered, "authentication", "AAD flip");
  }
}

void test_every_truncation_and_extension_refused(void**) {
  const MasterKey key = state_test::random_key();
  std::vector<std::uint8_t> plain(50, 0x44);
  auto sealed = seal(key, {}, plain);
  expect_ok(sealed);
  for (std::size_t len = 0; len < sealed->size(); ++len) {
    std::vector<std::uint8_t> cut(sealed->begin(), sealed->begin() + static_cast<std::ptrdiff_t>(len));
    auto r = unseal(key, {}, cut);
    if (r.ok()) fail_msg("truncation to %zu accepted", len);
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::tampered));
    if (len < kSealOverhead) assert_true(r.error().message.find("truncated") != std::string::npos);
  }
  auto longer = *sealed;
  longer.push_back(0);
  expect_error(unseal(key, {}, longer), Errc::tampered, "authentication", "extended");
}

void test_wrong_key_refused(void**) {
  const MasterKey a = state_test::random_key();
  const MasterKey b = state_test::random_key();
  auto sealed = seal(a, bytes_of("x"), bytes_of("secret"));
  expect_ok(sealed);
  expect_error(unseal(b, bytes_of("x"), *sealed), Errc::tampered, "authentication", "other key");
  MasterKey bad;
  bad.bytes = SecureBytes(16);
  expect_error(seal(bad, {}, bytes_of("x")), Errc::invalid_argument, "wrong size", "short key seal");
  expect_error(unseal(bad, {}, *sealed), Errc::invalid_argument, "wrong size", "short key unseal");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_sizes),
      cmocka_unit_test(test_layout_is_nonce_ct_tag),
      cmocka_unit_test(test_fresh_nonce_per_seal),
      cmocka_unit_test(test_every_bit_flip_refused),
      cmocka_unit_test(test_every_truncation_and_extension_refused),
      cmocka_unit_test(test_wrong_key_refused),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
