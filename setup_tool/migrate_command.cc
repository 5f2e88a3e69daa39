// SPDX-License-Identifier: Apache-2.0
// totp-setup migrate --to ldap [--remove-local] [--json]: the tool's face of
// core/migrate (see there for what is copied and when a local file goes).
#include <cstdio>
#include <string>

#include "core/ldap_store.h"
#include "core/migrate.h"
#include "core/store.h"
#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"

namespace totp::setup {

int run_migrate(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "migrate must be run as root (it reads every user's record)");
  if (ctx.opts.migrate_to != "ldap") return fail(kExitUsage, "migrate needs --to ldap");
  auto settings = load_tool_settings(ctx.opts.config_path);
  if (!settings) return fail_with(settings.error());
  if (Status st = check_ldap_settings(*settings, "migrate --to ldap"); !st) return fail(kExitError, st.error().message);
  // The local records may be sealed under this server's old key (--from-key)
  // while the directory's are sealed under the fleet's (key_file).
  auto key = load_master_key(ctx.opts.from_key.value_or(settings->key_file));
  if (!key) {
    if (ctx.opts.from_key) return fail(kExitError, "--from-key: " + key.error().message);
    return fail_with(Error{key.error().code, key.error().message + " (run 'totp-setup init' first?)"});
  }
  auto second_key = load_master_key(settings->key_file);
  if (!second_key) return fail_with(second_key.error());
  auto local = FileStore::open(settings->state_dir, std::move(*key));
  if (!local) return fail_with(local.error());
  auto directory = LdapStore::open(*settings, std::move(*second_key));
  if (!directory) return fail_with(directory.error());

  const bool text = !ctx.opts.json;
  auto report = migrate_to_directory(*local, **directory, ctx.opts.remove_local, [&](const std::string& line) {
    if (text) (void)print_out(line + "\n");
  });
  if (!report) return fail_with(report.error());

  if (ctx.opts.json) {
    Json failed = Json::array();
    for (const auto& [user, why] : report->failed) failed.push_back(Json{{"user", user}, {"error", why}});
    Json j{{"copied", report->copied}, {"already", report->already}, {"failed", failed},
           {"removed_local", report->removed_local}};
    if (report->stopped) j["stopped"] = *report->stopped;
    if (!print_json(j)) return fail(kExitError, "cannot write the output");
  } else {
    std::string summary = std::to_string(report->copied.size()) + " copied, " +
                          std::to_string(report->already.size()) + " already in the directory, " +
                          std::to_string(report->failed.size()) + " failed";
    if (ctx.opts.remove_local) summary += ", " + std::to_string(report->removed_local.size()) + " local records removed";
    if (!print_out(summary + "\n")) return fail(kExitError, "cannot write the output");
  }
  if (report->stopped) return fail(kExitError, *report->stopped);
  if (!report->failed.empty()) {
    return fail(kExitError, std::to_string(report->failed.size()) + " record(s) not migrated (see above)");
  }
  return kExitOk;
}

}  // namespace totp::setup
