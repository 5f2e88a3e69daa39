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

}  // namespace totp
