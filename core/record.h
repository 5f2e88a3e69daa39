// SPDX-License-Identifier: Apache-2.0
// The per-user record: what we know about one user's enrolment. The store
// keeps it in two parts on disk (see store.h): the "enrolment" (secret,
// parameters, recovery hashes: changes rarely) and the "ledger" (replay and
// lockout state: changes at every login). Both are sealed by the vault.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/otp.h"
#include "core/recovery.h"
#include "core/result.h"
#include "core/secure_bytes.h"
#include "core/trusted_device.h"

namespace totp {

constexpr std::size_t kMinSecretSize = 10;   // 80 bits
constexpr std::size_t kMaxSecretSize = 64;
constexpr std::size_t kMaxRecoveryCodes = 32;
constexpr std::size_t kMaxRhostSize = 64;    // longer rhosts are cut
static_assert(kMaxRhostSize == kMaxDeviceAddressSize);

constexpr std::size_t kMaxAuthenticators = 8;          // per account, the first included
constexpr std::size_t kMaxAuthenticatorNameSize = 32;
constexpr const char* kFirstAuthenticatorName = "default";  // the first one's name until it is given one

enum class EnrolmentState : std::uint8_t { pending = 1, active = 2 };

// Another authenticator of the same account (a spare phone, another admin
// of a shared account): written only once confirmed, so always active. All
// of an account's authenticators share its digits and period, so that one
// last used step (the account's ledger) refuses every code already used or
// older on any of them; the algorithm may differ.
struct Authenticator {
  std::string name;  // validate_authenticator_name
  SecureBytes secret;
  OtpParams otp;
  std::int64_t created = 0;
};

// An account's enrolment: its first authenticator (secret, otp, created,
// state, name), the recovery codes and the lockout that belong to the
// account, and any further authenticators.
struct Enrolment {
  SecureBytes secret;
  OtpParams otp;
  std::int64_t created = 0;  // unix time
  EnrolmentState state = EnrolmentState::pending;
  RecoverySalt recovery_salt{};
  std::vector<RecoveryHash> recovery_hashes;  // unused codes only
  std::string name;                           // the first authenticator's; "" reads as kFirstAuthenticatorName
  std::vector<Authenticator> added;           // at most kMaxAuthenticators - 1
  // Revoked by root after a breach (totp-setup revoke): every login is
  // refused until the account is enrolled again; the secret is a random one
  // nobody has, `added` is empty, the recovery codes stay (they let the
  // user enrol again through the helper).
  bool revoked = false;
  // Trusted devices (core/trusted_device.h): none while revoked; ended by a
  // recovery code, revoke, remove, a new enrolment and `forget`.
  TrustedDevices devices;
};

// The authenticators a login checks: the first (when active) and the added
// ones, none when revoked. Views into `e`: valid while it lives unchanged.
struct AuthenticatorView {
  std::string name;
  std::span<const std::uint8_t> secret;
  OtpParams otp;
};
std::vector<AuthenticatorView> login_authenticators(const Enrolment& e);

// 1..kMaxAuthenticatorNameSize bytes of [A-Za-z0-9._@+-], not starting with
// '-' (it becomes a command-line value and a log field).
Status validate_authenticator_name(std::string_view name);
// The first authenticator's name as shown (kFirstAuthenticatorName if unnamed).
std::string first_authenticator_name(const Enrolment& e);

struct Ledger {
  std::optional<std::uint64_t> last_used_step;
  std::uint32_t fail_count = 0;
  std::int64_t first_fail_time = 0;  // start of the current fail_interval
  std::int64_t locked_until = 0;     // 0: not locked; INT64_MAX: until root unlocks
  std::int64_t last_login_time = 0;  // 0: never
  std::string last_login_rhost;      // <= kMaxRhostSize printable bytes
};

struct Record {
  Enrolment enrolment;
  Ledger ledger;
};

// Versioned binary serialisations with explicit lengths and caps on every
// field; parsing rejects anything out of range and any trailing byte.
SecureBytes serialize_enrolment(const Enrolment& e);
Result<Enrolment> parse_enrolment(std::span<const std::uint8_t> bytes);
SecureBytes serialize_ledger(const Ledger& l);  // fixed size: kLedgerPlainSize
Result<Ledger> parse_ledger(std::span<const std::uint8_t> bytes);
constexpr std::size_t kLedgerPlainSize = 128;

Record clone_record(const Record& r);

// The same enrolment, byte for byte (serialised forms compared in constant
// time): a store may write only the ledger when the enrolment it holds is
// the one the caller kept.
bool same_enrolment_bytes(const Enrolment& a, const Enrolment& b);

// Format details. An enrolment with one unnamed authenticator that is not
// revoked is written in format version 1 (what every record held before
// several authenticators existed, so such records stay byte for byte as
// they were); anything else in version 2. Version 1 plaintext:
//   version u8 | state u8 | algorithm u8 | digits u8 | period u16 | created i64
//   | secret length u8 | secret | recovery salt (16) | hash count u8 | hashes (32 each)
// Version 2: version u8 (2) | flags u8 (bit 0: revoked, bit 1: has trusted
// devices) | the version 1 body after its version byte | name length u8
// | name | added count u8 | each added: name length u8 | name | algorithm u8
// | digits u8 | period u16 | created i64 | secret length u8 | secret; then,
// with bit 1 only: device key (32) | device count u8 (1..kMaxTrustedDevices)
// | each device: digest (32) | created i64 | expires i64 | key fingerprint
// (32) | address length u8 | address. An enrolment without trusted devices
// is written exactly as before they existed (version 1 when it fits).
// and the ledger plaintext is exactly kLedgerPlainSize bytes:
//   version u8 | flags u8 (bit 0: last_used_step present) | last_used_step u64
//   | fail_count u32 | first_fail_time i64 | locked_until i64 | last_login_time i64
//   | rhost length u8 | rhost (64, zero padded) | zero padding
// Times are never negative; serialisation clamps a negative time to 0, cuts
// the rhost to kMaxRhostSize and turns non-printable bytes into '?'.
constexpr std::uint8_t kEnrolmentFormatVersion = 1;
constexpr std::uint8_t kEnrolmentFormatVersion2 = 2;
constexpr std::uint8_t kLedgerFormatVersion = 1;
constexpr std::size_t kMaxEnrolmentV1PlainSize =
    15 + kMaxSecretSize + kRecoverySaltSize + 1 + kMaxRecoveryCodes * kRecoveryHashSize;
constexpr std::size_t kMaxAddedAuthenticatorSize = 1 + kMaxAuthenticatorNameSize + 12 + 1 + kMaxSecretSize;
constexpr std::size_t kMaxTrustedDeviceSize = kDeviceDigestSize + 16 + kKeyFingerprintSize + 1 + kMaxDeviceAddressSize;
constexpr std::size_t kMaxEnrolmentPlainSize = kMaxEnrolmentV1PlainSize + 1 + 1 + kMaxAuthenticatorNameSize + 1 +
                                               (kMaxAuthenticators - 1) * kMaxAddedAuthenticatorSize +
                                               kDeviceKeySize + 1 + kMaxTrustedDevices * kMaxTrustedDeviceSize;

// Checks every field of an enrolment against the caps the parser enforces
// (secret size, algorithm, digits, period, state, hash count, names unique
// and valid, added authenticators' secrets and parameters, one period;
// trusted devices: a 32-byte key with any, at most kMaxTrustedDevices, each
// well formed, digests unique, none on a revoked or pending one). The store
// refuses to write an enrolment that would not parse back.
Status validate_enrolment(const Enrolment& e);

}  // namespace totp
