// The audit trail: one syslog line (LOG_AUTHPRIV | LOG_NOTICE) for every
// change to someone's second factor made by root's totp-setup or through
// the setuid helper: enrol, replace, add/remove an authenticator, remove,
// unlock, recovery codes, import, rekey, revoke. It names who did it and to
// whom, never a secret, a code or a hash:
//   totp-setup[PID]: audit: action=enrol user=alice by=root uid=0 loginuid=1000 sudo_user=bob authenticator=phone
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace totp {

// Who is acting.
struct Actor {
  uid_t uid = 0;                   // the real uid
  std::string name;                // its passwd name ("uid N" if none)
  std::optional<uid_t> login_uid;  // /proc/self/loginuid, when set
  std::string sudo_user;           // SUDO_USER, only when trusted (see below)
  bool via_helper = false;         // a user acting through the setuid helper
};

// The actor of this process. `trust_environment` is false in the setuid
// helper (its caller sets the environment, so SUDO_USER means nothing
// there); root's totp-setup passes true.
Actor current_actor(bool trust_environment);

// Extra fields of an audit line, e.g. {"authenticator", "phone"}: names and
// values are sanitised; never pass a secret.
using AuditFields = std::vector<std::pair<std::string, std::string>>;

// Writes the line. `action` is one of: enrol, replace, add-authenticator,
// remove-authenticator, remove, unlock, recovery-codes, import, rekey,
// revoke, forget. `target` is the user acted on ("" for whole-store
// actions such as rekey).
void audit(const Actor& actor, std::string_view action, std::string_view target, const AuditFields& fields = {});

}  // namespace totp
