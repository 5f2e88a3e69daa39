// SPDX-License-Identifier: Apache-2.0
// FileStore under pressure: 50 processes doing locked read-modify-write at once
// lose no update (ledger-only and whole-file writes mixed, readers running
// alongside never fail), and a writer killed with SIGKILL at random moments
// always leaves a file that opens and holds the old or the new record.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_ok;
using state_test::TempDir;
using Write = FileStore::Write;

namespace {

constexpr int kWriters = 50;
constexpr int kUpdatesPerWriter = 20;  // of which every 5th rewrites the whole file
constexpr int kReaders = 2;
constexpr int kCrashRounds = 300;

using Fixture = state_test::StoreFixture;

// Child side: no cmocka (its longjmp must not run in a child), exit codes only.
[[noreturn]] void writer_child(FileStore& s, int start_fd, int id) {
  char go;
  if (::read(start_fd, &go, 1) < 0) ::_exit(10);
  for (int i = 0; i < kUpdatesPerWriter; ++i) {
    const bool whole = (i + id) % 5 == 0;
    auto st = s.update("alice", [whole](std::optional<Record>& rec) -> Result<Write> {
      if (!rec) return make_error(Errc::not_found, "record vanished");
      rec->ledger.fail_count += 1;
      if (whole) {
        rec->enrolment.created += 1;  // an enrolment change forces the full path
        return Write::everything;
      }
      return Write::ledger_only;
    });
    if (!st) ::_exit(11);
  }
  ::_exit(0);
}

[[noreturn]] void reader_child(const FileStore& s, int stop_fd) {
  std::uint32_t last = 0;
  int reads = 0;
  for (;;) {
    auto r = s.load("alice");
    if (!r || !r->has_value()) ::_exit(20);
    // In-place ledger writes only ever damage the older slot, so a reader
    // never goes backwards.
    if ((*r)->ledger.fail_count < last) ::_exit(21);
    last = (*r)->ledger.fail_count;
    ++reads;
    char c;
    const ssize_t n = ::read(stop_fd, &c, 1);  // non-blocking: EOF means stop
    if (n == 0) ::_exit(reads > 0 ? 0 : 22);
  }
}

// alice's starting record: both counters this file increments at zero.
Record seed_alice(FileStore& s) {
  Record r = state_test::sample_record();
  r.ledger.fail_count = 0;
  r.enrolment.created = 0;
  expect_ok(s.update("alice", [&r](std::optional<Record>& rec) -> Result<Write> {
    rec = clone_record(r);
    return Write::everything;
  }));
  return r;
}

void test_concurrent_updates_lose_nothing(void**) {
  Fixture f;
  FileStore s = f.store();
  // Every writer hammers the same user's lock with durable writes: a writer
  // may wait behind all the others' fsyncs, longer than the bound a login
  // gets (which test_store_counting checks). This test is about lost
  // updates, so it waits as long as it takes.
  s.set_lock_wait_ms(10 * 60 * 1000);
  const Record r = seed_alice(s);

  int start[2], stop[2];
  assert_int_equal(::pipe(start), 0);
  assert_int_equal(::pipe2(stop, O_NONBLOCK), 0);
  std::vector<pid_t> writers, readers;
  for (int i = 0; i < kReaders; ++i) {
    const pid_t pid = ::fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      ::close(stop[1]);
      ::close(start[0]);
      ::close(start[1]);
      reader_child(s, stop[0]);
    }
    readers.push_back(pid);
  }
  for (int i = 0; i < kWriters; ++i) {
    const pid_t pid = ::fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(stop[1]);
      writer_child(s, start[0], i);
    }
    writers.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);  // all writers start at once
  int failed_writers = 0;
  for (pid_t pid : writers) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed_writers;
  }
  ::close(stop[1]);
  ::close(stop[0]);
  int failed_readers = 0;
  for (pid_t pid : readers) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed_readers;
      print_message("# reader exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
  }
  assert_int_equal(failed_writers, 0);
  assert_int_equal(failed_readers, 0);

  auto got = s.load("alice");
  expect_ok(got);
  assert_true(got->has_value());
  assert_int_equal((*got)->ledger.fail_count, kWriters * kUpdatesPerWriter);
  assert_int_equal((*got)->enrolment.created, kWriters * kUpdatesPerWriter / 5);
  // Every other field survived all the rewrites.
  Record expected = clone_record(r);
  expected.ledger.fail_count = kWriters * kUpdatesPerWriter;
  expected.enrolment.created = kWriters * kUpdatesPerWriter / 5;
  state_test::expect_same_record(expected, **got);
}

// The value a crash round writes next decides the kind of write: multiples
// of 3 rewrite the whole file (and record the value in `created` too).
bool whole_file_value(std::uint32_t v) { return v % 3 == 0; }

constexpr std::uint32_t kReady = 0xffffffffu;

[[noreturn]] void crash_writer(FileStore& s, int report_fd) {
  // Tell the parent we are running, so that its random delay is spent
  // writing, not starting up (fork is slow under ASan).
  if (::write(report_fd, &kReady, sizeof kReady) != sizeof kReady) ::_exit(32);
  for (;;) {
    std::uint32_t written = 0;
    auto st = s.update("alice", [&written](std::optional<Record>& rec) -> Result<Write> {
      if (!rec) return make_error(Errc::not_found, "record vanished");
      const std::uint32_t v = rec->ledger.fail_count + 1;
      rec->ledger.fail_count = v;
      written = v;
      if (whole_file_value(v)) {
        rec->enrolment.created = v;
        return Write::everything;
      }
      return Write::ledger_only;
    });
    if (!st) ::_exit(30);
    // Reported only once durable: the file may be one ahead of the report.
    if (::write(report_fd, &written, sizeof written) != sizeof written) ::_exit(31);
  }
}

void test_sigkill_leaves_old_or_new(void**) {
  Fixture f;
  FileStore s = f.store();
  const Record r = seed_alice(s);
  std::mt19937 rng(static_cast<unsigned>(::time(nullptr)) ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> delay_us(0, 3000);
  std::uint32_t current = 0;
  int ahead = 0, progressed = 0;
  for (int round = 0; round < kCrashRounds; ++round) {
    int report[2];
    assert_int_equal(::pipe(report), 0);
    const pid_t pid = ::fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      ::close(report[0]);
      crash_writer(s, report[1]);
    }
    ::close(report[1]);
    std::uint32_t ready = 0;
    if (::read(report[0], &ready, sizeof ready) != static_cast<ssize_t>(sizeof ready) || ready != kReady) {
      fail_msg("round %d: writer did not start", round);
    }
    struct timespec ts {0, delay_us(rng) * 1000L};
    ::nanosleep(&ts, nullptr);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) fail_msg("round %d: writer exited by itself with %d", round, WEXITSTATUS(status));
    std::uint32_t last_reported = current, v = 0;
    while (::read(report[0], &v, sizeof v) == static_cast<ssize_t>(sizeof v)) last_reported = v;
    ::close(report[0]);

    auto got = s.load("alice");
    if (!got) fail_msg("round %d: file does not open after SIGKILL: %s", round, got.error().message.c_str());
    assert_true(got->has_value());
    const std::uint32_t now = (*got)->ledger.fail_count;
    if (now != last_reported && now != last_reported + 1) {
      fail_msg("round %d: fail_count %u, expected %u or %u", round, now, last_reported, last_reported + 1);
    }
    if (now == last_reported + 1) ++ahead;
    if (now > current) ++progressed;
    // The enrolment is the one of the last whole-file write at or below now.
    const std::int64_t expected_created = now - now % 3;
    if ((*got)->enrolment.created != expected_created) {
      fail_msg("round %d: created %lld, expected %lld", round, static_cast<long long>((*got)->enrolment.created),
               static_cast<long long>(expected_created));
    }
    // The rest of the record is intact.
    assert_true(constant_time_equal((*got)->enrolment.secret.span(), r.enrolment.secret.span()));
    assert_true((*got)->enrolment.recovery_hashes == r.enrolment.recovery_hashes);
    current = now;
  }
  print_message("# %d rounds, %d made progress, %d killed between write and report, final count %u\n", kCrashRounds,
                progressed, ahead, current);
  assert_true(progressed > 0);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_updates_lose_nothing),
      cmocka_unit_test(test_sigkill_leaves_old_or_new),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
