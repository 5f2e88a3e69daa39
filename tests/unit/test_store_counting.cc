// SPDX-License-Identifier: Apache-2.0
// Pessimistic accounting and the store's defences against a caller who
// controls the process (issue 13): the failure is on disk before a code is
// looked at, a process killed right after the check has it counted, a wrong
// code costs no second write, the slot in use is never touched, the lock
// wait is bounded and a killed writer's temp file is swept. Also the login
// decision (core/login_decision) through a recording on_record.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/login_decision.h"
#include "core/otp.h"
#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using Write = FileStore::Write;
using Bytes = std::vector<std::uint8_t>;

namespace {

using Fixture = state_test::StoreFixture;

Record fresh_record() {
  Record r = state_test::sample_record();
  r.ledger = Ledger{};
  r.ledger.last_used_step = 100;
  return r;
}

void seed(FileStore& s, const Record& r) {
  expect_ok(s.update("alice", [&](std::optional<Record>& rec) -> Result<Write> {
    rec = clone_record(r);
    return Write::everything;
  }));
}

Ledger counted_of(const Ledger& l) {
  Ledger c = l;
  c.fail_count += 1;
  c.first_fail_time = 1700000000;
  return c;
}

std::uint32_t fail_count_on_disk(Fixture& f) {
  FileStore other = f.store();
  auto r = other.load("alice");
  expect_ok(r, "load");
  if (!r->has_value()) fail_msg("no record");
  return (**r).ledger.fail_count;
}

void test_counted_before_the_check(void**) {
  Fixture f;
  FileStore s = f.store();
  seed(s, fresh_record());
  std::uint32_t seen_during_check = 99;
  expect_ok(s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
    expect_ok(on_record(counted_of(rec->ledger)), "on_record");
    // What another process (or a power-cut-free restart) reads now.
    seen_during_check = fail_count_on_disk(f);
    rec->ledger.last_used_step = 101;  // a right code
    return Write::ledger_only;
  }));
  assert_int_equal(seen_during_check, 1);
  auto after = s.load("alice");
  expect_ok(after);
  assert_int_equal((**after).ledger.fail_count, 0);
  assert_true((**after).ledger.last_used_step == 101);
}

// A process killed at any instant after on_record (the caller's SIGKILL,
// a resource limit) has the attempt counted.
void test_killed_after_on_record_is_counted(void**) {
  for (int how = 0; how < 3; ++how) {
    Fixture f;
    FileStore s = f.store();
    seed(s, fresh_record());
    const pid_t pid = ::fork();
    if (pid == 0) {
      (void)s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
        if (!on_record(counted_of(rec->ledger))) ::_exit(3);
        if (how == 0) ::raise(SIGKILL);                 // killed right after
        if (how == 1) ::_exit(0);                       // exits without flushing
        rec->ledger.last_used_step = 101;               // right code, then killed
        return Write::ledger_only;
      }, [] { ::raise(SIGKILL); });
      ::_exit(0);
    }
    int status = 0;
    assert_int_equal(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) assert_int_not_equal(WEXITSTATUS(status), 3);
    // Either counted, or (how == 2: the success was written before the
    // kill) the success itself: never the untouched old ledger.
    FileStore fresh = f.store();
    auto r = fresh.load("alice");
    expect_ok(r);
    const Ledger& l = (**r).ledger;
    if (how == 2) {
      assert_true(l.last_used_step == 101 || l.fail_count == 1);
    } else {
      assert_int_equal(l.fail_count, 1);
    }
  }
}

// A wrong code's ledger is the one already on record: no second pwrite (the
// file is byte for byte what on_record left). And the slot in use before the
// update is never written, whatever the outcome.
void test_wrong_code_only_flushes_and_slot_in_use_is_kept(void**) {
  for (bool right : {false, true}) {
    Fixture f;
    FileStore s = f.store();
    seed(s, fresh_record());
    // One ledger write first, so that the slots differ.
    expect_ok(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
      rec->ledger.last_login_time = 1700000001;
      return Write::ledger_only;
    }));
    const Bytes before = state_test::read_file(f.file("alice"));
    auto layout = parse_state_layout(before);
    expect_ok(layout);
    Bytes after_on_record;
    expect_ok(s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
      Ledger c = counted_of(rec->ledger);
      expect_ok(on_record(c));
      after_on_record = state_test::read_file(f.file("alice"));
      if (right) {
        rec->ledger.last_used_step = 101;
      } else {
        rec->ledger = std::move(c);
      }
      return Write::ledger_only;
    }));
    const Bytes after = state_test::read_file(f.file("alice"));
    if (!right) assert_true(after == after_on_record);
    // Slot B was written by the seeding ledger update (seq 2 > 1), so slot B
    // is in use and slot A is the spare.
    const std::size_t b = layout->slot_offset[1];
    assert_memory_equal(before.data() + b, after.data() + b, kLedgerSlotSize);
    assert_memory_equal(before.data() + b, after_on_record.data() + b, kLedgerSlotSize);
  }
}

void test_on_record_errors_and_keeps(void**) {
  Fixture f;
  FileStore s = f.store();
  // No record: nothing to count against, and the mutator hears so.
  bool refused = false;
  expect_ok(s.update_checked("alice", [&](std::optional<Record>&, const FileStore::OnRecord& on_record) -> Result<Write> {
    refused = !on_record(Ledger{});
    return Write::nothing;
  }));
  assert_true(refused);
  // An error after on_record: the failure stays counted.
  seed(s, fresh_record());
  expect_error(s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
    expect_ok(on_record(counted_of(rec->ledger)));
    return make_error(Errc::crypto_error, "check failed");
  }), Errc::crypto_error, "check failed");
  assert_int_equal(fail_count_on_disk(f), 1);
  // Write::nothing after on_record keeps the count as well.
  expect_ok(s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
    expect_ok(on_record(counted_of(rec->ledger)));
    return Write::nothing;
  }));
  assert_int_equal(fail_count_on_disk(f), 2);
}

void test_lock_wait_is_bounded(void**) {
  Fixture f;
  FileStore s = f.store();
  seed(s, fresh_record());
  // Another process (a stopped helper, say) holds alice's lock.
  const std::string lock = f.dir + "/.lock.alice";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  assert_true(fd >= 0);
  const pid_t holder = ::fork();
  if (holder == 0) {
    if (::flock(fd, LOCK_EX) != 0) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(fd);
  ::usleep(100000);
  s.set_lock_wait_ms(300);
  const auto t0 = std::chrono::steady_clock::now();
  auto st = s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::ledger_only; });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  expect_error(st, Errc::busy, "held by another process");
  assert_true(ms >= 300);
  assert_true(ms < 3000);
  // Once the holder is gone the lock is free again.
  expect_ok(s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::nothing; }));
}

void test_killed_writers_temp_is_swept(void**) {
  Fixture f;
  FileStore s = f.store();
  seed(s, fresh_record());
  const std::string tmp = f.dir + "/.alice.tmp";
  const std::string other = f.dir + "/.bob.tmp";
  state_test::write_file(tmp, Bytes(100, 0x41));
  state_test::write_file(other, Bytes(100, 0x42));
  // Even an update that writes nothing sweeps the user's leftover.
  expect_ok(s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::nothing; }));
  struct stat st {};
  assert_int_not_equal(::lstat(tmp.c_str(), &st), 0);
  // Only the user's own: bob's is bob's update's business.
  assert_int_equal(::lstat(other.c_str(), &st), 0);
  // A full rewrite uses that one temp name and leaves nothing.
  seed(s, fresh_record());
  assert_int_not_equal(::lstat(tmp.c_str(), &st), 0);
}

// A caller's RLIMIT_FSIZE (su run under `prlimit --fsize=0`): the store
// raises the soft limit for its writes and puts it back; a hard limit it
// cannot raise is a refusal before anything is read or checked, never a
// SIGXFSZ death half-way through a write.
void test_file_size_limit_of_the_caller(void**) {
  for (bool hard : {false, true}) {
    Fixture f;
    FileStore s = f.store();
    seed(s, fresh_record());
    const pid_t pid = ::fork();
    if (pid == 0) {
      struct rlimit lim {};
      ::getrlimit(RLIMIT_FSIZE, &lim);
      lim.rlim_cur = 0;
      if (hard) lim.rlim_max = 0;
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(10);
      bool checked = false;
      auto st = s.update_checked("alice", [&](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
        if (!on_record(counted_of(rec->ledger))) ::_exit(11);
        checked = true;
        rec->ledger = counted_of(rec->ledger);
        return Write::ledger_only;
      });
      struct rlimit after {};
      ::getrlimit(RLIMIT_FSIZE, &after);
      if (after.rlim_cur != 0) ::_exit(12);  // the caller's limit is back
      if (st) ::_exit(checked ? 0 : 13);
      // Refused: only when the limit cannot be raised, before any check.
      if (checked || std::strstr(st.error().message.c_str(), "file size limit") == nullptr) ::_exit(14);
      ::_exit(20);
    }
    int status = 0;
    assert_int_equal(::waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));  // never killed by SIGXFSZ
    const int rc = WEXITSTATUS(status);
    if (!hard) {
      assert_int_equal(rc, 0);
      assert_int_equal(fail_count_on_disk(f), 1);
    } else {
      // Without CAP_SYS_RESOURCE (tests, containers) the hard limit stays:
      // refused, nothing counted because nothing was checked. With it
      // (root on most machines), the write went through and was counted.
      assert_true(rc == 20 || rc == 0);
      assert_int_equal(fail_count_on_disk(f), rc == 20 ? 0u : 1u);
    }
  }
}

// ---- the login decision --------------------------------------------------------

struct Recorder {
  std::vector<Ledger> calls;
  bool fail = false;
  FileStore::OnRecord fn() {
    return [this](const Ledger& l) -> Status {
      calls.push_back(l);
      if (fail) return make_error(Errc::io_error, "disk full");
      return ok_status();
    };
  }
};

std::string code_at(const Record& r, std::int64_t t) {
  auto c = totp_code(r.enrolment.secret.span(), r.enrolment.otp, t);
  expect_ok(c);
  return *c;
}

void test_judge_login_counts_first(void**) {
  const std::int64_t now = 1800000000;
  LoginAttempt a;
  a.now = now;
  a.policy = LockoutPolicy{3, 900, 600};
  a.rhost = "192.0.2.1";

  // Wrong code: counted once, and the counted ledger is what is written.
  {
    std::optional<Record> rec = fresh_record();
    Recorder r;
    LoginVerdict v;
    a.answer = "00000000";
    auto w = judge_login(rec, a, r.fn(), v);
    expect_ok(w);
    assert_true(*w == Write::ledger_only);
    assert_int_equal(r.calls.size(), 1);
    assert_int_equal(r.calls[0].fail_count, 1);
    assert_int_equal(rec->ledger.fail_count, 1);
    assert_true(v.decision == Decision::wrong);
  }
  // Right code: counted first, then taken back.
  {
    std::optional<Record> rec = fresh_record();
    rec->ledger.fail_count = 2;
    rec->ledger.first_fail_time = now - 10;
    Recorder r;
    LoginVerdict v;
    const std::string c = code_at(*rec, now);
    a.answer = c;
    auto w = judge_login(rec, a, r.fn(), v);
    expect_ok(w);
    assert_true(v.decision == Decision::accepted_totp);
    assert_int_equal(r.calls.size(), 1);
    assert_int_equal(r.calls[0].fail_count, 3);
    assert_true(r.calls[0].locked_until != 0);  // the counted attempt would have locked
    assert_false(v.now_locked);
    assert_int_equal(rec->ledger.fail_count, 0);
    assert_int_equal(rec->ledger.locked_until, 0);
    assert_true(rec->ledger.last_used_step == totp_step(now, rec->enrolment.otp.period));
  }
  // on_record fails (full disk, RLIMIT_FSIZE): no answer is looked at.
  {
    std::optional<Record> rec = fresh_record();
    Recorder r;
    r.fail = true;
    LoginVerdict v;
    const std::string c = code_at(*rec, now);
    a.answer = c;
    auto w = judge_login(rec, a, r.fn(), v);
    assert_false(w.ok());
    assert_false(is_acceptance(v.decision));
    assert_true(rec->ledger.last_used_step == 100);
  }
  // Locked or not enrolled: nothing counted, nothing checked.
  {
    std::optional<Record> rec = fresh_record();
    rec->ledger.locked_until = now + 10;
    Recorder r;
    LoginVerdict v;
    auto w = judge_login(rec, a, r.fn(), v);
    expect_ok(w);
    assert_true(*w == Write::nothing);
    assert_true(v.decision == Decision::locked);
    assert_int_equal(r.calls.size(), 0);
    std::optional<Record> none;
    w = judge_login(none, a, r.fn(), v);
    assert_true(*w == Write::nothing);
    assert_true(v.decision == Decision::not_enrolled);
    assert_int_equal(r.calls.size(), 0);
  }
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counted_before_the_check),
      cmocka_unit_test(test_killed_after_on_record_is_counted),
      cmocka_unit_test(test_wrong_code_only_flushes_and_slot_in_use_is_kept),
      cmocka_unit_test(test_on_record_errors_and_keeps),
      cmocka_unit_test(test_lock_wait_is_bounded),
      cmocka_unit_test(test_killed_writers_temp_is_swept),
      cmocka_unit_test(test_file_size_limit_of_the_caller),
      cmocka_unit_test(test_judge_login_counts_first),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
