// SPDX-License-Identifier: Apache-2.0
// File helpers for root-owned state: fds as RAII values, opens that refuse
// symlinks and wrong owners/modes, atomic replacement, and flock locks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { int f = fd_; fd_ = -1; return f; }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// What an opened file or directory must look like.
struct Ownership {
  uid_t owner = 0;             // required st_uid
  mode_t forbidden = 077;      // mode bits that must be clear
};

// Opens a directory (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) and checks it is a
// directory with the required owner and no forbidden mode bits.
Result<UniqueFd> open_dir_checked(const std::string& path, const Ownership& own);

// Opens `name` inside `dirfd` read-only (or read-write) with
// O_NOFOLLOW|O_CLOEXEC, then fstat: regular file, owner, forbidden bits,
// size <= max_size. Missing file -> Errc::not_found; symlink, wrong type,
// owner or mode -> Errc::permission; too big -> Errc::too_large.
// `size`, if given, receives the size that fstat saw (callers pass it on to
// read_all instead of asking the kernel again).
Result<UniqueFd> open_file_checked(int dirfd, const std::string& name, const Ownership& own,
                                   std::size_t max_size, bool read_write = false, std::size_t* size = nullptr);
// Same for a path (not following a symlink as its last component).
Result<UniqueFd> open_path_checked(const std::string& path, const Ownership& own, std::size_t max_size,
                                   std::size_t* size = nullptr);

// Reads the whole file from offset 0 (at most max_size bytes; more -> too_large).
Result<SecureBytes> read_all(int fd, std::size_t max_size);
// Same, with the size a checked open just reported (a hint: a file that
// grew or shrank since is still read whole and capped).
Result<SecureBytes> read_all(int fd, std::size_t max_size, std::size_t size_hint);
// EINTR-safe full write / pwrite.
Status write_all(int fd, std::span<const std::uint8_t> data);
Status pwrite_all(int fd, std::span<const std::uint8_t> data, off_t offset);

// Atomic replace of dirfd/name: write a temp file in the same directory
// (temp_name_for(name), O_EXCL|O_NOFOLLOW, `mode`), fsync, rename over
// `name`, fsync the directory. On any failure the temp file is removed and
// `name` is intact. The temp name is fixed, so the caller must serialise
// the writers of `name` (the store holds the user's lock): a leftover of a
// writer that was killed is removed first, so at most one temp file per
// name can ever exist, and only until the next write of that name.
// `while_flushing`, if set, runs once the data is written and before the
// fsyncs (a login's log line goes out while the disk works): an error after
// it means the new file is not known to be durable (the old one may or may
// not have been replaced: the rename is atomic either way).
Status atomic_replace(int dirfd, const std::string& name, std::span<const std::uint8_t> data, mode_t mode,
                      const std::function<void()>& while_flushing = {});
// ".<name>.tmp": never a valid name of its own (names may not start with '.').
std::string temp_name_for(const std::string& name);
// Removes a leftover temp file of `name` (a killed writer's); absent is fine.
Status remove_leftover_temp(int dirfd, const std::string& name);

// RLIMIT_FSIZE is the caller's to set (a user runs su under
// `prlimit --fsize=0`): a state write beyond it would kill the process with
// SIGXFSZ half-way, or fail. For its lifetime this raises the soft limit to
// at least `needed` bytes (up to the hard limit, or beyond it where the
// process may), and puts the caller's limits back afterwards. When that is
// impossible, make() says so: the writer refuses before it checks anything.
class FileSizeLimitGuard {
 public:
  static Result<FileSizeLimitGuard> make(std::uint64_t needed);
  FileSizeLimitGuard(FileSizeLimitGuard&& o) noexcept : saved_(o.saved_), restore_(o.restore_) { o.restore_ = false; }
  FileSizeLimitGuard& operator=(FileSizeLimitGuard&&) = delete;
  FileSizeLimitGuard(const FileSizeLimitGuard&) = delete;
  ~FileSizeLimitGuard();

 private:
  FileSizeLimitGuard() = default;
  struct Saved {
    std::uint64_t soft = 0, hard = 0;
  } saved_;
  bool restore_ = false;
};

// How long anyone waits for a user's lock before refusing: long enough for
// any honest writer (a login holds it for milliseconds), short enough that
// a stopped or frozen process cannot hang the user's logins.
constexpr int kLockWaitMilliseconds = 5000;

// flock(2) held for the lifetime of the object; EINTR-safe. The wait is
// bounded: after `max_wait_ms` without the lock, Errc::busy.
class FileLock {
 public:
  enum class Kind { shared, exclusive };
  static Result<FileLock> acquire(UniqueFd fd, Kind kind, int max_wait_ms = kLockWaitMilliseconds);
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  ~FileLock();
  int fd() const noexcept { return fd_.get(); }

 private:
  explicit FileLock(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// "strerror(errno)"-style text for messages (thread-safe).
std::string errno_text(int err);

}  // namespace totp
