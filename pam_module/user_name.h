// SPDX-License-Identifier: Apache-2.0
// Which account a typed login name means. Name services accept other forms
// than the account's own name (case variants, "alice@corp", "CORP\alice" with
// sssd or winbind): the record must be looked up under the name the system
// resolves the typed one to, BEFORE anything is decided about it, or an
// alias would be a way around the account's enrolment.
#pragma once

#include <string>

namespace totp::pam {

struct ResolvedUser {
  enum class Kind {
    account,  // `name` is the canonical name of an existing account
    unknown,  // the system knows no such account (so it has no enrolment)
    error,    // the name service failed: nothing may be concluded
  };
  Kind kind = Kind::error;
  std::string name;    // account: canonical name
  std::string reason;  // error: why (safe to log)
};

// Asks the name service (getpwnam_r) about the name as typed; the typed
// bytes are not trusted or checked here, only passed to the lookup.
ResolvedUser resolve_user(const std::string& typed);

}  // namespace totp::pam
