// SPDX-License-Identifier: Apache-2.0
// Blocks the signals a user can send from the terminal (and SIGTERM/SIGHUP)
// for the lifetime of the object, so a state write that has started also
// finishes: Ctrl-C never leaves half of an update behind.
#pragma once

#include <signal.h>

namespace totp::setup {

class SignalBlock {
 public:
  SignalBlock() noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) sigaddset(&set, sig);
    active_ = sigprocmask(SIG_BLOCK, &set, &old_) == 0;
  }
  ~SignalBlock() {
    if (active_) sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
  bool active_ = false;
};

}  // namespace totp::setup
