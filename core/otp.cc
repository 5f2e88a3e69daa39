// SPDX-License-Identifier: Apache-2.0
// HOTP (RFC 4226) and TOTP (RFC 6238) over OpenSSL 3 EVP_MAC "HMAC".
//
// Cost model: a login verifies up to 2*kMaxWindow+1 steps. The MAC
// implementation is fetched once per process (a fetch walks OpenSSL's
// provider store under a lock), one EVP_MAC_CTX is keyed once; every further
// step re-initialises that context without a key, which HMAC documents as
// "reuse the key already set" (no new allocation, no second key schedule).
#include "core/otp.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <memory>
#include <string>

#include "core/secure_bytes.h"

namespace totp {

namespace {

struct MacDeleter {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// HMAC from the default library context, fetched on first use (thread-safe
// static initialisation) and kept for the life of the process.
EVP_MAC* hmac() {
  static const std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  return mac.get();
}

constexpr std::uint32_t kPow10[] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u};

// A buffer that cleanses itself: HMAC outputs and code text are as good as
// a code to an attacker who reads memory.
template <std::size_t N>
struct ScrubbedArray {
  std::array<unsigned char, N> bytes{};
  ~ScrubbedArray() { cleanse(bytes.data(), bytes.size()); }
};

bool digits_ok(int digits) noexcept { return digits >= kMinDigits && digits <= kMaxDigits; }

// An HMAC keyed once, computing HOTP values for any number of counters.
class HotpComputer {
 public:
  static Result<HotpComputer> create(std::span<const std::uint8_t> key, Algorithm algorithm) {
    if (key.empty()) return make_error(Errc::invalid_argument, "otp: empty secret");
    const char* digest = algorithm_name(algorithm);
    if (digest == nullptr) return make_error(Errc::unsupported, "otp: unknown algorithm");
    EVP_MAC* mac = hmac();
    if (mac == nullptr) return make_error(Errc::crypto_error, "otp: HMAC is not available in OpenSSL");
    MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
    if (!ctx) return make_error(Errc::crypto_error, "otp: EVP_MAC_CTX_new failed");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) {
      return make_error(Errc::crypto_error, std::string("otp: HMAC-") + digest + " init failed");
    }
    return HotpComputer(std::move(ctx));
  }

  // The HOTP value mod 10^digits (digits already validated).
  Result<std::uint32_t> value(std::uint64_t counter, int digits) {
    if (!fresh_ && EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) {
      return make_error(Errc::crypto_error, "otp: HMAC re-init failed");
    }
    fresh_ = false;
    std::array<unsigned char, 8> message{};
    for (int i = 7; i >= 0; --i) {
      message[static_cast<std::size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
      counter >>= 8;
    }
    ScrubbedArray<EVP_MAX_MD_SIZE> mac;
    std::size_t mac_len = 0;
    if (EVP_MAC_update(ctx_.get(), message.data(), message.size()) != 1 ||
        EVP_MAC_final(ctx_.get(), mac.bytes.data(), &mac_len, mac.bytes.size()) != 1 || mac_len < 20) {
      return make_error(Errc::crypto_error, "otp: HMAC computation failed");
    }
    // RFC 4226 5.3 dynamic truncation.
    const std::size_t offset = mac.bytes[mac_len - 1] & 0x0f;
    std::uint32_t binary = (static_cast<std::uint32_t>(mac.bytes[offset] & 0x7f) << 24) |
                           (static_cast<std::uint32_t>(mac.bytes[offset + 1]) << 16) |
                           (static_cast<std::uint32_t>(mac.bytes[offset + 2]) << 8) |
                           static_cast<std::uint32_t>(mac.bytes[offset + 3]);
    const std::uint32_t code = binary % kPow10[digits];
    binary = 0;
    return code;
  }

 private:
  explicit HotpComputer(MacCtxPtr ctx) : ctx_(std::move(ctx)) {}
  MacCtxPtr ctx_;
  bool fresh_ = true;  // keyed init done, not used yet
};

// Writes `code` as exactly `digits` decimal characters (no allocation).
void write_code(std::uint32_t code, int digits, char* out) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + code % 10);
    code /= 10;
  }
}

}  // namespace

const char* algorithm_name(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::sha1: return "SHA1";
    case Algorithm::sha256: return "SHA256";
    case Algorithm::sha512: return "SHA512";
  }
  return nullptr;
}

std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept {
  // ASCII-only case folding: std::toupper would follow the locale (a
  // Turkish locale does not map 'i' to 'I').
  auto equals_ci = [name](std::string_view upper) {
    if (name.size() != upper.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != upper[i]) return false;
    }
    return true;
  };
  if (equals_ci("SHA1")) return Algorithm::sha1;
  if (equals_ci("SHA256")) return Algorithm::sha256;
  if (equals_ci("SHA512")) return Algorithm::sha512;
  return std::nullopt;
}

Status validate_params(const OtpParams& p) {
  if (algorithm_name(p.algorithm) == nullptr) return make_error(Errc::unsupported, "otp: unknown algorithm");
  if (!digits_ok(p.digits)) {
    return make_error(Errc::invalid_argument, "otp: digits must be 6..8, got " + std::to_string(p.digits));
  }
  if (p.period < kMinPeriod || p.period > kMaxPeriod) {
    return make_error(Errc::invalid_argument, "otp: period must be 15..300 seconds, got " + std::to_string(p.period));
  }
  return ok_status();
}

Result<std::uint32_t> hotp(std::span<const std::uint8_t> key, std::uint64_t counter, Algorithm algorithm,
                           int digits) {
  if (!digits_ok(digits)) {
    return make_error(Errc::invalid_argument, "otp: digits must be 6..8, got " + std::to_string(digits));
  }
  auto computer = HotpComputer::create(key, algorithm);
  if (!computer) return computer.error();
  return computer->value(counter, digits);
}

std::string format_code(std::uint32_t code, int digits) {
  if (digits < 1 || digits > 9) digits = kMaxDigits;  // defensive: never index past the buffer
  std::string out(static_cast<std::size_t>(digits), '0');
  write_code(code, digits, out.data());
  return out;
}

std::uint64_t totp_step(std::int64_t unix_time, int period) noexcept {
  if (unix_time < 0 || period <= 0) return 0;
  return static_cast<std::uint64_t>(unix_time) / static_cast<std::uint64_t>(period);
}

Result<std::string> totp_code(std::span<const std::uint8_t> key, const OtpParams& p, std::int64_t unix_time) {
  TOTP_TRY_STATUS(validate_params(p));
  auto value = hotp(key, totp_step(unix_time, p.period), p.algorithm, p.digits);
  if (!value) return value.error();
  return format_code(*value, p.digits);
}

Result<VerifyResult> totp_verify(std::span<const std::uint8_t> key, const OtpParams& p,
                                 std::string_view candidate, std::int64_t now, int window,
                                 std::optional<std::uint64_t> last_used_step) {
  TOTP_TRY_STATUS(validate_params(p));
  if (window < 0 || window > kMaxWindow) {
    return make_error(Errc::invalid_argument, "otp: window must be 0.." + std::to_string(kMaxWindow) + ", got " +
                                                  std::to_string(window));
  }
  auto computer = HotpComputer::create(key, p.algorithm);
  if (!computer) return computer.error();

  // The shape of the input is not secret: a malformed candidate is wrong
  // without computing anything.
  bool well_formed = candidate.size() == static_cast<std::size_t>(p.digits);
  for (char c : candidate) well_formed = well_formed && c >= '0' && c <= '9';
  if (!well_formed) return VerifyResult{};

  const std::uint64_t now_step = totp_step(now, p.period);
  const auto w = static_cast<std::uint64_t>(window);
  const std::uint64_t first = now_step >= w ? now_step - w : 0;
  const std::uint64_t last = now_step + w;  // now_step <= INT64_MAX / 15: no overflow

  // Every step is computed and compared; the outcome is accumulated with
  // masks so that neither the loop nor its timing depends on where (or
  // whether) the candidate matched. Preference: the oldest step newer than
  // last_used_step (accepted), else the oldest matching step (replayed).
  std::uint64_t accepted_mask_any = 0, accepted_step = 0;
  std::uint64_t replayed_mask_any = 0, replayed_step = 0;
  ScrubbedArray<kMaxDigits> expected;
  for (std::uint64_t step = first; step <= last; ++step) {
    auto value = computer->value(step, p.digits);
    if (!value) return value.error();
    write_code(*value, p.digits, reinterpret_cast<char*>(expected.bytes.data()));
    const std::uint64_t equal =
        CRYPTO_memcmp(expected.bytes.data(), candidate.data(), static_cast<std::size_t>(p.digits)) == 0 ? 1 : 0;
    const std::uint64_t fresh = (!last_used_step || step > *last_used_step) ? 1 : 0;
    const std::uint64_t take_accepted = (0 - (equal & fresh)) & ~accepted_mask_any;
    const std::uint64_t take_replayed = (0 - (equal & (fresh ^ 1))) & ~replayed_mask_any;
    accepted_step = (accepted_step & ~take_accepted) | (step & take_accepted);
    replayed_step = (replayed_step & ~take_replayed) | (step & take_replayed);
    accepted_mask_any |= take_accepted;
    replayed_mask_any |= take_replayed;
  }

  VerifyResult result;
  if (accepted_mask_any != 0) {
    result.outcome = VerifyOutcome::accepted;
    result.step = accepted_step;
  } else if (replayed_mask_any != 0) {
    result.outcome = VerifyOutcome::replayed;
    result.step = replayed_step;
  }
  return result;
}

}  // namespace totp
