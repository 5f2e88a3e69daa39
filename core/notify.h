// SPDX-License-Identifier: Apache-2.0
// The event hook (notify_command, pam_totp.conf(5)): an out-of-band warning
// to a person, never a factor. On lockout, recovery-code use, enrolment,
// replacement, removal and revoke, the administrator's command is run
//   - with no arguments but its own path, and an environment of exactly
//     PATH=/usr/sbin:/usr/bin:/sbin:/bin and the PAM_TOTP_* variables of the
//     event (notify_environment): never a code, a secret, a hash or a key,
//     every value sanitised (it may come from an attacker: a user name, an
//     rhost);
//   - detached: the caller waits only for a first child that forks again
//     and exits at once, so a login is never delayed by the command and
//     leaves no zombie behind;
//   - as `nobody` (no supplementary groups, no way back to root, no new
//     privileges), in a session of its own, with 0/1/2 on /dev/null and no
//     other descriptor of the caller, default signal handling, umask 077,
//     in /;
//   - under a watchdog that kills its process group kNotifyTimeLimitSeconds
//     after it started (SIGTERM, then SIGKILL kNotifyKillGraceSeconds later).
// The command must be a regular file owned by root, not writable by group
// or others, not set-id, runnable by nobody, in directories that only root
// can change; it is opened once (O_NOFOLLOW), checked on that descriptor and
// run through it (fexecve), so what was checked is what runs. Anything
// wrong is one syslog line and nothing runs: never an exception, never a
// change to the result of the login or command that sent the event.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/login_decision.h"
#include "core/result.h"

namespace totp {

enum class NotifyKind { lockout, recovery_code_used, enrol, replace, remove, revoke };

// "lockout", "recovery-code-used", "enrol", "replace", "remove", "revoke".
const char* notify_kind_name(NotifyKind kind) noexcept;

struct NotifyEvent {
  NotifyKind kind = NotifyKind::lockout;
  std::string user;     // the account the event is about
  std::string rhost;    // PAM_RHOST ("" when none: the tool, a console)
  std::string service;  // the PAM service, or "totp-setup"
  std::int64_t time = 0;  // unix seconds
  std::optional<std::size_t> recovery_left;  // recovery_code_used: codes left
};

inline constexpr int kNotifyTimeLimitSeconds = 10;
inline constexpr int kNotifyKillGraceSeconds = 1;
inline constexpr const char* kNotifyRunAs = "nobody";
inline constexpr const char* kNotifyPathVariable = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

// Runs settings.notify_command for `event` as described above; does nothing
// at all (no fork) when notify_command is empty. Returns at once.
void notify(const Settings& settings, const NotifyEvent& event) noexcept;

// The events of a login's verdict, sent once it is on record: lockout when
// this failure reached `deny`, recovery-code-used (with the codes left)
// when a recovery code was accepted. The module sends them when it judged,
// the helper when it judged for the module (never both).
void notify_login(const Settings& settings, const LoginVerdict& verdict, const LogContext& ctx) noexcept;

// For the setuid helper, which gives up every capability right after it
// starts (helper_main.cc) and with them the setgroups/setgid/setuid that
// running the command as nobody needs. Called before that, as root with its
// capabilities: when `settings` (the system config, read now) name a
// command, a relay process is forked that keeps them, closes everything of
// the helper's but a pipe, and runs notify() under those settings for each
// event that notify() in the helper then hands it over the pipe. The helper
// decides only which event and about whom, never what runs; the relay ends
// when the helper does (end of file). Errors: a log line, no relay (events
// are then logged as lost).
void start_notify_relay(const Settings& settings) noexcept;

// --- Pieces, for the tests. ---

// An event on the relay's pipe: one line, every field hex-encoded.
std::string encode_notify_event(const NotifyEvent& event);
std::optional<NotifyEvent> decode_notify_event(std::string_view line);

// A value as the command sees it: printable ASCII only (anything else, and
// '\', written as \xNN), capped (sanitize_for_log).
std::string notify_value(std::string_view value);

// The whole environment of the command, "NAME=value" each: PATH, then
// PAM_TOTP_EVENT, _USER, _HOST, _RHOST, _SERVICE, _TIME (unix seconds),
// _TIME_UTC (ISO 8601, "Z") and, for recovery-code-used only,
// _RECOVERY_LEFT.
std::vector<std::string> notify_environment(const NotifyEvent& event, std::string_view host);

// Who the command runs as.
struct NotifyRunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Opens `path` for fexecve and checks it (see above). Errc::not_found when
// it does not exist, Errc::permission for anything unsafe (message says
// what), Errc::invalid_argument for a path that is not absolute.
Result<UniqueFd> open_notify_command(const std::string& path, const NotifyRunAs& run_as);

}  // namespace totp
