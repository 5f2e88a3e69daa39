// SPDX-License-Identifier: Apache-2.0
// totp-setup revoke (--user NAME | --all) [--sessions]: the answer to a
// breach. Each user's second factor is revoked (AccountService::revoke):
// logins refused with a message saying so, never "not enrolled", until
// root enrols them again or they do with a recovery code; --sessions also
// ends their running sessions.
#include <pwd.h>

#include <string>
#include <vector>

#include "core/store_factory.h"
#include "setup_tool/account_service.h"
#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"
#include "setup_tool/session_end.h"
#include "setup_tool/terminal.h"

namespace totp::setup {

namespace {

struct Outcome {
  std::string user;
  bool changed = false;               // false: it was revoked already
  std::optional<SessionsEnded> ended;  // --sessions
  std::string error;                  // non-empty: this user failed
};

Outcome revoke_one(const Settings& settings, const std::string& user, bool sessions) {
  Outcome out;
  out.user = user;
  auto store = open_record_store(settings);
  if (!store) {
    out.error = store.error().message;
    return out;
  }
  AccountService svc(settings, std::move(*store), user, Caller::root);
  auto r = svc.revoke();
  if (!r) {
    out.error = r.error().message;
    return out;
  }
  out.changed = *r;
  if (sessions) {
    const struct passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) {
      out.error = "revoked, but no such account to end sessions of";
      return out;
    }
    auto ended = end_sessions(user, pw->pw_uid);
    if (!ended) {
      out.error = "revoked, but " + ended.error().message;
      return out;
    }
    out.ended = *ended;
  }
  return out;
}

std::string outcome_line(const Outcome& o) {
  if (!o.error.empty()) return o.user + ": " + o.error;
  std::string line = o.changed ? "revoked " + o.user : o.user + " was revoked already";
  if (o.ended) {
    line += "; sessions ended (" + o.ended->how + ", " + std::to_string(o.ended->processes) + " processes)";
  }
  return line;
}

}  // namespace

int run_revoke(const Context& ctx) {
  const Options& o = ctx.opts;
  if (!ctx.root) return fail(kExitRefused, "revoke is for root");
  auto settings = load_tool_settings(o.config_path);
  if (!settings) return fail_with(settings.error());
  std::vector<std::string> users;
  if (o.all) {
    auto store = open_record_store(*settings);
    if (!store) return fail_with(store.error());
    auto all = (*store)->users();
    if (!all) return fail_with(all.error());
    users = std::move(*all);
  } else {
    users.push_back(ctx.target);
  }
  const std::string who = o.all ? "every enrolled user (" + std::to_string(users.size()) + ")" : ctx.target;
  if (auto rc = confirm_or_cancel(ctx, "Revoke the second factor of " + who + (o.sessions ? " and end their sessions?" : "?"))) {
    return *rc;
  }
  std::vector<Outcome> outcomes;
  bool failed = false;
  for (const std::string& user : users) {
    outcomes.push_back(revoke_one(*settings, user, o.sessions));
    failed = failed || !outcomes.back().error.empty();
    if (!o.json) {
      const std::string line = outcome_line(outcomes.back()) + "\n";
      if (outcomes.back().error.empty()) {
        print_out(line);
      } else {
        (void)fail(kExitError, line);
      }
    }
  }
  if (o.json) {
    Json list = Json::array();
    for (const Outcome& x : outcomes) {
      Json j{{"user", x.user}, {"revoked", x.error.empty() || x.error.starts_with("revoked")},
             {"already", !x.changed && x.error.empty()}};
      if (x.ended) j["sessions"] = Json{{"how", x.ended->how}, {"processes", x.ended->processes}};
      if (!x.error.empty()) j["error"] = x.error;
      list.push_back(std::move(j));
    }
    Json j{{"users", std::move(list)}};
    if (!print_json(j)) return fail(kExitError, "cannot write the output");
  }
  if (failed) return kExitError;
  if (!o.json) {
    print_out(std::string("Until they enrol again (root: totp-setup enroll --user NAME; the user: totp-setup enroll\n"
                          "with one of their recovery codes) their logins are refused with a message saying why.\n"));
  }
  return kExitOk;
}

}  // namespace totp::setup
