// SPDX-License-Identifier: Apache-2.0
// Pieces of the state-file format that store.cc (reading, encoding) and
// store_update.cc (the locked read-modify-write) share. Not for other users.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/key.h"
#include "core/record.h"
#include "core/result.h"

namespace totp::detail {

// The per-user lock file is state_dir/.lock.<user>; never renamed or removed.
inline constexpr std::string_view kLockPrefix = ".lock.";

// The last kTagSize bytes of a sealed blob (a ledger slot's AAD binds the
// enrolment's tag).
std::span<const std::uint8_t> tag_of(std::span<const std::uint8_t> sealed);

// One sealed ledger slot: seq || ledger under AAD header || "ledger" || slot
// || user || enrolment tag.
Result<std::vector<std::uint8_t>> seal_slot(const MasterKey& key, std::span<const std::uint8_t> header, int slot,
                                            std::string_view user, std::span<const std::uint8_t> enrolment_tag,
                                            std::uint64_t seq, const Ledger& ledger);

// "state_dir/user: why" (user names are validated, so safe to log).
inline Error about(const std::string& dir, std::string_view user, const Error& e) {
  return make_error(e.code, dir + "/" + std::string(user) + ": " + e.message);
}

}  // namespace totp::detail
