// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for base32 (core/base32.h): secrets typed by users
// (lenient), in otpauth URIs and import files (strict). The same bytes are
// decoded in both modes and, as data, encoded and decoded back. Checked
// beyond "no crash":
//   - encode then decode (strict) gives the same bytes, with and without
//     padding; the encoding is upper-case A-Z2-7 (and '=') only;
//   - whatever strict decoding accepts is canonical: encoding the result
//     gives the input back (minus optional padding), and lenient decoding
//     of the same text gives the same bytes;
//   - whatever lenient decoding accepts decodes strictly once separators
//     are dropped and letters upper-cased, to the same bytes;
//   - an error message never quotes the input (no byte of it past the
//     fixed words: checked as printable ASCII without newlines).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/base32.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const totp::SecureBytes& a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && (b.empty() || std::memcmp(a.data(), b.data(), b.size()) == 0);
}

void check_message(const std::string& m) {
  check(!m.empty());
  for (char c : m) check(c >= 0x20 && c < 0x7f);
}

void round_trip(std::span<const std::uint8_t> bytes) {
  for (auto pad : {totp::Base32Padding::none, totp::Base32Padding::pad}) {
    const std::string enc = totp::base32_encode(bytes, pad);
    check(enc.size() == (pad == totp::Base32Padding::pad ? (bytes.size() + 4) / 5 * 8 : (bytes.size() * 8 + 4) / 5));
    for (char c : enc) check((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') || c == '=');
    if (bytes.empty() || enc.size() > 1024) continue;  // decode refuses empty and over-long input
    auto dec = totp::base32_decode(enc, totp::Base32Mode::strict);
    check(dec.ok() && same(*dec, bytes));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  round_trip(std::span<const std::uint8_t>(data, size));

  auto strict = totp::base32_decode(text, totp::Base32Mode::strict);
  if (strict.ok()) {
    check(!strict->empty());
    const bool padded = text.find('=') != std::string_view::npos;
    const std::string again =
        totp::base32_encode(strict->span(), padded ? totp::Base32Padding::pad : totp::Base32Padding::none);
    check(again == text);
    auto lenient = totp::base32_decode(text, totp::Base32Mode::lenient);
    check(lenient.ok() && same(*lenient, strict->span()));
  } else {
    check_message(strict.error().message);
  }

  auto lenient = totp::base32_decode(text, totp::Base32Mode::lenient);
  if (lenient.ok()) {
    std::string canon;
    for (char c : text) {
      if (c == ' ' || c == '-') continue;
      canon.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
    auto s = totp::base32_decode(canon, totp::Base32Mode::strict);
    check(s.ok() && same(*s, lenient->span()));
  } else {
    check_message(lenient.error().message);
  }
  return 0;
}
