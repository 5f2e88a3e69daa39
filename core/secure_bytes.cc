#include "core/secure_bytes.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace totp {

SecureBytes::SecureBytes(std::size_t size) { reserve_exact(size); size_ = size; }

SecureBytes::SecureBytes(std::span<const std::uint8_t> bytes) : SecureBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(buf_.get(), bytes.data(), bytes.size());
}

SecureBytes SecureBytes::from_string(std::string_view s) {
  return SecureBytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

SecureBytes::~SecureBytes() { clear(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : buf_(std::move(other.buf_)), size_(other.size_), capacity_(other.capacity_) {
  other.size_ = 0;
  other.capacity_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    clear();
    buf_ = std::move(other.buf_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  return *this;
}

SecureBytes SecureBytes::clone() const { return SecureBytes(span()); }

void SecureBytes::reserve_exact(std::size_t capacity) {
  // value-initialised: zero-filled
  auto fresh = std::make_unique<std::uint8_t[]>(capacity == 0 ? 1 : capacity);
  if (size_ > 0) std::memcpy(fresh.get(), buf_.get(), size_);
  if (buf_) OPENSSL_cleanse(buf_.get(), capacity_);
  buf_ = std::move(fresh);
  capacity_ = capacity == 0 ? 1 : capacity;
}

void SecureBytes::append(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (size_ + bytes.size() > capacity_) reserve_exact(std::max(size_ + bytes.size(), capacity_ * 2));
  std::memcpy(buf_.get() + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

void SecureBytes::append(std::string_view s) {
  append(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void SecureBytes::push_back(std::uint8_t b) { append(std::span<const std::uint8_t>(&b, 1)); }

void SecureBytes::truncate(std::size_t n) noexcept {
  if (n >= size_) return;
  OPENSSL_cleanse(buf_.get() + n, size_ - n);
  size_ = n;
}

void SecureBytes::clear() noexcept {
  if (buf_) OPENSSL_cleanse(buf_.get(), capacity_);
  buf_.reset();
  size_ = 0;
  capacity_ = 0;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void cleanse(void* p, std::size_t n) noexcept {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

void cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace totp
