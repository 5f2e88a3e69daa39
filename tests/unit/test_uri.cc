// SPDX-License-Identifier: Apache-2.0
// otpauth:// URIs: exact expected strings, percent-encoding of reserved
// characters and UTF-8 in issuer and account, every parameter present.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base32.h"
#include "core/uri.h"

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

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr std::string_view kSeed = "12345678901234567890";  // GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ

void test_percent_encode(void**) {
  assert_string_equal(totp::percent_encode("").c_str(), "");
  assert_string_equal(totp::percent_encode("AZaz09-._~").c_str(), "AZaz09-._~");
  assert_string_equal(totp::percent_encode("a b").c_str(), "a%20b");
  assert_string_equal(totp::percent_encode(":&?/#=+%@").c_str(), "%3A%26%3F%2F%23%3D%2B%25%40");
  assert_string_equal(totp::percent_encode("\"<>\\^`{|}[]!$'()*,;").c_str(),
                      "%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D%21%24%27%28%29%2A%2C%3B");
  // UTF-8 bytes one by one, upper-case hex.
  assert_string_equal(totp::percent_encode("M\xc3\xbcller").c_str(), "M%C3%BCller");
  assert_string_equal(totp::percent_encode("\xe2\x82\xac").c_str(), "%E2%82%AC");
  // Control bytes and NUL.
  assert_string_equal(totp::percent_encode(std::string_view("a\0b\n\x7f", 5)).c_str(), "a%00b%0A%7F");
}

void test_plain_uri(void**) {
  const auto uri = totp::build_otpauth_uri("example.com", "alice", bytes_of(kSeed), OtpParams{});
  assert_string_equal(uri.c_str(),
                      "otpauth://totp/example.com:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=example.com"
                      "&algorithm=SHA1&digits=6&period=30");
}

void test_all_parameters_stated(void**) {
  const auto uri = totp::build_otpauth_uri("host", "bob", bytes_of("foob"), {Algorithm::sha512, 8, 60});
  // "foob" has a 7-character base32 form: no '=' padding in URIs.
  assert_string_equal(uri.c_str(),
                      "otpauth://totp/host:bob?secret=MZXW6YQ&issuer=host&algorithm=SHA512&digits=8&period=60");
  const auto uri256 = totp::build_otpauth_uri("h", "u", bytes_of(kSeed), {Algorithm::sha256, 7, 15});
  assert_string_equal(uri256.c_str(),
                      "otpauth://totp/h:u?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=h&algorithm=SHA256"
                      "&digits=7&period=15");
}

void test_reserved_characters_and_utf8(void**) {
  const auto uri = totp::build_otpauth_uri("ACME Co: R&D?/#", "j.doe@example.com", bytes_of(kSeed), OtpParams{});
  assert_string_equal(uri.c_str(),
                      "otpauth://totp/ACME%20Co%3A%20R%26D%3F%2F%23:j.doe%40example.com"
                      "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co%3A%20R%26D%3F%2F%23"
                      "&algorithm=SHA1&digits=6&period=30");
  const auto utf8 = totp::build_otpauth_uri("B\xc3\xbcro M\xc3\xbcnchen", "j\xc3\xb6rg m:x", bytes_of(kSeed),
                                            {Algorithm::sha256, 6, 30});
  assert_string_equal(utf8.c_str(),
                      "otpauth://totp/B%C3%BCro%20M%C3%BCnchen:j%C3%B6rg%20m%3Ax"
                      "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=B%C3%BCro%20M%C3%BCnchen"
                      "&algorithm=SHA256&digits=6&period=30");
  // The label has exactly one literal ':' (the separator) and the query
  // exactly the five parameters.
  const std::string_view v(uri);
  const auto query = v.find('?');
  assert_true(query != std::string_view::npos);
  const auto label = v.substr(15, query - 15);
  assert_int_equal(std::count(label.begin(), label.end(), ':'), 1);
  const auto params = v.substr(query + 1);
  assert_int_equal(std::count(params.begin(), params.end(), '&'), 4);
  assert_int_equal(std::count(v.begin(), v.end(), '#'), 0);
  assert_int_equal(std::count(v.begin(), v.end(), ' '), 0);
}

void test_empty_issuer(void**) {
  // No issuer: a bare account label and no issuer parameter.
  const auto uri = totp::build_otpauth_uri("", "alice", bytes_of(kSeed), OtpParams{});
  assert_string_equal(uri.c_str(),
                      "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30");
}

void test_secret_round_trips(void**) {
  const std::string_view seed64 = "1234567890123456789012345678901234567890123456789012345678901234";
  const auto uri = totp::build_otpauth_uri("i", "a", bytes_of(seed64), {Algorithm::sha512, 6, 30});
  const auto start = uri.find("secret=") + 7;
  const auto end = uri.find('&', start);
  auto secret = totp::base32_decode(std::string_view(uri).substr(start, end - start), totp::Base32Mode::strict);
  assert_true(secret.ok());
  assert_int_equal(secret->size(), seed64.size());
  assert_memory_equal(secret->data(), seed64.data(), seed64.size());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percent_encode),
      cmocka_unit_test(test_plain_uri),
      cmocka_unit_test(test_all_parameters_stated),
      cmocka_unit_test(test_reserved_characters_and_utf8),
      cmocka_unit_test(test_empty_issuer),
      cmocka_unit_test(test_secret_round_trips),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
