// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "core/otp.h"

namespace totp::setup {

namespace {

constexpr std::int64_t kForever = INT64_MAX;

// A remote host name comes from a PAM client: never send its bytes raw to a
// terminal.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

std::string locked_text(std::int64_t until) {
  if (until == 0) return "no";
  if (until == kForever) return "yes, until an administrator runs 'totp-setup unlock'";
  return "yes, until " + iso_time(until);
}

}  // namespace

std::string iso_time(std::int64_t unix_time) {
  const std::time_t t = static_cast<std::time_t>(unix_time);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "?";
  return buf;
}

bool print_out(std::string_view text) {
  std::fflush(stdout);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Serialised into SecureBytes (a dumped std::string grows, and each
// reallocation would free a copy of the secret unwiped).
bool print_json(Json& j) {
  auto text = serialize_json(j, 2);
  cleanse_json(j);
  if (!text) return false;
  text->push_back('\n');
  return print_out(text->view());
}

Json status_json(const StatusReport& s) {
  Json j;
  j["user"] = s.user;
  j["enrolled"] = s.enrolled;
  if (s.enrolled || s.pending) {
    j["algorithm"] = algorithm_name(s.otp.algorithm);
    j["digits"] = s.otp.digits;
    j["period"] = s.otp.period;
    j["created"] = iso_time(s.created);
    j["created_unix"] = s.created;
  } else {
    j["algorithm"] = nullptr;
    j["digits"] = nullptr;
    j["period"] = nullptr;
    j["created"] = nullptr;
    j["created_unix"] = nullptr;
  }
  if (s.pending) j["pending"] = true;
  if (s.last_login_time != 0) {
    j["last_login"] = Json{{"time", iso_time(s.last_login_time)},
                           {"unix", s.last_login_time},
                           {"rhost", s.last_login_rhost.empty() ? Json(nullptr) : Json(s.last_login_rhost)}};
  } else {
    j["last_login"] = nullptr;
  }
  j["recovery_codes_left"] = s.recovery_codes_left;
  if (s.locked_until == 0) {
    j["locked_until"] = nullptr;
    j["locked_until_unix"] = nullptr;
  } else if (s.locked_until == kForever) {
    j["locked_until"] = "until unlocked";
    j["locked_until_unix"] = nullptr;
  } else {
    j["locked_until"] = iso_time(s.locked_until);
    j["locked_until_unix"] = s.locked_until;
  }
  j["failures"] = s.failures;
  j["revoked"] = s.revoked;
  Json auths = Json::array();
  for (const AuthenticatorInfo& a : s.authenticators) {
    auths.push_back(Json{{"name", a.name},
                         {"algorithm", algorithm_name(a.otp.algorithm)},
                         {"digits", a.otp.digits},
                         {"period", a.otp.period},
                         {"created", iso_time(a.created)}});
  }
  j["authenticators"] = std::move(auths);
  return j;
}

Json enroll_json(const Offer& o, const Issued& issued) {
  Json j;
  j["user"] = o.user;
  j["issuer"] = o.issuer;
  set_secret(j, "uri", o.uri.view());
  set_secret(j, "secret", o.secret_base32.view());
  j["algorithm"] = algorithm_name(o.otp.algorithm);
  j["digits"] = o.otp.digits;
  j["period"] = o.otp.period;
  j["replaced"] = o.replacing;
  if (!o.adding.empty()) j["authenticator"] = o.adding;
  Json codes = Json::array();
  for (const auto& c : issued.recovery_codes) push_secret(codes, c.view());
  j["recovery_codes"] = std::move(codes);
  return j;
}

Json codes_json(const std::string& user, const Issued& issued) {
  Json j;
  j["user"] = user;
  Json codes = Json::array();
  for (const auto& c : issued.recovery_codes) push_secret(codes, c.view());
  j["recovery_codes"] = std::move(codes);
  return j;
}

SecureBytes group_secret(std::string_view base32) {
  SecureBytes out;
  for (std::size_t i = 0; i < base32.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(static_cast<std::uint8_t>(base32[i]));
  }
  return out;
}

SecureBytes format_recovery_codes(const Issued& issued) {
  SecureBytes out;
  int n = 0;
  for (const auto& c : issued.recovery_codes) {
    char num[16];
    std::snprintf(num, sizeof num, "  %2d.  ", ++n);
    out.append(std::string_view(num));
    out.append(c.view());
    out.push_back('\n');
  }
  return out;
}

std::string status_text(const StatusReport& s) {
  std::string t;
  t += "User:            " + s.user + "\n";
  if (s.revoked) {
    t += "Enrolled:        revoked (logins are refused until the account is enrolled again)\n";
    t += "Recovery codes:  " + std::to_string(s.recovery_codes_left) + " left (one of them can enrol again)\n";
    return t;
  }
  if (!s.enrolled) {
    t += std::string("Enrolled:        no") + (s.pending ? " (an unfinished enrolment exists)" : "") + "\n";
    return t;
  }
  t += std::string("Enrolled:        yes (") + algorithm_name(s.otp.algorithm) + ", " + std::to_string(s.otp.digits) +
       " digits, " + std::to_string(s.otp.period) + " s)\n";
  t += "Created:         " + iso_time(s.created) + "\n";
  if (s.authenticators.size() > 1) {
    for (std::size_t i = 0; i < s.authenticators.size(); ++i) {
      const AuthenticatorInfo& a = s.authenticators[i];
      t += std::string(i == 0 ? "Authenticators:  " : "                 ") + a.name + " (" +
           algorithm_name(a.otp.algorithm) + ", added " + iso_time(a.created) + ")\n";
    }
  } else if (s.authenticators.size() == 1) {
    t += "Authenticator:   " + s.authenticators[0].name + "\n";
  }
  if (s.last_login_time != 0) {
    t += "Last login:      " + iso_time(s.last_login_time);
    if (!s.last_login_rhost.empty()) t += " from " + printable(s.last_login_rhost);
    t += "\n";
  } else {
    t += "Last login:      never\n";
  }
  t += "Recovery codes:  " + std::to_string(s.recovery_codes_left) + " left\n";
  t += "Locked:          " + locked_text(s.locked_until) + "\n";
  return t;
}

}  // namespace totp::setup
