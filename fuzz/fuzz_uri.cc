// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the otpauth URI builder (core/uri.h) and its
// percent-encoding. Its inputs come from outside: the issuer from the
// config file, the account from the user name, the secret from the CSPRNG
// or an import. Input layout: 6 bytes of parameters (algorithm, digits as a
// signed byte, period as a 32-bit little-endian int), then issuer NUL
// account NUL secret (the secret may hold NULs: it is the rest).
// Checked beyond "no crash": the URI is printable ASCII with no space and
// no '#'; it is otpauth://totp/LABEL?QUERY with exactly one '?'; the label
// has one literal ':' iff there is an issuer, and its parts percent-decode
// to the issuer and the account; the query is exactly secret, issuer (iff
// there is one), algorithm, digits, period in that order, each key=value
// with no other '=' or '&'; the secret decodes (strict base32) to the
// secret, the issuer parameter to the issuer, algorithm names a known one
// (SHA1 for an unknown value) and digits and period are the decimal ints.
// percent_encode alone: only unreserved bytes and %XX (upper-case hex),
// and decoding gives the input back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base32.h"
#include "core/otp.h"
#include "core/uri.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is not what we write
}

// Strict decoding of what percent_encode writes; nullopt for anything else.
std::optional<std::string> decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (unreserved(s[i])) {
      out.push_back(s[i]);
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::string_view value_of(std::string_view pair, std::string_view key) {
  check(pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=');
  std::string_view v = pair.substr(key.size() + 1);
  check(v.find('=') == std::string_view::npos);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  totp::OtpParams p;
  p.algorithm = static_cast<totp::Algorithm>(data[0]);
  p.digits = static_cast<std::int8_t>(data[1]);
  std::uint32_t period = 0;
  std::memcpy(&period, data + 2, 4);
  p.period = static_cast<std::int32_t>(period);
  std::string_view rest(reinterpret_cast<const char*>(data + 6), size - 6);
  const std::size_t a = rest.find('\0');
  const std::string_view issuer = rest.substr(0, a);
  rest = a == std::string_view::npos ? std::string_view() : rest.substr(a + 1);
  const std::size_t b = rest.find('\0');
  const std::string_view account = rest.substr(0, b);
  const std::string_view secret_text = b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);
  const std::span<const std::uint8_t> secret(reinterpret_cast<const std::uint8_t*>(secret_text.data()),
                                             secret_text.size());

  // percent_encode alone.
  const std::string enc = totp::percent_encode(issuer);
  for (char c : enc) check(unreserved(c) || c == '%');
  check(decode(enc) == std::string(issuer));

  const std::string uri = totp::build_otpauth_uri(issuer, account, secret, p);
  for (char c : uri) check(c > 0x20 && c < 0x7f && c != '#');
  constexpr std::string_view kScheme = "otpauth://totp/";
  check(uri.compare(0, kScheme.size(), kScheme) == 0);
  const std::string_view rest_uri = std::string_view(uri).substr(kScheme.size());
  const std::size_t q = rest_uri.find('?');
  check(q != std::string_view::npos && rest_uri.find('?', q + 1) == std::string_view::npos);
  const std::string_view label = rest_uri.substr(0, q);
  const std::vector<std::string_view> label_parts = split(label, ':');
  if (issuer.empty()) {
    check(label_parts.size() == 1 && decode(label_parts[0]) == std::string(account));
  } else {
    check(label_parts.size() == 2 && decode(label_parts[0]) == std::string(issuer) &&
          decode(label_parts[1]) == std::string(account));
  }
  const std::vector<std::string_view> query = split(rest_uri.substr(q + 1), '&');
  check(query.size() == (issuer.empty() ? 4u : 5u));
  std::size_t i = 0;
  const std::string_view b32 = value_of(query[i++], "secret");
  if (secret.empty()) {
    check(b32.empty());
  } else if (b32.size() <= 1024) {
    auto s = totp::base32_decode(b32, totp::Base32Mode::strict);
    check(s.ok() && s->size() == secret.size() && std::memcmp(s->data(), secret.data(), secret.size()) == 0);
  }
  if (!issuer.empty()) check(decode(value_of(query[i++], "issuer")) == std::string(issuer));
  const std::string_view alg = value_of(query[i++], "algorithm");
  const auto parsed = totp::parse_algorithm(alg);
  const char* name = totp::algorithm_name(p.algorithm);
  check(parsed.has_value() && alg == std::string_view(name != nullptr ? name : "SHA1"));
  check(value_of(query[i++], "digits") == std::to_string(p.digits));
  check(value_of(query[i++], "period") == std::to_string(p.period));
  return 0;
}
