// SPDX-License-Identifier: Apache-2.0
// State files for pam_google_authenticator, as its documentation describes
// them: first line the base32 secret, then option lines starting with `" `,
// then 8-digit scratch codes. The benchmark runs it with
// `secret=DIR/${USER} user=root`, so each file is root-owned 0400.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Writes DIR/user with WINDOW_SIZE 3, DISALLOW_REUSE, TOTP_AUTH and the
// given scratch codes. Throws std::runtime_error on failure.
void write_ga_state(const std::string& dir, const std::string& user, const std::vector<std::uint8_t>& secret,
                    const std::vector<std::string>& scratch_codes);

}  // namespace bench
