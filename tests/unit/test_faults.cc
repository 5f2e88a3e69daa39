// SPDX-License-Identifier: Apache-2.0
// Issue 19, the pieces of "fail closed, lose nothing" that a unit test can
// reach (tests/faults/*.t make the real faults):
//   - the clock set back past the last used step: the verdict says by how
//     much (clock_behind_seconds) and log_verdict adds one line for it;
//     not when the clock is right, nor for an accepted code;
//   - atomic_replace's while_flushing runs once the data is written and
//     before the fsyncs; a write that fails (here: a file size limit)
//     never runs it, leaves no temp file and the old file intact;
//   - the store's whole-file write runs while_flushing the same way.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/login_decision.h"
#include "core/otp.h"
#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_ok;

// The log lines, caught here: the executable's syslog wins over libc's
// for the core library linked into it.
static std::vector<std::string> g_log;
static void catch_line(const char* fmt, va_list ap) {
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  g_log.emplace_back(buf);
}
extern "C" void syslog(int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  catch_line(fmt, ap);
  va_end(ap);
}
extern "C" void __syslog_chk(int, int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  catch_line(fmt, ap);
  va_end(ap);
}
extern "C" void vsyslog(int, const char* fmt, va_list ap) { catch_line(fmt, ap); }
extern "C" void __vsyslog_chk(int, int, const char* fmt, va_list ap) { catch_line(fmt, ap); }

namespace {

int count_lines(const char* text) {
  int n = 0;
  for (const auto& l : g_log) n += l.find(text) != std::string::npos ? 1 : 0;
  return n;
}

std::string code_at(const Record& r, std::int64_t t) {
  auto c = totp_code(r.enrolment.secret.span(), r.enrolment.otp, t);
  expect_ok(c);
  return *c;
}

Record record_used_at(std::int64_t t) {
  Record r = state_test::sample_record();
  r.ledger = Ledger{};
  r.ledger.last_used_step = static_cast<std::uint64_t>(t / r.enrolment.otp.period);
  return r;
}

const RecordStore::OnRecord kNoWrite = [](const Ledger&) { return ok_status(); };

void test_clock_behind_is_said(void**) {
  const std::int64_t used = 1800000000;  // a code was used then
  const std::int64_t period = 60;        // sample_record's
  LoginAttempt a;
  a.policy = LockoutPolicy{5, 900, 600};
  const LogContext ctx{"test", "alice", "", false};

  // The clock set back one hour: the code the app shows (real time) and the
  // one for the server's clock are both refused; the verdict says how far
  // behind the clock is: to the start of the last used step.
  for (const std::int64_t code_time : {used, used - 3600}) {
    std::optional<Record> rec = record_used_at(used);
    a.now = used - 3600;
    const std::string c = code_at(*rec, code_time);
    a.answer = c;
    LoginVerdict v;
    auto w = judge_login(rec, a, kNoWrite, v);
    expect_ok(w);
    assert_false(is_acceptance(v.decision));
    const std::int64_t want = (used / period) * period - a.now;
    assert_int_equal(v.clock_behind_seconds, want);
    g_log.clear();
    log_verdict(ctx, v, false);
    assert_int_equal(count_lines("clock is behind the last used code by " /**/), 1);
    assert_int_equal(count_lines(("by " + std::to_string(want) + " s: codes are refused until then").c_str()), 1);
    assert_int_equal(g_log.size(), 2);  // that line and the verdict's own
  }

  // The clock right (a step later): a wrong code is only a wrong code.
  {
    std::optional<Record> rec = record_used_at(used);
    a.now = used + period;
    a.answer = "00000000";
    LoginVerdict v;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_true(v.decision == Decision::wrong);
    assert_int_equal(v.clock_behind_seconds, 0);
    g_log.clear();
    log_verdict(ctx, v, false);
    assert_int_equal(count_lines("clock is behind"), 0);
  }
  // The same step (a replay, clock not behind the step's start): no line.
  {
    std::optional<Record> rec = record_used_at(used);
    a.now = used;
    const std::string c = code_at(*rec, used);
    a.answer = c;
    LoginVerdict v;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_true(v.decision == Decision::replayed);
    assert_int_equal(v.clock_behind_seconds, 0);
  }
  // The clock forward one day: the day's code is accepted (the ledger then
  // holds that step), and going back afterwards refuses the real-time code
  // with the line, for a day: nothing is accepted twice.
  {
    std::optional<Record> rec = record_used_at(used);
    a.now = used + 86400;
    const std::string day = code_at(*rec, a.now);
    a.answer = day;
    LoginVerdict v;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_true(v.decision == Decision::accepted_totp);
    assert_int_equal(v.clock_behind_seconds, 0);
    a.now = used + 2 * period;
    const std::string back = code_at(*rec, a.now);
    a.answer = back;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_false(is_acceptance(v.decision));
    assert_true(v.clock_behind_seconds > 86400 - 3 * period);
    // and the day's code again, once the clock is there: a replay
    a.now = used + 86400;
    a.answer = day;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_true(v.decision == Decision::replayed);
  }
  // A recovery code is no TOTP code: no clock line.
  {
    std::optional<Record> rec = record_used_at(used);
    a.now = used - 3600;
    a.answer = "ABCDE-FGHJK";
    LoginVerdict v;
    expect_ok(judge_login(rec, a, kNoWrite, v));
    assert_int_equal(v.clock_behind_seconds, 0);
  }
}

void test_atomic_replace_flushing_order(void**) {
  state_test::TempDir t;
  UniqueFd dir(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  assert_true(dir.valid());
  const std::vector<std::uint8_t> first(100, 0x11), second(5000, 0x22);
  expect_ok(atomic_replace(dir.get(), "f", first, 0600));

  // Runs once, when the temp file holds the data and before the rename.
  int calls = 0;
  expect_ok(atomic_replace(dir.get(), "f", second, 0600, [&] {
    ++calls;
    struct stat tmp {}, cur {};
    assert_int_equal(::stat((t / ".f.tmp").c_str(), &tmp), 0);
    assert_int_equal(tmp.st_size, static_cast<off_t>(second.size()));
    assert_int_equal(::stat((t / "f").c_str(), &cur), 0);
    assert_int_equal(cur.st_size, static_cast<off_t>(first.size()));
  }));
  assert_int_equal(calls, 1);
  assert_true(state_test::read_file(t / "f") == second);

  // A write that fails (the file size limit, as on a full disk): never
  // called, no temp file, the old file intact.
  struct rlimit saved {};
  assert_int_equal(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  assert_int_equal(::setrlimit(RLIMIT_FSIZE, &small), 0);
  calls = 0;
  auto st = atomic_replace(dir.get(), "f", std::vector<std::uint8_t>(4096, 0x33), 0600, [&] { ++calls; });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  assert_false(st.ok());
  assert_true(st.error().message.find("write failed") != std::string::npos);
  assert_int_equal(calls, 0);
  struct stat gone {};
  assert_int_equal(::lstat((t / ".f.tmp").c_str(), &gone), -1);
  assert_true(state_test::read_file(t / "f") == second);
}

void test_store_whole_write_flushing(void**) {
  state_test::StoreFixture f;
  FileStore s = f.store();
  int calls = 0;
  bool file_there = true;
  expect_ok(s.update(
      "alice",
      [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
        rec = state_test::sample_record();
        return RecordStore::Write::everything;
      },
      [&] {
        ++calls;
        struct stat st {};
        file_there = ::lstat(f.file("alice").c_str(), &st) == 0;  // not renamed into place yet
      }));
  assert_int_equal(calls, 1);
  assert_false(file_there);
  auto r = s.load("alice");
  expect_ok(r);
  assert_true(r->has_value());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock_behind_is_said),
      cmocka_unit_test(test_atomic_replace_flushing_order),
      cmocka_unit_test(test_store_whole_write_flushing),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
