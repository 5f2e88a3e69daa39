// SPDX-License-Identifier: Apache-2.0
// See ldap_watchdog.h.
#include "core/ldap_watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <system_error>

namespace totp {

LdapWatchdog::~LdapWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LdapWatchdog::start() {
  if (thread_.joinable()) return true;
  // A new thread inherits the creating thread's signal mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  bool started = true;
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    started = false;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return started;
}

void LdapWatchdog::arm(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    deadline_ = deadline;
    fired_ = false;
  }
  wake_.notify_all();
}

bool LdapWatchdog::disarm() {
  std::lock_guard<std::mutex> lock(mutex_);
  deadline_.reset();
  return fired_;
}

void LdapWatchdog::set_fd(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  fd_ = fd;
}

void LdapWatchdog::clear_fd() {
  std::lock_guard<std::mutex> lock(mutex_);
  fd_ = -1;
}

void LdapWatchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (!deadline_) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point until = *deadline_;
    if (Clock::now() < until) {
      wake_.wait_until(lock, until);
      continue;  // re-check: disarmed, re-armed or stopped meanwhile
    }
    // The call in progress ran out of time: wake it up by ending the
    // connection under it (the descriptor stays open until libldap closes it).
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    fired_ = true;
    deadline_.reset();
  }
}

}  // namespace totp
