// SPDX-License-Identifier: Apache-2.0
// pam_bench: pam_totp side by side with pam_google_authenticator, with
// pam_permit as the floor, each driven through PAM itself.
//
// Every sample is one whole transaction in this process:
//   pam_start_confdir .. pam_authenticate .. pam_end
// against service files written to a private confdir (modules by absolute
// path). Codes are computed before the clock starts. Each user logs in at
// most once per workload: both modules refuse a reused time step, so every
// round uses a fresh set of users.
//
// Two extra rows: the durable-write floor (pam_permit + the 164-byte
// pwrite + fdatasync a pam_totp login makes, timed as one sample) and, with
// --baseline, a second pam_totp build with its own state (before/after).
//
// With --helper-prefix, right-code logins by a non-root caller too: a child
// dropped to an unprivileged account runs the same transactions with the
// installed pam_totp.so, which then goes through its setuid helper
// (bench/helper_caller.h), beside the root path in the same turns.
//
// Run as root (scripts/bench.sh does everything): state files must be
// root-owned for both modules. Prints medians, 90th percentiles, ratios and
// the targets; exits 0 whether or not targets are met (--strict: 1).
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/ga_fixture.h"
#include "bench/helper_caller.h"
#include "bench/phase_costs.h"
#include "bench/totp_fixture.h"
#include "core/otp.h"

namespace {

using bench::now_ns;
using bench::Summary;

// ---- options ----------------------------------------------------------------

struct Options {
  int users = 200;
  int rounds = 3;
  long leak_transactions = 100000;
  int recovery_users = 3;
  int phases = 300;
  int gap_us = 1000;
  bool preload = true;
  bool private_nss = true;
  unsigned show_syslog = 0;
  std::set<std::string> only;  // empty: every module
  bool strict = false;
  bool keep = false;
  std::string parent = "/var/tmp";
  std::string totp_so;
  std::string baseline_so;  // another pam_totp.so timed alongside (before/after)
  std::string helper_prefix;  // --prefix of --totp's build, installed: time the helper path too
  std::string ga_so = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";
  std::string permit_so = "/lib/x86_64-linux-gnu/security/pam_permit.so";
};

void usage(FILE* f) {
  std::fputs(
      "usage: pam_bench [options]\n"
      "  --totp PATH         pam_totp.so to measure (omitted: only the peers are measured)\n"
      "  --baseline PATH     another pam_totp.so (say, the previous commit's) timed alongside with\n"
      "                      its own state: a change's before and after measured in one run\n"
      "  --helper-prefix DIR the --prefix the --totp module was configured with, installed there with\n"
      "                      DIR/libexec/pam_totp/totp-helper root-owned 4755: right-code logins by a\n"
      "                      non-root caller (through that helper) are timed too, beside the root path;\n"
      "                      DIR/etc/security/pam_totp.conf is written for the run and removed\n"
      "  --ga PATH           pam_google_authenticator.so (default: Debian's)\n"
      "  --permit PATH       pam_permit.so (default: Debian's)\n"
      "  --users N           users per workload and round (default 200)\n"
      "  --rounds N          rounds of each workload (default 3)\n"
      "  --leak N            pam_totp transactions for the memory check (default 100000; 0 skips)\n"
      "  --recovery-users N  recovery logins per case (default 3)\n"
      "  --gap US            pause between timed logins, microseconds (default 1000): logins on\n"
      "                      a server are separate events, not back-to-back flushes\n"
      "  --phases N          time each step of a pam_totp login N times (default 300; 0 skips)\n"
      "  --no-preload        let PAM load and unload each module in every transaction\n"
      "                      (default: the modules are dlopen'ed once, as in a long-lived server)\n"
      "  --system-nss        keep the system's nsswitch.conf (default: passwd/group from files only,\n"
      "                      in a private mount namespace: bench users are not in /etc/passwd)\n"
      "  --dir DIR           where the temporary state goes (default /var/tmp: a real disk)\n"
      "  --keep              keep the temporary directory\n"
      "  --show-syslog N     copy the first N syslog messages to stderr\n"
      "  --strict            exit 1 if a target is not met\n"
      "  --only NAME         time only this module (pam_permit, pam_google_authenticator,\n"
      "                      pam_totp; repeatable): for profiling, ratios need both peers\n",
      f);
}

int parse_int(const char* s, const char* opt) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > 100000000) {
    std::fprintf(stderr, "pam_bench: bad number for %s: %s\n", opt, s);
    std::exit(2);
  }
  return static_cast<int>(v);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pam_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--totp") o.totp_so = next();
    else if (a == "--baseline") o.baseline_so = next();
    else if (a == "--helper-prefix") o.helper_prefix = next();
    else if (a == "--ga") o.ga_so = next();
    else if (a == "--permit") o.permit_so = next();
    else if (a == "--users") o.users = parse_int(next(), "--users");
    else if (a == "--rounds") o.rounds = parse_int(next(), "--rounds");
    else if (a == "--leak") o.leak_transactions = parse_int(next(), "--leak");
    else if (a == "--recovery-users") o.recovery_users = parse_int(next(), "--recovery-users");
    else if (a == "--phases") o.phases = parse_int(next(), "--phases");
    else if (a == "--gap") o.gap_us = parse_int(next(), "--gap");
    else if (a == "--no-preload") o.preload = false;
    else if (a == "--system-nss") o.private_nss = false;
    else if (a == "--dir") o.parent = next();
    else if (a == "--keep") o.keep = true;
    else if (a == "--show-syslog") o.show_syslog = static_cast<unsigned>(parse_int(next(), "--show-syslog"));
    else if (a == "--strict") o.strict = true;
    else if (a == "--only") o.only.insert(next());
    else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "pam_bench: unknown option %s\n", a.c_str());
      usage(stderr);
      std::exit(2);
    }
  }
  if (o.users < 2 || o.rounds < 1) {
    std::fprintf(stderr, "pam_bench: need --users >= 2 and --rounds >= 1\n");
    std::exit(2);
  }
  return o;
}

// ---- cleanup on signals ------------------------------------------------------

// The sink's socket path, unlinked if we are interrupted (the destructor
// does it on a normal exit). Only the process that made it removes it.
char g_sink_path[108] = "";
pid_t g_main_pid = 0;

extern "C" void on_signal(int sig) {
  if (getpid() == g_main_pid && g_sink_path[0] != '\0') unlink(g_sink_path);
  if (getpid() == g_main_pid) bench::remove_helper_config_now();
  signal(sig, SIG_DFL);
  raise(sig);
}

// ---- modules under test --------------------------------------------------

std::vector<std::uint8_t> random_secret() {
  std::vector<std::uint8_t> s(20);  // 160 bits, what authenticator apps are given
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return s;
}

std::string code_at(const std::vector<std::uint8_t>& secret, std::int64_t t) {
  auto r = totp::totp_code(secret, totp::OtpParams{}, t);
  if (!r.ok()) throw std::runtime_error("totp_code: " + r.error().message);
  return *r;
}

// A 6-digit code that matches no step within +-3 of now.
std::string wrong_code_for(const std::vector<std::uint8_t>& secret) {
  std::int64_t t = time(nullptr);
  std::set<std::string> near;
  for (int d = -3; d <= 3; ++d) near.insert(code_at(secret, t + 30 * d));
  unsigned v = (static_cast<unsigned>(std::stoul(code_at(secret, t))) + 500000u) % 1000000u;
  for (;;) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06u", v);
    if (near.count(buf) == 0) return buf;
    v = (v + 1) % 1000000u;
  }
}

struct Module {
  std::string name;     // for the table
  std::string service;  // service file in the confdir
  bool checks_codes = true;
  // Creates the user's state (secret; `recovery` single-use codes) and
  // returns the codes to type for recovery (empty where not supported).
  std::function<std::vector<std::string>(const std::string&, const std::vector<std::uint8_t>&, std::size_t)>
      provision;
  std::map<std::string, std::vector<std::uint8_t>> secrets;
  std::map<std::string, std::vector<std::string>> recovery;

  void add_users(const std::vector<std::string>& users, std::size_t recovery_codes = 0) {
    for (const auto& u : users) {
      auto s = random_secret();
      recovery[u] = provision(u, s, recovery_codes);
      secrets[u] = std::move(s);
    }
  }
  std::string right_code(const std::string& u) const {
    return checks_codes ? code_at(secrets.at(u), time(nullptr)) : "000000";
  }
  std::string wrong_code(const std::string& u) const {
    return checks_codes ? wrong_code_for(secrets.at(u)) : "000000";
  }
};

std::vector<std::string> user_set(const std::string& tag, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s_%04d", tag.c_str(), i);
    v.emplace_back(buf);
  }
  return v;
}

// ---- workloads ----------------------------------------------------------------

struct Context {
  std::string confdir;
  int gap_us = 0;
  long unexpected = 0;  // transactions whose result was not the expected one
};

enum class Expect { success, failure, any };

bool as_expected(int rc, Expect e) {
  switch (e) {
    case Expect::success: return rc == PAM_SUCCESS;
    case Expect::failure: return rc != PAM_SUCCESS;
    case Expect::any: return true;
  }
  return false;
}

// One timed login per user; answers made by `answer` before the clock starts.
void timed_logins(Context& ctx, const Module& m, const std::vector<std::string>& users,
                  const std::function<std::string(const std::string&)>& answer, Expect expect,
                  std::vector<std::int64_t>& out) {
  for (const auto& u : users) {
    if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
    std::string a = answer(u);
    bench::Outcome o = bench::run_transaction(ctx.confdir, m.service, u, a);
    if (!as_expected(o.authenticate_rc, expect)) {
      if (ctx.unexpected < 5) {
        std::fprintf(stderr, "pam_bench: %s user %s: unexpected result %d (%s)\n", m.name.c_str(), u.c_str(),
                     o.authenticate_rc, pam_strerror(nullptr, o.authenticate_rc));
      }
      ++ctx.unexpected;
    }
    out.push_back(o.ns);
  }
}

// The floor for any module that stores its result durably: a pam_permit
// transaction followed by what pam_totp's ledger write costs the disk (164
// bytes written in place + fdatasync), timed as one sample. It takes its
// turn among the modules, so it sees the same machine and disk they do.
class DurableFloor {
 public:
  explicit DurableFloor(const std::string& path) : path_(path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<unsigned char> init(752, 0x5a);
    if (fd_ < 0 || pwrite(fd_, init.data(), init.size(), 0) != static_cast<ssize_t>(init.size()) || fsync(fd_) != 0) {
      throw std::runtime_error("cannot prepare " + path);
    }
  }
  ~DurableFloor() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  DurableFloor(const DurableFloor&) = delete;
  DurableFloor& operator=(const DurableFloor&) = delete;

  void sample(Context& ctx, const Module& permit, const std::string& user, std::vector<std::int64_t>& out) {
    if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
    slot_[0] = static_cast<unsigned char>(++stamp_);
    const std::int64_t t0 = now_ns();
    const bench::Outcome o = bench::run_transaction(ctx.confdir, permit.service, user, "000000");
    if (pwrite(fd_, slot_.data(), slot_.size(), 588) != static_cast<ssize_t>(slot_.size()) || fdatasync(fd_) != 0) {
      throw std::runtime_error("floor write failed: " + std::string(std::strerror(errno)));
    }
    out.push_back(now_ns() - t0);
    if (o.authenticate_rc != PAM_SUCCESS) ++ctx.unexpected;
  }

 private:
  std::string path_;
  int fd_ = -1;
  unsigned stamp_ = 0;
  std::vector<unsigned char> slot_ = std::vector<unsigned char>(164, 0xa5);
};

// Logins per second with `procs` processes, each logging in a disjoint
// slice of `users` with the right code (computed inside the loop: a few
// microseconds against a transaction's hundreds). All processes are forked
// and waiting before the clock starts.
double throughput(Context& ctx, const Module& m, const std::vector<std::string>& users, int procs) {
  int gate[2];
  if (pipe(gate) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(gate[1]);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      int failures = 0;
      for (std::size_t i = static_cast<std::size_t>(p); i < users.size(); i += static_cast<std::size_t>(procs)) {
        bench::Outcome o = bench::run_transaction(ctx.confdir, m.service, users[i], m.right_code(users[i]));
        if (o.authenticate_rc != PAM_SUCCESS) ++failures;
      }
      _exit(failures > 255 ? 255 : failures);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  std::int64_t t0 = now_ns();
  close(gate[1]);  // releases every child at once
  for (pid_t pid : pids) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      ctx.unexpected += WIFEXITED(st) ? WEXITSTATUS(st) : 1;
      std::fprintf(stderr, "pam_bench: %s throughput child: %s %d\n", m.name.c_str(),
                   WIFEXITED(st) ? "failed logins" : "killed by signal",
                   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
  }
  std::int64_t dt = now_ns() - t0;
  return static_cast<double>(users.size()) * 1e9 / static_cast<double>(dt);
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

// ---- report -----------------------------------------------------------------

constexpr char kFloorName[] = "floor: permit + 1 write";
constexpr char kBaselineName[] = "pam_totp (baseline)";
constexpr char kHelperName[] = "pam_totp via helper (non-root caller)";
constexpr char kHelperStartName[] = "totp-helper start alone";
constexpr char kTrueStartName[] = "/bin/true start alone";

struct Row {
  std::string workload, module;
  Summary s;
  std::optional<double> ratio;  // median vs google-authenticator's
  std::string target;
  std::string met;  // "met", "NOT MET", ""
};

void print_rows(const std::vector<Row>& rows) {
  std::printf("%-18s %-37s %5s %9s %10s %10s %8s %-7s %s\n", "workload", "module", "n", "min_us", "median_us",
              "p90_us", "ratio_GA", "target", "result");
  for (const auto& r : rows) {
    char ratio[32] = "-";
    if (r.ratio) std::snprintf(ratio, sizeof ratio, "%.3f", *r.ratio);
    std::printf("%-18s %-37s %5zu %9.1f %10.1f %10.1f %8s %-7s %s\n", r.workload.c_str(), r.module.c_str(), r.s.n,
                r.s.min_us, r.s.median_us, r.s.p90_us, ratio, r.target.c_str(), r.met.c_str());
  }
  std::printf("(ratio_GA: median / pam_google_authenticator's median; min: the least disturbed sample)\n");
  std::printf("(%s: a pam_permit transaction plus one 164-byte pwrite + fdatasync, the write a\n"
              " pam_totp login makes: the least any module that stores each result durably can cost)\n",
              kFloorName);
}

// First three fields of /proc/loadavg: other work on a 2-core machine skews
// everything, the parallel figure most.
std::string load_average() {
  FILE* f = std::fopen("/proc/loadavg", "re");
  if (f == nullptr) return "?";
  double a = 0, b = 0, c = 0;
  int n = std::fscanf(f, "%lf %lf %lf", &a, &b, &c);
  std::fclose(f);
  if (n != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

// The benchmark's users exist only in the modules' state, not in the
// password database. pam_totp looks the user up (for the canonical name);
// for a name missing from /etc/passwd glibc goes on to nss-systemd, which
// probes the userdb directories: ~65 us more than finding a real user in
// /etc/passwd on this machine. A server's real users are found by "files".
// So, in a private mount namespace (nothing changes for the rest of the
// machine), nsswitch.conf says "files" only for passwd, group and shadow,
// and a lookup of a bench user costs what a real user's costs.
// `namespaced`: set once the private mount namespace exists (the helper
// path adds its caller's account to the passwd there).
std::string use_files_only_nss(const std::string& dir, bool& namespaced) {
  if (unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno) + ": system NSS kept";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("mount private: ") + std::strerror(errno) + ": system NSS kept";
  }
  namespaced = true;
  std::ifstream in("/etc/nsswitch.conf");
  std::stringstream text;
  text << "# pam_bench: passwd/group/shadow from files only\n";
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("passwd:", 0) == 0 || line.rfind("group:", 0) == 0 || line.rfind("shadow:", 0) == 0) {
      line = line.substr(0, line.find(':') + 1) + " files";
    }
    text << line << "\n";
  }
  const std::string copy = dir + "/nsswitch.conf";
  bench::write_file(copy, text.str(), 0644);
  if (mount(copy.c_str(), "/etc/nsswitch.conf", nullptr, MS_BIND, nullptr) != 0) {
    return std::string("bind mount: ") + std::strerror(errno) + ": system NSS kept";
  }
  return "passwd/group/shadow: files only, in a private mount namespace (as for real users)";
}

std::string kernel_line() {
  utsname u{};
  if (uname(&u) != 0) return "?";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

int run(const Options& opt) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "pam_bench: must run as root (both modules insist on root-owned state)\n");
    return 77;
  }
  g_main_pid = getpid();
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);

  const std::string base = bench::make_temp_dir(opt.parent, "pam_bench.");
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      if (!keep) bench::remove_tree(dir);
    }
  } cleanup{base, opt.keep};

  bool namespaced = false;
  const std::string nss =
      opt.private_nss ? use_files_only_nss(base, namespaced) : "system nsswitch.conf (--system-nss)";
  bench::DevLogSink sink("/dev/log", opt.show_syslog);
  if (sink.created()) std::snprintf(g_sink_path, sizeof g_sink_path, "%s", sink.path().c_str());

  Context ctx;
  ctx.confdir = base + "/pam.d";
  ctx.gap_us = opt.gap_us;
  const std::string ga_dir = base + "/ga";
  if (mkdir(ctx.confdir.c_str(), 0700) != 0 || mkdir(ga_dir.c_str(), 0700) != 0) {
    throw std::runtime_error("mkdir under " + base + " failed");
  }

  // PAM also reads "other" at every pam_start and logs an error if it is
  // missing: an empty one keeps that noise out of every module's figures.
  bench::write_file(ctx.confdir + "/other", "# pam_bench: no default stack\n", 0644);

  std::vector<Module> modules;
  modules.reserve(4);  // references to elements are kept below: no reallocation
  std::vector<void*> preloaded;
  auto add_module = [&](const std::string& name, const std::string& so_arg, const std::string& args) -> Module& {
    // PAM takes a relative module path as relative to its own directory.
    char* real = realpath(so_arg.c_str(), nullptr);
    if (real == nullptr) throw std::runtime_error(name + ": cannot find " + so_arg);
    const std::string so = real;
    free(real);
    if (access(so.c_str(), R_OK) != 0) throw std::runtime_error(name + ": cannot read " + so);
    Module m;
    m.name = name;
    m.service = "bench-" + name;
    bench::write_file(ctx.confdir + "/" + m.service, "auth required " + so + (args.empty() ? "" : " " + args) + "\n",
                      0644);
    if (opt.preload) {
      void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h == nullptr) throw std::runtime_error(name + ": dlopen: " + dlerror());
      preloaded.push_back(h);
    }
    modules.push_back(std::move(m));
    return modules.back();
  };

  Module& permit = add_module("pam_permit", opt.permit_so, "");
  permit.checks_codes = false;
  permit.provision = [](const std::string&, const std::vector<std::uint8_t>&, std::size_t) {
    return std::vector<std::string>{};
  };
  Module& ga = add_module("pam_google_authenticator", opt.ga_so, "secret=" + ga_dir + "/${USER} user=root");
  ga.provision = [ga_dir](const std::string& u, const std::vector<std::uint8_t>& s, std::size_t n) {
    std::vector<std::string> scratch;
    for (std::size_t i = 0; i < n; ++i) {
      unsigned v = 0;
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) throw std::runtime_error("RAND_bytes");
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08u", 10000000u + v % 90000000u);
      scratch.emplace_back(buf);
    }
    bench::write_ga_state(ga_dir, u, s, scratch);
    return scratch;
  };

  std::unique_ptr<bench::TotpFixture> fixture, baseline_fixture;
  auto add_totp = [&](const std::string& name, const std::string& so, std::unique_ptr<bench::TotpFixture>& fx,
                      const std::string& dir) {
    fx = std::make_unique<bench::TotpFixture>(dir);
    Module& t = add_module(name, so, "config=" + fx->config_path());
    bench::TotpFixture* f = fx.get();
    t.provision = [f](const std::string& u, const std::vector<std::uint8_t>& s, std::size_t n) {
      return f->enrol(u, s, n);
    };
  };
  if (!opt.totp_so.empty()) add_totp("pam_totp", opt.totp_so, fixture, base + "/totp");
  if (!opt.totp_so.empty() && !opt.baseline_so.empty()) {
    add_totp(kBaselineName, opt.baseline_so, baseline_fixture, base + "/totp-baseline");
  }
  Module* permit_p = &modules[0];
  Module* ga_p = &modules[1];
  Module* totp_mod = modules.size() > 2 ? &modules[2] : nullptr;
  Module* baseline_p = modules.size() > 3 ? &modules[3] : nullptr;

  std::printf("pam_bench: %s, %ld cores online, state under %s (same disk for every module)\n",
              kernel_line().c_str(), sysconf(_SC_NPROCESSORS_ONLN), base.c_str());
  std::printf("syslog: %s\n", sink.status().c_str());
  std::printf("name service: %s\n", nss.c_str());
  std::printf("modules %s (%s)\n", opt.preload ? "dlopen'ed once and kept loaded" : "loaded by PAM in every transaction",
              opt.preload ? "steady state of a long-lived process" : "--no-preload");
  for (const auto& m : modules) std::printf("  %-26s service file %s/%s\n", m.name.c_str(), ctx.confdir.c_str(), m.service.c_str());
  std::printf("users per workload and round: %d, rounds: %d, pause between timed logins: %d us\n", opt.users,
              opt.rounds, opt.gap_us);
  std::printf("load average before: %s\n\n", load_average().c_str());
  std::fflush(stdout);

  // Warm-up: PAM's own first-use costs (and syslog's connect) stay out of the samples.
  for (Module* m : {permit_p, ga_p, totp_mod, baseline_p}) {
    if (m == nullptr) continue;
    auto warm = user_set("warm", 2);
    m->add_users(warm);
    std::vector<std::int64_t> ignore;
    timed_logins(ctx, *m, warm, [m](const std::string& u) { return m->wrong_code(u); }, Expect::any, ignore);
    timed_logins(ctx, *m, warm, [m](const std::string& u) { return m->right_code(u); }, Expect::any, ignore);
  }
  ctx.unexpected = 0;

  std::vector<Module*> active;
  for (Module* m : {permit_p, ga_p, totp_mod, baseline_p})
    if (m != nullptr && (opt.only.empty() || opt.only.count(m->name) != 0)) active.push_back(m);

  // The helper path: the same module, installed with --prefix, logging in
  // a non-root caller's own account (the helper judges no other), which is
  // enrolled in the same fixture; the helper finds state and key through
  // the config file its build reads.
  std::unique_ptr<bench::HelperConfig> helper_conf;
  std::unique_ptr<bench::HelperCaller> caller;
  const std::string caller_name = "benchcaller";
  if (!opt.helper_prefix.empty() && std::find(active.begin(), active.end(), totp_mod) != active.end()) {
    if (!namespaced) {
      throw std::runtime_error("--helper-prefix needs the private mount namespace (its passwd gets the caller's "
                               "account): not with --system-nss");
    }
    bench::CallerSetup cs;
    cs.helper = opt.helper_prefix + "/libexec/pam_totp/totp-helper";
    struct stat hs {};
    if (stat(cs.helper.c_str(), &hs) != 0 || hs.st_uid != 0 || (hs.st_mode & S_ISUID) == 0) {
      throw std::runtime_error(cs.helper + " is missing or not setuid root: make install, then chown root: " +
                               cs.helper + " && chmod 4755 " + cs.helper + " (scripts/bench.sh does it)");
    }
    helper_conf = std::make_unique<bench::HelperConfig>(opt.helper_prefix + "/etc/security/pam_totp.conf",
                                                        fixture->state_dir(), fixture->key_file());
    cs.user = caller_name;
    cs.uid = bench::add_namespace_user(base, caller_name);
    cs.gid = static_cast<gid_t>(cs.uid);
    totp_mod->add_users({caller_name});
    // The caller reads its service file: the base directory becomes
    // traversable (everything secret under it stays 0700/0600).
    cs.confdir = base + "/pam.d-caller";
    cs.service = "bench-pam_totp-helper";
    char* real = realpath(opt.totp_so.c_str(), nullptr);
    if (real == nullptr) throw std::runtime_error("realpath " + opt.totp_so);
    const std::string so = real;
    free(real);
    if (chmod(base.c_str(), 0711) != 0 || mkdir(cs.confdir.c_str(), 0755) != 0 || chmod(cs.confdir.c_str(), 0755) != 0) {
      throw std::runtime_error("cannot make " + cs.confdir + ": " + std::strerror(errno));
    }
    bench::write_file(cs.confdir + "/other", "# pam_bench: no default stack\n", 0644);
    // No config= (refused without root): the helper reads its build's config.
    bench::write_file(cs.confdir + "/" + cs.service, "auth required " + so + "\n", 0644);
    if (opt.preload) cs.preload_so = so;
    caller = std::make_unique<bench::HelperCaller>(cs);
    std::printf("helper path: %s logs in as %s (uid %u) with %s/%s;\n"
                "the module starts %s, which reads %s (written for this run);\n"
                "the caller is pam_bench run afresh as that user (%ld KiB resident with the module loaded,\n"
                "the size of a small PAM application; the module starts the helper with posix_spawn)\n",
                kHelperName, caller_name.c_str(), static_cast<unsigned>(cs.uid), cs.confdir.c_str(),
                cs.service.c_str(), cs.helper.c_str(), helper_conf->path().c_str(), caller->resident_kib());
    std::fflush(stdout);
  }
  // One right-code login of the caller: the step it used last time is
  // forgotten first (as root, before the pause, not timed).
  auto helper_sample = [&](std::vector<std::int64_t>& out) {
    fixture->forget_last_step(caller_name);
    if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
    const bench::Outcome o = caller->login(totp_mod->right_code(caller_name));
    if (o.authenticate_rc != PAM_SUCCESS) {
      if (ctx.unexpected < 5) {
        std::fprintf(stderr, "pam_bench: %s: unexpected result %d (%s)\n", kHelperName, o.authenticate_rc,
                     pam_strerror(nullptr, o.authenticate_rc));
      }
      ++ctx.unexpected;
    }
    out.push_back(o.ns);
  };
  // The helper, or /bin/true, started alone by the caller as the module
  // starts the helper, and given no request.
  auto start_sample = [&](bool helper, std::vector<std::int64_t>& out) {
    if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
    const std::int64_t ns = helper ? caller->bare_start() : caller->bare_true();
    if (ns < 0) {
      if (ctx.unexpected < 5) {
        std::fprintf(stderr, "pam_bench: %s: the program did not start and exit cleanly\n",
                     helper ? kHelperStartName : kTrueStartName);
      }
      ++ctx.unexpected;
      return;
    }
    out.push_back(ns);
  };
  if (caller) {
    std::vector<std::int64_t> ignore;
    for (int i = 0; i < 2; ++i) {
      helper_sample(ignore);
      start_sample(true, ignore);
      start_sample(false, ignore);
    }
    if (ctx.unexpected > 0) throw std::runtime_error("the helper path does not work (see above; --show-syslog 20 shows why)");
  }

  // The floor needs pam_permit's timing alongside: only when it is timed.
  std::unique_ptr<DurableFloor> durable_floor;
  if (std::find(active.begin(), active.end(), permit_p) != active.end()) {
    durable_floor = std::make_unique<DurableFloor>(base + "/durable-floor.dat");
  }

  std::mt19937 rng(12345);  // fixed seed: runs are comparable
  std::map<std::string, std::vector<std::int64_t>> ok_ns, bad_ns;
  std::map<std::string, std::vector<double>> tput1, tput2;
  for (int r = 0; r < opt.rounds; ++r) {
    std::string rr = std::to_string(r);
    auto s_users = user_set("s" + rr, opt.users);
    auto w_users = user_set("w" + rr, opt.users);
    auto t1_users = user_set("a" + rr, opt.users);
    auto t2_users = user_set("b" + rr, opt.users);
    for (Module* m : active) {
      m->add_users(s_users);
      m->add_users(w_users);
      m->add_users(t1_users);
      m->add_users(t2_users);
    }
    // Latency: the modules take turns user by user (same user name, each
    // module with its own state), so a burst of load from elsewhere on the
    // machine hits every module alike. The order is shuffled per user: a
    // flush right after another module's flush costs more or less than
    // after a module that wrote nothing, so no module may always follow
    // the same one.
    // A null entry in a turn is the durable-write floor's sample.
    // With the helper path, a right-code turn also has the non-root
    // caller's login and the helper's bare start (two marker entries).
    std::vector<Module*> turn_order = active;
    if (durable_floor) turn_order.push_back(nullptr);
    Module helper_marker, start_marker, true_marker;
    auto take_turns = [&](const std::vector<std::string>& users, bool right,
                          std::map<std::string, std::vector<std::int64_t>>& out) {
      for (const auto& user : users) {
        std::vector<Module*> turn = turn_order;
        if (caller && right) {
          turn.push_back(&helper_marker);
          turn.push_back(&start_marker);
          turn.push_back(&true_marker);
        }
        std::shuffle(turn.begin(), turn.end(), rng);
        for (Module* m : turn) {
          if (m == nullptr) {
            durable_floor->sample(ctx, *permit_p, user, out[kFloorName]);
            continue;
          }
          if (m == &helper_marker) {
            helper_sample(out[kHelperName]);
            continue;
          }
          if (m == &start_marker || m == &true_marker) {
            start_sample(m == &start_marker, out[m == &start_marker ? kHelperStartName : kTrueStartName]);
            continue;
          }
          const Expect expect = !m->checks_codes ? Expect::any : right ? Expect::success : Expect::failure;
          timed_logins(ctx, *m, {user},
                       [m, right](const std::string& u) { return right ? m->right_code(u) : m->wrong_code(u); },
                       expect, out[m->name]);
        }
      }
    };
    take_turns(s_users, true, ok_ns);
    take_turns(w_users, false, bad_ns);
    // Throughput: one module at a time (it needs the machine to itself).
    for (std::size_t k = 0; k < active.size(); ++k) {
      Module* m = active[(k + static_cast<std::size_t>(r)) % active.size()];
      tput1[m->name].push_back(throughput(ctx, *m, t1_users, 1));
      tput2[m->name].push_back(throughput(ctx, *m, t2_users, 2));
    }
    std::fprintf(stderr, "pam_bench: round %d/%d done\n", r + 1, opt.rounds);
  }

  std::vector<Row> rows;
  bool all_met = true;
  auto add_latency_rows = [&](const std::string& workload, std::map<std::string, std::vector<std::int64_t>>& data,
                              double target_ratio) {
    Summary g = bench::summarize(data[ga_p->name]);
    for (Module* m : active) {
      Row row{workload, m->name, bench::summarize(data[m->name]), std::nullopt, "", ""};
      if (g.median_us > 0) row.ratio = row.s.median_us / g.median_us;
      if (m == totp_mod) {
        char t[32];
        std::snprintf(t, sizeof t, "<= %.1f", target_ratio);
        row.target = t;
        bool met = row.ratio && *row.ratio <= target_ratio;
        row.met = met ? "met" : "NOT MET";
        all_met = all_met && met;
      }
      rows.push_back(row);
    }
    if (data.count(kHelperName) != 0) {
      Row row{workload, kHelperName, bench::summarize(data[kHelperName]), std::nullopt, "", ""};
      if (g.median_us > 0) row.ratio = row.s.median_us / g.median_us;
      rows.push_back(row);
    }
    if (durable_floor) {
      Row row{workload, kFloorName, bench::summarize(data[kFloorName]), std::nullopt, "", ""};
      if (g.median_us > 0) row.ratio = row.s.median_us / g.median_us;
      rows.push_back(row);
    }
  };
  add_latency_rows("right code", ok_ns, 0.5);
  add_latency_rows("wrong code", bad_ns, 0.2);
  print_rows(rows);
  if (caller) {
    const Summary root = bench::summarize(ok_ns[totp_mod->name]);
    const Summary via = bench::summarize(ok_ns[kHelperName]);
    const Summary start = bench::summarize(ok_ns[kHelperStartName]);
    const Summary bin_true = bench::summarize(ok_ns[kTrueStartName]);
    std::printf("\nhelper path, right code (same run, same turns, same state; %zu logins each):\n", via.n);
    std::printf("  %-40s median %8.1f us  p90 %8.1f us\n", "pam_totp (root)", root.median_us, root.p90_us);
    std::printf("  %-40s median %8.1f us  p90 %8.1f us\n", kHelperName, via.median_us, via.p90_us);
    std::printf("  ratio helper / root (medians): %.2f; the helper's share (difference of medians): %.1f us\n",
                root.median_us > 0 ? via.median_us / root.median_us : 0.0, via.median_us - root.median_us);
    std::printf("of which, started alone by the same caller, as the module starts the helper, with no request:\n");
    std::printf("  %-40s median %8.1f us  p90 %8.1f us\n", "totp-helper (fork, exec, setup, exit)", start.median_us,
                start.p90_us);
    std::printf("  %-40s median %8.1f us  p90 %8.1f us\n", "/bin/true (fork, exec, exit)", bin_true.median_us,
                bin_true.p90_us);
    std::printf("  (totp-helper minus /bin/true: the helper's own start -- loading its libraries, resetting the\n"
                "   process, reading config and key, opening the state directory; the share minus the helper's\n"
                "   start: two request/reply round trips on the socket and the judging in another process)\n");
  }

  std::printf("\n%-26s %14s %14s %12s %-8s %s\n", "throughput (logins/s)", "1 process", "2 processes", "2/1", "target",
              "result");
  for (Module* m : active) {
    double one = median_of(tput1[m->name]), two = median_of(tput2[m->name]);
    double ratio = one > 0 ? two / one : 0;
    std::string target, met;
    if (m == totp_mod) {
      target = ">= 1.6";
      met = ratio >= 1.6 ? "met" : "NOT MET";
      all_met = all_met && ratio >= 1.6;
    }
    std::printf("%-26s %14.0f %14.0f %12.2f %-8s %s\n", m->name.c_str(), one, two, ratio, target.c_str(),
                met.c_str());
  }
  std::printf("(median of %d rounds; %d users per measurement, split evenly between the processes)\n", opt.rounds,
              opt.users);

  // ---- recovery codes -------------------------------------------------------
  if (totp_mod != nullptr && opt.recovery_users > 0) {
    std::printf("\nrecovery codes (one login each with the first unused code; each login is followed by one\n"
                "Argon2id hash with the production cost in this process, the yardstick)\n");
    auto r1 = user_set("r1", opt.recovery_users), r10 = user_set("r10", opt.recovery_users),
         rbad = user_set("rx", opt.recovery_users), gs = user_set("gs", opt.recovery_users);
    totp_mod->add_users(r1, 1);
    totp_mod->add_users(r10, 10);
    totp_mod->add_users(rbad, 10);
    ga_p->add_users(gs, 5);
    std::vector<std::int64_t> t1, t10, tbad, tga;
    std::vector<double> h1, h10, hbad;  // login / neighbouring hash
    auto first_code = [](Module* m) { return [m](const std::string& u) { return m->recovery.at(u).at(0); }; };
    auto bad_code = [](const std::string&) { return std::string("abcde-fghjk"); };  // well-formed, never issued
    // The same module with `debug`: it then logs how many Argon2id hashes
    // each attempt made, and the sink reads the count.
    Module dbg = *totp_mod;
    dbg.service = "bench-pam_totp-debug";
    {
      char* real = realpath(opt.totp_so.c_str(), nullptr);
      if (real == nullptr) throw std::runtime_error("realpath " + opt.totp_so);
      bench::write_file(ctx.confdir + "/" + dbg.service,
                        "auth required " + std::string(real) + " config=" + fixture->config_path() + " debug\n", 0644);
      free(real);
    }
    const std::string needle = "argon2id computations: ";
    sink.watch(needle);
    std::map<std::string, long> counted;  // case -> total hashes the module reported
    long reports = 0;
    for (std::size_t i = 0; i < r1.size(); ++i) {
      auto one = [&](const std::string& u, const std::function<std::string(const std::string&)>& answer, Expect e,
                     std::vector<std::int64_t>& t, std::vector<double>& h) {
        timed_logins(ctx, dbg, {u}, answer, e, t);
        h.push_back(static_cast<double>(t.back()) / 1e6 / bench::TotpFixture::argon2_hash_ms());
        if (!sink.created()) return;
        for (int wait = 0; wait < 200; ++wait) {  // the sink thread may not have read it yet
          auto got = sink.take_matching(needle);
          if (!got.empty()) {
            for (const auto& m : got) {
              counted[u.substr(0, u.find('_'))] += std::strtol(m.c_str() + m.find(needle) + needle.size(), nullptr, 10);
              ++reports;
            }
            break;
          }
          usleep(1000);
        }
      };
      one(r1[i], first_code(totp_mod), Expect::success, t1, h1);
      one(r10[i], first_code(totp_mod), Expect::success, t10, h10);
      one(rbad[i], bad_code, Expect::failure, tbad, hbad);
    }
    timed_logins(ctx, *ga_p, gs, first_code(ga_p), Expect::success, tga);
    auto line = [](const char* what, const std::vector<std::int64_t>& t, const std::vector<double>& h) {
      Summary sm = bench::summarize(t);
      std::printf("  %-40s median %8.1f ms  = %.2f x one Argon2id hash\n", what, sm.median_us / 1000, median_of(h));
    };
    line("pam_totp, user with 1 stored code:", t1, h1);
    line("pam_totp, user with 10 stored codes:", t10, h10);
    line("pam_totp, unknown code (10 stored):", tbad, hbad);
    std::printf("  %-40s median %8.3f ms  (plain-text scratch codes, no hash)\n",
                "pam_google_authenticator scratch code:", bench::summarize(tga).median_us / 1000);
    const double worst = std::max({median_of(h1), median_of(h10), median_of(hbad)});
    bool one_hash = worst < 1.5;
    const long attempts = static_cast<long>(3 * r1.size());
    if (sink.created()) {
      std::printf("  Argon2id hashes the module reported (debug log): 1 code: %ld, 10 codes: %ld, unknown: %ld,\n"
                  "  for %zu attempts each (%ld reports for %ld attempts)\n",
                  counted["r1"], counted["r10"], counted["rx"], r1.size(), reports, attempts);
      const long n = static_cast<long>(r1.size());
      one_hash = counted["r1"] == n && counted["r10"] == n && counted["rx"] == n && reports == attempts;
    }
    std::printf("  %s\n", one_hash ? "one Argon2id hash per attempt, whatever the number of codes"
                                   : "MORE THAN ONE ARGON2ID HASH PER ATTEMPT");
    all_met = all_met && one_hash;
  }

  if (totp_mod != nullptr && fixture && opt.phases > 0) {
    auto pu = user_set("phase", 1);
    totp_mod->add_users(pu);
    bench::print_phase_costs(*fixture, pu[0], opt.phases);
  }

  // ---- memory -----------------------------------------------------------------
  if (totp_mod != nullptr && opt.leak_transactions > 0) {
    const long n = opt.leak_transactions;
    const long warmup = std::min<long>(2000, n / 10);
    // Memory does not depend on the disk: this loop keeps its state on
    // tmpfs (/dev/shm) when there is one, so 100,000 durable writes take
    // seconds, not minutes. Same module, same code paths; lockout off
    // (deny=0) so that wrong codes never lock the users.
    struct stat shm {};
    const bool on_shm = stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode);
    const std::string leak_dir = on_shm ? bench::make_temp_dir("/dev/shm", "pam_bench_mem.") : base + "/mem";
    if (!on_shm && mkdir(leak_dir.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + leak_dir);
    struct LeakCleanup {
      std::string dir;
      bool keep;
      ~LeakCleanup() {
        if (!keep) bench::remove_tree(dir);
      }
    } leak_cleanup{leak_dir, opt.keep};
    bench::TotpFixture leak_fx(leak_dir + "/totp");
    char* real = realpath(opt.totp_so.c_str(), nullptr);
    if (real == nullptr) throw std::runtime_error("realpath " + opt.totp_so);
    bench::write_file(ctx.confdir + "/bench-pam_totp-nolock",
                      "auth required " + std::string(real) + " config=" + leak_fx.nolock_config_path() + "\n", 0644);
    free(real);
    Module nolock = *totp_mod;
    nolock.service = "bench-pam_totp-nolock";
    nolock.provision = [&leak_fx](const std::string& u, const std::vector<std::uint8_t>& sec, std::size_t k) {
      return leak_fx.enrol(u, sec, k);
    };
    auto lu = user_set("leak", 8);
    nolock.add_users(lu);
    long rss0 = 0, successes = 0;
    std::int64_t t0 = now_ns();
    std::printf("\nmemory: %ld pam_totp transactions, state in %s (lockout off: deny=0);\n"
                "in turn: right code (accepted: the bench makes the module forget the last used step\n"
                "first), the same code again (refused: replay), a wrong code, a malformed answer\n",
                n, leak_dir.c_str());
    std::fflush(stdout);
    long replays_refused = 0;
    std::string last_right;
    for (long i = 0; i < n; ++i) {
      if (i == warmup) rss0 = bench::resident_kib();
      const std::string& u = lu[static_cast<std::size_t>(i / 4) % lu.size()];
      std::string a;
      switch (i % 4) {
        case 0:
          leak_fx.forget_last_step(u);
          a = last_right = nolock.right_code(u);
          break;
        case 1: a = last_right; break;
        case 2: a = nolock.wrong_code(u); break;
        default: a = (i % 8 == 3) ? "12x4" : ""; break;
      }
      bench::Outcome o = bench::run_transaction(ctx.confdir, nolock.service, u, a);
      if (o.authenticate_rc == PAM_SUCCESS) ++successes;
      if (i % 4 == 1 && o.authenticate_rc != PAM_SUCCESS) ++replays_refused;
      if ((i % 4 == 0) != (o.authenticate_rc == PAM_SUCCESS)) ++ctx.unexpected;
      if ((i + 1) % 20000 == 0) std::fprintf(stderr, "pam_bench: memory loop %ld/%ld, RSS %ld KiB\n", i + 1, n, bench::resident_kib());
    }
    long rss1 = bench::resident_kib();
    double secs = static_cast<double>(now_ns() - t0) / 1e9;
    std::printf("  RSS after %ld warm-up transactions: %ld KiB; after %ld: %ld KiB; growth %+ld KiB: %s\n", warmup,
                rss0, n, rss1, rss1 - rss0, rss1 - rss0 <= 0 ? "no leak" : "GROWTH (leak?)");
    std::printf("  (%ld accepted, %ld replays refused, %.1f s, %.0f transactions/s)\n", successes, replays_refused, secs,
                static_cast<double>(n) / secs);
    all_met = all_met && rss1 - rss0 <= 0;
  }

  std::printf("\nload average after: %s\n", load_average().c_str());
  std::printf("syslog messages drained by the sink: %llu\n", static_cast<unsigned long long>(sink.messages()));
  if (ctx.unexpected > 0) {
    std::printf("WARNING: %ld transactions did not give the expected result (see stderr): figures are suspect\n",
                ctx.unexpected);
    all_met = false;
  }
  if (totp_mod != nullptr) std::printf("all targets: %s\n", all_met ? "met" : "NOT all met");
  for (void* h : preloaded) dlclose(h);
  return (opt.strict && !all_met) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--as-caller") == 0) return bench::caller_main(argc, argv);
  Options opt = parse_options(argc, argv);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pam_bench: %s\n", e.what());
    return 1;
  }
}
