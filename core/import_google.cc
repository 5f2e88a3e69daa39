// SPDX-License-Identifier: Apache-2.0
// Parser of google-authenticator's file: see import_google.h.
#include "core/import_google.h"

#include <string>
#include <string_view>

#include "core/base32.h"
#include "core/import_text.h"
#include "core/record.h"

namespace totp {

namespace {

constexpr int kGoogleMaxStep = 60;     // google-authenticator refuses STEP_SIZE over 60
constexpr int kGoogleMaxWindow = 100;  // and WINDOW_SIZE over 100

Error at_line(std::size_t line, const std::string& what, Errc code = Errc::parse_error) {
  return make_error(code, "line " + std::to_string(line) + ": " + what);
}

// The known options, each allowed once.
enum Option { kTotpAuth, kStepSize, kWindowSize, kRateLimit, kDisallowReuse, kTimeSkew, kOptionCount };

int option_index(std::string_view key) noexcept {
  if (key == "TOTP_AUTH") return kTotpAuth;
  if (key == "STEP_SIZE") return kStepSize;
  if (key == "WINDOW_SIZE") return kWindowSize;
  if (key == "RATE_LIMIT") return kRateLimit;
  if (key == "DISALLOW_REUSE") return kDisallowReuse;
  if (key == "TIME_SKEW") return kTimeSkew;
  return -1;
}

// A scratch code as google-authenticator makes and accepts them: exactly
// eight digits, the first not 0.
bool is_scratch_code(std::string_view s) noexcept {
  if (s.size() != 8 || s[0] < '1' || s[0] > '9') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

int google_window_either_side(int window_size) noexcept { return window_size < 1 ? 0 : window_size / 2; }

Result<GoogleAuthenticatorFile> parse_google_authenticator(std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  TOTP_TRY_STATUS(check_import_text(text));

  GoogleAuthenticatorFile out;
  ImportedSecret& imp = out.imported;
  imp.otp = OtpParams{Algorithm::sha1, 6, 30};
  bool seen[kOptionCount] = {};

  LineReader lines(text);
  std::string_view line;
  std::size_t number = 0;
  while (lines.next(line, number)) {
    if (auto bad = bad_byte_in(line)) return at_line(number, *bad);
    if (number == 1) {
      if (line.empty()) return at_line(1, "no secret (the first line is empty)");
      auto secret = base32_decode(line, Base32Mode::lenient);
      if (!secret) return at_line(1, "the secret is not base32 (" + secret.error().message + ")");
      if (secret->size() < kMinSecretSize) {
        return at_line(1, "the secret is " + std::to_string(secret->size()) + " bytes: pam_totp needs at least " +
                              std::to_string(kMinSecretSize) + " (80 bits)");
      }
      if (secret->size() > kMaxSecretSize) {
        return at_line(1, "the secret is " + std::to_string(secret->size()) + " bytes: pam_totp takes at most " +
                              std::to_string(kMaxSecretSize));
      }
      imp.secret = std::move(*secret);
      continue;
    }
    if (line.empty()) continue;
    if (line[0] == '"') {
      if (line.size() < 3 || line[1] != ' ') return at_line(number, "malformed option line (expected '\" NAME')");
      std::string_view rest = line.substr(2);
      const std::size_t end = rest.find_first_of(" \t");
      const std::string_view key = rest.substr(0, end);
      const std::string_view value = end == std::string_view::npos ? std::string_view() : trim_blanks(rest.substr(end));
      if (key == "HOTP_COUNTER") {
        return at_line(number,
                       "counter-based (HOTP) google-authenticator file cannot be imported: pam_totp is time-based "
                       "only; re-enrol this user",
                       Errc::unsupported);
      }
      const int opt = option_index(key);
      if (opt < 0) {
        imp.notes.push_back("line " + std::to_string(number) + ": unknown option " +
                            std::string(key.substr(0, 32)) + " ignored");
        continue;
      }
      if (seen[opt]) return at_line(number, std::string(key) + " given twice");
      seen[opt] = true;
      switch (opt) {
        case kTotpAuth:
          if (!value.empty()) return at_line(number, "TOTP_AUTH takes no value");
          break;
        case kStepSize: {
          auto n = parse_small_number(value, kGoogleMaxStep);
          if (!n || *n < 1) return at_line(number, "STEP_SIZE is not a number of seconds from 1 to 60");
          if (*n < kMinPeriod) {
            return at_line(number,
                           "STEP_SIZE " + std::to_string(*n) + " s: pam_totp needs a period of " +
                               std::to_string(kMinPeriod) + " to " + std::to_string(kMaxPeriod) + " s; re-enrol this user",
                           Errc::unsupported);
          }
          imp.otp.period = *n;
          break;
        }
        case kWindowSize: {
          auto n = parse_small_number(value, kGoogleMaxWindow);
          if (!n || *n < 1) return at_line(number, "WINDOW_SIZE is not a number from 1 to 100");
          out.window_size = *n;
          break;
        }
        case kRateLimit:
          imp.notes.push_back("RATE_LIMIT dropped: pam_totp's lockout settings (deny, unlock_time) apply");
          break;
        case kTimeSkew: {
          const bool zero = value.empty() || value == "0";
          if (!zero) imp.notes.push_back("TIME_SKEW dropped: pam_totp does not correct a phone's clock skew");
          break;
        }
        case kDisallowReuse:  // pam_totp never accepts a code twice
        default:
          break;
      }
      continue;
    }
    if (!is_scratch_code(line)) return at_line(number, "neither an option nor an 8-digit scratch code");
    bool repeat = false;
    for (const auto& c : imp.scratch_codes) repeat = repeat || constant_time_equal(c.view(), line);
    if (repeat) {
      imp.notes.push_back("line " + std::to_string(number) + ": a scratch code given twice is kept once");
      continue;
    }
    if (imp.scratch_codes.size() == kMaxRecoveryCodes) {
      return at_line(number, "more than " + std::to_string(kMaxRecoveryCodes) + " scratch codes");
    }
    imp.scratch_codes.push_back(SecureBytes::from_string(line));
  }
  if (imp.secret.empty()) return make_error(Errc::parse_error, "no secret");
  if (!seen[kTotpAuth]) {
    return make_error(Errc::parse_error, "no TOTP_AUTH line: not a time-based google-authenticator file");
  }
  return out;
}

}  // namespace totp
