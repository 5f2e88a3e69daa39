// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the import parsers: the same bytes are parsed as a
// google-authenticator file (parse_google_authenticator) and as pam_oath's
// users file (parse_oath_users). Whatever the bytes, the parsers return a
// value or an error, never crash, and what they accept is within range:
// a secret of kMinSecretSize..kMaxSecretSize bytes, parameters that
// validate_params accepts, at most kMaxRecoveryCodes scratch codes of 8
// digits each, valid user names, and messages without newlines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/import_google.h"
#include "core/import_oath.h"
#include "core/record.h"
#include "core/recovery.h"
#include "core/store.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_secret(const totp::ImportedSecret& imp) {
  check(imp.secret.size() >= totp::kMinSecretSize && imp.secret.size() <= totp::kMaxSecretSize);
  check(totp::validate_params(imp.otp).ok());
  check(imp.scratch_codes.size() <= totp::kMaxRecoveryCodes);
  for (const auto& c : imp.scratch_codes) {
    check(c.size() == 8);
    // Each one is a recovery code in its normalised 8-digit form.
    auto n = totp::normalize_recovery_code(c.view());
    check(n.has_value() && n->view() == c.view());
  }
  for (const auto& note : imp.notes) check(note.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);

  auto ga = totp::parse_google_authenticator(bytes);
  if (ga.ok()) {
    check_secret(ga->imported);
    check(ga->window_size >= 1 && ga->window_size <= 100);
    check(ga->imported.otp.digits == 6 && ga->imported.otp.algorithm == totp::Algorithm::sha1);
  } else {
    check(ga.error().message.find('\n') == std::string::npos);
  }

  auto oath = totp::parse_oath_users(bytes);
  if (oath.ok()) {
    for (const auto& u : oath->users) {
      check(totp::validate_user_name(u.user).ok());
      check(u.line >= 1);
      check_secret(u.imported);
      check(u.imported.scratch_codes.empty());
      for (const auto& other : oath->users) check(&other == &u || other.user != u.user);  // one per user
      for (const auto& r : oath->refused) check(r.user != u.user);
    }
    for (const auto& r : oath->refused) {
      check(r.user.empty() || totp::validate_user_name(r.user).ok());
      check(r.reason.find('\n') == std::string::npos);
    }
  } else {
    check(oath.error().message.find('\n') == std::string::npos);
  }
  return 0;
}
