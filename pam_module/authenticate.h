// SPDX-License-Identifier: Apache-2.0
// The login flow of pam_sm_authenticate (see DESIGN.md "The login flow").
#pragma once

#include <security/pam_modules.h>

#include <span>
#include <string_view>

namespace totp::pam {

// Returns a PAM result: PAM_SUCCESS only after a fresh TOTP code or an
// unused recovery code was accepted and the record durably updated;
// PAM_IGNORE only for a user without an active enrolment under `nullok`;
// PAM_AUTH_ERR for everything else. May throw (std::bad_alloc); entry.cc
// turns that into a refusal.
int authenticate(pam_handle_t* pamh, int flags, std::span<const std::string_view> args);

// The messages users see (the man page quotes them).
constexpr const char* kLockedMessage = "Account locked due to too many failed codes; try again later";
// The boot rule (core/boot_rule.h): in the first minute or so after a boot.
constexpr const char* kTooEarlyMessage =
    "This system has just started: codes from before its start are not accepted. "
    "Wait for the next code from your app and try again (or use a recovery code)";
// totp-setup revoke: refused until the account is enrolled again.
constexpr const char* kRevokedMessage =
    "Your second factor was revoked by the administrator; ask them to enrol you again "
    "(or run totp-setup with a recovery code)";
constexpr const char* kSplitCodePrompt = "Password & verification code: ";
constexpr const char* kNoRecoveryCodesLeft = "No recovery codes left; run totp-setup recovery-codes";

}  // namespace totp::pam
