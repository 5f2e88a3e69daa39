// SPDX-License-Identifier: Apache-2.0
// syslog lines for the module and the tool. Every value (service, user, host,
// reason) may come from an attacker, so each is escaped and capped before it
// reaches the log: no forged lines, no forged fields (no space in service,
// user or host), no terminal escapes in `journalctl`.
#include "core/log.h"

#include <syslog.h>

namespace totp {
namespace {

constexpr std::size_t kMaxLogValue = 256;
constexpr std::string_view kTruncated = "...";

// escape_space: also write ' ' as \x20. The service, user and host values
// are fields that log readers (fail2ban, grep) split on spaces: a user name
// "x rhost=10.9.9.9" typed at a login prompt must not forge a second rhost=
// field. The reason is free text and keeps its spaces.
std::string escape(std::string_view s, bool escape_space) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t fits_with_marker = 0;  // output length at which "..." still fits
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    // A backslash is escaped too, so that a literal "\x0a" in the input can
    // never pass for an escaped newline.
    if (c >= 0x20 && c <= 0x7e && c != '\\' && !(escape_space && c == ' ')) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
    if (out.size() <= kMaxLogValue - kTruncated.size()) fits_with_marker = out.size();
    if (out.size() > kMaxLogValue) {
      // Cut on an escape boundary and say that something was cut.
      out.resize(fits_with_marker);
      out += kTruncated;
      return out;
    }
  }
  return out;
}

}  // namespace

std::string sanitize_for_log(std::string_view s) { return escape(s, false); }

void log_event(const LogContext& ctx, int priority, std::string_view reason) {
  const int level = priority & LOG_PRIMASK;
  if (level == LOG_DEBUG && !ctx.debug) return;
  std::string line = "pam_totp(";
  line += escape(ctx.service, true);
  line += ":auth): user=";
  line += escape(ctx.user, true);
  line += " rhost=";
  line += escape(ctx.rhost, true);
  line += ": ";
  line += sanitize_for_log(reason);
  // The line is data, never a format string.
  ::syslog(LOG_AUTHPRIV | level, "%s", line.c_str());
}

}  // namespace totp
