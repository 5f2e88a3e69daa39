// SPDX-License-Identifier: Apache-2.0
// Pure login decisions: see policy.h.
#include "core/policy.h"

#include <string>

#include "core/recovery.h"

namespace totp {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Number of digits if `s` is only digits and spaces, else nullopt.
std::optional<std::size_t> digit_count(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s) {
    if (is_digit(c)) {
      ++n;
    } else if (c != ' ') {
      return std::nullopt;
    }
  }
  return n;
}

void forget_failures(Ledger& ledger) noexcept {
  ledger.fail_count = 0;
  ledger.first_fail_time = 0;
  ledger.locked_until = 0;
}

SecureBytes bytes_of(std::string_view s) { return SecureBytes::from_string(s); }

}  // namespace

bool is_locked(const Ledger& ledger, std::int64_t now) noexcept {
  return ledger.locked_until != 0 && now < ledger.locked_until;
}

FailureOutcome record_failure(Ledger& ledger, const LockoutPolicy& policy, std::int64_t now) noexcept {
  // An expired lock starts a fresh run: the user gets `deny` new attempts,
  // as with pam_faillock once unlock_time has passed.
  if (ledger.locked_until != 0 && now >= ledger.locked_until) forget_failures(ledger);
  // A run older than fail_interval is forgotten. A first_fail_time in the
  // future (clock set back) also restarts the run rather than extending it.
  const bool run_expired = ledger.fail_count == 0 || ledger.first_fail_time < 0 || now < ledger.first_fail_time ||
                           now - ledger.first_fail_time >= static_cast<std::int64_t>(policy.fail_interval);
  if (run_expired) {
    ledger.fail_count = 0;
    ledger.first_fail_time = now;
  }
  if (ledger.fail_count < UINT32_MAX) ++ledger.fail_count;
  if (policy.deny > 0 && ledger.fail_count >= static_cast<std::uint32_t>(policy.deny) && !is_locked(ledger, now)) {
    ledger.locked_until = policy.unlock_time == 0 ? kLockedUntilRootUnlocks
                          : now > kLockedUntilRootUnlocks - policy.unlock_time
                              ? kLockedUntilRootUnlocks - 1
                              : now + policy.unlock_time;
    return FailureOutcome::now_locked;
  }
  return FailureOutcome::counted;
}

void record_success(Ledger& ledger, std::int64_t now, std::string_view rhost) {
  forget_failures(ledger);
  ledger.last_login_time = now;
  std::string kept;
  for (char c : rhost.substr(0, kMaxRhostSize)) {
    // The rhost comes from the PAM application: keep printable ASCII only.
    kept.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  ledger.last_login_rhost = std::move(kept);
}

AnswerKind classify_answer(std::string_view typed, int digits) {
  if (typed.empty() || typed.size() > kMaxAnswerSize) return AnswerKind::malformed;
  if (auto n = digit_count(typed); n && digits > 0 && *n == static_cast<std::size_t>(digits)) {
    return AnswerKind::totp;
  }
  if (looks_like_recovery_code(typed)) return AnswerKind::recovery;
  return AnswerKind::malformed;
}

std::optional<SecureBytes> totp_candidate(std::string_view typed, int digits) {
  if (classify_answer(typed, digits) != AnswerKind::totp) return std::nullopt;
  SecureBytes out;
  for (char c : typed) {
    if (is_digit(c)) out.push_back(static_cast<std::uint8_t>(c));
  }
  return out;
}

std::optional<SplitAnswer> split_password_and_code(std::string_view typed, int digits) {
  if (digits <= 0) return std::nullopt;
  const auto take = [&](std::size_t code_len) -> SplitAnswer {
    return SplitAnswer{bytes_of(typed.substr(0, typed.size() - code_len)),
                       bytes_of(typed.substr(typed.size() - code_len))};
  };
  const auto n = static_cast<std::size_t>(digits);
  if (typed.size() >= n) {
    const auto tail = typed.substr(typed.size() - n);
    if (auto count = digit_count(tail); count && *count == n) return take(n);
  }
  // A recovery code with its dash ("xxxxx-xxxxx"), then without it.
  for (std::size_t len : {std::size_t{11}, std::size_t{10}}) {
    if (typed.size() < len) continue;
    const auto tail = typed.substr(typed.size() - len);
    if (len == 11 && tail[5] != '-') continue;
    if (len == 10 && tail.find_first_of("- ") != std::string_view::npos) continue;
    if (looks_like_recovery_code(tail)) return take(len);
  }
  return std::nullopt;
}

}  // namespace totp
