// SPDX-License-Identifier: Apache-2.0
#include "bench/ga_fixture.h"

#include "bench/bench_util.h"
#include "core/base32.h"

namespace bench {

void write_ga_state(const std::string& dir, const std::string& user, const std::vector<std::uint8_t>& secret,
                    const std::vector<std::string>& scratch_codes) {
  std::string text = totp::base32_encode(secret) + "\n";
  // WINDOW_SIZE 3 = the step before, now and the step after: the same
  // acceptance window as pam_totp's default window=1.
  text += "\" WINDOW_SIZE 3\n";
  text += "\" DISALLOW_REUSE\n";
  text += "\" TOTP_AUTH\n";
  for (const auto& c : scratch_codes) text += c + "\n";
  // The module refuses group/world bits; user=root means owner root (us).
  write_file(dir + "/" + user, text, 0400);
}

}  // namespace bench
