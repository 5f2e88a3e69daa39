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

namespace totp {

constexpr std::size_t kMinSecretSize = 10;   // 80 bits
constexpr std::size_t kMaxSecretSize = 64;
constexpr std::size_t kMaxRecoveryCodes = 32;
constexpr std::size_t kMaxRhostSize = 64;    // longer rhosts are cut

enum class EnrolmentState : std::uint8_t { pending = 1, active = 2 };

struct Enrolment {
  SecureBytes secret;
  OtpParams otp;
  std::int64_t created = 0;  // unix time
  EnrolmentState state = EnrolmentState::pending;
  RecoverySalt recovery_salt{};
  std::vector<RecoveryHash> recovery_hashes;  // unused codes only
};

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

// Format details (format version 1). The enrolment plaintext is
//   version u8 | state u8 | algorithm u8 | digits u8 | period u16 | created i64
//   | secret length u8 | secret | recovery salt (16) | hash count u8 | hashes (32 each)
// and the ledger plaintext is exactly kLedgerPlainSize bytes:
//   version u8 | flags u8 (bit 0: last_used_step present) | last_used_step u64
//   | fail_count u32 | first_fail_time i64 | locked_until i64 | last_login_time i64
//   | rhost length u8 | rhost (64, zero padded) | zero padding
// Times are never negative; serialisation clamps a negative time to 0, cuts
// the rhost to kMaxRhostSize and turns non-printable bytes into '?'.
constexpr std::uint8_t kEnrolmentFormatVersion = 1;
constexpr std::uint8_t kLedgerFormatVersion = 1;
constexpr std::size_t kMaxEnrolmentPlainSize =
    15 + kMaxSecretSize + kRecoverySaltSize + 1 + kMaxRecoveryCodes * kRecoveryHashSize;

// Checks every field of an enrolment against the caps the parser enforces
// (secret size, algorithm, digits, period, state, hash count). The store
// refuses to write an enrolment that would not parse back.
Status validate_enrolment(const Enrolment& e);

}  // namespace totp
