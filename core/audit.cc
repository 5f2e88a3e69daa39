// SPDX-License-Identifier: Apache-2.0
// The audit trail (core/audit.h). Every value here may come from someone
// hostile (a user name from the command line, SUDO_USER, a file being
// imported), so each goes through audit_value: one line per action, and no
// value can pass for another key or another line.
#include "core/audit.h"

#include <fcntl.h>
#include <pwd.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "core/log.h"
#include "core/store.h"

namespace totp {
namespace {

constexpr std::size_t kMaxExtraFields = 16;
constexpr std::size_t kMaxKeySize = 32;
constexpr std::uint64_t kLoginUidUnset = 4294967295U;  // (uid_t)-1: no login uid

constexpr std::array<std::string_view, 7> kFixedKeys = {"action", "user", "by", "uid", "loginuid", "sudo_user", "via"};

bool bare(unsigned char c) { return c > 0x20 && c <= 0x7e && c != '"' && c != '=' && c != '\\'; }

std::string audit_key(std::string_view name) {
  std::string key;
  for (const char ch : name.substr(0, kMaxKeySize)) {
    const bool good = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    key += good ? ch : '_';
  }
  if (key.empty()) key = "field";
  for (const std::string_view fixed : kFixedKeys) {
    if (key == fixed) return "x_" + key;
  }
  return key;
}

void append_pair(std::string& line, std::string_view key, std::string_view value) {
  line += ' ';
  line += key;
  line += '=';
  line += audit_value(value);
}

std::string user_name_of(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::string buf(4096, '\0');
  for (int tries = 0; tries < 6; ++tries) {
    const int rc = getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && found != nullptr && found->pw_name != nullptr) return found->pw_name;
    break;
  }
  return "uid " + std::to_string(uid);
}

std::optional<uid_t> read_login_uid() {
  const int fd = ::open("/proc/self/loginuid", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;  // no audit support in this kernel: nothing to name
  char buf[24];
  std::size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  // A full buffer is more than any uid: malformed.
  if (got == sizeof buf) return std::nullopt;
  return parse_loginuid(std::string_view(buf, got));
}

}  // namespace

std::string audit_value(std::string_view value) {
  bool plain = !value.empty();
  for (const char c : value) plain = plain && bare(static_cast<unsigned char>(c));
  std::string clean = sanitize_for_log(value);
  if (plain) return clean;
  // Quoted: sanitize_for_log escaped '\' and every non-printable byte; a
  // '"' is escaped here so that the value ends only at our closing quote.
  std::string out = "\"";
  for (const char c : clean) {
    if (c == '"') {
      out += "\\x22";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::optional<uid_t> parse_loginuid(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.empty() || text.size() > 10) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v >= kLoginUidUnset) return std::nullopt;
  return static_cast<uid_t>(v);
}

Actor current_actor(bool trust_environment, std::optional<uid_t> caller_uid) {
  Actor a;
  a.uid = caller_uid.value_or(::getuid());
  a.name = user_name_of(a.uid);
  a.login_uid = read_login_uid();
  a.via_helper = !trust_environment;
  if (trust_environment) {
    // secure_getenv: nothing, should this ever run set-id.
    const char* sudo_user = ::secure_getenv("SUDO_USER");
    if (sudo_user != nullptr && validate_user_name(sudo_user)) a.sudo_user = sudo_user;
  }
  return a;
}

std::string format_audit_line(const Actor& actor, std::string_view action, std::string_view target,
                              const AuditFields& fields) {
  std::string line = "audit:";
  append_pair(line, "action", action);
  if (target.empty()) {
    line += " user=-";
  } else {
    append_pair(line, "user", target);
  }
  append_pair(line, "by", actor.name);
  append_pair(line, "uid", std::to_string(actor.uid));
  if (actor.login_uid) append_pair(line, "loginuid", std::to_string(*actor.login_uid));
  if (!actor.sudo_user.empty()) append_pair(line, "sudo_user", actor.sudo_user);
  if (actor.via_helper) line += " via=helper";
  std::size_t extra = 0;
  for (const auto& [name, value] : fields) {
    if (++extra > kMaxExtraFields) {
      line += " truncated=yes";
      break;
    }
    append_pair(line, audit_key(name), value);
  }
  return line;
}

void audit(const Actor& actor, std::string_view action, std::string_view target, const AuditFields& fields) {
  const std::string line = format_audit_line(actor, action, target, fields);
  // The line is data, never a format string.
  ::syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", line.c_str());
}

}  // namespace totp
