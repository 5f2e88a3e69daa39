// SPDX-License-Identifier: Apache-2.0
// Reading a secret file that another second-factor module kept (a
// ~/.google_authenticator or pam_oath's users.oath) for `totp-setup import`.
// The file is hostile until proved otherwise: its user may have made it a
// symlink, a FIFO, a hard link to someone else's file, a huge file, or left
// it writable by others. It is opened once (O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK|
// O_NOCTTY), judged on what fstat says of that open file, and read whole
// into SecureBytes; the directory it is in stays open so that the file can
// be removed later by name only if that name still is the file that was read.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

// google-authenticator's own module refuses a file over 64 KiB.
constexpr std::size_t kMaxImportFileSize = 64 * 1024;

struct ImportFileRules {
  std::vector<uid_t> owners;         // st_uid must be one of these
  mode_t forbidden = 022;            // mode bits that refuse the file (group/other write)
  mode_t warned = 0;                 // mode bits that only add a warning (e.g. 044)
  std::size_t max_size = kMaxImportFileSize;
};

struct ImportFile {
  std::string path;
  SecureBytes bytes;
  uid_t owner = 0;
  mode_t mode = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  UniqueFd dir;      // the directory the name is in (for remove_import_file)
  std::string name;  // the last path component
  std::vector<std::string> warnings;  // e.g. "readable by others (mode 0644)"
};

// Opens and reads `path`. Errors say what is wrong with the file in words
// that fit after its path ("is a symbolic link", "is owned by uid 1001",
// "is group- or other-writable (mode 0664)", "is larger than 65536 bytes",
// "does not exist"): Errc::not_found, permission, too_large or io_error.
Result<ImportFile> read_import_file(const std::string& path, const ImportFileRules& rules);

// Removes the file that was read, by name in its directory, only if that
// name still refers to the same file (device and inode): a name that was
// replaced meanwhile is left alone (Errc::permission). The directory is
// synced so that the removal is durable.
Status remove_import_file(const ImportFile& f);

}  // namespace totp
