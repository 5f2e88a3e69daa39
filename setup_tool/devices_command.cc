// SPDX-License-Identifier: Apache-2.0
// totp-setup devices [--user NAME] [--json] and totp-setup forget (--all |
// --id ID) [--user NAME] [--yes] [--json]: the trusted devices of the
// remember setting (core/trusted_device.h), listed and ended. Root acts on
// anyone; a user on their own account through the setuid helper. No code
// is asked: listing and forgetting make nothing weaker.
#include <algorithm>
#include <string>

#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"

namespace totp::setup {

namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string devices_text(const DevicesReport& d) {
  std::string out;
  if (d.remember <= 0) {
    out += "remember is off (pam_totp.conf): no device logs in without a code.\n";
    if (d.devices.empty()) return out;
    out += "Entries kept from before (ended by 'forget'):\n";
  } else if (d.devices.empty()) {
    return "No trusted devices for " + d.user + ".\n";
  } else {
    out += "Trusted devices of " + d.user + " (logged in without a code until the time shown):\n";
  }
  std::size_t key_width = 3, from_width = 4;
  for (const DeviceInfo& x : d.devices) {
    key_width = std::max(key_width, x.key.size());
    from_width = std::max(from_width, x.from.size());
  }
  out += pad("ID", 10) + pad("KEY", key_width + 2) + pad("FROM", from_width + 2) + pad("SINCE", 22) + "UNTIL\n";
  for (const DeviceInfo& x : d.devices) {
    out += pad(x.id, 10) + pad(x.key, key_width + 2) + pad(x.from, from_width + 2) + pad(iso_time(x.since), 22) +
           iso_time(x.until) + "\n";
  }
  return out;
}

}  // namespace

int run_devices(const Context& ctx) {
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  auto d = (*backend)->devices();
  if (!d) return fail_with(d.error());
  if (ctx.opts.json) {
    Json list = Json::array();
    for (const DeviceInfo& x : d->devices) {
      list.push_back(Json{{"id", x.id}, {"key", x.key}, {"from", x.from}, {"since", iso_time(x.since)},
                          {"until", iso_time(x.until)}});
    }
    Json j{{"user", d->user}, {"remember", d->remember}, {"devices", std::move(list)}};
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  return print_out(devices_text(*d)) ? kExitOk : fail(kExitError, "cannot write the output");
}

int run_forget(const Context& ctx) {
  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  const std::string* id = ctx.opts.id ? &*ctx.opts.id : nullptr;
  const std::string what = id != nullptr ? "trusted device " + *id + " of " + ctx.target
                                         : "every trusted device of " + ctx.target;
  if (auto rc = confirm_or_cancel(ctx, "Forget " + what + "? Its next login is asked for a code.")) return *rc;
  auto n = (*backend)->forget_devices(id);
  if (!n) return fail_with(n.error());
  if (ctx.opts.json) {
    Json j{{"user", ctx.target}, {"forgotten", *n}};
    if (id != nullptr) j["id"] = *id;
    return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
  }
  const std::string line = id != nullptr ? "Forgot trusted device " + *id + " of " + ctx.target + ".\n"
                                         : "Forgot " + std::to_string(*n) + " trusted device" + (*n == 1 ? "" : "s") +
                                               " of " + ctx.target + ".\n";
  return print_out(line) ? kExitOk : fail(kExitError, "cannot write the output");
}

}  // namespace totp::setup
