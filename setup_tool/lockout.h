// SPDX-License-Identifier: Apache-2.0
// Failure counting and lockout for codes typed into totp-setup (re-enrolment,
// recovery-codes, remove): the module's state machine from core/policy.h
// with the Settings' deny / fail_interval / unlock_time. The one difference
// from a login: a success here clears the failure run but is not recorded as
// a login (last_login stays what the module wrote).
#pragma once

#include <cstdint>

#include "core/config.h"
#include "core/policy.h"
#include "core/record.h"

namespace totp::setup {

constexpr std::int64_t kLockedUntilUnlocked = kLockedUntilRootUnlocks;

bool is_locked(const Ledger& l, const Settings& s, std::int64_t now) noexcept;
void record_failure(Ledger& l, const Settings& s, std::int64_t now) noexcept;
void record_success(Ledger& l) noexcept;
void clear_lockout(Ledger& l) noexcept;

}  // namespace totp::setup
