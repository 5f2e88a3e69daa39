// SPDX-License-Identifier: Apache-2.0
// syslog(LOG_AUTHPRIV) lines of the form
//   pam_totp(SERVICE:auth): user=NAME rhost=HOST: REASON
// Values are sanitised (control and non-printable bytes escaped, capped in
// length). Never pass a code, secret, key or hash to these functions.
#pragma once

#include <string>
#include <string_view>

namespace totp {

struct LogContext {
  std::string service;  // PAM service, or "totp-setup"
  std::string user;
  std::string rhost;
  bool debug = false;
};

// Escapes anything outside printable ASCII as \xNN and caps at 256 bytes.
std::string sanitize_for_log(std::string_view s);

// priority: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG.
// Debug lines are dropped unless ctx.debug. Uses syslog() without openlog()
// changes to the host's ident (the host program owns openlog).
void log_event(const LogContext& ctx, int priority, std::string_view reason);

}  // namespace totp
