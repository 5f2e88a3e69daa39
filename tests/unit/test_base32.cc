// SPDX-License-Identifier: Apache-2.0
// RFC 4648 base32: section 10 vectors, round trips, strict vs lenient, and
// hostile input, each rejected with an error that names what and where.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/rand.h>

#include "core/base32.h"

// cmocka last: its macros (fail, ...) clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::Base32Mode;
using totp::Base32Padding;
using totp::Errc;

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string decode_ok(std::string_view text, Base32Mode mode) {
  auto r = totp::base32_decode(text, mode);
  if (!r.ok()) fail_msg("decode failed: %s", r.error().message.c_str());
  return std::string(r->view());
}

// Decoding fails with `code` and a message containing `needle`.
void expect_error(std::string_view text, Base32Mode mode, Errc code, std::string_view needle) {
  auto r = totp::base32_decode(text, mode);
  if (r.ok()) fail_msg("decode of a bad input succeeded (%zu bytes in)", text.size());
  if (r.error().code != code) {
    fail_msg("expected %s, got %s: %s", totp::errc_name(code), totp::errc_name(r.error().code),
             r.error().message.c_str());
  }
  if (r.error().message.find(needle) == std::string::npos) {
    fail_msg("message '%s' lacks '%.*s'", r.error().message.c_str(), static_cast<int>(needle.size()),
             needle.data());
  }
}

struct Vector {
  const char* plain;
  const char* padded;
  const char* bare;
};
// RFC 4648 section 10.
const Vector kRfcVectors[] = {
    {"f", "MY======", "MY"},           {"fo", "MZXQ====", "MZXQ"},       {"foo", "MZXW6===", "MZXW6"},
    {"foob", "MZXW6YQ=", "MZXW6YQ"},   {"fooba", "MZXW6YTB", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"},
};

void test_rfc4648_encode(void**) {
  assert_string_equal(totp::base32_encode(bytes_of(""), Base32Padding::pad).c_str(), "");
  assert_string_equal(totp::base32_encode(bytes_of("")).c_str(), "");
  for (const auto& v : kRfcVectors) {
    assert_string_equal(totp::base32_encode(bytes_of(v.plain), Base32Padding::pad).c_str(), v.padded);
    assert_string_equal(totp::base32_encode(bytes_of(v.plain), Base32Padding::none).c_str(), v.bare);
    assert_string_equal(totp::base32_encode(bytes_of(v.plain)).c_str(), v.bare);  // default: none
  }
}

void test_rfc4648_decode(void**) {
  for (const auto& v : kRfcVectors) {
    for (auto mode : {Base32Mode::strict, Base32Mode::lenient}) {
      assert_string_equal(decode_ok(v.padded, mode).c_str(), v.plain);
      assert_string_equal(decode_ok(v.bare, mode).c_str(), v.plain);
    }
  }
  // The RFC 6238 seed as authenticator apps see it.
  assert_string_equal(decode_ok("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", Base32Mode::strict).c_str(),
                      "12345678901234567890");
}

void test_round_trips(void**) {
  std::vector<std::uint8_t> buf(200);
  assert_int_equal(RAND_bytes(buf.data(), static_cast<int>(buf.size())), 1);
  for (std::size_t n = 1; n <= buf.size(); ++n) {
    const std::span<const std::uint8_t> in(buf.data(), n);
    for (auto pad : {Base32Padding::none, Base32Padding::pad}) {
      const std::string text = totp::base32_encode(in, pad);
      assert_int_equal(text.size(), pad == Base32Padding::pad ? (n + 4) / 5 * 8 : (n * 8 + 4) / 5);
      auto out = totp::base32_decode(text, Base32Mode::strict);
      assert_true(out.ok());
      assert_int_equal(out->size(), n);
      assert_memory_equal(out->data(), in.data(), n);
    }
  }
  // Every byte value survives.
  std::vector<std::uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  auto out = totp::base32_decode(totp::base32_encode(all), Base32Mode::strict);
  assert_true(out.ok());
  assert_memory_equal(out->data(), all.data(), all.size());
}

void test_lenient_human_input(void**) {
  const std::string plain = "12345678901234567890";
  for (std::string_view typed : {"gezdgnbvgy3tqojqgezdgnbvgy3tqojq", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
                                 "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq", " GeZdGnBvGy3TqOjQ GeZdGnBvGy3TqOjQ ",
                                 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}) {
    assert_string_equal(decode_ok(typed, Base32Mode::lenient).c_str(), plain.c_str());
  }
  assert_string_equal(decode_ok("my======", Base32Mode::lenient).c_str(), "f");
  assert_string_equal(decode_ok("MZXW6 YQ=", Base32Mode::lenient).c_str(), "foob");
}

void test_strict_rejects_lenient_only(void**) {
  expect_error("mzxw6ytb", Base32Mode::strict, Errc::parse_error, "position 0");
  expect_error("MZXW6ytb", Base32Mode::strict, Errc::parse_error, "lower-case letter at position 5");
  expect_error("MZXW 6YTB", Base32Mode::strict, Errc::parse_error, "space or dash at position 4");
  expect_error("MZXW-6YTB", Base32Mode::strict, Errc::parse_error, "space or dash at position 4");
  expect_error(" MZXW6YTB", Base32Mode::strict, Errc::parse_error, "position 0");
}

void test_hostile_input(void**) {
  for (auto mode : {Base32Mode::strict, Base32Mode::lenient}) {
    expect_error("", mode, Errc::invalid_argument, "empty");
    expect_error(std::string(1025, 'A'), mode, Errc::too_large, "1024");
    expect_error(std::string_view("MZXW\0" "6YTB", 9), mode, Errc::parse_error, "NUL byte at position 4");
    expect_error("MZXW6YT\n", mode, Errc::parse_error, "control byte at position 7");
    expect_error("\tMZXW6YTB", mode, Errc::parse_error, "control byte at position 0");
    expect_error("MZ\x7fW6YTB", mode, Errc::parse_error, "control byte at position 2");
    expect_error("MZXW6YT\xc3\x89", mode, Errc::parse_error, "non-ASCII byte at position 7");
    expect_error("\xff", mode, Errc::parse_error, "non-ASCII byte at position 0");
    for (char digit : {'0', '1', '8', '9'}) {
      std::string text = "MZXW6YTB";
      text[3] = digit;
      expect_error(text, mode, Errc::parse_error, "digit outside 2-7 at position 3");
    }
    expect_error("MZXW6YT+", mode, Errc::parse_error, "outside the base32 alphabet at position 7");
    expect_error("MZXW6YT_", mode, Errc::parse_error, "position 7");
    // Padding: wrong amounts, data after padding, padding only.
    expect_error("MY=====", mode, Errc::parse_error, "padding");
    expect_error("MY=======", mode, Errc::parse_error, "padding");
    expect_error("MZXW6YQ==", mode, Errc::parse_error, "padding");
    expect_error("MZXW6YTB=", mode, Errc::parse_error, "padding");
    expect_error("MY=A====", mode, Errc::parse_error, "data after padding at position 3");
    expect_error("=MY", mode, Errc::parse_error, "data after padding at position 1");
    expect_error("========", mode, Errc::invalid_argument, "no data");
    // Impossible lengths: 1, 3 and 6 characters leave a partial byte.
    expect_error("M", mode, Errc::parse_error, "length");
    expect_error("MZX", mode, Errc::parse_error, "length");
    expect_error("MZXW6Y", mode, Errc::parse_error, "length");
    expect_error("MZXW6YTBM", mode, Errc::parse_error, "length");
    // Non-zero trailing bits: "MZ" is canonical for "f", "MZ" + bits set is not.
    expect_error("MZ", mode, Errc::parse_error, "trailing bits");
    expect_error("MZXR", mode, Errc::parse_error, "trailing bits");
    expect_error("MZXW7", mode, Errc::parse_error, "trailing bits");
    expect_error("MZXW6YR", mode, Errc::parse_error, "trailing bits");
  }
  expect_error("  - -", Base32Mode::lenient, Errc::invalid_argument, "no data");
  // 1024 characters exactly is accepted.
  assert_int_equal(decode_ok(std::string(1024, 'A'), Base32Mode::strict).size(), 640);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4648_encode),          cmocka_unit_test(test_rfc4648_decode),
      cmocka_unit_test(test_round_trips),             cmocka_unit_test(test_lenient_human_input),
      cmocka_unit_test(test_strict_rejects_lenient_only), cmocka_unit_test(test_hostile_input),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
