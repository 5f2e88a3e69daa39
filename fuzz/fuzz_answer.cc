// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what a user types at the prompt: the routing of an
// answer (classify_answer, totp_candidate, split_password_and_code in
// core/policy.h), recovery-code normalisation (core/recovery.h), and the
// module's reading of PAM_AUTHTOK and its kept code (pam_module/answer.cc,
// against the small PAM stand-in below instead of libpam). Input: one byte
// for the enrolment's digits (6, 7, 8, and now and then a value out of
// range), the rest is the answer. Checked beyond "no crash":
//   - classify_answer is totp iff the answer is 1..64 bytes of ASCII digits
//     and spaces with exactly `digits` digits; totp_candidate is those
//     digits, and nothing for any other kind;
//   - recovery iff not totp and normalize_recovery_code accepts it; a
//     normalised code is 10 symbols of the alphabet or 8 ASCII digits,
//     normalising it again changes nothing, its dashed upper-case form
//     normalises to it too, and hash_recovery_code accepts exactly the
//     normalised forms (at a tiny Argon2id cost);
//   - split_password_and_code cuts the answer in two that join to it, the
//     code being `digits` digits or a recovery code;
//   - code_from_authtok takes PAM_AUTHTOK only when it is exactly `digits`
//     ASCII digits (then it is that string and classify_answer says totp);
//     hand_on_password sets PAM_AUTHTOK to the password; a kept code is
//     taken back once, unchanged.
// fuzz-sources: pam_module/answer.cc
#include <security/pam_modules.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/policy.h"
#include "core/recovery.h"
#include "pam_module/answer.h"
#include "pam_module/conversation.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// --- a PAM handle with one item and one data slot ---------------------------
std::string g_authtok;  // PAM_AUTHTOK as a C string
bool g_have_authtok = false;
void* g_data = nullptr;
void (*g_cleanup)(pam_handle_t*, void*, int) = nullptr;
char g_handle_storage;
pam_handle_t* handle() { return reinterpret_cast<pam_handle_t*>(&g_handle_storage); }

void drop_data() {
  if (g_data != nullptr && g_cleanup != nullptr) g_cleanup(handle(), g_data, PAM_SUCCESS);
  g_data = nullptr;
  g_cleanup = nullptr;
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

void check_normalised(std::string_view n) {
  if (n.size() == 8) {
    check(all_digits(n));
  } else {
    check(n.size() == 10);
    for (char c : n) check(c != 0 && std::strchr(kAlphabet, c) != nullptr);
  }
}

}  // namespace

extern "C" {
int pam_get_item(const pam_handle_t*, int item_type, const void** item) {
  if (item_type != PAM_AUTHTOK) return PAM_BAD_ITEM;
  *item = g_have_authtok ? g_authtok.c_str() : nullptr;
  return PAM_SUCCESS;
}
int pam_set_item(pam_handle_t*, int item_type, const void* item) {
  if (item_type != PAM_AUTHTOK) return PAM_BAD_ITEM;
  g_have_authtok = item != nullptr;
  g_authtok = item != nullptr ? static_cast<const char*>(item) : "";
  return PAM_SUCCESS;
}
int pam_set_data(pam_handle_t*, const char*, void* data, void (*cleanup)(pam_handle_t*, void*, int)) {
  drop_data();
  g_data = data;
  g_cleanup = cleanup;
  return PAM_SUCCESS;
}
int pam_get_data(const pam_handle_t*, const char*, const void** data) {
  if (g_data == nullptr) return PAM_NO_MODULE_DATA;
  *data = g_data;
  return PAM_SUCCESS;
}
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int digits = data[0] < 240 ? 6 + data[0] % 3 : static_cast<int>(data[0]) - 245;  // -5..10 now and then
  const std::string_view typed(reinterpret_cast<const char*>(data + 1), size - 1);

  // --- classification -------------------------------------------------------
  const totp::AnswerKind kind = totp::classify_answer(typed, digits);
  std::string only_digits;
  bool digits_and_spaces = true;
  for (char c : typed) {
    if (c >= '0' && c <= '9') {
      only_digits.push_back(c);
    } else if (c != ' ') {
      digits_and_spaces = false;
    }
  }
  const bool is_totp = !typed.empty() && typed.size() <= totp::kMaxAnswerSize && digits_and_spaces && digits > 0 &&
                       only_digits.size() == static_cast<std::size_t>(digits);
  check((kind == totp::AnswerKind::totp) == is_totp);
  const auto candidate = totp::totp_candidate(typed, digits);
  check(candidate.has_value() == is_totp);
  if (candidate) check(candidate->view() == only_digits);

  // --- recovery codes -------------------------------------------------------
  const auto normal = totp::normalize_recovery_code(typed);
  check(totp::looks_like_recovery_code(typed) == normal.has_value());
  if (!is_totp) {
    check((kind == totp::AnswerKind::recovery) ==
          (normal.has_value() && !typed.empty() && typed.size() <= totp::kMaxAnswerSize));
  }
  const totp::Argon2Cost cheap{1, 8, 1};
  const totp::RecoverySalt salt{};
  if (normal) {
    check(typed.size() <= 64);
    check_normalised(normal->view());
    auto again = totp::normalize_recovery_code(normal->view());
    check(again && again->view() == normal->view());
    if (normal->size() == 10) {
      std::string dashed;
      for (std::size_t i = 0; i < 10; ++i) {
        if (i == 5) dashed.push_back('-');
        const char c = static_cast<char>((*normal)[i]);
        dashed.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      }
      auto d = totp::normalize_recovery_code(dashed);
      check(d && d->view() == normal->view());
    }
    check(totp::hash_recovery_code(normal->view(), salt, cheap).ok());
  }
  // Only a normalised form is ever hashed.
  if (typed.size() <= 16) {
    const bool canonical = normal && normal->view() == typed;
    check(totp::hash_recovery_code(typed, salt, cheap).ok() == canonical);
  }

  // --- split_code -----------------------------------------------------------
  const auto split = totp::split_password_and_code(typed, digits);
  if (split) {
    check(split->password.view().size() + split->code.view().size() == typed.size());
    check(std::string(split->password.view()) + std::string(split->code.view()) == std::string(typed));
    const std::string_view code = split->code.view();
    const bool digit_code = digits > 0 && code.size() == static_cast<std::size_t>(digits) && all_digits(code);
    check(digit_code || totp::looks_like_recovery_code(code));
    check(totp::classify_answer(code, digits) != totp::AnswerKind::malformed);
  }

  // --- PAM_AUTHTOK and the kept code (pam_module/answer.cc) -------------------
  g_authtok.assign(typed);
  g_have_authtok = true;
  const std::string_view token(g_authtok.c_str());  // up to the first NUL, as PAM sees it
  const auto from_tok = totp::pam::code_from_authtok(handle(), digits);
  const bool tok_is_code = digits > 0 && token.size() == static_cast<std::size_t>(digits) && all_digits(token);
  check(from_tok.has_value() == tok_is_code);
  if (from_tok) {
    check(from_tok->view() == token);
    check(totp::classify_answer(token, digits) == totp::AnswerKind::totp);
  }
  g_have_authtok = false;
  check(!totp::pam::code_from_authtok(handle(), digits).has_value());

  const totp::SecureBytes password = totp::SecureBytes::from_string(token);
  check(totp::pam::hand_on_password(handle(), password));
  check(g_have_authtok && g_authtok == token);

  check(totp::pam::keep_code(handle(), totp::SecureBytes::from_string(typed)));
  auto kept = totp::pam::take_kept_code(handle());
  check(kept && kept->view() == typed);
  check(!totp::pam::take_kept_code(handle()).has_value());
  drop_data();
  return 0;
}
