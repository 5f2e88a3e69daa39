// SPDX-License-Identifier: Apache-2.0
// RFC 4648 section 6 base32. Decoding is two passes over the text: the first
// validates every character and counts the data characters (so an error can
// name its position before any secret byte is produced), the second decodes
// straight into a SecureBytes of the exact size, so no partial copy of a
// secret is left in an ordinary buffer.
#include "core/base32.h"

#include <cstddef>
#include <string>

namespace totp {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kMaxInput = 1024;

// The value of an alphabet character, or -1. Lower case only when asked.
int symbol_value(unsigned char c, bool allow_lower) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (allow_lower && c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool is_separator(unsigned char c) noexcept { return c == ' ' || c == '-'; }

// Names the class of a bad byte without echoing it (the text may be a secret).
std::string describe_bad_byte(unsigned char c, std::size_t pos, Base32Mode mode) {
  const std::string where = " at position " + std::to_string(pos);
  if (c == 0) return "NUL byte" + where;
  if (c < 0x20 || c == 0x7f) return "control byte" + where;
  if (c >= 0x80) return "non-ASCII byte" + where;
  if (mode == Base32Mode::strict) {
    if (c >= 'a' && c <= 'z') return "lower-case letter" + where + " (strict base32 is upper case)";
    if (is_separator(c)) return "space or dash" + where + " (not allowed in strict base32)";
  }
  if (c == '0' || c == '1' || c == '8' || c == '9') return "digit outside 2-7" + where + " (not base32)";
  return "character outside the base32 alphabet" + where;
}

// Number of '=' that must follow `data_chars` data characters when padded,
// or -1 if no valid encoding ends with that many characters in its last group.
int required_padding(std::size_t data_chars) noexcept {
  switch (data_chars % 8) {
    case 0: return 0;
    case 2: return 6;
    case 4: return 4;
    case 5: return 3;
    case 7: return 1;
    default: return -1;
  }
}

}  // namespace

std::string base32_encode(std::span<const std::uint8_t> bytes, Base32Padding padding) {
  std::string out;
  out.reserve((bytes.size() + 4) / 5 * 8);
  std::uint32_t acc = 0;  // at most 12 pending bits
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kAlphabet[(acc >> bits) & 0x1f]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (5 - bits)) & 0x1f]);
  acc = 0;
  if (padding == Base32Padding::pad) {
    while (out.size() % 8 != 0) out.push_back('=');
  }
  return out;
}

Result<SecureBytes> base32_decode(std::string_view text, Base32Mode mode) {
  if (text.empty()) return make_error(Errc::invalid_argument, "base32: empty input");
  if (text.size() > kMaxInput) {
    return make_error(Errc::too_large, "base32: input longer than " + std::to_string(kMaxInput) + " characters");
  }
  const bool lenient = mode == Base32Mode::lenient;

  // Pass 1: validate, count.
  std::size_t data_chars = 0;
  std::size_t pad_chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (lenient && is_separator(c)) continue;
    if (c == '=') {
      ++pad_chars;
      continue;
    }
    if (symbol_value(c, lenient) < 0) return make_error(Errc::parse_error, "base32: " + describe_bad_byte(c, i, mode));
    if (pad_chars > 0) {
      return make_error(Errc::parse_error, "base32: data after padding at position " + std::to_string(i));
    }
    ++data_chars;
  }
  if (data_chars == 0) return make_error(Errc::invalid_argument, "base32: no data characters");
  const int need = required_padding(data_chars);
  if (need < 0) {
    return make_error(Errc::parse_error, "base32: impossible length (" + std::to_string(data_chars) +
                                             " data characters leave a partial byte group)");
  }
  if (pad_chars != 0 && pad_chars != static_cast<std::size_t>(need)) {
    return make_error(Errc::parse_error, "base32: wrong padding (" + std::to_string(pad_chars) + " '=' where " +
                                             std::to_string(need) + " are required)");
  }

  // Pass 2: decode.
  SecureBytes out(data_chars * 5 / 8);
  std::size_t written = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '=' || (lenient && is_separator(c))) continue;
    acc = (acc << 5) | static_cast<std::uint32_t>(symbol_value(c, lenient));
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = static_cast<std::uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  const bool trailing_bits_set = acc != 0;
  acc = 0;
  if (trailing_bits_set) return make_error(Errc::parse_error, "base32: non-zero trailing bits in the last character");
  return out;
}

}  // namespace totp
