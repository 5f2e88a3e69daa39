// SPDX-License-Identifier: Apache-2.0
// The master key: 32 bytes from the OS CSPRNG in key_file, root:root 0600.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

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

// The keys a record may be opened with: the current key (key_file) and,
// while a rotation is in progress (`totp-setup rekey`, core/rekey.h), the
// previous one (<key_file>.previous). Records are always sealed under the
// current key; a record under the previous key is opened with it, and its
// next write seals it under the current key.
struct KeyRing {
  MasterKey current;
  std::optional<MasterKey> previous;

  KeyRing() = default;
  // A ring of one key (tests, tools that read a key of their own): both
  // conversions are implicit so that every place that had a key compiles.
  KeyRing(MasterKey&& key) : current(std::move(key)) {}  // NOLINT(google-explicit-constructor)
  KeyRing(const MasterKey& key);                      // NOLINT: copies the key
  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;

  // The key whose id is `id`, or nullptr.
  const MasterKey* find(const KeyId& id) const noexcept;
  // For messages: "key id X" or "key id X, previous key id Y".
  std::string describe() const;

  // Where the ring came from (load_key_ring), so that a long-lived store
  // can notice a rotation that happened since (reload_if_rotated). Empty
  // for a ring made in memory: never reloaded.
  std::string path;
  uid_t owner = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

// <key_file>.previous and <key_file>.next (rekey's staging file).
std::string previous_key_path(const std::string& key_file);
std::string next_key_path(const std::string& key_file);

// The current key (load_master_key(key_file)) and, if <key_file>.previous
// exists, the previous key, checked exactly as the current one (its errors
// name that file). A previous key equal to the current one is dropped.
Result<KeyRing> load_key_ring(const std::string& key_file, uid_t expected_owner = 0);

// If `ring` came from a file and that file is now another one (renamed
// over by rekey), loads the ring again. true when it changed. Errors when
// the new one cannot be loaded (the ring is left as it was).
Result<bool> reload_if_rotated(KeyRing& ring);

// Loads and checks: not a symlink, regular file, owned by root (uid 0, or
// `expected_owner` in tests run by non-root), no group/world bits, exactly 32
// bytes. Each failure has its own message naming the path and the problem.
Result<MasterKey> load_master_key(const std::string& path, uid_t expected_owner = 0);

// Creates a new key file (O_CREAT|O_EXCL, 0600). Errc::invalid_argument if it exists.
Result<MasterKey> create_master_key(const std::string& path);

KeyId key_id_of(const SecureBytes& key);
// The key id as 16 lower-case hex digits (messages: "record sealed under key id ...").
std::string key_id_hex(const KeyId& id);

// What rekey asks a store (FileStore, LdapStore): which key a user's record
// is sealed under, after authenticating the whole record with the store's
// ring. nullopt: the user has no record. An error for a record that does
// not open (damaged, or under neither key: the message names the ids).
class SealedKeyProbe {
 public:
  virtual Result<std::optional<KeyId>> sealed_key_id(std::string_view user) const = 0;

 protected:
  SealedKeyProbe() = default;
  ~SealedKeyProbe() = default;
};

// Fills with OS CSPRNG bytes (RAND_bytes); crypto_error on failure.
Status random_bytes(std::span<std::uint8_t> out);

}  // namespace totp
