// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the settings parsers. The input is split at the first
// NUL: the part before is a config file for parse_config_text, the part after
// is a list of PAM arguments separated by NUL or newline for apply_pam_args.
// Whatever the bytes, the parsers must return a value or an error, never
// crash, and a success must leave every setting within its documented range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace {

void check_invariants(const totp::Settings& s) {
  const bool ok = s.window >= 0 && s.window <= totp::kMaxWindow && s.otp.digits >= totp::kMinDigits &&
                  s.otp.digits <= totp::kMaxDigits && s.otp.period >= totp::kMinPeriod &&
                  s.otp.period <= totp::kMaxPeriod && s.deny >= 0 && s.deny <= 1000 && s.unlock_time >= 0 &&
                  s.unlock_time <= 31536000 && s.fail_interval >= 1 && s.fail_interval <= 31536000 &&
                  !s.state_dir.empty() && s.state_dir[0] == '/' && !s.key_file.empty() && s.key_file[0] == '/' &&
                  s.issuer.size() <= 128 && !s.prompt.empty() && s.prompt.size() <= 128 &&
                  (int{s.use_first_pass} + int{s.try_first_pass} + int{s.split_code} + int{s.kept_code}) <= 1;
  if (!ok) std::abort();
  if (s.recovery_codes < 1 || s.recovery_codes > 32) std::abort();
  if (s.remember < 0 || s.remember > totp::kMaxRememberSeconds) std::abort();
  if (!s.notify_command.empty() && s.notify_command[0] != '/') std::abort();
  for (char c : s.prompt)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view file = input.substr(0, split);

  totp::Settings s;
  const totp::Status parsed = totp::parse_config_text(s, file, "/fuzz/pam_totp.conf");
  if (parsed.ok()) check_invariants(s);
  if (split == std::string_view::npos) return 0;

  std::vector<std::string_view> args;
  std::string_view rest = input.substr(split + 1);
  while (!rest.empty()) {
    const std::size_t end = rest.find_first_of(std::string_view("\0\n", 2));
    args.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  totp::Settings fresh;
  totp::Settings& target = parsed.ok() ? s : fresh;
  if (totp::apply_pam_args(target, args).ok()) check_invariants(target);
  return 0;
}
