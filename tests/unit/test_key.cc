// SPDX-License-Identifier: Apache-2.0
// Master key: creation (O_EXCL, 0600, 32 random bytes), loading with every
// refusal named (symlink, length, owner, group/world bits, type, missing),
// key id = first 8 bytes of SHA-256.
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/key.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::TempDir;

namespace {

void test_create_and_load(void**) {
  TempDir t;
  const std::string path = t / "key";
  const mode_t old = ::umask(0);  // creation must not depend on the umask
  auto created = create_master_key(path);
  ::umask(old);
  expect_ok(created, "create");
  struct stat st {};
  assert_int_equal(::lstat(path.c_str(), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_size, 32);
  assert_int_equal(st.st_uid, ::geteuid());
  if (state_test::is_root()) assert_int_equal(st.st_gid, 0);

  auto loaded = load_master_key(path, ::geteuid());
  expect_ok(loaded, "load");
  assert_int_equal(loaded->bytes.size(), kMasterKeySize);
  assert_memory_equal(loaded->bytes.data(), created->bytes.data(), kMasterKeySize);
  const auto on_disk = state_test::read_file(path);
  assert_memory_equal(on_disk.data(), loaded->bytes.data(), kMasterKeySize);

  // Key id: first 8 bytes of SHA-256 of the key (computed independently here).
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(on_disk.data(), on_disk.size(), digest);
  assert_memory_equal(loaded->id.data(), digest, kKeyIdSize);
  assert_true(loaded->id == created->id);

  expect_error(create_master_key(path), Errc::invalid_argument, "already exists", "second create");
  // ... and the existing key is untouched.
  assert_true(state_test::read_file(path) == on_disk);
}

void test_keys_differ(void**) {
  TempDir t;
  auto a = create_master_key(t / "a");
  auto b = create_master_key(t / "b");
  expect_ok(a);
  expect_ok(b);
  assert_false(constant_time_equal(a->bytes.span(), b->bytes.span()));
  assert_false(a->id == b->id);
  std::vector<std::uint8_t> r1(32), r2(32);
  expect_ok(random_bytes(r1));
  expect_ok(random_bytes(r2));
  assert_false(r1 == r2);
  expect_ok(random_bytes(std::span<std::uint8_t>()));
}

void test_create_missing_parent(void**) {
  TempDir t;
  expect_error(create_master_key(t / "no/such/key"), Errc::not_found, "parent directory", "missing parent");
  assert_int_equal(::symlink((t / "elsewhere").c_str(), (t / "link").c_str()), 0);
  // O_NOFOLLOW|O_EXCL: a dangling symlink is not followed to create a key.
  auto r = create_master_key(t / "link");
  assert_false(r.ok());
  struct stat st {};
  assert_int_not_equal(::lstat((t / "elsewhere").c_str(), &st), 0);
}

void test_load_refusals(void**) {
  TempDir t;
  const uid_t me = ::geteuid();
  const std::string path = t / "key";
  auto created = create_master_key(path);
  expect_ok(created);
  const auto good = state_test::read_file(path);

  expect_error(load_master_key(t / "missing", me), Errc::not_found, "does not exist", "missing");
  assert_int_equal(::symlink(path.c_str(), (t / "link").c_str()), 0);
  expect_error(load_master_key(t / "link", me), Errc::permission, "symbolic link", "symlink");
  for (std::size_t len : {0, 1, 16, 31, 33, 64, 4096}) {
    std::vector<std::uint8_t> bad(len, 0x41);
    state_test::write_file(t / "len", bad);
    expect_error(load_master_key(t / "len", me), Errc::parse_error, "wrong length", "length");
  }
  for (mode_t m : {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0620, 0602}) {
    assert_int_equal(::chmod(path.c_str(), m), 0);
    auto r = load_master_key(path, me);
    expect_error(r, Errc::permission, "mode", "group/world bits");
    assert_true(r.error().message.find(path) != std::string::npos);  // names the file
  }
  assert_int_equal(::chmod(path.c_str(), 0600), 0);
  expect_error(load_master_key(path, me + 1), Errc::permission, "owner", "owner");
  assert_int_equal(::mkdir((t / "dir").c_str(), 0700), 0);
  expect_error(load_master_key(t / "dir", me), Errc::permission, "directory", "directory");
  assert_int_equal(::mkfifo((t / "fifo").c_str(), 0600), 0);
  expect_error(load_master_key(t / "fifo", me), Errc::permission, "regular", "fifo");
  // 0400 is fine (no group/world bits).
  assert_int_equal(::chmod(path.c_str(), 0400), 0);
  expect_ok(load_master_key(path, me), "0400");
  assert_true(state_test::read_file(path) == good);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_and_load),     cmocka_unit_test(test_keys_differ),
      cmocka_unit_test(test_create_missing_parent), cmocka_unit_test(test_load_refusals),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
