// SPDX-License-Identifier: Apache-2.0
// RFC 4648 base32 (alphabet A-Z2-7).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

enum class Base32Padding { none, pad };  // otpauth URIs use none

std::string base32_encode(std::span<const std::uint8_t> bytes, Base32Padding padding = Base32Padding::none);

enum class Base32Mode {
  strict,   // upper case A-Z2-7 only; '=' padding optional but, if present, exactly right
  lenient,  // human input: also lower case, spaces and dashes (ignored)
};

// Decodes; rejects empty input, input over 1024 characters, any other
// character (NUL, control bytes, non-ASCII, '0', '1', '8', '9'), bad padding
// and non-zero trailing bits. The error message names the offending position.
Result<SecureBytes> base32_decode(std::string_view text, Base32Mode mode);

}  // namespace totp
