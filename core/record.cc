// Binary serialisation of the per-user record (layout in record.h). The
// parsers treat their input as hostile even though it normally comes out of
// an authenticated decryption: a bug elsewhere or a stolen key must still
// not turn into an out-of-range value inside the module.
#include "core/record.h"

#include <limits>

#include "core/byte_io.h"

namespace totp {

namespace {

constexpr std::uint8_t kLedgerHasLastStep = 0x01;
constexpr std::size_t kEnrolmentFixedSize = 15 + kRecoverySaltSize + 1;

bool algorithm_known(std::uint8_t a) {
  return a == static_cast<std::uint8_t>(Algorithm::sha1) || a == static_cast<std::uint8_t>(Algorithm::sha256) ||
         a == static_cast<std::uint8_t>(Algorithm::sha512);
}

bool state_known(std::uint8_t s) {
  return s == static_cast<std::uint8_t>(EnrolmentState::pending) || s == static_cast<std::uint8_t>(EnrolmentState::active);
}

std::int64_t non_negative(std::int64_t t) { return t < 0 ? 0 : t; }

bool printable(std::uint8_t c) { return c >= 0x20 && c <= 0x7e; }

Error enrolment_error(const std::string& why) { return make_error(Errc::parse_error, "enrolment record: " + why); }
Error ledger_error(const std::string& why) { return make_error(Errc::parse_error, "ledger record: " + why); }

}  // namespace

Status validate_enrolment(const Enrolment& e) {
  if (e.secret.size() < kMinSecretSize || e.secret.size() > kMaxSecretSize) {
    return make_error(Errc::invalid_argument, "secret length " + std::to_string(e.secret.size()) + " outside " +
                                                  std::to_string(kMinSecretSize) + ".." + std::to_string(kMaxSecretSize));
  }
  if (!algorithm_known(static_cast<std::uint8_t>(e.otp.algorithm))) return make_error(Errc::invalid_argument, "unknown algorithm");
  if (e.otp.digits < kMinDigits || e.otp.digits > kMaxDigits) {
    return make_error(Errc::invalid_argument, "digits " + std::to_string(e.otp.digits) + " outside 6..8");
  }
  if (e.otp.period < kMinPeriod || e.otp.period > kMaxPeriod) {
    return make_error(Errc::invalid_argument, "period " + std::to_string(e.otp.period) + " outside 15..300");
  }
  if (!state_known(static_cast<std::uint8_t>(e.state))) return make_error(Errc::invalid_argument, "unknown enrolment state");
  if (e.recovery_hashes.size() > kMaxRecoveryCodes) {
    return make_error(Errc::invalid_argument, "too many recovery hashes (" + std::to_string(e.recovery_hashes.size()) + ")");
  }
  return ok_status();
}

SecureBytes serialize_enrolment(const Enrolment& e) {
  // Total by contract: out-of-range fields are cut to what fits the format,
  // and the store calls validate_enrolment first so this never happens there.
  const std::size_t secret_len = e.secret.size() > kMaxSecretSize ? kMaxSecretSize : e.secret.size();
  const std::size_t hash_count =
      e.recovery_hashes.size() > kMaxRecoveryCodes ? kMaxRecoveryCodes : e.recovery_hashes.size();
  SecureBytes out(kEnrolmentFixedSize + secret_len + hash_count * kRecoveryHashSize);
  ByteWriter w(out.span());
  w.u8(kEnrolmentFormatVersion);
  w.u8(static_cast<std::uint8_t>(e.state));
  w.u8(static_cast<std::uint8_t>(e.otp.algorithm));
  w.u8(static_cast<std::uint8_t>(e.otp.digits));
  w.u16(static_cast<std::uint16_t>(e.otp.period));
  w.i64(non_negative(e.created));
  w.u8(static_cast<std::uint8_t>(secret_len));
  w.bytes(e.secret.span().first(secret_len));
  w.bytes(e.recovery_salt);
  w.u8(static_cast<std::uint8_t>(hash_count));
  for (std::size_t i = 0; i < hash_count; ++i) w.bytes(e.recovery_hashes[i]);
  return out;
}

Result<Enrolment> parse_enrolment(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxEnrolmentPlainSize) return make_error(Errc::too_large, "enrolment record: too large");
  SpanReader r(bytes);
  const std::uint8_t version = r.u8();
  if (!r.ok()) return enrolment_error("empty");
  if (version != kEnrolmentFormatVersion) {
    return make_error(Errc::unsupported, "enrolment record: unknown format version " + std::to_string(version));
  }
  Enrolment e;
  const std::uint8_t state = r.u8();
  const std::uint8_t algorithm = r.u8();
  const std::uint8_t digits = r.u8();
  const std::uint16_t period = r.u16();
  const std::int64_t created = r.i64();
  const std::uint8_t secret_len = r.u8();
  if (!r.ok()) return enrolment_error("truncated header");
  if (!state_known(state)) return enrolment_error("unknown state " + std::to_string(state));
  if (!algorithm_known(algorithm)) return enrolment_error("unknown algorithm " + std::to_string(algorithm));
  if (digits < kMinDigits || digits > kMaxDigits) return enrolment_error("digits " + std::to_string(digits) + " out of range");
  if (period < kMinPeriod || period > kMaxPeriod) return enrolment_error("period " + std::to_string(period) + " out of range");
  if (created < 0) return enrolment_error("negative creation time");
  if (secret_len < kMinSecretSize || secret_len > kMaxSecretSize) {
    return enrolment_error("secret length " + std::to_string(secret_len) + " out of range");
  }
  e.state = static_cast<EnrolmentState>(state);
  e.otp.algorithm = static_cast<Algorithm>(algorithm);
  e.otp.digits = digits;
  e.otp.period = period;
  e.created = created;
  auto secret = r.bytes(secret_len);
  if (!r.ok()) return enrolment_error("truncated secret");
  e.secret = SecureBytes(secret);
  r.copy_to(e.recovery_salt);
  const std::uint8_t count = r.u8();
  if (!r.ok()) return enrolment_error("truncated recovery salt");
  if (count > kMaxRecoveryCodes) return enrolment_error("too many recovery hashes (" + std::to_string(count) + ")");
  if (r.remaining() != static_cast<std::size_t>(count) * kRecoveryHashSize) {
    return enrolment_error(r.remaining() < static_cast<std::size_t>(count) * kRecoveryHashSize ? "truncated recovery hashes"
                                                                                            : "trailing data");
  }
  e.recovery_hashes.resize(count);
  for (auto& h : e.recovery_hashes) r.copy_to(h);
  if (!r.done()) return enrolment_error("trailing data");
  return e;
}

SecureBytes serialize_ledger(const Ledger& l) {
  SecureBytes out(kLedgerPlainSize);
  ByteWriter w(out.span());
  w.u8(kLedgerFormatVersion);
  w.u8(l.last_used_step ? kLedgerHasLastStep : 0);
  w.u64(l.last_used_step.value_or(0));
  w.u32(l.fail_count);
  w.i64(non_negative(l.first_fail_time));
  w.i64(non_negative(l.locked_until));
  w.i64(non_negative(l.last_login_time));
  const std::size_t rhost_len = l.last_login_rhost.size() > kMaxRhostSize ? kMaxRhostSize : l.last_login_rhost.size();
  w.u8(static_cast<std::uint8_t>(rhost_len));
  std::uint8_t rhost[kMaxRhostSize] = {};
  for (std::size_t i = 0; i < rhost_len; ++i) {
    const auto c = static_cast<std::uint8_t>(l.last_login_rhost[i]);
    rhost[i] = printable(c) ? c : '?';
  }
  w.bytes(rhost);
  w.zeros(kLedgerPlainSize - w.position());
  return out;
}

Result<Ledger> parse_ledger(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kLedgerPlainSize) {
    return ledger_error("size " + std::to_string(bytes.size()) + ", expected " + std::to_string(kLedgerPlainSize));
  }
  SpanReader r(bytes);
  const std::uint8_t version = r.u8();
  if (version != kLedgerFormatVersion) {
    return make_error(Errc::unsupported, "ledger record: unknown format version " + std::to_string(version));
  }
  const std::uint8_t flags = r.u8();
  const std::uint64_t step = r.u64();
  Ledger l;
  l.fail_count = r.u32();
  l.first_fail_time = r.i64();
  l.locked_until = r.i64();
  l.last_login_time = r.i64();
  const std::uint8_t rhost_len = r.u8();
  auto rhost = r.bytes(kMaxRhostSize);
  auto padding = r.bytes(r.remaining());
  if (!r.done()) return ledger_error("truncated");
  if ((flags & ~kLedgerHasLastStep) != 0) return ledger_error("unknown flags");
  if ((flags & kLedgerHasLastStep) != 0) {
    l.last_used_step = step;
  } else if (step != 0) {
    return ledger_error("step set without its flag");
  }
  if (l.first_fail_time < 0 || l.locked_until < 0 || l.last_login_time < 0) return ledger_error("negative time");
  if (rhost_len > kMaxRhostSize) return ledger_error("rhost length " + std::to_string(rhost_len) + " too long");
  for (std::size_t i = 0; i < kMaxRhostSize; ++i) {
    if (i < rhost_len ? !printable(rhost[i]) : rhost[i] != 0) return ledger_error("bad byte in rhost");
  }
  for (auto b : padding) {
    if (b != 0) return ledger_error("non-zero padding");
  }
  l.last_login_rhost.assign(reinterpret_cast<const char*>(rhost.data()), rhost_len);
  return l;
}

Record clone_record(const Record& r) {
  Record c;
  c.enrolment.secret = r.enrolment.secret.clone();
  c.enrolment.otp = r.enrolment.otp;
  c.enrolment.created = r.enrolment.created;
  c.enrolment.state = r.enrolment.state;
  c.enrolment.recovery_salt = r.enrolment.recovery_salt;
  c.enrolment.recovery_hashes = r.enrolment.recovery_hashes;
  c.ledger = r.ledger;
  return c;
}

bool same_enrolment_bytes(const Enrolment& a, const Enrolment& b) {
  const SecureBytes x = serialize_enrolment(a);
  const SecureBytes y = serialize_enrolment(b);
  return constant_time_equal(x.span(), y.span());
}

}  // namespace totp
