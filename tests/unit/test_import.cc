// SPDX-License-Identifier: Apache-2.0
// The import parsers (core/import_google, core/import_oath) and the checked
// reading of a source file (core/import_file), with hostile inputs: every
// refusal is an error with a reason that names a line, never a secret.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/base32.h"
#include "core/import_file.h"
#include "core/import_google.h"
#include "core/import_oath.h"
#include "core/record.h"

// cmocka last: its macros (fail, ...) clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

namespace {

// A throwaway secret (RFC 4226's test key) and what google-authenticator
// writes for it.
constexpr std::string_view kSecretB32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
constexpr std::string_view kSecretHex = "3132333435363738393031323334353637383930";
const std::string kGoodGa = std::string(kSecretB32) +
                            "\n\" RATE_LIMIT 3 30 1700000000\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE 56666666\n"
                            "\" TOTP_AUTH\n91271451\n12950636\n38619888\n";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

totp::Result<totp::GoogleAuthenticatorFile> ga(std::string_view s) { return totp::parse_google_authenticator(bytes_of(s)); }

// The parse fails and its message contains `part` and no secret.
void ga_refuses(std::string_view text, std::string_view part) {
  auto r = ga(text);
  if (r.ok()) fail_msg("accepted: %.*s", static_cast<int>(text.size()), text.data());
  const std::string& m = r.error().message;
  if (m.find(part) == std::string::npos) fail_msg("message '%s' lacks '%.*s'", m.c_str(), static_cast<int>(part.size()), part.data());
  assert_true(m.find(kSecretB32.substr(0, 12)) == std::string::npos);
  assert_true(m.find('\n') == std::string::npos);
}

void test_google_good(void**) {
  auto r = ga(kGoodGa);
  assert_true(r.ok());
  const auto& imp = r->imported;
  auto expect = totp::base32_decode(kSecretB32, totp::Base32Mode::strict);
  assert_true(expect.ok());
  assert_true(totp::constant_time_equal(imp.secret.span(), expect->span()));
  assert_int_equal(imp.otp.digits, 6);
  assert_int_equal(imp.otp.period, 30);
  assert_true(imp.otp.algorithm == totp::Algorithm::sha1);
  assert_int_equal(r->window_size, 17);
  assert_int_equal(totp::google_window_either_side(17), 8);
  assert_int_equal(totp::google_window_either_side(3), 1);
  assert_int_equal(totp::google_window_either_side(4), 2);
  assert_int_equal(imp.scratch_codes.size(), 3);
  assert_string_equal(std::string(imp.scratch_codes[0].view()).c_str(), "91271451");
  assert_string_equal(std::string(imp.scratch_codes[2].view()).c_str(), "38619888");
  // RATE_LIMIT is reported as dropped.
  bool rate = false;
  for (const auto& n : imp.notes) rate = rate || n.find("RATE_LIMIT") != std::string::npos;
  assert_true(rate);
}

void test_google_variants(void**) {
  // STEP_SIZE kept; CRLF line ends; blank lines; lower-case secret; no
  // scratch codes; options after the codes (google-authenticator allows it).
  auto r = ga(std::string(kSecretB32) + "\r\n\" STEP_SIZE 60\r\n\r\n\" TOTP_AUTH\r\n");
  assert_true(r.ok());
  assert_int_equal(r->imported.otp.period, 60);
  assert_int_equal(r->window_size, 3);
  assert_int_equal(r->imported.scratch_codes.size(), 0);
  r = ga("gezdgnbvgy3tqojqgezdgnbvgy3tqojq\n12345678\n\" TOTP_AUTH\n");
  assert_true(r.ok());
  assert_int_equal(r->imported.scratch_codes.size(), 1);
  // A repeated scratch code is kept once, with a note.
  r = ga(std::string(kSecretB32) + "\n\" TOTP_AUTH\n12345678\n12345678\n");
  assert_true(r.ok());
  assert_int_equal(r->imported.scratch_codes.size(), 1);
  assert_int_equal(r->imported.notes.size(), 1);
  // Unknown options are ignored with a note; TIME_SKEW 0 says nothing.
  r = ga(std::string(kSecretB32) + "\n\" TOTP_AUTH\n\" FUTURE_THING 1\n\" TIME_SKEW 0\n");
  assert_true(r.ok());
  assert_int_equal(r->imported.notes.size(), 1);
  // 32 scratch codes are the most.
  std::string many = std::string(kSecretB32) + "\n\" TOTP_AUTH\n";
  for (int i = 0; i < 32; ++i) many += std::to_string(10000000 + i) + "\n";
  assert_true(ga(many).ok());
  ga_refuses(many + "99999999\n", "more than 32 scratch codes");
}

void test_google_hostile(void**) {
  const std::string s(kSecretB32);
  ga_refuses("", "empty");
  ga_refuses(s.substr(0, 16), "newline");                                   // truncated in the secret
  ga_refuses(s.substr(0, 16) + "\n", "TOTP_AUTH");                          // a half file with a newline
  ga_refuses(s + "\n\" TOTP_AUTH\n1234", "newline");                        // truncated in a code
  ga_refuses("JBSWY3DP\n\" TOTP_AUTH\n", "5 bytes");                        // 40 bits
  ga_refuses(std::string(112, 'A') + "\n\" TOTP_AUTH\n", "at most 64");     // 68 bytes
  ga_refuses("GEZDGNBVGY3TQOJQ01\n\" TOTP_AUTH\n", "not base32");
  ga_refuses("GEZDGNBV!Y3TQOJQ\n\" TOTP_AUTH\n", "not base32");
  ga_refuses("\n\" TOTP_AUTH\n", "no secret");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" HOTP_COUNTER 1\n", "counter-based (HOTP)");
  assert_true(ga(s + "\n\" HOTP_COUNTER 1\n").error().code == totp::Errc::unsupported);
  ga_refuses(s + "\n\" RATE_LIMIT 3 30\n", "no TOTP_AUTH");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" TOTP_AUTH\n", "given twice");
  ga_refuses(s + "\n\" TOTP_AUTH yes\n", "takes no value");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" STEP_SIZE 10\n", "15 to 300");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" STEP_SIZE 61\n", "1 to 60");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" STEP_SIZE x\n", "STEP_SIZE");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" STEP_SIZE -30\n", "STEP_SIZE");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" STEP_SIZE 99999999999999999999\n", "STEP_SIZE");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" WINDOW_SIZE 0\n", "WINDOW_SIZE");
  ga_refuses(s + "\n\" TOTP_AUTH\n\" WINDOW_SIZE 101\n", "WINDOW_SIZE");
  ga_refuses(s + "\n\"TOTP_AUTH\n", "malformed option");
  ga_refuses(s + "\n\" TOTP_AUTH\n1234567\n", "line 3: neither");         // 7 digits
  ga_refuses(s + "\n\" TOTP_AUTH\n01234567\n", "line 3: neither");        // google never starts one with 0
  ga_refuses(s + "\n\" TOTP_AUTH\n123456789\n", "line 3: neither");
  ga_refuses(s + "\n\" TOTP_AUTH\n1234 5678\n", "line 3: neither");
  ga_refuses(s + "\n\" TOTP_AUTH\nhello\n", "line 3: neither");
  ga_refuses(s + "\n\" TOTP_AUTH\n12345678" + std::string(1, '\0') + "\n", "line 3: a NUL byte");
  ga_refuses(s + "\n\" TOTP_AUTH\x1b[2J\n", "line 2: a control byte");
  ga_refuses(s + "\n\" TOTP_AUTH\n\xc3\xa9\n", "line 3: a non-ASCII byte");
  ga_refuses(s + "\x7f\n\" TOTP_AUTH\n", "line 1: a control byte");
  ga_refuses(s + "\n\" TOTP_AUTH\n12345678\r\r\n", "line 3: a control byte");
}

totp::Result<totp::OathUsersFile> oath(std::string_view s) { return totp::parse_oath_users(bytes_of(s)); }

const totp::OathRefusal* refusal_of(const totp::OathUsersFile& f, std::string_view user) {
  for (const auto& r : f.refused)
    if (r.user == user) return &r;
  return nullptr;
}
const totp::OathUser* user_of(const totp::OathUsersFile& f, std::string_view user) {
  for (const auto& u : f.users)
    if (u.user == user) return &u;
  return nullptr;
}

void test_oath_types(void**) {
  const std::string h(kSecretHex);
  auto r = oath("# users of pam_oath\n\n"
                "HOTP/T30 alice - " + h + "\n"
                "HOTP/T60/8\tbob\t1234\t" + h + "\t0\t12345678\t2024-01-01T00:00:00L\n"
                "  HOTP/T30/7 carol + " + h.substr(0, 20) + " 0\n"
                "HOTP/T30/6 dave - " + h + "\n"
                "HOTP eve - " + h + "\n"
                "HOTP/E/8 frank - " + h + " 12\n");
  assert_true(r.ok());
  assert_int_equal(r->users.size(), 4);
  const auto* a = user_of(*r, "alice");
  assert_non_null(a);
  assert_int_equal(a->line, 3);
  assert_int_equal(a->imported.otp.period, 30);
  assert_int_equal(a->imported.otp.digits, 6);
  assert_int_equal(a->imported.secret.size(), 20);
  assert_memory_equal(a->imported.secret.data(), "12345678901234567890", 20);
  assert_int_equal(a->imported.notes.size(), 0);
  const auto* b = user_of(*r, "bob");
  assert_non_null(b);
  assert_int_equal(b->imported.otp.period, 60);
  assert_int_equal(b->imported.otp.digits, 8);
  assert_int_equal(b->imported.notes.size(), 1);  // the PIN is dropped
  assert_true(b->imported.notes[0].find("1234") == std::string::npos);
  const auto* c = user_of(*r, "carol");
  assert_non_null(c);
  assert_int_equal(c->imported.otp.digits, 7);
  assert_int_equal(c->imported.secret.size(), 10);
  assert_int_equal(c->imported.notes.size(), 0);  // "+": checked elsewhere
  assert_non_null(user_of(*r, "dave"));
  // Event (HOTP) tokens are reported, not imported.
  assert_int_equal(r->refused.size(), 2);
  assert_non_null(refusal_of(*r, "eve"));
  assert_true(refusal_of(*r, "eve")->reason.find("counter-based (HOTP)") != std::string::npos);
  assert_int_equal(refusal_of(*r, "frank")->line, 8);
}

void test_oath_hostile(void**) {
  const std::string h(kSecretHex);
  assert_false(oath("").ok());
  assert_false(oath("HOTP/T30 alice - " + h).ok());  // no final newline: truncated
  auto r = oath("HOTP/T30 dup - " + h + "\n"           // 1: duplicate user
                "HOTP/T30 ok1 - " + h + "\n"           // 2
                "HOTP/T60 dup - " + h + "\n"           // 3
                "HOTP/T90 odd - " + h + "\n"           // 4: no such type in liboath
                "HOTP/T30/9 nine - " + h + "\n"        // 5
                "HOTP/T30 short - 3132333435\n"        // 6: 5 bytes
                "HOTP/T30 oddhex - 313233343536373839303\n"   // 7
                "HOTP/T30 nothex - 31323334353637383930zz\n"  // 8
                "HOTP/T30 nosecret -\n"                // 9
                "HOTP/T30 ../etc - " + h + "\n"        // 10: not a user name
                "HOTP/T30 ctl - " + h + "\x1b\n"       // 11: control byte
                "HOTP/T30 badctr - " + h + " 12x\n"    // 12
                "HOTP/T30 long - " + std::string(130, 'a') + "\n"  // 13: 65 bytes
                "HOTP/T30\n"                           // 14: no user
                "HOTP/T30 nul" + std::string(1, '\0') + " - " + h + "\n"  // 15 (the NUL is in the name)
                "HOTP/T30 ok2 - " + h + "\n");         // 16
  assert_true(r.ok());
  assert_int_equal(r->users.size(), 2);
  assert_non_null(user_of(*r, "ok1"));
  assert_non_null(user_of(*r, "ok2"));
  const auto* d = refusal_of(*r, "dup");
  assert_non_null(d);
  assert_true(d->reason.find("lines 1, 3") != std::string::npos);
  int dups = 0;
  for (const auto& x : r->refused) dups += x.user == "dup";
  assert_int_equal(dups, 1);
  assert_true(refusal_of(*r, "odd")->reason.find("unknown token type") != std::string::npos);
  assert_true(refusal_of(*r, "nine")->reason.find("unknown token type") != std::string::npos);
  assert_true(refusal_of(*r, "short")->reason.find("5 bytes") != std::string::npos);
  assert_true(refusal_of(*r, "oddhex")->reason.find("odd number") != std::string::npos);
  assert_true(refusal_of(*r, "nothex")->reason.find("not hexadecimal") != std::string::npos);
  assert_true(refusal_of(*r, "nosecret")->reason.find("no secret") != std::string::npos);
  assert_true(refusal_of(*r, "ctl")->reason.find("control byte") != std::string::npos);
  assert_true(refusal_of(*r, "badctr")->reason.find("counter") != std::string::npos);
  assert_true(refusal_of(*r, "long")->reason.find("at most 64") != std::string::npos);
  // Nameless refusals: lines 10, 14 and 15.
  int nameless = 0;
  for (const auto& x : r->refused) {
    if (!x.user.empty()) continue;
    ++nameless;
    assert_true(x.line == 10 || x.line == 14 || x.line == 15);
  }
  assert_int_equal(nameless, 3);
  // No reason ever shows a secret.
  for (const auto& x : r->refused) assert_true(x.reason.find("3132") == std::string::npos);
}

// --- reading the file --------------------------------------------------------

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/test_import.XXXXXX";
    const char* p = mkdtemp(tmpl);
    assert_non_null(p);
    path = p;
  }
  ~TempDir() {
    const std::string cmd = "rm -rf '" + path + "'";
    (void)!std::system(cmd.c_str());
  }
  std::string file(const std::string& name, std::string_view content, mode_t mode) const {
    const std::string p = path + "/" + name;
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
    assert_int_equal(::chmod(p.c_str(), mode), 0);
    return p;
  }
};

totp::ImportFileRules mine() {
  totp::ImportFileRules rules;
  rules.owners = {::getuid()};
  rules.forbidden = 022;
  rules.warned = 044;
  return rules;
}

void refused_as(const std::string& path, const totp::ImportFileRules& rules, totp::Errc code, std::string_view part) {
  auto f = totp::read_import_file(path, rules);
  assert_false(f.ok());
  assert_int_equal(static_cast<int>(f.error().code), static_cast<int>(code));
  if (f.error().message.find(part) == std::string::npos) fail_msg("'%s' lacks '%.*s'", f.error().message.c_str(), static_cast<int>(part.size()), part.data());
}

void test_file_reading(void**) {
  TempDir d;
  const std::string good = d.file("good", kGoodGa, 0400);
  auto f = totp::read_import_file(good, mine());
  assert_true(f.ok());
  assert_int_equal(f->bytes.size(), kGoodGa.size());
  assert_true(f->warnings.empty());
  assert_true(totp::parse_google_authenticator(f->bytes.span()).ok());

  refused_as(d.file("gw", kGoodGa, 0620), mine(), totp::Errc::permission, "group- or other-writable (mode 0620)");
  refused_as(d.file("ow", kGoodGa, 0602), mine(), totp::Errc::permission, "writable");
  auto warned = totp::read_import_file(d.file("or", kGoodGa, 0644), mine());
  assert_true(warned.ok());
  assert_int_equal(warned->warnings.size(), 1);

  assert_int_equal(::symlink(good.c_str(), (d.path + "/link").c_str()), 0);
  refused_as(d.path + "/link", mine(), totp::Errc::permission, "symbolic link");
  assert_int_equal(::mkfifo((d.path + "/fifo").c_str(), 0600), 0);
  refused_as(d.path + "/fifo", mine(), totp::Errc::permission, "not a regular file");  // and did not hang
  assert_int_equal(::mkdir((d.path + "/dir").c_str(), 0700), 0);
  refused_as(d.path + "/dir", mine(), totp::Errc::permission, "not a regular file");
  refused_as(d.path + "/missing", mine(), totp::Errc::not_found, "does not exist");
  refused_as(d.path + "/nodir/x", mine(), totp::Errc::not_found, "does not exist");

  refused_as(d.file("big", std::string(64 * 1024 + 1, 'A'), 0600), mine(), totp::Errc::too_large, "larger than");
  assert_true(totp::read_import_file(d.file("cap", std::string(64 * 1024, 'A'), 0600), mine()).ok());

  assert_int_equal(::link(good.c_str(), (d.path + "/hard").c_str()), 0);
  refused_as(good, mine(), totp::Errc::permission, "2 hard links");
  ::unlink((d.path + "/hard").c_str());

  totp::ImportFileRules others = mine();
  others.owners = {::getuid() + 1};
  refused_as(good, others, totp::Errc::permission, "owned by uid");
}

void test_file_removal(void**) {
  TempDir d;
  const std::string p = d.file("ga", kGoodGa, 0400);
  auto f = totp::read_import_file(p, mine());
  assert_true(f.ok());
  assert_true(totp::remove_import_file(*f).ok());
  struct stat st {};
  assert_int_equal(::lstat(p.c_str(), &st), -1);
  assert_true(totp::remove_import_file(*f).ok());  // gone already: fine

  // A name replaced after the read is left alone.
  const std::string q = d.file("ga2", kGoodGa, 0400);
  auto g = totp::read_import_file(q, mine());
  assert_true(g.ok());
  assert_int_equal(::rename(d.file("other", "x\n", 0600).c_str(), q.c_str()), 0);
  auto removed = totp::remove_import_file(*g);
  assert_false(removed.ok());
  assert_int_equal(::lstat(q.c_str(), &st), 0);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_google_good),   cmocka_unit_test(test_google_variants), cmocka_unit_test(test_google_hostile),
      cmocka_unit_test(test_oath_types),    cmocka_unit_test(test_oath_hostile),    cmocka_unit_test(test_file_reading),
      cmocka_unit_test(test_file_removal),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
