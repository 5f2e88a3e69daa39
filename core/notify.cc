// SPDX-License-Identifier: Apache-2.0
// The event hook (core/notify.h). Everything that allocates, looks a user up
// or may fail with a message is done here, in the caller, before fork(): the
// PAM host (sshd, a screen locker) may have threads, so between fork() and
// exec the children use only async-signal-safe system calls on memory that
// was prepared beforehand, and report their own failures with a datagram
// to /dev/log built by hand (never syslog(), which takes locks).
#include "core/notify.h"
#include "core/notify_relay.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace totp {
namespace {

// Where the command's descriptor sits in the children: fexecve runs it
// through that descriptor, and a script's interpreter opens /dev/fd/3.
constexpr int kCommandFd = 3;
constexpr std::size_t kMaxPath = 4096;

std::string errno_text(int err) { return std::strerror(err); }

Error io_error(const std::string& what, int err) { return make_error(Errc::io_error, what + ": " + errno_text(err)); }

// A directory on the way to the command: root's, and nobody else may change
// its entries. A sticky directory (/tmp) is allowed: there only an entry's
// owner may rename or remove it, and the next component is checked to be
// root's.
Status check_directory(int fd, const std::string& where) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("cannot stat " + where, errno);
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::permission, where + " is not a directory");
  if (st.st_uid != 0) {
    return make_error(Errc::permission, "directory " + where + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return make_error(Errc::permission, "directory " + where + " is writable by group or others");
  }
  return ok_status();
}

// --- What the children use: async-signal-safe only. ---

// Text for one datagram to /dev/log, put together without allocating.
struct RawLine {
  char buf[1024];
  std::size_t len = 0;
  void add(const char* s) noexcept {
    while (s != nullptr && *s != 0 && len < sizeof buf) buf[len++] = *s++;
  }
  void add_number(long long v) noexcept {
    char digits[24];
    std::size_t n = 0;
    const bool negative = v < 0;
    unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0 && n < sizeof digits);
    if (negative) add("-");
    while (n > 0 && len < sizeof buf) buf[len++] = digits[--n];
  }
};

// Prepared before fork: the syslog header and the command's name.
struct ChildPlan {
  int command_fd = -1;
  int null_fd = -1;
  uid_t uid = 0;
  gid_t gid = 0;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* log_head = nullptr;  // "<PRI>pam_totp-notify["
  const char* log_tail = nullptr;  // "]: notify_command PATH: "
};

// One line to the system log, as syslog() would send it (no timestamp: the
// log daemon adds one). Failures are ignored: there is nobody to tell.
void raw_log(const ChildPlan& plan, const char* text, long long number = LLONG_MIN, const char* after = nullptr) noexcept {
  RawLine line;
  line.add(plan.log_head);
  line.add_number(static_cast<long long>(::getpid()));
  line.add(plan.log_tail);
  line.add(text);
  if (number != LLONG_MIN) line.add_number(number);
  line.add(after);
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  static constexpr char kLogSocket[] = "/dev/log";
  for (std::size_t i = 0; i < sizeof kLogSocket; ++i) addr.sun_path[i] = kLogSocket[i];
  (void)::sendto(s, line.buf, line.len, MSG_NOSIGNAL, reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr);
  ::close(s);
}

pid_t fork_in_child() noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // No atfork handlers: they are the host's and not ours to run here.
  return ::_Fork();
#else
  return ::fork();
#endif
}

std::int64_t monotonic_ms() noexcept {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms) noexcept {
  struct timespec ts {};
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  (void)::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

// Does any process of the group still exist?
bool group_alive(pid_t pgid) noexcept { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

// 0/1/2 on /dev/null, the command on kCommandFd (inherited across exec),
// nothing else.
bool arrange_descriptors(const ChildPlan& plan) noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(plan.null_fd, fd) < 0) return false;
  }
  if (plan.command_fd == kCommandFd) {
    if (::fcntl(kCommandFd, F_SETFD, 0) != 0) return false;
  } else if (::dup2(plan.command_fd, kCommandFd) < 0) {  // dup2 leaves FD_CLOEXEC clear
    return false;
  }
#ifdef SYS_close_range
  const bool closed = ::syscall(SYS_close_range, kCommandFd + 1, ~0U, 0) == 0;
#else
  const bool closed = false;
#endif
  if (!closed) {
    struct rlimit rl {};
    rlim_t top = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
    if (top > 1048576) top = 1048576;
    for (rlim_t fd = kCommandFd + 1; fd < top; ++fd) (void)::close(static_cast<int>(fd));
  }
  return true;
}

// Default handling of every signal, then none blocked (the caller blocked
// them all around fork, so no handler of the host ran in here). A signal
// that came while they were blocked was meant for the host (the hangup of
// the terminal of the session we just left, say): ignoring a pending signal
// discards it, so each is ignored first, then set to its default.
void reset_signals() noexcept {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)::sigaction(sig, &ign, nullptr);  // glibc's reserved signals refuse: fine
    (void)::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The host's resource limits are not the hook's: a PAM application (or the
// user behind the setuid helper) must not be able to stop it running by
// lowering them. No core dump (its environment names a user).
void reset_limits() noexcept {
  const struct rlimit unlimited {RLIM_INFINITY, RLIM_INFINITY};
  for (const int r : {RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_AS, RLIMIT_NPROC}) {
    (void)::setrlimit(static_cast<__rlimit_resource>(r), &unlimited);
  }
  const struct rlimit none {0, 0};
  (void)::setrlimit(RLIMIT_CORE, &none);
}

// nobody, for good: no supplementary groups, and no way back to root.
bool drop_privileges(const ChildPlan& plan) noexcept {
  if (::setgroups(0, nullptr) != 0) return false;
  if (::setresgid(plan.gid, plan.gid, plan.gid) != 0) return false;
  if (::setresuid(plan.uid, plan.uid, plan.uid) != 0) return false;
  uid_t ru = 0, eu = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&ru, &eu, &su) != 0 || ru != plan.uid || eu != plan.uid || su != plan.uid) return false;
  if (::getresgid(&rg, &eg, &sg) != 0 || rg != plan.gid || eg != plan.gid || sg != plan.gid) return false;
  if (::getgroups(0, nullptr) != 0) return false;
  // Verify that root cannot be had back.
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0) return false;
  // And that nothing it runs can gain privileges (set-id files, file caps).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return true;
}

// The command itself: its own process group (the watchdog kills the group),
// then exec through the checked descriptor.
[[noreturn]] void run_command(const ChildPlan& plan) noexcept {
  (void)::setpgid(0, 0);
  ::fexecve(kCommandFd, plan.argv, plan.envp);
  raw_log(plan, "cannot be executed: errno ", errno);
  ::_exit(127);
}

// The watchdog (the grandchild of the caller, already nobody): starts the
// command, waits for it and for anything it left in its process group, and
// kills that group at the time limit.
[[noreturn]] void watch(const ChildPlan& plan) noexcept {
  const std::int64_t deadline = monotonic_ms() + kNotifyTimeLimitSeconds * 1000LL;
  const pid_t child = fork_in_child();
  if (child < 0) {
    raw_log(plan, "not run: cannot fork: errno ", errno);
    ::_exit(1);
  }
  if (child == 0) run_command(plan);
  (void)::setpgid(child, child);  // whichever of the two gets there first
  bool reaped = false;
  while (monotonic_ms() < deadline) {
    if (!reaped) {
      int status = 0;
      const pid_t r = ::waitpid(child, &status, WNOHANG);
      if (r == child) {
        reaped = true;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127) {
          raw_log(plan, "failed: exit status ", WEXITSTATUS(status));
        } else if (WIFSIGNALED(status)) {
          raw_log(plan, "failed: killed by signal ", WTERMSIG(status));
        }
      } else if (r < 0 && errno != EINTR) {
        reaped = true;
      }
    }
    if (reaped && !group_alive(child)) ::_exit(0);
    sleep_ms(reaped ? 100 : 20);
  }
  raw_log(plan, "still running after the time limit of ", kNotifyTimeLimitSeconds, " s: its process group is killed");
  (void)::kill(-child, SIGTERM);
  if (!reaped) (void)::kill(child, SIGTERM);
  const std::int64_t grace_end = monotonic_ms() + kNotifyKillGraceSeconds * 1000LL;
  while (monotonic_ms() < grace_end) {
    if (!reaped && ::waitpid(child, nullptr, WNOHANG) == child) reaped = true;
    if (reaped && !group_alive(child)) ::_exit(0);
    sleep_ms(20);
  }
  (void)::kill(-child, SIGKILL);
  if (!reaped) {
    (void)::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  ::_exit(0);
}

// The caller's grandchild: detaches and becomes the unprivileged watchdog.
[[noreturn]] void detached(const ChildPlan& plan) noexcept {
  (void)::setsid();
  if (!arrange_descriptors(plan)) ::_exit(1);
  reset_signals();
  ::umask(077);
  if (::chdir("/") != 0) ::_exit(1);
  reset_limits();
  if (!drop_privileges(plan)) {
    raw_log(plan, "not run: cannot become an unprivileged user for it: errno ", errno);
    ::_exit(1);
  }
  watch(plan);
}

// The user that the command runs as.
Result<NotifyRunAs> run_as_user() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::string buf(4096, '\0');
  int rc = 0;
  for (int tries = 0; tries < 6; ++tries) {
    rc = ::getpwnam_r(kNotifyRunAs, &pw, buf.data(), buf.size(), &found);
    if (rc != ERANGE) break;
    buf.resize(buf.size() * 2);
  }
  if (rc != 0 || found == nullptr) {
    return make_error(Errc::not_found, std::string("there is no user '") + kNotifyRunAs + "' to run it as");
  }
  if (pw.pw_uid == 0 || pw.pw_gid == 0) {
    return make_error(Errc::permission, std::string("user '") + kNotifyRunAs + "' is root's uid or gid");
  }
  return NotifyRunAs{pw.pw_uid, pw.pw_gid};
}

// An fd that is not 0, 1 or 2 (a daemon may run with them closed), so that
// the children's dup2 onto 0..2 cannot clobber it.
Status lift_fd(UniqueFd& fd) {
  if (fd.get() > 2) return ok_status();
  const int lifted = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kCommandFd + 1);
  if (lifted < 0) return io_error("fcntl", errno);
  fd.reset(lifted);
  return ok_status();
}

// Blocks every signal of this thread for its lifetime: no handler of the
// host may run in a child before the child resets them.
class BlockAllSignals {
 public:
  BlockAllSignals() noexcept {
    sigset_t all;
    sigfillset(&all);
    ok_ = ::pthread_sigmask(SIG_SETMASK, &all, &old_) == 0;
  }
  ~BlockAllSignals() {
    if (ok_) (void)::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockAllSignals(const BlockAllSignals&) = delete;
  BlockAllSignals& operator=(const BlockAllSignals&) = delete;

 private:
  sigset_t old_{};
  bool ok_ = false;
};

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return std::string(buf);
}

std::string iso_utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  struct tm tm {};
  if (::gmtime_r(&tt, &tm) == nullptr) return {};
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return {};
  return buf;
}

void run_notify(const Settings& settings, const NotifyEvent& event) {
  LogContext ctx;
  ctx.service = event.service;
  ctx.user = event.user;
  ctx.rhost = event.rhost;
  ctx.debug = settings.debug;
  const std::string& path = settings.notify_command;
  const std::string what = std::string("notify_command ") + path + " (event " + notify_kind_name(event.kind) + ")";
  auto run_as = run_as_user();
  if (!run_as) {
    log_event(ctx, LOG_ERR, what + " not run: " + run_as.error().message);
    return;
  }
  auto command = open_notify_command(path, *run_as);
  if (!command) {
    log_event(ctx, LOG_ERR, what + " not run: " + command.error().message);
    return;
  }
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!null.valid()) {
    log_event(ctx, LOG_ERR, what + " not run: cannot open /dev/null: " + errno_text(errno));
    return;
  }
  if (Status a = lift_fd(*command), b = lift_fd(null); !a || !b) {
    log_event(ctx, LOG_ERR, what + " not run: cannot move a descriptor");
    return;
  }

  // Everything the children need, prepared here.
  const std::vector<std::string> env = notify_environment(event, host_name());
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[2] = {arg0.data(), nullptr};
  const std::string log_head = "<" + std::to_string(LOG_AUTHPRIV | LOG_WARNING) + ">pam_totp-notify[";
  const std::string log_tail = "]: notify_command " + sanitize_for_log(path) + ": ";
  ChildPlan plan;
  plan.command_fd = command->get();
  plan.null_fd = null.get();
  plan.uid = run_as->uid;
  plan.gid = run_as->gid;
  plan.argv = argv;
  plan.envp = envp.data();
  plan.log_head = log_head.c_str();
  plan.log_tail = log_tail.c_str();

  pid_t pid = -1;
  int fork_errno = 0;
  {
    BlockAllSignals block;
    pid = ::fork();
    if (pid == 0) {
      // First child: its only job is to fork the detached one and go, so
      // that the caller's wait below ends at once and the detached process
      // is init's to reap, not the caller's.
      const pid_t grandchild = fork_in_child();
      if (grandchild == 0) detached(plan);
      ::_exit(grandchild < 0 ? 1 : 0);
    }
    fork_errno = errno;
  }
  if (pid < 0) {
    log_event(ctx, LOG_ERR, what + " not run: cannot fork: " + errno_text(fork_errno));
    return;
  }
  int status = 0;
  pid_t r = -1;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  // ECHILD: the host reaps its children itself (SIGCHLD ignored or
  // handled); the first child exits at once either way.
  if (r == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    log_event(ctx, LOG_ERR, what + " not run: cannot fork the detached process");
    return;
  }
  log_event(ctx, LOG_DEBUG, what + " started");
}

}  // namespace

const char* notify_kind_name(NotifyKind kind) noexcept {
  switch (kind) {
    case NotifyKind::lockout: return "lockout";
    case NotifyKind::recovery_code_used: return "recovery-code-used";
    case NotifyKind::enrol: return "enrol";
    case NotifyKind::replace: return "replace";
    case NotifyKind::remove: return "remove";
    case NotifyKind::revoke: return "revoke";
  }
  return "unknown";
}

std::string notify_value(std::string_view value) { return sanitize_for_log(value); }

std::vector<std::string> notify_environment(const NotifyEvent& event, std::string_view host) {
  std::vector<std::string> env;
  env.emplace_back(kNotifyPathVariable);
  env.push_back(std::string("PAM_TOTP_EVENT=") + notify_kind_name(event.kind));
  env.push_back("PAM_TOTP_USER=" + notify_value(event.user));
  env.push_back("PAM_TOTP_HOST=" + notify_value(host));
  env.push_back("PAM_TOTP_RHOST=" + notify_value(event.rhost));
  env.push_back("PAM_TOTP_SERVICE=" + notify_value(event.service));
  env.push_back("PAM_TOTP_TIME=" + std::to_string(event.time));
  env.push_back("PAM_TOTP_TIME_UTC=" + iso_utc(event.time));
  if (event.kind == NotifyKind::recovery_code_used && event.recovery_left) {
    env.push_back("PAM_TOTP_RECOVERY_LEFT=" + std::to_string(*event.recovery_left));
  }
  return env;
}

Result<UniqueFd> open_notify_command(const std::string& path, const NotifyRunAs& run_as) {
  if (path.empty() || path[0] != '/' || path.back() == '/' || path.size() > kMaxPath ||
      path.find('\0') != std::string::npos) {
    return make_error(Errc::invalid_argument, "not an absolute path of a file");
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == 0 ? std::string("/") : path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  if (name == "." || name == "..") return make_error(Errc::invalid_argument, "not an absolute path of a file");
  // The directories as they are now (symbolic links resolved), each checked
  // on the descriptor the walk goes through: what was checked is what leads
  // to the file.
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return make_error(Errc::not_found, "its directory " + dir + " does not exist");
    return io_error("cannot resolve " + dir, errno);
  }
  const std::string resolved(real);
  std::free(real);
  UniqueFd at(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!at.valid()) return io_error("cannot open /", errno);
  TOTP_TRY_STATUS(check_directory(at.get(), "/"));
  std::string walked;
  std::size_t pos = 1;
  while (pos < resolved.size()) {
    std::size_t end = resolved.find('/', pos);
    if (end == std::string::npos) end = resolved.size();
    const std::string part = resolved.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;
    walked += "/" + part;
    UniqueFd next(::openat(at.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return io_error("cannot open directory " + walked, errno);
    TOTP_TRY_STATUS(check_directory(next.get(), walked));
    at = std::move(next);
  }
  UniqueFd fd(::openat(at.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return make_error(Errc::not_found, "it does not exist");
    if (err == ELOOP) return make_error(Errc::permission, "it is a symbolic link (name the file itself)");
    return io_error("cannot open it", err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat it", errno);
  if (!S_ISREG(st.st_mode)) return make_error(Errc::permission, "it is not a regular file");
  if (st.st_uid != 0) {
    return make_error(Errc::permission, "it is owned by uid " + std::to_string(st.st_uid) + ", not root");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error(Errc::permission, "it is writable by group or others");
  }
  if ((st.st_mode & (S_ISUID | S_ISGID)) != 0) return make_error(Errc::permission, "it is set-user-ID or set-group-ID");
  // nobody runs it (and a script's interpreter reads it): the group's bits
  // when it is nobody's group, else the others'.
  const mode_t need = st.st_gid == run_as.gid ? (S_IRGRP | S_IXGRP) : (S_IROTH | S_IXOTH);
  if ((st.st_mode & need) != need) {
    return make_error(Errc::permission, std::string("user '") + kNotifyRunAs +
                                            "' cannot read and execute it (mode 0755 is what it needs)");
  }
  return fd;
}

void notify(const Settings& settings, const NotifyEvent& event) noexcept {
  if (settings.notify_command.empty()) return;
  try {
    if (notify_relay_active()) {
      send_to_relay(event);
      return;
    }
    run_notify(settings, event);
  } catch (...) {
    // bad_alloc, most likely: the event is lost, the login goes on as it was.
    try {
      LogContext ctx;
      ctx.service = event.service;
      log_event(ctx, LOG_ERR, "notify_command not run: internal error");
    } catch (...) {
    }
  }
}

void notify_login(const Settings& settings, const LoginVerdict& verdict, const LogContext& ctx) noexcept {
  if (settings.notify_command.empty()) return;
  try {
    NotifyEvent event;
    if (verdict.now_locked) {
      event.kind = NotifyKind::lockout;
    } else if (verdict.decision == Decision::accepted_recovery) {
      event.kind = NotifyKind::recovery_code_used;
      event.recovery_left = verdict.recovery_left;
    } else {
      return;
    }
    event.user = ctx.user;
    event.rhost = ctx.rhost;
    event.service = ctx.service;
    event.time = static_cast<std::int64_t>(std::time(nullptr));
    notify(settings, event);
  } catch (...) {
  }
}

}  // namespace totp
