// SPDX-License-Identifier: Apache-2.0
// Answers that do not come from our own prompt: see answer.h.
#include "pam_module/answer.h"

#include <security/pam_ext.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "pam_module/conversation.h"

namespace totp::pam {

namespace {

constexpr const char* kKeptCodeData = "pam_totp_kept_code";

// pam_set_data's cleanup: called when the data is replaced or removed and
// at pam_end. Never throws (SecureBytes cleanses in its destructor).
void forget_kept_code(pam_handle_t*, void* data, int) noexcept { delete static_cast<SecureBytes*>(data); }

}  // namespace

std::optional<SecureBytes> code_from_authtok(pam_handle_t* pamh, int digits) {
  const void* item = nullptr;
  if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == nullptr) return std::nullopt;
  const char* token = static_cast<const char*>(item);
  const std::size_t len = strnlen(token, kMaxAnswerBytes + 1);
  if (digits <= 0 || len != static_cast<std::size_t>(digits)) return std::nullopt;
  for (std::size_t i = 0; i < len; ++i) {
    if (token[i] < '0' || token[i] > '9') return std::nullopt;
  }
  return SecureBytes::from_string(std::string_view(token, len));
}

bool hand_on_password(pam_handle_t* pamh, const SecureBytes& password) {
  SecureBytes c_string = password.clone();
  c_string.push_back(0);
  return pam_set_item(pamh, PAM_AUTHTOK, c_string.data()) == PAM_SUCCESS;
}

bool keep_code(pam_handle_t* pamh, SecureBytes code) {
  auto kept = std::make_unique<SecureBytes>(std::move(code));
  if (pam_set_data(pamh, kKeptCodeData, kept.get(), forget_kept_code) != PAM_SUCCESS) return false;
  kept.release();  // PAM owns it now
  return true;
}

std::optional<SecureBytes> take_kept_code(pam_handle_t* pamh) {
  const void* data = nullptr;
  if (pam_get_data(pamh, kKeptCodeData, &data) != PAM_SUCCESS || data == nullptr) return std::nullopt;
  SecureBytes code = static_cast<const SecureBytes*>(data)->clone();
  // Removing the data runs forget_kept_code on it: one judgment per code.
  (void)pam_set_data(pamh, kKeptCodeData, nullptr, nullptr);
  return code;
}

}  // namespace totp::pam
