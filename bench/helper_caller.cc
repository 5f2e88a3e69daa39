// SPDX-License-Identifier: Apache-2.0
#include "bench/helper_caller.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bench {

namespace {

// One request: a kind ('L' login, 'S' bare start of the helper, 'T' of
// /bin/true) and the answer to type.
struct Request {
  char kind;
  char answer[63];
};
static_assert(sizeof(Request) <= PIPE_BUF, "one atomic pipe write");

// Every reply: a result (PAM's, or for the first reply the stage that
// failed) and nanoseconds (or, for a failed first reply, the errno).
struct Wire {
  std::int32_t rc;
  std::int64_t ns;
};

// The caller's first reply: kReady (and its resident KiB), or the stage
// that failed (and its errno).
enum Stage : std::int32_t { kReady = 0, kDrop = 1, kReach = 2, kExec = 3, kLoad = 4 };

// The caller's end of the pipes after exec.
constexpr int kCallerIn = 3;
constexpr int kCallerOut = 4;

bool write_full(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_full(int fd, void* p, std::size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// As pam_totp.so starts the helper (pam_module/helper_client.cc): a socket
// pair on stdin/stdout, no other fds, an empty environment. Our side is
// closed at once, so the helper does its setup, reads end of input and exits.
std::int64_t time_bare_start(const std::string& program) {
  std::string argv0 = program;
  char* const argv[] = {argv0.data(), nullptr};
  char* const envp[] = {nullptr};
  const std::int64_t t0 = now_ns();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execve(program.c_str(), argv, envp);
    _exit(127);
  }
  close(sv[1]);
  close(sv[0]);
  if (pid < 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  const std::int64_t ns = now_ns() - t0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ns : -1;
}

// In the forked child: drop to the caller's account, then become a fresh
// pam_bench in caller mode (caller_main), so that the caller is the size of
// a small PAM application, not of the benchmark's heap: pam_totp.so forks
// the helper from it, and a fork costs more the more its parent has mapped.
[[noreturn]] void become_caller(const CallerSetup& s, int in, int out) {
  Wire fail{kReady, 0};
  if (setgroups(0, nullptr) != 0 || setresgid(s.gid, s.gid, s.gid) != 0 || setresuid(s.uid, s.uid, s.uid) != 0) {
    fail = Wire{kDrop, errno};
  } else if (geteuid() != s.uid || getuid() != s.uid) {
    fail = Wire{kDrop, EPERM};
  } else if (access(s.helper.c_str(), X_OK) != 0) {
    fail = Wire{kReach, errno};
  }
  if (fail.rc == kReady) {
    // Pipes to fds 3 and 4 (without close-on-exec), by way of fds out of the way.
    const int hi_in = fcntl(in, F_DUPFD, 10), hi_out = fcntl(out, F_DUPFD, 10);
    if (hi_in < 0 || hi_out < 0 || dup2(hi_in, kCallerIn) < 0 || dup2(hi_out, kCallerOut) < 0) {
      fail = Wire{kExec, errno};
    } else {
      std::string a0 = "pam_bench", a1 = "--as-caller", a2 = s.confdir, a3 = s.service, a4 = s.user, a5 = s.helper,
                  a6 = s.preload_so;
      char* const argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), a6.data(), nullptr};
      char* const envp[] = {nullptr};
      execve("/proc/self/exe", argv, envp);
      fail = Wire{kExec, errno};
    }
  }
  (void)write_full(out, &fail, sizeof fail);
  _exit(1);
}

}  // namespace

// ---- the helper's config and the caller's account ---------------------------

namespace {

constexpr char kConfigMark[] = "# written by pam_bench for the helper path; removed at exit\n";
char g_config_path[4096] = "";  // a live HelperConfig's file, for remove_helper_config_now

void make_dirs(const std::string& path) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::runtime_error("mkdir " + part + ": " + std::strerror(errno));
    }
  }
}

}  // namespace

HelperConfig::HelperConfig(const std::string& path, const std::string& state_dir, const std::string& key_file)
    : path_(path) {
  if (path.size() >= sizeof g_config_path) throw std::runtime_error(path + ": path too long");
  std::ifstream old(path);
  if (old) {
    std::string first;
    std::getline(old, first);
    if (first + "\n" != kConfigMark) {
      throw std::runtime_error(path + " exists and was not written by pam_bench: move it away (the helper path "
                                      "needs its own config there for the run)");
    }
  }
  make_dirs(path.substr(0, path.rfind('/')));
  write_file(path, std::string(kConfigMark) + "state_dir = " + state_dir + "\nkey_file = " + key_file + "\n", 0644);
  if (chmod(path.c_str(), 0644) != 0) throw std::runtime_error("chmod " + path + ": " + std::strerror(errno));
  std::snprintf(g_config_path, sizeof g_config_path, "%s", path.c_str());
}

HelperConfig::~HelperConfig() {
  unlink(path_.c_str());
  g_config_path[0] = '\0';
}

void remove_helper_config_now() noexcept {
  if (g_config_path[0] != '\0') unlink(g_config_path);
}

uid_t add_namespace_user(const std::string& dir, const std::string& name) {
  if (getpwnam(name.c_str()) != nullptr) throw std::runtime_error("account " + name + " exists already");
  uid_t uid = 61000;
  while (getpwuid(uid) != nullptr) ++uid;
  std::ifstream in("/etc/passwd");
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  if (!all.empty() && all.back() != '\n') all += "\n";
  all += name + ":x:" + std::to_string(uid) + ":" + std::to_string(uid) + ":pam_bench caller:/nonexistent:/usr/sbin/nologin\n";
  const std::string copy = dir + "/passwd";
  write_file(copy, all, 0644);
  if (chmod(copy.c_str(), 0644) != 0 || mount(copy.c_str(), "/etc/passwd", nullptr, MS_BIND, nullptr) != 0) {
    throw std::runtime_error("bind mount of " + copy + " on /etc/passwd: " + std::strerror(errno));
  }
  const passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr || pw->pw_uid != uid) throw std::runtime_error("account " + name + " not found after adding it");
  return uid;
}

// ---- the caller process ------------------------------------------------------

HelperCaller::HelperCaller(const CallerSetup& setup) {
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (pipe2(up, O_CLOEXEC) != 0) {
    close(down[0]);
    close(down[1]);
    throw std::runtime_error("pipe failed");
  }
  pid_ = fork();
  if (pid_ == 0) {
    close(down[1]);
    close(up[0]);
    try {
      become_caller(setup, down[0], up[1]);
    } catch (...) {
      _exit(1);
    }
  }
  close(down[0]);
  close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
  if (pid_ < 0) {
    close(to_child_);
    close(from_child_);
    throw std::runtime_error("fork failed");
  }
  Wire hello{-1, 0};
  if (!read_full(from_child_, &hello, sizeof hello) || hello.rc != kReady) {
    std::string why = hello.rc == kDrop    ? "cannot drop to uid " + std::to_string(setup.uid)
                      : hello.rc == kReach ? "uid " + std::to_string(setup.uid) + " cannot reach " + setup.helper +
                                                 " (directory permissions?)"
                      : hello.rc == kExec  ? "cannot run pam_bench again as uid " + std::to_string(setup.uid)
                      : hello.rc == kLoad  ? "uid " + std::to_string(setup.uid) + " cannot load " + setup.preload_so
                                           : "the caller process ended";
    if (hello.rc >= kDrop && hello.rc <= kLoad) why += std::string(": ") + std::strerror(static_cast<int>(hello.ns));
    end_child();
    throw std::runtime_error("non-root caller: " + why);
  }
  resident_kib_ = static_cast<long>(hello.ns);
}

HelperCaller::~HelperCaller() { end_child(); }

void HelperCaller::end_child() noexcept {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  to_child_ = from_child_ = -1;
  if (pid_ > 0) {
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

Outcome HelperCaller::ask(char kind, const std::string& answer) {
  Request rq{};
  rq.kind = kind;
  if (answer.size() >= sizeof rq.answer) throw std::runtime_error("non-root caller: answer too long");
  std::memcpy(rq.answer, answer.data(), answer.size());
  Wire r{};
  if (!write_full(to_child_, &rq, sizeof rq) || !read_full(from_child_, &r, sizeof r)) {
    throw std::runtime_error("non-root caller: the child process ended");
  }
  Outcome o;
  o.authenticate_rc = r.rc;
  o.ns = r.ns;
  return o;
}

Outcome HelperCaller::login(const std::string& answer) { return ask('L', answer); }

std::int64_t HelperCaller::bare_start() { return ask('S', "").ns; }

std::int64_t HelperCaller::bare_true() { return ask('T', "").ns; }

}  // namespace bench

namespace bench {

// pam_bench --as-caller CONFDIR SERVICE USER HELPER [MODULE]: the caller
// after exec (see become_caller), already without root. MODULE, if not
// empty, is dlopen'ed once and kept, as the root rows' modules are.
int caller_main(int argc, char** argv) {
  if (argc != 7 || getuid() == 0 || geteuid() == 0) return 2;
  const std::string confdir = argv[2], service = argv[3], user = argv[4], helper = argv[5], so = argv[6];
  if (!so.empty() && dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
    const Wire fail{kLoad, EACCES};
    (void)write_full(kCallerOut, &fail, sizeof fail);
    return 1;
  }
  const Wire hello{kReady, resident_kib()};
  if (!write_full(kCallerOut, &hello, sizeof hello)) return 1;
  for (;;) {
    Request rq{};
    if (!read_full(kCallerIn, &rq, sizeof rq)) return 0;
    rq.answer[sizeof rq.answer - 1] = '\0';
    std::int32_t rc = 0;
    std::int64_t ns = -1;
    if (rq.kind == 'L') {
      const Outcome o = run_transaction(confdir, service, user, rq.answer);
      rc = o.authenticate_rc;
      ns = o.ns;
    } else if (rq.kind == 'S') {
      ns = time_bare_start(helper);
    } else if (rq.kind == 'T') {
      ns = time_bare_start("/bin/true");
    }
    const Wire reply{rc, ns};
    if (!write_full(kCallerOut, &reply, sizeof reply)) return 1;
  }
}

}  // namespace bench
