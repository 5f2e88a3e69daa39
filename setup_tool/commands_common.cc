// SPDX-License-Identifier: Apache-2.0
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

namespace {

// enroll --algorithm/--digits/--period (root): this enrolment's parameters
// instead of the settings', within the ranges the module accepts.
Status apply_enrolment_params(const Options& o, Settings& s) {
  if (o.algorithm) {
    auto a = parse_algorithm(*o.algorithm);
    if (!a) return make_error(Errc::invalid_argument, "--algorithm: SHA1, SHA256 or SHA512");
    s.otp.algorithm = *a;
  }
  if (o.digits) {
    if (*o.digits < kMinDigits || *o.digits > kMaxDigits) {
      return make_error(Errc::invalid_argument, "--digits: " + std::to_string(kMinDigits) + " to " +
                                                    std::to_string(kMaxDigits));
    }
    s.otp.digits = *o.digits;
  }
  if (o.period) {
    if (*o.period < kMinPeriod || *o.period > kMaxPeriod) {
      return make_error(Errc::invalid_argument, "--period: " + std::to_string(kMinPeriod) + " to " +
                                                    std::to_string(kMaxPeriod) + " seconds");
    }
    s.otp.period = *o.period;
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Backend>> open_backend(const Context& ctx) {
  const Options& o = ctx.opts;
  const bool params = o.algorithm || o.digits || o.period;
  if (ctx.root) {
    auto settings = load_tool_settings(o.config_path);
    if (!settings) return settings.error();
    if (params && o.add && (o.digits || o.period)) {
      return make_error(Errc::invalid_argument,
                        "an added authenticator has the account's digits and period: only --algorithm may be given");
    }
    TOTP_TRY_STATUS(apply_enrolment_params(o, *settings));
    return make_local_backend(std::move(*settings), ctx.target);
  }
  if (params) return make_error(Errc::permission, "--algorithm, --digits and --period are for root");
  return make_helper_backend(kHelperPath);
}

std::optional<int> confirm_or_cancel(const Context& ctx, const std::string& question) {
  if (ctx.opts.yes) return std::nullopt;
  if (ctx.opts.json) return fail(kExitUsage, "--json asks no questions: add --yes to confirm");
  if (!is_terminal(0)) return fail(kExitUsage, "no terminal to ask on: add --yes to confirm");
  auto answer = ask_yes_no(question, false);
  if (!answer || !*answer) return fail(kExitCancelled, "nothing was changed");
  return std::nullopt;
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
