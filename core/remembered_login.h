// SPDX-License-Identifier: Apache-2.0
// The login side of trusted devices (core/trusted_device.h), kept out of
// the PAM glue so that it can be tested and judged alone:
// - before the prompt, whether this login comes from a trusted device
//   (then it is let in without a code, even while the account is locked:
//   a stranger's wrong codes must not lock the owner out of a device the
//   owner proved before);
// - after an accepted TOTP code, the store update that remembers it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/record.h"
#include "core/record_store.h"
#include "core/result.h"
#include "core/trusted_device.h"

namespace totp {

// The device of this login as sshd describes it: the user, the key sshd
// accepted (SSH_AUTH_INFO_0) and the remote address (PAM_RHOST). nullopt
// when either is missing or malformed: such a login is never remembered
// and never matched.
struct LoginDevice {
  std::string user;
  SshKey key;
  std::string address;
};
std::optional<LoginDevice> login_device(std::string_view user, const char* ssh_auth_info, std::string_view rhost);

// What a trusted-device login logs.
struct TrustedLogin {
  std::string id;    // device_id
  std::string key;   // key_fingerprint_text
  std::int64_t until = 0;
};

// Whether `record` lets `device` in at `now` without a code under the
// remember setting `remember` (seconds, > 0): an active, unrevoked
// enrolment that lists the device, valid now. Locks do not matter.
// nullopt: ask for a code. An error (crypto) also means: ask.
Result<std::optional<TrustedLogin>> trusted_device_login(const Record& record, const LoginDevice& device,
                                                         std::int64_t now, std::int64_t remember);

// The mutator that remembers `device` for `remember` seconds from `now`
// after an accepted TOTP code; writes nothing when the record is gone, not
// active or revoked meanwhile. `out` gets the entry written.
Result<RecordStore::Write> remember_login_device(std::optional<Record>& record, const LoginDevice& device,
                                                 std::int64_t now, std::int64_t remember, TrustedLogin& out);

// "accepted trusted device 1a2b3c4d (key SHA256:..., until 2026-12-01 10:00:00 UTC)"
std::string trusted_login_log_line(const TrustedLogin& t);

// A time as "2026-12-01 10:00:00 UTC" (ISO 8601 date and time, UTC).
std::string utc_time_text(std::int64_t t);

}  // namespace totp
