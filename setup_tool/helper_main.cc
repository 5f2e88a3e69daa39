// SPDX-License-Identifier: Apache-2.0
// totp-helper: the setuid-root half of self-enrolment (like unix_chkpwd for
// pam_unix). It serves ONE user, the real uid that started it; the request
// never names a user, a path or a setting. It trusts nothing it inherits:
// environment, umask, signal dispositions, open fds and the caller's config
// are all reset or ignored, and it reads only the compiled-in config file.
// See protocol.h for the messages; any malformed request ends the process.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/key.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/store_factory.h"
#include "setup_tool/account_service.h"
#include "setup_tool/helper_login.h"
#include "setup_tool/protocol.h"

namespace totp::setup {
namespace {

constexpr const char* kHelperConfig = SYSCONFDIR "/security/pam_totp.conf";
constexpr int kMaxRequests = 16;        // a wizard needs at most 1 + 3 + 3
constexpr int kMaxWrongProofs = 3;      // per process, on top of the lockout
constexpr unsigned kLifetimeSeconds = 900;

constexpr int kExitProtocol = 2;
constexpr int kExitSetup = 1;

void die_early(const char* msg) {
  syslog(LOG_AUTHPRIV | LOG_WARNING, "totp-helper: uid %u: %s", static_cast<unsigned>(getuid()), msg);
  // stderr is known to be open (ensure_std_fds ran first).
  const std::string line = std::string("totp-helper: ") + msg + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  _exit(kExitSetup);
}

// Resource limits survive exec, so the caller chooses them: RLIMIT_FSIZE=0
// made the ledger write die with SIGXFSZ, a tiny RLIMIT_AS makes any
// allocation fail. Every limit this process relies on is set to a value
// of our own, before the capabilities are dropped (raising a hard limit
// needs CAP_SYS_RESOURCE, which setuid root normally has). Where the system
// withholds that capability (some containers) and the caller lowered a hard
// limit below what we need, we refuse to run: better no answer than an
// answer under the caller's rules.
void pin_resource_limits() {
  struct Pin {
    int resource;
    const char* name;
    rlim_t want;      // what we set
    rlim_t at_least;  // the least we run with when `want` cannot be had
  };
  constexpr rlim_t kMiB = 1024 * 1024;
  const Pin pins[] = {
      {RLIMIT_FSIZE, "fsize", RLIM_INFINITY, 64 * kMiB},   {RLIMIT_CPU, "cpu", RLIM_INFINITY, 3600},
      {RLIMIT_AS, "as", RLIM_INFINITY, 4096 * kMiB},       {RLIMIT_DATA, "data", RLIM_INFINITY, 4096 * kMiB},
      {RLIMIT_STACK, "stack", 8 * kMiB, 8 * kMiB},         {RLIMIT_NOFILE, "nofile", 1024, 64},
      {RLIMIT_CORE, "core", 0, 0},                         {RLIMIT_RTTIME, "rttime", RLIM_INFINITY, RLIM_INFINITY},
      {RLIMIT_MEMLOCK, "memlock", 64 * kMiB, 0},           {RLIMIT_SIGPENDING, "sigpending", 1024, 0},
      {RLIMIT_LOCKS, "locks", RLIM_INFINITY, 64},
  };
  for (const Pin& p : pins) {
    const struct rlimit lim {p.want, p.want};
    if (setrlimit(p.resource, &lim) == 0) continue;
    struct rlimit cur {};
    if (getrlimit(p.resource, &cur) != 0) die_early("cannot read resource limits");
    if (cur.rlim_max < p.at_least) {
      const std::string msg = std::string("the caller's hard resource limit '") + p.name +
                              "' is lower than this helper needs, and this system does not let it raise the "
                              "limit: refused";
      die_early(msg.c_str());
    }
    const struct rlimit best {cur.rlim_max, cur.rlim_max};
    if (setrlimit(p.resource, &best) != 0) die_early("cannot set resource limits");
  }
}

// fds 0-2 must be open, or the first file we open would become "stderr".
void ensure_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int n = open("/dev/null", O_RDWR | O_NOCTTY);
    if (n != fd) _exit(kExitSetup);
  }
}

void reset_process_state() {
  // Stray fds: only stdin/stdout/stderr stay.
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 1024; ++fd) close(fd);
  }
  if (clearenv() != 0) die_early("cannot clear the environment");
  setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  umask(077);
  if (chdir("/") != 0) die_early("cannot change to /");
  // Default dispositions, then ignore what a terminal can send (the kernel
  // delivers those whatever our uids) and the signals of resource limits:
  // a write that has begun always finishes, an exceeded limit is an error
  // we handle, never a death at a chosen instant. Setting SIG_IGN also
  // discards any such signal the caller left pending across exec.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  for (int sig : {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGPIPE, SIGXFSZ, SIGXCPU, SIGUSR1, SIGUSR2,
                  SIGTERM, SIGVTALRM, SIGPROF}) {
    signal(sig, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Interval timers survive exec: the caller could have armed one to fire
  // at a moment of its choosing.
  const struct itimerval off {};
  for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF}) {
    if (setitimer(which, &off, nullptr) != 0) die_early("cannot clear interval timers");
  }
  // Without euid 0 nothing can be pinned; run() refuses such a helper with
  // a message that says what to fix.
  if (geteuid() == 0) pin_resource_limits();
  // Normal scheduling: a caller-chosen SCHED_IDLE or nice 19 would let it
  // stretch the time we hold the user's lock.
  const struct sched_param normal {};
  (void)sched_setscheduler(0, SCHED_OTHER, &normal);
  (void)setpriority(PRIO_PROCESS, 0, 0);
  // No core dumps of a process holding the master key.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  alarm(kLifetimeSeconds);
}

// Keeps euid 0 (the state and key are root's and 0600/0700: as their owner
// we need no capability at all), but gives up every capability, groups
// other than root's, and the ability to gain privilege again.
void drop_privileges() {
  if (setgroups(0, nullptr) != 0) die_early("cannot drop supplementary groups");
  if (setresgid(0, 0, 0) != 0) die_early("cannot set the group");
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die_early("cannot drop capabilities");
  }
  struct __user_cap_header_struct header {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  struct __user_cap_data_struct data[2] {};
  if (syscall(SYS_capset, &header, data) != 0) die_early("cannot drop capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die_early("cannot set no_new_privs");
}

Result<Settings> load_helper_settings() {
  struct stat st {};
  if (lstat(kHelperConfig, &st) != 0 && errno == ENOENT) return Settings{};
  return load_settings(std::string(kHelperConfig), {});
}

Status send(const Json& reply) { return write_message(STDOUT_FILENO, reply); }

class HelperSession {
 public:
  HelperSession(std::string user, std::optional<AccountService> service, std::optional<Error> setup_error)
      : user_(std::move(user)), service_(std::move(service)), setup_error_(std::move(setup_error)) {}

  // Returns the exit status when the session must end. parse_request has
  // checked the op, that it has only its own fields, their types, and that
  // confirm has a non-empty code.
  std::optional<int> handle(const Request& req) {
    if (setup_error_) {
      (void)send(error_reply(*setup_error_));
      return kExitSetup;
    }
    AccountService& svc = *service_;
    const SecureBytes* proof = req.secret("proof");  // absent or empty: no proof
    if (proof != nullptr && proof->empty()) proof = nullptr;
    // An authenticator's name (begin: --add; remove: --name).
    std::optional<std::string> name;
    if (const SecureBytes* n = req.secret("name"); n != nullptr) {
      if (!validate_authenticator_name(n->view())) return refuse("bad authenticator name");
      name = std::string(n->view());
    }
    const std::string* name_ptr = name ? &*name : nullptr;
    if (req.op == "status") {
      auto s = svc.status();
      if (!s) return reply_error(s.error());
      return reply(status_to_wire(*s));
    }
    if (req.op == "begin") {
      if (too_many_wrong()) return stop("too many wrong codes in this session");
      if (req.flag("yes").value_or(false)) {
        auto r = svc.enrol_now(proof, false, name_ptr);
        if (!r) return reply_error(r.error());
        Json out{{"ok", true}};
        offer_to_wire(out, r->first);
        codes_to_wire(out, r->second);
        log("enrolled (--yes)");
        return reply_secret(out);
      }
      auto r = svc.begin_enrolment(proof, false, name_ptr);
      if (!r) return reply_error(r.error());
      Json out{{"ok", true}};
      offer_to_wire(out, *r);
      return reply_secret(out);
    }
    if (req.op == "confirm") {
      const SecureBytes* code = req.secret("code");
      if (code == nullptr || code->empty()) return refuse("confirm needs a code");
      if (!svc.has_offer()) return refuse("no enrolment in progress");
      auto r = svc.confirm(code->view());
      if (!r) return reply_error(r.error());
      Json out{{"ok", true}, {"accepted", r->accepted}, {"tries_left", r->tries_left}};
      if (r->accepted) {
        codes_to_wire(out, r->issued);
        log("enrolled");
      }
      return reply_secret(out);
    }
    if (req.op == "recovery_codes" || req.op == "remove") {
      if (too_many_wrong()) return stop("too many wrong codes in this session");
      if (req.op == "remove") {
        Status st = svc.remove(proof, name_ptr);
        if (!st) return reply_error(st.error());
        log(name ? "authenticator removed" : "enrolment removed");
        return reply(Json{{"ok", true}});
      }
      auto r = svc.regenerate_recovery_codes(proof);
      if (!r) return reply_error(r.error());
      Json out{{"ok", true}};
      codes_to_wire(out, *r);
      log("recovery codes regenerated");
      return reply_secret(out);
    }
    if (req.op == "devices") {
      auto r = svc.devices();
      if (!r) return reply_error(r.error());
      return reply(devices_to_wire(*r));
    }
    if (req.op == "forget") {
      // Acts on the caller's own account only, like every op here.
      std::optional<std::string> id;
      if (const SecureBytes* i = req.secret("id"); i != nullptr) {
        if (!valid_device_id(i->view())) return refuse("bad device id");
        id = std::string(i->view());
      }
      auto r = svc.forget_devices(id ? &*id : nullptr);
      if (!r) return reply_error(r.error());
      log("trusted devices forgotten: " + std::to_string(*r));
      return reply(Json{{"ok", true}, {"forgotten", *r}});
    }
    if (req.op == "login_state" || req.op == "login") {
      // One login per helper: a second judgment in the same process would
      // be a way around "one answer per attempt" bookkeeping in the module.
      if (req.op == "login" && logins_++ > 0) return refuse("one login per helper");
      LoginReply r = answer_login_request(svc, req, user_);
      if (r.refuse) return refuse(r.refuse->message);
      return reply(*r.reply);
    }
    return refuse("unknown op");
  }

  // Ends the session over a request parse_request refused (the reason
  // never quotes the request).
  int refuse_request(const Error& e) { return *refuse(e.message); }

 private:
  bool too_many_wrong() const { return wrong_proofs_ >= kMaxWrongProofs; }
  std::optional<int> reply(const Json& j) {
    if (!send(j)) return kExitSetup;
    return std::nullopt;
  }
  std::optional<int> reply_secret(Json& j) {
    auto r = reply(j);
    cleanse_json(j);
    return r;
  }
  std::optional<int> reply_error(const Error& e) {
    if (e.code == Errc::permission) ++wrong_proofs_;
    if (e.code == Errc::permission || e.code == Errc::locked) log(e.message);
    return reply(error_reply(e));
  }
  std::optional<int> refuse(const std::string& why) {
    (void)send(error_reply(make_error(Errc::invalid_argument, "request refused: " + why)));
    log("request refused: " + why);
    return kExitProtocol;
  }
  std::optional<int> stop(const std::string& why) {
    (void)send(error_reply(make_error(Errc::permission, why)));
    return kExitSetup;
  }
  void log(const std::string& what) const {
    LogContext ctx;
    ctx.service = "totp-helper";
    ctx.user = user_;
    log_event(ctx, LOG_NOTICE, what);
  }

  std::string user_;
  std::optional<AccountService> service_;
  std::optional<Error> setup_error_;
  int wrong_proofs_ = 0;
  int logins_ = 0;
};

int run(int argc) {
  if (argc != 1) die_early("takes no arguments; it is run by totp-setup");
  if (geteuid() != 0) die_early("must be installed setuid root (it is run by totp-setup)");
  const uid_t uid = getuid();
  // The identity is taken; from here on every uid is root's, so the caller
  // (whose uid was the real one) can no longer signal, stop or trace us.
  if (setresuid(0, 0, 0) != 0) die_early("cannot take root's uids");
  errno = 0;
  const struct passwd* pw = getpwuid(uid);
  if (pw == nullptr || pw->pw_name == nullptr) die_early("the calling user has no passwd entry");
  std::string user = pw->pw_name;
  // notify_command runs as nobody; the drop below gives up what switching
  // to nobody takes, so a relay that keeps it is started first, when the
  // system config names a command (core/notify.h).
  if (auto relay_settings = load_helper_settings()) start_notify_relay(*relay_settings);
  drop_privileges();
  openlog("totp-helper", LOG_PID, LOG_AUTHPRIV);

  std::optional<AccountService> service;
  std::optional<Error> setup_error;
  if (Status v = validate_user_name(user); !v) {
    setup_error = v.error();
  } else if (auto settings = load_helper_settings(); !settings) {
    setup_error = settings.error();
  } else if (auto key = load_key_ring(settings->key_file); !key) {
    setup_error = key.error();
  } else if (auto store = open_record_store(*settings, std::move(*key)); !store) {
    setup_error = store.error();
  } else {
    service.emplace(std::move(*settings), std::move(*store), user, Caller::self);
    // The audit lines name the caller, not the root this process now is.
    Actor actor = current_actor(false);
    actor.uid = uid;
    actor.name = user;
    actor.via_helper = true;
    service->set_actor(std::move(actor));
  }

  HelperSession session(user, std::move(service), std::move(setup_error));
  MessageReader reader(STDIN_FILENO);
  for (int n = 0; n < kMaxRequests; ++n) {
    auto msg = reader.next();
    if (!msg) {
      if (msg.error().code == Errc::not_found) return 0;  // the tool hung up: nothing more to do
      (void)send(error_reply(make_error(Errc::invalid_argument, "request refused: " + msg.error().message)));
      return kExitProtocol;
    }
    // Decoded straight into SecureBytes: no JSON library copy of a proof.
    auto req = parse_request(msg->span());
    msg->clear();  // the line held the proof
    if (!req) return session.refuse_request(req.error());
    auto end = session.handle(*req);
    if (end) return *end;
  }
  (void)send(error_reply(make_error(Errc::invalid_argument, "request refused: too many requests")));
  return kExitProtocol;
}

}  // namespace
}  // namespace totp::setup

int main(int argc, char** argv) {
  (void)argv;
  totp::setup::ensure_std_fds();
  totp::setup::reset_process_state();
  try {
    return totp::setup::run(argc);
  } catch (...) {
    // nlohmann or std::bad_alloc: refuse, never crash with a half answer.
    const char msg[] = "totp-helper: internal error\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    return 1;
  }
}
