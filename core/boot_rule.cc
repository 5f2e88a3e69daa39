// SPDX-License-Identifier: Apache-2.0
// See boot_rule.h.
#include "core/boot_rule.h"

#include <time.h>

namespace totp {

std::int64_t system_boot_time() {
  struct timespec real {}, since_boot {};
  if (::clock_gettime(CLOCK_REALTIME, &real) != 0 || ::clock_gettime(CLOCK_BOOTTIME, &since_boot) != 0) return 0;
  const std::int64_t boot = static_cast<std::int64_t>(real.tv_sec) - static_cast<std::int64_t>(since_boot.tv_sec);
  return boot > 0 ? boot : 0;
}

std::uint64_t first_step_after_boot(std::int64_t boot_time, const OtpParams& otp, int window) {
  if (boot_time <= 0 || otp.period <= 0) return 0;
  const auto period = static_cast<std::uint64_t>(otp.period);
  // ceil(boot / period): the first step that starts at or after the boot.
  const std::uint64_t first_full = (static_cast<std::uint64_t>(boot_time) + period - 1) / period;
  return first_full + static_cast<std::uint64_t>(window < 0 ? 0 : window);
}

std::optional<std::uint64_t> used_steps_floor(std::optional<std::uint64_t> last_used_step, std::int64_t boot_time,
                                              const OtpParams& otp, int window) {
  if (boot_time <= 0) return last_used_step;
  const std::uint64_t first = first_step_after_boot(boot_time, otp, window);
  if (first == 0) return last_used_step;
  const std::uint64_t floor = first - 1;
  if (!last_used_step || *last_used_step < floor) return floor;
  return last_used_step;
}

}  // namespace totp
