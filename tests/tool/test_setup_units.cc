// Unit tests of totp-setup's own pieces: command line, the helper protocol's
// framing and parsing, QR geometry, code input normalisation.
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "setup_tool/account_service.h"
#include "setup_tool/cli.h"
#include "setup_tool/protocol.h"
#include "setup_tool/qr.h"

// cmocka last: its macros must not meet the C++ headers.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}


using namespace totp;
using namespace totp::setup;

namespace {

ParseOutcome parse(std::initializer_list<std::string_view> il) {
  const std::vector<std::string_view> args(il);
  return parse_command_line(args);
}

void cli_options_before_or_after_command(void**) {
  auto a = parse({"--config", "/x", "status", "--json"});
  assert_true(a.error.empty());
  assert_int_equal(static_cast<int>(a.options.command), static_cast<int>(Command::status));
  assert_string_equal(a.options.config_path->c_str(), "/x");
  auto b = parse({"status", "--config=/x", "--json"});
  assert_true(b.error.empty());
  assert_string_equal(b.options.config_path->c_str(), "/x");
  assert_true(b.options.json);
  auto c = parse({});
  assert_true(c.error.empty());
  assert_int_equal(static_cast<int>(c.options.command), static_cast<int>(Command::enroll));
}

void cli_rejects_bad_lines(void**) {
  assert_false(parse({"frob"}).error.empty());
  assert_false(parse({"status", "--qr", "ascii"}).error.empty());
  assert_false(parse({"unlock"}).error.empty());
  assert_false(parse({"--config"}).error.empty());
  assert_false(parse({"--config", "a", "--config", "b"}).error.empty());
  assert_false(parse({"--qr", "colour"}).error.empty());
  assert_false(parse({"--json=yes"}).error.empty());
  assert_false(parse({"status", "extra"}).error.empty());
  assert_false(parse({"--user", "a\nb"}).error.empty());
  std::string huge(5000, 'a');
  assert_false(parse({"--user", huge}).error.empty());
  assert_true(parse({"unlock", "-u", "bob"}).error.empty());
}

std::vector<Result<SecureBytes>> read_all_messages(const std::string& input) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(write(p[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(p[1]);
  MessageReader r(p[0]);
  std::vector<Result<SecureBytes>> out;
  for (;;) {
    auto m = r.next();
    const bool stop = !m;
    out.push_back(std::move(m));
    if (stop) break;
  }
  close(p[0]);
  return out;
}

void protocol_framing(void**) {
  auto two = read_all_messages("{\"op\":\"status\"}\n{\"op\":\"x\"}\n");
  assert_int_equal(two.size(), 3);
  assert_true(two[0].ok() && two[1].ok());
  assert_int_equal(static_cast<int>(two[2].error().code), static_cast<int>(Errc::not_found));
  auto big = read_all_messages(std::string(kMaxMessageSize + 10, 'a') + "\n");
  assert_int_equal(static_cast<int>(big[0].error().code), static_cast<int>(Errc::too_large));
  auto trunc = read_all_messages("{\"op\":");
  assert_int_equal(static_cast<int>(trunc[0].error().code), static_cast<int>(Errc::parse_error));
  auto nul = read_all_messages(std::string("{\"op\":\0}\n", 9));
  assert_int_equal(static_cast<int>(nul[0].error().code), static_cast<int>(Errc::parse_error));
}

void protocol_parsing(void**) {
  assert_false(parse_message("[1,2]").ok());
  assert_false(parse_message("{\"op\":").ok());
  assert_false(parse_message("\"op\"").ok());
  auto ok = parse_message("{\"op\":\"status\",\"n\":3}");
  assert_true(ok.ok());
  assert_true(string_field(*ok, "op").has_value());
  assert_false(string_field(*ok, "n").has_value());
  assert_false(bool_field(*ok, "op").has_value());
  assert_true(only_keys(*ok, {"op", "n"}));
  assert_false(only_keys(*ok, {"op"}));
  // A status reply with a field out of range is refused.
  auto bad = parse_message(
      "{\"ok\":true,\"user\":\"a\",\"enrolled\":true,\"pending\":false,\"algorithm\":\"SHA1\",\"digits\":99,"
      "\"period\":30,\"created\":0,\"last_login_time\":0,\"last_login_rhost\":\"\",\"recovery_codes_left\":1,"
      "\"locked_until\":0,\"failures\":0}");
  assert_true(bad.ok());
  assert_false(status_from_wire(*bad).ok());
}

void qr_geometry(void**) {
  auto a = render_qr("otpauth://totp/x:y?secret=AAAA", QrMode::ascii);
  assert_true(a.ok());
  const int side = a->modules + 2 * kQrQuietZone;
  assert_int_equal(a->columns, 2 * side);
  assert_int_equal(a->rows, side);
  auto u = render_qr("otpauth://totp/x:y?secret=AAAA", QrMode::utf8);
  assert_true(u.ok());
  assert_int_equal(u->columns, side);
  assert_int_equal(u->rows, (side + 1) / 2);
  assert_true(render_qr("x", QrMode::none)->text.empty());
  assert_false(render_qr(std::string(8000, 'a'), QrMode::ascii).ok());
}

void totp_input(void**) {
  assert_string_equal(std::string(normalize_totp_input("123 456")->view()).c_str(), "123456");
  assert_false(normalize_totp_input("12a456").has_value());
  assert_false(normalize_totp_input("").has_value());
  assert_false(normalize_totp_input("123456789").has_value());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cli_options_before_or_after_command),
      cmocka_unit_test(cli_rejects_bad_lines),
      cmocka_unit_test(protocol_framing),
      cmocka_unit_test(protocol_parsing),
      cmocka_unit_test(qr_geometry),
      cmocka_unit_test(totp_input),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
