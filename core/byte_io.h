// SPDX-License-Identifier: Apache-2.0
// Bounds-checked little-endian reading and writing of binary formats. Every
// parse of file bytes goes through SpanReader: a read past the end never
// touches memory, it only marks the reader failed, and callers check once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/secure_bytes.h"

namespace totp {

class SpanReader {
 public:
  explicit SpanReader(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  bool ok() const noexcept { return ok_; }
  std::size_t remaining() const noexcept { return ok_ ? bytes_.size() - pos_ : 0; }
  std::size_t position() const noexcept { return pos_; }
  // True when everything was read and nothing went wrong (no trailing data).
  bool done() const noexcept { return ok_ && pos_ == bytes_.size(); }

  // The next n bytes, or an empty span (and failed) if fewer remain.
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    if (!ok_ || n > bytes_.size() - pos_) {
      ok_ = false;
      return {};
    }
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() noexcept { return le(8); }
  std::int64_t i64() noexcept { return static_cast<std::int64_t>(le(8)); }
  // Copies exactly out.size() bytes (zero-fills out on failure).
  void copy_to(std::span<std::uint8_t> out) noexcept {
    auto s = bytes(out.size());
    if (ok_) {
      if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
    } else if (!out.empty()) {
      std::memset(out.data(), 0, out.size());
    }
  }

 private:
  std::uint64_t le(std::size_t n) noexcept {
    auto s = bytes(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < s.size(); ++i) v |= static_cast<std::uint64_t>(s[i]) << (8 * i);
    return v;
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Writes little-endian integers into a buffer sized in advance (callers
// compute the exact size first, so a secret is never re-allocated and left
// behind). Writing past the end is refused and marks the writer failed.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::uint8_t> out) noexcept : out_(out) {}
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && pos_ == out_.size(); }
  std::size_t position() const noexcept { return pos_; }
  void u8(std::uint8_t v) noexcept { le(v, 1); }
  void u16(std::uint16_t v) noexcept { le(v, 2); }
  void u32(std::uint32_t v) noexcept { le(v, 4); }
  void u64(std::uint64_t v) noexcept { le(v, 8); }
  void i64(std::int64_t v) noexcept { le(static_cast<std::uint64_t>(v), 8); }
  void bytes(std::span<const std::uint8_t> b) noexcept {
    if (!ok_ || b.size() > out_.size() - pos_) {
      ok_ = false;
      return;
    }
    if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void zeros(std::size_t n) noexcept {
    if (!ok_ || n > out_.size() - pos_) {
      ok_ = false;
      return;
    }
    std::memset(out_.data() + pos_, 0, n);
    pos_ += n;
  }

 private:
  void le(std::uint64_t v, std::size_t n) noexcept {
    std::uint8_t b[8];
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    bytes(std::span<const std::uint8_t>(b, n));
  }
  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace totp
