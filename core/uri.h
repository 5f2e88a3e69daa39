// SPDX-License-Identifier: Apache-2.0
// otpauth:// URIs in Google's Key Uri Format. We always state algorithm,
// digits and period (google-authenticator-libpam omits period, which breaks
// non-30 s enrolments in apps).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/otp.h"

namespace totp {

// RFC 3986 percent-encoding: everything but unreserved (A-Za-z0-9-._~) is %XX
// (upper-case hex), UTF-8 bytes included; space is %20.
std::string percent_encode(std::string_view s);

// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// (label issuer and account each percent-encoded; the ':' separator literal).
std::string build_otpauth_uri(std::string_view issuer, std::string_view account,
                              std::span<const std::uint8_t> secret, const OtpParams& p);

}  // namespace totp
