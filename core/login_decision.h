// SPDX-License-Identifier: Apache-2.0
// The decision of one login attempt, under the user's lock, on a freshly
// read record: locked?, count the attempt, check the answer, record the
// outcome. Pure but for the `on_record` write it is handed (the store's
// pessimistic accounting, see RecordStore::update_checked), so that the PAM module
// and the setuid helper judge alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/record.h"
#include "core/result.h"
#include "core/record_store.h"

namespace totp {

// too_early: a TOTP code while every code an app can show now could have
// been typed before this system started (core/boot_rule.h): not checked,
// not counted, the user is told to wait for the next code.
// revoked: root revoked the second factor (totp-setup revoke): refused
// without a prompt until the account is enrolled again, never "not
// enrolled" (nullok does not apply).
enum class Decision { not_enrolled, locked, accepted_totp, accepted_recovery, wrong, replayed, malformed, too_early, revoked };

struct LoginVerdict {
  Decision decision = Decision::not_enrolled;
  bool now_locked = false;           // this failure reached `deny`
  std::size_t recovery_left = 0;     // unused recovery codes after the decision
  std::uint64_t argon2_runs = 0;     // Argon2id computations made for this attempt
  std::int64_t wait_seconds = 0;     // too_early: until the first code that can be accepted
  std::string authenticator;         // accepted_totp: the name of the authenticator whose code it was
  // A TOTP code refused while the clock is before the last used step (it
  // was set back, or was ahead when that code was used): how many seconds
  // until the clock reaches that step again. No code can be accepted
  // before then; log_verdict says so in a line of its own.
  std::int64_t clock_behind_seconds = 0;
};

struct LoginAttempt {
  std::string_view answer;   // what the user typed (the code part)
  bool too_long = false;     // longer than the conversation accepts: refused unseen
  std::int64_t now = 0;      // after the human answered
  std::string_view rhost;    // recorded with a success
  int window = 1;
  LockoutPolicy policy;
  std::int64_t boot_time = 0;  // the boot rule's boot time; 0: no boot rule (durable ledger writes)
};

// The attempt for `answer` (nullptr: not seen, judged as malformed) under
// the settings that govern every login (window, lockout policy) and the
// store's durability: the boot rule applies when `store` does not write a
// ledger durably.
LoginAttempt login_attempt(const Settings& settings, const SecureBytes* answer, std::int64_t now,
                           std::string_view rhost, const RecordStore& store);

// The boot rule's boot time for a store (core/boot_rule.h): 0 (no rule)
// when the store writes a ledger durably, else when this system started.
std::int64_t boot_rule_time(const RecordStore& store);

// The log line of a revoked account's login (module and helper alike).
constexpr const char* kRevokedLogReason =
    "refused: the second factor was revoked (totp-setup revoke); the account must be enrolled again";

// A TOTP candidate checked against every authenticator of the enrolment
// (login_authenticators), all of them whatever matches. The login and the
// tool's proof of possession both use it.
struct AuthenticatorCheck {
  std::optional<std::uint64_t> accepted_step;  // set: accepted at this step
  std::string authenticator;                   // the one that accepted
  bool replayed = false;                       // some authenticator saw a used step
};
Result<AuthenticatorCheck> check_authenticators(const Enrolment& e, std::string_view candidate, std::int64_t now,
                                                int window, std::optional<std::uint64_t> used_floor);

inline bool is_acceptance(Decision d) { return d == Decision::accepted_totp || d == Decision::accepted_recovery; }

// Decides `attempt` against `record` and says what the store must write.
// Every attempt on an active, unlocked enrolment is first put on record as
// a failure through `on_record`; only then is the answer looked at. A right
// answer takes the failure back (ledger_only for a TOTP code, everything
// for a used recovery code); a wrong one leaves it (ledger_only with the
// counted ledger). Not enrolled or locked: nothing is written.
Result<RecordStore::Write> judge_login(std::optional<Record>& record, const LoginAttempt& attempt,
                                 const RecordStore::OnRecord& on_record, LoginVerdict& verdict);

// The one syslog line of a verdict (plus a debug line when Argon2id ran),
// the same from the module and from the helper. `nullok` only changes how a
// not-enrolled verdict is worded and ranked.
void log_verdict(const LogContext& ctx, const LoginVerdict& v, bool nullok);

// Verdict names on the helper's wire ("accepted_totp", ...); nullopt for
// an unknown name.
const char* decision_name(Decision d) noexcept;
std::optional<Decision> decision_from_name(std::string_view name) noexcept;

}  // namespace totp
