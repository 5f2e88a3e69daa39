// totp-setup rekey: being written (issue 16).
#include "setup_tool/commands.h"

namespace totp::setup {

int run_rekey(const Context&) { return fail(kExitError, "'rekey' is not built yet"); }

}  // namespace totp::setup
