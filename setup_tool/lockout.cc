// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/lockout.h"

namespace totp::setup {

bool is_locked(const Ledger& l, const Settings& s, std::int64_t now) noexcept {
  (void)s;
  return totp::is_locked(l, now);
}

void record_failure(Ledger& l, const Settings& s, std::int64_t now) noexcept {
  LockoutPolicy p;
  p.deny = s.deny;
  p.fail_interval = s.fail_interval;
  p.unlock_time = s.unlock_time;
  (void)totp::record_failure(l, p, now);
}

void record_success(Ledger& l) noexcept { clear_lockout(l); }

void clear_lockout(Ledger& l) noexcept {
  l.fail_count = 0;
  l.first_fail_time = 0;
  l.locked_until = 0;
}

}  // namespace totp::setup
