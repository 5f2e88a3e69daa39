// SPDX-License-Identifier: Apache-2.0
// The deadline libldap cannot keep by itself: a server that accepts a
// connection (or StartTLS) and then says nothing hangs a TLS handshake
// forever, whatever LDAP_OPT_TIMEOUT / LDAP_OPT_NETWORK_TIMEOUT say
// (libldap 2.5, ../shared/LDAP.md). A thread of our own waits for the
// deadline of the call in progress and shuts the connection's socket down
// when it passes; the call then fails at once.
//
// The socket is learnt from libldap's connection callbacks (set_fd when a
// connection is made, clear_fd before it is closed), under the same mutex
// the shutdown takes, so the watchdog never touches a descriptor number
// that was closed and given to someone else.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace totp {

class LdapWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  LdapWatchdog() = default;
  ~LdapWatchdog();
  LdapWatchdog(const LdapWatchdog&) = delete;
  LdapWatchdog& operator=(const LdapWatchdog&) = delete;

  // Starts the thread (once; with every signal blocked in it, so no
  // signal meant for the application is ever delivered to it). False if
  // no thread can be made.
  bool start();
  void arm(Clock::time_point deadline);
  // True if the deadline passed and the socket was shut down.
  bool disarm();
  void set_fd(int fd);
  void clear_fd();

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Clock::time_point> deadline_;
  int fd_ = -1;
  bool fired_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace totp
