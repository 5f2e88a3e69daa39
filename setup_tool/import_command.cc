// totp-setup import: being written (issue 16).
#include "setup_tool/commands.h"

namespace totp::setup {

int run_import(const Context&) { return fail(kExitError, "'import' is not built yet"); }

}  // namespace totp::setup
