// SPDX-License-Identifier: Apache-2.0
// Settings chain: defaults <- config file <- PAM arguments. Every byte of the
// file and of the arguments is hostile: each value is checked for its type,
// range and length, and every error names the key and where it came from.
#include "core/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <system_error>

#include "core/log.h"
#include "core/record.h"

namespace totp {
namespace {

constexpr std::size_t kMaxPathLength = 4096;
constexpr std::size_t kMaxIssuerLength = 128;
constexpr std::size_t kMaxPromptLength = 128;
constexpr long long kMaxSeconds = 31536000;  // one year

// A file descriptor closed on scope exit (core/fs.h's UniqueFd is another
// helper's and kept out of this file on purpose).
class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string quoted(std::string_view s) { return "'" + sanitize_for_log(s) + "'"; }

std::string prefix(std::string_view where, std::string_view key) {
  std::string p(where);
  p += ": ";
  p += key;
  p += ": ";
  return p;
}

Error value_error(std::string_view where, std::string_view key, const std::string& what) {
  return make_error(Errc::invalid_argument, prefix(where, key) + what);
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

// Length of the valid UTF-8 sequence starting at s[i], 0 if invalid (overlong
// forms, surrogates and code points above U+10FFFF are invalid). `cp` gets
// the code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  char32_t min;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// C0 controls, DEL and the C1 controls.
bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

enum class TextProblem { none, nul, control, bad_utf8 };

// First problem in `s`: NUL, a control character (tab allowed only when
// `allow_tab`) or invalid UTF-8. `at` gets the byte offset.
TextProblem check_text(std::string_view s, bool allow_tab, std::size_t& at, char32_t& bad) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, cp);
    at = i;
    if (n == 0) return TextProblem::bad_utf8;
    bad = cp;
    if (cp == 0) return TextProblem::nul;
    if (is_control(cp) && !(allow_tab && cp == '\t')) return TextProblem::control;
    i += n;
  }
  return TextProblem::none;
}

std::string describe_problem(TextProblem p, char32_t bad) {
  switch (p) {
    case TextProblem::nul: return "contains a NUL byte";
    case TextProblem::control: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(bad));
      return std::string("contains a control character (") + buf + ")";
    }
    case TextProblem::bad_utf8: return "is not valid UTF-8";
    case TextProblem::none: break;
  }
  return "is fine";
}

// ---- value parsers, one per kind of setting ----------------------------------

Status parse_int(std::string_view where, std::string_view key, std::string_view value, long long lo,
                 long long hi, int& out) {
  if (value.empty()) return value_error(where, key, "a number is needed");
  for (char c : value)
    if (c < '0' || c > '9')
      return value_error(where, key, quoted(value) + " is not a plain decimal number");
  long long n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && (n < lo || n > hi)))
    return value_error(where, key,
                       sanitize_for_log(value) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  if (ec != std::errc() || ptr != value.data() + value.size())
    return value_error(where, key, quoted(value) + " is not a plain decimal number");
  out = static_cast<int>(n);
  return ok_status();
}

Status parse_bool(std::string_view where, std::string_view key, std::optional<std::string_view> value,
                  bool& out) {
  if (!value) {
    out = true;
    return ok_status();
  }
  for (const char* t : {"yes", "true", "1", "on"})
    if (iequals(*value, t)) {
      out = true;
      return ok_status();
    }
  for (const char* f : {"no", "false", "0", "off"})
    if (iequals(*value, f)) {
      out = false;
      return ok_status();
    }
  return value_error(where, key, quoted(*value) + " is not a boolean (yes/no, true/false, 1/0, on/off)");
}

Status parse_path(std::string_view where, std::string_view key, std::string_view value, std::string& out) {
  if (value.empty()) return value_error(where, key, "a path is needed");
  if (value.size() > kMaxPathLength)
    return value_error(where, key, "path longer than " + std::to_string(kMaxPathLength) + " bytes");
  std::size_t at = 0;
  char32_t bad = 0;
  if (const auto p = check_text(value, false, at, bad); p != TextProblem::none)
    return value_error(where, key, "path " + describe_problem(p, bad));
  if (value.front() != '/') return value_error(where, key, quoted(value) + " is not an absolute path");
  out.assign(value);
  return ok_status();
}

// Printable UTF-8 without control characters, at most `max` bytes.
Status parse_label(std::string_view where, std::string_view key, std::string_view value, std::size_t max,
                   std::string& out) {
  if (value.size() > max)
    return value_error(where, key, "longer than " + std::to_string(max) + " bytes");
  std::size_t at = 0;
  char32_t bad = 0;
  if (const auto p = check_text(value, false, at, bad); p != TextProblem::none)
    return value_error(where, key, describe_problem(p, bad));
  out.assign(value);
  return ok_status();
}

Status require_value(std::string_view where, std::string_view key, std::optional<std::string_view> value) {
  if (!value)
    return value_error(where, key, "a value is needed (" + std::string(key) + " = VALUE)");
  return ok_status();
}

// ---- the table of settings -------------------------------------------------

using Setter = Status (*)(Settings&, std::string_view key, std::optional<std::string_view> value,
                          std::string_view where);

struct SettingDef {
  const char* name;
  Setter set;
};

template <int Settings::*Field, long long Lo, long long Hi>
Status set_int(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  return parse_int(where, key, *v, Lo, Hi, s.*Field);
}

template <bool Settings::*Field>
Status set_bool(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  return parse_bool(where, key, v, s.*Field);
}

template <std::string Settings::*Field>
Status set_path(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  return parse_path(where, key, *v, s.*Field);
}

Status set_digits(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  return parse_int(where, key, *v, kMinDigits, kMaxDigits, s.otp.digits);
}

Status set_period(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  return parse_int(where, key, *v, kMinPeriod, kMaxPeriod, s.otp.period);
}

Status set_algorithm(Settings& s, std::string_view key, std::optional<std::string_view> v,
                     std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  // Matched here rather than with parse_algorithm() so that config does not
  // depend on the OTP code; the spellings are those of core/otp.h.
  if (iequals(*v, "SHA1")) {
    s.otp.algorithm = Algorithm::sha1;
  } else if (iequals(*v, "SHA256")) {
    s.otp.algorithm = Algorithm::sha256;
  } else if (iequals(*v, "SHA512")) {
    s.otp.algorithm = Algorithm::sha512;
  } else {
    return value_error(where, key, quoted(*v) + " is not one of SHA1, SHA256, SHA512");
  }
  return ok_status();
}

Status set_issuer(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  // The otpauth label is "issuer:account": a colon would make it ambiguous.
  if (v->find(':') != std::string_view::npos) return value_error(where, key, "must not contain ':'");
  return parse_label(where, key, *v, kMaxIssuerLength, s.issuer);
}

Status set_prompt(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  if (v->empty()) return value_error(where, key, "must not be empty");
  return parse_label(where, key, *v, kMaxPromptLength, s.prompt);
}

Status set_store(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  if (*v == "files") {
    s.store = Settings::StoreKind::files;
  } else if (*v == "ldap") {
    s.store = Settings::StoreKind::ldap;
  } else {
    return value_error(where, key, quoted(*v) + " is not one of files, ldap");
  }
  return ok_status();
}

constexpr std::size_t kMaxLdapUris = 8;
constexpr std::size_t kMaxLdapText = 512;

// ldap_uri: one or more ldap://, ldaps:// or ldapi:// URIs, space-separated.
Status set_ldap_uri(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  std::string text;
  TOTP_TRY_STATUS(parse_label(where, key, *v, kMaxLdapText, text));
  std::vector<std::string> uris;
  std::string_view rest = text;
  while (!(rest = trim(rest)).empty()) {
    std::size_t end = 0;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    std::string_view uri = rest.substr(0, end);
    rest.remove_prefix(end);
    // "ldapi:///", "ldap://host/": the empty DN part the OpenLDAP tools
    // write is dropped; anything after the slash is refused below.
    if (uri.size() > 1 && uri.back() == '/' && uri.find("://") != std::string_view::npos &&
        uri.find("://") + 3 <= uri.size() - 1) {
      uri.remove_suffix(1);
    }
    bool scheme_ok = false;
    for (std::string_view scheme : {"ldap://", "ldaps://", "ldapi://"}) {
      scheme_ok = scheme_ok || (uri.size() > scheme.size() - 2 && uri.substr(0, scheme.size()) == scheme);
    }
    if (!scheme_ok) return value_error(where, key, quoted(uri) + " is not an ldap://, ldaps:// or ldapi:// URI");
    // A URI with a DN, attributes or a filter would be silently ignored.
    if (uri.find('?') != std::string_view::npos || uri.find(',') != std::string_view::npos ||
        uri.substr(uri.find("://") + 3).find('/') != std::string_view::npos) {
      return value_error(where, key, quoted(uri) + ": give only scheme, host and port (ldap://host:port)");
    }
    uris.emplace_back(uri);
  }
  if (uris.empty()) return value_error(where, key, "at least one URI is needed");
  if (uris.size() > kMaxLdapUris) return value_error(where, key, "at most " + std::to_string(kMaxLdapUris) + " URIs");
  s.ldap_uri = std::move(uris);
  return ok_status();
}

template <std::string Settings::*Field>
Status set_ldap_dn(Settings& s, std::string_view key, std::optional<std::string_view> v, std::string_view where) {
  TOTP_TRY_STATUS(require_value(where, key, v));
  if (trim(*v).empty()) return value_error(where, key, "must not be empty");
  if (v->find('=') == std::string_view::npos) return value_error(where, key, quoted(*v) + " is not a DN (attr=value,...)");
  return parse_label(where, key, trim(*v), kMaxLdapText, s.*Field);
}

constexpr SettingDef kSettings[] = {
    {"state_dir", &set_path<&Settings::state_dir>},
    {"key_file", &set_path<&Settings::key_file>},
    {"window", &set_int<&Settings::window, 0, kMaxWindow>},
    {"digits", &set_digits},
    {"period", &set_period},
    {"algorithm", &set_algorithm},
    {"recovery_codes", &set_int<&Settings::recovery_codes, 1, static_cast<int>(kMaxRecoveryCodes)>},
    {"issuer", &set_issuer},
    {"nullok", &set_bool<&Settings::nullok>},
    {"debug", &set_bool<&Settings::debug>},
    {"deny", &set_int<&Settings::deny, 0, 1000>},
    {"unlock_time", &set_int<&Settings::unlock_time, 0, kMaxSeconds>},
    {"fail_interval", &set_int<&Settings::fail_interval, 1, kMaxSeconds>},
    {"use_first_pass", &set_bool<&Settings::use_first_pass>},
    {"try_first_pass", &set_bool<&Settings::try_first_pass>},
    {"split_code", &set_bool<&Settings::split_code>},
    {"kept_code", &set_bool<&Settings::kept_code>},
    {"prompt", &set_prompt},
    {"store", &set_store},
    {"ldap_uri", &set_ldap_uri},
    {"ldap_base", &set_ldap_dn<&Settings::ldap_base>},
    {"ldap_bind_dn", &set_ldap_dn<&Settings::ldap_bind_dn>},
    {"ldap_bind_password_file", &set_path<&Settings::ldap_bind_password_file>},
    {"ldap_ca_file", &set_path<&Settings::ldap_ca_file>},
    {"ldap_timeout", &set_int<&Settings::ldap_timeout, 1, 120>},
    {"remember", &set_int<&Settings::remember, 0, kMaxRememberSeconds>},
    {"notify_command", &set_path<&Settings::notify_command>},
};

const SettingDef* find_setting(std::string_view key) {
  for (const auto& d : kSettings)
    if (key == d.name) return &d;
  return nullptr;
}

// use_first_pass: the code is the previous module's PAM_AUTHTOK, no prompt.
// try_first_pass: try PAM_AUTHTOK, prompt if it is not a valid code.
// split_code: one prompt for password+code, the password goes on, the code is kept.
// kept_code: judges the code split_code kept.
// Any two of these ask for different flows.
// store = ldap needs a place and a way in: URIs and base; a bind DN with its
// password file, or SASL EXTERNAL, which only ldapi:// can carry.
Status check_store_settings(const Settings& s, std::string_view where) {
  if (s.store != Settings::StoreKind::ldap) return ok_status();
  return check_ldap_settings(s, where);
}

}  // namespace

Status check_ldap_settings(const Settings& s, std::string_view where) {
  const std::string w(where);
  if (s.ldap_uri.empty()) return make_error(Errc::invalid_argument, w + ": the directory needs ldap_uri (not set)");
  if (s.ldap_base.empty()) return make_error(Errc::invalid_argument, w + ": the directory needs ldap_base (not set)");
  if (s.ldap_bind_dn.empty() != s.ldap_bind_password_file.empty()) {
    return make_error(Errc::invalid_argument, w + ": ldap_bind_dn and ldap_bind_password_file go together");
  }
  if (s.ldap_bind_dn.empty()) {
    for (const auto& uri : s.ldap_uri) {
      if (uri.substr(0, 8) != "ldapi://") {
        return make_error(Errc::invalid_argument,
                          w + ": " + uri + " needs ldap_bind_dn (SASL EXTERNAL, used without a bind DN, only works over ldapi://)");
      }
    }
  }
  return ok_status();
}

namespace {

Status check_combination(const Settings& s, std::string_view where) {
  TOTP_TRY_STATUS(check_store_settings(s, where));
  const bool flags[] = {s.use_first_pass, s.try_first_pass, s.split_code, s.kept_code};
  const char* names[] = {"use_first_pass", "try_first_pass", "split_code", "kept_code"};
  constexpr int n = 4;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (flags[i] && flags[j])
        return make_error(Errc::invalid_argument, std::string(where) + ": " + names[i] + " and " + names[j] +
                                                      " contradict each other; choose one");
  return ok_status();
}

// One line of a config file, without its newline. Sets `key` (empty for a
// blank or comment line) and `value` (nullopt for a bare key).
Status split_line(std::string_view line, std::string_view where, std::string_view& key,
                  std::optional<std::string_view>& value) {
  key = {};
  value.reset();
  line = trim(line);
  if (line.empty() || line.front() == '#') return ok_status();

  // A comment starts at '#' at the start or after whitespace.
  auto comment_start = [](std::string_view s) {
    for (std::size_t i = 1; i < s.size(); ++i)
      if (s[i] == '#' && is_space(s[i - 1])) return i;
    return std::string_view::npos;
  };

  const std::size_t eq = line.find('=');
  const std::size_t hash = comment_start(line);
  if (eq == std::string_view::npos || (hash != std::string_view::npos && hash < eq)) {
    const std::string_view bare = trim(line.substr(0, hash));
    if (!is_identifier(bare))
      return make_error(Errc::parse_error, std::string(where) + ": expected 'key = value', got " + quoted(bare));
    key = bare;
    return ok_status();
  }

  key = trim(line.substr(0, eq));
  if (!is_identifier(key))
    return make_error(Errc::parse_error, std::string(where) + ": expected 'key = value', bad key " + quoted(key));

  const std::string_view raw = line.substr(eq + 1);
  const std::string_view rest = trim(raw);
  if (!rest.empty() && rest.front() == '"') {
    const std::size_t close = rest.find('"', 1);
    if (close == std::string_view::npos)
      return make_error(Errc::parse_error, prefix(where, key) + "missing closing quote");
    const std::string_view after = trim(rest.substr(close + 1));
    if (!after.empty() && after.front() != '#')
      return make_error(Errc::parse_error, prefix(where, key) + "unexpected text after closing quote");
    value = rest.substr(1, close - 1);
    return ok_status();
  }
  // In "key = value # note" the comment needs whitespace before '#'; "key =#x"
  // keeps "#x" as the value.
  value = trim(raw.substr(0, comment_start(raw)));
  return ok_status();
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

bool is_file_only_setting(std::string_view key) {
  return key == "deny" || key == "unlock_time" || key == "fail_interval" || key == "store" ||
         key == "notify_command" || key.substr(0, 5) == "ldap_";
}

Status apply_setting(Settings& s, std::string_view key, std::optional<std::string_view> value,
                     std::string_view where) {
  if (key == "forward_pass")
    return make_error(Errc::invalid_argument,
                      std::string(where) +
                          ": forward_pass is no longer supported: it judged the code before the password was "
                          "checked, so strangers could lock users out. Use 'pam_totp.so split_code' before the "
                          "password module and 'pam_totp.so kept_code' after it (see pam_totp(8))");
  if (key == "config")
    return make_error(Errc::invalid_argument,
                      std::string(where) + ": config: only accepted as a PAM argument (config=PATH)");
  const SettingDef* def = find_setting(key);
  if (def == nullptr)
    return make_error(Errc::invalid_argument, std::string(where) + ": unknown setting " + quoted(key));
  return def->set(s, key, value, where);
}

Status parse_config_text(Settings& s, std::string_view text, std::string_view origin) {
  const std::string org = sanitize_for_log(origin);
  if (text.size() > kMaxConfigSize)
    return make_error(Errc::too_large,
                      org + ": larger than " + std::to_string(kMaxConfigSize) + " bytes");
  std::map<std::string, std::size_t, std::less<>> first_line;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // Files edited on Windows: a CR right before the newline is tolerated.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const std::string where = org + ":" + std::to_string(line_no);
    if (line.size() > kMaxConfigLine)
      return make_error(Errc::too_large,
                        where + ": line longer than " + std::to_string(kMaxConfigLine) + " bytes");
    std::size_t at = 0;
    char32_t bad = 0;
    if (const auto p = check_text(line, true, at, bad); p != TextProblem::none)
      return make_error(Errc::parse_error,
                        where + ": line " + describe_problem(p, bad) + " (at byte " + std::to_string(at + 1) + ")");

    std::string_view key;
    std::optional<std::string_view> value;
    TOTP_TRY_STATUS(split_line(line, where, key, value));
    if (key.empty()) continue;
    if (const auto it = first_line.find(key); it != first_line.end())
      return make_error(Errc::invalid_argument, where + ": duplicate setting " + quoted(key) + " (first on line " +
                                                    std::to_string(it->second) + ")");
    first_line.emplace(std::string(key), line_no);
    TOTP_TRY_STATUS(apply_setting(s, key, value, where));
  }
  return check_combination(s, org);
}

Status apply_pam_args(Settings& s, std::span<const std::string_view> args) {
  constexpr std::string_view where = "PAM argument";
  std::map<std::string, bool, std::less<>> seen;
  for (const std::string_view arg : args) {
    const std::size_t eq = arg.find('=');
    const std::string_view key = arg.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = arg.substr(eq + 1);
    if (!is_identifier(key))
      return make_error(Errc::invalid_argument, std::string(where) + ": unknown setting " + quoted(key));
    if (seen.count(key) != 0)
      return make_error(Errc::invalid_argument, std::string(where) + ": duplicate setting " + quoted(key));
    seen.emplace(std::string(key), true);
    if (key == "config") continue;  // load_settings reads it
    if (is_file_only_setting(key))
      return make_error(Errc::invalid_argument,
                        std::string(where) + ": " + std::string(key) +
                            " is file-only: it describes the user's shared state or where it is kept, which "
                            "every service and totp-setup must agree on; set it in pam_totp.conf");
    TOTP_TRY_STATUS(apply_setting(s, key, value, where));
  }
  return check_combination(s, where);
}

Result<Settings> load_settings(std::optional<std::string> config_path, std::span<const std::string_view> pam_args) {
  // config=PATH on the PAM line names the file (and wins over config_path).
  bool config_arg_seen = false;
  for (const std::string_view arg : pam_args) {
    if (arg.substr(0, 7) == "config=" || arg == "config") {
      if (config_arg_seen)
        return make_error(Errc::invalid_argument, "PAM argument: duplicate setting 'config'");
      config_arg_seen = true;
      std::string path;
      const std::string_view v = arg.size() > 7 ? arg.substr(7) : std::string_view();
      TOTP_TRY_STATUS(parse_path("PAM argument", "config", v, path));
      config_path = std::move(path);
    }
  }
  const bool explicit_path = config_path.has_value();
  const std::string path = explicit_path ? *config_path : std::string(kDefaultConfigPath);
  if (explicit_path) {
    std::string checked;
    TOTP_TRY_STATUS(parse_path("config file", "path", path, checked));
  }
  const std::string shown = sanitize_for_log(path);

  Settings s;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && !explicit_path) {
      TOTP_TRY_STATUS(apply_pam_args(s, pam_args));
      return s;
    }
    if (err == ENOENT) return make_error(Errc::not_found, shown + ": config file does not exist");
    if (err == ELOOP) return make_error(Errc::permission, shown + ": config file is a symbolic link, refused");
    if (err == EACCES || err == EPERM)
      return make_error(Errc::permission, shown + ": cannot open config file: " + errno_text(err));
    return make_error(Errc::io_error, shown + ": cannot open config file: " + errno_text(err));
  }
  FdGuard guard(fd);

  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(Errc::io_error, shown + ": fstat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return make_error(Errc::permission, shown + ": config file is not a regular file");
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return make_error(Errc::permission, shown + ": config file is owned by uid " + std::to_string(st.st_uid) +
                                            ", not root (or the caller)");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return make_error(Errc::permission, shown + ": config file is writable by group or others");
  if (st.st_size < 0 || static_cast<unsigned long long>(st.st_size) > kMaxConfigSize)
    return make_error(Errc::too_large,
                      shown + ": config file larger than " + std::to_string(kMaxConfigSize) + " bytes");

  // Read to EOF, one byte past the cap, in case the file grew after fstat.
  // Sized from fstat (a login reads this file every time: no 64 KiB
  // zero-fill), growing to the cap + 1 only if the file grew meanwhile.
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (text.size() > kMaxConfigSize) break;
      text.resize(kMaxConfigSize + 1);
    }
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io_error, shown + ": read: " + errno_text(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxConfigSize)
    return make_error(Errc::too_large,
                      shown + ": config file larger than " + std::to_string(kMaxConfigSize) + " bytes");
  text.resize(used);

  TOTP_TRY_STATUS(parse_config_text(s, text, path));
  TOTP_TRY_STATUS(apply_pam_args(s, pam_args));
  return s;
}

std::vector<std::string> known_setting_names() {
  std::vector<std::string> names;
  for (const auto& d : kSettings) names.emplace_back(d.name);
  return names;
}

std::string effective_issuer(const Settings& s) {
  if (!s.issuer.empty()) return s.issuer;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "pam_totp";
  // Host names are [A-Za-z0-9.-]; anything else (or a colon, which splits the
  // otpauth label) is dropped rather than trusted.
  std::string out;
  for (const char* p = host; *p != '\0' && out.size() < kMaxIssuerLength; ++p) {
    const char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
        c == '_')
      out += c;
  }
  if (out.empty()) return "pam_totp";
  return out;
}

}  // namespace totp
