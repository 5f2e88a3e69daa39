// SPDX-License-Identifier: Apache-2.0
// cold_bench: what a login costs in the three process models of issue 18,
// for pam_permit, pam_google_authenticator and pam_totp, in one run.
//
//   model 1  long-lived process: the modules dlopen'ed once and kept, each
//            sample one pam_start_confdir .. pam_authenticate .. pam_end in
//            this process (bench::run_transaction, as pam_bench does);
//   model 2  fresh process per login: bench/cold_driver (no libstdc++ of
//            its own; libcrypto linked and initialised first, as in sshd)
//            started with posix_spawn for ONE transaction; timed from the
//            spawn to the reaped exit, and the driver's own transaction;
//   model 3  end to end: `ssh` with a key, then a code (keyboard-interactive
//            answered by an SSH_ASKPASS script), through a private sshd on
//            127.0.0.1 per module (PAM service: the system's
//            /etc/pam.d/sshd with "@include common-auth" replaced by the one
//            module), the remote command `true`.
//
// Every sample of every model and module takes its turn user by user, in
// an order shuffled per turn, so load from elsewhere hits all alike. Then:
// logins per second with 1 and 2 processes (model 1), with --big the
// right-code median with 100,000 enrolled users against 200 (model 1, the
// two stores taking turns), and what pam_totp pays at load in a fresh
// process against google-authenticator (dlopen times, LD_DEBUG=statistics,
// libraries sshd does not already have, relocations).
//
// Runs as root in a private mount namespace of its own: copies of
// /etc/passwd (plus the ssh users), /etc/nsswitch.conf (passwd, group and
// shadow from files, as pam_bench does) and /etc/pam.d (plus the sshd
// services) are bind-mounted there; nothing changes for the rest of the
// machine. scripts/bench-cold.sh builds and runs it.
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/ga_fixture.h"
#include "bench/totp_fixture.h"
#include "core/key.h"
#include "core/otp.h"
#include "core/record.h"
#include "core/recovery.h"
#include "core/store.h"

extern char** environ;

namespace {

using bench::now_ns;
using bench::Summary;

struct Options {
  int users = 200;        // samples per model-1/2 row (right and wrong each)
  int ssh_logins = 200;   // model 3 logins per module
  int tput_users = 4000;  // users available per process and throughput measurement
  int tput_ms = 500;      // length of one throughput measurement
  int tput_rounds = 3;
  int load_samples = 200; // fresh processes per dlopen row
  int gap_us = 1000;
  bool big = false;
  int big_users = 100000;
  int big_measured = 200;
  std::set<int> models = {1, 2, 3};
  bool keep = false;
  std::string parent = "/var/tmp";
  std::string totp_so, driver;
  std::string totp_unstripped;  // another copy of the module, dlopen timed beside it
  std::string ga_so = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";
  std::string permit_so = "/lib/x86_64-linux-gnu/security/pam_permit.so";
  std::string sshd = "/usr/sbin/sshd";
  std::string ssh = "/usr/bin/ssh";
  std::string ssh_keygen = "/usr/bin/ssh-keygen";
};

void usage(FILE* f) {
  std::fputs(
      "usage: cold_bench --totp PATH [options]\n"
      "  --totp PATH        pam_totp.so to measure (required)\n"
      "  --driver PATH      bench/cold_driver (default: next to this program)\n"
      "  --also-dlopen PATH time dlopen of this copy of pam_totp.so too (e.g. the unstripped one)\n"
      "  --ga PATH / --permit PATH   the peers (default: Debian's)\n"
      "  --users N          samples per row in models 1 and 2, right and wrong code each (default 200)\n"
      "  --ssh-logins N     model 3 logins per module (default 200; 0 skips model 3)\n"
      "  --models LIST      e.g. 1,2 (default 1,2,3)\n"
      "  --tput-ms N        length of one throughput measurement, ms (default 500)\n"
      "  --tput-users N     users made per process and measurement (default 4000; a process that runs out\n"
      "                     stops early and its rate counts over its own time)\n"
      "  --tput-rounds N    throughput measurements per module and process count (default 3; median)\n"
      "  --load-samples N   fresh processes per dlopen row (default 200; 0 skips the load section)\n"
      "  --gap US           pause before each timed sample (default 1000)\n"
      "  --big              also 100,000 enrolled users against 200 (model 1, right code)\n"
      "  --big-users N      enrolled users for --big (default 100000)\n"
      "  --dir DIR          where the state goes (default /var/tmp: a real disk)\n"
      "  --keep             keep the temporary directory\n"
      "  --sshd PATH / --ssh PATH / --ssh-keygen PATH\n",
      f);
}

int parse_int(const char* s, const char* opt) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > 100000000) {
    std::fprintf(stderr, "cold_bench: bad number for %s: %s\n", opt, s);
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
        std::fprintf(stderr, "cold_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--totp") o.totp_so = next();
    else if (a == "--driver") o.driver = next();
    else if (a == "--also-dlopen") o.totp_unstripped = next();
    else if (a == "--ga") o.ga_so = next();
    else if (a == "--permit") o.permit_so = next();
    else if (a == "--users") o.users = parse_int(next(), "--users");
    else if (a == "--ssh-logins") o.ssh_logins = parse_int(next(), "--ssh-logins");
    else if (a == "--tput-users") o.tput_users = parse_int(next(), "--tput-users");
    else if (a == "--tput-ms") o.tput_ms = parse_int(next(), "--tput-ms");
    else if (a == "--tput-rounds") o.tput_rounds = parse_int(next(), "--tput-rounds");
    else if (a == "--load-samples") o.load_samples = parse_int(next(), "--load-samples");
    else if (a == "--gap") o.gap_us = parse_int(next(), "--gap");
    else if (a == "--big") o.big = true;
    else if (a == "--big-users") o.big_users = parse_int(next(), "--big-users");
    else if (a == "--dir") o.parent = next();
    else if (a == "--keep") o.keep = true;
    else if (a == "--sshd") o.sshd = next();
    else if (a == "--ssh") o.ssh = next();
    else if (a == "--ssh-keygen") o.ssh_keygen = next();
    else if (a == "--models") {
      o.models.clear();
      std::stringstream ss(next());
      std::string m;
      while (std::getline(ss, m, ',')) o.models.insert(parse_int(m.c_str(), "--models"));
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "cold_bench: unknown option %s\n", a.c_str());
      usage(stderr);
      std::exit(2);
    }
  }
  if (o.totp_so.empty() || o.users < 2) {
    usage(stderr);
    std::exit(2);
  }
  if (o.ssh_logins == 0) o.models.erase(3);
  if (o.driver.empty()) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) throw std::runtime_error("readlink /proc/self/exe");
    self[n] = '\0';
    std::string s = self;
    o.driver = s.substr(0, s.rfind('/')) + "/cold_driver";
  }
  if (o.big_measured > o.big_users) o.big_measured = o.big_users;
  return o;
}

// ---- cleanup on signals -----------------------------------------------------

char g_sink_path[108] = "";
pid_t g_main_pid = 0;

extern "C" void on_signal(int sig) {
  if (getpid() == g_main_pid && g_sink_path[0] != '\0') unlink(g_sink_path);
  signal(sig, SIG_DFL);
  raise(sig);
}

// ---- small helpers ------------------------------------------------------------

std::string real_path(const std::string& p) {
  char* r = realpath(p.c_str(), nullptr);
  if (r == nullptr) throw std::runtime_error("cannot find " + p);
  std::string s = r;
  free(r);
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a command, returns its stdout (stderr kept out unless `merge`).
std::string capture(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Runs argv, waits; true when it exited 0. Output to /dev/null.
bool run_quiet(const std::vector<std::string>& args) {
  std::vector<char*> av;
  for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

std::vector<std::uint8_t> random_secret() {
  std::vector<std::uint8_t> s(20);
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return s;
}

std::string code_at(const std::vector<std::uint8_t>& secret, std::int64_t t) {
  auto r = totp::totp_code(secret, totp::OtpParams{}, t);
  if (!r.ok()) throw std::runtime_error("totp_code: " + r.error().message);
  return *r;
}

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

std::vector<std::string> user_set(const std::string& tag, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%05d", tag.c_str(), i);
    v.emplace_back(buf);
  }
  return v;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

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

// ---- modules -------------------------------------------------------------------

struct Module {
  std::string name;
  std::string so;       // absolute path
  std::string args;     // service line arguments
  std::string service;  // in the private confdir (models 1, 2)
  bool checks_codes = true;
  std::function<void(const std::string&, const std::vector<std::uint8_t>&)> provision;
  std::map<std::string, std::vector<std::uint8_t>> secrets;

  void add_users(const std::vector<std::string>& users) {
    for (const auto& u : users) {
      auto s = random_secret();
      provision(u, s);
      secrets[u] = std::move(s);
    }
  }
  std::string right_code(const std::string& u) const {
    return checks_codes ? code_at(secrets.at(u), time(nullptr)) : "000000";
  }
  std::string wrong_code(const std::string& u) const { return checks_codes ? wrong_code_for(secrets.at(u)) : "000000"; }
  std::string line() const { return "auth required " + so + (args.empty() ? "" : " " + args); }
};

// ---- the private namespace -----------------------------------------------------

void bind_over(const std::string& copy, const std::string& target) {
  if (mount(copy.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throw std::runtime_error("bind mount " + copy + " on " + target + ": " + std::strerror(errno));
  }
}

// A copy of /etc/pam.d (regular files and what symlinks point to) in `dir`.
void copy_pam_d(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0) throw std::runtime_error("mkdir " + dir);
  DIR* d = opendir("/etc/pam.d");
  if (d == nullptr) throw std::runtime_error("opendir /etc/pam.d");
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (stat(("/etc/pam.d/" + n).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    bench::write_file(dir + "/" + n, read_text("/etc/pam.d/" + n), 0644);
  }
  closedir(d);
}

// ---- model 2: one login in a fresh process ---------------------------------

struct DriverOutcome {
  int rc = -1;               // pam_authenticate's (or -1: the driver failed)
  std::int64_t total = 0;    // spawn .. reaped exit, in this process
  std::int64_t to_main = 0;  // spawn .. the driver's main()
  std::int64_t crypto = 0, start = 0, auth = 0, end = 0;
  std::int64_t after = 0;    // the driver's last clock .. reaped
};

// Spawns `args` with `env`, its stdout into a pipe; returns the output and
// the time from before the spawn to the reaped exit. exit status in *status.
std::string spawn_timed(const std::vector<std::string>& args, const std::vector<std::string>& env, std::int64_t* t0_out,
                        std::int64_t* t1_out, int* status) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  std::vector<char*> av, ev;
  for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  const std::int64_t t0 = now_ns();
  int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(rc));
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  const std::int64_t t1 = now_ns();
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  *t0_out = t0;
  *t1_out = t1;
  *status = st;
  return out;
}

DriverOutcome driver_login(const std::string& driver, const std::string& confdir, const Module& m,
                           const std::string& user, const std::string& code) {
  std::int64_t t0 = 0, t1 = 0;
  int st = 0;
  std::string out = spawn_timed({driver, "login", confdir, m.service, user},
                                {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CB_CODE=" + code}, &t0, &t1, &st);
  DriverOutcome o;
  o.total = t1 - t0;
  long long rc = -1, main_ns = 0, c = 0, s = 0, a = 0, e = 0, x = 0;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
      std::sscanf(out.c_str(), "%lld %lld %lld %lld %lld %lld %lld", &rc, &main_ns, &c, &s, &a, &e, &x) == 7) {
    o.rc = static_cast<int>(rc);
    o.to_main = main_ns - t0;
    o.crypto = c;
    o.start = s;
    o.auth = a;
    o.end = e;
    o.after = t1 - x;
  }
  return o;
}

// ---- model 3: ssh through a private sshd ---------------------------------------

struct SshWorld {
  std::string dir;  // 0755: keys, configs, askpass, the users' home
  std::string client_key, askpass;
  std::map<std::string, int> port;  // module name -> port
  std::vector<pid_t> sshd_pids;
  bool made_run_sshd = false;
  ~SshWorld() {
    for (pid_t p : sshd_pids) {
      kill(p, SIGTERM);
      int st;
      waitpid(p, &st, 0);
    }
    if (made_run_sshd) rmdir("/run/sshd");
  }
};

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Starts one sshd per module, each named sshd-cb-<short> (its PAM service).
void start_sshds(SshWorld& w, const Options& opt, const std::vector<Module*>& mods,
                 const std::map<std::string, std::string>& short_name) {
  w.client_key = w.dir + "/client_key";
  const std::string host_key = w.dir + "/host_key";
  if (!run_quiet({opt.ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-f", host_key}) ||
      !run_quiet({opt.ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "cold_bench", "-f", w.client_key})) {
    throw std::runtime_error("ssh-keygen failed");
  }
  bench::write_file(w.dir + "/authorized_keys", read_text(w.client_key + ".pub"), 0644);
  // The answer to keyboard-interactive prompts (SSH_ASKPASS_REQUIRE=force).
  w.askpass = w.dir + "/askpass";
  bench::write_file(w.askpass, "#!/bin/sh\nprintf '%s\\n' \"$CB_CODE\"\n", 0755);
  struct stat st {};
  if (stat("/run/sshd", &st) != 0) {
    if (mkdir("/run/sshd", 0755) != 0) throw std::runtime_error("mkdir /run/sshd");
    w.made_run_sshd = true;
  }
  for (Module* m : mods) {
    const std::string sn = "sshd-cb-" + short_name.at(m->name);
    const std::string exe = w.dir + "/" + sn;
    if (symlink(opt.sshd.c_str(), exe.c_str()) != 0) throw std::runtime_error("symlink " + exe);
    const int port = free_port();
    const std::string cfg = w.dir + "/" + sn + ".conf";
    bench::write_file(cfg,
                      "# cold_bench: the deploy guide's key-then-code lines, then the private sshd's own\n"
                      "UsePAM yes\nKbdInteractiveAuthentication yes\nPubkeyAuthentication yes\n"
                      "PasswordAuthentication no\nAuthenticationMethods publickey,keyboard-interactive\n"
                      "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " + host_key +
                          "\nPidFile " + w.dir + "/" + sn + ".pid\nAuthorizedKeysFile " + w.dir +
                          "/authorized_keys\nStrictModes no\nAllowUsers c3_*\nPermitRootLogin no\nPrintMotd no\n"
                          "PrintLastLog no\nUseDNS no\nMaxStartups 100\n",
                      0644);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      execl(exe.c_str(), exe.c_str(), "-D", "-f", cfg.c_str(), "-E", (w.dir + "/" + sn + ".log").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    w.sshd_pids.push_back(pid);
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      usleep(25000);
      up = port_open(port);
    }
    if (!up) throw std::runtime_error(sn + " did not start (see " + w.dir + "/" + sn + ".log; --keep keeps it)");
    w.port[m->name] = port;
  }
}

// One ssh login, timed from the spawn of ssh to its reaped exit. true when
// ssh exited 0 (the remote `true` ran).
bool ssh_login(const SshWorld& w, const Options& opt, const Module& m, const std::string& user,
               const std::string& code, std::int64_t* ns) {
  std::int64_t t0 = 0, t1 = 0;
  int st = 0;
  spawn_timed({opt.ssh, "-F", "/dev/null", "-T", "-p", std::to_string(w.port.at(m.name)), "-i", w.client_key, "-o",
               "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey,keyboard-interactive", "-o",
               "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
               "-o", "CheckHostIP=no", "-o", "LogLevel=ERROR", "-o", "NumberOfPasswordPrompts=1", "-o",
               "ConnectTimeout=10", "-o", "BatchMode=no", "-o", "KbdInteractiveAuthentication=yes", "-o",
               "PasswordAuthentication=no", "-o", "UpdateHostKeys=no", user + "@127.0.0.1", "true"},
              {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + w.dir, "SSH_ASKPASS=" + w.askpass,
               "SSH_ASKPASS_REQUIRE=force", "CB_CODE=" + code},
              &t0, &t1, &st);
  *ns = t1 - t0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// ---- 100,000 users: records written straight with the store's format ----------

// Writes `users` state files (and their lock files) into the fixture's
// state directory with encode_state_file, the format FileStore reads, in
// `procs` processes; no fsync per file, one syncfs at the end.
void write_filler(const bench::TotpFixture& fx, const std::vector<std::string>& users, int procs,
                  const std::vector<std::vector<std::uint8_t>>* secrets = nullptr) {
  auto key = totp::load_master_key(fx.key_file());
  if (!key.ok()) throw std::runtime_error("load key: " + key.error().message);
  totp::Record rec;
  rec.enrolment.otp = totp::OtpParams{};
  rec.enrolment.created = static_cast<std::int64_t>(time(nullptr));
  rec.enrolment.state = totp::EnrolmentState::active;
  {
    auto salt = totp::make_recovery_salt();
    if (!salt.ok()) throw std::runtime_error("salt");
    rec.enrolment.recovery_salt = *salt;
    for (std::size_t i = 0; i < totp::kRecoveryCodeCount; ++i) {
      totp::SecureBytes code = totp::make_recovery_code();
      auto norm = totp::normalize_recovery_code(code.view());
      auto h = totp::hash_recovery_code(norm->view(), rec.enrolment.recovery_salt);
      if (!h.ok()) throw std::runtime_error("hash");
      rec.enrolment.recovery_hashes.push_back(*h);
    }
  }
  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      int dfd = open(fx.state_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      for (std::size_t i = static_cast<std::size_t>(p); i < users.size(); i += static_cast<std::size_t>(procs)) {
        auto s = secrets != nullptr ? (*secrets)[i] : random_secret();
        rec.enrolment.secret = totp::SecureBytes(std::span<const std::uint8_t>(s));
        auto bytes = totp::encode_state_file(*key, users[i], rec, 1);
        if (!bytes.ok()) _exit(3);
        int fd = openat(dfd, users[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, bytes->data(), bytes->size()) != static_cast<ssize_t>(bytes->size())) _exit(4);
        close(fd);
        fd = openat(dfd, (".lock." + users[i]).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) _exit(5);
        close(fd);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) throw std::runtime_error("writing the 100,000 records failed");
  }
  int dfd = open(fx.state_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    syncfs(dfd);
    close(dfd);
  }
}

// ---- report ------------------------------------------------------------------------

struct Row {
  std::string model, workload, module;
  Summary s;
  std::string ratio;   // "0.412 GA" etc.
  std::string target;  // "<= 0.50"
  std::string result;  // "met: ..." / "NOT MET: ..."
  std::string net;     // (median - pam_permit's) / (GA's - pam_permit's)
};

// "met (0.31 <= 0.50: 38% below the limit)" and the like.
std::string verdict(double value, double limit, bool at_most, bool* all_met) {
  const bool met = at_most ? value <= limit : value >= limit;
  if (!met) *all_met = false;
  char buf[96];
  const double pct = 100.0 * (at_most ? (limit - value) : (value - limit)) / limit;
  std::snprintf(buf, sizeof buf, "%s by %.1f%% of the limit", met ? "met" : "NOT MET", met ? pct : -pct);
  return buf;
}

void print_rows(const std::vector<Row>& rows) {
  std::printf("%-7s %-11s %-28s %5s %10s %10s %-14s %-8s %-36s %s\n", "model", "workload", "module", "n", "median_us",
              "p90_us", "ratio", "target", "result", "net of permit");
  std::string last;
  for (const auto& r : rows) {
    if (!last.empty() && last != r.model + r.workload) std::printf("\n");
    last = r.model + r.workload;
    std::printf("%-7s %-11s %-28s %5zu %10.1f %10.1f %-14s %-8s %-36s %s\n", r.model.c_str(), r.workload.c_str(),
                r.module.c_str(), r.s.n, r.s.median_us, r.s.p90_us, r.ratio.c_str(), r.target.c_str(),
                r.result.c_str(), r.net.c_str());
  }
}

std::string ratio_text(double v, const char* to) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f %s", v, to);
  return b;
}

// ---- throughput (model 1) -------------------------------------------------------

// Logins per second of `procs` processes logging in with the right code for
// `ms` milliseconds, each over its own slice of `users`, released at once.
// A process that runs out of users stops early; its rate counts over its
// own time.
double throughput(const std::string& confdir, const Module& m, const std::vector<std::string>& users, int procs,
                  int ms, long* failures) {
  int gate[2], back[2];
  if (pipe(gate) != 0 || pipe(back) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(gate[1]);
      close(back[0]);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      const std::int64_t t0 = now_ns(), deadline = t0 + static_cast<std::int64_t>(ms) * 1000000;
      long n = 0, bad = 0;
      for (std::size_t i = static_cast<std::size_t>(p); i < users.size() && now_ns() < deadline;
           i += static_cast<std::size_t>(procs)) {
        bench::Outcome o = bench::run_transaction(confdir, m.service, users[i], m.right_code(users[i]));
        if (m.checks_codes && o.authenticate_rc != PAM_SUCCESS) ++bad;
        ++n;
      }
      char line[96];
      int len = std::snprintf(line, sizeof line, "%ld %lld %ld\n", n, static_cast<long long>(now_ns() - t0), bad);
      if (write(back[1], line, static_cast<std::size_t>(len)) != len) _exit(1);
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  close(back[1]);
  close(gate[1]);  // releases every child at once
  double rate = 0;
  for (pid_t pid : pids) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++*failures;
  }
  std::string out;
  char buf[256];
  ssize_t r;
  while ((r = read(back[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(r));
  close(back[0]);
  std::stringstream ss(out);
  long n = 0, bad = 0;
  long long ns = 0;
  while (ss >> n >> ns >> bad) {
    if (ns > 0) rate += static_cast<double>(n) * 1e9 / static_cast<double>(ns);
    *failures += bad;
  }
  return rate;
}

// ---- load costs ---------------------------------------------------------------------

// Library sonames (or paths) ldd lists for `file`.
std::set<std::string> ldd_libs(const std::string& file) {
  std::set<std::string> libs;
  std::stringstream ss(capture("ldd '" + file + "' 2>/dev/null"));
  std::string line;
  while (std::getline(ss, line)) {
    std::stringstream ls(line);
    std::string name;
    ls >> name;
    if (name.empty() || name.find("linux-vdso") != std::string::npos) continue;
    std::string arrow, path;
    ls >> arrow >> path;
    libs.insert(arrow == "=>" ? path : name);
  }
  return libs;
}

long file_size(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

// Fields of LD_DEBUG=statistics for one driver login.
std::map<std::string, long long> ld_statistics(const std::string& driver, const std::string& confdir, const Module& m,
                                               const std::string& user, const std::string& code, const std::string& dir) {
  const std::string out = dir + "/ld_debug." + m.service;
  std::int64_t t0, t1;
  int st;
  spawn_timed({driver, "login", confdir, m.service, user},
              {"PATH=/usr/bin:/bin", "CB_CODE=" + code, "LD_DEBUG=statistics", "LD_DEBUG_OUTPUT=" + out}, &t0, &t1, &st);
  std::map<std::string, long long> r;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return r;
  std::string text;
  const std::string prefix = "ld_debug." + m.service + ".";
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(prefix, 0) == 0) {
      text += read_text(dir + "/" + n);
      unlink((dir + "/" + n).c_str());
    }
  }
  closedir(d);
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    auto colon = line.find(':', line.find_first_not_of(" \t0123456789:") );
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key = key.substr(key.find_first_not_of(" \t0123456789:"));
    key.erase(0, key.find_first_not_of(" \t"));
    std::string rest = line.substr(colon + 1);
    long long v = 0;
    std::string clean;
    for (char c : rest) {
      if (c >= '0' && c <= '9') clean += c;
      else if (c != ',' && !clean.empty()) break;
    }
    if (clean.empty()) continue;
    v = std::stoll(clean);
    r[key] = v;  // the last one wins (final numbers come at exit)
  }
  return r;
}

int run(const Options& opt) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "cold_bench: must run as root\n");
    return 77;
  }
  g_main_pid = getpid();
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  if (access(opt.driver.c_str(), X_OK) != 0) throw std::runtime_error("no driver at " + opt.driver);

  const std::string base = bench::make_temp_dir(opt.parent, "cold_bench.");
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      if (!keep) bench::remove_tree(dir);
    }
  } cleanup{base, opt.keep};

  // ---- private namespace: passwd (ssh users), nsswitch (files), pam.d
  if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    throw std::runtime_error(std::string("private mount namespace: ") + std::strerror(errno));
  }
  {
    std::ifstream in("/etc/nsswitch.conf");
    std::stringstream text;
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("passwd:", 0) == 0 || line.rfind("group:", 0) == 0 || line.rfind("shadow:", 0) == 0) {
        line = line.substr(0, line.find(':') + 1) + " files";
      }
      text << line << "\n";
    }
    bench::write_file(base + "/nsswitch.conf", text.str(), 0644);
    bind_over(base + "/nsswitch.conf", "/etc/nsswitch.conf");
  }
  const bool do1 = opt.models.count(1) != 0, do2 = opt.models.count(2) != 0, do3 = opt.models.count(3) != 0;
  const std::string ssh_dir = base + "/ssh";
  auto ssh_users = user_set("c3_", do3 ? opt.ssh_logins : 0);
  if (chmod(base.c_str(), 0711) != 0 || mkdir(ssh_dir.c_str(), 0755) != 0 || chmod(ssh_dir.c_str(), 0755) != 0) {
    throw std::runtime_error("mkdir " + ssh_dir);
  }
  if (do3) {
    std::string pw = read_text("/etc/passwd");
    for (std::size_t i = 0; i < ssh_users.size(); ++i) {
      // "*": no shadow entry to look up; the key and the code are the way in.
      pw += ssh_users[i] + ":*:" + std::to_string(62000 + i) + ":65534:cold_bench:" + ssh_dir + ":/bin/sh\n";
    }
    bench::write_file(base + "/passwd", pw, 0644);
    bind_over(base + "/passwd", "/etc/passwd");
    copy_pam_d(base + "/pam.d-etc");
  }

  bench::DevLogSink sink("/dev/log", 0);
  if (sink.created()) std::snprintf(g_sink_path, sizeof g_sink_path, "%s", sink.path().c_str());

  const std::string confdir = base + "/pam.d";
  const std::string ga_dir = base + "/ga";
  if (mkdir(confdir.c_str(), 0755) != 0 || mkdir(ga_dir.c_str(), 0700) != 0) throw std::runtime_error("mkdir");
  bench::write_file(confdir + "/other", "# cold_bench: no default stack\n", 0644);

  std::vector<std::unique_ptr<Module>> owned;
  std::vector<void*> preloaded;
  auto add_module = [&](const std::string& name, const std::string& so, const std::string& args) -> Module& {
    auto m = std::make_unique<Module>();
    m->name = name;
    m->so = real_path(so);
    m->args = args;
    m->service = "cb-" + name;
    bench::write_file(confdir + "/" + m->service, m->line() + "\n", 0644);
    void* h = dlopen(m->so.c_str(), RTLD_NOW | RTLD_LOCAL);  // model 1 keeps it loaded
    if (h == nullptr) throw std::runtime_error(name + ": dlopen: " + dlerror());
    preloaded.push_back(h);
    owned.push_back(std::move(m));
    return *owned.back();
  };
  Module& permit = add_module("pam_permit", opt.permit_so, "");
  permit.checks_codes = false;
  permit.provision = [](const std::string&, const std::vector<std::uint8_t>&) {};
  Module& ga = add_module("pam_google_authenticator", opt.ga_so, "secret=" + ga_dir + "/${USER} user=root");
  ga.provision = [ga_dir](const std::string& u, const std::vector<std::uint8_t>& s) {
    bench::write_ga_state(ga_dir, u, s, {});
  };
  bench::TotpFixture fx(base + "/totp");
  Module& totp = add_module("pam_totp", opt.totp_so, "config=" + fx.config_path());
  totp.provision = [&fx](const std::string& u, const std::vector<std::uint8_t>& s) { fx.enrol(u, s, 0); };
  std::vector<Module*> mods = {&permit, &ga, &totp};
  std::map<std::string, std::string> short_name = {
      {"pam_permit", "permit"}, {"pam_google_authenticator", "ga"}, {"pam_totp", "totp"}};

  // --big: two more pam_totp stores, 200 users and 100,000.
  std::unique_ptr<bench::TotpFixture> fx_small, fx_big;
  Module* small_m = nullptr;
  Module* big_m = nullptr;
  double filler_s = 0;
  if (opt.big) {
    fx_small = std::make_unique<bench::TotpFixture>(base + "/totp-200");
    fx_big = std::make_unique<bench::TotpFixture>(base + "/totp-big");
    Module& s = add_module("pam_totp_200", opt.totp_so, "config=" + fx_small->config_path());
    Module& b = add_module("pam_totp_big", opt.totp_so, "config=" + fx_big->config_path());
    bench::TotpFixture* fs = fx_small.get();
    bench::TotpFixture* fb = fx_big.get();
    s.provision = [fs](const std::string& u, const std::vector<std::uint8_t>& sec) { fs->enrol(u, sec, 0); };
    b.provision = [fb](const std::string& u, const std::vector<std::uint8_t>& sec) { fb->enrol(u, sec, 0); };
    small_m = &s;
    big_m = &b;
  }

  std::printf("cold_bench: %ld cores online, state under %s, load average before: %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              base.c_str(), load_average().c_str());
  std::printf("syslog: %s\n", sink.status().c_str());
  for (Module* m : mods) std::printf("  %-26s %s\n", m->name.c_str(), m->line().c_str());
  std::printf("driver (model 2): %s\n", opt.driver.c_str());
  std::fflush(stdout);

  // ---- users and their state
  std::fprintf(stderr, "cold_bench: enrolling users\n");
  auto m1r = user_set("c1r", do1 ? opt.users : 0), m1w = user_set("c1w", do1 ? opt.users : 0);
  auto m2r = user_set("c2r", do2 ? opt.users : 0), m2w = user_set("c2w", do2 ? opt.users : 0);
  auto warm = user_set("cw", 4);
  for (Module* m : mods) {
    for (const auto* set : {&m1r, &m1w, &m2r, &m2w, &ssh_users, &warm}) m->add_users(*set);
  }
  std::vector<std::string> big_users_measured;
  if (opt.big) {
    big_users_measured = user_set("cb", opt.big_measured);
    small_m->add_users(big_users_measured);
    big_m->add_users(big_users_measured);
    small_m->add_users(warm);
    big_m->add_users(warm);
    std::fprintf(stderr, "cold_bench: writing %d records\n", opt.big_users - opt.big_measured);
    const std::int64_t t0 = now_ns();
    write_filler(*fx_big, user_set("cf", opt.big_users - opt.big_measured), 2);
    filler_s = static_cast<double>(now_ns() - t0) / 1e9;
  }

  // ---- model 3's sshds
  SshWorld world;
  world.dir = ssh_dir;
  if (do3) {
    for (Module* m : mods) {
      std::string svc = read_text("/etc/pam.d/sshd");
      const std::string inc = "@include common-auth";
      auto pos = svc.find("\n" + inc + "\n");
      if (pos == std::string::npos) throw std::runtime_error("/etc/pam.d/sshd has no '@include common-auth' line");
      svc.replace(pos + 1, inc.size(), m->line());
      bench::write_file(base + "/pam.d-etc/sshd-cb-" + short_name[m->name], svc, 0644);
    }
    bind_over(base + "/pam.d-etc", "/etc/pam.d");
    std::fprintf(stderr, "cold_bench: starting the private sshds\n");
    start_sshds(world, opt, mods, short_name);
  }

  long unexpected = 0;
  auto expect_rc = [&](const Module& m, bool right, int rc, const char* what, const std::string& u) {
    const bool ok = !m.checks_codes || (right ? rc == PAM_SUCCESS : rc != PAM_SUCCESS && rc >= 0);
    if (!ok) {
      if (unexpected < 5) {
        std::fprintf(stderr, "cold_bench: %s %s user %s: unexpected result %d\n", what, m.name.c_str(), u.c_str(), rc);
      }
      ++unexpected;
    }
  };

  // ---- warm-up (not timed): PAM's first use, page cache, sshd's first fork
  for (Module* m : mods) {
    for (int i = 0; i < 2; ++i) {
      bench::run_transaction(confdir, m->service, warm[i], m->wrong_code(warm[i]));
      driver_login(opt.driver, confdir, *m, warm[2 + i], m->wrong_code(warm[2 + i]));
    }
  }
  if (do3) {
    for (Module* m : mods) {
      std::int64_t ns;
      // A login that must fail fast for the code-checking modules (wrong code).
      ssh_login(world, opt, *m, ssh_users[0], "x", &ns);
    }
  }

  // ---- the interleaved turns
  struct Sample {
    int model;
    Module* m;
    bool right;
  };
  std::map<std::string, std::vector<std::int64_t>> data;  // key: "model|workload|module"
  std::map<std::string, std::vector<std::int64_t>> parts;  // model 2 breakdown
  auto key = [](int model, bool right, const Module& m) {
    return std::to_string(model) + "|" + (right ? "right" : "wrong") + "|" + m.name;
  };
  std::mt19937 rng(12345);
  const int turns = std::max({do1 || do2 ? opt.users : 0, do3 ? opt.ssh_logins : 0});
  std::fprintf(stderr, "cold_bench: %d turns\n", turns);
  const std::int64_t turns_t0 = now_ns();
  for (int i = 0; i < turns; ++i) {
    std::vector<Sample> turn;
    for (Module* m : mods) {
      if (do1 && i < opt.users) {
        turn.push_back({1, m, true});
        turn.push_back({1, m, false});
      }
      if (do2 && i < opt.users) {
        turn.push_back({2, m, true});
        turn.push_back({2, m, false});
      }
      if (do3 && i < opt.ssh_logins) turn.push_back({3, m, true});
    }
    std::shuffle(turn.begin(), turn.end(), rng);
    for (const Sample& s : turn) {
      if (opt.gap_us > 0) usleep(static_cast<useconds_t>(opt.gap_us));
      const Module& m = *s.m;
      const std::string k = key(s.model, s.right, m);
      if (s.model == 1) {
        const std::string& u = (s.right ? m1r : m1w)[static_cast<std::size_t>(i)];
        const std::string code = s.right ? m.right_code(u) : m.wrong_code(u);
        bench::Outcome o = bench::run_transaction(confdir, m.service, u, code);
        expect_rc(m, s.right, o.authenticate_rc, "model 1", u);
        data[k].push_back(o.ns);
      } else if (s.model == 2) {
        const std::string& u = (s.right ? m2r : m2w)[static_cast<std::size_t>(i)];
        const std::string code = s.right ? m.right_code(u) : m.wrong_code(u);
        DriverOutcome o = driver_login(opt.driver, confdir, m, u, code);
        expect_rc(m, s.right, o.rc, "model 2", u);
        data[k].push_back(o.total);
        data[k + "|pam"].push_back(o.start + o.auth + o.end);
        parts[k + "|exec to main"].push_back(o.to_main);
        parts[k + "|libcrypto init"].push_back(o.crypto);
        parts[k + "|pam_start (loads)"].push_back(o.start);
        parts[k + "|pam_authenticate"].push_back(o.auth);
        parts[k + "|pam_end"].push_back(o.end);
        parts[k + "|exit to reaped"].push_back(o.after);
      } else {
        const std::string& u = ssh_users[static_cast<std::size_t>(i)];
        std::int64_t ns = 0;
        if (!ssh_login(world, opt, m, u, m.right_code(u), &ns)) {
          if (unexpected < 5) std::fprintf(stderr, "cold_bench: model 3 %s user %s: ssh failed\n", m.name.c_str(), u.c_str());
          ++unexpected;
        }
        data[k].push_back(ns);
      }
    }
    if ((i + 1) % 50 == 0) std::fprintf(stderr, "cold_bench: turn %d/%d\n", i + 1, turns);
  }
  const double turns_s = static_cast<double>(now_ns() - turns_t0) / 1e9;

  // ---- throughput (model 1), one module at a time
  std::map<std::string, std::vector<double>> tput1, tput2;
  long tput_failures = 0;
  if (do1 && opt.tput_rounds > 0) {
    std::fprintf(stderr, "cold_bench: throughput\n");
    // Each round: pools of fresh users (pam_totp's written straight into a
    // store of the round's own, as for --big; GA's state files), then each
    // module alone with 1 and 2 processes.
    for (int r = 0; r < opt.tput_rounds; ++r) {
      const std::string tag = "t" + std::to_string(r);
      auto a = user_set(tag + "a", opt.tput_users), b = user_set(tag + "b", 2 * opt.tput_users);
      bench::TotpFixture tfx(base + "/tput-" + std::to_string(r));
      Module tp = totp;
      tp.service = "cb-pam_totp-" + tag;
      bench::write_file(confdir + "/" + tp.service, "auth required " + totp.so + " config=" + tfx.config_path() + "\n",
                        0644);
      std::vector<std::string> all = a;
      all.insert(all.end(), b.begin(), b.end());
      std::vector<std::vector<std::uint8_t>> secrets;
      for (const auto& u : all) {
        secrets.push_back(random_secret());
        tp.secrets[u] = secrets.back();
      }
      write_filler(tfx, all, 2, &secrets);
      ga.add_users(all);
      for (std::size_t k = 0; k < mods.size(); ++k) {
        Module* m = mods[(k + static_cast<std::size_t>(r)) % mods.size()];
        const Module& use = m == &totp ? tp : *m;
        for (int w = 0; w < 2; ++w) bench::run_transaction(confdir, use.service, "cw00000", "000000");
        tput1[m->name].push_back(throughput(confdir, use, a, 1, opt.tput_ms, &tput_failures));
        tput2[m->name].push_back(throughput(confdir, use, b, 2, opt.tput_ms, &tput_failures));
      }
      if (!opt.keep) bench::remove_tree(tfx.dir());
    }
  }

  // ---- --big: 200 against 100,000 enrolled users
  std::vector<std::int64_t> small_ns, big_ns;
  if (opt.big) {
    std::fprintf(stderr, "cold_bench: 200 vs %d users\n", opt.big_users);
    for (Module* m : {small_m, big_m}) {
      for (int i = 0; i < 2; ++i) bench::run_transaction(confdir, m->service, warm[i], m->wrong_code(warm[i]));
    }
    for (const auto& u : big_users_measured) {
      std::vector<Module*> turn = {small_m, big_m};
      std::shuffle(turn.begin(), turn.end(), rng);
      for (Module* m : turn) {
        if (opt.gap_us > 0) usleep(static_cast<useconds_t>(opt.gap_us));
        bench::Outcome o = bench::run_transaction(confdir, m->service, u, m->right_code(u));
        expect_rc(*m, true, o.authenticate_rc, "big", u);
        (m == small_m ? small_ns : big_ns).push_back(o.ns);
      }
    }
  }

  // ---- the table
  bool all_met = true;
  std::vector<Row> rows;
  const char* model_name[] = {"", "1", "2", "3"};
  for (int model : {1, 2}) {
    if (!opt.models.count(model)) continue;
    for (bool right : {true, false}) {
      const Summary g = bench::summarize(data[key(model, right, ga)]);
      for (Module* m : mods) {
        Row row{model_name[model], right ? "right code" : "wrong code", m->name,
                bench::summarize(data[key(model, right, *m)]), "", "", "", ""};
        const double ratio = g.median_us > 0 ? row.s.median_us / g.median_us : 0;
        row.ratio = ratio_text(ratio, "x GA");
        const double p = bench::summarize(data[key(model, right, permit)]).median_us;
        if (m != &permit && g.median_us > p) {
          char b[64];
          std::snprintf(b, sizeof b, "%.3f (%+.0f us)", (row.s.median_us - p) / (g.median_us - p), row.s.median_us - p);
          row.net = b;
        }
        if (m == &totp) {
          const double limit = right ? 0.5 : 0.2;
          char t[16];
          std::snprintf(t, sizeof t, "<= %.2f", limit);
          row.target = t;
          row.result = verdict(ratio, limit, true, &all_met);
        }
        rows.push_back(row);
      }
      if (model == 2) {
        // The driver's own transaction (pam_start_confdir .. pam_end).
        const Summary gp = bench::summarize(data[key(2, right, ga) + "|pam"]);
        for (Module* m : mods) {
          Row row{"2 (pam)", right ? "right code" : "wrong code", m->name,
                  bench::summarize(data[key(2, right, *m) + "|pam"]), "", "", "", ""};
          row.ratio = ratio_text(gp.median_us > 0 ? row.s.median_us / gp.median_us : 0, "x GA");
          rows.push_back(row);
        }
      }
    }
  }
  if (do3) {
    const Summary p = bench::summarize(data[key(3, true, permit)]);
    for (Module* m : mods) {
      Row row{"3", "ssh login", m->name, bench::summarize(data[key(3, true, *m)]), "", "", "", ""};
      const double ratio = p.median_us > 0 ? row.s.median_us / p.median_us : 0;
      row.ratio = ratio_text(ratio, "x permit");
      if (m == &totp) {
        row.target = "<= 1.02";
        row.result = verdict(ratio, 1.02, true, &all_met);
      }
      rows.push_back(row);
    }
  }
  if (opt.big) {
    const Summary s = bench::summarize(small_ns);
    Row a{"1", "right code", "pam_totp, 200 enrolled", s, "", "", "", ""};
    char nm[64];
    std::snprintf(nm, sizeof nm, "pam_totp, %d enrolled", opt.big_users);
    Row b{"1", "right code", nm, bench::summarize(big_ns), "", "", "", ""};
    const double ratio = s.median_us > 0 ? b.s.median_us / s.median_us : 0;
    a.model = b.model = "1 (big)";
    b.ratio = ratio_text(ratio, "x 200");
    b.target = "<= 1.10";
    b.result = verdict(ratio, 1.10, true, &all_met);
    rows.push_back(a);
    rows.push_back(b);
  }
  std::printf("\n");
  print_rows(rows);
  std::printf("(models 1, 2: ratio = median / pam_google_authenticator's median in the same model and workload;\n"
              " net of permit = (median - pam_permit's) / (GA's - pam_permit's): the module's own share, PAM's and\n"
              " the process's costs taken out (not a target, for reading the ratio);\n"
              " model 2 = posix_spawn of the driver .. its reaped exit; 2 (pam) = the driver's own\n"
              " pam_start_confdir .. pam_end; model 3 = spawn of ssh .. its exit, ratio to pam_permit's;\n"
              " all rows sampled in %d shuffled turns in %.0f s%s)\n",
              turns, turns_s, opt.big ? "; 1 (big): the two stores in turns of their own" : "");
  if (opt.big) {
    std::printf("(--big: %d records written in %.1f s with encode_state_file in 2 processes, then syncfs;\n"
                " both stores on the same disk, the measured %d users enrolled alike in each)\n",
                opt.big_users - opt.big_measured, filler_s, opt.big_measured);
  }

  if (do1 && opt.tput_rounds > 0) {
    std::printf("\n%-26s %10s %12s %8s %-8s %s\n", "model 1 logins/s", "1 process", "2 processes", "2/1", "target",
                "result");
    for (Module* m : mods) {
      const double one = median_of(tput1[m->name]), two = median_of(tput2[m->name]);
      const double ratio = one > 0 ? two / one : 0;
      std::string target, res;
      if (m == &totp) {
        target = ">= 1.60";
        res = verdict(ratio, 1.6, false, &all_met);
      }
      std::printf("%-26s %10.0f %12.0f %8.2f %-8s %s\n", m->name.c_str(), one, two, ratio, target.c_str(), res.c_str());
    }
    std::printf("(median of %d measurements of %d ms each; right-code logins, fresh users; pam_totp's users in a\n"
                " store of %d records per round; the machine's load average is below: other work caps the 2/1 ratio)\n",
                opt.tput_rounds, opt.tput_ms, 3 * opt.tput_users);
    if (tput_failures > 0) {
      std::printf("WARNING: %ld throughput logins failed\n", tput_failures);
      unexpected += tput_failures;
    }
  }

  if (do2) {
    std::printf("\nmodel 2, where a fresh process's login goes (medians, us; right code | wrong code):\n");
    std::printf("  %-22s", "");
    for (Module* m : mods) std::printf(" %24s", m->name.c_str());
    std::printf("\n");
    for (const char* part : {"exec to main", "libcrypto init", "pam_start (loads)", "pam_authenticate", "pam_end",
                             "exit to reaped"}) {
      std::printf("  %-22s", part);
      for (Module* m : mods) {
        const double r = bench::summarize(parts[key(2, true, *m) + "|" + part]).median_us;
        const double w = bench::summarize(parts[key(2, false, *m) + "|" + part]).median_us;
        std::printf("        %7.1f | %7.1f", r, w);
      }
      std::printf("\n");
    }
  }

  // ---- load costs: dlopen in a fresh process that has libcrypto
  if (opt.load_samples > 0) {
    std::fprintf(stderr, "cold_bench: load costs\n");
    std::printf("\nload costs in a fresh process that has libcrypto loaded and initialised (as sshd):\n");
    const std::string libstdcxx = capture("ldd '" + totp.so + "' | awk '/libstdc\\+\\+/ {print $3}'");
    const std::string argon = capture("ldd '" + totp.so + "' | awk '/libargon2/ {print $3}'");
    auto trim = [](std::string s) {
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
      return s;
    };
    struct LoadRow {
      std::string label;
      std::vector<std::string> paths;
      std::vector<std::vector<std::int64_t>> ns;
    };
    std::vector<LoadRow> lrows = {
        {"dlopen pam_permit.so", {permit.so}, {}},
        {"dlopen pam_google_authenticator.so", {ga.so}, {}},
        {"dlopen pam_totp.so", {totp.so}, {}},
    };
    if (!trim(libstdcxx).empty()) {
      lrows.push_back({"dlopen libstdc++.so.6 alone", {trim(libstdcxx)}, {}});
      lrows.push_back({"dlopen libstdc++, then pam_totp.so", {trim(libstdcxx), totp.so}, {}});
    }
    if (!trim(argon).empty()) lrows.push_back({"dlopen libargon2.so.1 alone", {trim(argon)}, {}});
    if (!opt.totp_unstripped.empty()) {
      lrows.push_back({"dlopen pam_totp.so, " + std::to_string(file_size(opt.totp_unstripped) / 1024) + " KiB copy",
                       {real_path(opt.totp_unstripped)}, {}});
    }
    for (auto& r : lrows) r.ns.resize(r.paths.size());
    for (int i = 0; i < opt.load_samples; ++i) {
      std::vector<std::size_t> order(lrows.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t k : order) {
        std::vector<std::string> args = {opt.driver, "dlopen"};
        for (const auto& p : lrows[k].paths) args.push_back(p);
        std::int64_t t0, t1;
        int st;
        std::string out = spawn_timed(args, {"PATH=/usr/bin:/bin"}, &t0, &t1, &st);
        std::stringstream ss(out);
        for (auto& v : lrows[k].ns) {
          long long x = -1;
          ss >> x;
          if (x >= 0) v.push_back(x);
        }
      }
    }
    for (const auto& r : lrows) {
      std::printf("  %-40s", r.label.c_str());
      for (std::size_t j = 0; j < r.ns.size(); ++j) {
        const Summary s = bench::summarize(r.ns[j]);
        std::printf("%s median %7.1f us p90 %7.1f us", j == 0 ? "" : " +", s.median_us, s.p90_us);
      }
      std::printf("\n");
    }
    std::printf("  (%d fresh processes per row, rows shuffled per round)\n", opt.load_samples);

    // The OpenSSL fetches pam_totp's core makes once per process, first and
    // second time, in fresh processes with libcrypto initialised.
    {
      std::vector<std::vector<std::int64_t>> f(6);
      for (int i = 0; i < opt.load_samples; ++i) {
        std::int64_t t0, t1;
        int st;
        std::stringstream ss(spawn_timed({opt.driver, "fetch"}, {"PATH=/usr/bin:/bin"}, &t0, &t1, &st));
        for (auto& v : f) {
          long long x = -1;
          ss >> x;
          if (x >= 0) v.push_back(x);
        }
      }
      const char* what[] = {"EVP_CIPHER_fetch AES-256-GCM", "EVP_MAC_fetch HMAC", "EVP_MD_fetch SHA2-256"};
      for (int k = 0; k < 3; ++k) {
        std::printf("  %-40s median %7.1f us first, %5.1f us again (in the same process)\n", what[k],
                    bench::summarize(f[static_cast<std::size_t>(k)]).median_us,
                    bench::summarize(f[static_cast<std::size_t>(k + 3)]).median_us);
      }
      std::printf("  (the fetches pam_totp's core makes once per process; here after OPENSSL_init_crypto and\n"
                  "   one SHA-256 digest, as in the driver; %d fresh processes)\n", opt.load_samples);
    }

    // Libraries the module brings that sshd does not already have.
    const auto sshd_libs = ldd_libs(opt.sshd);
    for (Module* m : {&ga, &totp}) {
      std::printf("  libraries %s pulls in that %s does not have:", m->name.c_str(), opt.sshd.c_str());
      bool any = false;
      for (const auto& l : ldd_libs(m->so)) {
        if (sshd_libs.count(l) != 0) continue;
        std::printf(" %s (%ld KiB)", l.c_str(), file_size(l) / 1024);
        any = true;
      }
      std::printf("%s\n", any ? "" : " none");
    }

    // LD_DEBUG=statistics of one model-2 login per module.
    std::printf("  LD_DEBUG=statistics, one model-2 login each (relocations: at startup -> at exit; the\n"
                "  difference is what pam_start's dlopen of the module and its libraries resolved):\n");
    auto su = user_set("cs", 1);
    for (Module* m : mods) {
      m->add_users(su);
      auto st = ld_statistics(opt.driver, confdir, *m, su[0], m->right_code(su[0]), base);
      const long long start = st["number of relocations"], fin = st["final number of relocations"];
      const long long cstart = st["number of relocations from cache"],
                      cfin = st["final number of relocations from cache"];
      std::printf("    %-26s relocations %6lld -> %6lld (+%lld), from cache %5lld -> %5lld (+%lld); "
                  "relative relocations at startup %lld\n",
                  m->name.c_str(), start, fin, fin - start, cstart, cfin, cfin - cstart,
                  st["number of relative relocations"]);
    }
    // Static view of the module files.
    for (Module* m : {&ga, &totp}) {
      const std::string rel = capture("readelf -rW '" + m->so + "' 2>/dev/null | awk '/R_X86_64_/ {n[$3]++} END "
                                      "{for (k in n) printf \"%s=%d \", k, n[k]}'");
      const std::string syms = capture("readelf --dyn-syms -W '" + m->so +
                                       "' 2>/dev/null | awk '$7==\"UND\" {u++} $7!=\"UND\" && $7!=\"Ndx\" && NF>=8 {d++} "
                                       "END {printf \"%d undefined, %d defined\", u, d}'");
      // .init_array's size (hex) / 8 bytes per entry.
      const std::string init_hex = capture("readelf -SW '" + m->so +
                                           "' 2>/dev/null | sed -n 's/.*\\.init_array *[A-Z_]* *[0-9a-f]* *[0-9a-f]* *\\([0-9a-f]*\\).*/\\1/p'");
      const std::string init =
          trim(init_hex).empty() ? "" : std::to_string(std::stol(trim(init_hex), nullptr, 16) / 8);
      std::printf("  %s: %ld KiB; relocations %s; dynamic symbols %s; .init_array entries %s\n", m->name.c_str(),
                  file_size(m->so) / 1024, trim(rel).c_str(), syms.c_str(), init.empty() ? "0" : init.c_str());
    }
  }

  std::printf("\nload average after: %s\n", load_average().c_str());
  if (unexpected > 0) {
    std::printf("WARNING: %ld logins did not give the expected result (see stderr): figures are suspect\n", unexpected);
    all_met = false;
  }
  std::printf("all targets: %s\n", all_met ? "met" : "NOT all met");
  for (void* h : preloaded) dlclose(h);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options opt = parse_options(argc, argv);
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cold_bench: %s\n", e.what());
    return 1;
  }
}
