// SPDX-License-Identifier: Apache-2.0
// pam_oath's users file (liboath's "usersfile", e.g. /etc/users.oath): one
// token per line, fields separated by spaces or tabs:
//   TYPE USER PIN SECRET_HEX [COUNTER [LAST_OTP [TIME]]]
// TYPE is HOTP, HOTP/E, HOTP/E/6|7|8 (event tokens: counter-based) or
// HOTP/T30, HOTP/T60, HOTP/T30/6|7|8, HOTP/T60/6|7|8 (time tokens: period
// 30 or 60 s; 6 digits unless given). PIN is "-" for none, "+" when another
// module checks it, else the PIN itself. Codes are HMAC-SHA1. Blank lines
// and lines starting with '#' are comments.
//
// Every time token becomes one user to import. A user is refused entirely
// (nothing of them imported, one reason) when any of their lines is
// unusable or when they have more than one line (pam_oath tries each token
// in turn; pam_totp keeps one per user).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/import_common.h"
#include "core/result.h"

namespace totp {

struct OathUser {
  std::string user;
  std::size_t line = 0;
  ImportedSecret imported;  // no scratch codes: pam_oath has none
};

struct OathRefusal {
  std::string user;  // "" when the line names no usable user
  std::size_t line = 0;
  std::string reason;
};

struct OathUsersFile {
  std::vector<OathUser> users;         // in file order
  std::vector<OathRefusal> refused;    // in file order, one per user (or per nameless line)
};

// Errors only for the file as a whole (empty, no final newline); a bad
// line refuses its user, not the file.
Result<OathUsersFile> parse_oath_users(std::span<const std::uint8_t> bytes);

}  // namespace totp
