// SPDX-License-Identifier: Apache-2.0
// Pieces the commands share: settings, the backend for the caller, error
// to exit status, and asking for a code with retries.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/result.h"
#include "core/secure_bytes.h"
#include "setup_tool/backend.h"
#include "setup_tool/commands.h"

namespace totp::setup {

// The config the tool and the helper read when none is named: the
// compiled-in SYSCONFDIR/security/pam_totp.conf; missing means defaults.
constexpr const char* kToolConfig = SYSCONFDIR "/security/pam_totp.conf";
Result<Settings> load_tool_settings(const std::optional<std::string>& path);

Result<std::unique_ptr<Backend>> open_backend(const Context& ctx);

int exit_status_for(const Error& e);
int fail_with(const Error& e);

constexpr int kProofTries = 3;

// For a non-root caller: asks for a current code (or recovery code) and
// calls `op` with it; a wrong code is re-asked (kProofTries in all, only
// when stdin is a terminal). For root: calls `op(nullptr)`.
// `op` returns the error to report, or nullopt on success.
using ProofOp = std::function<std::optional<Error>(const SecureBytes* proof)>;
int run_with_proof(const Context& ctx, Backend& backend, const ProofOp& op);

// Yes/no before a destructive step: --yes, or a terminal to ask on.
// nullopt: go on; else the exit status (one line said why).
std::optional<int> confirm_or_cancel(const Context& ctx, const std::string& question);

// The hint shown after a wrong code.
extern const char* const kWrongCodeHint;

}  // namespace totp::setup
