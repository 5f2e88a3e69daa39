// SPDX-License-Identifier: Apache-2.0
// core/config: the store setting and the ldap_* settings (issue 14). Values
// accepted and refused, file-only on the PAM line, and the consistency
// check (check_ldap_settings) that load_settings applies with store = ldap
// and migrate applies whatever the store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "tests/unit/state_test_util.h"

using totp::Errc;
using totp::Settings;
using totp::Status;

namespace {

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

template <class R>
void expect_refused(const R& st, std::string_view needle, const char* what) {
  if (st.ok()) fail_msg("%s: expected an error containing \"%.*s\", got success", what, int(needle.size()), needle.data());
  if (!contains(st.error().message, needle))
    fail_msg("%s: error \"%s\" lacks \"%.*s\"", what, st.error().message.c_str(), int(needle.size()), needle.data());
}

template <class R>
void expect_fine(const R& st, const char* what) {
  if (!st.ok()) fail_msg("%s: unexpected error: %s", what, st.error().message.c_str());
}

Status set(Settings& s, std::string_view key, std::optional<std::string_view> value) {
  return totp::apply_setting(s, key, value, "test");
}

Status parse(Settings& s, std::string_view text) { return totp::parse_config_text(s, text, "/etc/x.conf"); }

constexpr const char* kLdapKeys[] = {"ldap_uri",     "ldap_base",    "ldap_bind_dn", "ldap_bind_password_file",
                                     "ldap_ca_file", "ldap_timeout"};

// ---- store -------------------------------------------------------------------

void test_store(void**) {
  Settings s;
  assert_true(s.store == Settings::StoreKind::files);  // the default
  expect_fine(set(s, "store", "ldap"), "ldap");
  assert_true(s.store == Settings::StoreKind::ldap);
  expect_fine(set(s, "store", "files"), "files");
  assert_true(s.store == Settings::StoreKind::files);
  for (const char* bad : {"", "file", "LDAP", "Files", "sql", "ldaps", "ldap ", " files", "files,ldap", "nis"}) {
    Settings t;
    t.store = Settings::StoreKind::ldap;
    auto st = set(t, "store", bad);
    expect_refused(st, "files, ldap", bad);
    expect_refused(st, "store", bad);
    assert_true(t.store == Settings::StoreKind::ldap);  // unchanged
  }
  expect_refused(set(s, "store", std::nullopt), "value is needed", "bare store");
  // In a file (the value is trimmed; a comment after it is fine).
  Settings f;
  expect_fine(parse(f, "store = files   # default\n"), "file");
  assert_true(f.store == Settings::StoreKind::files);
  Settings g;
  expect_refused(parse(g, "store = mysql\n"), "/etc/x.conf:1", "file line");
}

// ---- ldap_uri ----------------------------------------------------------------

void test_ldap_uri_accepted(void**) {
  struct Case {
    const char* text;
    std::vector<std::string> uris;
  } cases[] = {
      {"ldap://dir.example.com", {"ldap://dir.example.com"}},
      {"ldap://dir.example.com:389", {"ldap://dir.example.com:389"}},
      {"ldaps://dir.example.com:636", {"ldaps://dir.example.com:636"}},
      {"ldapi://%2Frun%2Fslapd%2Fldapi", {"ldapi://%2Frun%2Fslapd%2Fldapi"}},
      {"ldap://[2001:db8::1]:389", {"ldap://[2001:db8::1]:389"}},
      {"ldap://127.0.0.1:3890", {"ldap://127.0.0.1:3890"}},
      // The empty DN part the OpenLDAP tools write ("ldapi:///") is dropped.
      {"ldapi:///", {"ldapi://"}},
      {"ldap://dir.example.com/", {"ldap://dir.example.com"}},
      {"ldaps://dir:636/ ldapi:///", {"ldaps://dir:636", "ldapi://"}},
      {"ldap://a.example ldaps://b.example:636", {"ldap://a.example", "ldaps://b.example:636"}},
      {"  ldapi://%2Fvar%2Frun%2Fs   ldap://a   ldaps://b  ",
       {"ldapi://%2Fvar%2Frun%2Fs", "ldap://a", "ldaps://b"}},
      {"ldap://h1 ldap://h2 ldap://h3 ldap://h4 ldap://h5 ldap://h6 ldap://h7 ldap://h8",
       {"ldap://h1", "ldap://h2", "ldap://h3", "ldap://h4", "ldap://h5", "ldap://h6", "ldap://h7", "ldap://h8"}},
  };
  for (const auto& c : cases) {
    Settings s;
    expect_fine(set(s, "ldap_uri", c.text), c.text);
    if (s.ldap_uri != c.uris) fail_msg("%s: parsed into %zu URIs, not as expected", c.text, s.ldap_uri.size());
  }
  // A second ldap_uri (PAM-style reapply) replaces, not appends.
  Settings s;
  expect_fine(set(s, "ldap_uri", "ldap://a ldap://b"), "first");
  expect_fine(set(s, "ldap_uri", "ldaps://c"), "second");
  assert_int_equal(s.ldap_uri.size(), 1);
  assert_string_equal(s.ldap_uri[0].c_str(), "ldaps://c");
  // The same in a config file.
  Settings f;
  expect_fine(parse(f, "ldap_uri = ldap://a.example ldapi://%2Frun%2Fslapd%2Fldapi\n"), "file");
  assert_int_equal(f.ldap_uri.size(), 2);
  assert_string_equal(f.ldap_uri[1].c_str(), "ldapi://%2Frun%2Fslapd%2Fldapi");
}

void test_ldap_uri_refused(void**) {
  struct Case {
    std::string text;
    const char* word;
  } cases[] = {
      {"", "at least one URI"},
      {"   ", "at least one URI"},
      {"http://dir.example.com", "is not an ldap://"},
      {"dir.example.com", "is not an ldap://"},
      {"ldapx://dir", "is not an ldap://"},
      {"cldap://dir", "is not an ldap://"},
      {"ldap:/dir", "is not an ldap://"},
      {"ldap:dir", "is not an ldap://"},
      {"ldap://a http://b", "is not an ldap://"},
      {"ldap://a file:///etc/passwd", "is not an ldap://"},
      {"ldap://dir/dc=example,dc=com", "only scheme, host and port"},
      {"ldap://dir//", "only scheme, host and port"},
      {"ldap://dir/x", "only scheme, host and port"},
      {"ldap://dir:389/ou=x??sub?(uid=*)", "only scheme, host and port"},
      {"ldap://dir??base", "only scheme, host and port"},
      {"ldap://dir?", "only scheme, host and port"},
      {"ldaps://dir,ldaps://other", "only scheme, host and port"},
      {"ldap://a,b", "only scheme, host and port"},  // libldap would read two hosts
      {"ldap://a:389,", "only scheme, host and port"},
      {"ldapi://%2Frun%2Fldapi/dc=x", "only scheme, host and port"},
      {"ldapi:///run/slapd/ldapi", "only scheme, host and port"},
      {"ldap://h1 ldap://h2 ldap://h3 ldap://h4 ldap://h5 ldap://h6 ldap://h7 ldap://h8 ldap://h9", "at most 8"},
      {std::string("ldap://a\x01"), "control character"},
      {std::string("ldap://a\x1b[31m"), "control character"},
      {std::string("ldap://a\x7f"), "control character"},
      {std::string("ldap://a\nldap://b"), "control character"},
      {std::string("ldap://a\0b", 10), "NUL"},
      {std::string("ldap://\xc3\x28"), "UTF-8"},
      {"ldap://" + std::string(600, 'a'), "longer than"},
  };
  for (const auto& c : cases) {
    Settings s;
    s.ldap_uri = {"ldap://kept"};
    auto st = set(s, "ldap_uri", c.text);
    expect_refused(st, c.word, c.text.c_str());
    expect_refused(st, "ldap_uri", c.text.c_str());
    assert_int_equal(static_cast<int>(st.error().code), static_cast<int>(Errc::invalid_argument));
    // A refused value changes nothing.
    assert_int_equal(s.ldap_uri.size(), 1);
    assert_string_equal(s.ldap_uri[0].c_str(), "ldap://kept");
  }
  Settings s;
  expect_refused(set(s, "ldap_uri", std::nullopt), "value is needed", "bare ldap_uri");
  // In a file, the line is named.
  Settings f;
  expect_refused(parse(f, "\nldap_uri = https://dir\n"), "/etc/x.conf:2", "file");
}

// ---- DNs, paths, timeout -----------------------------------------------------

void test_ldap_dns(void**) {
  for (const char* key : {"ldap_base", "ldap_bind_dn"}) {
    std::string Settings::*field = std::string_view(key) == "ldap_base" ? &Settings::ldap_base : &Settings::ldap_bind_dn;
    Settings s;
    expect_fine(set(s, key, "ou=totp,dc=example,dc=com"), key);
    assert_string_equal((s.*field).c_str(), "ou=totp,dc=example,dc=com");
    expect_fine(set(s, key, "  cn=pam totp,dc=example  "), key);
    assert_string_equal((s.*field).c_str(), "cn=pam totp,dc=example");
    expect_fine(set(s, key, "uid=caf\xc3\xa9,dc=example"), "UTF-8 DN");

    const std::string at_limit = "cn=" + std::string(509, 'x');  // 512 bytes
    expect_fine(set(s, key, at_limit), "512 bytes");
    assert_int_equal((s.*field).size(), 512);

    struct Case {
      std::string text;
      const char* word;
    } bad[] = {
        {"", "must not be empty"},
        {"   ", "must not be empty"},
        {"totp", "is not a DN"},
        {"example.com", "is not a DN"},
        {"cn=" + std::string(510, 'x'), "longer than 512"},
        {std::string("cn=a\x01,dc=b"), "control character"},
        {std::string("cn=a\tb"), "control character"},
        {std::string("cn=a\0b", 6), "NUL"},
        {std::string("cn=\xff"), "UTF-8"},
    };
    for (const auto& c : bad) {
      Settings t;
      auto st = set(t, key, c.text);
      expect_refused(st, c.word, c.text.c_str());
      expect_refused(st, key, c.text.c_str());
      assert_true((t.*field).empty());
    }
    expect_refused(set(s, key, std::nullopt), "value is needed", key);
  }
}

void test_ldap_paths(void**) {
  for (const char* key : {"ldap_bind_password_file", "ldap_ca_file"}) {
    Settings s;
    expect_fine(set(s, key, "/etc/security/pam_totp.ldap"), key);
    expect_refused(set(s, key, "relative/path"), "not an absolute path", key);
    expect_refused(set(s, key, ""), "a path is needed", key);
    expect_refused(set(s, key, std::nullopt), "value is needed", key);
    expect_refused(set(s, key, std::string("/etc/a\x01")), "control character", key);
  }
  Settings s;
  expect_fine(set(s, "ldap_ca_file", "/etc/ssl/ca.pem"), "ca");
  assert_string_equal(s.ldap_ca_file.c_str(), "/etc/ssl/ca.pem");
  expect_fine(set(s, "ldap_bind_password_file", "/etc/pw"), "pw");
  assert_string_equal(s.ldap_bind_password_file.c_str(), "/etc/pw");
}

void test_ldap_timeout(void**) {
  Settings s;
  assert_int_equal(s.ldap_timeout, 5);  // the default
  for (const char* good : {"1", "2", "5", "60", "119", "120"}) {
    expect_fine(set(s, "ldap_timeout", good), good);
    assert_int_equal(s.ldap_timeout, std::stoi(good));
  }
  for (const char* bad : {"0", "121", "1000", "99999999999999999999", "-1", "", "5s", "1.5", "abc", " "}) {
    Settings t;
    auto st = set(t, "ldap_timeout", bad);
    expect_refused(st, "ldap_timeout", bad);
    assert_int_equal(t.ldap_timeout, 5);
  }
  expect_refused(set(s, "ldap_timeout", "0"), "1..120", "0");
  expect_refused(set(s, "ldap_timeout", "121"), "1..120", "121");
}

// ---- file-only ---------------------------------------------------------------

void test_file_only(void**) {
  assert_true(totp::is_file_only_setting("store"));
  for (const char* k : kLdapKeys) assert_true(totp::is_file_only_setting(k));
  assert_false(totp::is_file_only_setting("window"));
  assert_false(totp::is_file_only_setting("nullok"));
  // Every key the settings table knows that begins with ldap_ is one of ours.
  int ldap_keys = 0;
  for (const auto& name : totp::known_setting_names()) {
    if (name.rfind("ldap_", 0) == 0) {
      ++ldap_keys;
      assert_true(totp::is_file_only_setting(name));
    }
  }
  assert_true(ldap_keys >= 6);

  const std::vector<std::pair<std::string, std::string>> args = {
      {"store", "store=files"},
      {"store", "store=ldap"},
      {"store", "store"},
      {"ldap_uri", "ldap_uri=ldapi://%2Frun%2Fslapd%2Fldapi"},
      {"ldap_base", "ldap_base=ou=totp,dc=example,dc=com"},
      {"ldap_bind_dn", "ldap_bind_dn=cn=x,dc=y"},
      {"ldap_bind_password_file", "ldap_bind_password_file=/etc/pw"},
      {"ldap_ca_file", "ldap_ca_file=/etc/ca.pem"},
      {"ldap_timeout", "ldap_timeout=3"},
      {"ldap_timeout", "ldap_timeout"},
  };
  for (const auto& [key, arg] : args) {
    Settings s;
    std::vector<std::string_view> av = {"nullok", arg};
    auto st = totp::apply_pam_args(s, av);
    expect_refused(st, "file-only", arg.c_str());
    expect_refused(st, key, arg.c_str());
    assert_int_equal(static_cast<int>(st.error().code), static_cast<int>(Errc::invalid_argument));
    assert_true(s.store == Settings::StoreKind::files);
    assert_true(s.ldap_uri.empty());
    assert_int_equal(s.ldap_timeout, 5);
  }
}

// ---- consistency -------------------------------------------------------------

constexpr const char* kComplete =
    "store = ldap\n"
    "ldap_uri = ldap://dir1.example.com ldaps://dir2.example.com:636\n"
    "ldap_base = ou=totp,dc=example,dc=com\n"
    "ldap_bind_dn = cn=pam_totp,ou=services,dc=example,dc=com\n"
    "ldap_bind_password_file = /etc/security/pam_totp.ldap\n"
    "ldap_ca_file = /etc/ssl/dir-ca.pem\n"
    "ldap_timeout = 3\n";

// kComplete without the line that starts with `key`.
std::string without(const char* key) {
  std::string out;
  std::string_view text = kComplete;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl + 1);
    text.remove_prefix(nl + 1);
    if (line.rfind(std::string(key) + " ", 0) != 0) out += line;
  }
  return out;
}

void test_consistency(void**) {
  Settings ok;
  expect_fine(parse(ok, kComplete), "complete");
  assert_true(ok.store == Settings::StoreKind::ldap);
  assert_int_equal(ok.ldap_uri.size(), 2);
  assert_string_equal(ok.ldap_base.c_str(), "ou=totp,dc=example,dc=com");
  assert_string_equal(ok.ldap_bind_dn.c_str(), "cn=pam_totp,ou=services,dc=example,dc=com");
  assert_string_equal(ok.ldap_bind_password_file.c_str(), "/etc/security/pam_totp.ldap");
  assert_string_equal(ok.ldap_ca_file.c_str(), "/etc/ssl/dir-ca.pem");
  assert_int_equal(ok.ldap_timeout, 3);
  expect_fine(totp::check_ldap_settings(ok, "here"), "check complete");
  // The CA file and the timeout are optional.
  Settings minimal;
  expect_fine(parse(minimal, without("ldap_ca_file").c_str()), "no CA");
  Settings t2;
  expect_fine(parse(t2, without("ldap_timeout")), "no timeout");
  assert_int_equal(t2.ldap_timeout, 5);

  struct Case {
    const char* missing;
    const char* word;
  } cases[] = {
      {"ldap_uri", "ldap_uri"},
      {"ldap_base", "ldap_base"},
      {"ldap_bind_dn", "go together"},
      {"ldap_bind_password_file", "go together"},
  };
  for (const auto& c : cases) {
    Settings s;
    auto st = parse(s, without(c.missing));
    expect_refused(st, c.word, c.missing);
    expect_refused(st, "/etc/x.conf", c.missing);
    assert_int_equal(static_cast<int>(st.error().code), static_cast<int>(Errc::invalid_argument));
  }
  // Nothing but the store.
  Settings bare;
  expect_refused(parse(bare, "store = ldap\n"), "needs ldap_uri", "store alone");
  Settings only_uri;
  expect_refused(parse(only_uri, "store = ldap\nldap_uri = ldapi://%2Frun%2Fs\n"), "needs ldap_base", "no base");

  // Without a bind DN: SASL EXTERNAL, over ldapi:// only.
  const char* external_ok = "store = ldap\nldap_uri = ldapi://%2Frun%2Fslapd%2Fldapi\nldap_base = ou=t,dc=x\n";
  Settings e;
  expect_fine(parse(e, external_ok), "EXTERNAL over ldapi");
  assert_true(e.ldap_bind_dn.empty());
  const char* two_ldapi = "store = ldap\nldap_uri = ldapi://%2Fa ldapi://%2Fb\nldap_base = ou=t,dc=x\n";
  Settings e2;
  expect_fine(parse(e2, two_ldapi), "two ldapi");
  for (const char* uri : {"ldap://dir", "ldaps://dir", "ldapi://%2Fa ldap://dir", "ldaps://dir ldapi://%2Fa"}) {
    Settings x;
    const std::string text = std::string("store = ldap\nldap_uri = ") + uri + "\nldap_base = ou=t,dc=x\n";
    auto st = parse(x, text);
    expect_refused(st, "needs ldap_bind_dn", uri);
    expect_refused(st, "ldapi://", uri);
  }

  // store = files: incomplete ldap_* settings are accepted (migrate reads
  // them before the switch) ...
  struct Incomplete {
    const char* text;
    const char* word;  // what check_ldap_settings names
  } incomplete[] = {
      {"ldap_uri = ldap://dir\n", "ldap_base"},
      {"ldap_base = ou=t,dc=x\n", "ldap_uri"},
      {"ldap_uri = ldap://dir\nldap_base = ou=t,dc=x\n", "needs ldap_bind_dn"},
      {"ldap_uri = ldap://dir\nldap_base = ou=t,dc=x\nldap_bind_dn = cn=a,dc=x\n", "go together"},
      {"ldap_uri = ldapi://%2Fs\nldap_base = ou=t,dc=x\nldap_bind_password_file = /etc/pw\n", "go together"},
      {"ldap_timeout = 9\n", "ldap_uri"},
  };
  for (const auto& c : incomplete) {
    for (const char* store : {"", "store = files\n"}) {
      Settings s;
      const std::string text = std::string(store) + c.text;
      expect_fine(parse(s, text), c.text);
      assert_true(s.store == Settings::StoreKind::files);
      // ... and refused by the check migrate makes.
      auto st = totp::check_ldap_settings(s, "migrate");
      expect_refused(st, c.word, c.text);
      expect_refused(st, "migrate", c.text);
    }
  }
  // The default settings have no directory at all.
  expect_refused(totp::check_ldap_settings(Settings{}, "w"), "ldap_uri", "defaults");

  // Order in the file does not matter (the check runs after the last line).
  Settings late;
  expect_fine(parse(late, "ldap_base = ou=t,dc=x\nldap_uri = ldapi://%2Fs\nstore = ldap\n"), "store last");
  assert_true(late.store == Settings::StoreKind::ldap);
}

// ---- load_settings -----------------------------------------------------------

void test_load_settings(void**) {
  state_test::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string p = dir / name;
    state_test::write_file(p, std::vector<std::uint8_t>(text.begin(), text.end()), 0600);
    return p;
  };
  const std::vector<std::string_view> none;

  auto good = totp::load_settings(write("good.conf", kComplete), none);
  expect_fine(good, "complete file");
  assert_true(good->store == Settings::StoreKind::ldap);
  assert_int_equal(good->ldap_uri.size(), 2);
  assert_int_equal(good->ldap_timeout, 3);

  // PAM arguments that are not file-only still apply on top.
  const std::vector<std::string_view> window = {"window=2"};
  auto with_args = totp::load_settings(write("good2.conf", kComplete), window);
  expect_fine(with_args, "complete file + window");
  assert_int_equal(with_args->window, 2);

  const std::string no_uri = write("no_uri.conf", without("ldap_uri"));
  auto r1 = totp::load_settings(no_uri, none);
  expect_refused(r1, "ldap_uri", "no ldap_uri");
  expect_refused(r1, no_uri, "names the file");
  auto r2 = totp::load_settings(write("no_base.conf", without("ldap_base")), none);
  expect_refused(r2, "ldap_base", "no ldap_base");
  auto r3 = totp::load_settings(write("no_pw.conf", without("ldap_bind_password_file")), none);
  expect_refused(r3, "go together", "no password file");
  auto r4 = totp::load_settings(write("no_dn.conf", without("ldap_bind_dn")), none);
  expect_refused(r4, "go together", "no bind DN");
  auto r5 = totp::load_settings(
      write("ext.conf", "store = ldap\nldap_uri = ldaps://dir\nldap_base = ou=t,dc=x\n"), none);
  expect_refused(r5, "needs ldap_bind_dn", "EXTERNAL over ldaps");

  // The module's PAM line cannot set the store either, even to complete a file.
  const std::string partial = write("partial.conf", "store = ldap\nldap_base = ou=t,dc=x\n");
  const std::vector<std::string_view> uri_arg = {"ldap_uri=ldapi://%2Fs"};
  auto r6 = totp::load_settings(partial, uri_arg);
  assert_false(r6.ok());

  // store = files with half a directory configured: loads.
  auto r7 = totp::load_settings(write("files.conf", "store = files\nldap_uri = ldap://dir\n"), none);
  expect_fine(r7, "files with partial ldap");
  assert_true(r7->store == Settings::StoreKind::files);
  assert_int_equal(r7->ldap_uri.size(), 1);
  expect_refused(totp::check_ldap_settings(*r7, "migrate"), "ldap_base", "migrate check");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store),          cmocka_unit_test(test_ldap_uri_accepted),
      cmocka_unit_test(test_ldap_uri_refused), cmocka_unit_test(test_ldap_dns),
      cmocka_unit_test(test_ldap_paths),     cmocka_unit_test(test_ldap_timeout),
      cmocka_unit_test(test_file_only),      cmocka_unit_test(test_consistency),
      cmocka_unit_test(test_load_settings),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
