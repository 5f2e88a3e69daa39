// SPDX-License-Identifier: Apache-2.0
// Where a pam_totp login spends its time: each step the module takes,
// timed alone through the core API it calls (same code, same files, same
// disk), many times over. The minimum is the cost without disturbance from
// other work on the machine; the median is what a run sees.
#pragma once

#include <string>

namespace bench {

class TotpFixture;

// Prints one line per step. `user` must be enrolled in `fixture`; its
// ledger is updated (last login time) by the timed writes.
void print_phase_costs(TotpFixture& fixture, const std::string& user, int iterations);

}  // namespace bench
