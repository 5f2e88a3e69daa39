// SPDX-License-Identifier: Apache-2.0
// Unit tests of totp-setup's own pieces: command line, the helper protocol's
// framing and parsing, QR geometry, code input normalisation.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <span>
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

// ---- parse_request -------------------------------------------------------

// A string literal with its embedded NULs, without the terminating one.
template <std::size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

Result<Request> req(std::string_view line) {
  return parse_request(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
}

std::string secret_of(const Request& r, std::string_view key) {
  const SecureBytes* s = r.secret(key);
  return s == nullptr ? std::string("<none>") : std::string(s->view());
}

void request_valid(void**) {
  auto status = req(R"({"op":"status"})");
  assert_true(status.ok());
  assert_string_equal(status->op.c_str(), "status");
  assert_true(status->secrets.empty() && status->flags.empty());

  auto begin = req(R"({"op":"begin","proof":"123456","yes":true})");
  assert_true(begin.ok());
  assert_string_equal(begin->op.c_str(), "begin");
  assert_string_equal(secret_of(*begin, "proof").c_str(), "123456");
  assert_true(begin->flag("yes") == std::optional<bool>(true));
  assert_null(begin->secret("code"));
  assert_false(begin->flag("other").has_value());

  // JSON whitespace between tokens, any field order.
  auto spaced = req(" {\t\"yes\" : false ,\r\n \"op\" : \"begin\" } ");
  assert_true(spaced.ok());
  assert_true(spaced->flag("yes") == std::optional<bool>(false));
  assert_null(spaced->secret("proof"));

  auto confirm = req(R"({"code":"654321","op":"confirm"})");
  assert_true(confirm.ok());
  assert_string_equal(secret_of(*confirm, "code").c_str(), "654321");

  auto empty_proof = req(R"({"op":"recovery_codes","proof":""})");
  assert_true(empty_proof.ok());
  assert_non_null(empty_proof->secret("proof"));
  assert_true(empty_proof->secret("proof")->empty());

  assert_true(req(R"({"op":"remove"})").ok());
  assert_true(req(R"({"op":"remove","proof":"000000"})").ok());

  // The two-character escapes decode.
  auto esc = req(R"({"op":"remove","proof":"a\"b\\c\/d\b\f\n\r\t"})");
  assert_true(esc.ok());
  assert_true(esc->secret("proof")->view() == std::string_view("a\"b\\c/d\b\f\n\r\t"));

  // A proof of exactly kMaxRequestSecret bytes; one more is refused.
  const std::string max(kMaxRequestSecret, '7');
  auto longest = req(R"({"op":"remove","proof":")" + max + R"("})");
  assert_true(longest.ok());
  assert_int_equal(longest->secret("proof")->size(), kMaxRequestSecret);
  assert_false(req(R"({"op":"remove","proof":")" + max + R"(7"})").ok());

  // The PAM module's requests (non-root callers).
  auto state = req(R"({"op":"login_state","user":"alice"})");
  assert_true(state.ok());
  assert_string_equal(secret_of(*state, "user").c_str(), "alice");
  auto login = req(R"({"op":"login","user":"alice","answer":"123456","rhost":"h","service":"i3lock"})");
  assert_true(login.ok());
  assert_string_equal(secret_of(*login, "answer").c_str(), "123456");
  assert_string_equal(secret_of(*login, "service").c_str(), "i3lock");
  auto empty_answer = req(R"({"op":"login","user":"alice","answer":""})");
  assert_true(empty_answer.ok());
  auto unseen = req(R"({"op":"login","user":"alice","unseen":true})");
  assert_true(unseen.ok());
  assert_true(unseen->flag("unseen") == std::optional<bool>(true));
}

// Every hostile line is refused, with the given class of error.
void request_hostile(void**) {
  struct Case {
    std::string line;
    Errc code;
  };
  const Errc P = Errc::parse_error, I = Errc::invalid_argument;
  const std::vector<Case> cases = {
      // not one object
      {"", P}, {" ", P}, {"[]", P}, {R"("op")", P}, {"true", P}, {"null", P}, {"{", P},
      {R"({"op":"status")", P}, {R"({"op":"status",})", P}, {"{,}", P}, {R"({"op"})", P},
      {R"({"op":})", P}, {R"({"op" "status"})", P}, {R"({"op":"status""x":"y"})", P},
      {"{'op':'status'}", P}, {R"({op:"status"})", P}, {R"(/**/{"op":"status"})", P},
      {"\xef\xbb\xbf{\"op\":\"status\"}", P},
      // nesting, arrays, numbers, null
      {R"({"op":{"op":"status"}})", P}, {R"({"op":"begin","proof":["123456"]})", P},
      {R"({"op":"begin","proof":123456})", P}, {R"({"op":"begin","yes":1})", P},
      {R"({"op":"begin","proof":null})", P}, {R"({"op":"begin","proof":-1})", P},
      {R"({"op":"begin","yes":tru})", P}, {R"({"op":"begin","yes":trueX})", P},
      {R"({"op":"begin","yes":True})", P},
      // duplicates
      {R"({"op":"status","op":"status"})", P}, {R"({"op":"begin","proof":"1","proof":"2"})", P},
      {R"({"op":"begin","yes":true,"yes":false})", P},
      // escapes
      {R"({"op":"st\u0061tus"})", P}, {R"({"op":"begin","proof":"\u0031"})", P},
      {R"({"op":"begin","proof":"\x31"})", P}, {R"({"op":"begin","proof":"\'"})", P},
      {R"({"op":"begin","proof":"\)", P}, {R"({"o\p":"status"})", P},
      // raw control and non-ASCII bytes in strings; NUL anywhere
      {"{\"op\":\"begin\",\"proof\":\"1\x01\"}", P}, {"{\"op\":\"begin\",\"proof\":\"1\t\"}", P},
      {"{\"op\":\"begin\",\"proof\":\"1\x7f\"}", P}, {"{\"op\":\"begin\",\"proof\":\"\xc3\xa9\"}", P},
      {"{\"op\":\"begin\",\"proof\":\"\xff\"}", P}, {bytes("{\"op\":\"begin\",\"proof\":\"1\0\"}"), P},
      {bytes("{\"op\":\"status\"}\0"), P}, {bytes("\0{\"op\":\"status\"}"), P},
      // trailing bytes
      {R"({"op":"status"}x)", P}, {R"({"op":"status"}{})", P}, {R"({"op":"status"}})", P},
      {R"({"op":"status"} ,)", P},
      // too long strings and keys
      {R"({"op":")" + std::string(70, 's') + R"("})", P},
      {R"({"op":"status",")" + std::string(20, 'k') + R"(":"x"})", P},
      // no op, unknown op, op of another type
      {"{}", I}, {R"({"proof":"1"})", I}, {R"({"op":"frob"})", I}, {R"({"op":"STATUS"})", I},
      {R"({"op":""})", I}, {R"({"op":true})", I}, {R"({"op":"status "})", I},
      // fields the op does not take, or of the wrong type
      {R"({"op":"status","x":"1"})", I}, {R"({"op":"status","proof":"1"})", I},
      {R"({"op":"status","yes":true})", I}, {R"({"op":"confirm","code":"1","proof":"2"})", I},
      {R"({"op":"remove","yes":true})", I}, {R"({"op":"recovery_codes","code":"1"})", I},
      {R"({"op":"begin","code":"1"})", I}, {R"({"op":"begin","yes":"true"})", I},
      {R"({"op":"begin","proof":true})", I}, {R"({"op":"confirm"})", I}, {R"({"op":"confirm","code":""})", I},
      {R"({"op":"confirm","code":false})", I},
      // login requests: a user, and exactly one of answer / unseen
      {R"({"op":"login_state"})", I}, {R"({"op":"login_state","user":""})", I},
      {R"({"op":"login_state","user":"a","answer":"1"})", I}, {R"({"op":"login","answer":"1"})", I},
      {R"({"op":"login","user":"a"})", I}, {R"({"op":"login","user":"a","answer":"1","unseen":true})", I},
      {R"({"op":"login","user":"a","unseen":"yes"})", I}, {R"({"op":"login","user":"a","unseen":false})", I},
      {R"({"op":"login","user":"a","answer":"1","proof":"2"})", I},
      {R"({"op":"status","user":"a"})", I}, {R"({"op":"remove","rhost":"h"})", I},
  };
  for (const auto& c : cases) {
    auto r = req(c.line);
    if (r.ok()) std::fprintf(stderr, "accepted: %s\n", c.line.c_str());
    assert_false(r.ok());
    if (r.error().code != c.code) {
      std::fprintf(stderr, "%s: %s (%s)\n", c.line.c_str(), r.error().message.c_str(), errc_name(r.error().code));
    }
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(c.code));
    // The refusal never quotes the input.
    assert_null(std::strstr(r.error().message.c_str(), "123456"));
  }
  // Over the message cap, even if well formed.
  const std::string padded = R"({"op":"status")" + std::string(kMaxMessageSize, ' ') + "}";
  auto big = req(padded);
  assert_false(big.ok());
  assert_int_equal(static_cast<int>(big.error().code), static_cast<int>(Errc::too_large));
}

// Whatever parse_request accepts, nlohmann::json reads the same way (so the
// strict parser is a subset of JSON): every truncation of valid requests and
// every single-byte substitution with a hostile byte; none may crash.
void request_differential(void**) {
  const std::vector<std::string> seeds = {
      R"({"op":"begin","proof":"12\"34\\56","yes":true})",
      R"( { "op" : "confirm" , "code" : "123456" } )",
      R"({"op":"remove","proof":"a\/b\tc"})",
  };
  const std::string hostile = bytes("\0\x01\x1f\x7f\x80\xff{}[]\",:\\/ u0tfn-e1");
  std::size_t accepted = 0, tried = 0;
  auto check = [&](const std::string& line) {
    ++tried;
    auto ours = req(line);
    if (!ours) return;
    ++accepted;
    Json theirs = Json::parse(line, nullptr, false);
    assert_false(theirs.is_discarded());
    assert_true(theirs.is_object());
    assert_true(theirs["op"].get<std::string>() == ours->op);
    std::size_t fields = 1;
    for (const auto& [k, v] : ours->secrets) {
      assert_true(theirs[k].is_string());
      assert_true(theirs[k].get<std::string>() == v.view());
      ++fields;
    }
    for (const auto& [k, v] : ours->flags) {
      assert_true(theirs[k].is_boolean());
      assert_true(theirs[k].get<bool>() == v);
      ++fields;
    }
    assert_int_equal(theirs.size(), fields);
  };
  for (const auto& seed : seeds) {
    for (std::size_t n = 0; n <= seed.size(); ++n) check(seed.substr(0, n));
    for (std::size_t i = 0; i < seed.size(); ++i) {
      for (char h : hostile) {
        std::string line = seed;
        line[i] = h;
        check(line);
        line.insert(i, 1, h);
        check(line);
      }
    }
  }
  assert_true(accepted >= seeds.size());
  assert_true(tried > 1000);
}

// ---- parse_reply ----------------------------------------------------------

Result<Json> reply(std::string_view line) {
  return parse_reply(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
}

void reply_parsing(void**) {
  // What the helper writes comes back the same.
  Json offer{{"ok", true}, {"user", "alice"}, {"issuer", "Example \xe2\x82\xac"}, {"digits", 6}, {"period", 30},
             {"created", -1700000000}, {"big", UINT64_MAX}, {"small", INT64_MIN}, {"replacing", false},
             {"none", nullptr}, {"ctl", bytes("a\x01\x1f\n\"\\/b")},
             {"recovery_codes", Json::array({"abcd-efgh", "ijkl-mnop"})},
             {"deep", Json{{"a", Json::array({Json::array({1})})}}}, {"empty", Json::object()}, {"e2", Json::array()}};
  for (int indent : {-1, 2}) {
    auto text = serialize_json(offer, indent);
    assert_true(text.ok());
    auto back = parse_reply(text->span());
    assert_true(back.ok());
    assert_true(*back == offer);
  }
  // Escapes: \u with surrogate pairs, the two-character ones.
  auto esc = reply(R"({"s":"\u00e9\u20AC\ud83d\udd11\u0000\"\\\/\b\f\n\r\t"})");
  assert_true(esc.ok());
  assert_true((*esc)["s"].get<std::string>() ==
              bytes("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\0\"\\/\b\f\n\r\t"));
  assert_true(reply(R"( { "a" : [ 1 , -0 , true , false , null ] } )").ok());

  const std::vector<std::string> bad = {
      "", "[]", "1", R"("s")", "{", R"({"a":1)", R"({"a":1,})", R"({"a":[1,]})", R"({"a":1}x)", R"({"a":1}{})",
      R"({"a":1,"a":2})", R"({"a":1.5})", R"({"a":1e3})", R"({"a":01})", R"({"a":-})", R"({"a":+1})",
      R"({"a":18446744073709551616})", R"({"a":-9223372036854775809})", R"({"a":tru})", R"({"a":nul})",
      R"({"a":"\ud800"})", R"({"a":"\udc00"})", R"({"a":"\ud800\u0041"})", R"({"a":"\u12"})", R"({"a":"\x"})",
      "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xe2\x82\"}",
      R"({"a":{"b":{"c":{"d":{}}}}})", R"({"a":[[[[]]]]})", R"({'a':1})", R"({a:1})", R"({"a" 1})",
      bytes("{\"a\":1}\0"), bytes("{\"a\":\"\0\"}"),
  };
  for (const auto& line : bad) {
    auto r = reply(line);
    if (r.ok()) std::fprintf(stderr, "accepted: %s\n", line.c_str());
    assert_false(r.ok());
  }
  assert_true(reply(R"({"a":{"b":{"c":{}}}})").ok());  // 4 levels
  assert_int_equal(static_cast<int>(reply(R"({"a":")" + std::string(kMaxMessageSize, 'x') + R"("})").error().code),
                   static_cast<int>(Errc::too_large));

  // Whatever parse_reply accepts, nlohmann::json reads the same way.
  const std::string seed = R"({"ok":true,"n":[1,-2,{"s":"\u00e9\"x"}],"t":null})";
  const std::string hostile = bytes("\0\x01\x7f\x80\xc3\xa9\xff{}[]\",:\\/ u0tfn-e1.");
  std::size_t accepted = 0;
  auto check = [&](const std::string& line) {
    auto ours_r = reply(line);
    if (!ours_r) return;
    ++accepted;
    Json theirs_j = Json::parse(line, nullptr, false);
    assert_false(theirs_j.is_discarded());
    assert_true(theirs_j == *ours_r);
  };
  for (std::size_t n = 0; n <= seed.size(); ++n) check(seed.substr(0, n));
  for (std::size_t i = 0; i < seed.size(); ++i) {
    for (char h : hostile) {
      std::string line = seed;
      line[i] = h;
      check(line);
      line.insert(i, 1, h);
      check(line);
    }
  }
  assert_true(accepted > 10);
}

// ---- serialize_json / write_message ------------------------------------

std::string ours(const Json& j, int indent) {
  auto s = serialize_json(j, indent);
  assert_true(s.ok());
  return std::string(s->view());
}

std::string theirs(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

void serialize_like_dump(void**) {
  std::vector<Json> values = {
      Json::object(),
      Json::array(),
      Json(nullptr),
      Json{{"ok", true}, {"errc", "locked"}, {"error", "text with \"quotes\" and \\ and \n and \x01\x1f\x7f"}},
      Json{{"n", -1}, {"big", INT64_MIN}, {"u", UINT64_MAX}, {"zero", 0}, {"f", 1.5}, {"g", 1.0}, {"h", -0.0},
           {"k", 1e21}, {"m", 0.1}},
      Json{{"nested", Json{{"a", Json::array({1, "x", nullptr, false, Json::object(), Json::array()})}}},
           {"empty", Json::object()}},
      Json{{"utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"}, {"ключ", "значение"}},
      Json::array({"a\xff" "b", "\xc3(", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80\xaf",
                   "\xf0\x8f\xbf\xbf", "\x80", "ok"}),
  };
  for (const Json& v : values) {
    for (int indent : {-1, 0, 2, 4}) {
      const std::string a = ours(v, indent), b = theirs(v, indent);
      if (a != b) std::fprintf(stderr, "ours   %s\ntheirs %s\n", a.c_str(), b.c_str());
      assert_true(a == b);
    }
  }
  // Random strings of hostile bytes: the same bytes as dump's replacement.
  std::mt19937 rng(12345);
  const std::string alphabet = bytes("\0\x01\x1f \"\\/aZ\x7f\x80\x8f\x9f\xa0\xbf\xc0\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff");
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    Json j = Json::array({s});
    const std::string a = ours(j, -1), b = theirs(j, -1);
    if (a != b) std::fprintf(stderr, "ours   %s\ntheirs %s\n", a.c_str(), b.c_str());
    assert_true(a == b);
  }
  // No type JSON cannot carry.
  assert_false(serialize_json(Json::binary({1, 2, 3})).ok());
}

void secrets_into_json(void**) {
  Json reply{{"ok", true}};
  set_secret(reply, "secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
  set_secret(reply, "short", "123456");
  set_secret(reply, "short", "654321");  // replaces (and wipes) the old value
  Json codes = Json::array();
  for (int i = 0; i < 20; ++i) push_secret(codes, "abcd-efgh-" + std::to_string(1000 + i));
  reply["recovery_codes"] = std::move(codes);
  assert_string_equal(reply["secret"].get<std::string>().c_str(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
  assert_string_equal(reply["short"].get<std::string>().c_str(), "654321");
  assert_int_equal(reply["recovery_codes"].size(), 20);
  assert_string_equal(reply["recovery_codes"][19].get<std::string>().c_str(), "abcd-efgh-1019");

  // Written, read back, parsed: the same message.
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_true(write_message(p[1], reply).ok());
  close(p[1]);
  MessageReader r(p[0]);
  auto line = r.next();
  assert_true(line.ok());
  auto back = parse_reply(line->span());
  assert_true(back.ok());
  assert_true(*back == reply);
  close(p[0]);

  // cleanse_json wipes each string over its whole capacity.
  std::string& s = reply["secret"].get_ref<std::string&>();
  const char* storage = s.data();
  const std::size_t cap = s.capacity();
  cleanse_json(reply);
  assert_true(reply["secret"].get<std::string>().empty());
  for (std::size_t i = 0; i < cap; ++i) assert_int_equal(storage[i], 0);
  for (const auto& c : reply["recovery_codes"]) assert_true(c.get<std::string>().empty());

  // Over the cap: refused, nothing written.
  Json huge{{"x", std::string(kMaxMessageSize, 'a')}};
  assert_int_equal(static_cast<int>(write_message(p[1], huge).error().code), static_cast<int>(Errc::too_large));
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
      cmocka_unit_test(request_valid),
      cmocka_unit_test(request_hostile),
      cmocka_unit_test(request_differential),
      cmocka_unit_test(reply_parsing),
      cmocka_unit_test(serialize_like_dump),
      cmocka_unit_test(secrets_into_json),
      cmocka_unit_test(qr_geometry),
      cmocka_unit_test(totp_input),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
