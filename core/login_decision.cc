// SPDX-License-Identifier: Apache-2.0
// One login attempt's decision: see login_decision.h.
#include "core/login_decision.h"

#include <syslog.h>

#include <string>

#include "core/boot_rule.h"
#include "core/otp.h"
#include "core/recovery.h"

namespace totp {

namespace {

// The answer checked against the enrolment; nullopt for a wrong one.
// Errors (crypto, Argon2) are errors: the attempt stays counted.
Result<std::optional<Decision>> check_answer(Record& rec, const LoginAttempt& a, LoginVerdict& verdict) {
  Enrolment& enrolment = rec.enrolment;
  Ledger& ledger = rec.ledger;
  const int digits = enrolment.otp.digits;
  const std::string_view typed = a.too_long ? std::string_view() : a.answer;
  const AnswerKind kind = a.too_long ? AnswerKind::malformed : classify_answer(typed, digits);
  if (kind == AnswerKind::totp) {
    auto candidate = totp_candidate(typed, digits);
    if (!candidate) return make_error(Errc::invalid_argument, "internal: code routing");
    // Steps whose codes could have been typed before the boot count as used.
    const auto floor = used_steps_floor(ledger.last_used_step, a.boot_time, enrolment.otp, a.window);
    // Every authenticator of the account is tried, whichever matches (no
    // early exit); they share the period, so one last used step refuses a
    // used or older code on each of them.
    auto checked = check_authenticators(enrolment, candidate->view(), a.now, a.window, floor);
    if (!checked) return checked.error();
    if (checked->accepted_step) {
      ledger.last_used_step = checked->accepted_step;
      verdict.authenticator = checked->authenticator;
      return std::optional<Decision>(Decision::accepted_totp);
    }
    verdict.decision = checked->replayed ? Decision::replayed : Decision::wrong;
    const auto period = static_cast<std::int64_t>(enrolment.otp.period);
    if (ledger.last_used_step && period > 0 && *ledger.last_used_step <= static_cast<std::uint64_t>(INT64_MAX / period) &&
        a.now < static_cast<std::int64_t>(*ledger.last_used_step) * period) {
      verdict.clock_behind_seconds = static_cast<std::int64_t>(*ledger.last_used_step) * period - a.now;
    }
    return std::optional<Decision>();
  }
  if (kind == AnswerKind::recovery) {
    verdict.decision = Decision::wrong;
    auto normalized = normalize_recovery_code(typed);
    if (!normalized) return std::optional<Decision>();
    const std::uint64_t before = argon2_computations();
    auto found = find_recovery_code(normalized->view(), enrolment.recovery_salt, enrolment.recovery_hashes);
    verdict.argon2_runs = argon2_computations() - before;
    if (!found) return found.error();
    if (!found->has_value()) return std::optional<Decision>();
    enrolment.recovery_hashes.erase(enrolment.recovery_hashes.begin() + static_cast<std::ptrdiff_t>(**found));
    return std::optional<Decision>(Decision::accepted_recovery);
  }
  verdict.decision = Decision::malformed;
  return std::optional<Decision>();
}

}  // namespace

Result<AuthenticatorCheck> check_authenticators(const Enrolment& e, std::string_view candidate, std::int64_t now,
                                                int window, std::optional<std::uint64_t> used_floor) {
  AuthenticatorCheck out;
  for (const AuthenticatorView& auth : login_authenticators(e)) {
    auto v = totp_verify(auth.secret, auth.otp, candidate, now, window, used_floor);
    if (!v) return v.error();
    if (v->outcome == VerifyOutcome::accepted && !out.accepted_step) {
      out.accepted_step = v->step;
      out.authenticator = auth.name;
    }
    out.replayed = out.replayed || v->outcome == VerifyOutcome::replayed;
  }
  return out;
}

LoginAttempt login_attempt(const Settings& settings, const SecureBytes* answer, std::int64_t now,
                           std::string_view rhost, const RecordStore& store) {
  LoginAttempt a;
  a.answer = answer != nullptr ? answer->view() : std::string_view();
  a.too_long = answer == nullptr;
  a.now = now;
  a.rhost = rhost;
  a.window = settings.window;
  a.policy = LockoutPolicy{settings.deny, settings.fail_interval, settings.unlock_time};
  a.boot_time = boot_rule_time(store);
  return a;
}

std::int64_t boot_rule_time(const RecordStore& store) {
  return store.ledger_writes_durable() ? 0 : system_boot_time();
}

Result<RecordStore::Write> judge_login(std::optional<Record>& rec, const LoginAttempt& attempt,
                                 const RecordStore::OnRecord& on_record, LoginVerdict& verdict) {
  verdict = LoginVerdict{};
  if (rec && rec->enrolment.revoked) {
    verdict.decision = Decision::revoked;
    return RecordStore::Write::nothing;
  }
  if (!rec || rec->enrolment.state != EnrolmentState::active) return RecordStore::Write::nothing;
  verdict.recovery_left = rec->enrolment.recovery_hashes.size();
  // Counted in an earlier round (an optimistic store read again after
  // another login got in): judged as it was when it began, not counted twice.
  const bool counted_before = on_record.already_counted();
  // The lock may have been set by a racing login since the first read.
  if (!counted_before && is_locked(rec->ledger, attempt.now)) {
    verdict.decision = Decision::locked;
    return RecordStore::Write::nothing;
  }

  // In the first minute or so after a boot no code an app shows can be
  // accepted yet (core/boot_rule.h): said before anything is checked or
  // counted, so it tells nothing about the code.
  if (attempt.boot_time != 0 && !attempt.too_long &&
      classify_answer(attempt.answer, rec->enrolment.otp.digits) == AnswerKind::totp) {
    const std::uint64_t first = first_step_after_boot(attempt.boot_time, rec->enrolment.otp, attempt.window);
    const auto period = static_cast<std::int64_t>(rec->enrolment.otp.period);
    const std::int64_t now_step = attempt.now / period;
    if (now_step >= 0 && static_cast<std::uint64_t>(now_step) < first) {
      verdict.decision = Decision::too_early;
      verdict.wait_seconds = static_cast<std::int64_t>(first) * period - attempt.now;
      return RecordStore::Write::nothing;
    }
  }

  // Count first: the failure is on record before the answer is looked at.
  Ledger counted = rec->ledger;
  const bool locks =
      !counted_before && record_failure(counted, attempt.policy, attempt.now) == FailureOutcome::now_locked;
  verdict.decision = Decision::malformed;
  TOTP_TRY_STATUS(on_record(counted));

  auto outcome = check_answer(*rec, attempt, verdict);
  if (!outcome) return outcome.error();
  if (!outcome->has_value()) {
    if (counted_before) return RecordStore::Write::nothing;  // the failure is on record
    rec->ledger = std::move(counted);
    verdict.now_locked = locks;
    return RecordStore::Write::ledger_only;
  }
  // Right: the counted failure is taken back.
  verdict.decision = **outcome;
  record_success(rec->ledger, attempt.now, attempt.rhost);
  verdict.recovery_left = rec->enrolment.recovery_hashes.size();
  // A recovery code says the phone may be gone: no device stays trusted.
  if (verdict.decision == Decision::accepted_recovery) clear_trusted_devices(rec->enrolment.devices);
  return verdict.decision == Decision::accepted_recovery ? RecordStore::Write::everything : RecordStore::Write::ledger_only;
}

void log_verdict(const LogContext& ctx, const LoginVerdict& v, bool nullok) {
  if (v.argon2_runs != 0 || v.decision == Decision::accepted_recovery) {
    log_event(ctx, LOG_DEBUG, "argon2id computations: " + std::to_string(v.argon2_runs));
  }
  switch (v.decision) {
    case Decision::not_enrolled:
      if (nullok) {
        log_event(ctx, LOG_INFO, "not enrolled (nullok)");
      } else {
        log_event(ctx, LOG_NOTICE, "not enrolled");
      }
      return;
    case Decision::locked:
      log_event(ctx, LOG_WARNING, "locked");
      return;
    case Decision::accepted_totp:
      log_event(ctx, LOG_INFO, "accepted totp (authenticator " + v.authenticator + ")");
      return;
    case Decision::revoked:
      log_event(ctx, LOG_NOTICE, std::string(kRevokedLogReason));
      return;
    case Decision::accepted_recovery:
      log_event(ctx, LOG_NOTICE, "accepted recovery code (" + std::to_string(v.recovery_left) + " left)");
      return;
    case Decision::too_early:
      log_event(ctx, LOG_NOTICE,
                "code not checked: this system started too recently for any code an app shows now (boot rule); "
                "the user was told to wait " + std::to_string(v.wait_seconds) + " s for the next code");
      return;
    case Decision::wrong:
    case Decision::replayed:
    case Decision::malformed:
      break;
  }
  if (v.clock_behind_seconds > 0) {
    log_event(ctx, LOG_WARNING, "clock is behind the last used code by " + std::to_string(v.clock_behind_seconds) +
                                    " s: codes are refused until then (was the system clock set back?)");
  }
  std::string reason = v.decision == Decision::replayed    ? "replayed code"
                       : v.decision == Decision::malformed ? "wrong code (malformed answer)"
                                                           : "wrong code";
  if (v.now_locked) reason += "; now locked";
  log_event(ctx, LOG_NOTICE, reason);
}

namespace {

constexpr struct {
  Decision decision;
  const char* name;
} kDecisionNames[] = {
    {Decision::not_enrolled, "not_enrolled"}, {Decision::locked, "locked"},
    {Decision::accepted_totp, "accepted_totp"}, {Decision::accepted_recovery, "accepted_recovery"},
    {Decision::wrong, "wrong"},               {Decision::replayed, "replayed"},
    {Decision::malformed, "malformed"},       {Decision::too_early, "too_early"},
    {Decision::revoked, "revoked"},
};

}  // namespace

const char* decision_name(Decision d) noexcept {
  for (const auto& n : kDecisionNames) {
    if (n.decision == d) return n.name;
  }
  return "malformed";
}

std::optional<Decision> decision_from_name(std::string_view name) noexcept {
  for (const auto& n : kDecisionNames) {
    if (name == n.name) return n.decision;
  }
  return std::nullopt;
}

}  // namespace totp
