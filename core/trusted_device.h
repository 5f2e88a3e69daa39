// SPDX-License-Identifier: Apache-2.0
// Trusted devices ("remember", pam_totp(8) TRUSTED DEVICES): after a right
// code, the same user coming back with the same SSH public key from the same
// address is not asked again until the entry expires.
//
// What identifies a device is a keyed digest, HMAC-SHA256 under a random
// per-enrolment device key, of (user name, the SSH public key blob sshd
// accepted, the remote address). The key lives only in the encrypted
// enrolment, so the digest says nothing to anyone without it and survives
// a rekey; forgetting every device drops the key, so a later device gets a
// new one. Beside the digest an entry keeps when it was made, when it ends,
// the address and the public key's SHA-256 fingerprint, for listing.
//
// The key comes from sshd (ExposeAuthInfo yes puts SSH_AUTH_INFO_0 into the
// PAM environment). Without a key, or without an address, nothing is ever
// remembered or matched: password and console logins, su, sudo.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

constexpr std::size_t kDeviceKeySize = 32;
constexpr std::size_t kDeviceDigestSize = 32;
constexpr std::size_t kKeyFingerprintSize = 32;  // SHA-256 of the key blob
constexpr std::size_t kMaxTrustedDevices = 10;   // per account; one more evicts the oldest
constexpr std::size_t kMaxDeviceAddressSize = 64;  // = kMaxRhostSize
constexpr std::int64_t kMaxTrustedDeviceLifetime = 30 * 24 * 3600;  // = kMaxRememberSeconds
constexpr std::size_t kDeviceIdSize = 8;           // hex characters of the digest shown as its ID

// SSH_AUTH_INFO_0 as we take it: at most this long, a key blob of at most
// kMaxSshKeyBlobSize bytes (a 16384-bit RSA key or a certificate fits), a
// key type of at most kMaxSshKeyTypeSize characters.
constexpr std::size_t kMaxSshAuthInfoSize = 64 * 1024;
constexpr std::size_t kMaxSshKeyBlobSize = 16 * 1024;
constexpr std::size_t kMaxSshKeyTypeSize = 64;

using DeviceDigest = std::array<std::uint8_t, kDeviceDigestSize>;
using KeyFingerprint = std::array<std::uint8_t, kKeyFingerprintSize>;

struct TrustedDevice {
  DeviceDigest digest{};
  std::int64_t created = 0;  // unix time
  std::int64_t expires = 0;  // unix time; created < expires <= created + kMaxTrustedDeviceLifetime
  std::string address;       // valid_device_address
  KeyFingerprint key{};      // SHA-256 of the public key blob (public)
};

struct TrustedDevices {
  SecureBytes key;                   // kDeviceKeySize bytes, or empty when `list` is
  std::vector<TrustedDevice> list;   // at most kMaxTrustedDevices, oldest first
};

// The SSH public key sshd accepted for this login (public, not a secret).
struct SshKey {
  std::string type;                 // e.g. "ssh-ed25519"
  std::vector<std::uint8_t> blob;   // the decoded key blob
};

// The key of the last "publickey TYPE BASE64" line of SSH_AUTH_INFO_0
// (nullptr or anything malformed: nullopt). Other lines (keyboard-interactive,
// password, ...) are skipped. Strict: lines end with '\n' (the last may
// not), every byte is printable ASCII, TYPE is 1..kMaxSshKeyTypeSize of
// [A-Za-z0-9@._+-], BASE64 is canonical padded base64 of at most
// kMaxSshKeyBlobSize bytes whose first field (an SSH string) is TYPE. When
// several keys were accepted (AuthenticationMethods publickey,publickey),
// sshd lists them in the order it accepted them; each one was proved, and
// the last is the one that completed the public key part.
std::optional<SshKey> ssh_key_from_auth_info(const char* info);

// An address a device can be remembered from: PAM_RHOST of 1..
// kMaxDeviceAddressSize bytes, each printable ASCII other than space.
bool valid_device_address(std::string_view address);

// "SHA256:" and the unpadded base64 of the fingerprint, as ssh-keygen -l.
std::string key_fingerprint_text(const KeyFingerprint& fp);
KeyFingerprint key_fingerprint_of(std::span<const std::uint8_t> blob);

// The first kDeviceIdSize hex characters of the digest: how `devices`
// shows an entry and `forget --id` names it (keyed, so it tells nothing).
std::string device_id(const DeviceDigest& d);
bool valid_device_id(std::string_view id);

// HMAC-SHA256 under `key` (kDeviceKeySize bytes) of the length-prefixed
// user name, key blob and address.
Result<DeviceDigest> device_digest(std::span<const std::uint8_t> key, std::string_view user,
                                   std::span<const std::uint8_t> blob, std::string_view address);

// The fields of one entry are in range (the record parser's and
// validate_enrolment's check).
bool trusted_device_well_formed(const TrustedDevice& d);

// An entry lets a login in at `now` while created <= now < expires and
// now < created + max_age (the remember setting now: lowering it shortens
// every entry, 0 ends them all).
bool trusted_device_valid_at(const TrustedDevice& d, std::int64_t now, std::int64_t max_age);

// The entry whose digest is `digest` and that is valid at `now`, or
// nullptr. Every entry is compared, in constant time (CRYPTO_memcmp).
const TrustedDevice* find_trusted_device(const TrustedDevices& devices, const DeviceDigest& digest, std::int64_t now,
                                         std::int64_t max_age);

// Drops entries that have expired at `now` (and the key with the last one).
void prune_trusted_devices(TrustedDevices& devices, std::int64_t now);

// Ends every device (and drops the key).
void clear_trusted_devices(TrustedDevices& devices);

// Adds the device (user, key, address) for `lifetime` seconds from `now`
// (1..kMaxTrustedDeviceLifetime), or renews its entry: makes the device
// key first if there is none, prunes expired entries, evicts the oldest
// when full. Returns the entry as written.
Result<TrustedDevice> remember_trusted_device(TrustedDevices& devices, std::string_view user, const SshKey& key,
                                              std::string_view address, std::int64_t now, std::int64_t lifetime);

// Forgets the entries whose ID is `id` (nullptr: all). Returns how many.
std::size_t forget_trusted_devices(TrustedDevices& devices, const std::string* id);

}  // namespace totp
