// SPDX-License-Identifier: Apache-2.0
// HOTP/TOTP: every RFC 4226 Appendix D and RFC 6238 Appendix B value,
// parameter validation, window edges, replay outcome, malformed candidates.
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/otp.h"

// cmocka last: its macros (fail, ...) clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::Algorithm;
using totp::OtpParams;
using totp::VerifyOutcome;

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The RFC seeds: ASCII "1234567890" repeated to the hash's natural length.
constexpr std::string_view kSeed20 = "12345678901234567890";
constexpr std::string_view kSeed32 = "12345678901234567890123456789012";
constexpr std::string_view kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

std::string code_at(std::string_view key, const OtpParams& p, std::int64_t t) {
  auto code = totp::totp_code(bytes_of(key), p, t);
  assert_true(code.ok());
  return *code;
}

totp::VerifyResult verify(std::string_view key, const OtpParams& p, std::string_view candidate, std::int64_t now,
                          int window, std::optional<std::uint64_t> last_used = std::nullopt) {
  auto r = totp::totp_verify(bytes_of(key), p, candidate, now, window, last_used);
  if (!r.ok()) fail_msg("totp_verify failed: %s", r.error().message.c_str());
  return *r;
}

void test_rfc4226_appendix_d(void**) {
  const std::uint32_t expected[10] = {755224, 287082, 359152, 969429, 338314,
                                      254676, 287922, 162583, 399871, 520489};
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    auto v = totp::hotp(bytes_of(kSeed20), counter, Algorithm::sha1, 6);
    assert_true(v.ok());
    assert_int_equal(*v, expected[counter]);
  }
}

void test_rfc6238_appendix_b(void**) {
  struct Vector {
    std::int64_t time;
    Algorithm algorithm;
    const char* code;
  };
  const Vector vectors[] = {
      {59, Algorithm::sha1, "94287082"},          {59, Algorithm::sha256, "46119246"},
      {59, Algorithm::sha512, "90693936"},        {1111111109, Algorithm::sha1, "07081804"},
      {1111111109, Algorithm::sha256, "68084774"}, {1111111109, Algorithm::sha512, "25091201"},
      {1111111111, Algorithm::sha1, "14050471"},  {1111111111, Algorithm::sha256, "67062674"},
      {1111111111, Algorithm::sha512, "99943326"}, {1234567890, Algorithm::sha1, "89005924"},
      {1234567890, Algorithm::sha256, "91819424"}, {1234567890, Algorithm::sha512, "93441116"},
      {2000000000, Algorithm::sha1, "69279037"},  {2000000000, Algorithm::sha256, "90698825"},
      {2000000000, Algorithm::sha512, "38618901"}, {20000000000, Algorithm::sha1, "65353130"},
      {20000000000, Algorithm::sha256, "77737706"}, {20000000000, Algorithm::sha512, "47863826"},
  };
  static_assert(sizeof(vectors) / sizeof(vectors[0]) == 18);
  for (const auto& v : vectors) {
    const std::string_view key = v.algorithm == Algorithm::sha1     ? kSeed20
                                 : v.algorithm == Algorithm::sha256 ? kSeed32
                                                                    : kSeed64;
    const OtpParams p{v.algorithm, 8, 30};
    assert_string_equal(code_at(key, p, v.time).c_str(), v.code);
    // The same code verifies through totp_verify at that time.
    const auto r = verify(key, p, v.code, v.time, 0);
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
    assert_int_equal(r.step, totp::totp_step(v.time, 30));
  }
}

void test_algorithm_names(void**) {
  assert_string_equal(totp::algorithm_name(Algorithm::sha1), "SHA1");
  assert_string_equal(totp::algorithm_name(Algorithm::sha256), "SHA256");
  assert_string_equal(totp::algorithm_name(Algorithm::sha512), "SHA512");
  assert_true(totp::parse_algorithm("sha1") == Algorithm::sha1);
  assert_true(totp::parse_algorithm("Sha256") == Algorithm::sha256);
  assert_true(totp::parse_algorithm("SHA512") == Algorithm::sha512);
  for (std::string_view bad : {"", "SHA-1", "sha1 ", " sha1", "MD5", "SHA384", "sha", "SHA5120"}) {
    assert_false(totp::parse_algorithm(bad).has_value());
  }
  assert_false(totp::parse_algorithm(std::string_view("SHA1\0", 5)).has_value());
}

void test_validate_params(void**) {
  assert_true(totp::validate_params(OtpParams{}).ok());
  assert_true(totp::validate_params({Algorithm::sha512, 8, 15}).ok());
  assert_true(totp::validate_params({Algorithm::sha256, 7, 300}).ok());
  const OtpParams bad[] = {
      {Algorithm::sha1, 5, 30},   {Algorithm::sha1, 9, 30},   {Algorithm::sha1, 0, 30},
      {Algorithm::sha1, -6, 30},  {Algorithm::sha1, 6, 14},   {Algorithm::sha1, 6, 301},
      {Algorithm::sha1, 6, 0},    {Algorithm::sha1, 6, -30},  {static_cast<Algorithm>(0), 6, 30},
      {static_cast<Algorithm>(4), 6, 30},
  };
  for (const auto& p : bad) {
    assert_false(totp::validate_params(p).ok());
    assert_false(totp::totp_code(bytes_of(kSeed20), p, 59).ok());
    assert_false(totp::totp_verify(bytes_of(kSeed20), p, "123456", 59, 1, std::nullopt).ok());
  }
  assert_false(totp::hotp(bytes_of(kSeed20), 0, Algorithm::sha1, 5).ok());
  assert_false(totp::hotp(bytes_of(kSeed20), 0, Algorithm::sha1, 9).ok());
  assert_false(totp::hotp(bytes_of(kSeed20), 0, static_cast<Algorithm>(7), 6).ok());
  // An empty secret is refused, not silently HMAC'd.
  auto empty = totp::hotp(std::span<const std::uint8_t>(), 0, Algorithm::sha1, 6);
  assert_false(empty.ok());
  assert_int_equal(static_cast<int>(empty.error().code), static_cast<int>(totp::Errc::invalid_argument));
  assert_false(totp::totp_verify(std::span<const std::uint8_t>(), OtpParams{}, "123456", 59, 1, std::nullopt).ok());
}

void test_format_and_step(void**) {
  assert_string_equal(totp::format_code(7081804, 8).c_str(), "07081804");
  assert_string_equal(totp::format_code(5, 6).c_str(), "000005");
  assert_string_equal(totp::format_code(0, 7).c_str(), "0000000");
  assert_string_equal(totp::format_code(999999, 6).c_str(), "999999");
  assert_int_equal(totp::totp_step(59, 30), 1);
  assert_int_equal(totp::totp_step(60, 30), 2);
  assert_int_equal(totp::totp_step(0, 30), 0);
  assert_int_equal(totp::totp_step(-1, 30), 0);
  assert_int_equal(totp::totp_step(std::numeric_limits<std::int64_t>::min(), 30), 0);
  assert_int_equal(totp::totp_step(100, 0), 0);
  assert_int_equal(totp::totp_step(100, -5), 0);
  assert_int_equal(totp::totp_step(std::numeric_limits<std::int64_t>::max(), 15),
                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / 15);
  // Digits: a 6- and 7-digit code are the 8-digit value's tail (mod 10^d).
  const OtpParams p8{Algorithm::sha1, 8, 30}, p7{Algorithm::sha1, 7, 30}, p6{Algorithm::sha1, 6, 30};
  assert_string_equal(code_at(kSeed20, p7, 1111111109).c_str(), "7081804");
  assert_string_equal(code_at(kSeed20, p6, 1111111109).c_str(), "081804");
  assert_string_equal(code_at(kSeed20, p8, 1111111109).c_str(), "07081804");
  // Period: the same step number gives the same code.
  const OtpParams p60{Algorithm::sha1, 8, 60};
  assert_string_equal(code_at(kSeed20, p60, 2LL * 1111111109).c_str(), "07081804");
}

void test_far_future_and_past(void**) {
  const OtpParams p{Algorithm::sha256, 6, 15};
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::string far = code_at(kSeed32, p, max);
  assert_int_equal(far.size(), 6);
  auto r = verify(kSeed32, p, far, max, totp::kMaxWindow);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, static_cast<std::uint64_t>(max) / 15);
  // Before 1970 counts as step 0; the window does not wrap below 0.
  const std::string zero = code_at(kSeed32, p, 0);
  assert_string_equal(code_at(kSeed32, p, -1000000).c_str(), zero.c_str());
  r = verify(kSeed32, p, zero, -5, totp::kMaxWindow);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, 0);
}

void test_window_edges(void**) {
  const OtpParams p{Algorithm::sha1, 6, 30};
  const std::int64_t now = 1700000000;  // inside step 56666666, 20 s in
  const std::uint64_t now_step = totp::totp_step(now, 30);
  for (int window : {0, 1, 3, totp::kMaxWindow}) {
    for (int delta = -(window + 2); delta <= window + 2; ++delta) {
      const std::string code = code_at(kSeed20, p, now + 30LL * delta);
      const auto r = verify(kSeed20, p, code, now, window);
      const bool inside = delta >= -window && delta <= window;
      if (inside) {
        assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
        assert_int_equal(r.step, now_step + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)));
      } else {
        // An outside code could collide with an inside one by chance; these
        // fixed times were checked not to, so it must be wrong.
        assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::wrong));
      }
    }
  }
  // The step boundary: t = 30k-1 and 30k are different steps.
  const std::int64_t boundary = 30LL * 56666667;
  const auto before = code_at(kSeed20, p, boundary - 1);
  auto r = verify(kSeed20, p, before, boundary, 0);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::wrong));
  r = verify(kSeed20, p, before, boundary - 1, 0);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  // Window out of range is an error, not a silent clamp.
  assert_false(totp::totp_verify(bytes_of(kSeed20), p, before, now, totp::kMaxWindow + 1, std::nullopt).ok());
  assert_false(totp::totp_verify(bytes_of(kSeed20), p, before, now, -1, std::nullopt).ok());
}

void test_replay(void**) {
  const OtpParams p{Algorithm::sha512, 8, 30};
  const std::int64_t now = 1234567890;
  const std::uint64_t s = totp::totp_step(now, 30);
  const std::string current = code_at(kSeed64, p, now);
  const std::string next = code_at(kSeed64, p, now + 30);
  const std::string previous = code_at(kSeed64, p, now - 30);

  auto r = verify(kSeed64, p, current, now, 1, s - 1);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, s);
  // The same code again, after it was recorded as used.
  r = verify(kSeed64, p, current, now, 1, s);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::replayed));
  assert_int_equal(r.step, s);
  // An older step than the last used one is a replay too.
  r = verify(kSeed64, p, previous, now, 1, s);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::replayed));
  assert_int_equal(r.step, s - 1);
  // After next's step was used, the current code is also refused.
  r = verify(kSeed64, p, current, now, 1, s + 1);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::replayed));
  r = verify(kSeed64, p, next, now, 1, s);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, s + 1);
  // last_used_step = 0 still allows step 0's successors; nullopt allows all.
  r = verify(kSeed64, p, previous, now, 1, std::nullopt);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  // A wrong code stays wrong whatever the replay state.
  std::string wrong = current;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  r = verify(kSeed64, p, wrong, now, 1, s);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::wrong));
}

// With the RFC 4226 seed, HOTP steps 2386 and 2394 share the 6-digit value
// 709847 (found by search). Both lie in one window, so every step must be
// computed and the outcome must follow the documented preference.
void test_colliding_steps_in_one_window(void**) {
  auto a = totp::hotp(bytes_of(kSeed20), 2386, Algorithm::sha1, 6);
  auto b = totp::hotp(bytes_of(kSeed20), 2394, Algorithm::sha1, 6);
  assert_true(a.ok() && b.ok());
  assert_int_equal(*a, 709847);
  assert_int_equal(*b, 709847);
  const OtpParams p{Algorithm::sha1, 6, 30};
  const std::int64_t now = 2390LL * 30 + 7;
  auto r = verify(kSeed20, p, "709847", now, 4);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, 2386);
  r = verify(kSeed20, p, "709847", now, 4, 2386);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, 2394);
  r = verify(kSeed20, p, "709847", now, 4, 2390);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::accepted));
  assert_int_equal(r.step, 2394);
  r = verify(kSeed20, p, "709847", now, 4, 2394);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::replayed));
  assert_int_equal(r.step, 2386);
  r = verify(kSeed20, p, "709847", 2389LL * 30, 4, 2386);  // 2394 is outside 2385..2393
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(VerifyOutcome::replayed));
  assert_int_equal(r.step, 2386);
}

void test_malformed_candidates(void**) {
  const OtpParams p{Algorithm::sha1, 6, 30};
  const std::int64_t now = 1111111111;
  const std::string good = code_at(kSeed20, p, now);
  assert_int_equal(static_cast<int>(verify(kSeed20, p, good, now, 1).outcome),
                   static_cast<int>(VerifyOutcome::accepted));
  const std::string bad[] = {
      "",
      good.substr(0, 5),
      good + "0",
      "0" + good,
      " " + good,
      good + " ",
      good + "\n",
      good.substr(0, 3) + " " + good.substr(3),
      "+" + good.substr(1),
      "-" + good.substr(1),
      "abcdef",
      good.substr(0, 5) + "a",
      std::string(good.substr(0, 3)) + std::string(1, '\0') + good.substr(4),
      good.substr(0, 4) + "\xc2\xb2",  // superscript two: UTF-8, not a digit
      good.substr(0, 5) + "\xff",
      std::string(1000, '1'),
      "\x1b[A" + good.substr(3),
  };
  for (const auto& candidate : bad) {
    auto r = totp::totp_verify(bytes_of(kSeed20), p, candidate, now, 1, std::nullopt);
    assert_true(r.ok());
    assert_int_equal(static_cast<int>(r->outcome), static_cast<int>(VerifyOutcome::wrong));
  }
  // Digits of the wrong count for these params: an 8-digit code for 6-digit params.
  const OtpParams p8{Algorithm::sha1, 8, 30};
  const std::string eight = code_at(kSeed20, p8, now);
  assert_int_equal(static_cast<int>(verify(kSeed20, p, eight, now, 1).outcome),
                   static_cast<int>(VerifyOutcome::wrong));
}

void test_key_sensitivity(void**) {
  // Any change of the key, period or algorithm changes the code (for these
  // fixed inputs), i.e. none of them is ignored.
  const OtpParams p{Algorithm::sha1, 8, 30};
  const std::string base = code_at(kSeed20, p, 1234567890);
  std::string other_key(kSeed20);
  other_key[19] = '1';
  assert_string_not_equal(code_at(other_key, p, 1234567890).c_str(), base.c_str());
  assert_string_not_equal(code_at(kSeed20, {Algorithm::sha256, 8, 30}, 1234567890).c_str(), base.c_str());
  assert_string_not_equal(code_at(kSeed20, {Algorithm::sha1, 8, 31}, 1234567890).c_str(), base.c_str());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4226_appendix_d),
      cmocka_unit_test(test_rfc6238_appendix_b),
      cmocka_unit_test(test_algorithm_names),
      cmocka_unit_test(test_validate_params),
      cmocka_unit_test(test_format_and_step),
      cmocka_unit_test(test_far_future_and_past),
      cmocka_unit_test(test_window_edges),
      cmocka_unit_test(test_replay),
      cmocka_unit_test(test_colliding_steps_in_one_window),
      cmocka_unit_test(test_malformed_candidates),
      cmocka_unit_test(test_key_sensitivity),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
