// SPDX-License-Identifier: Apache-2.0
// ldap_bench: the directory store (store = ldap) beside the files store,
// through PAM itself, in one run (issue 14, "Measured").
//
// Every login is one whole transaction in this process,
//   pam_start_confdir .. pam_authenticate .. pam_end,
// with the installed pam_totp.so and nothing faked: the module reads its
// config, the key, opens the store (for the directory: a new connection,
// StartTLS, bind), reads, counts the attempt with a compare-and-swap,
// checks the code and, for a right code, writes the ledger with a second
// compare-and-swap, against a real slapd (scripts/bench-ldap.sh starts a
// private one with tests/ldap/slapd_lib.sh: mdb, default durability).
//
// 1. Latency. Three stores side by side: files; the directory over ldapi://
//    with SASL EXTERNAL (root on the directory's host); the directory over
//    ldap://127.0.0.1 with StartTLS and the service account's simple bind
//    (the test CA). Each user logs in once with the right code (a used
//    time step is refused: fresh users), then once with a wrong code.
//    Codes are computed before the clock starts. The stores take turns in
//    a shuffled order for every user index, so every row sees the same
//    noisy machine; beside them, in the same turns, the floors (bare
//    libldap: a cold connection, a search and a CAS on a warm one) and one
//    directory login through the core API with its phases timed.
// 2. Throughput: logins per second with 1, 2 and 4 forked processes, each
//    login going to one of three PAM configurations ("servers" A, B, C: three
//    config files naming the one directory), for both directory variants.
//    Distinct users (a fleet's normal day: each process its own users, right
//    codes) and contended (every process hammering ONE user's record with
//    wrong codes, lockout off, so that compare-and-swaps collide and the
//    module decides again). The module runs with `debug` and logs each
//    retry; its syslog calls land in this program (ldap_syslog_capture.h),
//    which sums them.
//
// Run as root. Prints medians, p90, p99, the targets; exits 0 whether or
// not a target is met (this is a benchmark, not a test).
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
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
#include <tuple>
#include <vector>

#include "bench/bench_util.h"
#include "bench/ldap_probe.h"
#include "bench/ldap_syslog_capture.h"
#include "core/config.h"
#include "core/key.h"
#include "core/ldap_store.h"
#include "core/login_decision.h"
#include "core/otp.h"
#include "core/record.h"
#include "core/recovery.h"
#include "core/store_factory.h"

namespace {

using bench::now_ns;

// ---- options ------------------------------------------------------------------

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

struct Options {
  std::string totp_so;
  std::string ldapi_uri = env_or("LDAP_LDAPI_URI");
  std::string ldap_uri = env_or("LDAP_URI");
  std::string base = env_or("LDAP_BASE");
  std::string bind_dn = env_or("LDAP_BIND_DN");
  std::string pass_file = env_or("LDAP_PASS_FILE");
  std::string ca_file = env_or("LDAP_CA");
  std::string slapd_conf = env_or("LDAP_WORKDIR").empty() ? "" : env_or("LDAP_WORKDIR") + "/slapd.conf";
  pid_t slapd_pid = static_cast<pid_t>(std::atol(env_or("LDAP_PID", "0").c_str()));
  int users = 300;
  int gap_us = 1000;
  int tput_logins = 240;
  int tput_rounds = 3;
  std::vector<int> procs = {1, 2, 4};
  bool phases = true;
  bool private_nss = true;
  bool keep = false;
  unsigned show_syslog = 0;
  std::string parent = "/var/tmp";
};

void usage(FILE* f) {
  std::fputs(
      "usage: ldap_bench --totp PATH [options]   (as root; scripts/bench-ldap.sh does everything)\n"
      "  --totp PATH          the installed pam_totp.so to measure\n"
      "  --ldapi-uri URI      the directory over ldapi:// (root, SASL EXTERNAL)   [$LDAP_LDAPI_URI]\n"
      "  --ldap-uri URI       the directory over ldap://127.0.0.1:PORT (StartTLS) [$LDAP_URI]\n"
      "  --base DN            ldap_base, where records live                       [$LDAP_BASE]\n"
      "  --bind-dn DN         the service account                                 [$LDAP_BIND_DN]\n"
      "  --password-file F    its password (root-owned 0600)                      [$LDAP_PASS_FILE]\n"
      "  --ca-file F          the CA that signed slapd's certificate              [$LDAP_CA]\n"
      "  --slapd-pid PID      slapd's pid, for its CPU time per login             [$LDAP_PID]\n"
      "  --slapd-conf F       slapd.conf, to report the database's durability     [$LDAP_WORKDIR/slapd.conf]\n"
      "  --users N            latency: users per store (default 300; each logs in once right, once wrong)\n"
      "  --gap US             pause before each timed latency sample, microseconds (default 1000)\n"
      "  --tput-logins N      throughput: logins per measurement, split over the processes (default 240)\n"
      "  --tput-rounds N      throughput: rounds of every measurement, median reported (default 3)\n"
      "  --procs LIST         throughput: process counts (default 1,2,4)\n"
      "  --no-phases          skip the core-API phase breakdown\n"
      "  --system-nss         keep the system's nsswitch.conf (default: passwd/group from files\n"
      "                       only in a private mount namespace, as in pam_bench)\n"
      "  --dir DIR            where the temporary state goes (default /var/tmp)\n"
      "  --keep               keep the temporary directory\n"
      "  --show-syslog N      copy the first N syslog messages to stderr\n",
      f);
}

int parse_int(const char* s, const char* opt, long lo = 0) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > 10000000) {
    std::fprintf(stderr, "ldap_bench: bad number for %s: %s\n", opt, s);
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
        std::fprintf(stderr, "ldap_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--totp") o.totp_so = next();
    else if (a == "--ldapi-uri") o.ldapi_uri = next();
    else if (a == "--ldap-uri") o.ldap_uri = next();
    else if (a == "--base") o.base = next();
    else if (a == "--bind-dn") o.bind_dn = next();
    else if (a == "--password-file") o.pass_file = next();
    else if (a == "--ca-file") o.ca_file = next();
    else if (a == "--slapd-pid") o.slapd_pid = parse_int(next(), "--slapd-pid");
    else if (a == "--slapd-conf") o.slapd_conf = next();
    else if (a == "--users") o.users = parse_int(next(), "--users", 2);
    else if (a == "--gap") o.gap_us = parse_int(next(), "--gap");
    else if (a == "--tput-logins") o.tput_logins = parse_int(next(), "--tput-logins", 1);
    else if (a == "--tput-rounds") o.tput_rounds = parse_int(next(), "--tput-rounds");
    else if (a == "--procs") {
      o.procs.clear();
      std::stringstream ss(next());
      std::string item;
      while (std::getline(ss, item, ',')) o.procs.push_back(parse_int(item.c_str(), "--procs", 1));
    } else if (a == "--no-phases") o.phases = false;
    else if (a == "--system-nss") o.private_nss = false;
    else if (a == "--dir") o.parent = next();
    else if (a == "--keep") o.keep = true;
    else if (a == "--show-syslog") o.show_syslog = static_cast<unsigned>(parse_int(next(), "--show-syslog"));
    else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "ldap_bench: unknown option %s\n", a.c_str());
      usage(stderr);
      std::exit(2);
    }
  }
  std::string missing;
  for (auto [name, v] : {std::pair<const char*, std::string*>{"--totp", &o.totp_so}, {"--ldapi-uri", &o.ldapi_uri},
                         {"--ldap-uri", &o.ldap_uri}, {"--base", &o.base}, {"--bind-dn", &o.bind_dn},
                         {"--password-file", &o.pass_file}, {"--ca-file", &o.ca_file}}) {
    if (v->empty()) missing += std::string(" ") + name;
  }
  if (!missing.empty()) {
    std::fprintf(stderr, "ldap_bench: missing:%s (run it through scripts/bench-ldap.sh, which starts slapd)\n",
                 missing.c_str());
    std::exit(2);
  }
  return o;
}

// ---- statistics -----------------------------------------------------------------

struct Stats {
  std::size_t n = 0;
  double min_us = 0, median_us = 0, p90_us = 0, p99_us = 0;
};

Stats stats_of(std::vector<std::int64_t> s) {
  Stats r;
  r.n = s.size();
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  auto rank = [&](double q) {  // nearest rank
    std::size_t k = static_cast<std::size_t>(q * static_cast<double>(s.size()) + 0.999999);
    k = std::clamp<std::size_t>(k, 1, s.size());
    return static_cast<double>(s[k - 1]) / 1000.0;
  };
  r.min_us = static_cast<double>(s.front()) / 1000.0;
  r.median_us = rank(0.5);
  r.p90_us = rank(0.9);
  r.p99_us = rank(0.99);
  return r;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// ---- users and codes --------------------------------------------------------------

struct User {
  std::string name;
  std::vector<std::uint8_t> secret;
};

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

std::string right_code(const User& u) { return code_at(u.secret, time(nullptr)); }

// A 6-digit code that matches no step within +-3 of now.
std::string wrong_code(const User& u) {
  const std::int64_t t = time(nullptr);
  std::set<std::string> near;
  for (int d = -3; d <= 3; ++d) near.insert(code_at(u.secret, t + 30 * d));
  unsigned v = (static_cast<unsigned>(std::stoul(code_at(u.secret, t))) + 500000u) % 1000000u;
  for (;;) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06u", v);
    if (near.count(buf) == 0) return buf;
    v = (v + 1) % 1000000u;
  }
}

template <class T>
T take(totp::Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().message);
  return std::move(r).value();
}

totp::Settings settings_from(const std::string& config) {
  return take(totp::load_settings(config, {}), "settings " + config);
}

// Enrols users straight into a store through the interface the tool uses
// (RecordStore::update creating the record), with the size of a real
// record: 10 recovery-code hashes (made once, shared by every bench user).
class Enroller {
 public:
  explicit Enroller(const std::string& config)
      : store_(take(totp::open_record_store(settings_from(config)), "open the store of " + config)) {
    // What `totp-setup init` does first: the directory's marker entry.
    (void)take(store_->check(), "check the store of " + config);
    shared_.recovery_salt = take(totp::make_recovery_salt(), "recovery salt");
    for (std::size_t i = 0; i < totp::kRecoveryCodeCount; ++i) {
      totp::SecureBytes code = totp::make_recovery_code();
      auto norm = totp::normalize_recovery_code(code.view());
      if (!norm) throw std::runtime_error("normalize_recovery_code refused a fresh code");
      shared_.recovery_hashes.push_back(
          take(totp::hash_recovery_code(norm->view(), shared_.recovery_salt), "hash recovery code"));
    }
  }

  User enrol(const std::string& name) {
    User u{name, random_secret()};
    totp::Record rec;
    rec.enrolment.secret = totp::SecureBytes(std::span<const std::uint8_t>(u.secret));
    rec.enrolment.otp = totp::OtpParams{};
    rec.enrolment.created = static_cast<std::int64_t>(time(nullptr));
    rec.enrolment.state = totp::EnrolmentState::active;
    rec.enrolment.recovery_salt = shared_.recovery_salt;
    rec.enrolment.recovery_hashes = shared_.recovery_hashes;
    // The directory's time budget covers one login's work: renewed per user.
    if (auto* ldap = dynamic_cast<totp::LdapStore*>(store_.get())) ldap->renew_budget();
    auto st = store_->update(name, [&](std::optional<totp::Record>& r) -> totp::Result<totp::RecordStore::Write> {
      r = totp::clone_record(rec);
      return totp::RecordStore::Write::everything;
    });
    if (!st.ok()) throw std::runtime_error("enrol " + name + ": " + st.error().message);
    return u;
  }

  std::vector<User> enrol_set(const std::string& tag, int n) {
    std::vector<User> v;
    for (int i = 0; i < n; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s_%04d", tag.c_str(), i);
      v.push_back(enrol(buf));
    }
    return v;
  }

 private:
  std::unique_ptr<totp::RecordStore> store_;
  totp::Enrolment shared_;
};

// ---- PAM -----------------------------------------------------------------------------

struct Service {
  std::string name;      // for the tables
  std::string service;   // service file in the confdir
  std::string config;    // its pam_totp.conf
};

struct Context {
  std::string confdir;
  int gap_us = 0;
  long unexpected = 0;
};

void one_login(Context& ctx, const Service& s, const User& u, const std::string& code, bool expect_ok,
               std::vector<std::int64_t>& out) {
  if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
  const bench::Outcome o = bench::run_transaction(ctx.confdir, s.service, u.name, code);
  if ((o.authenticate_rc == PAM_SUCCESS) != expect_ok) {
    if (ctx.unexpected < 5) {
      std::fprintf(stderr, "ldap_bench: %s user %s (%s code): unexpected result %d (%s)\n", s.name.c_str(),
                   u.name.c_str(), expect_ok ? "right" : "wrong", o.authenticate_rc,
                   pam_strerror(nullptr, o.authenticate_rc));
      for (const auto& e : bench::syslog_first_errors()) std::fprintf(stderr, "  module said: %s\n", e.c_str());
    }
    ++ctx.unexpected;
  }
  out.push_back(o.ns);
}

// ---- one directory login through the core API, phase by phase --------------------

// What the module does between pam_start and pam_end for a root caller,
// minus PAM and the conversation: settings, store, read, judge (count with
// a CAS, check, write with a CAS), store closed. Same core functions.
struct PhaseNames {
  static constexpr const char* open = "settings + key + open store";
  static constexpr const char* load = "connect + bind + read (load)";
  static constexpr const char* count = "count the attempt (CAS 1)";
  static constexpr const char* check = "check code + write (CAS 2)";
  static constexpr const char* close = "close (unbind, watchdog)";
  static constexpr const char* total = "total";
};

void core_login(Context& ctx, const std::string& config, const User& u, std::map<std::string, std::vector<std::int64_t>>& out) {
  if (ctx.gap_us > 0) usleep(static_cast<useconds_t>(ctx.gap_us));
  const std::string code = right_code(u);
  const totp::SecureBytes answer(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(code.data()), code.size()));
  const std::int64_t t0 = now_ns();
  totp::Settings settings = settings_from(config);
  auto store = take(totp::open_record_store(settings), "open store");
  const std::int64_t t1 = now_ns();
  auto record = take(store->load(u.name), "load " + u.name);
  if (!record) throw std::runtime_error("core login: " + u.name + " not enrolled");
  record.reset();
  const std::int64_t t2 = now_ns();
  std::int64_t t3 = 0, t4 = 0;
  totp::LoginVerdict verdict;
  const totp::LoginAttempt attempt = totp::login_attempt(settings, &answer, std::time(nullptr), "192.0.2.10", *store);
  auto st = store->update_checked(u.name, [&](std::optional<totp::Record>& rec, const totp::RecordStore::OnRecord& on_record) {
    const totp::RecordStore::OnRecord timed = [&](const totp::Ledger& counted) {
      t3 = now_ns();
      auto r = on_record(counted);
      t4 = now_ns();
      return r;
    };
    return totp::judge_login(rec, attempt, timed, verdict);
  });
  const std::int64_t t5 = now_ns();
  store.reset();
  const std::int64_t t6 = now_ns();
  if (!st.ok() || verdict.decision != totp::Decision::accepted_totp || t3 == 0) {
    if (ctx.unexpected < 5) {
      std::fprintf(stderr, "ldap_bench: core login %s: %s\n", u.name.c_str(),
                   st.ok() ? totp::decision_name(verdict.decision) : st.error().message.c_str());
    }
    ++ctx.unexpected;
    return;
  }
  out[PhaseNames::open].push_back(t1 - t0);
  out[PhaseNames::load].push_back(t2 - t1);
  out[PhaseNames::count].push_back(t4 - t3);
  out[PhaseNames::check].push_back(t5 - t4);
  out[PhaseNames::close].push_back(t6 - t5);
  out[PhaseNames::total].push_back(t6 - t0);
}

// ---- throughput ------------------------------------------------------------------------

struct ChildReport {
  long logins = 0, accepted = 0, unexpected = 0;
  unsigned long long retries = 0, retry_lines = 0, errors = 0;
};

struct RunResult {
  double logins_per_s = 0;
  ChildReport sum;
  double client_cpu_ms = 0;  // user+sys of the processes, all of them
  double slapd_cpu_ms = -1;  // user+sys of slapd during the run (-1: unknown)
};

// slapd's CPU time so far (ms), -1 if unknown.
double process_cpu_ms(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::stringstream rest(s.substr(close + 2));
  std::vector<std::string> fields;
  std::string x;
  while (rest >> x) fields.push_back(x);
  // after "pid (comm) ": state is field 3; utime 14, stime 15 -> indexes 11, 12
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) * 1000.0 / ticks;
}

// `plan[p]`: process p's logins, in order: (server index, user, right?).
struct PlannedLogin {
  int server;
  const User* user;
  bool right;
};

RunResult run_parallel(Context& ctx, const std::vector<Service>& servers, const std::vector<std::vector<PlannedLogin>>& plan,
                       pid_t slapd_pid) {
  int gate[2], reports[2];
  if (pipe(gate) != 0 || pipe(reports) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> pids;
  long total = 0;
  for (const auto& p : plan) total += static_cast<long>(p.size());
  for (const auto& mine : plan) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(gate[1]);
      close(reports[0]);
      bench::syslog_reset();
      // Wrong codes are computed before the gate opens; right ones in the
      // loop (a few microseconds against a login's milliseconds).
      std::vector<std::string> wrong(mine.size());
      for (std::size_t i = 0; i < mine.size(); ++i)
        if (!mine[i].right) wrong[i] = wrong_code(*mine[i].user);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      ChildReport rep;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        const PlannedLogin& l = mine[i];
        const std::string code = l.right ? right_code(*l.user) : wrong[i];
        const bench::Outcome o = bench::run_transaction(ctx.confdir, servers[static_cast<std::size_t>(l.server)].service,
                                                        l.user->name, code);
        ++rep.logins;
        if (o.authenticate_rc == PAM_SUCCESS) ++rep.accepted;
        if ((o.authenticate_rc == PAM_SUCCESS) != l.right) ++rep.unexpected;
      }
      const bench::SyslogTally t = bench::syslog_tally();
      rep.retries = t.retries;
      rep.retry_lines = t.retry_lines;
      rep.errors = t.errors;
      if (rep.unexpected > 0 || rep.errors > 0) {
        std::fprintf(stderr, "ldap_bench: throughput child: %ld unexpected results, %llu errors; first:\n",
                     rep.unexpected, rep.errors);
        for (const auto& e : bench::syslog_first_errors()) std::fprintf(stderr, "  module said: %s\n", e.c_str());
      }
      if (write(reports[1], &rep, sizeof rep) != static_cast<ssize_t>(sizeof rep)) _exit(3);
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  close(reports[1]);
  const double slapd0 = process_cpu_ms(slapd_pid);
  const std::int64_t t0 = now_ns();
  close(gate[1]);  // releases every child at once
  RunResult r;
  std::int64_t t_end = t0;
  for (pid_t pid : pids) {
    int st = 0;
    rusage ru{};
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    t_end = now_ns();
    r.client_cpu_ms += (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "ldap_bench: throughput child %d %s %d\n", static_cast<int>(pid),
                   WIFEXITED(st) ? "exited" : "killed by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
      ++ctx.unexpected;
    }
  }
  const double slapd1 = process_cpu_ms(slapd_pid);
  ChildReport rep;
  while (read(reports[0], &rep, sizeof rep) == static_cast<ssize_t>(sizeof rep)) {
    r.sum.logins += rep.logins;
    r.sum.accepted += rep.accepted;
    r.sum.unexpected += rep.unexpected;
    r.sum.retries += rep.retries;
    r.sum.retry_lines += rep.retry_lines;
    r.sum.errors += rep.errors;
  }
  close(reports[0]);
  if (r.sum.logins != total) ++ctx.unexpected;
  ctx.unexpected += r.sum.unexpected;
  r.logins_per_s = static_cast<double>(total) * 1e9 / static_cast<double>(t_end - t0);
  if (slapd0 >= 0 && slapd1 >= 0) r.slapd_cpu_ms = slapd1 - slapd0;
  return r;
}

// The directory's own write ceiling at this moment: `procs` processes, each
// with one warm connection (bare libldap) doing back-to-back CAS modifies
// on its own entry. Commits per second.
double cas_commits_per_s(Context& ctx, const bench::LdapTarget& target, const std::vector<std::string>& dns, int procs,
                         int per_proc) {
  int gate[2];
  if (pipe(gate) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(gate[1]);
      try {
        bench::LdapWarmProbe probe(target, dns[static_cast<std::size_t>(p)]);
        char c;
        while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
        }
        for (int i = 0; i < per_proc; ++i) (void)probe.cas();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ldap_bench: CAS floor child: %s\n", e.what());
        _exit(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  usleep(200000);  // every child connected and waiting
  const std::int64_t t0 = now_ns();
  close(gate[1]);
  for (pid_t pid : pids) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++ctx.unexpected;
  }
  return static_cast<double>(procs) * per_proc * 1e9 / static_cast<double>(now_ns() - t0);
}

// ---- environment --------------------------------------------------------------------

std::string use_files_only_nss(const std::string& dir) {
  if (unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno) + ": system NSS kept";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("mount private: ") + std::strerror(errno) + ": system NSS kept";
  }
  std::ifstream in("/etc/nsswitch.conf");
  std::stringstream text;
  text << "# ldap_bench: passwd/group/shadow from files only\n";
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

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(f >> a >> b >> c)) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

// What slapd.conf says about the database's durability.
std::string durability_of(const std::string& conf) {
  if (conf.empty()) return "unknown (no --slapd-conf)";
  std::ifstream f(conf);
  if (!f) return "unknown (cannot read " + conf + ")";
  std::string line, backend = "?";
  bool nosync = false, envflags_nosync = false;
  while (std::getline(f, line)) {
    std::stringstream ss(line);
    std::string k, v;
    ss >> k >> v;
    if (k == "database") backend = v;
    if (k == "dbnosync") nosync = true;
    if (k == "envflags" && line.find("nosync") != std::string::npos) envflags_nosync = true;
  }
  return "database " + backend + ", " +
         (nosync || envflags_nosync ? std::string("NOSYNC (not default durability)")
                                    : "default durability (no dbnosync: every commit flushed to disk)");
}

std::string read_password(const std::string& path) {
  std::ifstream f(path);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) throw std::runtime_error("cannot read the bind password from " + path);
  return s;
}

// ---- the run ------------------------------------------------------------------------

constexpr double kTargetMedianUs = 2000.0;  // issue 14: a directory login <= 2 ms median on loopback

int run(const Options& opt) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "ldap_bench: must run as root (root-owned key, state and config; SASL EXTERNAL as root)\n");
    return 77;
  }
  bench::syslog_echo(opt.show_syslog);
  const std::string base = bench::make_temp_dir(opt.parent, "ldap_bench.");
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      if (!keep) bench::remove_tree(dir);
    }
  } cleanup{base, opt.keep};
  const std::string nss = opt.private_nss ? use_files_only_nss(base) : "system nsswitch.conf (--system-nss)";

  char* real = realpath(opt.totp_so.c_str(), nullptr);
  if (real == nullptr) throw std::runtime_error("cannot find " + opt.totp_so);
  const std::string so = real;
  free(real);
  void* preloaded = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (preloaded == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());

  // One master key for the fleet (every "server" names the same file).
  const std::string key_file = base + "/pam_totp.key";
  const std::string state_dir = base + "/state";
  if (mkdir(state_dir.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + state_dir);
  (void)take(totp::create_master_key(key_file), "create master key");

  Context ctx;
  ctx.confdir = base + "/pam.d";
  ctx.gap_us = opt.gap_us;
  if (mkdir(ctx.confdir.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + ctx.confdir);
  bench::write_file(ctx.confdir + "/other", "# ldap_bench: no default stack\n", 0644);

  const std::string common = "# written by ldap_bench\nkey_file = " + key_file + "\nstate_dir = " + state_dir + "\n";
  const std::string ldapi_lines = "store = ldap\nldap_uri = " + opt.ldapi_uri + "\nldap_base = " + opt.base + "\n";
  const std::string tls_lines = "store = ldap\nldap_uri = " + opt.ldap_uri + "\nldap_base = " + opt.base +
                                "\nldap_bind_dn = " + opt.bind_dn + "\nldap_bind_password_file = " + opt.pass_file +
                                "\nldap_ca_file = " + opt.ca_file + "\n";
  auto make_service = [&](const std::string& name, const std::string& tag, const std::string& lines) {
    Service s{name, "bench-" + tag, base + "/" + tag + ".conf"};
    bench::write_file(s.config, common + lines, 0600);
    bench::write_file(ctx.confdir + "/" + s.service, "auth required " + so + " config=" + s.config + "\n", 0644);
    return s;
  };
  const Service files = make_service("files", "files", "");
  const Service ldapi = make_service("directory ldapi EXTERNAL", "ldapi", ldapi_lines);
  const Service tls = make_service("directory StartTLS+bind", "tls", tls_lines);
  // Throughput: three "servers" per variant; debug for the retry lines,
  // lockout off so that the contended wrong codes keep colliding.
  std::vector<Service> ldapi_servers, tls_servers;
  // (PAM folds service names to lower case: so are the file names.)
  for (const char* s : {"a", "b", "c"}) {
    ldapi_servers.push_back(make_service(std::string("ldapi server ") + s, std::string("ldapi-") + s,
                                         ldapi_lines + "debug\ndeny = 0\n"));
    tls_servers.push_back(make_service(std::string("tls server ") + s, std::string("tls-") + s,
                                       tls_lines + "debug\ndeny = 0\n"));
  }

  bench::LdapTarget ldapi_target{opt.ldapi_uri, "", "", ""};
  bench::LdapTarget tls_target{opt.ldap_uri, opt.bind_dn, read_password(opt.pass_file), opt.ca_file};

  utsname u{};
  uname(&u);
  std::printf("ldap_bench: %s %s %s, %ld cores online, state under %s\n", u.sysname, u.release, u.machine,
              sysconf(_SC_NPROCESSORS_ONLN), base.c_str());
  std::printf("module: %s (dlopen'ed once; every login a whole PAM transaction in this process)\n", so.c_str());
  std::printf("name service: %s\n", nss.c_str());
  std::printf("syslog: the module's messages are captured in-process (syslog/__syslog_chk interposed), not sent\n");
  std::printf("slapd: pid %d, %s\n", static_cast<int>(opt.slapd_pid), durability_of(opt.slapd_conf).c_str());
  std::printf("stores:\n  %-26s state_dir %s\n  %-26s %s (root, SASL EXTERNAL)\n  %-26s %s (StartTLS, CA %s, bind %s)\n",
              files.name.c_str(), state_dir.c_str(), ldapi.name.c_str(), opt.ldapi_uri.c_str(), tls.name.c_str(),
              opt.ldap_uri.c_str(), opt.ca_file.c_str(), opt.bind_dn.c_str());
  std::printf("  records: %s; a directory login opens a new connection (as the module does today)\n", opt.base.c_str());
  std::printf("load average before: %s\n", load_average().c_str());
  std::fflush(stdout);

  // ---- enrolment (not timed) ----
  const std::int64_t e0 = now_ns();
  Enroller files_enrol(files.config);
  Enroller dir_enrol(ldapi.config);  // both directory variants read the same entries
  const int n = opt.users;
  auto f_users = files_enrol.enrol_set("f", n);
  auto li_users = dir_enrol.enrol_set("li", n);
  auto tl_users = dir_enrol.enrol_set("tl", n);
  std::vector<User> pli_users, ptl_users;
  if (opt.phases) {
    pli_users = dir_enrol.enrol_set("pli", n);
    ptl_users = dir_enrol.enrol_set("ptl", n);
  }
  // The floors' own entries: copies of a real record's values (same sizes).
  const std::string probe_ldapi_dn = "uid=bench_probe_ldapi," + opt.base;
  const std::string probe_tls_dn = "uid=bench_probe_tls," + opt.base;
  std::vector<std::string> cas_dns;  // the CAS-ceiling children's entries
  {
    const std::string dn0 = "uid=" + li_users[0].name + "," + opt.base;
    auto enrol_v = bench::ldap_probe_read_value(ldapi_target, dn0, "pamTotpEnrolment");
    auto ledger_v = bench::ldap_probe_read_value(ldapi_target, dn0, "pamTotpLedger");
    bench::ldap_probe_add_record(ldapi_target, probe_ldapi_dn, "bench_probe_ldapi", enrol_v, ledger_v);
    bench::ldap_probe_add_record(ldapi_target, probe_tls_dn, "bench_probe_tls", enrol_v, ledger_v);
    for (int p = 0; p < *std::max_element(opt.procs.begin(), opt.procs.end()); ++p) {
      const std::string uid = "bench_probe_cas" + std::to_string(p);
      cas_dns.push_back("uid=" + uid + "," + opt.base);
      bench::ldap_probe_add_record(ldapi_target, cas_dns.back(), uid, enrol_v, ledger_v);
    }
    std::printf("record sizes in the directory: pamTotpEnrolment %zu bytes, pamTotpLedger %zu bytes\n",
                enrol_v.size(), ledger_v.size());
  }
  std::printf("enrolled %d users per store%s in %.1f s (not timed)\n\n", n, opt.phases ? " (+2 x for the phases)" : "",
              static_cast<double>(now_ns() - e0) / 1e9);
  std::fflush(stdout);

  // Warm-up: PAM's, libldap's and GnuTLS's first-use costs stay out of the samples.
  {
    std::vector<std::int64_t> ignore;
    for (const Service* s : {&files, &ldapi, &tls}) {
      Enroller& en = s == &files ? files_enrol : dir_enrol;
      auto w = en.enrol_set("warm_" + s->service, 3);
      for (const auto& wu : w) one_login(ctx, *s, wu, right_code(wu), true, ignore);
    }
    ctx.unexpected = 0;
  }

  // ---- 1. latency, shuffled turns ----
  bench::LdapWarmProbe warm_ldapi(ldapi_target, probe_ldapi_dn);
  bench::LdapWarmProbe warm_tls(tls_target, probe_tls_dn);
  enum Item { kFiles, kLdapi, kTls, kFilesW, kLdapiW, kTlsW, kPhLdapi, kPhTls, kColdLdapi, kColdTls, kSearchLdapi, kCasLdapi, kCasTls };
  const char* kColdLdapiName = "ldapi: connect + EXTERNAL bind + unbind (cold)";
  const char* kColdTlsName = "tcp: connect + StartTLS + bind + unbind (cold)";
  const char* kSearchName = "ldapi: base search, warm connection";
  const char* kCasLdapiName = "ldapi: CAS modify, warm connection";
  const char* kCasTlsName = "StartTLS: CAS modify, warm connection";
  std::map<std::string, std::vector<std::int64_t>> right_ns, wrong_ns, floor_ns;
  std::map<std::string, std::vector<std::int64_t>> ph_ldapi, ph_tls;
  std::mt19937 rng(std::random_device{}());
  std::vector<Item> turn = {kFiles, kLdapi, kTls, kFilesW, kLdapiW, kTlsW, kColdLdapi, kColdTls, kSearchLdapi, kCasLdapi, kCasTls};
  if (opt.phases) {
    turn.push_back(kPhLdapi);
    turn.push_back(kPhTls);
  }
  const std::int64_t l0 = now_ns();
  for (int i = 0; i < n; ++i) {
    std::shuffle(turn.begin(), turn.end(), rng);
    const auto idx = static_cast<std::size_t>(i);
    for (Item it : turn) {
      switch (it) {
        case kFiles: one_login(ctx, files, f_users[idx], right_code(f_users[idx]), true, right_ns[files.name]); break;
        case kLdapi: one_login(ctx, ldapi, li_users[idx], right_code(li_users[idx]), true, right_ns[ldapi.name]); break;
        case kTls: one_login(ctx, tls, tl_users[idx], right_code(tl_users[idx]), true, right_ns[tls.name]); break;
        // The same user's wrong code, before or after the right one (one failure locks nobody).
        case kFilesW: one_login(ctx, files, f_users[idx], wrong_code(f_users[idx]), false, wrong_ns[files.name]); break;
        case kLdapiW: one_login(ctx, ldapi, li_users[idx], wrong_code(li_users[idx]), false, wrong_ns[ldapi.name]); break;
        case kTlsW: one_login(ctx, tls, tl_users[idx], wrong_code(tl_users[idx]), false, wrong_ns[tls.name]); break;
        case kPhLdapi: core_login(ctx, ldapi.config, pli_users[idx], ph_ldapi); break;
        case kPhTls: core_login(ctx, tls.config, ptl_users[idx], ph_tls); break;
        case kColdLdapi:
          usleep(static_cast<useconds_t>(ctx.gap_us));
          floor_ns[kColdLdapiName].push_back(bench::ldap_probe_cold_connection(ldapi_target));
          break;
        case kColdTls:
          usleep(static_cast<useconds_t>(ctx.gap_us));
          floor_ns[kColdTlsName].push_back(bench::ldap_probe_cold_connection(tls_target));
          break;
        case kSearchLdapi:
          usleep(static_cast<useconds_t>(ctx.gap_us));
          floor_ns[kSearchName].push_back(warm_ldapi.search());
          break;
        case kCasLdapi:
          usleep(static_cast<useconds_t>(ctx.gap_us));
          floor_ns[kCasLdapiName].push_back(warm_ldapi.cas());
          break;
        case kCasTls:
          usleep(static_cast<useconds_t>(ctx.gap_us));
          floor_ns[kCasTlsName].push_back(warm_tls.cas());
          break;
      }
    }
  }
  std::fprintf(stderr, "ldap_bench: latency done in %.1f s\n", static_cast<double>(now_ns() - l0) / 1e9);

  std::printf("1. latency of one login, whole PAM transaction (%d users per store, each logs in once with\n"
              "   the right code and once with a wrong one; every sample below in the same shuffled turns;\n"
              "   %d us pause before each sample)\n",
              n, opt.gap_us);
  std::printf("%-11s %-28s %5s %9s %10s %9s %9s %11s %s\n", "workload", "store", "n", "min_us", "median_us", "p90_us",
              "p99_us", "target", "result");
  std::map<std::string, Stats> right_stats;
  for (const auto* w : {&right_ns, &wrong_ns}) {
    for (const Service* s : {&files, &ldapi, &tls}) {
      const Stats st = stats_of(w->at(s->name));
      std::string target = "-", met;
      if (w == &right_ns) right_stats[s->name] = st;
      if (w == &right_ns && s != &files) {
        target = "<= 2000 us";
        met = st.median_us <= kTargetMedianUs ? "met" : "NOT MET";
      }
      std::printf("%-11s %-28s %5zu %9.1f %10.1f %9.1f %9.1f %11s %s\n", w == &right_ns ? "right code" : "wrong code",
                  s->name.c_str(), st.n, st.min_us, st.median_us, st.p90_us, st.p99_us, target.c_str(), met.c_str());
    }
  }
  std::printf("(target, issue 14: a directory login at most 2 ms median on loopback; ratios of medians to files:\n"
              " ldapi %.2f, StartTLS %.2f)\n",
              right_stats[ldapi.name].median_us / right_stats[files.name].median_us,
              right_stats[tls.name].median_us / right_stats[files.name].median_us);

  std::printf("\nfloors, bare libldap in this process (same turns as the logins above):\n");
  std::printf("  %-48s %5s %10s %9s %9s\n", "operation", "n", "median_us", "p90_us", "p99_us");
  std::map<std::string, Stats> fl;
  for (const char* name : {kColdLdapiName, kColdTlsName, kSearchName, kCasLdapiName, kCasTlsName}) {
    fl[name] = stats_of(floor_ns[name]);
    std::printf("  %-48s %5zu %10.1f %9.1f %9.1f\n", name, fl[name].n, fl[name].median_us, fl[name].p90_us,
                fl[name].p99_us);
  }
  if (opt.phases) {
    std::printf("\n3. one right-code directory login through the core API (the module's steps without PAM),\n"
                "   phase by phase (medians; same turns):\n");
    std::printf("  %-34s %14s %14s\n", "phase", "ldapi_us", "StartTLS_us");
    for (const char* ph : {PhaseNames::open, PhaseNames::load, PhaseNames::count, PhaseNames::check, PhaseNames::close,
                           PhaseNames::total}) {
      std::printf("  %-34s %14.1f %14.1f\n", ph, stats_of(ph_ldapi[ph]).median_us, stats_of(ph_tls[ph]).median_us);
    }
    const double files_med = right_stats[files.name].median_us;
    std::printf("  reading: a directory login = new connection (%.0f / %.0f us cold, bare libldap) + search (%.0f us)\n"
                "  + 2 CAS modifies (%.0f us each, warm, bare libldap: slapd's durable commit) + the module's own\n"
                "  work (a files-store login costs %.0f us in all, its fdatasync included)\n",
                fl[kColdLdapiName].median_us, fl[kColdTlsName].median_us, fl[kSearchName].median_us,
                fl[kCasLdapiName].median_us, files_med);
    const double floor_sum_ldapi = fl[kColdLdapiName].median_us + fl[kSearchName].median_us + 2 * fl[kCasLdapiName].median_us;
    const double floor_sum_tls = fl[kColdTlsName].median_us + fl[kSearchName].median_us + 2 * fl[kCasTlsName].median_us;
    std::printf("  sum of the floors: ldapi %.0f us, StartTLS %.0f us; with a kept (warm) connection instead:\n"
                "  ldapi %.0f us, StartTLS %.0f us (search + 2 CAS)\n",
                floor_sum_ldapi, floor_sum_tls, floor_sum_ldapi - fl[kColdLdapiName].median_us,
                floor_sum_tls - fl[kColdTlsName].median_us);
    std::printf("  (a right-code directory login commits twice -- the attempt counted, then the success -- and a\n"
                "   wrong-code one once; a files-store login flushes once either way)\n");
  }
  std::printf("\n");
  std::fflush(stdout);

  // ---- 2. throughput ----
  struct Key {
    std::string variant;   // ldapi / StartTLS
    std::string workload;  // distinct / contended
    int procs;
    bool operator<(const Key& o) const {
      return std::tie(variant, workload, procs) < std::tie(o.variant, o.workload, o.procs);
    }
  };
  std::vector<Key> keys;
  for (const char* v : {"ldapi", "StartTLS"})
    for (const char* w : {"distinct", "contended"})
      for (int p : opt.procs) keys.push_back({v, w, p});
  for (int p : opt.procs) keys.push_back({"floor", "CAS", p});
  std::map<Key, std::vector<RunResult>> results;
  const std::int64_t t_tp = now_ns();
  std::vector<std::vector<User>> keep_users;  // alive until the end of the runs
  for (int r = 0; r < opt.tput_rounds; ++r) {
    std::shuffle(keys.begin(), keys.end(), rng);
    for (const Key& k : keys) {
      if (k.variant == "floor") {
        RunResult fr;
        fr.logins_per_s = cas_commits_per_s(ctx, ldapi_target, cas_dns, k.procs, opt.tput_logins / k.procs);
        results[k].push_back(fr);
        continue;
      }
      const auto& servers = k.variant == "ldapi" ? ldapi_servers : tls_servers;
      char tag[64];
      std::snprintf(tag, sizeof tag, "t%s%s%d_%d", k.variant == "ldapi" ? "i" : "s", k.workload == "distinct" ? "d" : "c",
                    k.procs, r);
      const bool distinct = k.workload == "distinct";
      keep_users.push_back(dir_enrol.enrol_set(tag, distinct ? opt.tput_logins : 1));
      const auto& us = keep_users.back();
      std::vector<std::vector<PlannedLogin>> plan(static_cast<std::size_t>(k.procs));
      for (int i = 0; i < opt.tput_logins; ++i) {
        const int p = i % k.procs;
        const int nth = static_cast<int>(plan[static_cast<std::size_t>(p)].size());
        const User* who = distinct ? &us[static_cast<std::size_t>(i)] : &us[0];
        plan[static_cast<std::size_t>(p)].push_back({(p + nth) % 3, who, distinct});
      }
      results[k].push_back(run_parallel(ctx, servers, plan, opt.slapd_pid));
    }
    std::fprintf(stderr, "ldap_bench: throughput round %d/%d done\n", r + 1, opt.tput_rounds);
  }
  std::fprintf(stderr, "ldap_bench: throughput done in %.1f s\n", static_cast<double>(now_ns() - t_tp) / 1e9);

  std::printf("2. throughput: logins per second, forked processes, every login a whole PAM transaction, each\n"
              "   process's logins spread over three configurations (servers A, B, C) naming the one directory\n"
              "   (%d logins per measurement split over the processes, %d rounds in shuffled order: median\n"
              "   logins/s; retries, refusals and errors summed over the rounds; CPU per login: medians)\n",
              opt.tput_logins, opt.tput_rounds);
  std::printf("   distinct: each login its own user, right code (a fleet's normal day);\n"
              "   contended: every process hammers ONE user's record with wrong codes (lockout off), so\n"
              "   compare-and-swaps collide and the module decides again (the debug log's retries, summed)\n");
  std::printf("%-9s %-10s %5s %10s %6s %8s %12s %9s %7s %12s %12s\n", "variant", "workload", "procs", "logins/s", "x1",
              "logins", "retries", "refused!", "errors", "slapd_cpu_us", "client_cpu_us");
  std::map<Key, double> med;
  for (const char* v : {"ldapi", "StartTLS"}) {
    for (const char* w : {"distinct", "contended"}) {
      double one = 0;
      for (int p : opt.procs) {
        const Key k{v, w, p};
        std::vector<double> lps, scpu, ccpu;
        ChildReport sum;
        for (const auto& rr : results[k]) {
          lps.push_back(rr.logins_per_s);
          if (rr.slapd_cpu_ms >= 0) scpu.push_back(rr.slapd_cpu_ms * 1000.0 / static_cast<double>(rr.sum.logins));
          ccpu.push_back(rr.client_cpu_ms * 1000.0 / static_cast<double>(rr.sum.logins));
          sum.logins += rr.sum.logins;
          sum.unexpected += rr.sum.unexpected;
          sum.retries += rr.sum.retries;
          sum.retry_lines += rr.sum.retry_lines;
          sum.errors += rr.sum.errors;
        }
        const double m = median_of(lps);
        med[k] = m;
        if (p == opt.procs.front()) one = m;
        char sc[32] = "?";
        if (!scpu.empty()) std::snprintf(sc, sizeof sc, "%.0f", median_of(scpu));
        char rt[48];
        std::snprintf(rt, sizeof rt, "%llu/%llu", sum.retries, sum.retry_lines);
        std::printf("%-9s %-10s %5d %10.0f %6.2f %8ld %12s %9ld %7llu %12s %12.0f\n", v, w, p, m, one > 0 ? m / one : 0.0,
                    sum.logins, rt, sum.unexpected, sum.errors, sc, median_of(ccpu));
      }
    }
  }
  std::printf("(retries: compare-and-swaps lost and decided again / logins that had to; refused!: logins\n"
              " whose result was not the expected one (a right code refused or a wrong one accepted); errors:\n"
              " module messages at LOG_ERR or worse; slapd_cpu_us / client_cpu_us: CPU time per login in slapd\n"
              " and in the logging-in processes; x1: logins/s relative to %d process%s)\n",
              opt.procs.front(), opt.procs.front() == 1 ? "" : "es");
  std::printf("floor: bare libldap, one warm ldapi connection per process, back-to-back CAS modifies on\n"
              "each process's own entry (%d per measurement, same rounds, shuffled with the runs above):\n",
              opt.tput_logins);
  double best_commits = 0;
  for (int p : opt.procs) {
    std::vector<double> c;
    for (const auto& rr : results[{"floor", "CAS", p}]) c.push_back(rr.logins_per_s);
    const double m = median_of(c);
    best_commits = std::max(best_commits, m);
    std::printf("  %d process%s: %6.0f commits/s (a right-code login commits 2: %5.0f logins/s at most)\n", p,
                p == 1 ? " " : "es", m, m / 2);
  }
  {
    const double ceiling = best_commits / 2;
    const int pmax = opt.procs.back();
    for (const char* v : {"ldapi", "StartTLS"}) {
      const double a = med[{v, "distinct", opt.procs.front()}], b = med[{v, "distinct", pmax}];
      std::printf("target (grows with processes until slapd's disk flush is the limit), %s distinct: %d -> %d "
                  "processes x%.2f; %.0f%% of the flush ceiling (%.0f logins/s): %s\n",
                  v, opt.procs.front(), pmax, a > 0 ? b / a : 0.0, ceiling > 0 ? 100 * b / ceiling : 0.0, ceiling,
                  b > a * 1.2 ? "grows" : (b >= 0.8 * ceiling ? "at the flush ceiling" : "DOES NOT GROW"));
    }
  }

  std::printf("\nload average after: %s\n", load_average().c_str());
  std::printf("module syslog messages in this process: %llu\n",
              static_cast<unsigned long long>(bench::syslog_tally().messages));
  if (ctx.unexpected > 0) {
    std::printf("WARNING: %ld logins did not give the expected result (see stderr): figures are suspect\n",
                ctx.unexpected);
  }
  dlclose(preloaded);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_options(argc, argv);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ldap_bench: %s\n", e.what());
    return 1;
  }
}
