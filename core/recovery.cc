// SPDX-License-Identifier: Apache-2.0
// Recovery codes.
//
// Alphabet (32 symbols, 5 bits each): "0123456789abcdefghjkmnpqrstvwxyz",
// i.e. all digits and the lower-case letters without i, l, o and u. A 32-symbol
// set of unambiguous characters needs one of each look-alike pair to stay:
// the digits 2-9 plus the letters without i, l, o are only 31. So codes
// keep the digits 0 and 1 and never contain the letters o, i, l they could be
// mistaken for; when a user types one of those letters anyway, normalisation
// reads o as 0 and i or l as 1, so a misread code still works. u is left
// out because it is the next easiest to misread (u/v) and it is the one extra
// symbol we do not need. A code thus never shows two characters that can be
// confused, and 10 symbols carry 50 bits from the CSPRNG.
//
// Every Argon2id computation goes through one function that counts it, so
// tests and the benchmark can check "one per attempt, none while locked".
#include "core/recovery.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <string>

namespace totp {

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
static_assert(sizeof(kAlphabet) - 1 == 32, "5 bits per symbol need exactly 32 symbols");
constexpr std::size_t kCodeSymbols = 10;
constexpr std::size_t kGroupSize = 5;
constexpr std::size_t kMaxTypedLength = 64;
// An imported google-authenticator scratch code (see recovery.h).
constexpr std::size_t kScratchDigits = 8;
// Sanity caps for the cost (it is fixed in code, but a typo should not ask
// for gigabytes in a PAM module).
constexpr std::uint32_t kMaxTCost = 64;
constexpr std::uint32_t kMaxMCostKib = 1024 * 1024;

std::atomic<std::uint64_t> g_argon2_computations{0};

// The canonical symbol for a typed character (after lower-casing and
// mapping look-alikes), or 0 if it is not part of a code.
char canonical_symbol(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
  if (c == 'o') return '0';
  if (c == 'i' || c == 'l') return '1';
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
    return c == 'u' ? 0 : static_cast<char>(c);
  }
  return 0;
}

bool is_scratch_form(std::string_view s) noexcept {
  if (s.size() != kScratchDigits) return false;
  bool ok = true;
  for (char c : s) ok = ok && c >= '0' && c <= '9';
  return ok;
}

bool is_canonical_code(std::string_view s) noexcept {
  if (is_scratch_form(s)) return true;
  if (s.size() != kCodeSymbols) return false;
  bool ok = true;
  for (char c : s) ok = ok && c != 0 && canonical_symbol(static_cast<unsigned char>(c)) == c;
  return ok;
}

Status check_cost(const Argon2Cost& cost) {
  if (cost.t_cost < 1 || cost.t_cost > kMaxTCost || cost.parallelism < 1 || cost.parallelism > 16 ||
      cost.m_cost_kib < 8 * cost.parallelism || cost.m_cost_kib > kMaxMCostKib) {
    return make_error(Errc::invalid_argument, "recovery: Argon2id cost out of range");
  }
  return ok_status();
}

Status argon2id(std::string_view normalized, const RecoverySalt& salt, const Argon2Cost& cost,
                RecoveryHash& out) {
  g_argon2_computations.fetch_add(1, std::memory_order_relaxed);
  const int rc = argon2id_hash_raw(cost.t_cost, cost.m_cost_kib, cost.parallelism, normalized.data(),
                                   normalized.size(), salt.data(), salt.size(), out.data(), out.size());
  if (rc != ARGON2_OK) {
    cleanse(out.data(), out.size());
    return make_error(Errc::crypto_error, std::string("recovery: Argon2id failed: ") + argon2_error_message(rc));
  }
  return ok_status();
}

}  // namespace

Argon2Cost default_argon2_cost() { return Argon2Cost{}; }

// Each code symbol takes the low 5 bits of one CSPRNG byte: 256 is a multiple
// of 32, so every symbol is uniform without rejection. On a CSPRNG failure
// the result is empty; an empty code is refused by hash_recovery_code, so a
// caller cannot store it by mistake.
SecureBytes make_recovery_code() {
  SecureBytes random(kCodeSymbols);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) return SecureBytes();
  SecureBytes code(kCodeSymbols + 1);
  std::size_t out = 0;
  for (std::size_t i = 0; i < kCodeSymbols; ++i) {
    if (i == kGroupSize) code[out++] = '-';
    code[out++] = static_cast<std::uint8_t>(kAlphabet[random[i] & 0x1f]);
  }
  return code;
}

Result<RecoverySalt> make_recovery_salt() {
  RecoverySalt salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return make_error(Errc::crypto_error, "recovery: RAND_bytes failed");
  }
  return salt;
}

std::optional<SecureBytes> normalize_recovery_code(std::string_view typed) {
  if (typed.size() > kMaxTypedLength) return std::nullopt;
  // The 8-digit form: ASCII digits only (no look-alike mapping, no dashes),
  // spaces dropped, as the user typed it into google-authenticator's prompt.
  {
    SecureBytes digits(kScratchDigits);
    std::size_t n = 0;
    bool only_digits = true;
    for (char c : typed) {
      if (c == ' ') continue;
      if (c < '0' || c > '9' || n == kScratchDigits) {
        only_digits = false;
        break;
      }
      digits[n++] = static_cast<std::uint8_t>(c);
    }
    if (only_digits && n == kScratchDigits) return digits;
  }
  SecureBytes out(kCodeSymbols);
  std::size_t n = 0;
  for (char ch : typed) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '-') continue;
    const char symbol = canonical_symbol(c);
    if (symbol == 0 || n == kCodeSymbols) return std::nullopt;
    out[n++] = static_cast<std::uint8_t>(symbol);
  }
  if (n != kCodeSymbols) return std::nullopt;
  return out;
}

bool looks_like_recovery_code(std::string_view typed) { return normalize_recovery_code(typed).has_value(); }

Result<RecoveryHash> hash_recovery_code(std::string_view normalized, const RecoverySalt& salt,
                                        const Argon2Cost& cost) {
  if (!is_canonical_code(normalized)) {
    return make_error(Errc::invalid_argument, "recovery: not a normalised recovery code");
  }
  TOTP_TRY_STATUS(check_cost(cost));
  RecoveryHash hash{};
  TOTP_TRY_STATUS(argon2id(normalized, salt, cost, hash));
  return hash;
}

Result<std::optional<std::size_t>> find_recovery_code(std::string_view normalized, const RecoverySalt& salt,
                                                      std::span<const RecoveryHash> hashes,
                                                      const Argon2Cost& cost) {
  // Hashed even when `hashes` is empty: a user with no codes left takes as
  // long as one with ten.
  auto candidate = hash_recovery_code(normalized, salt, cost);
  if (!candidate) return candidate.error();

  // Constant time over all hashes: no early exit, the first match's index
  // is selected with masks.
  std::size_t found_mask = 0;
  std::size_t found_index = 0;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const std::size_t equal =
        CRYPTO_memcmp(candidate->data(), hashes[i].data(), kRecoveryHashSize) == 0 ? 1 : 0;
    const std::size_t take = (0 - equal) & ~found_mask;
    found_index = (found_index & ~take) | (i & take);
    found_mask |= take;
  }
  cleanse(candidate->data(), candidate->size());
  if (found_mask == 0) return std::optional<std::size_t>{};
  return std::optional<std::size_t>{found_index};
}

std::uint64_t argon2_computations() noexcept { return g_argon2_computations.load(std::memory_order_relaxed); }

}  // namespace totp
