// SPDX-License-Identifier: Apache-2.0
// Single-use recovery codes: made from the OS CSPRNG, shown once, stored only
// as Argon2id hashes. One Argon2id computation per login attempt: all hashes
// of a user share one per-user salt, so the candidate is hashed once and then
// compared in constant time with every stored hash.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

constexpr std::size_t kRecoveryCodeCount = 10;
constexpr std::size_t kRecoverySaltSize = 16;
constexpr std::size_t kRecoveryHashSize = 32;
using RecoverySalt = std::array<std::uint8_t, kRecoverySaltSize>;
using RecoveryHash = std::array<std::uint8_t, kRecoveryHashSize>;

// Argon2id cost: fixed in code so every record is verified the same way.
struct Argon2Cost {
  std::uint32_t t_cost = 3;          // iterations
  std::uint32_t m_cost_kib = 19456;  // 19 MiB (OWASP minimum for Argon2id)
  std::uint32_t parallelism = 1;
};
Argon2Cost default_argon2_cost();

// Codes look like "k7m2p-x9r0a": 10 characters from the 32 symbols
// 0-9 a-z without i, l, o, u (Crockford's alphabet), grouped 5-5: 50 bits
// each. No two symbols look alike; typed o is read as 0 and i/l as 1.
SecureBytes make_recovery_code();
Result<RecoverySalt> make_recovery_salt();

// Normalises typed input: drops spaces and dashes, lower-cases; returns
// nullopt unless the result is exactly 10 characters of the alphabet.
// One more form is accepted: exactly 8 ASCII digits once spaces are dropped
// (no dashes, no look-alike letters), normalised to "DDDDDDDD". These are
// google-authenticator's emergency scratch codes, which `totp-setup import`
// keeps as recovery codes so that each still works once, typed as before.
// (The login routes an answer with as many digits as the enrolment's codes
// to TOTP first, so an 8-digit answer is a scratch code only for 6- and
// 7-digit enrolments; imported google-authenticator enrolments are 6.)
std::optional<SecureBytes> normalize_recovery_code(std::string_view typed);
// True if the typed text looks like a recovery code after normalisation
// (used to route input: digits -> TOTP, letters -> recovery).
bool looks_like_recovery_code(std::string_view typed);

// Argon2id(normalised code, salt) -> 32 bytes. `normalized` is either form
// normalize_recovery_code returns.
Result<RecoveryHash> hash_recovery_code(std::string_view normalized, const RecoverySalt& salt,
                                        const Argon2Cost& cost = default_argon2_cost());

// Hashes `normalized` once, compares with every hash in constant time
// (always all of them), returns the index of the match or nullopt.
Result<std::optional<std::size_t>> find_recovery_code(std::string_view normalized, const RecoverySalt& salt,
                                                      std::span<const RecoveryHash> hashes,
                                                      const Argon2Cost& cost = default_argon2_cost());

// Number of Argon2id computations this process has made (tests and benchmark
// check "exactly one per attempt" and "none while locked").
std::uint64_t argon2_computations() noexcept;

}  // namespace totp
