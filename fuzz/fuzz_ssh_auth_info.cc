// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for SSH_AUTH_INFO_0 (core/trusted_device.h): sshd puts
// the keys it accepted into the PAM environment, and the module takes the
// last "publickey TYPE BASE64" line to recognise a trusted device. The
// text reaches the module through sshd, but a key's type and blob are the
// client's. Also the device addresses (PAM_RHOST) and IDs (forget --id).
// Checked beyond "no crash":
//   - a key is taken only from printable text whose every publickey line is
//     well formed, and it is the last one: type 1..64 bytes of
//     [A-Za-z0-9@._+-], a blob of at most 16 KiB whose first SSH string is
//     the type; written back as "publickey TYPE BASE64" it is read the same;
//   - an address is valid iff 1..64 printable non-space ASCII bytes; an ID
//     iff 8 lower-case hex digits, and device_id always makes a valid one;
//     a fingerprint is "SHA256:" and 43 base64 characters.
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/trusted_device.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string base64(const std::vector<std::uint8_t>& blob) {
  std::string out(4 * ((blob.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), blob.data(), static_cast<int>(blob.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '@' || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string_view text(input.c_str());  // what getenv would give: up to the first NUL

  check(!totp::ssh_key_from_auth_info(nullptr).has_value());
  const auto key = totp::ssh_key_from_auth_info(input.c_str());
  if (key) {
    for (unsigned char c : text) check(c == '\n' || (c >= 0x20 && c <= 0x7e));
    check(!key->type.empty() && key->type.size() <= totp::kMaxSshKeyTypeSize);
    for (char c : key->type) check(type_char(c));
    check(!key->blob.empty() && key->blob.size() <= totp::kMaxSshKeyBlobSize && key->blob.size() >= 4 + key->type.size());
    const std::uint32_t len = (std::uint32_t{key->blob[0]} << 24) | (std::uint32_t{key->blob[1]} << 16) |
                              (std::uint32_t{key->blob[2]} << 8) | key->blob[3];
    check(len == key->type.size() && std::memcmp(key->blob.data() + 4, key->type.data(), len) == 0);
    // It is the last publickey line, as it was written.
    const std::string line = "publickey " + key->type + " " + base64(key->blob);
    std::size_t last = std::string_view::npos;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      if (text.substr(pos, end - pos).starts_with("publickey")) last = pos;
      pos = end + 1;
    }
    check(last != std::string_view::npos && text.substr(last, line.size()) == line &&
          (last + line.size() == text.size() || text[last + line.size()] == '\n'));
    const auto again = totp::ssh_key_from_auth_info((line + "\n").c_str());
    check(again && again->type == key->type && again->blob == key->blob);
  }

  bool address = !text.empty() && text.size() <= totp::kMaxDeviceAddressSize;
  for (unsigned char c : text) address = address && c > 0x20 && c <= 0x7e;
  check(totp::valid_device_address(text) == address);

  bool id = text.size() == totp::kDeviceIdSize;
  for (char c : text) id = id && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  check(totp::valid_device_id(text) == id);

  totp::DeviceDigest digest{};
  std::memcpy(digest.data(), data, std::min(size, digest.size()));
  check(totp::valid_device_id(totp::device_id(digest)));
  const std::string fp =
      totp::key_fingerprint_text(totp::key_fingerprint_of(std::span<const std::uint8_t>(data, size)));
  check(fp.size() == 7 + 43 && fp.starts_with("SHA256:"));
  return 0;
}
