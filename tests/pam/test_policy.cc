// SPDX-License-Identifier: Apache-2.0
// Unit tests for core/policy: the lockout state machine and answer routing.
// C++ headers first: cmocka.h defines macros that clash with them.
#include <string>

#include "core/policy.h"

extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using namespace totp;

namespace {

constexpr std::int64_t T0 = 1700000010;

void test_failures_lock_at_deny(void**) {
  Ledger l;
  const LockoutPolicy p{3, 900, 600};
  assert_false(is_locked(l, T0));
  assert_int_equal(static_cast<int>(record_failure(l, p, T0)), static_cast<int>(FailureOutcome::counted));
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 10)), static_cast<int>(FailureOutcome::counted));
  assert_false(is_locked(l, T0 + 10));
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 20)), static_cast<int>(FailureOutcome::now_locked));
  assert_int_equal(l.fail_count, 3);
  assert_true(l.locked_until == T0 + 20 + 600);
  assert_true(is_locked(l, T0 + 20));
  assert_true(is_locked(l, T0 + 619));
  assert_false(is_locked(l, T0 + 620));
}

void test_expired_lock_gives_fresh_attempts(void**) {
  Ledger l;
  const LockoutPolicy p{2, 900, 60};
  record_failure(l, p, T0);
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 1)), static_cast<int>(FailureOutcome::now_locked));
  assert_false(is_locked(l, T0 + 61));
  // The first failure after the lock expired starts a new run.
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 62)), static_cast<int>(FailureOutcome::counted));
  assert_int_equal(l.fail_count, 1);
  assert_true(l.locked_until == 0);
}

void test_failures_outside_interval_forgotten(void**) {
  Ledger l;
  const LockoutPolicy p{3, 100, 600};
  record_failure(l, p, T0);
  record_failure(l, p, T0 + 50);
  // T0 + 100 is fail_interval after the run started: a new run.
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 100)), static_cast<int>(FailureOutcome::counted));
  assert_int_equal(l.fail_count, 1);
  assert_true(l.first_fail_time == T0 + 100);
  record_failure(l, p, T0 + 150);
  assert_int_equal(static_cast<int>(record_failure(l, p, T0 + 199)), static_cast<int>(FailureOutcome::now_locked));
}

void test_unlock_time_zero_locks_until_root(void**) {
  Ledger l;
  const LockoutPolicy p{1, 900, 0};
  assert_int_equal(static_cast<int>(record_failure(l, p, T0)), static_cast<int>(FailureOutcome::now_locked));
  assert_true(l.locked_until == kLockedUntilRootUnlocks);
  assert_true(is_locked(l, T0 + 100LL * 365 * 86400));
}

void test_deny_zero_never_locks(void**) {
  Ledger l;
  const LockoutPolicy p{0, 900, 600};
  for (int i = 0; i < 100; ++i) assert_int_equal(static_cast<int>(record_failure(l, p, T0 + i)), 0);
  assert_false(is_locked(l, T0 + 100));
}

void test_clock_set_back_restarts_run(void**) {
  Ledger l;
  const LockoutPolicy p{3, 900, 600};
  record_failure(l, p, T0);
  record_failure(l, p, T0 + 1);
  record_failure(l, p, T0 - 1000);
  assert_int_equal(l.fail_count, 1);
}

void test_success_resets(void**) {
  Ledger l;
  const LockoutPolicy p{3, 900, 600};
  record_failure(l, p, T0);
  record_failure(l, p, T0 + 1);
  record_success(l, T0 + 2, std::string("host\x01\xff", 6));
  assert_int_equal(l.fail_count, 0);
  assert_true(l.first_fail_time == 0);
  assert_true(l.last_login_time == T0 + 2);
  assert_string_equal(l.last_login_rhost.c_str(), "host??");
  record_success(l, T0 + 3, std::string(500, 'a'));
  assert_int_equal(l.last_login_rhost.size(), kMaxRhostSize);
}

void test_classify(void**) {
  assert_int_equal(static_cast<int>(classify_answer("123456", 6)), static_cast<int>(AnswerKind::totp));
  assert_int_equal(static_cast<int>(classify_answer("123 456", 6)), static_cast<int>(AnswerKind::totp));
  assert_int_equal(static_cast<int>(classify_answer(" 1 2 3 4 5 6 ", 6)), static_cast<int>(AnswerKind::totp));
  assert_int_equal(static_cast<int>(classify_answer("12345678", 8)), static_cast<int>(AnswerKind::totp));
  assert_int_equal(static_cast<int>(classify_answer("1234567", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("12345", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("      ", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("12345a", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("123\t456", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer("123456\n", 6)), static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer(std::string(10000, '1'), 6)),
                   static_cast<int>(AnswerKind::malformed));
  assert_int_equal(static_cast<int>(classify_answer(std::string("123\0" "456", 7), 6)),
                   static_cast<int>(AnswerKind::malformed));
  auto c = totp_candidate(" 12 34 56", 6);
  assert_true(c.has_value());
  assert_string_equal(std::string(c->view()).c_str(), "123456");
  assert_false(totp_candidate("abcdef", 6).has_value());
}

void test_split_password_and_code(void**) {
  auto s = split_password_and_code("secret pw123456", 6);
  assert_true(s.has_value());
  assert_string_equal(std::string(s->password.view()).c_str(), "secret pw");
  assert_string_equal(std::string(s->code.view()).c_str(), "123456");
  s = split_password_and_code("123456", 6);
  assert_true(s.has_value());
  assert_true(s->password.empty());
  s = split_password_and_code("pw12345678", 8);
  assert_true(s.has_value());
  assert_string_equal(std::string(s->password.view()).c_str(), "pw");
  assert_false(split_password_and_code("pw12345", 6).has_value());
  assert_false(split_password_and_code("", 6).has_value());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failures_lock_at_deny),
      cmocka_unit_test(test_expired_lock_gives_fresh_attempts),
      cmocka_unit_test(test_failures_outside_interval_forgotten),
      cmocka_unit_test(test_unlock_time_zero_locks_until_root),
      cmocka_unit_test(test_deny_zero_never_locks),
      cmocka_unit_test(test_clock_set_back_restarts_run),
      cmocka_unit_test(test_success_resets),
      cmocka_unit_test(test_classify),
      cmocka_unit_test(test_split_password_and_code),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
