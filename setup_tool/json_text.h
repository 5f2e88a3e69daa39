// SPDX-License-Identifier: Apache-2.0
// Pieces of JSON text handling that the protocol's own readers and writer
// share: request_parser.cc and reply_parser.cc (the byte cursor, the error
// for a malformed line) and reply_parser.cc and json_writer.cc (the UTF-8
// check). Not for other users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "core/result.h"

namespace totp::setup::detail {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing over U+10FFFF), or 0; then `skip` is the
// number of bytes one U+FFFD replaces (the lead byte and any continuation
// bytes that were still valid: the "maximal subpart").
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& skip) noexcept;

// A line that is not well-formed JSON (or not the JSON we take).
inline Error malformed(const char* why) { return make_error(Errc::parse_error, why); }

// The read position in one message line, for the strict recursive-descent
// parsers: in_ is the whole line, pos_ the next byte.
class JsonCursor {
 protected:
  explicit JsonCursor(std::span<const std::uint8_t> in) : in_(in) {}

  int peek() const noexcept { return pos_ < in_.size() ? in_[pos_] : -1; }
  bool eat(char c) noexcept {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) noexcept {
    if (in_.size() - pos_ < w.size() || std::memcmp(in_.data() + pos_, w.data(), w.size()) != 0) return false;
    pos_ += w.size();
    return true;
  }
  // JSON whitespace (RFC 8259): space, tab, CR, LF.
  void skip_ws() noexcept {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') ++pos_;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace totp::setup::detail
