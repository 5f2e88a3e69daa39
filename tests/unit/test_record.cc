// SPDX-License-Identifier: Apache-2.0
// Record serialisation: round trips for every field and parameter
// combination, canonical encoding, and refusal of every truncation, every
// trailing byte and every out-of-range field.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/record.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;

namespace {

Enrolment make_enrolment(Algorithm a, int digits, int period, std::size_t secret_len, std::size_t hashes,
                         EnrolmentState state) {
  Enrolment e;
  e.secret = SecureBytes(secret_len);
  for (std::size_t i = 0; i < secret_len; ++i) e.secret[i] = static_cast<std::uint8_t>(i * 37 + secret_len);
  e.otp = OtpParams{a, digits, period};
  e.created = 1700000000 + static_cast<std::int64_t>(hashes);
  e.state = state;
  for (std::size_t i = 0; i < e.recovery_salt.size(); ++i) e.recovery_salt[i] = static_cast<std::uint8_t>(0xc0 ^ i);
  for (std::size_t h = 0; h < hashes; ++h) {
    RecoveryHash x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(h ^ (i * 3));
    e.recovery_hashes.push_back(x);
  }
  return e;
}

void expect_same_enrolment(const Enrolment& a, const Enrolment& b) {
  assert_true(constant_time_equal(a.secret.span(), b.secret.span()));
  assert_int_equal(static_cast<int>(a.otp.algorithm), static_cast<int>(b.otp.algorithm));
  assert_int_equal(a.otp.digits, b.otp.digits);
  assert_int_equal(a.otp.period, b.otp.period);
  assert_true(a.created == b.created);
  assert_int_equal(static_cast<int>(a.state), static_cast<int>(b.state));
  assert_true(a.recovery_salt == b.recovery_salt);
  assert_true(a.recovery_hashes == b.recovery_hashes);
}

void test_enrolment_round_trips(void**) {
  int combos = 0;
  for (Algorithm a : {Algorithm::sha1, Algorithm::sha256, Algorithm::sha512}) {
    for (int digits = kMinDigits; digits <= kMaxDigits; ++digits) {
      for (int period : {15, 30, 60, 120, 300}) {
        for (std::size_t hashes : {std::size_t{0}, std::size_t{1}, std::size_t{10}, kMaxRecoveryCodes}) {
          for (std::size_t secret : {kMinSecretSize, std::size_t{20}, std::size_t{32}, kMaxSecretSize}) {
            for (EnrolmentState st : {EnrolmentState::pending, EnrolmentState::active}) {
              const Enrolment e = make_enrolment(a, digits, period, secret, hashes, st);
              expect_ok(validate_enrolment(e));
              const SecureBytes bytes = serialize_enrolment(e);
              assert_true(bytes.size() <= kMaxEnrolmentPlainSize);
              auto back = parse_enrolment(bytes.span());
              expect_ok(back, "round trip");
              expect_same_enrolment(e, *back);
              // Canonical: serialising the parsed value gives the same bytes.
              const SecureBytes again = serialize_enrolment(*back);
              assert_true(constant_time_equal(bytes.span(), again.span()));
              ++combos;
            }
          }
        }
      }
    }
  }
  assert_int_equal(combos, 3 * 3 * 5 * 4 * 4 * 2);
}

void test_enrolment_max_size_and_times(void**) {
  Enrolment e = make_enrolment(Algorithm::sha512, 8, 300, kMaxSecretSize, kMaxRecoveryCodes, EnrolmentState::active);
  e.created = std::numeric_limits<std::int64_t>::max();
  const SecureBytes bytes = serialize_enrolment(e);
  assert_int_equal(bytes.size(), kMaxEnrolmentV1PlainSize);
  auto back = parse_enrolment(bytes.span());
  expect_ok(back);
  assert_true(back->created == std::numeric_limits<std::int64_t>::max());
  // A negative time is clamped on write, never stored.
  e.created = -5;
  auto clamped = parse_enrolment(serialize_enrolment(e).span());
  expect_ok(clamped);
  assert_true(clamped->created == 0);
}

void test_enrolment_every_truncation_and_trailing(void**) {
  const Enrolment e = make_enrolment(Algorithm::sha1, 6, 30, 20, 5, EnrolmentState::active);
  const SecureBytes bytes = serialize_enrolment(e);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    auto r = parse_enrolment(bytes.span().first(len));
    if (r.ok()) fail_msg("truncation to %zu of %zu bytes parsed", len, bytes.size());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::parse_error));
  }
  SecureBytes longer = bytes.clone();
  longer.push_back(0);
  expect_error(parse_enrolment(longer.span()), Errc::parse_error, "trailing", "one trailing byte");
  SecureBytes huge(kMaxEnrolmentPlainSize + 1);
  expect_error(parse_enrolment(huge.span()), Errc::too_large, "too large", "oversized");
}

// Offsets in the enrolment encoding (see record.h).
constexpr std::size_t kOffVersion = 0, kOffState = 1, kOffAlg = 2, kOffDigits = 3, kOffPeriod = 4, kOffCreated = 6,
                      kOffSecretLen = 14, kOffSecret = 15;

void test_enrolment_bad_fields(void**) {
  const Enrolment e = make_enrolment(Algorithm::sha1, 6, 30, 20, 2, EnrolmentState::pending);
  const SecureBytes good = serialize_enrolment(e);
  auto with = [&](std::size_t off, std::vector<std::uint8_t> v) {
    SecureBytes b = good.clone();
    for (std::size_t i = 0; i < v.size(); ++i) b[off + i] = v[i];
    return b;
  };
  expect_error(parse_enrolment(with(kOffVersion, {3}).span()), Errc::unsupported, "version", "version 3");
  expect_error(parse_enrolment(with(kOffVersion, {0}).span()), Errc::unsupported, "version", "version 0");
  expect_error(parse_enrolment(with(kOffState, {0}).span()), Errc::parse_error, "state", "state 0");
  expect_error(parse_enrolment(with(kOffState, {3}).span()), Errc::parse_error, "state", "state 3");
  expect_error(parse_enrolment(with(kOffAlg, {0}).span()), Errc::parse_error, "algorithm", "alg 0");
  expect_error(parse_enrolment(with(kOffAlg, {4}).span()), Errc::parse_error, "algorithm", "alg 4");
  expect_error(parse_enrolment(with(kOffDigits, {5}).span()), Errc::parse_error, "digits", "digits 5");
  expect_error(parse_enrolment(with(kOffDigits, {9}).span()), Errc::parse_error, "digits", "digits 9");
  expect_error(parse_enrolment(with(kOffPeriod, {14, 0}).span()), Errc::parse_error, "period", "period 14");
  expect_error(parse_enrolment(with(kOffPeriod, {45, 1}).span()), Errc::parse_error, "period", "period 301");
  expect_error(parse_enrolment(with(kOffPeriod, {0, 0}).span()), Errc::parse_error, "period", "period 0");
  expect_error(parse_enrolment(with(kOffCreated + 7, {0x80}).span()), Errc::parse_error, "negative", "created < 0");
  expect_error(parse_enrolment(with(kOffSecretLen, {9}).span()), Errc::parse_error, "secret length", "secret 9");
  expect_error(parse_enrolment(with(kOffSecretLen, {65}).span()), Errc::parse_error, "secret length", "secret 65");
  // The secret length field disagreeing with the rest: shifts every later field.
  auto r = parse_enrolment(with(kOffSecretLen, {21}).span());
  assert_false(r.ok());
  const std::size_t off_count = kOffSecret + 20 + kRecoverySaltSize;
  expect_error(parse_enrolment(with(off_count, {33}).span()), Errc::parse_error, "too many", "33 hashes");
  expect_error(parse_enrolment(with(off_count, {3}).span()), Errc::parse_error, "truncated", "count > present");
  expect_error(parse_enrolment(with(off_count, {1}).span()), Errc::parse_error, "trailing", "count < present");
  expect_error(parse_enrolment(std::span<const std::uint8_t>()), Errc::parse_error, "empty", "empty");
}

void test_validate_enrolment(void**) {
  Enrolment e = make_enrolment(Algorithm::sha1, 6, 30, 20, 0, EnrolmentState::active);
  expect_ok(validate_enrolment(e));
  e.secret = SecureBytes(9);
  expect_error(validate_enrolment(e), Errc::invalid_argument, "secret", "short secret");
  e.secret = SecureBytes(65);
  expect_error(validate_enrolment(e), Errc::invalid_argument, "secret", "long secret");
  e.secret = SecureBytes(20);
  e.otp.digits = 9;
  expect_error(validate_enrolment(e), Errc::invalid_argument, "digits", "digits");
  e.otp.digits = 6;
  e.otp.period = 10;
  expect_error(validate_enrolment(e), Errc::invalid_argument, "period", "period");
  e.otp.period = 30;
  e.otp.algorithm = static_cast<Algorithm>(9);
  expect_error(validate_enrolment(e), Errc::invalid_argument, "algorithm", "algorithm");
  e.otp.algorithm = Algorithm::sha1;
  e.state = static_cast<EnrolmentState>(0);
  expect_error(validate_enrolment(e), Errc::invalid_argument, "state", "state");
  e.state = EnrolmentState::active;
  e.recovery_hashes.resize(kMaxRecoveryCodes + 1);
  expect_error(validate_enrolment(e), Errc::invalid_argument, "recovery", "hashes");
}

Ledger make_ledger(std::optional<std::uint64_t> step, std::uint32_t fails, std::string rhost) {
  Ledger l;
  l.last_used_step = step;
  l.fail_count = fails;
  l.first_fail_time = 1700000001;
  l.locked_until = std::numeric_limits<std::int64_t>::max();
  l.last_login_time = 1700000002;
  l.last_login_rhost = std::move(rhost);
  return l;
}

void expect_same_ledger(const Ledger& a, const Ledger& b) {
  assert_true(a.last_used_step == b.last_used_step);
  assert_int_equal(a.fail_count, b.fail_count);
  assert_true(a.first_fail_time == b.first_fail_time);
  assert_true(a.locked_until == b.locked_until);
  assert_true(a.last_login_time == b.last_login_time);
  assert_string_equal(a.last_login_rhost.c_str(), b.last_login_rhost.c_str());
}

void test_ledger_round_trips(void**) {
  const std::optional<std::uint64_t> steps[] = {std::nullopt, 0, 1, 56666666, std::numeric_limits<std::uint64_t>::max()};
  for (auto step : steps) {
    for (std::uint32_t fails : {0u, 1u, 7u, std::numeric_limits<std::uint32_t>::max()}) {
      for (std::size_t rlen : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{63}, kMaxRhostSize}) {
        std::string rhost;
        for (std::size_t i = 0; i < rlen; ++i) rhost.push_back(static_cast<char>(0x20 + (i * 7) % 95));
        const Ledger l = make_ledger(step, fails, rhost);
        const SecureBytes bytes = serialize_ledger(l);
        assert_int_equal(bytes.size(), kLedgerPlainSize);
        auto back = parse_ledger(bytes.span());
        expect_ok(back, "ledger round trip");
        expect_same_ledger(l, *back);
        assert_true(constant_time_equal(bytes.span(), serialize_ledger(*back).span()));
      }
    }
  }
  // Fresh ledger: all zero, no step.
  auto fresh = parse_ledger(serialize_ledger(Ledger{}).span());
  expect_ok(fresh);
  assert_false(fresh->last_used_step.has_value());
  assert_true(fresh->locked_until == 0);
}

void test_ledger_rhost_cut_and_cleaned(void**) {
  Ledger l;
  l.last_login_rhost = std::string(200, 'h');
  auto back = parse_ledger(serialize_ledger(l).span());
  expect_ok(back);
  assert_int_equal(back->last_login_rhost.size(), kMaxRhostSize);
  l.last_login_rhost = std::string(kMaxRhostSize + 1, 'x');
  back = parse_ledger(serialize_ledger(l).span());
  expect_ok(back);
  assert_string_equal(back->last_login_rhost.c_str(), std::string(kMaxRhostSize, 'x').c_str());
  l.last_login_rhost = std::string("a\nb\x01\x7f\xff", 6);
  back = parse_ledger(serialize_ledger(l).span());
  expect_ok(back);
  assert_string_equal(back->last_login_rhost.c_str(), "a?b???");
  // Negative times are clamped to 0 on write.
  l.first_fail_time = -1;
  l.locked_until = std::numeric_limits<std::int64_t>::min();
  l.last_login_time = -100;
  back = parse_ledger(serialize_ledger(l).span());
  expect_ok(back);
  assert_true(back->first_fail_time == 0 && back->locked_until == 0 && back->last_login_time == 0);
}

// Ledger offsets (see record.h).
constexpr std::size_t kLVersion = 0, kLFlags = 1, kLStep = 2, kLFirstFail = 14, kLLocked = 22, kLLogin = 30,
                      kLRhostLen = 38, kLRhost = 39, kLPad = 39 + 64;

void test_ledger_bad_fields(void**) {
  const SecureBytes good = serialize_ledger(make_ledger(std::nullopt, 3, "host"));
  auto with = [&](std::size_t off, std::uint8_t v) {
    SecureBytes b = good.clone();
    b[off] = v;
    return b;
  };
  for (std::size_t len = 0; len <= kLedgerPlainSize + 1; ++len) {
    if (len == kLedgerPlainSize) continue;
    SecureBytes b(len);
    for (std::size_t i = 0; i < len && i < good.size(); ++i) b[i] = good[i];
    expect_error(parse_ledger(b.span()), Errc::parse_error, "size", "wrong size");
  }
  expect_error(parse_ledger(with(kLVersion, 2).span()), Errc::unsupported, "version", "version");
  expect_error(parse_ledger(with(kLFlags, 2).span()), Errc::parse_error, "flags", "flags");
  expect_error(parse_ledger(with(kLStep, 1).span()), Errc::parse_error, "without its flag", "step w/o flag");
  expect_error(parse_ledger(with(kLFirstFail + 7, 0x80).span()), Errc::parse_error, "negative", "first fail");
  expect_error(parse_ledger(with(kLLocked + 7, 0xff).span()), Errc::parse_error, "negative", "locked");
  expect_error(parse_ledger(with(kLLogin + 7, 0x80).span()), Errc::parse_error, "negative", "login");
  expect_error(parse_ledger(with(kLRhostLen, 65).span()), Errc::parse_error, "too long", "rhost len");
  expect_error(parse_ledger(with(kLRhostLen, 5).span()), Errc::parse_error, "rhost", "len covers a 0 byte");
  expect_error(parse_ledger(with(kLRhost + 1, '\n').span()), Errc::parse_error, "rhost", "control byte");
  expect_error(parse_ledger(with(kLRhost + 10, 'x').span()), Errc::parse_error, "rhost", "byte after rhost");
  for (std::size_t off = kLPad; off < kLedgerPlainSize; ++off) {
    expect_error(parse_ledger(with(off, 1).span()), Errc::parse_error, "padding", "padding");
  }
}

// Format version 2: several authenticators, names, revoked.
Enrolment with_authenticators(std::size_t added) {
  Enrolment e = make_enrolment(Algorithm::sha1, 6, 30, 20, 5, EnrolmentState::active);
  e.name = "laptop";
  for (std::size_t i = 0; i < added; ++i) {
    Authenticator a;
    a.name = "phone" + std::to_string(i);
    a.secret = SecureBytes(kMaxSecretSize);
    for (std::size_t b = 0; b < a.secret.size(); ++b) a.secret[b] = static_cast<std::uint8_t>(b + i);
    a.otp = OtpParams{i % 2 == 0 ? Algorithm::sha256 : Algorithm::sha512, 6, 30};
    a.created = 1800000000 + static_cast<std::int64_t>(i);
    e.added.push_back(std::move(a));
  }
  return e;
}

void test_enrolment_version_2(void**) {
  for (std::size_t added = 0; added < kMaxAuthenticators; ++added) {
    const Enrolment e = with_authenticators(added);
    assert_true(validate_enrolment(e).ok());
    const SecureBytes bytes = serialize_enrolment(e);
    assert_int_equal(bytes[0], kEnrolmentFormatVersion2);
    assert_true(bytes.size() <= kMaxEnrolmentPlainSize);
    auto back = parse_enrolment(bytes.span());
    assert_true(back.ok());
    expect_same_enrolment(e, *back);
    assert_string_equal(back->name.c_str(), "laptop");
    assert_int_equal(back->added.size(), added);
    for (std::size_t i = 0; i < added; ++i) {
      assert_string_equal(back->added[i].name.c_str(), e.added[i].name.c_str());
      assert_true(constant_time_equal(back->added[i].secret.span(), e.added[i].secret.span()));
      assert_int_equal(static_cast<int>(back->added[i].otp.algorithm), static_cast<int>(e.added[i].otp.algorithm));
      assert_true(back->added[i].created == e.added[i].created);
    }
    assert_int_equal(login_authenticators(*back).size(), added + 1);
    // Every truncation is refused.
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) assert_false(parse_enrolment(bytes.span().first(cut)).ok());
  }
  // Revoked: round trip, and no authenticator a login may check.
  Enrolment r = make_enrolment(Algorithm::sha1, 6, 30, 20, 3, EnrolmentState::active);
  r.revoked = true;
  auto back = parse_enrolment(serialize_enrolment(r).span());
  assert_true(back.ok());
  assert_true(back->revoked);
  assert_int_equal(login_authenticators(*back).size(), 0);
  // An unrevoked, unnamed single authenticator is written as version 1.
  const Enrolment plain = make_enrolment(Algorithm::sha1, 6, 30, 20, 3, EnrolmentState::active);
  assert_int_equal(serialize_enrolment(plain)[0], kEnrolmentFormatVersion);
}

void test_enrolment_version_2_refusals(void**) {
  Enrolment e = with_authenticators(2);
  e.added[1].name = e.added[0].name;
  assert_false(validate_enrolment(e).ok());  // two with one name
  e = with_authenticators(1);
  e.added[0].name = "laptop";
  assert_false(validate_enrolment(e).ok());  // the first one's name
  e = with_authenticators(1);
  e.added[0].otp.digits = 8;
  assert_false(validate_enrolment(e).ok());  // another length
  e = with_authenticators(1);
  e.added[0].otp.period = 60;
  assert_false(validate_enrolment(e).ok());  // another period
  e = with_authenticators(1);
  e.added[0].name = "my phone";
  assert_false(validate_enrolment(e).ok());  // a space
  e = with_authenticators(kMaxAuthenticators);
  assert_false(validate_enrolment(e).ok());  // one too many
  for (std::string_view bad : {"", "-x", "a b", "x\n", "\xc3\xa9", "012345678901234567890123456789012"}) {
    assert_false(validate_authenticator_name(bad).ok());
  }
  assert_true(validate_authenticator_name("ops.admin+2@site_b-1").ok());
  // Hostile bytes: a version 2 enrolment whose added secret is too short,
  // whose flags are unknown, or that is a version 1 enrolment in disguise.
  SecureBytes good = serialize_enrolment(with_authenticators(1));
  SecureBytes flags = good.clone();
  flags[1] = 0x80;
  assert_false(parse_enrolment(flags.span()).ok());
  Enrolment disguise = make_enrolment(Algorithm::sha1, 6, 30, 20, 0, EnrolmentState::active);
  disguise.revoked = true;
  SecureBytes v2 = serialize_enrolment(disguise);
  v2[1] = 0;  // clear the revoked flag: now a version 1 enrolment written as version 2
  assert_false(parse_enrolment(v2.span()).ok());
  SecureBytes dup = serialize_enrolment(with_authenticators(1));
  // the added one's name ("phone0") becomes the first's ("laptop" is 6 bytes too)
  for (std::size_t i = 0; i + 6 <= dup.size(); ++i) {
    if (std::string_view(reinterpret_cast<const char*>(dup.data() + i), 6) == "phone0") {
      std::memcpy(dup.data() + i, "laptop", 6);
      break;
    }
  }
  assert_false(parse_enrolment(dup.span()).ok());
}

void test_clone_record(void**) {
  const Record r = state_test::sample_record(0x11, 7);
  const Record c = clone_record(r);
  state_test::expect_same_record(r, c);
  Record multi;
  multi.enrolment = with_authenticators(3);
  multi.enrolment.revoked = false;
  const Record m = clone_record(multi);
  assert_int_equal(m.enrolment.added.size(), 3);
  assert_string_equal(m.enrolment.name.c_str(), "laptop");
  assert_ptr_not_equal(m.enrolment.added[0].secret.data(), multi.enrolment.added[0].secret.data());
  assert_ptr_not_equal(r.enrolment.secret.data(), c.enrolment.secret.data());
}

// An active enrolment with `n` trusted devices (made as a login would).
Enrolment with_devices(std::size_t n, std::size_t added = 0) {
  Enrolment e = added == 0 ? make_enrolment(Algorithm::sha1, 6, 30, 20, 3, EnrolmentState::active)
                           : with_authenticators(added);
  e.revoked = false;
  for (std::size_t i = 0; i < n; ++i) {
    SshKey key{"ssh-ed25519", {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
                               static_cast<std::uint8_t>(i)}};
    const std::string address = "192.0.2." + std::to_string(i) + std::string(i == 0 ? 50 : 0, 'x');
    auto r = remember_trusted_device(e.devices, "alice", key, address, 1800000000 + static_cast<std::int64_t>(i),
                                     kMaxTrustedDeviceLifetime);
    assert_true(r.ok());
  }
  return e;
}

void test_enrolment_with_devices(void**) {
  for (std::size_t added : {std::size_t{0}, std::size_t{2}, kMaxAuthenticators - 1}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{3}, kMaxTrustedDevices}) {
      const Enrolment e = with_devices(n, added);
      expect_ok(validate_enrolment(e));
      const SecureBytes bytes = serialize_enrolment(e);
      assert_int_equal(bytes[0], kEnrolmentFormatVersion2);
      assert_int_equal(bytes[1] & 0x02, 0x02);
      assert_true(bytes.size() <= kMaxEnrolmentPlainSize);
      auto back = parse_enrolment(bytes.span());
      expect_ok(back, "round trip with devices");
      expect_same_enrolment(e, *back);
      assert_int_equal(back->devices.list.size(), n);
      assert_true(constant_time_equal(back->devices.key.span(), e.devices.key.span()));
      for (std::size_t i = 0; i < n; ++i) {
        const TrustedDevice& a = e.devices.list[i];
        const TrustedDevice& b = back->devices.list[i];
        assert_true(a.digest == b.digest && a.key == b.key);
        assert_true(a.created == b.created && a.expires == b.expires);
        assert_string_equal(a.address.c_str(), b.address.c_str());
      }
      assert_int_equal(back->added.size(), added);
      // Canonical, and same_enrolment_bytes sees the devices.
      assert_true(constant_time_equal(bytes.span(), serialize_enrolment(*back).span()));
      assert_true(same_enrolment_bytes(e, *back));
      Enrolment fewer = with_devices(n, added);
      clear_trusted_devices(fewer.devices);
      assert_false(same_enrolment_bytes(e, fewer));
      // Every truncation and any trailing byte is refused.
      for (std::size_t cut = 0; cut < bytes.size(); ++cut) assert_false(parse_enrolment(bytes.span().first(cut)).ok());
      SecureBytes longer = bytes.clone();
      longer.push_back(0);
      assert_false(parse_enrolment(longer.span()).ok());
    }
  }
  // The largest enrolment there can be fits the cap (and the state file).
  Enrolment big = with_devices(kMaxTrustedDevices, kMaxAuthenticators - 1);
  big.secret = SecureBytes(kMaxSecretSize);
  big.recovery_hashes.resize(kMaxRecoveryCodes);
  for (TrustedDevice& d : big.devices.list) d.address = std::string(kMaxDeviceAddressSize, 'a');
  for (Authenticator& a : big.added) a.secret = SecureBytes(kMaxSecretSize);
  for (std::size_t i = 0; i < big.added.size(); ++i) {
    big.added[i].name = std::string(kMaxAuthenticatorNameSize - 1, 'n') + static_cast<char>('a' + i);
  }
  big.name = std::string(kMaxAuthenticatorNameSize, 'f');
  expect_ok(validate_enrolment(big));
  const SecureBytes max = serialize_enrolment(big);
  assert_int_equal(max.size(), kMaxEnrolmentPlainSize);
  assert_true(parse_enrolment(max.span()).ok());
  // A record without devices stays as it was: version 1 when it fits, and
  // no flag bit 1 in version 2.
  Enrolment none = with_devices(2);
  clear_trusted_devices(none.devices);
  assert_int_equal(serialize_enrolment(none)[0], kEnrolmentFormatVersion);
  const SecureBytes v2 = serialize_enrolment(with_authenticators(1));
  assert_int_equal(v2[1] & 0x02, 0);
}

void test_enrolment_devices_refusals(void**) {
  // validate_enrolment
  Enrolment e = with_devices(2);
  e.revoked = true;
  assert_false(validate_enrolment(e).ok());  // revoked keeps none
  e = with_devices(2);
  e.state = EnrolmentState::pending;
  assert_false(validate_enrolment(e).ok());  // pending has none
  e = with_devices(2);
  e.devices.key = SecureBytes(16);
  assert_false(validate_enrolment(e).ok());  // no 32-byte key
  e = with_devices(2);
  e.devices.list[1].digest = e.devices.list[0].digest;
  assert_false(validate_enrolment(e).ok());  // one digest twice
  e = with_devices(2);
  e.devices.list[0].expires = e.devices.list[0].created + kMaxTrustedDeviceLifetime + 1;
  assert_false(validate_enrolment(e).ok());  // longer than 30 days
  e = with_devices(2);
  e.devices.list[0].expires = e.devices.list[0].created;
  assert_false(validate_enrolment(e).ok());  // ends when it starts
  e = with_devices(2);
  e.devices.list[0].address = "a b";
  assert_false(validate_enrolment(e).ok());  // a space in the address
  e = with_devices(2);
  e.devices.list[0].address.clear();
  assert_false(validate_enrolment(e).ok());  // no address
  e = with_devices(kMaxTrustedDevices);
  e.devices.list.push_back(e.devices.list[0]);
  e.devices.list.back().digest[0] ^= 1;
  assert_false(validate_enrolment(e).ok());  // one too many

  // Hostile bytes. Layout of the tail: key (32) | count | devices.
  const Enrolment good = with_devices(1);
  const SecureBytes bytes = serialize_enrolment(good);
  const std::size_t entry = kDeviceDigestSize + 16 + kKeyFingerprintSize + 1 + good.devices.list[0].address.size();
  const std::size_t count_at = bytes.size() - entry - 1;
  const std::size_t created_at = count_at + 1 + kDeviceDigestSize;
  const std::size_t expires_at = created_at + 8;
  const std::size_t len_at = expires_at + 8 + kKeyFingerprintSize;
  assert_true(parse_enrolment(bytes.span()).ok());
  auto refused = [&](std::size_t at, std::uint8_t value) {
    SecureBytes b = bytes.clone();
    b[at] = value;
    return !parse_enrolment(b.span()).ok();
  };
  assert_true(refused(count_at, 0));                                    // flag set, no device
  assert_true(refused(count_at, 2));                                    // fewer than said
  assert_true(refused(count_at, kMaxTrustedDevices + 1));               // too many
  assert_true(refused(expires_at + 7, 0x80));                           // negative expiry
  assert_true(refused(created_at + 7, 0x80));                           // negative creation
  assert_true(refused(expires_at + 3, 0x7f));                           // far more than 30 days
  assert_true(refused(len_at, 0));                                      // empty address
  assert_true(refused(len_at, static_cast<std::uint8_t>(kMaxDeviceAddressSize + 1)));  // too long
  assert_true(refused(len_at + 1, ' '));                                // a space
  assert_true(refused(len_at + 1, 0x7f));                               // a control byte
  assert_true(refused(1, 0x06));                                        // unknown flag with it
  // Flag without devices at the end; devices without the flag (trailing data).
  SecureBytes no_tail = bytes.clone();
  no_tail.truncate(count_at - kDeviceKeySize);
  assert_false(parse_enrolment(no_tail.span()).ok());
  SecureBytes no_flag = bytes.clone();
  no_flag[1] = 0;
  assert_false(parse_enrolment(no_flag.span()).ok());
  // The revoked flag with devices.
  SecureBytes revoked = bytes.clone();
  revoked[1] = 0x03;
  assert_false(parse_enrolment(revoked.span()).ok());
}

void test_clone_record_devices(void**) {
  Record r;
  r.enrolment = with_devices(3);
  const Record c = clone_record(r);
  assert_int_equal(c.enrolment.devices.list.size(), 3);
  assert_true(constant_time_equal(c.enrolment.devices.key.span(), r.enrolment.devices.key.span()));
  assert_ptr_not_equal(c.enrolment.devices.key.data(), r.enrolment.devices.key.data());
  assert_true(same_enrolment_bytes(c.enrolment, r.enrolment));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_enrolment_round_trips),
      cmocka_unit_test(test_enrolment_max_size_and_times),
      cmocka_unit_test(test_enrolment_every_truncation_and_trailing),
      cmocka_unit_test(test_enrolment_bad_fields),
      cmocka_unit_test(test_validate_enrolment),
      cmocka_unit_test(test_ledger_round_trips),
      cmocka_unit_test(test_ledger_rhost_cut_and_cleaned),
      cmocka_unit_test(test_ledger_bad_fields),
      cmocka_unit_test(test_clone_record),
      cmocka_unit_test(test_enrolment_version_2),
      cmocka_unit_test(test_enrolment_version_2_refusals),
      cmocka_unit_test(test_enrolment_with_devices),
      cmocka_unit_test(test_enrolment_devices_refusals),
      cmocka_unit_test(test_clone_record_devices),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
