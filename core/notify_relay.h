// SPDX-License-Identifier: Apache-2.0
// Between notify.cc and notify_relay.cc: whether this process (the setuid
// helper) hands its events to a relay, and the handing over.
#pragma once

#include "core/notify.h"

namespace totp {

// True after start_notify_relay() started a relay in this process.
bool notify_relay_active() noexcept;
// Sends the event to the relay (a line on its socket); a lost relay is a
// log line.
void send_to_relay(const NotifyEvent& event);

}  // namespace totp
