// SPDX-License-Identifier: Apache-2.0
// The privileged half of totp-setup: everything that reads or writes a
// user's state. Root's totp-setup runs it in-process; for anyone else the
// setuid helper runs it on their behalf (for their own account only). The
// terminal half never sees the store, only what this class returns.
//
// Rules it enforces, whoever calls it:
// - Nothing becomes active until a code from the new secret is confirmed
//   (or, for --yes, it is activated in one step); no pending record is ever
//   written, so a half-done enrolment never looks like "not enrolled".
// - An active enrolment is replaced, its recovery codes renewed or it is
//   removed only after a proof: a current TOTP code (replay-proof: the
//   record's last used step moves forward) or an unused recovery code
//   (consumed). Root (Caller::root) needs no proof, but replacing still
//   needs `force`. Wrong proofs count towards lockout like failed logins.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit.h"
#include "core/config.h"
#include "core/login_decision.h"
#include "core/notify.h"
#include "core/otp.h"
#include "core/record.h"
#include "core/result.h"
#include "core/secure_bytes.h"
#include "core/record_store.h"
#include "core/store.h"

namespace totp::setup {

// Error codes this layer returns (Error::code), which the tool maps to exit
// statuses: permission = wrong/replayed code or not allowed; locked =
// locked out; not_found = not enrolled; invalid_argument = request not
// acceptable here (e.g. a code is needed, --yes cannot replace).
enum class Caller { root, self };

// One authenticator as status shows it (never its secret).
struct AuthenticatorInfo {
  std::string name;
  OtpParams otp;
  std::int64_t created = 0;
};

struct StatusReport {
  std::string user;
  bool revoked = false;   // revoked by root: logins refused until enrolled again
  std::vector<AuthenticatorInfo> authenticators;  // the first one first
  bool enrolled = false;  // an active enrolment exists
  bool pending = false;   // a pending record (never written by this tool) exists
  OtpParams otp;
  std::int64_t created = 0;
  std::int64_t last_login_time = 0;
  std::string last_login_rhost;
  std::size_t recovery_codes_left = 0;
  std::int64_t locked_until = 0;  // 0: not locked now; INT64_MAX: until root unlocks
  std::uint32_t failures = 0;     // failures in the current interval
};

// One trusted device as `devices` shows it (core/trusted_device.h).
struct DeviceInfo {
  std::string id;    // device_id: what `forget --id` takes
  std::string key;   // the SSH key's fingerprint, "SHA256:..."
  std::string from;  // the address
  std::int64_t since = 0;
  std::int64_t until = 0;  // when it ends under the remember setting now
};
struct DevicesReport {
  std::string user;
  std::int64_t remember = 0;  // the setting (0: off, the devices are not used)
  std::vector<DeviceInfo> devices;
};

// A new secret offered for scanning; not stored anywhere yet.
struct Offer {
  std::string user;
  std::string issuer;
  OtpParams otp;
  SecureBytes secret_base32;
  SecureBytes uri;
  bool replacing = false;
  std::string adding;  // enroll --add: the new authenticator's name ("" otherwise)
};

struct Issued {
  std::vector<SecureBytes> recovery_codes;  // plaintext, shown once
};

struct ConfirmOutcome {
  bool accepted = false;
  int tries_left = 0;
  Issued issued;  // when accepted
};

constexpr int kConfirmTries = 3;

class AccountService {
 public:
  using Clock = std::function<std::int64_t()>;
  AccountService(Settings settings, std::unique_ptr<RecordStore> store, std::string user, Caller caller, Clock clock = {});

  const std::string& user() const noexcept { return user_; }
  const Settings& settings() const noexcept { return settings_; }

  Result<StatusReport> status() const;

  // Starts an enrolment: checks that it may replace what exists (proof for
  // self, force for root), then makes a new 160-bit secret. `proof` is a
  // current code or a recovery code (self, when an enrolment is active).
  // `add` (enroll --add --name NAME): the new secret becomes another
  // authenticator of the active enrolment instead of replacing it (self:
  // after the same proof), with the account's digits and period.
  Result<Offer> begin_enrolment(const SecureBytes* proof, bool force, const std::string* add = nullptr);
  // Checks a code from the offered secret; on success writes the active
  // enrolment with fresh recovery codes. kConfirmTries wrong codes end the
  // offer (nothing written).
  Result<ConfirmOutcome> confirm(std::string_view code);
  bool has_offer() const noexcept { return draft_.has_value(); }
  // --yes: begin and activate in one step, no code asked.
  Result<std::pair<Offer, Issued>> enrol_now(const SecureBytes* proof, bool force, const std::string* add = nullptr);

  Result<Issued> regenerate_recovery_codes(const SecureBytes* proof);
  // `name`: remove only that authenticator (not the account's last one).
  Status remove(const SecureBytes* proof, const std::string* name = nullptr);
  Status unlock();  // root only
  // totp-setup revoke (root only): every login refused until the account is
  // enrolled again; the secrets are replaced by a random one nobody has and
  // the other authenticators dropped; the recovery codes stay, so the user
  // can enrol again through the helper with one of them. False: it was
  // revoked already. Errc::not_found when not enrolled.
  Result<bool> revoke();

  // Trusted devices (account_devices.cc). Listing and forgetting make
  // nothing weaker, so neither needs a proof; self acts on its own account
  // only (the helper's real uid). Errc::not_found when not enrolled.
  Result<DevicesReport> devices() const;
  // `id` nullptr: every device. How many were forgotten; Errc::not_found
  // when no device has that ID.
  Result<std::size_t> forget_devices(const std::string* id);

  // Who the audit lines name (core/audit.h). Root's tool: this process;
  // the helper sets its caller.
  void set_actor(Actor actor) { actor_ = std::move(actor); }

  // A login judged for a PAM application that does not run as root (a
  // screen locker), through the helper (account_login.cc): the same
  // decision the module makes as root, under the system config.
  struct LoginState {
    bool enrolled = false;  // an active enrolment
    bool locked = false;
    int digits = 0;
    bool revoked = false;   // revoked by root: refused, never "not enrolled"
  };
  Result<LoginState> login_state() const;
  // `answer` nullptr: the answer was not sent (too long or not printable)
  // and is judged as malformed. Counted before it is checked.
  Result<LoginVerdict> login(const SecureBytes* answer, std::string_view rhost);

 private:
  struct Draft {
    SecureBytes secret;
    OtpParams otp;
    bool replacing = false;
    // Identity of the enrolment that the proof allowed us to replace.
    std::int64_t replaced_created = 0;
    SecureBytes replaced_secret;
    int tries_left = kConfirmTries;
    std::optional<std::string> adding;  // enroll --add: the new authenticator's name
  };
  // Runs `action` on the record after the caller proved possession of the
  // second factor (or is root). `action` returns what to write.
  using Action = std::function<Result<RecordStore::Write>(Record& record)>;
  Status with_proof(const SecureBytes* proof, const Action& action);
  Result<Offer> make_offer(const SecureBytes* proof, bool force, const std::string* add);
  Result<Issued> activate(std::optional<std::uint64_t> used_step);
  Result<Issued> activate_added(std::optional<std::uint64_t> used_step);
  void audit_change(std::string_view action, const AuditFields& fields = {}) const;
  void notify_change(NotifyKind kind, std::optional<std::size_t> recovery_left = std::nullopt) const;
  std::int64_t now() const { return clock_ ? clock_() : static_cast<std::int64_t>(::time(nullptr)); }

  Settings settings_;
  std::unique_ptr<RecordStore> store_;
  std::string user_;
  Caller caller_;
  Clock clock_;
  std::optional<Draft> draft_;
  Actor actor_;
};

// `count` new codes (the recovery_codes setting) and their hashes under a
// new salt (the Argon2id work is done here, before any lock is taken).
struct RecoverySet {
  RecoverySalt salt{};
  std::vector<RecoveryHash> hashes;
  std::vector<SecureBytes> codes;
};
Result<RecoverySet> make_recovery_set(std::size_t count);

// TOTP candidate as typed: spaces dropped; nullopt unless then all digits.
std::optional<SecureBytes> normalize_totp_input(std::string_view typed);

}  // namespace totp::setup
