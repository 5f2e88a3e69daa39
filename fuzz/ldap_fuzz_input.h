// SPDX-License-Identifier: Apache-2.0
// The input format of fuzz_ldap_values, shared with its seed generator
// (gen_ldap_corpus.cc): what a fake directory answers.
//   byte 0   the result code of the read of the user's entry: 0 success,
//            1 noSuchObject (32), else the byte itself
//   byte 1   bit 0: the marker entry uid=.pam_totp is visible;
//            bit 1: the key ring also holds a previous key
//   then     values, each: tag (1 byte), length (2 bytes, little endian),
//            the bytes; tag % 4: 0 a uid value, 1 a pamTotpEnrolment value,
//            2 a pamTotpLedger value, 3 a uid that the listing returns
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/key.h"

namespace fuzz_ldap {

enum Tag : std::uint8_t { kUid = 0, kEnrolment = 1, kLedger = 2, kListed = 3 };

inline void put(std::vector<std::uint8_t>& out, Tag tag, std::span<const std::uint8_t> value) {
  out.push_back(tag);
  out.push_back(static_cast<std::uint8_t>(value.size() & 0xff));
  out.push_back(static_cast<std::uint8_t>(value.size() >> 8));
  out.insert(out.end(), value.begin(), value.end());
}

inline void put(std::vector<std::uint8_t>& out, Tag tag, const std::string& value) {
  put(out, tag, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

// The ring's previous key (bit 1): another fixed, public test key.
inline totp::MasterKey previous_key() {
  totp::MasterKey k;
  k.bytes = totp::SecureBytes(totp::kMasterKeySize);
  for (std::size_t i = 0; i < totp::kMasterKeySize; ++i) k.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
  k.id = totp::key_id_of(k.bytes);
  return k;
}

}  // namespace fuzz_ldap
