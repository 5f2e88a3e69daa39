// SPDX-License-Identifier: Apache-2.0
// The fixed (public, test-only) key and user of the record fuzzer and of its
// seed generator, so that seed state files decode completely under fuzzing.
#pragma once

#include <string_view>

#include "core/key.h"

namespace fuzz_record {

inline constexpr std::string_view kUser = "alice";

inline totp::MasterKey fixed_key() {
  totp::MasterKey k;
  k.bytes = totp::SecureBytes(totp::kMasterKeySize);
  for (std::size_t i = 0; i < totp::kMasterKeySize; ++i) k.bytes[i] = static_cast<std::uint8_t>(i);
  k.id = totp::key_id_of(k.bytes);
  return k;
}

}  // namespace fuzz_record
