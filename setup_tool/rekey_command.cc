// SPDX-License-Identifier: Apache-2.0
// totp-setup rekey [--json]: the tool's face of core/rekey (see there for
// the steps, the files and what happens when a run is interrupted). Root
// only. Exit 0 when every record is under the new key and the previous key
// is gone; 1 when some record failed (listed; the previous key is kept:
// run again once they are dealt with) or the run could not go on.
#include <string>

#include "core/audit.h"
#include "core/log.h"
#include "core/rekey.h"
#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"

namespace totp::setup {

int run_rekey(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "rekey must be run as root (it replaces the master key)");
  auto settings = load_tool_settings(ctx.opts.config_path);
  if (!settings) return fail_with(settings.error());

  const bool text = !ctx.opts.json;
  auto report = rekey(*settings, [&](const std::string& line) {
    if (text) (void)print_out(sanitize_for_log(line) + "\n");
  });
  if (!report) return fail_with(report.error());

  const std::string key_id = key_id_hex(report->key_id);
  const std::string previous = report->previous_key_id ? key_id_hex(*report->previous_key_id) : std::string();
  if (!report->resealed.empty() || report->rotated) {
    audit(current_actor(true), "rekey", "",
          {{"key_id", key_id},
           {"previous_key_id", previous.empty() ? std::string("-") : previous},
           {"resealed", std::to_string(report->resealed.size())},
           {"failed", std::to_string(report->failed.size())}});
  }

  if (ctx.opts.json) {
    Json failed = Json::array();
    for (const auto& [user, why] : report->failed) failed.push_back(Json{{"user", user}, {"error", why}});
    Json j{{"key_id", key_id},
           {"resealed", report->resealed.size()},
           {"already", report->already.size()},
           {"failed", failed},
           {"rotated", report->rotated},
           {"previous_removed", report->previous_removed}};
    j["previous_key_id"] = previous.empty() ? Json() : Json(previous);
    if (!print_json(j)) return fail(kExitError, "cannot write the output");
  } else {
    const std::size_t under = report->resealed.size() + report->already.size();
    std::string summary = std::to_string(under) + " record(s) sealed under key id " + key_id + " (" +
                          std::to_string(report->resealed.size()) + " sealed again now, " +
                          std::to_string(report->already.size()) + " already)";
    if (report->previous_removed) {
      summary += "; previous key " + (previous.empty() ? std::string("file") : "id " + previous) + " removed";
    } else if (!previous.empty()) {
      summary += "; previous key id " + previous + " kept";
    }
    if (!print_out(summary + "\n")) return fail(kExitError, "cannot write the output");
  }
  if (!report->failed.empty()) {
    return fail(kExitError, std::to_string(report->failed.size()) +
                                " record(s) could not be sealed under the new key (see above); the previous key "
                                "is kept: deal with them, then run 'totp-setup rekey' again");
  }
  return kExitOk;
}

}  // namespace totp::setup
