// SPDX-License-Identifier: Apache-2.0
// Trusted devices: see trusted_device.h.
#include "core/trusted_device.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "core/key.h"

namespace totp {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Bound into every digest: a digest of this purpose and version only.
constexpr std::string_view kDigestLabel{"pam_totp trusted device v1", 27};  // with its NUL

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Canonical padded base64 (RFC 4648 section 4): length a multiple of 4,
// '=' only at the end and only as needed, unused bits zero. nullopt for
// anything else or more than `max` bytes.
std::optional<std::vector<std::uint8_t>> base64_decode_strict(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() % 4 != 0 || s.size() / 4 * 3 > max + 2) return std::nullopt;
  std::size_t pad = 0;
  if (s.back() == '=') pad = s[s.size() - 2] == '=' ? 2 : 1;
  std::vector<std::uint8_t> out;
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = s[i + k];
      int d = 0;
      if (last && k >= 4 - pad) {
        if (c != '=') return std::nullopt;
      } else {
        d = base64_value(c);
        if (d < 0) return std::nullopt;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    if (!last || pad < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
    if (!last || pad < 1) out.push_back(static_cast<std::uint8_t>(v));
    // The bits the padding leaves unused are zero (one encoding per blob).
    if (last && ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))) return std::nullopt;
  }
  if (out.empty() || out.size() > max) return std::nullopt;
  return out;
}

std::string base64_encode_unpadded(std::span<const std::uint8_t> in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int k = 3; k >= 0; --k) out.push_back(kBase64[(v >> (6 * k)) & 0x3f]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(kBase64[(v >> 18) & 0x3f]);
    out.push_back(kBase64[(v >> 12) & 0x3f]);
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(kBase64[(v >> 18) & 0x3f]);
    out.push_back(kBase64[(v >> 12) & 0x3f]);
    out.push_back(kBase64[(v >> 6) & 0x3f]);
  }
  return out;
}

bool valid_key_type(std::string_view t) {
  if (t.empty() || t.size() > kMaxSshKeyTypeSize) return false;
  for (char c : t) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '@' ||
                    c == '.' || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The blob's first field is an SSH string (u32 big-endian length, bytes)
// naming its type: it must be `type`.
bool blob_names_type(const std::vector<std::uint8_t>& blob, std::string_view type) {
  if (blob.size() < 4) return false;
  const std::uint32_t len = (std::uint32_t{blob[0]} << 24) | (std::uint32_t{blob[1]} << 16) |
                            (std::uint32_t{blob[2]} << 8) | blob[3];
  if (len != type.size() || blob.size() - 4 < len) return false;
  return std::memcmp(blob.data() + 4, type.data(), len) == 0;
}

// One "publickey TYPE BASE64" line; nullopt for any other line.
std::optional<SshKey> key_of_line(std::string_view line) {
  constexpr std::string_view kPrefix = "publickey ";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view type = line.substr(0, space);
  const std::string_view b64 = line.substr(space + 1);
  if (!valid_key_type(type) || b64.find(' ') != std::string_view::npos) return std::nullopt;
  auto blob = base64_decode_strict(b64, kMaxSshKeyBlobSize);
  if (!blob || !blob_names_type(*blob, type)) return std::nullopt;
  return SshKey{std::string(type), std::move(*blob)};
}

void put_field(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int k = 3; k >= 0; --k) out.push_back(static_cast<std::uint8_t>(n >> (8 * k)));
  out.insert(out.end(), field.begin(), field.end());
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::optional<SshKey> ssh_key_from_auth_info(const char* info) {
  if (info == nullptr) return std::nullopt;
  const std::size_t n = ::strnlen(info, kMaxSshAuthInfoSize + 1);
  if (n == 0 || n > kMaxSshAuthInfoSize) return std::nullopt;
  const std::string_view text(info, n);
  for (unsigned char c : text) {
    if (c != '\n' && (c < 0x20 || c > 0x7e)) return std::nullopt;
  }
  // The publickey line sshd wrote for each key it accepted: a publickey
  // line that is malformed means we do not know which key it was, so
  // nothing at all is taken (not an earlier key).
  std::optional<SshKey> found;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("publickey")) {
      auto key = key_of_line(line);
      if (!key) return std::nullopt;
      found = std::move(key);
    }
  }
  return found;
}

bool valid_device_address(std::string_view address) {
  if (address.empty() || address.size() > kMaxDeviceAddressSize) return false;
  for (unsigned char c : address) {
    if (c <= 0x20 || c > 0x7e) return false;
  }
  return true;
}

KeyFingerprint key_fingerprint_of(std::span<const std::uint8_t> blob) {
  KeyFingerprint fp{};
  SHA256(blob.data(), blob.size(), fp.data());
  return fp;
}

std::string key_fingerprint_text(const KeyFingerprint& fp) { return "SHA256:" + base64_encode_unpadded(fp); }

std::string device_id(const DeviceDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < kDeviceIdSize / 2; ++i) {
    id.push_back(kHex[d[i] >> 4]);
    id.push_back(kHex[d[i] & 0x0f]);
  }
  return id;
}

bool valid_device_id(std::string_view id) {
  if (id.size() != kDeviceIdSize) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<DeviceDigest> device_digest(std::span<const std::uint8_t> key, std::string_view user,
                                   std::span<const std::uint8_t> blob, std::string_view address) {
  if (key.size() != kDeviceKeySize) return make_error(Errc::invalid_argument, "trusted devices: bad device key size");
  std::vector<std::uint8_t> msg;
  msg.reserve(kDigestLabel.size() + 12 + user.size() + blob.size() + address.size());
  msg.insert(msg.end(), kDigestLabel.begin(), kDigestLabel.end());
  put_field(msg, bytes_of(user));
  put_field(msg, blob);
  put_field(msg, bytes_of(address));
  DeviceDigest out{};
  std::size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), msg.data(), msg.size(),
                out.data(), out.size(), &out_len) == nullptr ||
      out_len != out.size()) {
    return make_error(Errc::crypto_error, "trusted devices: HMAC-SHA256 failed");
  }
  return out;
}

bool trusted_device_well_formed(const TrustedDevice& d) {
  return d.created >= 0 && d.expires > d.created && d.expires - d.created <= kMaxTrustedDeviceLifetime &&
         valid_device_address(d.address);
}

bool trusted_device_valid_at(const TrustedDevice& d, std::int64_t now, std::int64_t max_age) {
  if (!trusted_device_well_formed(d) || max_age <= 0) return false;
  return d.created <= now && now < d.expires && now - d.created < max_age;
}

const TrustedDevice* find_trusted_device(const TrustedDevices& devices, const DeviceDigest& digest, std::int64_t now,
                                         std::int64_t max_age) {
  const TrustedDevice* found = nullptr;
  // No early exit: every entry is compared, whichever matches.
  for (const TrustedDevice& d : devices.list) {
    const bool same = CRYPTO_memcmp(d.digest.data(), digest.data(), digest.size()) == 0;
    if (same && found == nullptr && trusted_device_valid_at(d, now, max_age)) found = &d;
  }
  return found;
}

void prune_trusted_devices(TrustedDevices& devices, std::int64_t now) {
  auto& l = devices.list;
  l.erase(std::remove_if(l.begin(), l.end(),
                         [now](const TrustedDevice& d) { return !trusted_device_well_formed(d) || d.expires <= now; }),
          l.end());
  if (l.empty()) devices.key = SecureBytes();
}

void clear_trusted_devices(TrustedDevices& devices) {
  devices.list.clear();
  devices.key = SecureBytes();
}

Result<TrustedDevice> remember_trusted_device(TrustedDevices& devices, std::string_view user, const SshKey& key,
                                              std::string_view address, std::int64_t now, std::int64_t lifetime) {
  if (lifetime <= 0 || lifetime > kMaxTrustedDeviceLifetime || now < 0) {
    return make_error(Errc::invalid_argument, "trusted devices: lifetime out of range");
  }
  if (!valid_device_address(address)) return make_error(Errc::invalid_argument, "trusted devices: bad address");
  prune_trusted_devices(devices, now);
  if (devices.key.size() != kDeviceKeySize) {
    SecureBytes fresh(kDeviceKeySize);
    TOTP_TRY_STATUS(random_bytes(fresh.span()));
    devices.list.clear();  // entries under another key could never match
    devices.key = std::move(fresh);
  }
  auto digest = device_digest(devices.key.span(), user, key.blob, address);
  if (!digest) return digest.error();
  TrustedDevice entry;
  entry.digest = *digest;
  entry.created = now;
  entry.expires = now + lifetime;
  entry.address = std::string(address);
  entry.key = key_fingerprint_of(key.blob);
  auto& l = devices.list;
  // Renewed: the old entry goes, the new one is the youngest.
  l.erase(std::remove_if(l.begin(), l.end(),
                         [&](const TrustedDevice& d) {
                           return CRYPTO_memcmp(d.digest.data(), entry.digest.data(), entry.digest.size()) == 0;
                         }),
          l.end());
  l.push_back(entry);
  // Oldest first: the entries made earliest go when the list is full.
  std::stable_sort(l.begin(), l.end(), [](const TrustedDevice& a, const TrustedDevice& b) { return a.created < b.created; });
  // The entry just written is never the one evicted (an older entry may
  // carry a later time if the clock went back).
  while (l.size() > kMaxTrustedDevices) {
    const bool first_is_new = CRYPTO_memcmp(l.front().digest.data(), entry.digest.data(), entry.digest.size()) == 0;
    l.erase(l.begin() + (first_is_new ? 1 : 0));
  }
  return entry;
}

std::size_t forget_trusted_devices(TrustedDevices& devices, const std::string* id) {
  const std::size_t before = devices.list.size();
  if (id == nullptr) {
    clear_trusted_devices(devices);
    return before;
  }
  auto& l = devices.list;
  l.erase(std::remove_if(l.begin(), l.end(), [&](const TrustedDevice& d) { return device_id(d.digest) == *id; }),
          l.end());
  if (l.empty()) devices.key = SecureBytes();
  return before - l.size();
}

}  // namespace totp
