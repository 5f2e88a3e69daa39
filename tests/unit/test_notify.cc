// SPDX-License-Identifier: Apache-2.0
// core/notify: the hook's environment (exactly PATH and the PAM_TOTP_*
// variables, recovery codes left only for recovery-code-used), sanitising of
// hostile values, the checks on the command (refused: relative, missing,
// symbolic link, group/other-writable, not root's, set-id, not runnable by
// nobody, in a directory others can write to), and that notify() forks
// nothing when there is no command or the command is refused, and exactly
// one short-lived child when it runs. The checks that need files owned by
// root or by someone else are skipped when not run as root.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/notify.h"

extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::NotifyEvent;
using totp::NotifyKind;
using totp::NotifyRunAs;

namespace {

const NotifyRunAs kNobody{65534, 65534};

bool has(const std::vector<std::string>& env, const std::string& entry) {
  for (const auto& e : env) {
    if (e == entry) return true;
  }
  return false;
}

bool printable_ascii(const std::string& s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

NotifyEvent lockout_event() {
  NotifyEvent e;
  e.kind = NotifyKind::lockout;
  e.user = "alice";
  e.rhost = "192.0.2.7";
  e.service = "sshd";
  e.time = 1700000010;
  return e;
}

void env_exact(void**) {
  const auto env = totp::notify_environment(lockout_event(), "host1");
  const std::vector<std::string> want = {
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PAM_TOTP_EVENT=lockout",  "PAM_TOTP_USER=alice",
      "PAM_TOTP_HOST=host1",                "PAM_TOTP_RHOST=192.0.2.7", "PAM_TOTP_SERVICE=sshd",
      "PAM_TOTP_TIME=1700000010",           "PAM_TOTP_TIME_UTC=2023-11-14T22:13:30Z"};
  assert_int_equal(env.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) assert_string_equal(env[i].c_str(), want[i].c_str());
}

void env_recovery_left(void**) {
  NotifyEvent e = lockout_event();
  e.kind = NotifyKind::recovery_code_used;
  e.recovery_left = 3;
  auto env = totp::notify_environment(e, "h");
  assert_true(has(env, "PAM_TOTP_EVENT=recovery-code-used"));
  assert_true(has(env, "PAM_TOTP_RECOVERY_LEFT=3"));
  e.recovery_left = 0;
  env = totp::notify_environment(e, "h");
  assert_true(has(env, "PAM_TOTP_RECOVERY_LEFT=0"));
  // Only for recovery-code-used.
  for (const NotifyKind k : {NotifyKind::lockout, NotifyKind::enrol, NotifyKind::replace, NotifyKind::remove,
                             NotifyKind::revoke}) {
    e.kind = k;
    e.recovery_left = 5;
    env = totp::notify_environment(e, "h");
    for (const auto& v : env) assert_true(v.rfind("PAM_TOTP_RECOVERY_LEFT=", 0) != 0);
    assert_int_equal(env.size(), 8);
  }
}

void event_names(void**) {
  assert_string_equal(totp::notify_kind_name(NotifyKind::lockout), "lockout");
  assert_string_equal(totp::notify_kind_name(NotifyKind::recovery_code_used), "recovery-code-used");
  assert_string_equal(totp::notify_kind_name(NotifyKind::enrol), "enrol");
  assert_string_equal(totp::notify_kind_name(NotifyKind::replace), "replace");
  assert_string_equal(totp::notify_kind_name(NotifyKind::remove), "remove");
  assert_string_equal(totp::notify_kind_name(NotifyKind::revoke), "revoke");
}

void hostile_values(void**) {
  NotifyEvent e = lockout_event();
  e.user = "evil\nPAM_TOTP_EVENT=enrol\x1b[2J\xc3\xa9";
  e.rhost = std::string(5000, 'r') + "\n";
  e.service = std::string("s\0x", 3);
  const auto env = totp::notify_environment(e, std::string("h\tost\x7f"));
  assert_int_equal(env.size(), 8);
  for (const auto& v : env) {
    assert_true(printable_ascii(v));
    assert_true(v.size() < 300);  // capped
  }
  assert_string_equal(env[1].c_str(), "PAM_TOTP_EVENT=lockout");
  assert_string_equal(env[2].c_str(), "PAM_TOTP_USER=evil\\x0aPAM_TOTP_EVENT=enrol\\x1b[2J\\xc3\\xa9");
  assert_string_equal(env[3].c_str(), "PAM_TOTP_HOST=h\\x09ost\\x7f");
  assert_string_equal(env[5].c_str(), "PAM_TOTP_SERVICE=s\\x00x");
  assert_true(env[4].size() > 200 && env[4].substr(env[4].size() - 3) == "...");
  // A backslash cannot pass for an escape.
  assert_string_equal(totp::notify_value("a\\x41").c_str(), "a\\x5cx41");
  assert_string_equal(totp::notify_value("").c_str(), "");
}

// The helper's relay: what goes over the socket comes back the same, and
// anything else is refused.
void relay_lines(void**) {
  NotifyEvent e = lockout_event();
  e.user = "a b\n\x01\\";
  e.rhost = "";
  std::string line = totp::encode_notify_event(e);
  assert_true(line.back() == '\n');
  assert_true(line.find('\n') == line.size() - 1);
  auto back = totp::decode_notify_event(std::string_view(line).substr(0, line.size() - 1));
  assert_true(back.has_value());
  assert_true(back->kind == NotifyKind::lockout);
  assert_string_equal(back->user.c_str(), e.user.c_str());
  assert_string_equal(back->rhost.c_str(), "");
  assert_string_equal(back->service.c_str(), "sshd");
  assert_int_equal(back->time, 1700000010);
  assert_false(back->recovery_left.has_value());
  e.kind = NotifyKind::recovery_code_used;
  e.recovery_left = 7;
  line = totp::encode_notify_event(e);
  back = totp::decode_notify_event(std::string_view(line).substr(0, line.size() - 1));
  assert_true(back.has_value() && back->kind == NotifyKind::recovery_code_used && back->recovery_left == 7u);
  for (const char* bad : {"", "lockout", "boom 61 - 73 1 -", "lockout 6 - 73 1 -",
                          "lockout 6g - 73 1 -", "lockout 61 - 73 x -", "lockout 61 - 73 1 - extra",
                          "lockout 61 - 73 1 1234567", "lockout 61 - 73 -1 -", "lockout 61  73 1 -"}) {
    assert_false(totp::decode_notify_event(bad).has_value());
  }
  back = totp::decode_notify_event("lockout 61 - 73 1 -");
  assert_true(back.has_value() && back->user == "a" && back->rhost.empty() && back->service == "s");
}

// --- the command's checks ---

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/test_notify.XXXXXX";
    const char* p = mkdtemp(tmpl);
    assert_non_null(p);
    path = p;
    assert_int_equal(chmod(path.c_str(), 0755), 0);
  }
  ~Dir() {
    const std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) {
    }
  }
  std::string file(const std::string& name, mode_t mode, const std::string& text = "#!/bin/sh\nexit 0\n") const {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    assert_int_equal(chmod(p.c_str(), mode), 0);
    return p;
  }
};

bool root() { return geteuid() == 0; }

void refuses_bad_paths(void**) {
  auto r = totp::open_notify_command("relative/hook", kNobody);
  assert_false(r.ok());
  assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(totp::Errc::invalid_argument));
  r = totp::open_notify_command("/nonexistent-dir-xyz/hook", kNobody);
  assert_false(r.ok());
  assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(totp::Errc::not_found));
  r = totp::open_notify_command("/usr/", kNobody);
  assert_false(r.ok());
}

void accepts_a_good_command(void**) {
  if (!root()) skip();
  Dir d;
  const std::string hook = d.file("hook", 0755);
  auto r = totp::open_notify_command(hook, kNobody);
  if (!r) fail_msg("%s", r.error().message.c_str());
  const int flags = fcntl(r->get(), F_GETFD);
  assert_true(flags >= 0 && (flags & FD_CLOEXEC) != 0);
  // Nobody's group with r-x for the group is enough.
  const std::string grp = d.file("grp", 0750);
  assert_int_equal(chown(grp.c_str(), 0, kNobody.gid), 0);
  assert_true(totp::open_notify_command(grp, kNobody).ok());
}

void refuses_unsafe_commands(void**) {
  if (!root()) skip();
  Dir d;
  const auto refused = [](const std::string& path, const char* why) {
    auto r = totp::open_notify_command(path, kNobody);
    if (r) fail_msg("accepted %s", path.c_str());
    if (r.error().message.find(why) == std::string::npos) fail_msg("%s: %s", path.c_str(), r.error().message.c_str());
  };
  refused(d.file("gw", 0775), "writable by group or others");
  refused(d.file("ow", 0757), "writable by group or others");
  const std::string theirs = d.file("theirs", 0755);
  assert_int_equal(chown(theirs.c_str(), 65534, 0), 0);
  refused(theirs, "owned by uid 65534");
  refused(d.file("suid", 04755), "set-user-ID");
  refused(d.file("sgid", 02755), "set-user-ID");
  refused(d.file("private", 0700), "cannot read and execute");
  const std::string good = d.file("good", 0755);
  assert_int_equal(symlink(good.c_str(), (d.path + "/link").c_str()), 0);
  refused(d.path + "/link", "symbolic link");
  assert_int_equal(mkdir((d.path + "/sub").c_str(), 0755), 0);
  refused(d.path + "/sub", "not a regular file");
  refused(d.path + "/missing", "does not exist");
  // A directory others may write to (not sticky) anywhere on the way.
  assert_int_equal(mkdir((d.path + "/open").c_str(), 0777), 0);
  assert_int_equal(chmod((d.path + "/open").c_str(), 0777), 0);
  const std::string inside = d.path + "/open/hook";
  std::ofstream(inside) << "#!/bin/sh\n";
  assert_int_equal(chmod(inside.c_str(), 0755), 0);
  refused(inside, "writable by group or others");
  // ... or one owned by someone else.
  assert_int_equal(mkdir((d.path + "/nb").c_str(), 0755), 0);
  const std::string nb = d.path + "/nb/hook";
  std::ofstream(nb) << "#!/bin/sh\n";
  assert_int_equal(chmod(nb.c_str(), 0755), 0);
  assert_int_equal(chown((d.path + "/nb").c_str(), 65534, 65534), 0);
  refused(nb, "owned by uid 65534");
  // A sticky world-writable directory (/tmp) is fine for a root-owned entry:
  // Dir itself lives in /tmp.
}

// --- forks ---

volatile sig_atomic_t g_children = 0;
void on_child(int) { g_children = g_children + 1; }

void count_forks(void (*body)(), int want) {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = on_child;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
  g_children = 0;
  body();
  // The first child has been reaped by notify(); its SIGCHLD came at once.
  for (int i = 0; i < 50 && g_children < want; ++i) usleep(10000);
  assert_int_equal(static_cast<int>(g_children), want);
  assert_int_equal(sigaction(SIGCHLD, &old, nullptr), 0);
  // No child of ours is left (nothing to reap, no zombie).
  assert_int_equal(waitpid(-1, nullptr, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

void no_command_no_fork(void**) {
  count_forks([] {
    totp::Settings s;
    totp::notify(s, lockout_event());
  }, 0);
}

std::string g_hook;
void refused_command_no_fork(void**) {
  if (!root()) skip();
  Dir d;
  g_hook = d.file("gw", 0775);
  count_forks([] {
    totp::Settings s;
    s.notify_command = g_hook;
    totp::notify(s, lockout_event());
  }, 0);
  g_hook = d.path + "/missing";
  count_forks([] {
    totp::Settings s;
    s.notify_command = g_hook;
    totp::notify(s, lockout_event());
  }, 0);
}

void good_command_one_fork(void**) {
  if (!root()) skip();
  Dir d;
  g_hook = d.file("hook", 0755);
  count_forks([] {
    totp::Settings s;
    s.notify_command = g_hook;
    totp::notify(s, lockout_event());
  }, 1);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(env_exact),
      cmocka_unit_test(env_recovery_left),
      cmocka_unit_test(event_names),
      cmocka_unit_test(hostile_values),
      cmocka_unit_test(relay_lines),
      cmocka_unit_test(refuses_bad_paths),
      cmocka_unit_test(accepts_a_good_command),
      cmocka_unit_test(refuses_unsafe_commands),
      cmocka_unit_test(no_command_no_fork),
      cmocka_unit_test(refused_command_no_fork),
      cmocka_unit_test(good_command_one_fork),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
