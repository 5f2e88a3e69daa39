// SPDX-License-Identifier: Apache-2.0
// See conversation.h.
#include "pam_module/conversation.h"

#include <security/pam_appl.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace totp::pam {

namespace {

// The application allocates the response array and each answer with
// malloc; we own both afterwards. Cleanse the answer before free: it is a
// code or, with split_code, a password and a code.
struct ResponseDeleter {
  void operator()(pam_response* r) const noexcept {
    if (r == nullptr) return;
    if (r->resp != nullptr) {
      cleanse(r->resp, std::strlen(r->resp));
      std::free(r->resp);
    }
    std::free(r);
  }
};
using ResponsePtr = std::unique_ptr<pam_response, ResponseDeleter>;

}  // namespace

Result<SecureBytes> Conversation::exchange(int style, std::string_view text) const {
  const void* item = nullptr;
  if (pam_get_item(pamh_, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) {
    return make_error(Errc::io_error, "the application has no PAM conversation");
  }
  const auto* conv = static_cast<const pam_conv*>(item);
  if (conv->conv == nullptr) return make_error(Errc::io_error, "the application has no PAM conversation");

  const std::string msg_text(text);  // the conversation wants a C string
  pam_message msg{};
  msg.msg_style = style;
  msg.msg = msg_text.c_str();
  const pam_message* msgs[] = {&msg};
  pam_response* raw = nullptr;
  const int rc = conv->conv(1, msgs, &raw, conv->appdata_ptr);
  ResponsePtr resp(raw);
  if (rc != PAM_SUCCESS) return make_error(Errc::io_error, "the conversation failed");
  if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON) return SecureBytes();
  if (!resp || resp->resp == nullptr) return make_error(Errc::io_error, "the conversation returned no answer");
  const std::size_t len = strnlen(resp->resp, kMaxAnswerBytes + 1);
  if (len > kMaxAnswerBytes) return make_error(Errc::too_large, "the answer is too long");
  return SecureBytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(resp->resp), len));
}

Result<SecureBytes> Conversation::ask_hidden(std::string_view prompt) const {
  return exchange(PAM_PROMPT_ECHO_OFF, prompt);
}

void Conversation::info(std::string_view text) const {
  if (!silent_) (void)exchange(PAM_TEXT_INFO, text);
}

void Conversation::error(std::string_view text) const {
  if (!silent_) (void)exchange(PAM_ERROR_MSG, text);
}

}  // namespace totp::pam
