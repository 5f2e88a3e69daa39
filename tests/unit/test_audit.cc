// SPDX-License-Identifier: Apache-2.0
// core/audit: the line format (fixed keys in order, values bare or quoted
// and escaped, hostile targets / SUDO_USER / field names that try to forge
// a key or a line), the strict /proc/self/loginuid parser, what
// current_actor trusts, and that audit() keeps the program's openlog ident
// (checked through syslog's LOG_PERROR copy on stderr).
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit.h"

extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::Actor;
using totp::audit_value;
using totp::AuditFields;
using totp::format_audit_line;
using totp::parse_loginuid;

namespace {

// Splits "audit: k=v k="v v" ..." back into pairs the way a reader of the
// log would: a value is bare up to the next space, or quoted up to the next
// '"'. Fails the test on anything else.
std::vector<std::pair<std::string, std::string>> tokens(const std::string& line) {
  assert_true(line.rfind("audit:", 0) == 0);
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 6;
  while (i < line.size()) {
    assert_int_equal(line[i], ' ');
    ++i;
    const std::size_t eq = line.find('=', i);
    assert_true(eq != std::string::npos);
    std::string key = line.substr(i, eq - i);
    for (char c : key) assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    i = eq + 1;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      const std::size_t close = line.find('"', i + 1);
      assert_true(close != std::string::npos);
      value = line.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      const std::size_t sp = std::min(line.find(' ', i), line.size());
      value = line.substr(i, sp - i);
      assert_true(value.find('=') == std::string::npos);
      assert_true(value.find('"') == std::string::npos);
      i = sp;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  for (char c : line) assert_true(c >= 0x20 && c <= 0x7e);  // one printable line
  return out;
}

Actor root_actor() {
  Actor a;
  a.uid = 0;
  a.name = "root";
  a.login_uid = 1000;
  a.sudo_user = "bob";
  return a;
}

void test_values(void**) {
  assert_string_equal(audit_value("alice").c_str(), "alice");
  assert_string_equal(audit_value("phone-2.b_c@x+y").c_str(), "phone-2.b_c@x+y");
  assert_string_equal(audit_value("").c_str(), "\"\"");
  assert_string_equal(audit_value("a b").c_str(), "\"a b\"");
  assert_string_equal(audit_value("a=b").c_str(), "\"a=b\"");
  assert_string_equal(audit_value("say \"hi\"").c_str(), "\"say \\x22hi\\x22\"");
  assert_string_equal(audit_value("a\nb").c_str(), "\"a\\x0ab\"");
  assert_string_equal(audit_value("back\\slash").c_str(), "\"back\\x5cslash\"");
  assert_string_equal(audit_value("caf\xc3\xa9").c_str(), "\"caf\\xc3\\xa9\"");
  // Capped: a long value stays one bounded token.
  const std::string longv = audit_value(std::string(100000, 'x'));
  assert_true(longv.size() <= 256);
  assert_string_equal(longv.substr(longv.size() - 3).c_str(), "...");
  const std::string longq = audit_value(std::string(100000, ' '));
  assert_true(longq.size() <= 258);
  assert_int_equal(longq.front(), '"');
  assert_int_equal(longq.back(), '"');
}

void test_line(void**) {
  const std::string line = format_audit_line(root_actor(), "enrol", "alice", {{"authenticator", "phone"}});
  assert_string_equal(line.c_str(),
                      "audit: action=enrol user=alice by=root uid=0 loginuid=1000 sudo_user=bob authenticator=phone");

  Actor helper;
  helper.uid = 1001;
  helper.name = "carol";
  helper.via_helper = true;
  assert_string_equal(format_audit_line(helper, "recovery-codes", "carol", {}).c_str(),
                      "audit: action=recovery-codes user=carol by=carol uid=1001 via=helper");

  Actor nameless;
  nameless.uid = 4242;
  nameless.name = "uid 4242";
  assert_string_equal(format_audit_line(nameless, "rekey", "", {{"records", "12"}}).c_str(),
                      "audit: action=rekey user=- by=\"uid 4242\" uid=4242 records=12");
}

void test_hostile(void**) {
  // A target that tries to add keys, end the line, or look like a quote.
  Actor a = root_actor();
  const std::string evil_target = "x user=root by=root\nJan  1 00:00:00 host sshd[1]: Accepted \"q\"";
  a.name = "we ird=1";
  a.sudo_user = "b ob";  // never set by current_actor, but the format holds anyway
  const AuditFields fields = {{"user", "root"},           // a fixed key: renamed
                              {"Bad Key=\n", "v=1 w=2"},  // a name with anything in it
                              {"", "empty name"},
                              {"authenticator", std::string(5000, 'p')}};
  const std::string line = format_audit_line(a, "enrol", evil_target, fields);
  auto t = tokens(line);
  std::map<std::string, int> seen;
  for (const auto& [k, v] : t) ++seen[k];
  for (const auto& [k, count] : seen) assert_int_equal(count, 1);  // no key twice
  assert_string_equal(t[0].first.c_str(), "action");
  assert_string_equal(t[1].first.c_str(), "user");
  assert_true(t[1].second.find("x user=root by=root\\x0aJan") == 0);
  assert_true(t[1].second.find('"') == std::string::npos);
  assert_string_equal(t[2].first.c_str(), "by");
  assert_string_equal(t[2].second.c_str(), "we ird=1");
  assert_string_equal(t[5].first.c_str(), "sudo_user");
  assert_string_equal(t[6].first.c_str(), "x_user");
  assert_string_equal(t[7].first.c_str(), "_ad__ey__");
  assert_string_equal(t[7].second.c_str(), "v=1 w=2");
  assert_string_equal(t[8].first.c_str(), "field");
  assert_true(t[9].second.size() <= 256);

  // Many fields: bounded, and said so.
  AuditFields many;
  for (int i = 0; i < 100; ++i) many.emplace_back("k" + std::to_string(i), "v");
  const std::string m = format_audit_line(root_actor(), "import", "alice", many);
  auto mt = tokens(m);
  assert_string_equal(mt.back().first.c_str(), "truncated");
  assert_true(mt.size() < 30);
}

void test_loginuid(void**) {
  assert_int_equal(*parse_loginuid("1000"), 1000);
  assert_int_equal(*parse_loginuid("1000\n"), 1000);
  assert_int_equal(*parse_loginuid("0"), 0);
  assert_int_equal(*parse_loginuid("4294967294"), 4294967294U);
  assert_false(parse_loginuid("4294967295").has_value());  // unset
  assert_false(parse_loginuid("4294967296").has_value());
  assert_false(parse_loginuid("99999999999").has_value());
  assert_false(parse_loginuid("").has_value());
  assert_false(parse_loginuid("\n").has_value());
  assert_false(parse_loginuid("01").has_value());
  assert_false(parse_loginuid("00").has_value());
  assert_false(parse_loginuid("-1").has_value());
  assert_false(parse_loginuid("+1").has_value());
  assert_false(parse_loginuid(" 1").has_value());
  assert_false(parse_loginuid("1 ").has_value());
  assert_false(parse_loginuid("1\n\n").has_value());
  assert_false(parse_loginuid("12a").has_value());
  assert_false(parse_loginuid(std::string_view("1\0", 2)).has_value());
}

void test_current_actor(void**) {
  setenv("SUDO_USER", "bob", 1);
  Actor a = totp::current_actor(true);
  assert_int_equal(a.uid, getuid());
  assert_false(a.name.empty());
  assert_string_equal(a.sudo_user.c_str(), "bob");
  assert_false(a.via_helper);

  // The helper's caller sets the environment: SUDO_USER means nothing there.
  Actor h = totp::current_actor(false, 54321);
  assert_true(h.sudo_user.empty());
  assert_true(h.via_helper);
  assert_int_equal(h.uid, 54321);
  assert_false(h.name.empty());
  assert_true(h.login_uid == a.login_uid);

  for (const char* bad : {"b ob", "root\nx", "-x", ".x", "a=b", "", "\"q\""}) {
    setenv("SUDO_USER", bad, 1);
    assert_true(totp::current_actor(true).sudo_user.empty());
  }
  setenv("SUDO_USER", std::string(65, 'a').c_str(), 1);
  assert_true(totp::current_actor(true).sudo_user.empty());
  unsetenv("SUDO_USER");
  assert_true(totp::current_actor(true).sudo_user.empty());
}

// audit() through syslog's LOG_PERROR copy: one line, under the ident the
// program chose (audit() must not call openlog).
void test_audit_keeps_ident(void**) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  const int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
  openlog("host-program", LOG_PERROR, LOG_AUTHPRIV);
  totp::audit(root_actor(), "unlock", "ali ce\n%n%s", {});
  closelog();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  assert_true(out.find("host-program: audit: action=unlock user=\"ali ce\\x0a%n%s\" by=root uid=0") !=
              std::string::npos);
  assert_int_equal(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),         cmocka_unit_test(test_line),
      cmocka_unit_test(test_hostile),        cmocka_unit_test(test_loginuid),
      cmocka_unit_test(test_current_actor),  cmocka_unit_test(test_audit_keeps_ident),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
