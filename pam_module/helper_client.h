// SPDX-License-Identifier: Apache-2.0
// The module's side of the setuid helper, for PAM applications that do not
// run as root (screen lockers, pamtester run by a user), the way pam_unix
// uses unix_chkpwd: the helper judges the answer under the user's lock, as
// the module would as root; the answer travels over a socket pair, never in
// argv or the environment.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/login_decision.h"
#include "core/result.h"
#include "core/secure_bytes.h"
#include "core/fs.h"
#include "setup_tool/protocol.h"

namespace totp::pam {

// Compiled in: the helper of this very installation.
constexpr const char* kModuleHelperPath = LIBEXECDIR "/pam_totp/totp-helper";

struct HelperLoginState {
  bool enrolled = false;
  bool locked = false;
  int digits = 0;
  bool revoked = false;
};

class HelperClient {
 public:
  // Checks that `path` is a root-owned setuid regular file, then starts it
  // with one end of a socket pair as its stdin and stdout. Errors say what
  // to fix (missing, not setuid root).
  static Result<HelperClient> start(const std::string& path);
  HelperClient(HelperClient&& o) noexcept;
  HelperClient& operator=(HelperClient&&) = delete;
  HelperClient(const HelperClient&) = delete;
  ~HelperClient();  // closes the socket and reaps the helper

  // Before the prompt: is the user enrolled, locked, how many digits.
  // Refuses a helper from another build.
  Result<HelperLoginState> login_state(std::string_view user);
  // Judges one answer (nullptr: not sent, judged as malformed).
  Result<LoginVerdict> login(std::string_view user, const SecureBytes* answer, std::string_view rhost,
                             std::string_view service);

 private:
  HelperClient(std::string path, UniqueFd sock, pid_t pid, struct sigaction old_chld)
      : path_(std::move(path)), sock_(std::move(sock)), pid_(pid), old_chld_(old_chld) {}
  // Sends `request` (cleansed once written) and returns the helper's reply
  // if it says ok; Errc::permission with the helper's own text if not.
  Result<setup::Json> call(setup::Json& request);

  std::string path_;
  UniqueFd sock_;
  pid_t pid_ = -1;
  struct sigaction old_chld_ {};
};

}  // namespace totp::pam
