// totp-setup list: being written (issue 16).
#include "setup_tool/commands.h"

namespace totp::setup {

int run_list(const Context&) { return fail(kExitError, "'list' is not built yet"); }

}  // namespace totp::setup
