// SPDX-License-Identifier: Apache-2.0
// fs helpers: checked opens refuse symlinks, wrong types, owners, modes and
// sizes with a reason; read/write helpers; atomic_replace leaves either the
// old or the new file and no temp file; FileLock excludes other processes.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/fs.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::TempDir;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

uid_t me() { return ::geteuid(); }

int count_entries(const std::string& dir) {
  int n = 0;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
    }
    ::closedir(d);
  }
  return n;
}

void test_unique_fd(void**) {
  int fds[2];
  assert_int_equal(::pipe(fds), 0);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    assert_false(a.valid());
    assert_int_equal(b.get(), fds[0]);
    UniqueFd c;
    c = std::move(b);
    assert_int_equal(c.get(), fds[0]);
    c.reset(fds[1]);
    // fds[0] is closed now
    assert_int_equal(::fcntl(fds[0], F_GETFD), -1);
  }
  assert_int_equal(::fcntl(fds[1], F_GETFD), -1);  // closed by the destructor
  UniqueFd d(::open("/dev/null", O_RDONLY));
  const int raw = d.release();
  assert_false(d.valid());
  assert_int_not_equal(::fcntl(raw, F_GETFD), -1);
  ::close(raw);
}

void test_open_dir_checked(void**) {
  TempDir t;
  const Ownership own{me(), 077};
  const std::string dir = t / "d";
  assert_int_equal(::mkdir(dir.c_str(), 0700), 0);
  expect_ok(open_dir_checked(dir, own), "good dir");

  expect_error(open_dir_checked(t / "missing", own), Errc::not_found, "does not exist", "missing");
  assert_int_equal(::symlink(dir.c_str(), (t / "link").c_str()), 0);
  expect_error(open_dir_checked(t / "link", own), Errc::permission, "symbolic link", "symlinked dir");
  state_test::write_file(t / "file", bytes_of("x"));
  expect_error(open_dir_checked(t / "file", own), Errc::permission, "not a directory", "file as dir");

  for (mode_t m : {0750, 0705, 0770, 0701, 0710}) {
    assert_int_equal(::chmod(dir.c_str(), m), 0);
    expect_error(open_dir_checked(dir, own), Errc::permission, "mode", "dir with group/other bits");
  }
  assert_int_equal(::chmod(dir.c_str(), 0700), 0);
  expect_error(open_dir_checked(dir, Ownership{me() + 1, 077}), Errc::permission, "owner", "dir owner");
}

void test_open_file_checked(void**) {
  TempDir t;
  const Ownership own{me(), 077};
  UniqueFd dir(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY));
  state_test::write_file(t / "f", bytes_of("hello"));
  auto fd = open_file_checked(dir.get(), "f", own, 100);
  expect_ok(fd, "good file");
  auto content = read_all(fd->get(), 100);
  expect_ok(content);
  assert_int_equal(content->size(), 5);
  assert_memory_equal(content->data(), "hello", 5);
  expect_ok(open_file_checked(dir.get(), "f", own, 100, true), "read-write");

  expect_error(open_file_checked(dir.get(), "nope", own, 100), Errc::not_found, "does not exist", "missing");
  assert_int_equal(::symlink("f", (t / "ln").c_str()), 0);
  expect_error(open_file_checked(dir.get(), "ln", own, 100), Errc::permission, "symbolic link", "symlink");
  expect_error(open_file_checked(dir.get(), "ln", own, 100, true), Errc::permission, "symbolic link", "symlink rw");
  assert_int_equal(::mkdir((t / "sub").c_str(), 0700), 0);
  expect_error(open_file_checked(dir.get(), "sub", own, 100), Errc::permission, "directory", "dir as file");
  expect_error(open_file_checked(dir.get(), "sub", own, 100, true), Errc::permission, "directory", "dir as file rw");
  assert_int_equal(::mkfifo((t / "fifo").c_str(), 0600), 0);
  expect_error(open_file_checked(dir.get(), "fifo", own, 100), Errc::permission, "regular", "fifo");
  expect_error(open_file_checked(dir.get(), "f", own, 4), Errc::too_large, "too large", "too big");
  expect_ok(open_file_checked(dir.get(), "f", own, 5), "exactly the cap");
  expect_error(open_file_checked(dir.get(), "a/b", own, 5), Errc::invalid_argument, "component", "slash");
  expect_error(open_file_checked(dir.get(), "", own, 5), Errc::invalid_argument, "component", "empty");

  for (mode_t m : {0640, 0604, 0660, 0606, 0620, 0602, 0610, 0601}) {
    assert_int_equal(::chmod((t / "f").c_str(), m), 0);
    expect_error(open_file_checked(dir.get(), "f", own, 100), Errc::permission, "mode", "group/other bits");
  }
  assert_int_equal(::chmod((t / "f").c_str(), 0600), 0);
  expect_error(open_file_checked(dir.get(), "f", Ownership{me() + 1, 077}, 100), Errc::permission, "owner", "owner");
}

void test_open_path_checked(void**) {
  TempDir t;
  const Ownership own{me(), 077};
  state_test::write_file(t / "k", bytes_of("0123"));
  expect_ok(open_path_checked(t / "k", own, 10), "good");
  expect_error(open_path_checked(t / "none", own, 10), Errc::not_found, "does not exist", "missing");
  expect_error(open_path_checked(t / "nodir/k", own, 10), Errc::not_found, "does not exist", "missing parent");
  assert_int_equal(::symlink((t / "k").c_str(), (t / "l").c_str()), 0);
  expect_error(open_path_checked(t / "l", own, 10), Errc::permission, "symbolic link", "symlink");
  expect_error(open_path_checked(t / "k", own, 3), Errc::too_large, "too large", "cap");
  expect_error(open_path_checked(t.path() + "/", own, 3), Errc::invalid_argument, "not a file path", "dir path");
  // A relative name resolves in the working directory.
  char cwd[4096];
  assert_non_null(::getcwd(cwd, sizeof cwd));
  assert_int_equal(::chdir(t.path().c_str()), 0);
  expect_ok(open_path_checked("k", own, 10), "relative");
  assert_int_equal(::chdir(cwd), 0);
}

void test_read_all_caps(void**) {
  TempDir t;
  std::vector<std::uint8_t> big(5000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 13);
  state_test::write_file(t / "big", big);
  state_test::write_file(t / "empty", {});
  UniqueFd fd(::open((t / "big").c_str(), O_RDONLY));
  auto all = read_all(fd.get(), 5000);
  expect_ok(all);
  assert_int_equal(all->size(), 5000);
  assert_memory_equal(all->data(), big.data(), big.size());
  expect_error(read_all(fd.get(), 4999), Errc::too_large, "too large", "cap");
  UniqueFd e(::open((t / "empty").c_str(), O_RDONLY));
  auto none = read_all(e.get(), 10);
  expect_ok(none);
  assert_int_equal(none->size(), 0);
  // Reads from offset 0 whatever the file position.
  assert_int_equal(::lseek(fd.get(), 100, SEEK_SET), 100);
  auto again = read_all(fd.get(), 5000);
  expect_ok(again);
  assert_int_equal(again->size(), 5000);
  expect_error(read_all(-1, 10), Errc::io_error, "fstat", "bad fd");
}

void test_write_and_pwrite(void**) {
  TempDir t;
  UniqueFd fd(::open((t / "w").c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
  const auto data = bytes_of("abcdefghij");
  expect_ok(write_all(fd.get(), data));
  const auto patch = bytes_of("XY");
  expect_ok(pwrite_all(fd.get(), patch, 3));
  auto got = state_test::read_file(t / "w");
  assert_int_equal(got.size(), 10);
  assert_memory_equal(got.data(), "abcXYfghij", 10);
  expect_error(write_all(-1, data), Errc::io_error, "write failed", "bad fd");
  expect_error(pwrite_all(-1, data, 0), Errc::io_error, "pwrite failed", "bad fd");
}

void test_atomic_replace(void**) {
  TempDir t;
  UniqueFd dir(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY));
  const mode_t old_umask = ::umask(0077);
  expect_ok(atomic_replace(dir.get(), "s", bytes_of("first"), 0600));
  ::umask(0777);  // the requested mode wins over any umask
  expect_ok(atomic_replace(dir.get(), "s", bytes_of("second!"), 0600));
  ::umask(old_umask);
  auto got = state_test::read_file(t / "s");
  assert_int_equal(got.size(), 7);
  assert_memory_equal(got.data(), "second!", 7);
  struct stat st {};
  assert_int_equal(::stat((t / "s").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(count_entries(t.path()), 1);  // no temp file left

  // A replace that fails (the target is a non-empty directory) leaves the
  // target alone and removes its temp file.
  assert_int_equal(::mkdir((t / "busy").c_str(), 0700), 0);
  state_test::write_file(t / "busy/inner", bytes_of("x"));
  expect_error(atomic_replace(dir.get(), "busy", bytes_of("new"), 0600), Errc::io_error, "rename", "over dir");
  assert_int_equal(count_entries(t.path()), 2);
  assert_int_equal(count_entries(t / "busy"), 1);

  expect_error(atomic_replace(dir.get(), ".hidden", bytes_of("x"), 0600), Errc::invalid_argument, "bad file name", "dot");
  expect_error(atomic_replace(dir.get(), "a/b", bytes_of("x"), 0600), Errc::invalid_argument, "bad file name", "slash");
  expect_error(atomic_replace(dir.get(), "", bytes_of("x"), 0600), Errc::invalid_argument, "bad file name", "empty");
}

// A child tries a non-blocking exclusive flock on its own open file
// description; returns true if it got it.
bool other_process_can_lock(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(path.c_str(), O_RDWR);
    const int rc = ::flock(fd, LOCK_EX | LOCK_NB);
    ::_exit(rc == 0 ? 0 : (errno == EWOULDBLOCK ? 1 : 2));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_not_equal(WEXITSTATUS(status), 2);
  return WEXITSTATUS(status) == 0;
}

void test_file_lock(void**) {
  TempDir t;
  const std::string path = t / "lock";
  state_test::write_file(path, {});
  assert_true(other_process_can_lock(path));
  {
    auto lock = FileLock::acquire(UniqueFd(::open(path.c_str(), O_RDWR)), FileLock::Kind::exclusive);
    expect_ok(lock);
    assert_false(other_process_can_lock(path));
    FileLock moved = std::move(*lock);
    assert_false(other_process_can_lock(path));
  }
  assert_true(other_process_can_lock(path));
  {
    auto shared = FileLock::acquire(UniqueFd(::open(path.c_str(), O_RDWR)), FileLock::Kind::shared);
    expect_ok(shared);
    assert_false(other_process_can_lock(path));  // exclusive waits for shared
  }
  expect_error(FileLock::acquire(UniqueFd(), FileLock::Kind::exclusive), Errc::invalid_argument, "invalid fd");
}

void test_errno_text(void**) {
  assert_true(errno_text(ENOENT).find("No such file") != std::string::npos);
  assert_false(errno_text(123456).empty());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unique_fd),         cmocka_unit_test(test_open_dir_checked),
      cmocka_unit_test(test_open_file_checked),
      cmocka_unit_test(test_open_path_checked), cmocka_unit_test(test_read_all_caps),
      cmocka_unit_test(test_write_and_pwrite),  cmocka_unit_test(test_atomic_replace),
      cmocka_unit_test(test_file_lock),         cmocka_unit_test(test_errno_text),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
