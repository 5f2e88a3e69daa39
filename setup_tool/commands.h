// SPDX-License-Identifier: Apache-2.0
// The commands of totp-setup. Each returns the process exit status and has
// printed one clear line on stderr when that is not kExitOk.
#pragma once

#include <string>

#include "setup_tool/cli.h"

namespace totp::setup {

// Who runs the tool and for whom it acts.
struct Context {
  Options opts;
  bool root = false;
  std::string self;    // the caller's user name
  std::string target;  // the user acted on
};

int run_command(const Options& opts);

int run_init(const Context& ctx);
int run_enroll(const Context& ctx);
int run_status(const Context& ctx);
int run_recovery_codes(const Context& ctx);
int run_remove(const Context& ctx);
int run_unlock(const Context& ctx);
int run_migrate(const Context& ctx);
int run_list(const Context& ctx);    // list_command.cc
int run_import(const Context& ctx);  // import_command.cc
int run_rekey(const Context& ctx);   // rekey_command.cc
int run_revoke(const Context& ctx);  // revoke_command.cc
int run_devices(const Context& ctx);  // devices_command.cc
int run_forget(const Context& ctx);   // devices_command.cc

// One line "totp-setup: MESSAGE" on stderr; returns `status`.
int fail(int status, const std::string& message);

}  // namespace totp::setup
