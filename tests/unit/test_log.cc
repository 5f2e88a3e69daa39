// SPDX-License-Identifier: Apache-2.0
// core/log: sanitize_for_log escapes and caps; log_event builds one line with
// sanitised values (no space in service, user or host), drops debug lines
// unless asked and never treats data as a format string (checked through
// syslog's LOG_PERROR copy on stderr).
#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/log.h"

extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::sanitize_for_log;

namespace {

void test_plain_text_unchanged(void**) {
  assert_string_equal(sanitize_for_log("").c_str(), "");
  assert_string_equal(sanitize_for_log("alice").c_str(), "alice");
  assert_string_equal(sanitize_for_log("bad code from 192.0.2.1 (port 22)").c_str(),
                      "bad code from 192.0.2.1 (port 22)");
  assert_string_equal(sanitize_for_log(" ~!@#$%^&*()_+{}|:\"<>?`-=[];',./").c_str(),
                      " ~!@#$%^&*()_+{}|:\"<>?`-=[];',./");
}

void test_escapes(void**) {
  assert_string_equal(sanitize_for_log("a\nb").c_str(), "a\\x0ab");
  assert_string_equal(sanitize_for_log("a\r\n").c_str(), "a\\x0d\\x0a");
  assert_string_equal(sanitize_for_log("\t").c_str(), "\\x09");
  assert_string_equal(sanitize_for_log("\x1b[31mred").c_str(), "\\x1b[31mred");
  assert_string_equal(sanitize_for_log("\x7f").c_str(), "\\x7f");
  assert_string_equal(sanitize_for_log(std::string_view("a\0b", 3)).c_str(), "a\\x00b");
  assert_string_equal(sanitize_for_log("caf\xc3\xa9").c_str(), "caf\\xc3\\xa9");
  assert_string_equal(sanitize_for_log("\xff\x80").c_str(), "\\xff\\x80");
  // A backslash is escaped, so input cannot imitate an escape.
  assert_string_equal(sanitize_for_log("\\x0a").c_str(), "\\x5cx0a");
  // Forged syslog lines are impossible: no raw newline survives.
  const std::string forged = sanitize_for_log("ok\nJan  1 00:00:00 host sshd[1]: Accepted password for root");
  assert_true(forged.find('\n') == std::string::npos);
}

void test_every_byte(void**) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string out = sanitize_for_log(std::string_view(&c, 1));
    if (b >= 0x20 && b <= 0x7e && b != '\\') {
      assert_int_equal(out.size(), 1);
      assert_int_equal(static_cast<unsigned char>(out[0]), b);
    } else {
      char want[8];
      snprintf(want, sizeof want, "\\x%02x", b);
      assert_string_equal(out.c_str(), want);
    }
    for (char o : out) assert_true(o >= 0x20 && o <= 0x7e);
  }
}

void test_cap(void**) {
  const std::string exact(256, 'a');
  assert_string_equal(sanitize_for_log(exact).c_str(), exact.c_str());

  const std::string over = sanitize_for_log(std::string(257, 'a'));
  assert_int_equal(over.size(), 256);
  assert_string_equal(over.c_str(), (std::string(253, 'a') + "...").c_str());

  const std::string huge = sanitize_for_log(std::string(1 << 20, 'b'));
  assert_int_equal(huge.size(), 256);

  // Escapes are never cut in half.
  const std::string esc = sanitize_for_log(std::string(300, '\n'));
  assert_true(esc.size() <= 256);
  assert_int_equal(esc.size(), 63 * 4 + 3);
  assert_string_equal(esc.substr(esc.size() - 7).c_str(), "\\x0a...");
  // 64 escapes make exactly 256 bytes and fit without a marker.
  const std::string esc64 = sanitize_for_log(std::string(64, '\x01'));
  assert_int_equal(esc64.size(), 256);
  assert_true(esc64.find("...") == std::string::npos);
  // 254 plain + one escape: 258 > 256, cut before the escape.
  const std::string mixed = sanitize_for_log(std::string(254, 'c') + "\n");
  assert_string_equal(mixed.c_str(), (std::string(253, 'c') + "...").c_str());
}

// Runs log_event with syslog's LOG_PERROR copy going to a pipe; returns what
// reached stderr.
std::string capture(const totp::LogContext& ctx, int priority, std::string_view reason) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  const int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
  openlog("test_log", LOG_PERROR, LOG_AUTHPRIV);
  totp::log_event(ctx, priority, reason);
  closelog();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  return out;
}

void test_log_event_line(void**) {
  totp::LogContext ctx{"sshd", "alice", "192.0.2.7", false};
  const std::string line = capture(ctx, LOG_NOTICE, "wrong code");
  assert_true(line.find("pam_totp(sshd:auth): user=alice rhost=192.0.2.7: wrong code") != std::string::npos);

  // Hostile values are escaped; '%' sequences are text, not a format.
  totp::LogContext evil{"ss\nhd", "bob\x1b[2J", "%s%n%x", false};
  const std::string e = capture(evil, LOG_ERR, "reason %n%n%s\nnext");
  assert_true(e.find("pam_totp(ss\\x0ahd:auth): user=bob\\x1b[2J rhost=%s%n%x: reason %n%n%s\\x0anext") !=
              std::string::npos);
  assert_int_equal(std::count(e.begin(), e.end(), '\n'), 1);  // one line only

  // Debug lines only with ctx.debug.
  assert_true(capture(ctx, LOG_DEBUG, "debug detail").empty());
  ctx.debug = true;
  assert_true(capture(ctx, LOG_DEBUG, "debug detail").find("debug detail") != std::string::npos);

  // A long reason is capped.
  const std::string l = capture(ctx, LOG_INFO, std::string(5000, 'r'));
  assert_true(l.find(std::string(253, 'r') + "...") != std::string::npos);
  assert_true(l.find(std::string(254, 'r')) == std::string::npos);
}

// The service, user and host values never hold a space: a space there is
// \x20, so no value can end its field early and forge the next one (a user
// name "x rhost=10.9.9.9" typed at ssh's login prompt must not give a log
// reader such as fail2ban a second rhost=). The reason keeps its spaces.
void test_fields_without_spaces(void**) {
  totp::LogContext forged{"sshd", "x rhost=10.9.9.9", "127.0.0.5", false};
  const std::string f = capture(forged, LOG_NOTICE, "wrong code");
  assert_true(f.find("pam_totp(sshd:auth): user=x\\x20rhost=10.9.9.9 rhost=127.0.0.5: wrong code\n") !=
              std::string::npos);
  const std::string ours = f.substr(f.find("pam_totp("));
  // After "auth):", before rhost=, after its value, inside "wrong code".
  assert_int_equal(std::count(ours.begin(), ours.end(), ' '), 4);
  assert_true(f.find(" rhost=10.9.9.9") == std::string::npos);

  totp::LogContext spaced{"my service", " ", "a b:c", false};
  const std::string s = capture(spaced, LOG_NOTICE, "wrong code (malformed answer); now locked");
  assert_true(s.find("pam_totp(my\\x20service:auth): user=\\x20 rhost=a\\x20b:c: "
                     "wrong code (malformed answer); now locked\n") != std::string::npos);

  // Every byte in each field: printable ASCII other than ' ' and '\\' as it
  // is, everything else \xNN; the line stays one line of printable ASCII.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string v = std::string("a") + c + "b";
    std::string want(1, c);
    if (b <= 0x20 || b >= 0x7f || b == '\\') {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", b);
      want = esc;
    }
    totp::LogContext ctx{v, v, v, false};
    const std::string line = capture(ctx, LOG_NOTICE, "r");
    const std::string expect = "pam_totp(a" + want + "b:auth): user=a" + want + "b rhost=a" + want + "b: r\n";
    assert_true(line.size() >= expect.size());
    assert_string_equal(line.substr(line.size() - expect.size()).c_str(), expect.c_str());
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
      assert_true(line[i] >= 0x20 && line[i] <= 0x7e);
    }
  }

  // A long user name of spaces is capped on an escape boundary like any value.
  totp::LogContext longname{"sshd", std::string(300, ' '), "192.0.2.1", false};
  const std::string l = capture(longname, LOG_NOTICE, "wrong code");
  std::string esc63;
  for (int i = 0; i < 63; ++i) esc63 += "\\x20";
  assert_true(l.find("user=" + esc63 + "... rhost=192.0.2.1: wrong code") != std::string::npos);

  // sanitize_for_log (free text, other callers) keeps spaces as they are.
  assert_string_equal(sanitize_for_log("a b").c_str(), "a b");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_text_unchanged),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_every_byte),
      cmocka_unit_test(test_cap),
      cmocka_unit_test(test_log_event_line),
      cmocka_unit_test(test_fields_without_spaces),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
