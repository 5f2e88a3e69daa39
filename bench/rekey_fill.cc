// SPDX-License-Identifier: Apache-2.0
// Fills a state directory fast for scripts/bench-rekey.sh: N records
// (users u0000000..), each with its own random secret and 10 recovery
// hashes (made once), written with encode_state_file -- the format FileStore
// reads -- under the key in KEYFILE, in PROCS processes, without an fsync per
// file (one syncfs at the end). Same approach as cold_bench's --big filler.
//   rekey_fill KEYFILE STATEDIR N [PROCS]
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/key.h"
#include "core/recovery.h"
#include "core/store.h"

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "rekey_fill: %s\n", why.c_str());
  std::exit(1);
}

std::string user_name(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "u%07ld", i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) die("usage: rekey_fill KEYFILE STATEDIR N [PROCS]");
  const std::string key_file = argv[1], state_dir = argv[2];
  const long n = std::atol(argv[3]);
  const int procs = argc > 4 ? std::atoi(argv[4]) : 2;
  if (n <= 0 || procs <= 0) die("N and PROCS must be positive");
  auto key = totp::load_master_key(key_file, ::geteuid());
  if (!key) die("key: " + key.error().message);

  totp::Record rec;
  rec.enrolment.otp = totp::OtpParams{};
  rec.enrolment.created = static_cast<std::int64_t>(std::time(nullptr));
  rec.enrolment.state = totp::EnrolmentState::active;
  auto salt = totp::make_recovery_salt();
  if (!salt) die("salt");
  rec.enrolment.recovery_salt = *salt;
  for (std::size_t i = 0; i < totp::kRecoveryCodeCount; ++i) {
    totp::SecureBytes code = totp::make_recovery_code();
    auto norm = totp::normalize_recovery_code(code.view());
    if (!norm) die("normalize");
    auto h = totp::hash_recovery_code(norm->view(), rec.enrolment.recovery_salt);
    if (!h) die("hash");
    rec.enrolment.recovery_hashes.push_back(*h);
  }

  std::vector<pid_t> pids;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      const int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) _exit(2);
      rec.enrolment.secret = totp::SecureBytes(20);
      for (long i = p; i < n; i += procs) {
        if (!totp::random_bytes(rec.enrolment.secret.span()).ok()) _exit(3);
        const std::string u = user_name(i);
        auto bytes = totp::encode_state_file(*key, u, rec, 1);
        if (!bytes) _exit(3);
        int fd = ::openat(dfd, u.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, bytes->data(), bytes->size()) != static_cast<ssize_t>(bytes->size())) _exit(4);
        ::close(fd);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("a writer failed (status " + std::to_string(st) + ")");
  }
  const int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::syncfs(dfd);
    ::close(dfd);
  }
  std::printf("%ld records written\n", n);
  return 0;
}
