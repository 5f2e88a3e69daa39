// SPDX-License-Identifier: Apache-2.0
// AES-256-GCM through OpenSSL EVP. A nonce is never reused under one key:
// each seal draws 96 fresh random bits (the number of writes per key is far
// below the 2^32 random-nonce bound).
#include "core/vault.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>

namespace totp {

namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct CipherFree {
  void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};

// Fetched once per process: implicit fetching on every seal costs a lookup.
const EVP_CIPHER* aes_256_gcm() {
  static const std::unique_ptr<EVP_CIPHER, CipherFree> cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  return cipher.get();
}

Error crypto_failure(const char* what) { return make_error(Errc::crypto_error, std::string("AES-256-GCM: ") + what + " failed"); }

bool fits_int(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

}  // namespace

Result<std::vector<std::uint8_t>> seal(const MasterKey& key, std::span<const std::uint8_t> aad,
                                       std::span<const std::uint8_t> plaintext) {
  if (key.bytes.size() != kMasterKeySize) return make_error(Errc::invalid_argument, "seal: master key has the wrong size");
  if (!fits_int(aad.size()) || !fits_int(plaintext.size())) return make_error(Errc::too_large, "seal: input too large");
  const EVP_CIPHER* cipher = aes_256_gcm();
  if (cipher == nullptr) return crypto_failure("cipher fetch");

  std::vector<std::uint8_t> out(kNonceSize + plaintext.size() + kTagSize);
  std::uint8_t* nonce = out.data();
  std::uint8_t* ct = nonce + kNonceSize;
  std::uint8_t* tag = ct + plaintext.size();
  TOTP_TRY_STATUS(random_bytes(std::span<std::uint8_t>(nonce, kNonceSize)));

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return crypto_failure("context allocation");
  // The default GCM IV length is 12 bytes, which is what we use.
  if (EVP_EncryptInit_ex2(ctx.get(), cipher, key.bytes.data(), nonce, nullptr) != 1) return crypto_failure("init");
  int len = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return crypto_failure("AAD");
  }
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
    return crypto_failure("encrypt");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1) return crypto_failure("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    return crypto_failure("tag");
  }
  return out;
}

Result<SecureBytes> unseal(const MasterKey& key, std::span<const std::uint8_t> aad,
                           std::span<const std::uint8_t> sealed) {
  if (key.bytes.size() != kMasterKeySize) return make_error(Errc::invalid_argument, "unseal: master key has the wrong size");
  if (sealed.size() < kSealOverhead) return make_error(Errc::tampered, "sealed data truncated (shorter than nonce and tag)");
  if (!fits_int(aad.size()) || !fits_int(sealed.size())) return make_error(Errc::too_large, "unseal: input too large");
  const EVP_CIPHER* cipher = aes_256_gcm();
  if (cipher == nullptr) return crypto_failure("cipher fetch");

  const std::size_t ct_len = sealed.size() - kSealOverhead;
  const std::uint8_t* nonce = sealed.data();
  const std::uint8_t* ct = nonce + kNonceSize;
  const std::uint8_t* tag = ct + ct_len;

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return crypto_failure("context allocation");
  if (EVP_DecryptInit_ex2(ctx.get(), cipher, key.bytes.data(), nonce, nullptr) != 1) return crypto_failure("init");
  int len = 0;
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return crypto_failure("AAD");
  }
  SecureBytes plain(ct_len);
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct, static_cast<int>(ct_len)) != 1) {
    return crypto_failure("decrypt");
  }
  // OpenSSL takes a non-const pointer for the expected tag but only reads it.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), const_cast<std::uint8_t*>(tag)) != 1) {
    return crypto_failure("set tag");
  }
  std::uint8_t tail[16];
  if (EVP_DecryptFinal_ex(ctx.get(), tail, &len) != 1) {
    // `plain` holds unauthenticated bytes: it is cleansed on destruction.
    return make_error(Errc::tampered, "authentication failed (modified data, wrong key or wrong context)");
  }
  return plain;
}

}  // namespace totp
