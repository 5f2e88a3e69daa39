// SPDX-License-Identifier: Apache-2.0
// The boot rule: what keeps "a code is never accepted twice" true across a
// power loss when a login does not wait for the disk (issue 18).
//
// A TOTP login writes the used time step into the page cache and answers.
// A power loss can throw that write away, and the ledger on disk then
// predates the login: the step could be accepted again. But a code of step
// t can be typed only from (t - window) x period on. So after a reboot,
// accepting only steps t with (t - window) x period >= boot time accepts
// no code that could have been typed, let alone used, before the machine
// went down. The lost writes are covered with no flush at all; the price
// is that in the first minute or so after a boot the code an app shows is
// not accepted yet (the user is told to wait for the next one), and
// recovery codes, which are written durably, keep working.
//
// Applied only when the store's ledger writes are not durable
// (RecordStore::ledger_writes_durable).
#pragma once

#include <cstdint>
#include <optional>

#include "core/otp.h"

namespace totp {

// When this system started, in unix seconds: the wall clock now minus the
// time since boot (CLOCK_BOOTTIME, which counts suspend too). 0 if unknown.
std::int64_t system_boot_time();

// The first time step whose codes could not have been typed before
// `boot_time`: (t - window) x period >= boot_time.
std::uint64_t first_step_after_boot(std::int64_t boot_time, const OtpParams& otp, int window);

// For totp_verify: the steps up to the returned one count as used (the
// ledger's last used step, or the last step before first_step_after_boot
// when that is later). boot_time 0: the ledger's alone.
std::optional<std::uint64_t> used_steps_floor(std::optional<std::uint64_t> last_used_step, std::int64_t boot_time,
                                              const OtpParams& otp, int window);

}  // namespace totp
