// SPDX-License-Identifier: Apache-2.0
// Sealing with AES-256-GCM: a fresh random 96-bit nonce per seal; the AAD
// binds a context (magic, format version, key id, user name, part label) so a
// blob copied to another user, another part or another key does not open.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/key.h"
#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kSealOverhead = kNonceSize + kTagSize;

// Output: nonce || ciphertext || tag.
Result<std::vector<std::uint8_t>> seal(const MasterKey& key, std::span<const std::uint8_t> aad,
                                       std::span<const std::uint8_t> plaintext);
// Errc::tampered on any authentication failure or short input.
Result<SecureBytes> unseal(const MasterKey& key, std::span<const std::uint8_t> aad,
                           std::span<const std::uint8_t> sealed);

}  // namespace totp
