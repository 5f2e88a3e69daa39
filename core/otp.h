// SPDX-License-Identifier: Apache-2.0
// HOTP (RFC 4226) and TOTP (RFC 6238) over OpenSSL EVP_MAC (HMAC).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace totp {

enum class Algorithm : std::uint8_t { sha1 = 1, sha256 = 2, sha512 = 3 };

// "SHA1", "SHA256", "SHA512" (the spelling of otpauth URIs and the config).
const char* algorithm_name(Algorithm a) noexcept;
// Accepts those names case-insensitively; nullopt otherwise.
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;

constexpr int kMinDigits = 6, kMaxDigits = 8;
constexpr int kMinPeriod = 15, kMaxPeriod = 300;
constexpr int kMaxWindow = 10;

struct OtpParams {
  Algorithm algorithm = Algorithm::sha1;
  int digits = 6;    // 6..8
  int period = 30;   // 15..300 seconds
};
Status validate_params(const OtpParams& p);

// The numeric HOTP value (already reduced mod 10^digits).
Result<std::uint32_t> hotp(std::span<const std::uint8_t> key, std::uint64_t counter, Algorithm algorithm,
                           int digits);
// Zero-padded decimal text of a code.
std::string format_code(std::uint32_t code, int digits);

// Time step for a unix time (floor(t / period)); times before 1970 give 0.
std::uint64_t totp_step(std::int64_t unix_time, int period) noexcept;
// The code text for a unix time.
Result<std::string> totp_code(std::span<const std::uint8_t> key, const OtpParams& p, std::int64_t unix_time);

enum class VerifyOutcome {
  wrong,     // matched no step in the window
  accepted,  // matched a step newer than last_used_step
  replayed,  // matched a step in the window, but not newer than last_used_step
};
struct VerifyResult {
  VerifyOutcome outcome = VerifyOutcome::wrong;
  std::uint64_t step = 0;  // the matched step (accepted or replayed)
};

// Checks `candidate` (exactly `digits` ASCII digits, already normalised by
// the caller) against every step in [now-window, now+window], each compared
// in constant time; all steps are computed whatever matches. A step <=
// last_used_step is reported as replayed, never accepted. A malformed
// candidate is simply `wrong`. Errors only for crypto failures or bad params.
Result<VerifyResult> totp_verify(std::span<const std::uint8_t> key, const OtpParams& p,
                                 std::string_view candidate, std::int64_t now, int window,
                                 std::optional<std::uint64_t> last_used_step);

}  // namespace totp
