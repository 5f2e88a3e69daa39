// SPDX-License-Identifier: Apache-2.0
#include "core/result.h"

namespace totp {

const char* errc_name(Errc e) noexcept {
  switch (e) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::parse_error: return "parse_error";
    case Errc::io_error: return "io_error";
    case Errc::not_found: return "not_found";
    case Errc::permission: return "permission";
    case Errc::tampered: return "tampered";
    case Errc::unsupported: return "unsupported";
    case Errc::too_large: return "too_large";
    case Errc::crypto_error: return "crypto_error";
    case Errc::locked: return "locked";
    case Errc::busy: return "busy";
  }
  return "unknown";
}

}  // namespace totp
