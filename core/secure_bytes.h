// SecureBytes: owns secret bytes (keys, TOTP secrets, typed codes, plaintext
// records). The storage is cleansed with OPENSSL_cleanse when freed or
// resized, it is move-only so a secret is never copied by accident, and it
// never reallocates behind your back (growth happens only through
// append(), which cleanses the old buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace totp {

class SecureBytes {
 public:
  SecureBytes() noexcept = default;
  explicit SecureBytes(std::size_t size);                 // zero-filled
  explicit SecureBytes(std::span<const std::uint8_t> bytes);
  static SecureBytes from_string(std::string_view s);
  ~SecureBytes();

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  // An explicit copy, for the rare place that needs two owners.
  SecureBytes clone() const;

  std::uint8_t* data() noexcept { return buf_.get(); }
  const std::uint8_t* data() const noexcept { return buf_.get(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint8_t& operator[](std::size_t i) noexcept { return buf_[i]; }
  std::uint8_t operator[](std::size_t i) const noexcept { return buf_[i]; }

  std::span<std::uint8_t> span() noexcept { return {buf_.get(), size_}; }
  std::span<const std::uint8_t> span() const noexcept { return {buf_.get(), size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(buf_.get()), size_};
  }

  // Appends, growing into a fresh buffer; the old one is cleansed first.
  void append(std::span<const std::uint8_t> bytes);
  void append(std::string_view s);
  void push_back(std::uint8_t b);
  // Shrinks to n bytes (n <= size); the cut tail is cleansed.
  void truncate(std::size_t n) noexcept;
  // Cleanses and frees.
  void clear() noexcept;

 private:
  void reserve_exact(std::size_t capacity);
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal
// (the length itself is not secret).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Cleanse any buffer (e.g. a std::string that held a typed code).
void cleanse(void* p, std::size_t n) noexcept;
void cleanse(std::string& s) noexcept;  // cleanses the contents, then clears

}  // namespace totp
