// SPDX-License-Identifier: Apache-2.0
// Parser of pam_oath's users file: see import_oath.h. The token types are
// exactly the ones liboath's usersfile parser knows; a line it would skip
// is reported, never guessed at.
#include "core/import_oath.h"

#include <map>
#include <optional>
#include <string_view>

#include "core/import_text.h"
#include "core/record.h"
#include "core/store.h"

namespace totp {

namespace {

struct TokenType {
  bool time_based = false;
  int period = 0;
  int digits = 6;
};

std::optional<TokenType> parse_type(std::string_view t) noexcept {
  if (t == "HOTP" || t == "HOTP/E" || t == "HOTP/E/6") return TokenType{false, 0, 6};
  if (t == "HOTP/E/7") return TokenType{false, 0, 7};
  if (t == "HOTP/E/8") return TokenType{false, 0, 8};
  for (int period : {30, 60}) {
    const std::string_view base = period == 30 ? "HOTP/T30" : "HOTP/T60";
    if (t.substr(0, base.size()) != base) continue;
    const std::string_view tail = t.substr(base.size());
    if (tail.empty() || tail == "/6") return TokenType{true, period, 6};
    if (tail == "/7") return TokenType{true, period, 7};
    if (tail == "/8") return TokenType{true, period, 8};
    return std::nullopt;
  }
  return std::nullopt;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The secret from hex, into SecureBytes directly; the reason otherwise.
Result<SecureBytes> decode_hex_secret(std::string_view hex) {
  if (hex.size() % 2 != 0) return make_error(Errc::parse_error, "the secret has an odd number of hex digits");
  SecureBytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return make_error(Errc::parse_error, "the secret is not hexadecimal");
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  if (out.size() < kMinSecretSize) {
    return make_error(Errc::parse_error, "the secret is " + std::to_string(out.size()) +
                                             " bytes: pam_totp needs at least " + std::to_string(kMinSecretSize) +
                                             " (80 bits)");
  }
  if (out.size() > kMaxSecretSize) {
    return make_error(Errc::parse_error, "the secret is " + std::to_string(out.size()) +
                                             " bytes: pam_totp takes at most " + std::to_string(kMaxSecretSize));
  }
  return out;
}

bool is_decimal(std::string_view s) noexcept {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Up to `max` fields separated by spaces and tabs.
std::size_t split_fields(std::string_view line, std::string_view* fields, std::size_t max) {
  std::size_t n = 0;
  while (n < max) {
    line = trim_blanks(line);
    if (line.empty()) break;
    const std::size_t end = line.find_first_of(" \t");
    fields[n++] = line.substr(0, end);
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
  }
  return n;
}

// One line's outcome before users are grouped.
struct Parsed {
  std::size_t line = 0;
  std::string user;  // "" if the line names no valid user
  std::optional<OathUser> entry;
  std::string reason;  // when !entry
};

Parsed parse_line(std::string_view text, std::size_t number) {
  Parsed p;
  p.line = number;
  std::string_view f[5];
  const std::size_t n = split_fields(text, f, 5);
  if (n >= 2 && validate_user_name(f[1]).ok()) p.user = std::string(f[1]);
  if (auto bad = bad_byte_in(text)) {
    p.reason = "contains " + *bad;
    return p;
  }
  const auto type = parse_type(f[0]);
  if (!type) {
    p.reason = "unknown token type (pam_oath ignores this line)";
    return p;
  }
  if (n < 2 || p.user.empty()) {
    p.reason = n < 2 ? "no user name" : "not a valid user name";
    return p;
  }
  if (!type->time_based) {
    p.reason = "counter-based (HOTP) token cannot be imported: pam_totp is time-based only; re-enrol this user";
    return p;
  }
  if (n < 4) {
    p.reason = "no secret (the PIN or the secret field is missing)";
    return p;
  }
  if (n >= 5 && !is_decimal(f[4])) {
    p.reason = "the counter field is not a number (pam_oath refuses this line)";
    return p;
  }
  auto secret = decode_hex_secret(f[3]);
  if (!secret) {
    p.reason = secret.error().message;
    return p;
  }
  OathUser u;
  u.user = p.user;
  u.line = number;
  u.imported.secret = std::move(*secret);
  u.imported.otp = OtpParams{Algorithm::sha1, type->digits, type->period};
  // The PIN is never copied: only whether there was one.
  if (f[2] != "-" && f[2] != "+") {
    u.imported.notes.push_back("its PIN is dropped: the password is the first factor");
  }
  p.entry = std::move(u);
  return p;
}

}  // namespace

Result<OathUsersFile> parse_oath_users(std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  TOTP_TRY_STATUS(check_import_text(text));

  std::vector<Parsed> parsed;
  std::map<std::string, std::vector<std::size_t>> lines_of;  // user -> line numbers
  LineReader lines(text);
  std::string_view line;
  std::size_t number = 0;
  while (lines.next(line, number)) {
    const std::string_view t = trim_blanks(line);
    if (t.empty() || t[0] == '#') continue;
    parsed.push_back(parse_line(line, number));
    if (!parsed.back().user.empty()) lines_of[parsed.back().user].push_back(number);
  }

  OathUsersFile out;
  for (auto& p : parsed) {
    if (p.user.empty()) {
      out.refused.push_back(OathRefusal{"", p.line, p.reason});
      continue;
    }
    const auto& on = lines_of[p.user];
    if (on.size() > 1) {
      if (on.front() != p.line) continue;  // reported once, at its first line
      std::string where;
      for (std::size_t i = 0; i < on.size(); ++i) where += (i == 0 ? "" : ", ") + std::to_string(on[i]);
      out.refused.push_back(OathRefusal{p.user, p.line,
                                        "appears on lines " + where +
                                            " (more than one token): not imported; pam_totp keeps one per user"});
      continue;
    }
    if (!p.entry) {
      out.refused.push_back(OathRefusal{p.user, p.line, p.reason});
      continue;
    }
    out.users.push_back(std::move(*p.entry));
  }
  return out;
}

}  // namespace totp
