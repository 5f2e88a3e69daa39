// SPDX-License-Identifier: Apache-2.0
// Where the tool's requests go: straight into AccountService when root runs
// the tool, or over a pipe to the setuid helper for anyone else. The wizard
// and the commands are written once against this interface.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "core/secure_bytes.h"
#include "setup_tool/account_service.h"

namespace totp::setup {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<StatusReport> status() = 0;
  // `add`: enroll --add --name NAME (another authenticator); `name`:
  // remove --name NAME. nullptr otherwise.
  virtual Result<Offer> begin(const SecureBytes* proof, bool force, const std::string* add) = 0;
  virtual Result<ConfirmOutcome> confirm(std::string_view code) = 0;
  virtual Result<std::pair<Offer, Issued>> enrol_now(const SecureBytes* proof, bool force, const std::string* add) = 0;
  virtual Result<Issued> regenerate(const SecureBytes* proof) = 0;
  virtual Status remove(const SecureBytes* proof, const std::string* name) = 0;
  virtual Status unlock() = 0;
  // Trusted devices: list; forget `id` (nullptr: all), how many.
  virtual Result<DevicesReport> devices() = 0;
  virtual Result<std::size_t> forget_devices(const std::string* id) = 0;
  // True when no proof is needed (root).
  virtual bool privileged() const = 0;
};

// Root: opens key and store with `settings`.
Result<std::unique_ptr<Backend>> make_local_backend(Settings settings, std::string user);

// Anyone else: starts `helper_path` (normally kHelperPath) with two pipes.
constexpr const char* kHelperPath = LIBEXECDIR "/pam_totp/totp-helper";
Result<std::unique_ptr<Backend>> make_helper_backend(const std::string& helper_path);

}  // namespace totp::setup
