// SPDX-License-Identifier: Apache-2.0
// Test-only CLI for the oathtool cross-check: prints our TOTP code.
//   otp_code ALGORITHM DIGITS PERIOD UNIX_TIME   (base32 secret on stdin)
//   otp_code --batch   (lines "ALGORITHM DIGITS PERIOD UNIX_TIME BASE32" on
//                       stdin; one code or "error: ..." line out per line,
//                       so a sanitizer build starts once for many cases)
// Secrets are read from stdin so they never appear in argv.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "core/base32.h"
#include "core/otp.h"
#include "core/secure_bytes.h"

namespace {

bool parse_int64(const char* text, std::int64_t& out) {
  try {
    std::size_t used = 0;
    const std::string s(text);
    out = std::stoll(s, &used, 10);
    return used == s.size() && !s.empty();
  } catch (...) {
    return false;
  }
}

// One code for one case, or an error line.
std::string code_for(const std::string& algorithm_text, std::int64_t digits, std::int64_t period, std::int64_t when,
                     std::string_view base32_secret) {
  const auto algorithm = totp::parse_algorithm(algorithm_text);
  if (!algorithm) return "error: unknown algorithm";
  auto secret = totp::base32_decode(base32_secret, totp::Base32Mode::lenient);
  if (!secret) return "error: " + secret.error().message;
  const totp::OtpParams params{*algorithm, static_cast<int>(digits), static_cast<int>(period)};
  auto code = totp::totp_code(secret->span(), params, when);
  if (!code) return "error: " + code.error().message;
  return *code;
}

int run_batch() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream fields(line);
    std::string algorithm, secret;
    std::int64_t digits = 0, period = 0, when = 0;
    if (!(fields >> algorithm >> digits >> period >> when >> secret)) {
      std::cout << "error: malformed case line\n";
    } else {
      std::cout << code_for(algorithm, digits, period, when, secret) << "\n";
    }
    totp::cleanse(secret);
    totp::cleanse(line);
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--batch") return run_batch();
  if (argc != 5) {
    std::cerr << "usage: otp_code ALGORITHM DIGITS PERIOD UNIX_TIME < base32-secret\n";
    return 2;
  }
  std::int64_t digits = 0, period = 0, when = 0;
  if (!parse_int64(argv[2], digits) || !parse_int64(argv[3], period) || !parse_int64(argv[4], when)) {
    std::cerr << "otp_code: bad argument\n";
    return 2;
  }
  std::string line;
  std::getline(std::cin, line);
  const std::string code = code_for(argv[1], digits, period, when, line);
  totp::cleanse(line);
  if (code.rfind("error: ", 0) == 0) {
    std::cerr << "otp_code: " << code.substr(7) << "\n";
    return 1;
  }
  std::cout << code << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "otp_code: " << e.what() << "\n";
    return 1;
  }
}
