// SPDX-License-Identifier: Apache-2.0
// The audit trail: one syslog line (LOG_AUTHPRIV | LOG_NOTICE) for every
// change to someone's second factor made by root's totp-setup or through
// the setuid helper: enrol, replace, add/remove an authenticator, remove,
// unlock, recovery codes, import, rekey, revoke. It names who did it and to
// whom, never a secret, a code or a hash:
//   totp-setup[PID]: audit: action=enrol user=alice by=root uid=0 loginuid=1000 sudo_user=bob authenticator=phone
//
// Line format (format_audit_line): "audit:" then space-separated key=value
// pairs in this order: action, user, by, uid, loginuid (when set),
// sudo_user (when known), via=helper (through the setuid helper), then the
// extra fields. A value is written bare when it is non-empty and made only
// of printable ASCII other than space, '"', '=' and '\'; otherwise it is
// put in double quotes, with every byte outside printable ASCII, '\' and
// '"' written as \xNN (see sanitize_for_log) and capped in length. So
// neither a value nor an extra field can forge a key, a line or another
// field: "user=a b=c" in a value comes out as user="a b=c". user=- means no
// user (a whole-store action such as rekey; no valid user name starts with
// '-').
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
// there); root's totp-setup passes true. SUDO_USER is kept only when it is
// a valid user name (validate_user_name); otherwise it is dropped.
// /proc/self/loginuid is set by pam_loginuid at login and cannot be changed
// by the user afterwards, so it names the person behind sudo or the helper.
// `caller_uid`: the helper gives up its real uid (setresuid(0, 0, 0)) before
// it acts, so it passes the real uid it started with; without it, getuid().
Actor current_actor(bool trust_environment, std::optional<uid_t> caller_uid = std::nullopt);

// Extra fields of an audit line, e.g. {"authenticator", "phone"}: names and
// values are sanitised; never pass a secret. A name is reduced to
// [a-z0-9_-] (anything else becomes '_'); a name that would repeat one of
// the fixed keys (action, user, by, ...) is written with the prefix "x_".
using AuditFields = std::vector<std::pair<std::string, std::string>>;

// Writes the line with syslog(), without openlog(): the ident and options
// stay the program's (the tool and the helper call openlog at start; a PAM
// host's own settings are left alone). `action` is one of: enrol, replace,
// add-authenticator, remove-authenticator, remove, unlock, recovery-codes,
// import, rekey, revoke, forget. `target` is the user acted on ("" for
// whole-store actions such as rekey: written as user=-).
void audit(const Actor& actor, std::string_view action, std::string_view target, const AuditFields& fields = {});

// --- Pieces, for the tests. ---

// The line audit() writes (without a newline).
std::string format_audit_line(const Actor& actor, std::string_view action, std::string_view target,
                              const AuditFields& fields);
// One value as it appears after "key=" (see the format above).
std::string audit_value(std::string_view value);
// The contents of /proc/self/loginuid: decimal digits without a leading
// zero (but "0"), an optional final newline, nothing else, at most
// 4294967295. nullopt when malformed or 4294967295 (unset).
std::optional<uid_t> parse_loginuid(std::string_view text);

}  // namespace totp
