// SPDX-License-Identifier: Apache-2.0
// RAII wrapper around the application's pam_conv: one hidden prompt, info
// and error messages. Answers come back in SecureBytes; the application's
// response buffer is cleansed and freed whatever happens.
#pragma once

#include <security/pam_modules.h>

#include <string_view>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp::pam {

// Longest answer we copy; anything longer is reported as too_large (the
// caller refuses it as a wrong code without looking at it).
constexpr std::size_t kMaxAnswerBytes = 4096;

class Conversation {
 public:
  // `silent`: PAM_SILENT was passed; info and error messages are dropped
  // (prompts still go through: the code has to be asked for).
  Conversation(pam_handle_t* pamh, bool silent) noexcept : pamh_(pamh), silent_(silent) {}

  // Prompts with echo off (PAM_PROMPT_ECHO_OFF). Errc::io_error when the
  // application has no conversation or it fails, too_large for an answer
  // over kMaxAnswerBytes.
  Result<SecureBytes> ask_hidden(std::string_view prompt) const;

  // PAM_TEXT_INFO / PAM_ERROR_MSG; a failing conversation is ignored (the
  // message is a courtesy, the PAM result is what counts).
  void info(std::string_view text) const;
  void error(std::string_view text) const;

 private:
  Result<SecureBytes> exchange(int style, std::string_view text) const;
  pam_handle_t* pamh_;
  bool silent_;
};

}  // namespace totp::pam
