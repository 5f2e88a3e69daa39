// SPDX-License-Identifier: Apache-2.0
// Recovery codes: format, alphabet, uniqueness, normalisation, Argon2id
// hash + find, exactly one Argon2id computation per find, hostile input.
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/recovery.h"

// cmocka last: its macros (fail, ...) clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::RecoveryHash;
using totp::RecoverySalt;

namespace {

constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
// Cheap cost where the cost itself is not under test.
constexpr totp::Argon2Cost kFast{1, 64, 1};

std::string normalized(std::string_view typed) {
  auto n = totp::normalize_recovery_code(typed);
  if (!n) fail_msg("did not normalise: '%.*s'", static_cast<int>(typed.size()), typed.data());
  return std::string(n->view());
}

RecoverySalt fresh_salt() {
  auto salt = totp::make_recovery_salt();
  assert_true(salt.ok());
  return *salt;
}

void test_code_format_and_alphabet(void**) {
  std::array<int, 32> histogram{};
  for (int i = 0; i < 2000; ++i) {
    const auto code = totp::make_recovery_code();
    const std::string_view v = code.view();
    assert_int_equal(v.size(), 11);
    assert_int_equal(v[5], '-');
    for (std::size_t k = 0; k < v.size(); ++k) {
      if (k == 5) continue;
      const auto pos = kAlphabet.find(v[k]);
      if (pos == std::string_view::npos) fail_msg("character 0x%02x outside the alphabet", v[k] & 0xff);
      ++histogram[pos];
    }
    // Shown codes never contain a letter that looks like 0 or 1.
    for (char look_alike : {'o', 'i', 'l', 'u', 'O', 'I', 'L'}) assert_true(v.find(look_alike) == std::string_view::npos);
    // A generated code normalises to itself without the dash.
    assert_string_equal(normalized(v).c_str(), (std::string(v.substr(0, 5)) + std::string(v.substr(6))).c_str());
    assert_true(totp::looks_like_recovery_code(v));
  }
  // 20000 symbols over 32 values: about 625 each. Every symbol appears and
  // none is wildly off (a bias like "byte % 31" or a stuck bit would show).
  for (std::size_t s = 0; s < histogram.size(); ++s) {
    if (histogram[s] < 450 || histogram[s] > 800) {
      fail_msg("symbol '%c' appeared %d times in 20000", kAlphabet[s], histogram[s]);
    }
  }
}

void test_uniqueness(void**) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    const auto code = totp::make_recovery_code();
    assert_true(seen.insert(std::string(code.view())).second);
  }
  const auto a = fresh_salt(), b = fresh_salt();
  assert_true(a != b);
}

void test_normalisation_variants(void**) {
  const std::string canonical = "k7m2p9x3ta";
  for (std::string_view typed :
       {"k7m2p-9x3ta", "k7m2p9x3ta", "K7M2P-9X3TA", "K7m2P9x3Ta", " k7m2p - 9x3ta ", "k7m2p  9x3ta", "k-7-m-2-p-9-x-3-t-a",
        "--k7m2p9x3ta--", "k7 m2 p9 x3 ta"}) {
    assert_string_equal(normalized(typed).c_str(), canonical.c_str());
  }
  // Look-alike letters are read as the digits shown on the sheet.
  assert_string_equal(normalized("oo1ii-ll0OI").c_str(), "0011111001");
  assert_string_equal(normalized("O0000-00000").c_str(), "0000000000");
  assert_true(totp::looks_like_recovery_code("abcde-fghjk"));
  assert_false(totp::looks_like_recovery_code("123456"));
  // Eight digits are an imported google-authenticator scratch code.
  assert_true(totp::looks_like_recovery_code("12345678"));
}

// Imported scratch codes: exactly 8 ASCII digits once spaces are dropped,
// kept as typed ("DDDDDDDD"); no dashes, no look-alike letters, no other
// digit counts.
void test_scratch_code_form(void**) {
  for (std::string_view typed : {"91271451", " 91271451 ", "9127 1451", "9 1 2 7 1 4 5 1"}) {
    assert_string_equal(normalized(typed).c_str(), "91271451");
  }
  assert_string_equal(normalized("00000000").c_str(), "00000000");
  for (std::string_view typed :
       {"9127-1451", "9127145", "912714512", "O1271451", "91271451\n", "9127\t1451", "I1271451", "l1271451",
        "9127145a", "\xef\xbc\x99" "1271451", "1234567"}) {
    auto n = totp::normalize_recovery_code(typed);
    // "9127-1451" and the letter forms are not 10 symbols either: refused.
    assert_false(n.has_value());
  }
  assert_false(totp::normalize_recovery_code(std::string_view("9127145\0" "1", 9)).has_value());
  // Both forms hash; the 8-digit form differs from any 10-symbol code.
  const auto salt = fresh_salt();
  auto a = totp::hash_recovery_code("91271451", salt, kFast);
  auto b = totp::hash_recovery_code("0091271451", salt, kFast);
  assert_true(a.ok() && b.ok());
  assert_memory_not_equal(a->data(), b->data(), a->size());
  // find works on the 8-digit form, and a used one is gone.
  std::vector<RecoveryHash> hashes = {*a};
  auto found = totp::find_recovery_code(normalized("9127 1451"), salt, hashes, kFast);
  assert_true(found.ok() && found->has_value());
  hashes.clear();
  found = totp::find_recovery_code(normalized("91271451"), salt, hashes, kFast);
  assert_true(found.ok() && !found->has_value());
  // Not normalised: refused before Argon2.
  for (std::string_view bad : {"9127 1451", "9127145", "912714512", "9127145a"}) {
    assert_false(totp::hash_recovery_code(bad, salt, kFast).ok());
  }
}

void test_normalisation_rejects(void**) {
  const std::string too_long(65, 'a');
  const std::string padded = std::string(60, ' ') + "abcde-fghjk";  // 71 bytes: over the cap even if spaces
  for (std::string_view typed : {
           std::string_view(""), std::string_view("   "), std::string_view("-----"), std::string_view("abcde-fghj"),
           std::string_view("abcde-fghjkm"), std::string_view("abcde-fghju"),   // u is not in the alphabet
           std::string_view("abcde_fghjk"), std::string_view("abcde.fghjk"), std::string_view("abcde\tfghjk"),
           std::string_view("abcde\nfghjk"), std::string_view("abcdefghjk\n"), std::string_view("abcde\0fghjk", 11),
           std::string_view("abcde-fghj\xc3\xa9"), std::string_view("\xef\xbc\xa1" "bcdefghjk"),  // non-ASCII
           std::string_view("abcde-fgh!k"), std::string_view("abcde+fghjk"), std::string_view("123456"),
           std::string_view(too_long), std::string_view(padded)}) {
    assert_false(totp::normalize_recovery_code(typed).has_value());
    assert_false(totp::looks_like_recovery_code(typed));
  }
  // Exactly at the cap (64 bytes of spaces and dashes around a code) is fine.
  const std::string at_cap = std::string(27, ' ') + "abcde-fghjk" + std::string(26, '-');
  assert_int_equal(at_cap.size(), 64);
  assert_true(totp::normalize_recovery_code(at_cap).has_value());
}

void test_hash_and_find(void**) {
  const auto salt = fresh_salt();
  std::vector<std::string> codes;
  std::vector<RecoveryHash> hashes;
  for (std::size_t i = 0; i < totp::kRecoveryCodeCount; ++i) {
    const auto code = totp::make_recovery_code();
    codes.push_back(normalized(code.view()));
    auto h = totp::hash_recovery_code(codes.back(), salt, kFast);
    assert_true(h.ok());
    hashes.push_back(*h);
  }
  for (std::size_t i = 0; i < codes.size(); ++i) {
    auto found = totp::find_recovery_code(codes[i], salt, hashes, kFast);
    assert_true(found.ok());
    assert_true(found->has_value());
    assert_int_equal(**found, i);
  }
  // Typed variants find the same entry once normalised.
  std::string shouted = codes[3].substr(0, 5) + " - " + codes[3].substr(5);
  for (auto& c : shouted) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  auto found = totp::find_recovery_code(normalized(shouted), salt, hashes, kFast);
  assert_true(found.ok() && found->has_value());
  assert_int_equal(**found, 3);

  // Not found: another code, the right code under another salt, the empty set.
  std::string other = normalized(totp::make_recovery_code().view());
  found = totp::find_recovery_code(other, salt, hashes, kFast);
  assert_true(found.ok());
  assert_false(found->has_value());
  found = totp::find_recovery_code(codes[0], fresh_salt(), hashes, kFast);
  assert_true(found.ok());
  assert_false(found->has_value());
  found = totp::find_recovery_code(codes[0], salt, std::span<const RecoveryHash>(), kFast);
  assert_true(found.ok());
  assert_false(found->has_value());
  // A used (removed) code is no longer found.
  std::vector<RecoveryHash> rest(hashes.begin() + 1, hashes.end());
  found = totp::find_recovery_code(codes[0], salt, rest, kFast);
  assert_true(found.ok());
  assert_false(found->has_value());
  // Duplicated hashes report the first index.
  std::vector<RecoveryHash> dup = {hashes[2], hashes[5], hashes[5]};
  found = totp::find_recovery_code(codes[5], salt, dup, kFast);
  assert_true(found.ok() && found->has_value());
  assert_int_equal(**found, 1);
}

void test_hash_is_argon2id(void**) {
  // Deterministic for fixed code, salt and cost; sensitive to each of them.
  RecoverySalt salt{};
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::uint8_t>(i);
  auto a = totp::hash_recovery_code("abcdefghjk", salt, kFast);
  auto b = totp::hash_recovery_code("abcdefghjk", salt, kFast);
  assert_true(a.ok() && b.ok());
  assert_memory_equal(a->data(), b->data(), a->size());
  auto c = totp::hash_recovery_code("abcdefghjm", salt, kFast);
  auto d = totp::hash_recovery_code("abcdefghjk", salt, totp::Argon2Cost{2, 64, 1});
  assert_true(c.ok() && d.ok());
  assert_memory_not_equal(a->data(), c->data(), a->size());
  assert_memory_not_equal(a->data(), d->data(), a->size());
  salt[0] ^= 1;
  auto e = totp::hash_recovery_code("abcdefghjk", salt, kFast);
  assert_true(e.ok());
  assert_memory_not_equal(a->data(), e->data(), a->size());
}

void test_default_cost(void**) {
  const auto cost = totp::default_argon2_cost();
  assert_true(cost.t_cost >= 2);
  assert_true(cost.m_cost_kib >= 19456);
  assert_true(cost.parallelism >= 1);
  // One real-cost hash works (and is the only one in this program).
  auto h = totp::hash_recovery_code("2345678923", fresh_salt());
  assert_true(h.ok());
}

void test_one_argon2_per_find(void**) {
  const auto salt = fresh_salt();
  std::vector<RecoveryHash> hashes;
  for (int i = 0; i < 50; ++i) {
    auto h = totp::hash_recovery_code(normalized(totp::make_recovery_code().view()), salt, kFast);
    assert_true(h.ok());
    hashes.push_back(*h);
  }
  const std::string probe = normalized(totp::make_recovery_code().view());
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{10}, std::size_t{50}}) {
    const auto before = totp::argon2_computations();
    auto found = totp::find_recovery_code(probe, salt, std::span<const RecoveryHash>(hashes.data(), n), kFast);
    assert_true(found.ok());
    assert_int_equal(totp::argon2_computations() - before, 1);
  }
  // A hit costs exactly one as well.
  auto hit_hash = totp::hash_recovery_code(probe, salt, kFast);
  assert_true(hit_hash.ok());
  hashes.push_back(*hit_hash);
  const auto before = totp::argon2_computations();
  auto found = totp::find_recovery_code(probe, salt, hashes, kFast);
  assert_true(found.ok() && found->has_value());
  assert_int_equal(**found, 50);
  assert_int_equal(totp::argon2_computations() - before, 1);
}

void test_hostile_input_to_hash(void**) {
  const auto salt = fresh_salt();
  std::vector<RecoveryHash> hashes(3);
  const auto before = totp::argon2_computations();
  // Anything that is not a normalised code is refused before Argon2 runs.
  for (std::string_view bad :
       {std::string_view(""), std::string_view("abcde-fghjk"), std::string_view("ABCDEFGHJK"),
        std::string_view("abcdefghj"), std::string_view("abcdefghjkm"), std::string_view("abcdefghjo"),
        std::string_view("abcdefghji"), std::string_view("abcdefghju"), std::string_view("abcdefghj\0", 10),
        std::string_view("abcdefghj\xff")}) {
    auto h = totp::hash_recovery_code(bad, salt, kFast);
    assert_false(h.ok());
    assert_int_equal(static_cast<int>(h.error().code), static_cast<int>(totp::Errc::invalid_argument));
    assert_false(totp::find_recovery_code(bad, salt, hashes, kFast).ok());
  }
  assert_int_equal(totp::argon2_computations(), before);
  // A nonsensical cost is an error, not a crash or a huge allocation.
  for (auto cost : {totp::Argon2Cost{0, 64, 1}, totp::Argon2Cost{1, 4, 1}, totp::Argon2Cost{1, 64, 0},
                    totp::Argon2Cost{1, 0xffffffffu, 1}, totp::Argon2Cost{1000000, 64, 1}}) {
    assert_false(totp::hash_recovery_code("abcdefghjk", salt, cost).ok());
  }
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_code_format_and_alphabet),
      cmocka_unit_test(test_uniqueness),
      cmocka_unit_test(test_normalisation_variants),
      cmocka_unit_test(test_normalisation_rejects),
      cmocka_unit_test(test_scratch_code_form),
      cmocka_unit_test(test_hash_and_find),
      cmocka_unit_test(test_hash_is_argon2id),
      cmocka_unit_test(test_default_cost),
      cmocka_unit_test(test_one_argon2_per_find),
      cmocka_unit_test(test_hostile_input_to_hash),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
