// SPDX-License-Identifier: Apache-2.0
// The parts of the directory store that need no directory: the filter
// escape, the time budget, the watchdog (on socket pairs), and LdapStore
// against its bind password file and against servers that are not there
// (nothing listening) or never answer (a listener that never accepts).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/ldap_connection.h"
#include "core/ldap_store.h"
#include "core/ldap_watchdog.h"
#include "tests/unit/state_test_util.h"

using state_test::expect_error;
using state_test::expect_ok;
using state_test::random_key;
using state_test::TempDir;
using totp::Errc;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

long ms_since(Clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// ---- ldap_filter_escape ------------------------------------------------------

std::string escape(const std::vector<std::uint8_t>& v) { return totp::ldap_filter_escape(v); }

void test_filter_escape(void**) {
  assert_string_equal(escape({}).c_str(), "");
  assert_string_equal(escape({'a'}).c_str(), "\\61");
  // The bytes RFC 4515 must escape, and the rest too.
  assert_string_equal(escape({'*', '(', ')', '\\', 0x00}).c_str(), "\\2a\\28\\29\\5c\\00");
  assert_string_equal(escape({0xff, 0xab, 0x0f, 0xf0, 0x10}).c_str(), "\\ff\\ab\\0f\\f0\\10");

  std::vector<std::uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  const std::string out = escape(all);
  assert_int_equal(out.size(), 256 * 3);
  for (int i = 0; i < 256; ++i) {
    char want[4];
    std::snprintf(want, sizeof want, "\\%02x", i);
    if (out.compare(static_cast<std::size_t>(i) * 3, 3, want) != 0)
      fail_msg("byte %d escaped as '%s', expected '%s'", i, out.substr(static_cast<std::size_t>(i) * 3, 3).c_str(), want);
  }
  // Nothing in the output that a filter parser would read as syntax.
  for (char c : out) {
    const bool ok = c == '\\' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!ok) fail_msg("unexpected character 0x%02x in the escaped output", static_cast<unsigned char>(c));
  }
  // A long value (a ledger value is 164 bytes, an enrolment a few hundred).
  const std::vector<std::uint8_t> big(5000, 0x2a);
  const std::string b = escape(big);
  assert_int_equal(b.size(), 15000);
  assert_string_equal(b.substr(14997).c_str(), "\\2a");
}

// ---- LdapBudget --------------------------------------------------------------

void test_budget(void**) {
  totp::LdapBudget b(1000);
  assert_int_equal(b.total_ms(), 1000);
  assert_int_equal(b.remaining_ms(), 1000);
  b.spend(300ms);
  assert_int_equal(b.remaining_ms(), 700);
  b.spend(699ms);
  assert_int_equal(b.remaining_ms(), 1);
  b.spend(1ms);
  assert_int_equal(b.remaining_ms(), 0);
  b.spend(5s);
  assert_int_equal(b.remaining_ms(), 0);  // never negative
  b.spend(std::chrono::hours(24 * 365));
  assert_int_equal(b.remaining_ms(), 0);
  b.reset();
  assert_int_equal(b.remaining_ms(), 1000);
  assert_int_equal(b.total_ms(), 1000);
  // Sub-millisecond spending adds up.
  for (int i = 0; i < 1000; ++i) b.spend(500us);
  assert_int_equal(b.remaining_ms(), 500);
  b.reset();
  b.spend(std::chrono::nanoseconds(999999999));
  assert_true(b.remaining_ms() <= 1);
  assert_true(b.remaining_ms() >= 0);

  totp::LdapBudget zero(0);
  assert_int_equal(zero.remaining_ms(), 0);
  totp::LdapBudget big(120000);
  big.spend(119999ms);
  assert_int_equal(big.remaining_ms(), 1);
}

// ---- LdapWatchdog ------------------------------------------------------------
// Every watchdog lives on the heap: a failing check ends its test with
// longjmp, which skips destructors, and a watchdog thread left running on
// a dead stack frame would break the tests after it. Leaked, it stays put.

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) != 0) fail_msg("socketpair failed");
    // A safety net: a read that nothing wakes gives up after 5 s instead of
    // hanging the suite.
    struct timeval tv {5, 0};
    ::setsockopt(fd[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

// One byte each way still goes through.
void expect_working(const SocketPair& p, const char* what) {
  for (int dir = 0; dir < 2; ++dir) {
    const int from = p.fd[dir], to = p.fd[1 - dir];
    const char out = static_cast<char>('x' + dir);
    if (::send(from, &out, 1, MSG_NOSIGNAL) != 1) fail_msg("%s: send failed: the socket was shut down", what);
    char in = 0;
    if (::recv(to, &in, 1, 0) != 1 || in != out) fail_msg("%s: recv failed: the socket was shut down", what);
  }
}

void test_watchdog_fires(void**) {
  SocketPair p;
  auto wp = std::make_unique<totp::LdapWatchdog>();  // on the heap (see above)
  auto& w = *wp;
  assert_true(w.start());
  assert_true(w.start());  // once only; a second call is fine
  w.set_fd(p.fd[0]);
  const auto t0 = Clock::now();
  w.arm(t0 + 50ms);
  char c = 0;
  // Blocks until the watchdog shuts the socket down (then end of file).
  const ssize_t n = ::read(p.fd[0], &c, 1);
  const long took = ms_since(t0);
  if (n != 0) fail_msg("read returned %zd (errno %d) after %ld ms, expected end of file", n, errno, took);
  if (took < 40 || took > 1000) fail_msg("the read returned after %ld ms, expected about 50", took);
  assert_true(w.disarm());
  // Shut down both ways: a write fails too (EPIPE, no signal asked for).
  assert_int_equal(::send(p.fd[0], "x", 1, MSG_NOSIGNAL), -1);
  // The descriptor itself is still open (libldap closes it).
  assert_true(::fcntl(p.fd[0], F_GETFD) >= 0);

  // Armed again on a fresh socket and disarmed in time: not fired (the
  // previous firing is not reported again).
  SocketPair q;
  w.set_fd(q.fd[0]);
  w.arm(Clock::now() + 5s);
  assert_false(w.disarm());
  expect_working(q, "re-armed and disarmed");

  // A deadline already past when armed: fires at once.
  SocketPair r;
  w.set_fd(r.fd[0]);
  const auto t1 = Clock::now();
  w.arm(t1 - 1s);
  struct pollfd pfd {r.fd[0], POLLIN, 0};
  assert_int_equal(::poll(&pfd, 1, 2000), 1);
  assert_true(ms_since(t1) < 1000);
  // The watchdog sets fired under its mutex after the shutdown: wait for it.
  std::this_thread::sleep_for(20ms);
  assert_true(w.disarm());
}

void test_watchdog_disarmed_in_time(void**) {
  SocketPair p;
  auto wp = std::make_unique<totp::LdapWatchdog>();  // on the heap (see above)
  auto& w = *wp;
  assert_true(w.start());
  w.set_fd(p.fd[0]);
  w.arm(Clock::now() + 100ms);
  assert_false(w.disarm());
  std::this_thread::sleep_for(300ms);  // well past the old deadline
  expect_working(p, "disarmed before the deadline");
  assert_false(w.disarm());

  // Re-armed to a later deadline before the first passes: the first one
  // no longer counts.
  w.arm(Clock::now() + 50ms);
  w.arm(Clock::now() + 10s);
  std::this_thread::sleep_for(250ms);
  expect_working(p, "re-armed to a later deadline");
  assert_false(w.disarm());

  // Many short calls in a row, each disarmed in time.
  for (int i = 0; i < 200; ++i) {
    w.arm(Clock::now() + 200ms);
    expect_working(p, "quick call");
    assert_false(w.disarm());
  }
  std::this_thread::sleep_for(300ms);
  expect_working(p, "after the quick calls");
}

void test_watchdog_fd_changes(void**) {
  auto wp = std::make_unique<totp::LdapWatchdog>();  // on the heap (see above)
  auto& w = *wp;
  assert_true(w.start());

  // After clear_fd (libldap closed the connection) nothing is shut down.
  SocketPair p;
  w.set_fd(p.fd[0]);
  w.clear_fd();
  w.arm(Clock::now() + 20ms);
  std::this_thread::sleep_for(200ms);
  (void)w.disarm();
  expect_working(p, "cleared fd");

  // A new connection replaces the old one: only the new one is shut down.
  SocketPair old_conn, new_conn;
  w.set_fd(old_conn.fd[0]);
  w.set_fd(new_conn.fd[0]);
  w.arm(Clock::now() + 30ms);
  struct pollfd pfd {new_conn.fd[0], POLLIN, 0};
  assert_int_equal(::poll(&pfd, 1, 2000), 1);
  char c;
  assert_int_equal(::read(new_conn.fd[0], &c, 1), 0);
  std::this_thread::sleep_for(20ms);
  assert_true(w.disarm());
  expect_working(old_conn, "replaced fd");

  // Not armed at all: nothing happens however long it waits.
  {
    SocketPair idle;
    auto fresh_p = std::make_unique<totp::LdapWatchdog>();
    auto& fresh = *fresh_p;
    assert_true(fresh.start());
    fresh.set_fd(idle.fd[0]);
    std::this_thread::sleep_for(100ms);
    expect_working(idle, "never armed");
    assert_false(fresh.disarm());
    fresh.clear_fd();
  }
  w.clear_fd();

  // Destroyed while armed far ahead: the destructor returns promptly.
  const auto t0 = Clock::now();
  {
    auto d = std::make_unique<totp::LdapWatchdog>();
    assert_true(d->start());
    d->arm(Clock::now() + 60s);
    d.reset();
  }
  assert_true(ms_since(t0) < 1000);
  // Destroyed without ever starting: fine too.
  { totp::LdapWatchdog never; }
}

std::atomic<int> g_usr2_count{0};
std::atomic<long> g_usr2_tid{0};
void on_usr2(int) {
  g_usr2_count.fetch_add(1);
  g_usr2_tid.store(static_cast<long>(::syscall(SYS_gettid)));
}

void test_watchdog_signal_mask(void**) {
  sigset_t saved, want, after;
  sigemptyset(&want);
  sigaddset(&want, SIGUSR1);
  sigaddset(&want, SIGTERM);
  sigaddset(&want, SIGUSR2);
  assert_int_equal(pthread_sigmask(SIG_SETMASK, &want, &saved), 0);
  pthread_sigmask(SIG_SETMASK, nullptr, &want);  // as the system keeps it

  struct sigaction sa {}, old_sa {};
  sa.sa_handler = on_usr2;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR2, &sa, &old_sa), 0);
  g_usr2_count = 0;
  {
    auto wp = std::make_unique<totp::LdapWatchdog>();  // on the heap (see above)
  auto& w = *wp;
    assert_true(w.start());
    pthread_sigmask(SIG_SETMASK, nullptr, &after);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sigismember(&want, sig) != sigismember(&after, sig))
        fail_msg("signal %d: blocked %d before start(), %d after", sig, sigismember(&want, sig),
                 sigismember(&after, sig));
    }
    // A process-directed signal that this thread blocks must not be taken
    // by the watchdog thread (it blocks everything).
    ::kill(::getpid(), SIGUSR2);
    std::this_thread::sleep_for(100ms);
    if (g_usr2_count.load() != 0) fail_msg("SIGUSR2 was delivered to another thread (the watchdog's)");
    // Unblocked here: delivered to this thread.
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr);
    for (int i = 0; i < 100 && g_usr2_count.load() == 0; ++i) std::this_thread::sleep_for(1ms);
    assert_int_equal(g_usr2_count.load(), 1);
    assert_true(g_usr2_tid.load() == static_cast<long>(::syscall(SYS_gettid)));
  }
  sigaction(SIGUSR2, &old_sa, nullptr);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

// ---- LdapStore ---------------------------------------------------------------

constexpr const char* kBase = "ou=totp,dc=example,dc=test";
constexpr const char* kBindDn = "cn=pam_totp,ou=services,dc=example,dc=test";

totp::Settings ldap_settings(const std::string& uris, const std::string& password_file, int timeout = 5) {
  totp::Settings s;
  s.store = totp::Settings::StoreKind::ldap;
  std::string rest = uris;
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    s.ldap_uri.push_back(rest.substr(0, sp));
    rest = sp == std::string::npos ? "" : rest.substr(sp + 1);
  }
  s.ldap_base = kBase;
  if (!password_file.empty()) {
    s.ldap_bind_dn = kBindDn;
    s.ldap_bind_password_file = password_file;
  }
  s.ldap_timeout = timeout;
  expect_ok(totp::check_ldap_settings(s, "test settings"), "test settings");
  return s;
}

std::string password_file(const TempDir& t, const std::string& name, const std::string& text, mode_t mode = 0600) {
  const std::string p = t / name;
  state_test::write_file(p, std::vector<std::uint8_t>(text.begin(), text.end()), mode);
  return p;
}

std::unique_ptr<totp::LdapStore> open_store(const totp::Settings& s) {
  auto st = totp::LdapStore::open(s, random_key(), ::geteuid());
  expect_ok(st, "LdapStore::open");
  return std::move(*st);
}

void test_store_password_file(void**) {
  TempDir t;
  const std::string uri = "ldap://127.0.0.1:1";
  const uid_t me = ::geteuid();
  for (mode_t mode : {0640, 0604, 0660, 0644, 0606, 0610, 0601, 0620}) {
    const std::string p = password_file(t, "pw", "secret\n", mode);
    auto st = totp::LdapStore::open(ldap_settings(uri, p), random_key(), me);
    expect_error(st, Errc::io_error, "ldap_bind_password_file", "group/other bits");
  }
  {
    const std::string p = password_file(t, "pw", "secret\n");
    auto st = totp::LdapStore::open(ldap_settings(uri, p), random_key(), me + 1);
    expect_error(st, Errc::io_error, "owner", "owned by someone else");
    expect_error(st, Errc::io_error, "ldap_bind_password_file", "owned by someone else");
  }
  for (const char* empty : {"", "\n", "\r\n", "\n\n\n"}) {
    const std::string p = password_file(t, "pw", empty);
    auto st = totp::LdapStore::open(ldap_settings(uri, p), random_key(), me);
    expect_error(st, Errc::io_error, "empty", "empty password file");
  }
  {
    auto st = totp::LdapStore::open(ldap_settings(uri, t / "missing"), random_key(), me);
    assert_false(st.ok());
    assert_true(contains(st.error().message, "ldap_bind_password_file"));
  }
  {
    const std::string real = password_file(t, "real", "secret\n");
    const std::string link = t / "link";
    assert_int_equal(::symlink(real.c_str(), link.c_str()), 0);
    auto st = totp::LdapStore::open(ldap_settings(uri, link), random_key(), me);
    expect_error(st, Errc::io_error, "ldap_bind_password_file", "symlink");
  }
  {
    const std::string d = t / "dir";
    assert_int_equal(::mkdir(d.c_str(), 0700), 0);
    auto st = totp::LdapStore::open(ldap_settings(uri, d), random_key(), me);
    expect_error(st, Errc::io_error, "ldap_bind_password_file", "directory");
  }
  {
    // Too large for a password.
    const std::string p = password_file(t, "big", std::string(100000, 'p'));
    auto st = totp::LdapStore::open(ldap_settings(uri, p), random_key(), me);
    assert_false(st.ok());
  }
  {
    // Incomplete settings are refused by open as well.
    totp::Settings s = ldap_settings(uri, password_file(t, "pw", "secret\n"));
    s.ldap_base.clear();
    expect_error(totp::LdapStore::open(s, random_key(), me), Errc::invalid_argument, "ldap_base", "no base");
    totp::Settings s2 = ldap_settings(uri, password_file(t, "pw", "secret\n"));
    s2.ldap_bind_dn.clear();
    expect_error(totp::LdapStore::open(s2, random_key(), me), Errc::invalid_argument, "ldap_bind_dn", "no bind DN");
    // A master key of the wrong size.
    totp::MasterKey short_key;
    short_key.bytes = totp::SecureBytes(16);
    assert_false(totp::LdapStore::open(ldap_settings(uri, password_file(t, "pw", "secret\n")), std::move(short_key), me).ok());
  }
  // Good files: a password with a trailing newline, without, with inner spaces.
  for (const char* text : {"secret\n", "secret", "pass word with spaces\n"}) {
    auto st = totp::LdapStore::open(ldap_settings(uri, password_file(t, "pw", text)), random_key(), me);
    expect_ok(st, text);
  }
  // SASL EXTERNAL over ldapi://: no password file at all.
  auto ext = totp::LdapStore::open(ldap_settings("ldapi://%2Fnonexistent%2Fldapi", ""), random_key(), me);
  expect_ok(ext, "EXTERNAL");
}

// A TCP listener on 127.0.0.1 (any free port) that never accepts: the
// kernel completes the handshake and keeps what the client sends, nobody
// ever answers.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_msg("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail_msg("bind failed");
    if (::listen(fd, 16) != 0) fail_msg("listen failed");
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) fail_msg("getsockname failed");
    port = ntohs(a.sin_port);
  }
  ~SilentListener() {
    if (fd >= 0) ::close(fd);
  }
  std::string uri() const { return "ldap://127.0.0.1:" + std::to_string(port); }
  // True if a connection is waiting to be accepted.
  bool has_connection(int wait_ms) const {
    struct pollfd p {fd, POLLIN, 0};
    return ::poll(&p, 1, wait_ms) == 1;
  }
};

void test_store_open_does_not_connect(void**) {
  TempDir t;
  SilentListener l;
  auto store = open_store(ldap_settings(l.uri(), password_file(t, "pw", "secret\n"), 1));
  assert_false(l.has_connection(200));
  assert_true(contains(store->where(), l.uri()));
  assert_true(contains(store->where(), kBase));
  assert_string_equal(store->dn_of("alice").c_str(), "uid=alice,ou=totp,dc=example,dc=test");
  // A user name that is not one is refused before any connection.
  expect_error(store->load("../alice"), Errc::invalid_argument, "", "bad user");
  expect_error(store->load(""), Errc::invalid_argument, "", "empty user");
  expect_error(store->load("a,ou=x"), Errc::invalid_argument, "", "DN injection");
  expect_error(store->load("*"), Errc::invalid_argument, "", "filter wildcard");
  assert_false(l.has_connection(50));
}

void test_store_unreachable(void**) {
  TempDir t;
  const std::string pw = password_file(t, "pw", "secret\n");
  {
    auto store = open_store(ldap_settings("ldap://127.0.0.1:1", pw, 5));
    const auto t0 = Clock::now();
    auto r = store->load("alice");
    const long took = ms_since(t0);
    if (r.ok()) fail_msg("load against nothing: %s", r->has_value() ? "a record" : "nullopt (not enrolled)");
    expect_error(r, Errc::io_error, "unreachable", "nothing listening");
    expect_error(r, Errc::io_error, "ldap://127.0.0.1:1", "names the URI");
    if (took > 2000) fail_msg("refused connection took %ld ms", took);
    // Again: still an error, never "not enrolled".
    auto again = store->load("alice");
    expect_error(again, Errc::io_error, "unreachable", "second load");
    // Writes and listing fail the same way, and the mutator never runs.
    bool called = false;
    auto u = store->update("alice", [&](std::optional<totp::Record>&) -> totp::Result<totp::RecordStore::Write> {
      called = true;
      return totp::RecordStore::Write::nothing;
    });
    expect_error(u, Errc::io_error, "unreachable", "update");
    assert_false(called);
    expect_error(store->users(), Errc::io_error, "unreachable", "users");
  }
  {
    // Every URI is tried and named.
    auto store = open_store(ldap_settings("ldap://127.0.0.1:1 ldaps://127.0.0.1:2", pw, 5));
    auto r = store->load("bob");
    expect_error(r, Errc::io_error, "ldap://127.0.0.1:1", "first URI");
    expect_error(r, Errc::io_error, "ldaps://127.0.0.1:2", "second URI");
  }
  {
    // A local socket that does not exist (SASL EXTERNAL).
    auto store = open_store(ldap_settings("ldapi://%2Fnonexistent%2Fpam_totp_test%2Fldapi", "", 5));
    auto r = store->load("carol");
    if (r.ok()) fail_msg("load over a missing ldapi socket succeeded");
    expect_error(r, Errc::io_error, "unreachable", "ldapi");
  }
}

void test_store_silent_server(void**) {
  // Whatever libldap does, SIGPIPE must not kill the process: keep the
  // default disposition (terminate) to prove it.
  struct sigaction dfl {}, old_pipe {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, &old_pipe);
  sigset_t before, after, pending;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);

  TempDir t;
  SilentListener l;
  auto store = open_store(ldap_settings(l.uri(), password_file(t, "pw", "secret\n"), 1));
  const auto t0 = Clock::now();
  auto r = store->load("alice");
  const long took = ms_since(t0);
  if (r.ok()) fail_msg("load against a silent server: %s", r->has_value() ? "a record" : "nullopt (not enrolled)");
  expect_error(r, Errc::io_error, "unreachable", "silent server");
  expect_error(r, Errc::io_error, l.uri().c_str(), "names the URI");
  expect_error(r, Errc::io_error, "ldap_timeout", "says why");
  if (took < 900 || took > 2000) fail_msg("load took %ld ms, expected about 1000 (ldap_timeout = 1)", took);
  assert_true(l.has_connection(0));  // it did connect, and was left waiting

  // The budget is spent: the next call of the same login fails at once.
  const auto t1 = Clock::now();
  auto r2 = store->load("alice");
  expect_error(r2, Errc::io_error, "ldap_timeout", "spent budget");
  if (ms_since(t1) > 300) fail_msg("a call with no budget left took %ld ms", ms_since(t1));

  // A new budget (the next login): waits again, and again gives up in time.
  store->renew_budget();
  const auto t2 = Clock::now();
  bool called = false;
  auto u = store->update("alice", [&](std::optional<totp::Record>&) -> totp::Result<totp::RecordStore::Write> {
    called = true;
    return totp::RecordStore::Write::everything;
  });
  const long took2 = ms_since(t2);
  expect_error(u, Errc::io_error, "ldap_timeout", "update against a silent server");
  assert_false(called);
  if (took2 > 2000) fail_msg("update took %ld ms", took2);

  // Closing the store (unbind on a dead socket) does not kill us either.
  store.reset();

  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&before, sig) != sigismember(&after, sig)) fail_msg("signal %d: the mask changed", sig);
  }
  sigemptyset(&pending);
  assert_int_equal(sigpending(&pending), 0);
  assert_int_equal(sigismember(&pending, SIGPIPE), 0);
  sigaction(SIGPIPE, &old_pipe, nullptr);
}

// A server that accepts, reads the first request and resets the connection
// (RST): libldap's next write on that socket (the unbind when the
// connection is closed) fails with EPIPE, which raises SIGPIPE unless it is
// blocked. The process must survive with its default SIGPIPE disposition.
void test_store_server_hangs_up(void**) {
  struct sigaction dfl {}, old_pipe {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, &old_pipe);
  sigset_t before, after, pending;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);

  TempDir t;
  SilentListener l;
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  // The server thread blocks every signal: a SIGPIPE raised by the client
  // thread is thread-directed and cannot be taken over by it anyway.
  std::thread server([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    while (!stop.load()) {
      struct pollfd p {l.fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int c = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      char buf[512];
      struct pollfd q {c, POLLIN, 0};
      if (::poll(&q, 1, 2000) == 1 && ::read(c, buf, sizeof buf) < 0) served.fetch_add(0);
      struct linger lg {1, 0};  // close with a reset
      ::setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(c);
      served.fetch_add(1);
    }
  });

  bool ok_so_far = true;
  std::string message;
  long took = 0;
  {
    auto store = open_store(ldap_settings(l.uri() + " " + l.uri(), password_file(t, "pw", "secret\n"), 3));
    const auto t0 = Clock::now();
    auto r = store->load("alice");
    took = ms_since(t0);
    ok_so_far = r.ok();
    if (!r.ok()) message = r.error().message;
    // Once more (a fresh connection, reset again), then close the store.
    store->renew_budget();
    (void)store->load("alice");
  }
  stop = true;
  server.join();

  if (ok_so_far) fail_msg("load against a server that hangs up succeeded");
  if (!contains(message, "unreachable")) fail_msg("message '%s' lacks 'unreachable'", message.c_str());
  if (took > 3000) fail_msg("load took %ld ms", took);
  assert_true(served.load() >= 2);

  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&before, sig) != sigismember(&after, sig)) fail_msg("signal %d: the mask changed", sig);
  }
  sigemptyset(&pending);
  assert_int_equal(sigpending(&pending), 0);
  assert_int_equal(sigismember(&pending, SIGPIPE), 0);
  sigaction(SIGPIPE, &old_pipe, nullptr);
}

// The stalled handshake of ../shared/LDAP.md: the server answers StartTLS
// with success, then never says another word. No libldap timeout bounds
// the TLS handshake that follows; only the watchdog does (and the TLS
// library's failure path writes to the socket the watchdog shut down:
// SIGPIPE, which must not kill the process).
void test_store_stalled_starttls(void**) {
  struct sigaction dfl {}, old_pipe {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, &old_pipe);
  sigset_t before, after, pending;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);

  TempDir t;
  SilentListener l;
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread server([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    std::vector<int> open_fds;
    while (!stop.load()) {
      struct pollfd p {l.fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int c = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      open_fds.push_back(c);
      // The StartTLS request: 30 len 02 01 <id> 77 ...; answer with an
      // extendedResponse (78) success for the same message id.
      std::uint8_t req[256];
      struct pollfd q {c, POLLIN, 0};
      if (::poll(&q, 1, 2000) != 1) continue;
      const ssize_t n = ::read(c, req, sizeof req);
      if (n < 7 || req[0] != 0x30 || req[2] != 0x02 || req[3] != 0x01 || req[5] != 0x77) continue;
      const std::uint8_t resp[] = {0x30, 0x0c, 0x02, 0x01, req[4], 0x78, 0x07, 0x0a,
                                   0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
      if (::send(c, resp, sizeof resp, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof resp)) answered.fetch_add(1);
      // ...and then silence (the ClientHello is never answered).
    }
    for (int fd : open_fds) ::close(fd);
  });
  // If the watchdog is broken the load would hang for ever: after 10 s the
  // server gives up (closing the connections), so the test fails instead.
  std::thread guard([&] {
    for (int i = 0; i < 1000 && !stop.load(); ++i) std::this_thread::sleep_for(10ms);
    stop = true;
  });

  std::string message;
  bool loaded = false;
  long took = 0;
  {
    auto store = open_store(ldap_settings(l.uri(), password_file(t, "pw", "secret\n"), 1));
    const auto t0 = Clock::now();
    auto r = store->load("alice");
    took = ms_since(t0);
    loaded = r.ok();
    if (!r.ok()) message = r.error().message;
  }
  stop = true;
  guard.join();
  server.join();

  if (loaded) fail_msg("load against a stalled StartTLS succeeded");
  if (answered.load() < 1) fail_msg("the client never asked for StartTLS (message: %s)", message.c_str());
  if (!contains(message, "unreachable") || !contains(message, "StartTLS"))
    fail_msg("message '%s' lacks 'unreachable' / 'StartTLS'", message.c_str());
  if (took < 900 || took > 2500) fail_msg("load took %ld ms, expected about 1000 (ldap_timeout = 1)", took);

  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&before, sig) != sigismember(&after, sig)) fail_msg("signal %d: the mask changed", sig);
  }
  sigemptyset(&pending);
  assert_int_equal(sigpending(&pending), 0);
  assert_int_equal(sigismember(&pending, SIGPIPE), 0);
  sigaction(SIGPIPE, &old_pipe, nullptr);
}

}  // namespace

int main() {
  // The connection's implementation is linked in here, not loaded as the
  // installed plugin.
  totp::use_builtin_ldap_connection(&pam_totp_ldap_connection);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filter_escape),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_watchdog_signal_mask),
      cmocka_unit_test(test_watchdog_fires),
      cmocka_unit_test(test_watchdog_disarmed_in_time),
      cmocka_unit_test(test_watchdog_fd_changes),
      cmocka_unit_test(test_store_password_file),
      cmocka_unit_test(test_store_open_does_not_connect),
      cmocka_unit_test(test_store_unreachable),
      cmocka_unit_test(test_store_silent_server),
      cmocka_unit_test(test_store_server_hangs_up),
      cmocka_unit_test(test_store_stalled_starttls),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
