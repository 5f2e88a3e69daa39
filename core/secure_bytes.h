// SPDX-License-Identifier: Apache-2.0
// SecureBytes: owns secret bytes (keys, TOTP secrets, typed codes, plaintext
// records). The storage is cleansed with OPENSSL_cleanse when freed or
// resized, it is move-only so a secret is never copied by accident, and it
// never reallocates behind your back (growth happens only through
// append(), which cleanses the old buffer).
//
// The storage comes from a small page pool of its own, never from malloc:
// anonymous pages marked MADV_DONTDUMP (left out of core dumps) and mlock'ed
// where RLIMIT_MEMLOCK allows (best effort: not swapped out). Buffers up to
// 1 KiB are blocks of one size class in a shared page; larger ones get a
// mapping of their own. Every block is cleansed whole when it is freed, so
// a new buffer is always zero-filled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>  // not needed here; kept for files that relied on it
#include <span>
#include <string>
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

  std::uint8_t* data() noexcept { return buf_; }
  const std::uint8_t* data() const noexcept { return buf_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint8_t& operator[](std::size_t i) noexcept { return buf_[i]; }
  std::uint8_t operator[](std::size_t i) const noexcept { return buf_[i]; }

  // Bytes that fit before append() must move to a bigger buffer.
  std::size_t capacity() const noexcept { return capacity_; }

  std::span<std::uint8_t> span() noexcept { return {buf_, size_}; }
  std::span<const std::uint8_t> span() const noexcept { return {buf_, size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(buf_), size_}; }

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
  std::uint8_t* buf_ = nullptr;  // from the secure pool (see secure_bytes.cc)
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal
// (the length itself is not secret).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Cleanse any buffer (e.g. a std::string that held a typed code).
void cleanse(void* p, std::size_t n) noexcept;
// Cleanses every byte the string owns, data() .. data() + capacity(): the
// unused tail and the small-string buffer included; then clears it (the
// capacity stays). It cannot reach copies an earlier reallocation already
// freed: a string that holds a secret must be sized before the secret goes
// in (reserve, or one assign), or better be a SecureBytes.
void cleanse(std::string& s) noexcept;

// The secure pool's counters (tests, benchmarks).
struct SecureMemoryStats {
  std::size_t live_blocks = 0;     // small buffers in use
  std::size_t pool_pages = 0;      // pages mapped for small buffers (in use or cached)
  std::size_t cached_pages = 0;    // of those, empty and kept for reuse
  std::size_t large_mappings = 0;  // buffers over 1 KiB in use, one mapping each
  std::size_t cached_large = 0;    // freed large mappings kept for reuse
};
SecureMemoryStats secure_memory_stats() noexcept;

}  // namespace totp
