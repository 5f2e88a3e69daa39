// SPDX-License-Identifier: Apache-2.0
// totp-setup revoke --sessions: ends a user's running sessions, the breach
// answer's last step. With systemd-logind, `loginctl terminate-user`;
// without it (containers, minimal systems), every process whose real or
// effective uid is the user's gets SIGTERM, then SIGKILL a second later.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.h"

namespace totp::setup {

struct SessionsEnded {
  std::string how;        // "loginctl terminate-user" or "signals"
  std::size_t processes = 0;  // processes signalled (signals only)
};

// Never for uid 0 (that would end the system): Errc::invalid_argument.
Result<SessionsEnded> end_sessions(const std::string& user, uid_t uid);

}  // namespace totp::setup
