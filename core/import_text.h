// SPDX-License-Identifier: Apache-2.0
// Small text pieces both import parsers use (import_google, import_oath):
// whole-file checks, a line reader and strict numbers. Every message names
// a position or a kind of byte, never the bytes themselves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace totp {

// The file is not empty and ends with a newline: both peers write a newline
// after every line, so a file without one was cut short (a full disk, a
// copy that was interrupted) and its last line cannot be trusted.
Status check_import_text(std::string_view text);

// What is wrong with the bytes of one line (as LineReader gives it), or nullopt if it is printable ASCII, spaces and tabs:
// "a NUL byte", "a control byte", "a non-ASCII byte".
std::optional<std::string> bad_byte_in(std::string_view line);

// Lines of a text that ends with '\n'; a final '\r' is dropped.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  // The next line and its number (1-based); false at the end.
  bool next(std::string_view& line, std::size_t& number);

 private:
  std::string_view rest_;
  std::size_t number_ = 0;
};

std::string_view trim_blanks(std::string_view s) noexcept;

// A decimal number of at most 9 digits, no sign, within 0..max.
std::optional<int> parse_small_number(std::string_view s, int max) noexcept;

}  // namespace totp
