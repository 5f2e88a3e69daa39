// SPDX-License-Identifier: Apache-2.0
// Text pieces of the import parsers: see import_text.h.
#include "core/import_text.h"

namespace totp {

Status check_import_text(std::string_view text) {
  if (text.empty()) return make_error(Errc::parse_error, "the file is empty");
  if (text.back() != '\n') {
    return make_error(Errc::parse_error, "the file does not end with a newline (truncated?)");
  }
  return ok_status();
}

std::optional<std::string> bad_byte_in(std::string_view line) {
  for (char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) return std::string("a NUL byte");
    if (c >= 0x80) return std::string("a non-ASCII byte");
    if ((c < 0x20 && c != '\t') || c == 0x7f) return std::string("a control byte");
  }
  return std::nullopt;
}

bool LineReader::next(std::string_view& line, std::size_t& number) {
  if (rest_.empty()) return false;
  const std::size_t end = rest_.find('\n');
  line = rest_.substr(0, end);
  rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  number = ++number_;
  return true;
}

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<int> parse_small_number(std::string_view s, int max) noexcept {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

}  // namespace totp
