// SPDX-License-Identifier: Apache-2.0
// Errors as values across core: every fallible function returns Result<T>
// (or Status for no value). Exceptions are not used for expected failures.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace totp {

enum class Errc {
  invalid_argument,  // caller passed something unacceptable (bad user name, bad code shape)
  parse_error,       // text or binary input that does not follow the format
  io_error,          // a system call failed (errno text in the message)
  not_found,         // file or record does not exist
  permission,        // wrong owner, mode, symlink, not root...
  tampered,          // authentication failed: flipped bit, truncation, foreign file, wrong key
  unsupported,       // unknown version, algorithm, key id
  too_large,         // input exceeds a size cap
  crypto_error,      // OpenSSL / libargon2 reported an internal failure
  locked,            // user is locked out
  busy,              // could not take a lock
};

// Short stable name for logs and tests ("tampered", "permission", ...).
const char* errc_name(Errc e) noexcept;

struct Error {
  Errc code;
  std::string message;  // one line, human readable, never contains a secret
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT: implicit by design
  Result(Error err) : v_(std::move(err)) {}                 // NOLINT
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Status(Unit{}); }

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace totp

// Propagate an error from an expression returning Result/Status.
#define TOTP_TRY_STATUS(expr)                                     \
  do {                                                            \
    auto totp_try_status_ = (expr);                               \
    if (!totp_try_status_.ok()) return totp_try_status_.error();  \
  } while (0)

// Assign the value of an expression returning Result, or propagate its error.
#define TOTP_TRY_ASSIGN(lhs, expr)                               \
  do {                                                           \
    auto totp_try_assign_ = (expr);                              \
    if (!totp_try_assign_.ok()) return totp_try_assign_.error(); \
    lhs = std::move(*totp_try_assign_);                          \
  } while (0)
