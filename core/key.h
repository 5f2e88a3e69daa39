// The master key: 32 bytes from the OS CSPRNG in key_file, root:root 0600.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

constexpr std::size_t kMasterKeySize = 32;
constexpr std::size_t kKeyIdSize = 8;
using KeyId = std::array<std::uint8_t, kKeyIdSize>;

struct MasterKey {
  SecureBytes bytes;  // kMasterKeySize
  KeyId id{};         // first kKeyIdSize bytes of SHA-256(bytes)
};

// Loads and checks: not a symlink, regular file, owned by root (uid 0, or
// `expected_owner` in tests run by non-root), no group/world bits, exactly 32
// bytes. Each failure has its own message naming the path and the problem.
Result<MasterKey> load_master_key(const std::string& path, uid_t expected_owner = 0);

// Creates a new key file (O_CREAT|O_EXCL, 0600). Errc::invalid_argument if it exists.
Result<MasterKey> create_master_key(const std::string& path);

KeyId key_id_of(const SecureBytes& key);
// The key id as 16 lower-case hex digits (messages: "record sealed under key id ...").
std::string key_id_hex(const KeyId& id);

// Fills with OS CSPRNG bytes (RAND_bytes); crypto_error on failure.
Status random_bytes(std::span<std::uint8_t> out);

}  // namespace totp
