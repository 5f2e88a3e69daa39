// SPDX-License-Identifier: Apache-2.0
// The non-root caller for the benchmark's helper-path row: a child process
// that has dropped to an unprivileged bench account and runs whole PAM
// transactions with pam_totp.so as that account, the way a screen locker
// does. pam_totp.so then starts its compiled-in setuid helper
// (LIBEXECDIR/pam_totp/totp-helper), which reads SYSCONFDIR/security/
// pam_totp.conf and judges. The parent (root) asks for one login at a time
// over a pipe; the child times the transaction itself (pam_start_confdir ..
// pam_end, as for every other row), so the pipe to the child is not in the
// sample, while the module's own fork/exec of the helper and its socket
// round trips are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bench/bench_util.h"

namespace bench {

struct CallerSetup {
  std::string confdir;  // readable by `uid`: service file and an empty "other"
  std::string service;  // "auth required /abs/pam_totp.so" (no config=: refused without root)
  std::string user;     // the account's name (in the passwd the helper sees)
  uid_t uid = 0;
  gid_t gid = 0;
  std::string helper;  // the helper the module starts, for the bare-start sample
  std::string preload_so;  // dlopen'ed once by the caller and kept (empty: PAM loads it each time)
};

// SYSCONFDIR/security/pam_totp.conf of the build under test, naming the
// fixture's state directory and key (root 0644), for the life of this
// object. A file there that pam_bench did not write is never replaced.
class HelperConfig {
 public:
  HelperConfig(const std::string& path, const std::string& state_dir, const std::string& key_file);
  ~HelperConfig();
  HelperConfig(const HelperConfig&) = delete;
  HelperConfig& operator=(const HelperConfig&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Removes the file of a live HelperConfig; async-signal-safe (for a signal
// handler that then re-raises).
void remove_helper_config_now() noexcept;

// Adds the account `name` with an unused uid (its gid the same number) to
// the passwd of this process's mount namespace, which must be private: a
// copy of /etc/passwd with one more line, written under `dir` and
// bind-mounted over /etc/passwd. The helper, started by the module in this
// namespace, finds its caller there. Returns the uid.
uid_t add_namespace_user(const std::string& dir, const std::string& name);

class HelperCaller {
 public:
  // Forks the child, which drops to uid/gid (no supplementary groups),
  // checks that it can reach the helper and executes pam_bench again in
  // caller mode (caller_main); throws with the child's reason if it cannot.
  explicit HelperCaller(const CallerSetup& setup);
  ~HelperCaller();  // ends and reaps the child
  HelperCaller(const HelperCaller&) = delete;
  HelperCaller& operator=(const HelperCaller&) = delete;

  // One PAM transaction as the non-root caller, answering every prompt
  // with `answer`; the child's timing of it.
  Outcome login(const std::string& answer);
  // The helper alone, started by the non-root caller as the module starts
  // it (socket pair on stdin/stdout, empty environment), its side closed at
  // once: fork + exec + the helper's setup (config, key, state directory)
  // + its exit, no request. Nanoseconds, or -1 if it could not be started.
  std::int64_t bare_start();
  // The same for /bin/true: what any fork + exec costs this caller.
  std::int64_t bare_true();
  // The caller's resident memory after loading the module, KiB.
  long resident_kib() const noexcept { return resident_kib_; }

 private:
  Outcome ask(char kind, const std::string& answer);
  void end_child() noexcept;
  pid_t pid_ = -1;
  long resident_kib_ = 0;
  int to_child_ = -1;
  int from_child_ = -1;
};

// pam_bench's main hands over to this when argv[1] is "--as-caller".
int caller_main(int argc, char** argv);

}  // namespace bench
