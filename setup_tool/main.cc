// SPDX-License-Identifier: Apache-2.0
// totp-setup: enrolment wizard and account tool (see totp-setup(1)).
#include <syslog.h>

#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "setup_tool/cli.h"
#include "setup_tool/commands.h"
#include "setup_tool/terminal.h"

int main(int argc, char** argv) {
  using namespace totp::setup;
  // The audit lines (core/audit.h) and any other log line of the tool.
  openlog("totp-setup", LOG_PID, LOG_AUTHPRIV);
  try {
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    ParseOutcome parsed = parse_command_line(args);
    if (!parsed.error.empty()) return fail(kExitUsage, parsed.error);
    const Options& o = parsed.options;
    if (o.version) {
      std::fputs(version_text().c_str(), stdout);
      return kExitOk;
    }
    if (o.command == Command::help) {
      std::fputs(usage_text(o.help_topic).c_str(), stdout);
      return kExitOk;
    }
    if (o.help) {
      std::fputs(usage_text(o.command_given ? std::optional<Command>(o.command) : std::nullopt).c_str(), stdout);
      return kExitOk;
    }
    install_terminal_restore_handlers();
    return run_command(o);
  } catch (const std::exception& e) {
    return fail(kExitError, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(kExitError, "internal error");
  }
}
