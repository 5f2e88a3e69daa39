// SPDX-License-Identifier: Apache-2.0
// The file google-authenticator(1) writes (~/.google_authenticator, or the
// file named by pam_google_authenticator's secret= option):
//   line 1      the secret, base32
//   " OPTION    option lines: RATE_LIMIT n m [times...], WINDOW_SIZE n,
//               DISALLOW_REUSE [steps...], TOTP_AUTH, HOTP_COUNTER n,
//               STEP_SIZE n, TIME_SKEW n
//   DDDDDDDD    emergency scratch codes, 8 digits each (10000000..99999999)
// Codes are always 6 digits of HMAC-SHA1. The parser is strict: anything
// google-authenticator would not have written refuses the file, with one
// reason that names the line and never the secret.
#pragma once

#include <cstdint>
#include <span>

#include "core/import_common.h"
#include "core/result.h"

namespace totp {

struct GoogleAuthenticatorFile {
  ImportedSecret imported;
  int window_size = 3;  // WINDOW_SIZE: the number of codes accepted, centred on now
};

// Errors are Errc::parse_error (or unsupported for a counter-based file)
// with a message such as "line 3: HOTP_COUNTER: ...".
Result<GoogleAuthenticatorFile> parse_google_authenticator(std::span<const std::uint8_t> bytes);

// google-authenticator's WINDOW_SIZE n accepts the steps
// -((n-1)/2) .. n/2 around now; the number of steps on the wider side,
// which is what pam_totp's `window` (steps either side) must be to accept
// every code it accepted.
int google_window_either_side(int window_size) noexcept;

}  // namespace totp
