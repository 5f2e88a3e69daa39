// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/status_report.h"

#include <string>

#include "core/policy.h"

namespace totp::setup {

StatusReport status_report_of(std::string_view user, const std::optional<Record>& record, std::int64_t now) {
  StatusReport s;
  s.user = std::string(user);
  if (!record) return s;
  const Record& r = *record;
  s.enrolled = r.enrolment.state == EnrolmentState::active;
  s.pending = r.enrolment.state == EnrolmentState::pending;
  s.otp = r.enrolment.otp;
  s.created = r.enrolment.created;
  s.last_login_time = r.ledger.last_login_time;
  s.last_login_rhost = r.ledger.last_login_rhost;
  s.recovery_codes_left = r.enrolment.recovery_hashes.size();
  s.failures = r.ledger.fail_count;
  s.revoked = r.enrolment.revoked;
  if (s.revoked) s.enrolled = false;  // revoked: logins refused, nothing to show but that
  if (!s.revoked && s.enrolled) {
    const Enrolment& e = r.enrolment;
    s.authenticators.push_back(AuthenticatorInfo{first_authenticator_name(e), e.otp, e.created});
    for (const Authenticator& x : e.added) s.authenticators.push_back(AuthenticatorInfo{x.name, x.otp, x.created});
  }
  // The lock as the module judges it (core/policy.h): the settings play no
  // part once a lock is on record.
  if (is_locked(r.ledger, now)) s.locked_until = r.ledger.locked_until;
  return s;
}

}  // namespace totp::setup
