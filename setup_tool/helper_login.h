// SPDX-License-Identifier: Apache-2.0
// The helper's answers to a PAM module that runs as the user (a screen
// locker): login_state before the prompt, login to judge the answer. The
// helper only ever judges its caller's own account (its real uid).
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "setup_tool/account_service.h"
#include "setup_tool/protocol.h"

namespace totp::setup {

// What the helper reports itself as: a module from another build (another
// version or another installation prefix) refuses to use it.
constexpr const char* kBuildId = "pam_totp " PACKAGE_VERSION_STRING " protocol 1 " SYSCONFDIR " " LIBEXECDIR;

// What the helper does with one login request.
struct LoginReply {
  std::optional<Json> reply;   // the reply to send, or
  std::optional<Error> refuse; // a refusal that ends the helper (logged by the caller)
};

// `own_user`: the helper's user (from its real uid). A request naming any
// other user is refused. The login's verdict is logged here, under the
// caller's service name and rhost as given (log-only, escaped).
LoginReply answer_login_request(AccountService& svc, const Request& req, const std::string& own_user);

}  // namespace totp::setup
