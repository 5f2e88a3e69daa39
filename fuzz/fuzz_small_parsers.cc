// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the small parsers and encoders that see bytes from
// outside, each fed the whole input (and numbers cut from its start):
//   - parse_loginuid (/proc/self/loginuid), audit_value and sanitize_for_log
//     (user-controlled text that goes into log and audit lines);
//   - validate_user_name, validate_authenticator_name, parse_algorithm;
//   - the import parsers' text pieces (check_import_text, LineReader,
//     bad_byte_in, trim_blanks, parse_small_number);
//   - the master key file (load_master_key on a private temporary file);
//   - the boot rule's arithmetic (first_step_after_boot, used_steps_floor)
//     on numbers from the input, for overflow and for its promise.
// Checked beyond "no crash": a loginuid is the decimal text it came from;
// log and audit text is one line of printable ASCII, an audit value with a
// space, '"' or '=' is quoted and holds no inner '"'; names accepted have
// only the allowed bytes; the lines LineReader gives join back to the text;
// parse_small_number is the decimal value; a key file loads iff it has
// exactly 32 bytes, and then holds them; the boot rule's first step is the
// first whose codes cannot have been typed before the boot.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/audit.h"
#include "core/boot_rule.h"
#include "core/import_text.h"
#include "core/key.h"
#include "core/log.h"
#include "core/otp.h"
#include "core/record.h"
#include "core/store.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void printable_line(std::string_view s) {
  for (char c : s) check(c >= 0x20 && c < 0x7f);
}

bool lower_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lc = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lc(a[i]) != lc(b[i])) return false;
  }
  return true;
}

void text_pieces(std::string_view text) {
  if (auto uid = totp::parse_loginuid(text)) {
    check(*uid != static_cast<uid_t>(-1));
    const std::string s = std::to_string(*uid);
    check(text == s || text == s + "\n");
  }
  const std::string logged = totp::sanitize_for_log(text);
  printable_line(logged);
  const std::string value = totp::audit_value(text);
  printable_line(value);
  check(!value.empty());
  if (value.find_first_of(" \"=") != std::string::npos || text.empty()) {
    check(value.size() >= 2 && value.front() == '"' && value.back() == '"');
    check(value.substr(1, value.size() - 2).find('"') == std::string::npos);
  }

  if (totp::validate_user_name(text).ok()) {
    check(!text.empty() && text.size() <= totp::kMaxUserNameSize && text[0] != '-' && text[0] != '.');
    for (char c : text)
      check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-');
  }
  if (totp::validate_authenticator_name(text).ok()) {
    check(!text.empty() && text[0] != '-');
    for (char c : text)
      check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '@' || c == '+' || c == '-');
  }
  if (auto a = totp::parse_algorithm(text)) {
    const char* name = totp::algorithm_name(*a);
    check(name != nullptr && lower_equal(name, text));
  }

  // The import parsers' pieces.
  check(totp::check_import_text(text).ok() == (!text.empty() && text.back() == '\n'));
  totp::LineReader reader(text);
  std::string_view line;
  std::size_t number = 0, expect = 0, consumed = 0;
  while (reader.next(line, number)) {
    check(number == ++expect);
    check(line.find('\n') == std::string_view::npos);
    check(text.substr(consumed, line.size()) == line);
    consumed += line.size();
    if (consumed < text.size() && text[consumed] == '\r') ++consumed;
    if (consumed < text.size()) {
      check(text[consumed] == '\n');
      ++consumed;
    }
    const auto bad = totp::bad_byte_in(line);
    bool clean = true;
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      clean = clean && ((u >= 0x20 && u < 0x7f) || u == '\t');
    }
    check(bad.has_value() != clean);
    const std::string_view t = totp::trim_blanks(line);
    check(t.empty() || (t.front() != ' ' && t.front() != '\t' && t.back() != ' ' && t.back() != '\t'));
    if (auto n = totp::parse_small_number(t, 1000000)) {
      check(*n >= 0 && *n <= 1000000);
      std::size_t first = 0;
      while (first + 1 < t.size() && t[first] == '0') ++first;  // leading zeros are allowed
      check(std::to_string(*n) == t.substr(first));
    }
  }
  check(consumed == text.size());
}

void key_file(std::string_view bytes) {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fuzz_small_parsers.key." +
           std::to_string(getpid());
  }();
  unlink(path.c_str());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  const bool written = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  close(fd);
  if (!written) std::abort();
  auto key = totp::load_master_key(path, getuid());
  unlink(path.c_str());
  check(key.ok() == (bytes.size() == totp::kMasterKeySize));
  if (key) check(key->bytes.view() == bytes && key->id == totp::key_id_of(key->bytes));
}

template <typename T>
T take(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void boot_rule(const std::uint8_t* data, std::size_t size) {
  if (size < 25) return;
  const auto boot = take<std::int64_t>(data);
  const auto last = take<std::uint64_t>(data + 8);
  totp::OtpParams p;
  p.period = take<std::int32_t>(data + 16);
  const auto window = take<std::int32_t>(data + 20);
  const bool have_last = (data[24] & 1) != 0;
  const auto first = totp::first_step_after_boot(boot, p, window);
  const auto floor = totp::used_steps_floor(have_last ? std::optional<std::uint64_t>(last) : std::nullopt, boot, p,
                                            window);
  if (boot <= 0) {
    check(first == 0);
    check(floor == (have_last ? std::optional<std::uint64_t>(last) : std::nullopt));
    return;
  }
  if (have_last) check(floor.has_value() && *floor >= last);
  // The promise, for the settings a config can hold.
  if (p.period < totp::kMinPeriod || p.period > totp::kMaxPeriod || window < 0 || window > totp::kMaxWindow) return;
  const auto period = static_cast<unsigned __int128>(p.period);
  const unsigned __int128 start = static_cast<unsigned __int128>(first - static_cast<std::uint64_t>(window)) * period;
  check(start >= static_cast<unsigned __int128>(boot));
  check(start - period < static_cast<unsigned __int128>(boot));
  check(first >= 1 && floor.has_value() && *floor >= first - 1);  // (floor + 1 would wrap at UINT64_MAX)
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  text_pieces(text);
  if (size <= 64) key_file(text);
  boot_rule(data, size);
  return 0;
}
