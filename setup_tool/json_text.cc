// SPDX-License-Identifier: Apache-2.0
// The UTF-8 check that the reply parser (to refuse invalid UTF-8) and the
// JSON writer (to replace it by U+FFFD, as Json::dump does) share.
#include "setup_tool/json_text.h"

namespace totp::setup::detail {

// See json_text.h.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& skip) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    skip = 1;
    return 0;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      skip = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
    if (b < l || b > h) {
      skip = k;
      return 0;
    }
  }
  return need + 1;
}

}  // namespace totp::setup::detail
