// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/session_end.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string_view>
#include <set>
#include <thread>
#include <vector>

#include "core/fs.h"

namespace totp::setup {

namespace {

constexpr const char* kLoginctl = "/usr/bin/loginctl";

// systemd is the init (sd_booted(3): /run/systemd/system exists) and
// loginctl is installed; a container may have /run/systemd without either.
bool logind_running() {
  struct stat st {};
  return ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) && ::access(kLoginctl, X_OK) == 0;
}

Result<bool> loginctl_terminate(const std::string& user) {
  pid_t pid = 0;
  std::string arg0 = "loginctl", arg1 = "terminate-user";
  std::string name = user;
  char* argv[] = {arg0.data(), arg1.data(), name.data(), nullptr};
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env, nullptr};
  // Its chatter is not ours to print: the outcome is its exit status, and
  // the signals below follow whatever it did.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&pid, kLoginctl, &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return make_error(Errc::io_error, std::string("cannot run loginctl: ") + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(Errc::io_error, "cannot wait for loginctl");
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// "Uid:\treal\teffective\tsaved\tfs" of /proc/PID/status: any of them the user's.
bool runs_as(int proc_dir, const char* pid, uid_t uid) {
  std::string path = std::string(pid) + "/status";
  UniqueFd fd(::openat(proc_dir, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return false;
  char buf[4096];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  std::string_view text(buf, static_cast<std::size_t>(n));
  const auto at = text.find("\nUid:");
  if (at == std::string_view::npos) return false;
  std::string_view rest = text.substr(at + 5);
  rest = rest.substr(0, rest.find('\n'));
  for (int field = 0; field < 4; ++field) {
    const auto start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    rest = rest.substr(start);
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc()) break;
    if (v == uid) return true;
    rest = rest.substr(static_cast<std::size_t>(p - rest.data()));
  }
  return false;
}

std::vector<pid_t> processes_of(uid_t uid) {
  std::vector<pid_t> out;
  UniqueFd proc(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (proc.get() < 0) return out;
  DIR* dir = ::fdopendir(::dup(proc.get()));
  if (dir == nullptr) return out;
  const pid_t self = ::getpid();
  while (const dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    const char* name = e->d_name;
    auto [p, ec] = std::from_chars(name, name + std::strlen(name), pid);
    if (ec != std::errc() || *p != '\0' || pid <= 1 || pid == self) continue;
    if (runs_as(proc.get(), name, uid)) out.push_back(pid);
  }
  ::closedir(dir);
  return out;
}

}  // namespace

Result<SessionsEnded> end_sessions(const std::string& user, uid_t uid) {
  if (uid == 0) return make_error(Errc::invalid_argument, "not ending root's processes: end " + user + "'s sessions by hand");
  SessionsEnded out;
  if (logind_running()) {
    auto ok = loginctl_terminate(user);
    if (ok && *ok) out.how = "loginctl terminate-user";
    // A user without a logind session may still have processes (cron, a
    // nohup): the signals below find them either way.
  }
  // SIGTERM first (shells save history, editors their files), SIGKILL for
  // what is left a second later, and again for anything forked meanwhile.
  std::set<pid_t> seen;
  for (pid_t pid : processes_of(uid)) {
    ::kill(pid, SIGTERM);
    seen.insert(pid);
  }
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 1000 : 200));
    std::vector<pid_t> left = processes_of(uid);
    if (left.empty()) break;
    for (pid_t pid : left) {
      ::kill(pid, SIGKILL);
      seen.insert(pid);
    }
  }
  out.processes = seen.size();
  if (!processes_of(uid).empty()) return make_error(Errc::io_error, "some of " + user + "'s processes did not end");
  if (out.how.empty()) out.how = "signals";
  return out;
}

}  // namespace totp::setup
