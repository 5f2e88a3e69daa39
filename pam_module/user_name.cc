// SPDX-License-Identifier: Apache-2.0
// Typed login name -> account: see user_name.h.
#include "pam_module/user_name.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/fs.h"

namespace totp::pam {

namespace {

// Longest name handed to the name service; longer is no account of ours.
constexpr std::size_t kMaxTypedName = 256;

}  // namespace

ResolvedUser resolve_user(const std::string& typed) {
  ResolvedUser r;
  if (typed.empty() || typed.size() > kMaxTypedName || std::memchr(typed.data(), 0, typed.size()) != nullptr) {
    r.kind = ResolvedUser::Kind::unknown;
    return r;
  }
  const long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 4096;
  for (int tries = 0; tries < 6; ++tries, size *= 4) {
    std::vector<char> buf(size);
    passwd pw{};
    passwd* found = nullptr;
    errno = 0;
    const int rc = getpwnam_r(typed.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (found != nullptr && found->pw_name != nullptr && found->pw_name[0] != 0) {
      r.kind = ResolvedUser::Kind::account;
      r.name = found->pw_name;
      return r;
    }
    // Not found is rc 0 (or one of the "no entry" codes some NSS modules
    // return); anything else means the lookup itself failed.
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) {
      r.kind = ResolvedUser::Kind::unknown;
      return r;
    }
    r.kind = ResolvedUser::Kind::error;
    r.reason = "user lookup failed: " + errno_text(rc);
    return r;
  }
  r.kind = ResolvedUser::Kind::error;
  r.reason = "user lookup failed: passwd entry too large";
  return r;
}

}  // namespace totp::pam
