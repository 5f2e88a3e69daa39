// SPDX-License-Identifier: Apache-2.0
// The only extern "C" file of the module: the two PAM entry points. Nothing
// may throw across this boundary, so every path is wrapped in try/catch and
// anything unexpected is a refusal.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <string_view>
#include <vector>

#include "pam_module/authenticate.h"

#define TOTP_PAM_EXPORT extern "C" __attribute__((visibility("default")))

TOTP_PAM_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  try {
    std::vector<std::string_view> args;
    if (argc > 0 && argv != nullptr) {
      args.reserve(static_cast<std::size_t>(argc));
      for (int i = 0; i < argc; ++i) {
        if (argv[i] != nullptr) args.emplace_back(argv[i]);
      }
    }
    return totp::pam::authenticate(pamh, flags, args);
  } catch (...) {
    // Fail closed. pam_syslog is C and does not throw.
    pam_syslog(pamh, LOG_ERR, "internal error: refusing the login");
    return PAM_AUTH_ERR;
  }
}

// The module establishes no credentials; the session and the password
// modules do that.
TOTP_PAM_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }
