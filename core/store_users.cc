// SPDX-License-Identifier: Apache-2.0
// FileStore::users(): the state directory's record files, by name.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/store.h"

namespace totp {

Result<std::vector<std::string>> FileStore::users() const {
  // A directory stream of its own (a dup of our fd shares the offset).
  const int fd = ::openat(dirfd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::io_error, state_dir_ + ": cannot list: " + errno_text(errno));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::io_error, state_dir_ + ": cannot list: " + errno_text(err));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    // Lock files (".lock.<user>") and temp files (".<user>.tmp") start
    // with '.', which a valid user name never does.
    // Anything else with a user's name (a symbolic link, a directory) is
    // listed too: reading it then fails loudly instead of going unnoticed.
    const std::string_view name(e->d_name);
    if (validate_user_name(name)) names.emplace_back(name);
    errno = 0;
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return make_error(Errc::io_error, state_dir_ + ": cannot list: " + errno_text(err));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace totp
