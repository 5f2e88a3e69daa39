// SPDX-License-Identifier: Apache-2.0
// The state checks that need root: files and directories chown'ed to another
// uid are refused with "owner" (checked opens, master key, store files, lock
// files, state dir, initialize), and what root creates is root:root. Not
// root: the whole program is one TAP skip (cmocka 1.1's per-test skip prints
// "not ok # SKIP", which the TAP driver counts as a failure).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/key.h"
#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::TempDir;
using Write = FileStore::Write;

namespace {

constexpr uid_t kOtherUid = 4242;

void test_checked_opens_refuse_other_owner(void**) {
  TempDir t;
  const Ownership own{0, 077};
  state_test::write_file(t / "f", {1, 2, 3});
  UniqueFd dir(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY));
  expect_ok(open_file_checked(dir.get(), "f", own, 100), "root-owned");
  assert_int_equal(::chown((t / "f").c_str(), kOtherUid, 0), 0);
  expect_error(open_file_checked(dir.get(), "f", own, 100), Errc::permission, "owner", "chowned file");
  expect_error(open_path_checked(t / "f", own, 100), Errc::permission, "owner", "chowned path");
  assert_int_equal(::mkdir((t / "d").c_str(), 0700), 0);
  expect_ok(open_dir_checked(t / "d", own), "root-owned dir");
  assert_int_equal(::chown((t / "d").c_str(), kOtherUid, 0), 0);
  expect_error(open_dir_checked(t / "d", own), Errc::permission, "owner", "chowned dir");
}

void test_key_owner(void**) {
  TempDir t;
  const std::string path = t / "key";
  expect_ok(create_master_key(path));
  struct stat st {};
  assert_int_equal(::lstat(path.c_str(), &st), 0);
  assert_int_equal(st.st_uid, 0);
  assert_int_equal(st.st_gid, 0);
  expect_ok(load_master_key(path), "root-owned");
  assert_int_equal(::chown(path.c_str(), kOtherUid, 0), 0);
  expect_error(load_master_key(path), Errc::permission, "owner", "chowned key");
  assert_int_equal(::chown(path.c_str(), 0, kOtherUid), 0);  // group alone does not matter (mode 0600)
  expect_ok(load_master_key(path), "other group, mode 0600");
}

void test_store_owner(void**) {
  TempDir t;
  const std::string dir = t / "state";
  assert_int_equal(::mkdir(dir.c_str(), 0700), 0);
  const MasterKey key = state_test::random_key();
  auto s = FileStore::open(dir, state_test::clone_key(key), 0);
  expect_ok(s);
  const Record r = state_test::sample_record();
  expect_ok(s->update("alice", [&r](std::optional<Record>& rec) -> Result<Write> {
    rec = clone_record(r);
    return Write::everything;
  }));
  auto bump = [](std::optional<Record>& rec) -> Result<Write> {
    if (!rec) return make_error(Errc::not_found, "none");
    rec->ledger.fail_count++;
    return Write::ledger_only;
  };
  assert_int_equal(::chown((dir + "/alice").c_str(), kOtherUid, 0), 0);
  expect_error(s->load("alice"), Errc::permission, "owner", "chowned file");
  expect_error(s->update("alice", bump), Errc::permission, "owner", "update chowned file");
  assert_int_equal(::chown((dir + "/alice").c_str(), 0, 0), 0);
  expect_ok(s->load("alice"), "chowned back");
  // A lock file owned by someone else: refused.
  state_test::write_file(dir + "/.lock.erin", {}, 0600);
  assert_int_equal(::chown((dir + "/.lock.erin").c_str(), kOtherUid, 0), 0);
  expect_error(s->update("erin", bump), Errc::permission, "lock", "chowned lock");
  // The state directory owned by someone else: refused.
  assert_int_equal(::chown(dir.c_str(), kOtherUid, 0), 0);
  expect_error(FileStore::open(dir, state_test::clone_key(key), 0), Errc::permission, "owner", "chowned dir");
}

void test_initialize_owner(void**) {
  TempDir t;
  const std::string key = t / "k", dir = t / "s";
  expect_ok(initialize(key, dir, nullptr));
  struct stat st {};
  assert_int_equal(::lstat(dir.c_str(), &st), 0);
  assert_int_equal(st.st_uid, 0);
  assert_int_equal(st.st_gid, 0);
  assert_int_equal(::chown(key.c_str(), kOtherUid, 0), 0);
  expect_error(initialize(key, dir, nullptr), Errc::permission, "owner", "chowned key");
  assert_int_equal(::chown(key.c_str(), 0, 0), 0);
  assert_int_equal(::chown(dir.c_str(), kOtherUid, 0), 0);
  expect_error(initialize(key, dir, nullptr), Errc::permission, "owner", "chowned dir");
  assert_int_equal(::lstat(dir.c_str(), &st), 0);
  assert_int_equal(st.st_uid, kOtherUid);  // reported, not fixed
}

}  // namespace

int main() {
  if (!state_test::is_root()) {
    std::printf("1..0 # SKIP chown tests need root\n");
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checked_opens_refuse_other_owner),
      cmocka_unit_test(test_key_owner),
      cmocka_unit_test(test_store_owner),
      cmocka_unit_test(test_initialize_owner),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
