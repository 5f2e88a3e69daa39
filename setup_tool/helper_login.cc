// SPDX-License-Identifier: Apache-2.0
// login_state / login for non-root PAM callers: see helper_login.h.
#include "setup_tool/helper_login.h"

#include <syslog.h>

#include "core/log.h"
#include "core/login_decision.h"
#include "core/notify.h"

namespace totp::setup {

namespace {

std::string field(const Request& req, const char* key) {
  const SecureBytes* v = req.secret(key);
  return v != nullptr ? std::string(v->view()) : std::string();
}

}  // namespace

LoginReply answer_login_request(AccountService& svc, const Request& req, const std::string& own_user) {
  LoginReply out;
  const SecureBytes* user = req.secret("user");
  // The module sends the account name the system resolved the typed name
  // to; the helper knows only one account, its caller's.
  if (user == nullptr || user->view() != own_user) {
    out.refuse = make_error(Errc::permission, "asked to judge a login of another user: refused");
    return out;
  }
  if (req.op == "login_state") {
    auto st = svc.login_state();
    if (!st) {
      out.reply = error_reply(st.error());
      return out;
    }
    out.reply = Json{{"ok", true},           {"build", kBuildId},  {"enrolled", st->enrolled},
                     {"locked", st->locked}, {"digits", st->digits}, {"revoked", st->revoked}};
    return out;
  }
  const bool unseen = req.flag("unseen").value_or(false);
  const std::string rhost = field(req, "rhost");
  auto verdict = svc.login(unseen ? nullptr : req.secret("answer"), rhost);
  LogContext ctx;
  ctx.service = req.secret("service") != nullptr ? field(req, "service") : std::string("totp-helper");
  ctx.user = own_user;
  ctx.rhost = rhost;
  if (!verdict) {
    log_event(ctx, LOG_ERR, "login through totp-helper: " + verdict.error().message);
    out.reply = error_reply(verdict.error());
    return out;
  }
  // The module's nullok never applies here: a not-enrolled verdict is only
  // possible if the enrolment vanished between the two requests.
  log_verdict(ctx, *verdict, false);
  // The helper judged, so the helper sends the event (the module does not).
  notify_login(svc.settings(), *verdict, ctx);
  out.reply = Json{{"ok", true},
                   {"decision", decision_name(verdict->decision)},
                   {"now_locked", verdict->now_locked},
                   {"recovery_left", static_cast<std::int64_t>(verdict->recovery_left)}};
  return out;
}

}  // namespace totp::setup
