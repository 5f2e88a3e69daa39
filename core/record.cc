// SPDX-License-Identifier: Apache-2.0
// Binary serialisation of the per-user record (layout in record.h). The
// parsers treat their input as hostile even though it normally comes out of
// an authenticated decryption: a bug elsewhere or a stolen key must still
// not turn into an out-of-range value inside the module.
#include "core/record.h"

#include <algorithm>
#include <limits>

#include "core/byte_io.h"

namespace totp {

namespace {

constexpr std::uint8_t kLedgerHasLastStep = 0x01;
constexpr std::uint8_t kEnrolmentRevoked = 0x01;
constexpr std::uint8_t kEnrolmentHasDevices = 0x02;
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

Status validate_authenticator_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxAuthenticatorNameSize) {
    return make_error(Errc::invalid_argument, "an authenticator name is 1 to " +
                                                  std::to_string(kMaxAuthenticatorNameSize) + " characters");
  }
  if (name.front() == '-') return make_error(Errc::invalid_argument, "an authenticator name does not start with '-'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@' || c == '+';
    if (!ok) {
      return make_error(Errc::invalid_argument,
                        "an authenticator name is made of letters, digits and . _ - @ + (no spaces)");
    }
  }
  return ok_status();
}

std::string first_authenticator_name(const Enrolment& e) { return e.name.empty() ? kFirstAuthenticatorName : e.name; }

std::vector<AuthenticatorView> login_authenticators(const Enrolment& e) {
  std::vector<AuthenticatorView> out;
  if (e.revoked || e.state != EnrolmentState::active) return out;
  out.push_back(AuthenticatorView{first_authenticator_name(e), e.secret.span(), e.otp});
  for (const Authenticator& a : e.added) out.push_back(AuthenticatorView{a.name, a.secret.span(), a.otp});
  return out;
}

namespace {

Status validate_secret_and_params(const SecureBytes& secret, const OtpParams& otp) {
  if (secret.size() < kMinSecretSize || secret.size() > kMaxSecretSize) {
    return make_error(Errc::invalid_argument, "secret length " + std::to_string(secret.size()) + " outside " +
                                                  std::to_string(kMinSecretSize) + ".." + std::to_string(kMaxSecretSize));
  }
  if (!algorithm_known(static_cast<std::uint8_t>(otp.algorithm))) return make_error(Errc::invalid_argument, "unknown algorithm");
  if (otp.digits < kMinDigits || otp.digits > kMaxDigits) {
    return make_error(Errc::invalid_argument, "digits " + std::to_string(otp.digits) + " outside 6..8");
  }
  if (otp.period < kMinPeriod || otp.period > kMaxPeriod) {
    return make_error(Errc::invalid_argument, "period " + std::to_string(otp.period) + " outside 15..300");
  }
  return ok_status();
}

bool fits_version_1(const Enrolment& e) {
  return e.name.empty() && e.added.empty() && !e.revoked && e.devices.list.empty();
}

bool same_digest(const TrustedDevice& a, const TrustedDevice& b) {
  return constant_time_equal(std::span<const std::uint8_t>(a.digest), std::span<const std::uint8_t>(b.digest));
}

Status validate_devices(const Enrolment& e) {
  const TrustedDevices& d = e.devices;
  if (d.list.empty()) return ok_status();
  if (e.revoked || e.state != EnrolmentState::active) {
    return make_error(Errc::invalid_argument, "trusted devices belong to an active, unrevoked enrolment only");
  }
  if (d.key.size() != kDeviceKeySize) return make_error(Errc::invalid_argument, "trusted devices without their key");
  if (d.list.size() > kMaxTrustedDevices) {
    return make_error(Errc::invalid_argument, "more than " + std::to_string(kMaxTrustedDevices) + " trusted devices");
  }
  for (std::size_t i = 0; i < d.list.size(); ++i) {
    if (!trusted_device_well_formed(d.list[i])) return make_error(Errc::invalid_argument, "bad trusted device entry");
    for (std::size_t j = 0; j < i; ++j) {
      if (same_digest(d.list[i], d.list[j])) return make_error(Errc::invalid_argument, "a trusted device listed twice");
    }
  }
  return ok_status();
}

}  // namespace

Status validate_enrolment(const Enrolment& e) {
  TOTP_TRY_STATUS(validate_secret_and_params(e.secret, e.otp));
  if (!state_known(static_cast<std::uint8_t>(e.state))) return make_error(Errc::invalid_argument, "unknown enrolment state");
  if (e.recovery_hashes.size() > kMaxRecoveryCodes) {
    return make_error(Errc::invalid_argument, "too many recovery hashes (" + std::to_string(e.recovery_hashes.size()) + ")");
  }
  if (!e.name.empty()) TOTP_TRY_STATUS(validate_authenticator_name(e.name));
  if (e.added.size() > kMaxAuthenticators - 1) {
    return make_error(Errc::invalid_argument, "more than " + std::to_string(kMaxAuthenticators) + " authenticators");
  }
  if (e.revoked && !e.added.empty()) return make_error(Errc::invalid_argument, "a revoked enrolment has no other authenticators");
  const std::string first = first_authenticator_name(e);
  for (std::size_t i = 0; i < e.added.size(); ++i) {
    const Authenticator& a = e.added[i];
    TOTP_TRY_STATUS(validate_authenticator_name(a.name));
    TOTP_TRY_STATUS(validate_secret_and_params(a.secret, a.otp));
    // One period: the account's last used step means the same time on
    // each. One length: an answer is routed (code or recovery code) and
    // cut from a password (split_code) by its length alone.
    if (a.otp.period != e.otp.period || a.otp.digits != e.otp.digits) {
      return make_error(Errc::invalid_argument, "every authenticator of an account has the account's digits (" +
                                                    std::to_string(e.otp.digits) + ") and period (" +
                                                    std::to_string(e.otp.period) + " s)");
    }
    bool clash = a.name == first;
    for (std::size_t j = 0; j < i; ++j) clash = clash || e.added[j].name == a.name;
    if (clash) return make_error(Errc::invalid_argument, "two authenticators named '" + a.name + "'");
  }
  return validate_devices(e);
}

namespace {

std::size_t enrolment_size(const Enrolment& e, std::size_t secret_len, std::size_t hash_count) {
  std::size_t n = kEnrolmentFixedSize + secret_len + hash_count * kRecoveryHashSize;
  if (fits_version_1(e)) return n;
  n += 1 + 1 + std::min(e.name.size(), kMaxAuthenticatorNameSize) + 1;
  for (std::size_t i = 0; i < std::min(e.added.size(), kMaxAuthenticators - 1); ++i) {
    n += 1 + std::min(e.added[i].name.size(), kMaxAuthenticatorNameSize) + 12 + 1 +
         std::min(e.added[i].secret.size(), kMaxSecretSize);
  }
  const std::size_t devices = std::min(e.devices.list.size(), kMaxTrustedDevices);
  if (devices != 0) n += kDeviceKeySize + 1;
  for (std::size_t i = 0; i < devices; ++i) {
    n += kDeviceDigestSize + 16 + kKeyFingerprintSize + 1 + std::min(e.devices.list[i].address.size(), kMaxDeviceAddressSize);
  }
  return n;
}

void write_name(ByteWriter& w, const std::string& name) {
  const std::size_t len = std::min(name.size(), kMaxAuthenticatorNameSize);
  w.u8(static_cast<std::uint8_t>(len));
  w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(name.data()), len));
}

void write_params(ByteWriter& w, const OtpParams& otp) {
  w.u8(static_cast<std::uint8_t>(otp.algorithm));
  w.u8(static_cast<std::uint8_t>(otp.digits));
  w.u16(static_cast<std::uint16_t>(otp.period));
}

void write_secret(ByteWriter& w, const SecureBytes& secret) {
  const std::size_t len = std::min(secret.size(), kMaxSecretSize);
  w.u8(static_cast<std::uint8_t>(len));
  w.bytes(secret.span().first(len));
}

}  // namespace

SecureBytes serialize_enrolment(const Enrolment& e) {
  // Total by contract: out-of-range fields are cut to what fits the format,
  // and the store calls validate_enrolment first so this never happens there.
  const std::size_t secret_len = e.secret.size() > kMaxSecretSize ? kMaxSecretSize : e.secret.size();
  const std::size_t hash_count =
      e.recovery_hashes.size() > kMaxRecoveryCodes ? kMaxRecoveryCodes : e.recovery_hashes.size();
  const bool v1 = fits_version_1(e);
  SecureBytes out(enrolment_size(e, secret_len, hash_count));
  ByteWriter w(out.span());
  w.u8(v1 ? kEnrolmentFormatVersion : kEnrolmentFormatVersion2);
  const std::size_t devices = std::min(e.devices.list.size(), kMaxTrustedDevices);
  if (!v1) w.u8(static_cast<std::uint8_t>((e.revoked ? kEnrolmentRevoked : 0) | (devices != 0 ? kEnrolmentHasDevices : 0)));
  w.u8(static_cast<std::uint8_t>(e.state));
  write_params(w, e.otp);
  w.i64(non_negative(e.created));
  write_secret(w, e.secret);
  w.bytes(e.recovery_salt);
  w.u8(static_cast<std::uint8_t>(hash_count));
  for (std::size_t i = 0; i < hash_count; ++i) w.bytes(e.recovery_hashes[i]);
  if (v1) return out;
  write_name(w, e.name);
  const std::size_t added = std::min(e.added.size(), kMaxAuthenticators - 1);
  w.u8(static_cast<std::uint8_t>(added));
  for (std::size_t i = 0; i < added; ++i) {
    const Authenticator& a = e.added[i];
    write_name(w, a.name);
    write_params(w, a.otp);
    w.i64(non_negative(a.created));
    write_secret(w, a.secret);
  }
  if (devices == 0) return out;
  // A key of another size is cut or zero-padded (validate_enrolment refuses it first).
  std::uint8_t key[kDeviceKeySize] = {};
  std::copy_n(e.devices.key.data(), std::min(e.devices.key.size(), kDeviceKeySize), key);
  w.bytes(key);
  cleanse(key, sizeof key);
  w.u8(static_cast<std::uint8_t>(devices));
  for (std::size_t i = 0; i < devices; ++i) {
    const TrustedDevice& d = e.devices.list[i];
    w.bytes(d.digest);
    w.i64(non_negative(d.created));
    w.i64(non_negative(d.expires));
    w.bytes(d.key);
    const std::size_t len = std::min(d.address.size(), kMaxDeviceAddressSize);
    w.u8(static_cast<std::uint8_t>(len));
    w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(d.address.data()), len));
  }
  return out;
}

namespace {

// algorithm u8 | digits u8 | period u16, checked.
Result<OtpParams> read_params(SpanReader& r) {
  const std::uint8_t algorithm = r.u8();
  const std::uint8_t digits = r.u8();
  const std::uint16_t period = r.u16();
  if (!r.ok()) return enrolment_error("truncated parameters");
  if (!algorithm_known(algorithm)) return enrolment_error("unknown algorithm " + std::to_string(algorithm));
  if (digits < kMinDigits || digits > kMaxDigits) return enrolment_error("digits " + std::to_string(digits) + " out of range");
  if (period < kMinPeriod || period > kMaxPeriod) return enrolment_error("period " + std::to_string(period) + " out of range");
  OtpParams otp;
  otp.algorithm = static_cast<Algorithm>(algorithm);
  otp.digits = digits;
  otp.period = period;
  return otp;
}

Result<SecureBytes> read_secret(SpanReader& r) {
  const std::uint8_t len = r.u8();
  if (!r.ok()) return enrolment_error("truncated secret length");
  if (len < kMinSecretSize || len > kMaxSecretSize) return enrolment_error("secret length " + std::to_string(len) + " out of range");
  auto secret = r.bytes(len);
  if (!r.ok()) return enrolment_error("truncated secret");
  return SecureBytes(secret);
}

Result<std::string> read_name(SpanReader& r) {
  const std::uint8_t len = r.u8();
  auto bytes = r.bytes(len);
  if (!r.ok()) return enrolment_error("truncated authenticator name");
  std::string name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (len != 0 && !validate_authenticator_name(name)) return enrolment_error("bad authenticator name");
  return name;
}

// device key | count u8 (1..kMaxTrustedDevices) | the devices, checked.
Status read_devices(SpanReader& r, TrustedDevices& out) {
  auto key = r.bytes(kDeviceKeySize);
  const std::uint8_t count = r.u8();
  if (!r.ok()) return enrolment_error("truncated trusted devices");
  if (count == 0 || count > kMaxTrustedDevices) return enrolment_error("trusted device count " + std::to_string(count) + " out of range");
  out.key = SecureBytes(key);
  for (std::uint8_t i = 0; i < count; ++i) {
    TrustedDevice d;
    r.copy_to(d.digest);
    d.created = r.i64();
    d.expires = r.i64();
    r.copy_to(d.key);
    const std::uint8_t len = r.u8();
    auto address = r.bytes(len);
    if (!r.ok()) return enrolment_error("truncated trusted device");
    d.address.assign(reinterpret_cast<const char*>(address.data()), address.size());
    if (!trusted_device_well_formed(d)) return enrolment_error("bad trusted device entry");
    out.list.push_back(std::move(d));
  }
  return ok_status();
}

}  // namespace

Result<Enrolment> parse_enrolment(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxEnrolmentPlainSize) return make_error(Errc::too_large, "enrolment record: too large");
  SpanReader r(bytes);
  const std::uint8_t version = r.u8();
  if (!r.ok()) return enrolment_error("empty");
  if (version != kEnrolmentFormatVersion && version != kEnrolmentFormatVersion2) {
    return make_error(Errc::unsupported, "enrolment record: unknown format version " + std::to_string(version));
  }
  const bool v2 = version == kEnrolmentFormatVersion2;
  if (!v2 && bytes.size() > kMaxEnrolmentV1PlainSize) return make_error(Errc::too_large, "enrolment record: too large");
  Enrolment e;
  bool has_devices = false;
  if (v2) {
    const std::uint8_t flags = r.u8();
    if (!r.ok()) return enrolment_error("truncated flags");
    if ((flags & ~(kEnrolmentRevoked | kEnrolmentHasDevices)) != 0) return enrolment_error("unknown flags");
    e.revoked = (flags & kEnrolmentRevoked) != 0;
    has_devices = (flags & kEnrolmentHasDevices) != 0;
  }
  const std::uint8_t state = r.u8();
  if (!r.ok()) return enrolment_error("truncated header");
  if (!state_known(state)) return enrolment_error("unknown state " + std::to_string(state));
  e.state = static_cast<EnrolmentState>(state);
  TOTP_TRY_ASSIGN(e.otp, read_params(r));
  e.created = r.i64();
  if (!r.ok()) return enrolment_error("truncated header");
  if (e.created < 0) return enrolment_error("negative creation time");
  TOTP_TRY_ASSIGN(e.secret, read_secret(r));
  r.copy_to(e.recovery_salt);
  const std::uint8_t count = r.u8();
  if (!r.ok()) return enrolment_error("truncated recovery salt");
  if (count > kMaxRecoveryCodes) return enrolment_error("too many recovery hashes (" + std::to_string(count) + ")");
  if (r.remaining() < static_cast<std::size_t>(count) * kRecoveryHashSize) return enrolment_error("truncated recovery hashes");
  if (!v2 && r.remaining() != static_cast<std::size_t>(count) * kRecoveryHashSize) return enrolment_error("trailing data");
  e.recovery_hashes.resize(count);
  for (auto& h : e.recovery_hashes) r.copy_to(h);
  if (v2) {
    TOTP_TRY_ASSIGN(e.name, read_name(r));
    const std::uint8_t added = r.u8();
    if (!r.ok()) return enrolment_error("truncated authenticator count");
    if (added > kMaxAuthenticators - 1) return enrolment_error("too many authenticators (" + std::to_string(added) + ")");
    for (std::uint8_t i = 0; i < added; ++i) {
      Authenticator a;
      TOTP_TRY_ASSIGN(a.name, read_name(r));
      TOTP_TRY_ASSIGN(a.otp, read_params(r));
      a.created = r.i64();
      if (!r.ok() || a.created < 0) return enrolment_error("bad authenticator creation time");
      TOTP_TRY_ASSIGN(a.secret, read_secret(r));
      e.added.push_back(std::move(a));
    }
    if (has_devices) TOTP_TRY_STATUS(read_devices(r, e.devices));
    // The written form of anything version 1 can hold is version 1: one
    // encoding per enrolment (same_enrolment_bytes compares encodings).
    if (fits_version_1(e)) return enrolment_error("version 2 form of a version 1 enrolment");
    if (Status v = validate_enrolment(e); !v) return enrolment_error(v.error().message);
  }
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
  c.enrolment.name = r.enrolment.name;
  for (const Authenticator& a : r.enrolment.added) {
    c.enrolment.added.push_back(Authenticator{a.name, a.secret.clone(), a.otp, a.created});
  }
  c.enrolment.revoked = r.enrolment.revoked;
  c.enrolment.devices.key = r.enrolment.devices.key.clone();
  c.enrolment.devices.list = r.enrolment.devices.list;
  c.ledger = r.ledger;
  return c;
}

bool same_enrolment_bytes(const Enrolment& a, const Enrolment& b) {
  const SecureBytes x = serialize_enrolment(a);
  const SecureBytes y = serialize_enrolment(b);
  return constant_time_equal(x.span(), y.span());
}

}  // namespace totp
