// SPDX-License-Identifier: Apache-2.0
// otpauth:// URIs (Google's Key Uri Format). Apps differ in what they infer
// from a missing parameter, so every parameter is always written out.
#include "core/uri.h"

#include <string>

#include "core/base32.h"

namespace totp {

namespace {

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

// An empty issuer gives the bare "ACCOUNT" label and no issuer parameter
// (a "":ACCOUNT label or "issuer=" would show as a blank issuer in apps).
std::string build_otpauth_uri(std::string_view issuer, std::string_view account,
                              std::span<const std::uint8_t> secret, const OtpParams& p) {
  const std::string issuer_enc = percent_encode(issuer);
  const std::string account_enc = percent_encode(account);
  std::string secret_b32 = base32_encode(secret, Base32Padding::none);
  // Reserved up front so the string holding the secret never reallocates
  // (a reallocation would leave an uncleansed copy in freed memory).
  std::string uri;
  uri.reserve(128 + 2 * issuer_enc.size() + account_enc.size() + secret_b32.size());
  uri += "otpauth://totp/";
  if (!issuer.empty()) uri += issuer_enc + ":";
  uri += account_enc;
  uri += "?secret=";
  uri += secret_b32;
  cleanse(secret_b32);
  if (!issuer.empty()) uri += "&issuer=" + issuer_enc;
  const char* algorithm = algorithm_name(p.algorithm);
  uri += "&algorithm=";
  uri += algorithm != nullptr ? algorithm : "SHA1";
  uri += "&digits=" + std::to_string(p.digits);
  uri += "&period=" + std::to_string(p.period);
  return uri;
}

}  // namespace totp
