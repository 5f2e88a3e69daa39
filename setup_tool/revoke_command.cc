// totp-setup revoke: being written (issue 16).
#include "setup_tool/commands.h"

namespace totp::setup {

int run_revoke(const Context&) { return fail(kExitError, "'revoke' is not built yet"); }

}  // namespace totp::setup
