// SPDX-License-Identifier: Apache-2.0
// What an import parser hands the tool for one user: the secret and its
// parameters, the old single-use codes (normalised, see recovery.h) and
// notes for the administrator. Nothing here is ever printed but the notes,
// which never contain a secret or a code.
#pragma once

#include <string>
#include <vector>

#include "core/otp.h"
#include "core/secure_bytes.h"

namespace totp {

struct ImportedSecret {
  SecureBytes secret;
  OtpParams otp;
  std::vector<SecureBytes> scratch_codes;  // "DDDDDDDD", unique
  std::vector<std::string> notes;          // what was dropped or changed
};

}  // namespace totp
