// SPDX-License-Identifier: Apache-2.0
// File helpers for root-owned state. Every open refuses to follow a final
// symlink and checks what it got with fstat on the opened fd (never a
// separate stat of the path, which could race).
#include "core/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace totp {

UniqueFd::~UniqueFd() { reset(); }

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // close errors on a read fd are not actionable
  fd_ = fd;
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* s = ::strerror_r(err, buf, sizeof buf);
  return s != nullptr ? std::string(s) : std::string("errno ") + std::to_string(err);
}

namespace {

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Why an open with O_NOFOLLOW failed, as an error naming `what`.
Error open_error(const std::string& what, int err) {
  switch (err) {
    case ENOENT:
      return make_error(Errc::not_found, what + ": does not exist");
    case ELOOP:
      return make_error(Errc::permission, what + ": is a symbolic link (refused)");
    case ENOTDIR:
      return make_error(Errc::permission, what + ": is not a directory (or a path component is not)");
    case EISDIR:
      return make_error(Errc::permission, what + ": is a directory, expected a regular file");
    case EACCES:
    case EPERM:
      return make_error(Errc::permission, what + ": permission denied");
    default:
      return make_error(Errc::io_error, what + ": open failed: " + errno_text(err));
  }
}

// The owner/mode checks shared by files and directories.
Status check_owner_mode(const struct stat& st, const std::string& what, const Ownership& own) {
  if (st.st_uid != own.owner) {
    return make_error(Errc::permission, what + ": wrong owner: owned by uid " + std::to_string(st.st_uid) +
                                            ", expected uid " + std::to_string(own.owner));
  }
  if ((st.st_mode & own.forbidden) != 0) {
    return make_error(Errc::permission, what + ": unsafe mode " + mode_text(st.st_mode) +
                                            ": group/other permission bits set (forbidden " +
                                            mode_text(own.forbidden) + ")");
  }
  return ok_status();
}

Result<UniqueFd> open_file_named(int dirfd, const std::string& name, const std::string& what,
                                 const Ownership& own, std::size_t max_size, bool read_write, std::size_t* size) {
  // O_NONBLOCK: a FIFO planted where a file should be must not hang us.
  const int flags = (read_write ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  UniqueFd fd(::openat(dirfd, name.c_str(), flags));
  if (!fd.valid()) return open_error(what, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(Errc::io_error, what + ": fstat failed: " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) return make_error(Errc::permission, what + ": is a directory, expected a regular file");
  if (!S_ISREG(st.st_mode)) return make_error(Errc::permission, what + ": is not a regular file");
  TOTP_TRY_STATUS(check_owner_mode(st, what, own));
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return make_error(Errc::too_large, what + ": file too large (" + std::to_string(st.st_size) +
                                           " bytes, limit " + std::to_string(max_size) + ")");
  }
  if (size != nullptr) *size = static_cast<std::size_t>(st.st_size);
  return fd;
}

}  // namespace

Result<UniqueFd> open_dir_checked(const std::string& path, const Ownership& own) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    // With O_DIRECTORY a final symlink reports ENOTDIR; say which it was.
    struct stat lst {};
    if ((err == ENOTDIR || err == ELOOP) && ::lstat(path.c_str(), &lst) == 0) {
      if (S_ISLNK(lst.st_mode)) return make_error(Errc::permission, path + ": is a symbolic link (refused)");
      if (!S_ISDIR(lst.st_mode)) return make_error(Errc::permission, path + ": is not a directory");
    }
    return open_error(path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(Errc::io_error, path + ": fstat failed: " + errno_text(errno));
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::permission, path + ": is not a directory");
  TOTP_TRY_STATUS(check_owner_mode(st, path, own));
  return fd;
}

Result<UniqueFd> open_file_checked(int dirfd, const std::string& name, const Ownership& own,
                                   std::size_t max_size, bool read_write, std::size_t* size) {
  if (name.empty() || name.find('/') != std::string::npos) {
    return make_error(Errc::invalid_argument, "file name '" + name + "' must be one path component");
  }
  return open_file_named(dirfd, name, name, own, max_size, read_write, size);
}

Result<UniqueFd> open_path_checked(const std::string& path, const Ownership& own, std::size_t max_size,
                                   std::size_t* size) {
  if (path.empty() || path.back() == '/') return make_error(Errc::invalid_argument, "'" + path + "' is not a file path");
  // One open of the whole path: O_NOFOLLOW refuses a symlink as the last
  // component, exactly as an openat() in the parent would, without the
  // parent's own open and close on every login.
  return open_file_named(AT_FDCWD, path, path, own, max_size, false, size);
}

Result<SecureBytes> read_all(int fd, std::size_t max_size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(Errc::io_error, "fstat failed: " + errno_text(errno));
  return read_all(fd, max_size, static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0));
}

Result<SecureBytes> read_all(int fd, std::size_t max_size, std::size_t size_hint) {
  const auto hinted = static_cast<std::uint64_t>(size_hint);
  if (hinted > max_size) return make_error(Errc::too_large, "file too large (" + std::to_string(hinted) + " bytes)");
  // One byte more than expected, so that a single pread both reads
  // everything and shows (by coming back short) that nothing follows: on a
  // regular file a short read means end of file.
  SecureBytes buf(static_cast<std::size_t>(hinted) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == buf.size()) {
      if (got > max_size) return make_error(Errc::too_large, "file too large (more than " + std::to_string(max_size) + " bytes)");
      // The file grew since fstat: continue into a buffer of the cap + 1.
      SecureBytes bigger(max_size + 1);
      std::memcpy(bigger.data(), buf.data(), got);
      buf = std::move(bigger);
    }
    const std::size_t want = buf.size() - got;
    const ssize_t n = ::pread(fd, buf.data() + got, want, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io_error, "read failed: " + errno_text(errno));
    }
    got += static_cast<std::size_t>(n);
    if (n == 0 || static_cast<std::size_t>(n) < want) break;
  }
  if (got > max_size) return make_error(Errc::too_large, "file too large (more than " + std::to_string(max_size) + " bytes)");
  buf.truncate(got);
  return buf;
}

Status write_all(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io_error, "write failed: " + errno_text(errno));
    }
    if (n == 0) return make_error(Errc::io_error, "write made no progress");
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

Status pwrite_all(int fd, std::span<const std::uint8_t> data, off_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io_error, "pwrite failed: " + errno_text(errno));
    }
    if (n == 0) return make_error(Errc::io_error, "pwrite made no progress");
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

namespace {

// Removes the temp file unless disarmed (after a successful rename).
class TempFileGuard {
 public:
  TempFileGuard(int dirfd, std::string name) : dirfd_(dirfd), name_(std::move(name)) {}
  ~TempFileGuard() {
    if (armed_) ::unlinkat(dirfd_, name_.c_str(), 0);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void disarm() noexcept { armed_ = false; }

 private:
  int dirfd_;
  std::string name_;
  bool armed_ = true;
};

}  // namespace

std::string temp_name_for(const std::string& name) { return "." + name + ".tmp"; }

Status remove_leftover_temp(int dirfd, const std::string& name) {
  const std::string tmp = temp_name_for(name);
  if (::unlinkat(dirfd, tmp.c_str(), 0) != 0 && errno != ENOENT) {
    return make_error(Errc::io_error, "cannot remove the leftover temp file " + tmp + ": " + errno_text(errno));
  }
  return ok_status();
}

Status atomic_replace(int dirfd, const std::string& name, std::span<const std::uint8_t> data, mode_t mode,
                      const std::function<void()>& while_flushing) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return make_error(Errc::invalid_argument, "atomic_replace: bad file name '" + name + "'");
  }
  // Temp names start with '.', which no user name may: they never collide
  // with a state file. A leftover from a killed writer goes first.
  const std::string tmp = temp_name_for(name);
  TOTP_TRY_STATUS(remove_leftover_temp(dirfd, name));
  UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return make_error(Errc::io_error, "cannot create temp file for " + name + ": " + errno_text(errno));
  TempFileGuard guard(dirfd, tmp);
  // The umask may have cut bits from `mode`; set exactly what was asked.
  if (::fchmod(fd.get(), mode) != 0) return make_error(Errc::io_error, "fchmod " + tmp + ": " + errno_text(errno));
  if (auto st = write_all(fd.get(), data); !st.ok()) return make_error(Errc::io_error, "writing " + tmp + ": " + st.error().message);
  if (while_flushing) while_flushing();
  if (::fsync(fd.get()) != 0) return make_error(Errc::io_error, "fsync " + tmp + ": " + errno_text(errno));
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    return make_error(Errc::io_error, "rename to " + name + ": " + errno_text(errno));
  }
  guard.disarm();
  if (::fsync(dirfd) != 0) return make_error(Errc::io_error, "fsync of directory after replacing " + name + ": " + errno_text(errno));
  return ok_status();
}

Result<FileLock> FileLock::acquire(UniqueFd fd, Kind kind, int max_wait_ms) {
  if (!fd.valid()) return make_error(Errc::invalid_argument, "lock: invalid fd");
  const int op = (kind == Kind::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  // flock has no timeout and an alarm would touch the host process's
  // signals, so: try, then sleep a little longer each time (0.1 ms growing
  // to 20 ms) until the deadline. An honest holder keeps the lock for
  // milliseconds; only a stopped or frozen one makes us give up.
  struct timespec start {};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  long pause_us = 100;
  for (;;) {
    if (::flock(fd.get(), op) == 0) return FileLock(std::move(fd));
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return make_error(Errc::busy, "flock failed: " + errno_text(errno));
    struct timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const long long waited_ms = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000LL;
    if (waited_ms >= max_wait_ms) {
      return make_error(Errc::busy, "lock held by another process for more than " +
                                        std::to_string(max_wait_ms / 1000) + " s (a stopped or hung process?): refused");
    }
    struct timespec pause {0, pause_us * 1000};
    ::nanosleep(&pause, nullptr);
    if (pause_us < 20000) pause_us *= 2;
  }
}

Result<FileSizeLimitGuard> FileSizeLimitGuard::make(std::uint64_t needed) {
  FileSizeLimitGuard g;
  struct rlimit cur {};
  if (::getrlimit(RLIMIT_FSIZE, &cur) != 0) return make_error(Errc::io_error, "getrlimit: " + errno_text(errno));
  if (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur >= needed) return g;
  g.saved_ = Saved{cur.rlim_cur, cur.rlim_max};
  struct rlimit want = cur;
  want.rlim_cur = (cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= needed) ? cur.rlim_max : needed;
  if (want.rlim_max != RLIM_INFINITY && want.rlim_max < want.rlim_cur) want.rlim_max = want.rlim_cur;
  if (::setrlimit(RLIMIT_FSIZE, &want) != 0) {
    return make_error(Errc::io_error, "the process's file size limit (RLIMIT_FSIZE " + std::to_string(cur.rlim_cur) +
                                          " bytes, hard " +
                                          (cur.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                                                          : std::to_string(cur.rlim_max)) +
                                          ") is too low to record the attempt, and cannot be raised: refused");
  }
  g.restore_ = true;
  return g;
}

FileSizeLimitGuard::~FileSizeLimitGuard() {
  if (!restore_) return;
  const struct rlimit back {static_cast<rlim_t>(saved_.soft), static_cast<rlim_t>(saved_.hard)};
  (void)::setrlimit(RLIMIT_FSIZE, &back);
}

FileLock::~FileLock() {
  if (fd_.valid()) ::flock(fd_.get(), LOCK_UN);
}

}  // namespace totp
