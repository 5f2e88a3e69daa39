// SPDX-License-Identifier: Apache-2.0
// What the tool prints: text for people, one JSON object for scripts.
// Secret-bearing text is wiped after it is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "setup_tool/account_service.h"
#include "setup_tool/protocol.h"
#include "setup_tool/qr.h"

namespace totp::setup {

// "2024-05-01T12:00:00Z".
std::string iso_time(std::int64_t unix_time);

// Writes to stdout (fully, EINTR-safe); false on failure.
bool print_out(std::string_view text);
// Prints `j` (pretty, one object) and wipes it.
bool print_json(Json& j);

Json status_json(const StatusReport& s);
Json enroll_json(const Offer& o, const Issued& issued);
Json codes_json(const std::string& user, const Issued& issued);

// "ABCD EFGH IJKL ..." for typing the secret into an app.
SecureBytes group_secret(std::string_view base32);
// Numbered list of recovery codes, one per line.
SecureBytes format_recovery_codes(const Issued& issued);
// The text form of a status.
std::string status_text(const StatusReport& s);

}  // namespace totp::setup
