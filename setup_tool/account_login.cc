// SPDX-License-Identifier: Apache-2.0
// AccountService's login for non-root PAM callers (screen lockers,
// pamtester run by a user): the helper hands the module's question to the
// very code the module runs as root -- core/login_decision under the
// store's pessimistic update -- with the system config's window and
// lockout, so both paths give the same answer and share one ledger.
#include <ctime>

#include "core/login_decision.h"
#include "setup_tool/account_service.h"
#include "setup_tool/lockout.h"

namespace totp::setup {

Result<AccountService::LoginState> AccountService::login_state() const {
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  LoginState s;
  const std::optional<Record>& r = *loaded;
  if (r && r->enrolment.revoked) {
    s.revoked = true;
    return s;
  }
  if (!r || r->enrolment.state != EnrolmentState::active) return s;
  s.enrolled = true;
  s.digits = r->enrolment.otp.digits;
  s.locked = totp::is_locked(r->ledger, now());
  return s;
}

Result<LoginVerdict> AccountService::login(const SecureBytes* answer, std::string_view rhost) {
  const LoginAttempt attempt = login_attempt(settings_, answer, now(), rhost, *store_);
  LoginVerdict verdict;
  Status st = store_->update_checked(user_, [&](std::optional<Record>& rec, const RecordStore::OnRecord& on_record) {
    return judge_login(rec, attempt, on_record, verdict);
  });
  if (!st) return st.error();
  return verdict;
}

}  // namespace totp::setup
