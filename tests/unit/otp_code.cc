// Test-only CLI for the oathtool cross-check: prints our TOTP code.
//   otp_code ALGORITHM DIGITS PERIOD UNIX_TIME   (base32 secret on stdin)
// The secret is read from stdin so it never appears in argv.
#include <cstdint>
#include <cstdio>
#include <iostream>
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

int run(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: otp_code ALGORITHM DIGITS PERIOD UNIX_TIME < base32-secret\n";
    return 2;
  }
  const auto algorithm = totp::parse_algorithm(argv[1]);
  std::int64_t digits = 0, period = 0, when = 0;
  if (!algorithm || !parse_int64(argv[2], digits) || !parse_int64(argv[3], period) || !parse_int64(argv[4], when)) {
    std::cerr << "otp_code: bad argument\n";
    return 2;
  }
  std::string line;
  std::getline(std::cin, line);
  auto secret = totp::base32_decode(line, totp::Base32Mode::lenient);
  totp::cleanse(line);
  if (!secret) {
    std::cerr << "otp_code: " << secret.error().message << "\n";
    return 1;
  }
  const totp::OtpParams params{*algorithm, static_cast<int>(digits), static_cast<int>(period)};
  auto code = totp::totp_code(secret->span(), params, when);
  if (!code) {
    std::cerr << "otp_code: " << code.error().message << "\n";
    return 1;
  }
  std::cout << *code << "\n";
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
