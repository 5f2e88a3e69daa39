// SPDX-License-Identifier: Apache-2.0
// core/boot_rule: which steps a login may accept after a boot.
// The property: a step is allowed only if none of its codes could have been
// typed before the boot, i.e. (t - window) x period >= boot; every step
// whose codes could have been typed before is treated as used.
#include <cstdint>
#include <optional>
#include <ctime>

#include "core/boot_rule.h"

extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

namespace {

using totp::OtpParams;

OtpParams params(int period) {
  OtpParams p;
  p.period = period;
  return p;
}

// Brute force: the first step t with (t - window) * period >= boot.
std::uint64_t first_by_definition(std::int64_t boot, int period, int window) {
  std::uint64_t t = 0;
  while ((static_cast<std::int64_t>(t) - window) * period < boot) ++t;
  return t;
}

void test_first_step_matches_definition(void**) {
  for (int period : {15, 30, 60, 300}) {
    for (int window = 0; window <= 10; ++window) {
      for (std::int64_t boot = 1700000000; boot < 1700000000 + 2 * 300; boot += 7) {
        assert_int_equal(totp::first_step_after_boot(boot, params(period), window),
                         first_by_definition(boot, period, window));
      }
    }
  }
}

void test_boot_on_a_step_boundary(void**) {
  // Boot exactly at the start of step 100 (period 30): with window 1, step
  // 101's codes can first be typed at 100 x 30, the boot: allowed.
  assert_int_equal(totp::first_step_after_boot(3000, params(30), 1), 101);
  assert_int_equal(totp::first_step_after_boot(3001, params(30), 1), 102);
  assert_int_equal(totp::first_step_after_boot(3000, params(30), 0), 100);
}

void test_floor(void**) {
  const OtpParams p = params(30);
  // No boot rule: the ledger alone.
  assert_false(totp::used_steps_floor(std::nullopt, 0, p, 1).has_value());
  assert_int_equal(*totp::used_steps_floor(42u, 0, p, 1), 42);
  // Boot at 3001 (step 100), window 1: steps up to 101 count as used.
  assert_int_equal(*totp::used_steps_floor(std::nullopt, 3001, p, 1), 101);
  assert_int_equal(*totp::used_steps_floor(50u, 3001, p, 1), 101);
  // A ledger newer than the floor wins.
  assert_int_equal(*totp::used_steps_floor(500u, 3001, p, 1), 500);
}

void test_system_boot_time(void**) {
  const std::int64_t boot = totp::system_boot_time();
  assert_true(boot > 1000000000);  // after 2001: a real clock and a real uptime
  assert_true(boot <= static_cast<std::int64_t>(::time(nullptr)));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_step_matches_definition),
      cmocka_unit_test(test_boot_on_a_step_boundary),
      cmocka_unit_test(test_floor),
      cmocka_unit_test(test_system_boot_time),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
