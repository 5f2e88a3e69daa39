// SPDX-License-Identifier: Apache-2.0
// core/sealed_record.h: the directory form of a record (enrolment value and
// ledger value). Round trips, a new ledger for the stored enrolment, and
// everything that must be refused: another user, another enrolment, a
// flipped bit, truncation, extension, another master key, a state file's
// slot B, and random garbage (which must never crash; the suite also runs
// under ASan/UBSan).
#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/key.h"
#include "core/record.h"
#include "core/sealed_record.h"
#include "core/store.h"
#include "tests/unit/state_test_util.h"

using state_test::clone_key;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::expect_same_record;
using state_test::random_key;
using state_test::sample_record;
using totp::Errc;

namespace {

using Bytes = std::vector<std::uint8_t>;

totp::SealedRecord seal(const totp::MasterKey& key, const char* user, const totp::Record& r, std::uint64_t seq) {
  auto s = totp::seal_record(key, user, r, seq);
  expect_ok(s, "seal_record");
  return std::move(*s);
}

totp::Ledger other_ledger() {
  totp::Ledger l;
  l.last_used_step = 99999999;
  l.fail_count = 7;
  l.first_fail_time = 1800000000;
  l.locked_until = 1800000600;
  l.last_login_time = 1800000001;
  l.last_login_rhost = "203.0.113.9";
  return l;
}

void expect_same_ledger(const totp::Ledger& a, const totp::Ledger& b) {
  assert_true(a.last_used_step == b.last_used_step);
  assert_int_equal(a.fail_count, b.fail_count);
  assert_true(a.first_fail_time == b.first_fail_time);
  assert_true(a.locked_until == b.locked_until);
  assert_true(a.last_login_time == b.last_login_time);
  assert_string_equal(a.last_login_rhost.c_str(), b.last_login_rhost.c_str());
}

bool is_hex16(const std::string& s) {
  if (s.size() != 16) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---- round trips -------------------------------------------------------------

void test_round_trip(void**) {
  const auto key = random_key();
  const totp::Record r = sample_record();
  const auto sealed = seal(key, "alice", r, 41);
  // The enrolment value starts with the state header (magic, version, key id).
  assert_true(sealed.enrolment.size() > totp::kStateHeaderSize);
  assert_memory_equal(sealed.enrolment.data(), "PAMTOTP\0", 8);
  assert_memory_equal(sealed.enrolment.data() + 12, key.id.data(), key.id.size());
  assert_int_equal(sealed.ledger.size(), totp::kLedgerSlotSize);

  auto opened = totp::open_sealed_record(key, "alice", sealed.enrolment, sealed.ledger);
  expect_ok(opened, "open_sealed_record");
  assert_int_equal(opened->seq, 41);
  expect_same_record(opened->record, r);

  // Nothing in clear text: the secret bytes do not appear in either value.
  const auto& secret = r.enrolment.secret;
  for (const Bytes* v : {&sealed.enrolment, &sealed.ledger}) {
    assert_true(std::search(v->begin(), v->end(), secret.data(), secret.data() + secret.size()) == v->end());
  }

  // Other shapes: pending, no recovery codes, no last step, a large seq.
  totp::Record p = sample_record(0x11, 0);
  p.enrolment.state = totp::EnrolmentState::pending;
  p.ledger = totp::Ledger{};
  const auto sp = seal(key, "bob.smith-2", p, UINT64_MAX - 1);
  auto op = totp::open_sealed_record(key, "bob.smith-2", sp.enrolment, sp.ledger);
  expect_ok(op, "open pending");
  assert_true(op->seq == UINT64_MAX - 1);
  expect_same_record(op->record, p);
  assert_false(op->record.ledger.last_used_step.has_value());
}

void test_new_ledger_value(void**) {
  const auto key = random_key();
  const totp::Record r = sample_record();
  const auto sealed = seal(key, "alice", r, 5);
  const totp::Ledger l2 = other_ledger();
  auto next = totp::seal_ledger_value(key, "alice", sealed.enrolment, 6, l2);
  expect_ok(next, "seal_ledger_value");
  assert_int_equal(next->size(), totp::kLedgerSlotSize);
  assert_false(*next == sealed.ledger);

  auto opened = totp::open_sealed_record(key, "alice", sealed.enrolment, *next);
  expect_ok(opened, "open with the new ledger");
  assert_int_equal(opened->seq, 6);
  expect_same_ledger(opened->record.ledger, l2);
  // The enrolment is still the original one.
  totp::Record expected = totp::clone_record(r);
  expected.ledger = l2;
  expect_same_record(opened->record, expected);

  // The old ledger value still opens too (the directory's CAS, not the
  // seal, retires it), with its own seq.
  auto old = totp::open_sealed_record(key, "alice", sealed.enrolment, sealed.ledger);
  expect_ok(old, "open with the old ledger");
  assert_int_equal(old->seq, 5);
  expect_same_ledger(old->record.ledger, r.ledger);

  // Chained: a ledger sealed for a ledger sealed for ...
  Bytes cur = *next;
  for (std::uint64_t seq = 7; seq < 12; ++seq) {
    totp::Ledger l;
    l.fail_count = static_cast<std::uint32_t>(seq);
    auto v = totp::seal_ledger_value(key, "alice", sealed.enrolment, seq, l);
    expect_ok(v, "chained seal_ledger_value");
    auto o = totp::open_sealed_record(key, "alice", sealed.enrolment, *v);
    expect_ok(o, "chained open");
    assert_int_equal(o->seq, seq);
    assert_int_equal(o->record.ledger.fail_count, seq);
  }

  // A bad user or an enrolment value that is no enrolment value: an error.
  expect_error(totp::seal_ledger_value(key, "../alice", sealed.enrolment, 1, l2), Errc::invalid_argument, "",
               "bad user");
  Bytes junk(sealed.enrolment.size(), 0xab);
  assert_false(totp::seal_ledger_value(key, "alice", junk, 1, l2).ok());
  assert_false(totp::seal_ledger_value(key, "alice", Bytes{}, 1, l2).ok());
  Bytes header_only(sealed.enrolment.begin(), sealed.enrolment.begin() + totp::kStateHeaderSize);
  assert_false(totp::seal_ledger_value(key, "alice", header_only, 1, l2).ok());
}

// ---- bindings ----------------------------------------------------------------

void test_user_binding(void**) {
  const auto key = random_key();
  const totp::Record r = sample_record();
  const auto a = seal(key, "alice", r, 3);
  const auto b = seal(key, "bob", r, 3);
  expect_ok(totp::open_sealed_record(key, "bob", b.enrolment, b.ledger), "bob's own");

  // Alice's whole record read as bob's.
  expect_error(totp::open_sealed_record(key, "bob", a.enrolment, a.ledger), Errc::tampered, "", "alice's as bob");
  // Bob's enrolment with alice's ledger (same record contents, same seq).
  expect_error(totp::open_sealed_record(key, "bob", b.enrolment, a.ledger), Errc::tampered, "ledger",
               "alice's ledger on bob's enrolment");
  // A ledger value sealed (seal_ledger_value) for alice, offered for bob.
  auto for_alice = totp::seal_ledger_value(key, "alice", a.enrolment, 4, other_ledger());
  expect_ok(for_alice, "seal for alice");
  expect_error(totp::open_sealed_record(key, "bob", b.enrolment, *for_alice), Errc::tampered, "ledger",
               "alice's new ledger on bob's enrolment");
  // Sealed for alice over bob's enrolment value: refused for both.
  auto crossed = totp::seal_ledger_value(key, "alice", b.enrolment, 4, other_ledger());
  if (crossed.ok()) {
    expect_error(totp::open_sealed_record(key, "bob", b.enrolment, *crossed), Errc::tampered, "", "crossed as bob");
    assert_false(totp::open_sealed_record(key, "alice", b.enrolment, *crossed).ok());
  }
  // A user name that differs only in case or by a suffix.
  assert_false(totp::open_sealed_record(key, "Alice", a.enrolment, a.ledger).ok());
  assert_false(totp::open_sealed_record(key, "alice1", a.enrolment, a.ledger).ok());
  assert_false(totp::open_sealed_record(key, "alic", a.enrolment, a.ledger).ok());
}

void test_enrolment_binding(void**) {
  const auto key = random_key();
  const totp::Record r1 = sample_record(0x5a);
  const totp::Record r2 = sample_record(0x33, 5);
  const auto first = seal(key, "alice", r1, 10);
  const auto second = seal(key, "alice", r2, 10);
  // The same record sealed again: same contents, but another enrolment value.
  const auto again = seal(key, "alice", r1, 10);
  assert_false(first.enrolment == again.enrolment);

  expect_error(totp::open_sealed_record(key, "alice", first.enrolment, second.ledger), Errc::tampered, "ledger",
               "ledger of another enrolment");
  expect_error(totp::open_sealed_record(key, "alice", second.enrolment, first.ledger), Errc::tampered, "ledger",
               "ledger of another enrolment (reverse)");
  expect_error(totp::open_sealed_record(key, "alice", again.enrolment, first.ledger), Errc::tampered, "ledger",
               "ledger of the same record sealed earlier");

  // A ledger value made for the first enrolment does not fit the second.
  auto next = totp::seal_ledger_value(key, "alice", first.enrolment, 11, other_ledger());
  expect_ok(next, "seal_ledger_value");
  expect_ok(totp::open_sealed_record(key, "alice", first.enrolment, *next), "own enrolment");
  expect_error(totp::open_sealed_record(key, "alice", second.enrolment, *next), Errc::tampered, "ledger",
               "new ledger on another enrolment");
  expect_error(totp::open_sealed_record(key, "alice", again.enrolment, *next), Errc::tampered, "ledger",
               "new ledger on a re-sealed enrolment");
}

void test_slot_binding(void**) {
  const auto key = random_key();
  const totp::Record r = sample_record();
  auto file = totp::encode_state_file(key, "alice", r, 9);
  expect_ok(file, "encode_state_file");
  auto layout = totp::parse_state_layout(*file);
  expect_ok(layout, "parse_state_layout");
  const Bytes enrolment(file->begin(), file->begin() + static_cast<std::ptrdiff_t>(layout->slot_offset[0]));
  const Bytes slot_a(layout->slots[0].begin(), layout->slots[0].end());
  const Bytes slot_b(layout->slots[1].begin(), layout->slots[1].end());
  assert_int_equal(slot_b.size(), totp::kLedgerSlotSize);

  // A state file cut the same way as the directory form: slot A is the ledger value.
  auto a = totp::open_sealed_record(key, "alice", enrolment, slot_a);
  expect_ok(a, "state file's slot A");
  assert_int_equal(a->seq, 9);
  expect_same_record(a->record, r);
  // Slot B is sealed for the other slot: refused.
  expect_error(totp::open_sealed_record(key, "alice", enrolment, slot_b), Errc::tampered, "ledger",
               "state file's slot B");
}

// ---- damage ------------------------------------------------------------------

void test_flipped_bits(void**) {
  const auto key = random_key();
  const auto s = seal(key, "alice", sample_record(), 77);
  expect_ok(totp::open_sealed_record(key, "alice", s.enrolment, s.ledger), "intact");

  for (std::size_t i = 0; i < s.enrolment.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes e = s.enrolment;
      e[i] ^= static_cast<std::uint8_t>(1u << bit);
      auto o = totp::open_sealed_record(key, "alice", e, s.ledger);
      if (o.ok()) fail_msg("enrolment byte %zu bit %d flipped: accepted", i, bit);
      const Errc c = o.error().code;
      if (i >= totp::kStateHeaderSize) {
        if (c != Errc::tampered)
          fail_msg("enrolment byte %zu bit %d: %s, expected tampered", i, bit, totp::errc_name(c));
      } else if (i >= 12 && i < 20) {  // the key id
        if (c != Errc::unsupported)
          fail_msg("key id byte %zu bit %d: %s, expected unsupported", i, bit, totp::errc_name(c));
      } else if (c != Errc::tampered && c != Errc::unsupported) {
        fail_msg("header byte %zu bit %d: %s", i, bit, totp::errc_name(c));
      }
    }
  }
  for (std::size_t i = 0; i < s.ledger.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes l = s.ledger;
      l[i] ^= static_cast<std::uint8_t>(1u << bit);
      auto o = totp::open_sealed_record(key, "alice", s.enrolment, l);
      if (o.ok()) fail_msg("ledger byte %zu bit %d flipped: accepted", i, bit);
      if (o.error().code != Errc::tampered)
        fail_msg("ledger byte %zu bit %d: %s, expected tampered", i, bit, totp::errc_name(o.error().code));
    }
  }
}

void test_truncated_and_extended(void**) {
  const auto key = random_key();
  const auto s = seal(key, "alice", sample_record(), 1);
  for (std::size_t n = 0; n < s.enrolment.size(); ++n) {
    const Bytes e(s.enrolment.begin(), s.enrolment.begin() + static_cast<std::ptrdiff_t>(n));
    auto o = totp::open_sealed_record(key, "alice", e, s.ledger);
    if (o.ok()) fail_msg("enrolment cut to %zu bytes: accepted", n);
    // Also the tail: the first bytes missing.
    const Bytes tail(s.enrolment.end() - static_cast<std::ptrdiff_t>(n), s.enrolment.end());
    if (totp::open_sealed_record(key, "alice", tail, s.ledger).ok()) fail_msg("enrolment tail of %zu: accepted", n);
  }
  for (std::size_t n = 0; n < s.ledger.size(); ++n) {
    const Bytes l(s.ledger.begin(), s.ledger.begin() + static_cast<std::ptrdiff_t>(n));
    auto o = totp::open_sealed_record(key, "alice", s.enrolment, l);
    if (o.ok()) fail_msg("ledger cut to %zu bytes: accepted", n);
    if (o.error().code != Errc::tampered) fail_msg("ledger cut to %zu: %s", n, totp::errc_name(o.error().code));
  }
  for (std::size_t extra : {1u, 2u, 16u, 28u, 164u, 4096u}) {
    Bytes e = s.enrolment;
    e.resize(e.size() + extra, 0);
    if (totp::open_sealed_record(key, "alice", e, s.ledger).ok()) fail_msg("enrolment + %zu zero bytes: accepted", extra);
    Bytes e2 = s.enrolment;
    e2.insert(e2.end(), s.ledger.begin(), s.ledger.begin() + static_cast<std::ptrdiff_t>(std::min(extra, s.ledger.size())));
    if (totp::open_sealed_record(key, "alice", e2, s.ledger).ok()) fail_msg("enrolment + ledger bytes: accepted");
    Bytes l = s.ledger;
    l.resize(l.size() + extra, 0);
    auto o = totp::open_sealed_record(key, "alice", s.enrolment, l);
    if (o.ok()) fail_msg("ledger + %zu bytes: accepted", extra);
    assert_int_equal(static_cast<int>(o.error().code), static_cast<int>(Errc::tampered));
  }
  // Values swapped, or the same value twice.
  assert_false(totp::open_sealed_record(key, "alice", s.ledger, s.enrolment).ok());
  assert_false(totp::open_sealed_record(key, "alice", s.ledger, s.ledger).ok());
  assert_false(totp::open_sealed_record(key, "alice", s.enrolment, s.enrolment).ok());
  // Both empty, or one too big for any state file.
  assert_false(totp::open_sealed_record(key, "alice", Bytes{}, Bytes{}).ok());
  const Bytes huge(totp::kMaxStateFileSize + 1, 0x42);
  assert_false(totp::open_sealed_record(key, "alice", huge, s.ledger).ok());
}

void test_other_master_key(void**) {
  const auto k1 = random_key();
  const auto k2 = random_key();
  assert_false(k1.id == k2.id);
  const auto s = seal(k1, "alice", sample_record(), 2);
  auto o = totp::open_sealed_record(k2, "alice", s.enrolment, s.ledger);
  expect_error(o, Errc::unsupported, "key id", "another master key");
  const std::string h1 = totp::key_id_hex(k1.id);
  const std::string h2 = totp::key_id_hex(k2.id);
  assert_true(is_hex16(h1));
  assert_true(is_hex16(h2));
  const std::string& msg = o.error().message;
  if (msg.find(h1) == std::string::npos || msg.find(h2) == std::string::npos) {
    fail_msg("message '%s' does not name both key ids %s and %s", msg.c_str(), h1.c_str(), h2.c_str());
  }
  // The sealing key appears as the record's, the opener's as this server's.
  assert_true(msg.find(h1) < msg.find(h2));

  // The same key bytes (a copy) open it.
  expect_ok(totp::open_sealed_record(clone_key(k1), "alice", s.enrolment, s.ledger), "same key, copied");

  // A key with the same id but other bytes (an impossible collision made by
  // hand): the id check passes, the authentication does not.
  totp::MasterKey forged = clone_key(k2);
  forged.id = k1.id;
  expect_error(totp::open_sealed_record(forged, "alice", s.enrolment, s.ledger), Errc::tampered, "", "forged id");

  // A ledger sealed under k2 over k1's enrolment value never opens under k1.
  auto foreign = totp::seal_ledger_value(k2, "alice", s.enrolment, 3, other_ledger());
  if (foreign.ok()) {
    expect_error(totp::open_sealed_record(k1, "alice", s.enrolment, *foreign), Errc::tampered, "ledger",
                 "ledger sealed under another key");
  }
}

// ---- garbage -----------------------------------------------------------------

void test_garbage(void**) {
  const auto key = random_key();
  const auto s = seal(key, "alice", sample_record(), 1);
  std::mt19937 rng(20240514);
  auto random_bytes = [&](std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
  };
  const std::size_t sizes[] = {0, 1, 7, 8, 23, 24, 25, 51, 52, 53, 100, totp::kLedgerSlotSize - 1,
                               totp::kLedgerSlotSize, totp::kLedgerSlotSize + 1, s.enrolment.size() - 1,
                               s.enrolment.size(), s.enrolment.size() + 1, 1000, 4096, 16384, 20000};
  for (std::size_t en : sizes) {
    for (std::size_t ln : sizes) {
      const Bytes e = random_bytes(en);
      const Bytes l = random_bytes(ln);
      assert_false(totp::open_sealed_record(key, "alice", e, l).ok());
      // The real header followed by garbage (passes the first checks).
      Bytes he = e;
      if (he.size() >= totp::kStateHeaderSize) {
        std::copy(s.enrolment.begin(), s.enrolment.begin() + totp::kStateHeaderSize, he.begin());
        assert_false(totp::open_sealed_record(key, "alice", he, l).ok());
        assert_false(totp::open_sealed_record(key, "alice", he, s.ledger).ok());
      }
      assert_false(totp::open_sealed_record(key, "alice", s.enrolment, l).ok());
      // Garbage enrolment values for a new ledger: an error or a value that
      // never opens with a garbage enrolment.
      auto v = totp::seal_ledger_value(key, "alice", e, 2, other_ledger());
      if (v.ok()) assert_false(totp::open_sealed_record(key, "alice", e, *v).ok());
      if (he.size() >= totp::kStateHeaderSize) {
        auto hv = totp::seal_ledger_value(key, "alice", he, 2, other_ledger());
        if (hv.ok()) assert_false(totp::open_sealed_record(key, "alice", he, *hv).ok());
      }
    }
  }
  // The real header with the length field pointing at the garbage size.
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = totp::kStateHeaderSize + rng() % 3000;
    Bytes e = random_bytes(n);
    std::copy(s.enrolment.begin(), s.enrolment.begin() + totp::kStateHeaderSize, e.begin());
    const std::uint32_t len = static_cast<std::uint32_t>(n - totp::kStateHeaderSize);
    for (int i = 0; i < 4; ++i) e[20 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (8 * i));
    const Bytes l = random_bytes(rng() % 2 ? totp::kLedgerSlotSize : rng() % 400);
    assert_false(totp::open_sealed_record(key, "alice", e, l).ok());
    auto v = totp::seal_ledger_value(key, "alice", e, 2, other_ledger());
    if (v.ok()) assert_false(totp::open_sealed_record(key, "alice", e, *v).ok());
  }
}

void test_bad_inputs_to_seal(void**) {
  const auto key = random_key();
  totp::Record r = sample_record();
  expect_error(totp::seal_record(key, "", r, 1), Errc::invalid_argument, "", "empty user");
  expect_error(totp::seal_record(key, "a/b", r, 1), Errc::invalid_argument, "", "slash");
  expect_error(totp::seal_record(key, std::string(65, 'a'), r, 1), Errc::invalid_argument, "", "long user");
  r.enrolment.secret = totp::SecureBytes(3);  // below kMinSecretSize
  assert_false(totp::seal_record(key, "alice", r, 1).ok());
  // A valid 64-byte user name works both ways.
  const std::string longest(64, 'u');
  const auto s = seal(key, longest.c_str(), sample_record(), 1);
  expect_ok(totp::open_sealed_record(key, longest, s.enrolment, s.ledger), "64-byte user");
  // open_sealed_record refuses a bad user name (no crash, an error).
  assert_false(totp::open_sealed_record(key, "", s.enrolment, s.ledger).ok());
  assert_false(totp::open_sealed_record(key, "../etc", s.enrolment, s.ledger).ok());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_new_ledger_value),
      cmocka_unit_test(test_user_binding),     cmocka_unit_test(test_enrolment_binding),
      cmocka_unit_test(test_slot_binding),     cmocka_unit_test(test_flipped_bits),
      cmocka_unit_test(test_truncated_and_extended), cmocka_unit_test(test_other_master_key),
      cmocka_unit_test(test_garbage),          cmocka_unit_test(test_bad_inputs_to_seal),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
