// SPDX-License-Identifier: Apache-2.0
// Test-only PAM module for stacking tests (never installed):
//   get            asks "Password: " like a password module (pam_get_authtok)
//                  and so sets PAM_AUTHTOK; returns PAM_SUCCESS
//   expect=VALUE   PAM_SUCCESS if PAM_AUTHTOK is exactly VALUE, else PAM_AUTH_ERR
//   expect_unset   PAM_SUCCESS if PAM_AUTHTOK is not set, else PAM_AUTH_ERR
//   reached        says "check_authtok: reached" and returns PAM_SUCCESS (shows
//                  that the stack went on past the module before it)
// It reports what it saw as PAM_TEXT_INFO "check_authtok: ..." (test data only).
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <cstring>
#include <string>

#define CHECK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

int check(pam_handle_t* pamh, int argc, const char** argv) {
  const void* item = nullptr;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "get") {
      const char* tok = nullptr;
      if (pam_get_authtok(pamh, PAM_AUTHTOK, &tok, nullptr) != PAM_SUCCESS) return PAM_AUTH_ERR;
      continue;
    }
    if (arg == "reached") {
      pam_info(pamh, "check_authtok: reached");
      continue;
    }
    if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS) item = nullptr;
    const char* tok = static_cast<const char*>(item);
    if (arg == "expect_unset") {
      pam_info(pamh, "check_authtok: %s", tok == nullptr ? "unset" : "set");
      if (tok != nullptr) return PAM_AUTH_ERR;
    } else if (arg.rfind("expect=", 0) == 0) {
      const std::string want = arg.substr(7);
      const bool same = tok != nullptr && want == tok;
      pam_info(pamh, "check_authtok: %s", same ? "match" : "mismatch");
      if (!same) return PAM_AUTH_ERR;
    } else {
      return PAM_SERVICE_ERR;
    }
  }
  return PAM_SUCCESS;
}

}  // namespace

CHECK_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) {
  try {
    return check(pamh, argc, argv);
  } catch (...) {
    return PAM_AUTH_ERR;
  }
}

CHECK_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }
