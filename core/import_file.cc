// SPDX-License-Identifier: Apache-2.0
// Reading another module's secret file: see import_file.h.
#include "core/import_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace totp {

namespace {

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

Error file_error(Errc code, const std::string& what) { return make_error(code, what); }

}  // namespace

Result<ImportFile> read_import_file(const std::string& path, const ImportFileRules& rules) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    return file_error(Errc::invalid_argument, "is not a usable path");
  }
  ImportFile f;
  f.path = path;
  // The directory is opened following symlinks (a home directory may be
  // one); only the last component must not be one.
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  f.name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (f.name.empty() || f.name == "." || f.name == "..") return file_error(Errc::invalid_argument, "is not a file name");

  f.dir.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!f.dir.valid()) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return file_error(Errc::not_found, "does not exist");
    return file_error(Errc::io_error, "cannot open its directory: " + errno_text(err));
  }
  // O_NONBLOCK: a FIFO must not hang the tool; O_NOCTTY: a terminal device
  // must not become ours. Both are refused below anyway.
  UniqueFd fd(::openat(f.dir.get(), f.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return file_error(Errc::not_found, "does not exist");
    if (err == ELOOP) return file_error(Errc::permission, "is a symbolic link");
    return file_error(Errc::io_error, "cannot be opened: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error(Errc::io_error, "cannot be examined: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return file_error(Errc::permission, "is not a regular file");
  if (std::find(rules.owners.begin(), rules.owners.end(), st.st_uid) == rules.owners.end()) {
    return file_error(Errc::permission, "is owned by uid " + std::to_string(st.st_uid) + ", not by its user or root");
  }
  // A second name for the file could be another user's file hard-linked
  // into this home; the owner check catches most, this the rest.
  if (st.st_nlink != 1) {
    return file_error(Errc::permission, "has " + std::to_string(st.st_nlink) + " hard links (expected 1)");
  }
  if ((st.st_mode & rules.forbidden) != 0) {
    const bool writable = (st.st_mode & 022) != 0;
    return file_error(Errc::permission, std::string(writable ? "is group- or other-writable" : "is readable by others") +
                                            " (mode " + octal_mode(st.st_mode) + ")");
  }
  if ((st.st_mode & rules.warned) != 0) {
    f.warnings.push_back("is readable by group or others (mode " + octal_mode(st.st_mode) + ")");
  }
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > rules.max_size) {
    return file_error(Errc::too_large, "is larger than " + std::to_string(rules.max_size) + " bytes");
  }
  auto bytes = read_all(fd.get(), rules.max_size, static_cast<std::size_t>(st.st_size));
  if (!bytes) {
    if (bytes.error().code == Errc::too_large) {
      return file_error(Errc::too_large, "is larger than " + std::to_string(rules.max_size) + " bytes");
    }
    return file_error(bytes.error().code, "cannot be read: " + bytes.error().message);
  }
  f.bytes = std::move(*bytes);
  f.owner = st.st_uid;
  f.mode = st.st_mode;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  return f;
}

Status remove_import_file(const ImportFile& f) {
  if (!f.dir.valid()) return make_error(Errc::invalid_argument, "the file was not read");
  struct stat st {};
  if (::fstatat(f.dir.get(), f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok_status();  // gone already
    return make_error(Errc::io_error, "cannot examine it: " + errno_text(errno));
  }
  if (st.st_dev != f.dev || st.st_ino != f.ino) {
    return make_error(Errc::permission, "it was replaced since it was read: left alone");
  }
  if (::unlinkat(f.dir.get(), f.name.c_str(), 0) != 0) {
    return make_error(Errc::io_error, "cannot remove it: " + errno_text(errno));
  }
  if (::fsync(f.dir.get()) != 0) return make_error(Errc::io_error, "removed, but syncing its directory failed: " + errno_text(errno));
  return ok_status();
}

}  // namespace totp
