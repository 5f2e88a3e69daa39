// SPDX-License-Identifier: Apache-2.0
// Where the module's answer comes from, other than its own prompt:
// PAM_AUTHTOK (use_first_pass, try_first_pass), and the code that the
// split_code line keeps for the kept_code line (pam_set_data).
#pragma once

#include <security/pam_modules.h>

#include <optional>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp::pam {

// PAM_AUTHTOK as a code: only when it is exactly `digits` ASCII digits and
// nothing else, so that a password that merely looks like a code
// ("password12", "dragon1999") is never judged (or counted) as one.
// nullopt: no PAM_AUTHTOK, or it is not such a code.
std::optional<SecureBytes> code_from_authtok(pam_handle_t* pamh, int digits);

// Sets PAM_AUTHTOK for the next module (split_code hands on the password).
bool hand_on_password(pam_handle_t* pamh, const SecureBytes& password);

// split_code keeps the code (possibly empty) for kept_code; the kept copy
// is cleansed when taken or when the PAM handle ends.
bool keep_code(pam_handle_t* pamh, SecureBytes code);
// Takes (and forgets) the kept code; nullopt when no split_code line kept one.
std::optional<SecureBytes> take_kept_code(pam_handle_t* pamh);

}  // namespace totp::pam
