// SPDX-License-Identifier: Apache-2.0
// `totp-setup rekey`: a new master key, and every record sealed again under
// it, crash-safe at every step (the tool is a thin face of this).
//
// The files, all in key_file's directory, all root-owned 0600:
//   <key_file>            the current key: every write seals under it
//   <key_file>.previous   the key being retired, while a rotation is in
//                         progress: records under it still open (core/key.h
//                         KeyRing), and their next write moves them over
//   <key_file>.next       the new key, made (or put there by the
//                         administrator: a fleet's shared key) before it
//                         becomes the current one
//   <key_file>.next.tmp   .next while it is being written (a leftover of a
//                         killed run is removed)
//
// A run: (a) make .next unless it exists (then it is checked and used);
// (b) link the current key as .previous, rename .next over key_file; (c)
// seal every record that is under the previous key again, under the new
// one; (d) when none is left under the previous key, remove .previous.
// Each step is durable (file and directory fsync) before the next, and at
// every instant the current key and .previous together open every record:
// see rekey.cc for each crash point. A run that finds a rotation in
// progress (.previous present) finishes it instead of starting another.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/key.h"
#include "core/result.h"

namespace totp {

struct RekeyReport {
  KeyId key_id{};                        // every record is (or should be) under this key now
  std::optional<KeyId> previous_key_id;  // the key retired by this rotation, if there was one
  bool rotated = false;                  // this run renamed a new key into place
  bool previous_removed = false;         // .previous is gone: the rotation is complete
  std::vector<std::string> resealed;     // sealed again under key_id by this run
  std::vector<std::string> already;      // already under key_id
  std::vector<std::pair<std::string, std::string>> failed;  // user, why (damaged, another key, ...)
};

// Errors only for what stops the run before or between records (keys that
// fail their checks, another rekey running, the store unusable or not
// listable); a record that cannot be opened or written is in `failed`, and
// then .previous stays (run again once it is dealt with). `progress` gets a
// line per failed user and per step ("new master key ... in place").
// `owner`: who must own the key files (0; tests run unprivileged pass theirs).
Result<RekeyReport> rekey(const Settings& settings, const std::function<void(const std::string&)>& progress,
                          uid_t owner = 0);

}  // namespace totp
