#include "setup_tool/commands_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "setup_tool/terminal.h"

namespace totp::setup {

const char* const kWrongCodeHint =
    "That code was not accepted. Check that the phone's clock is right (set automatically),\n"
    "then type the code the app shows now.\n";

Result<Settings> load_tool_settings(const std::optional<std::string>& path) {
  if (path) return load_settings(*path, {});
  struct stat st {};
  if (lstat(kToolConfig, &st) != 0 && errno == ENOENT) return Settings{};
  return load_settings(std::string(kToolConfig), {});
}

Result<std::unique_ptr<Backend>> open_backend(const Context& ctx) {
  if (ctx.root) {
    auto settings = load_tool_settings(ctx.opts.config_path);
    if (!settings) return settings.error();
    return make_local_backend(std::move(*settings), ctx.target);
  }
  return make_helper_backend(kHelperPath);
}

int exit_status_for(const Error& e) {
  switch (e.code) {
    case Errc::permission:
    case Errc::locked:
    case Errc::invalid_argument:
      return kExitRefused;
    default:
      return kExitError;
  }
}

int fail(int status, const std::string& message) {
  std::fflush(stdout);
  std::string line = "totp-setup: ";
  for (char c : message) line += (c == '\n') ? ' ' : c;
  line += '\n';
  std::fputs(line.c_str(), stderr);
  return status;
}

int fail_with(const Error& e) { return fail(exit_status_for(e), e.message); }

int run_with_proof(const Context& ctx, Backend& backend, const ProofOp& op) {
  if (backend.privileged()) {
    auto err = op(nullptr);
    return err ? fail_with(*err) : kExitOk;
  }
  const bool tty = is_terminal(0);
  const int tries = tty ? kProofTries : 1;
  (void)ctx;
  for (int i = 0; i < tries; ++i) {
    SecretInput in = read_secret_line("Verification code: ");
    if (in.status == InputStatus::eof) return fail(kExitCancelled, "no code given: nothing was changed");
    if (in.status == InputStatus::too_long) return fail(kExitRefused, "that input is too long to be a code");
    auto err = op(&in.text);
    if (!err) return kExitOk;
    if (err->code != Errc::permission || i + 1 == tries) return fail_with(*err);
    std::fputs(kWrongCodeHint, stderr);
  }
  return fail(kExitRefused, "too many wrong codes: nothing was changed");
}

}  // namespace totp::setup
