// SPDX-License-Identifier: Apache-2.0
// Pure login decisions (no I/O, no clock): the lockout state machine with
// pam_faillock's meanings, and the routing of a typed answer to the TOTP or
// the recovery-code check. The module feeds in "now" and the record's ledger
// and writes back what these functions changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/record.h"
#include "core/secure_bytes.h"

namespace totp {

// deny / fail_interval / unlock_time as in pam_faillock(8).
struct LockoutPolicy {
  int deny = 5;             // failures that lock; 0 disables lockout
  int fail_interval = 900;  // seconds a run of failures may span
  int unlock_time = 600;    // seconds the lock lasts; 0 = until root unlocks
};

constexpr std::int64_t kLockedUntilRootUnlocks = INT64_MAX;

// True while the ledger's lock is in force at `now`.
bool is_locked(const Ledger& ledger, std::int64_t now) noexcept;

// What record_failure did.
enum class FailureOutcome {
  counted,     // one more failure in the current interval, not locked
  now_locked,  // this failure reached `deny`: locked_until is set
};

// Counts one failure at `now`. A lock that has expired and a run of failures
// that started more than fail_interval ago are forgotten first, so the count
// restarts at 1. When the count reaches deny (deny > 0) the user is locked
// until now + unlock_time (or until root unlocks when unlock_time is 0).
FailureOutcome record_failure(Ledger& ledger, const LockoutPolicy& policy, std::int64_t now) noexcept;

// A successful login: clears the failure run and any (expired) lock, and
// remembers when and from where.
void record_success(Ledger& ledger, std::int64_t now, std::string_view rhost);

// What a typed answer is.
enum class AnswerKind {
  totp,       // exactly `digits` ASCII digits once spaces are removed
  recovery,   // looks like a recovery code (see recovery.h)
  malformed,  // anything else: refused as a wrong code without any check
};

// Longest answer we look at (longer answers are malformed without a scan).
constexpr std::size_t kMaxAnswerSize = 64;

AnswerKind classify_answer(std::string_view typed, int digits);

// The TOTP candidate of an answer classified as totp: the digits without the
// spaces. nullopt for anything else.
std::optional<SecureBytes> totp_candidate(std::string_view typed, int digits);

// split_code: splits "password" + "code" typed at one prompt. The code is
// cut from the end: the last `digits` characters when they are digits, else
// a recovery code at the end (with or without its dash). nullopt when the
// end of the answer is neither (then the whole answer is the password and
// the code is missing).
struct SplitAnswer {
  SecureBytes password;
  SecureBytes code;
};
std::optional<SplitAnswer> split_password_and_code(std::string_view typed, int digits);

}  // namespace totp
