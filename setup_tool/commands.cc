// SPDX-License-Identifier: Apache-2.0
// init, status, recovery-codes, remove, unlock, and the dispatch.
#include "setup_tool/commands.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/store.h"
#include "core/store_factory.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"
#include "setup_tool/terminal.h"

namespace totp::setup {

namespace {

bool print_text(const std::string& s) { return print_out(s); }

}  // namespace

int run_init(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "init must be run as root (it creates root-owned files)");
  auto settings = load_tool_settings(ctx.opts.config_path);
  if (!settings) return fail_with(settings.error());
  std::vector<std::string> lines;
  Status st = initialize(settings->key_file, settings->state_dir, [&](const std::string& line) {
    lines.push_back(line);
    if (!ctx.opts.json) print_text(line + "\n");
  });
  if (!st) return fail_with(st.error());
  // The records' store, tried once: a directory that cannot be reached or
  // read is reported now, not at the first login.
  auto store = open_record_store(*settings);
  if (!store) return fail_with(store.error());
  auto checked = (*store)->check();
  if (!checked) return fail_with(checked.error());
  if (!checked->empty()) {
    lines.push_back(*checked);
    if (!ctx.opts.json) print_text(*checked + "\n");
  }
  if (ctx.opts.json) {
    Json j{{"key_file", settings->key_file}, {"state_dir", settings->state_dir}, {"actions", lines}};
    if (!print_json(j)) return fail(kExitError, "cannot write the output");
  }
  return kExitOk;
}

int run_status(const Context& ctx) {
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  auto st = (*backend)->status();
  if (!st) return fail_with(st.error());
  if (ctx.opts.json) {
    Json j = status_json(*st);
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  return print_text(status_text(*st)) ? kExitOk : fail(kExitError, "cannot write the output");
}

int run_recovery_codes(const Context& ctx) {
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  Backend& b = **backend;
  auto st = b.status();
  if (!st) return fail_with(st.error());
  if (!st->enrolled) return fail(kExitError, ctx.target + " is not enrolled");
  if (auto rc = confirm_or_cancel(ctx, "Make new recovery codes? The old ones will stop working.")) return *rc;
  std::optional<Issued> issued;
  const int rc = run_with_proof(ctx, b, [&](const SecureBytes* proof) -> std::optional<Error> {
    auto r = b.regenerate(proof);
    if (!r) return r.error();
    issued = std::move(*r);
    return std::nullopt;
  });
  if (rc != kExitOk) return rc;
  if (ctx.opts.json) {
    Json j = codes_json(ctx.target, *issued);
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  SecureBytes text;
  text.append(std::string_view("New recovery codes for "));
  text.append(std::string_view(ctx.target));
  text.append(std::string_view(" (the old ones no longer work). Each works once;\n"
                               "save them now: they will not be shown again.\n\n"));
  text.append(format_recovery_codes(*issued).view());
  return print_out(text.view()) ? kExitOk : fail(kExitError, "cannot write the output");
}

int run_remove(const Context& ctx) {
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  Backend& b = **backend;
  auto st = b.status();
  if (!st) return fail_with(st.error());
  if (!st->enrolled && !st->pending && !st->revoked) return fail(kExitError, ctx.target + " is not enrolled");
  const std::string* name = ctx.opts.name ? &*ctx.opts.name : nullptr;
  const std::string what = name != nullptr ? "authenticator " + *name + " of " + ctx.target
                                           : "the one-time code enrolment of " + ctx.target;
  if (auto rc = confirm_or_cancel(ctx, "Remove " + what + "?")) return *rc;
  const int rc = run_with_proof(ctx, b, [&](const SecureBytes* proof) -> std::optional<Error> {
    Status r = b.remove(proof, name);
    if (!r) return r.error();
    return std::nullopt;
  });
  if (rc != kExitOk) return rc;
  if (ctx.opts.json) {
    Json j{{"user", ctx.target}, {"removed", true}};
    if (name != nullptr) j["authenticator"] = *name;
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  return print_text("Removed " + what + ".\n") ? kExitOk : fail(kExitError, "cannot write the output");
}

int run_unlock(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "only root can unlock an account");
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  Status st = (*backend)->unlock();
  if (!st) return fail_with(st.error());
  if (ctx.opts.json) {
    Json j{{"user", ctx.target}, {"unlocked", true}};
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  return print_text("Unlocked " + ctx.target + ".\n") ? kExitOk : fail(kExitError, "cannot write the output");
}

int run_command(const Options& opts) {
  Context ctx;
  ctx.opts = opts;
  ctx.root = getuid() == 0 && geteuid() == 0;
  const struct passwd* pw = getpwuid(getuid());
  if (pw == nullptr || pw->pw_name == nullptr) return fail(kExitError, "you have no passwd entry");
  ctx.self = pw->pw_name;
  ctx.target = opts.user.value_or(ctx.self);
  if (Status v = validate_user_name(ctx.target); !v) return fail(kExitUsage, v.error().message);
  if (!ctx.root) {
    if (ctx.target != ctx.self) return fail(kExitRefused, "only root can act on another user");
    if (opts.config_path) {
      return fail(kExitUsage, "--config is for root: your enrolment always uses the system configuration");
    }
  }
  switch (opts.command) {
    case Command::init: return run_init(ctx);
    case Command::enroll: return run_enroll(ctx);
    case Command::status: return run_status(ctx);
    case Command::recovery_codes: return run_recovery_codes(ctx);
    case Command::remove: return run_remove(ctx);
    case Command::unlock: return run_unlock(ctx);
    case Command::migrate: return run_migrate(ctx);
    case Command::list: return run_list(ctx);
    case Command::import: return run_import(ctx);
    case Command::rekey: return run_rekey(ctx);
    case Command::revoke: return run_revoke(ctx);
    case Command::devices: return run_devices(ctx);
    case Command::forget: return run_forget(ctx);
    case Command::help: break;
  }
  return kExitUsage;
}

}  // namespace totp::setup
