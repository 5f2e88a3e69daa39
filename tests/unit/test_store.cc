// SPDX-License-Identifier: Apache-2.0
// FileStore: user names, round trips through the file, update semantics (ledger
// slots written in place, everything replaced, remove), the fail-closed
// matrix (every bit of every region, every truncation, swapped files, wrong
// key, symlinks, owners, modes, type, size) and initialize().
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::TempDir;
using Write = FileStore::Write;
using Bytes = std::vector<std::uint8_t>;

namespace {

using Fixture = state_test::StoreFixture;

FileStore::Mutator put(const Record& r, Write w = Write::everything) {
  return [&r, w](std::optional<Record>& rec) -> Result<Write> {
    rec = clone_record(r);
    return w;
  };
}

FileStore::Mutator set_fail_count(std::uint32_t n, Write w = Write::ledger_only) {
  return [n, w](std::optional<Record>& rec) -> Result<Write> {
    if (!rec) return make_error(Errc::not_found, "no record");
    rec->ledger.fail_count = n;
    return w;
  };
}

Record load_ok(const FileStore& s, const std::string& user) {
  auto r = s.load(user);
  expect_ok(r, "load");
  if (!r->has_value()) fail_msg("no record for %s", user.c_str());
  return std::move(**r);
}

struct Regions {
  std::size_t enrolment_len = 0;
  std::size_t slot_a = 0, slot_b = 0;
};
Regions regions_of(const Bytes& file) {
  auto l = parse_state_layout(file);
  expect_ok(l, "layout");
  return Regions{l->enrolment.size(), l->slot_offset[0], l->slot_offset[1]};
}

void test_validate_user_name(void**) {
  for (const char* good : {"a", "root", "alice", "Bob_2", "user.name-1", "x-", "a.b.c", "0", "_svc"}) {
    expect_ok(validate_user_name(good), good);
  }
  expect_ok(validate_user_name(std::string(kMaxUserNameSize, 'u')), "64 chars");
  expect_error(validate_user_name(""), Errc::invalid_argument, "empty");
  expect_error(validate_user_name(std::string(kMaxUserNameSize + 1, 'u')), Errc::invalid_argument, "longer");
  for (const char* bad_start : {".", "..", ".hidden", "-rf", ".lock.alice"}) {
    expect_error(validate_user_name(bad_start), Errc::invalid_argument, "starts with", bad_start);
  }
  for (const char* bad : {"a/b", "a b", "a\tb", "a\nb", "al:ce", "ü", "a$", "a\\b", "a*", "/"}) {
    expect_error(validate_user_name(bad), Errc::invalid_argument, "character", bad);
  }
  expect_error(validate_user_name(std::string("a\0b", 3)), Errc::invalid_argument, "character", "NUL");
  // The store validates before touching a path.
  Fixture f;
  FileStore s = f.store();
  expect_error(s.load("../etc"), Errc::invalid_argument, "starts with", "load ../");
  expect_error(s.load("a/b"), Errc::invalid_argument, "character", "load a/b");
  expect_error(s.update("..", set_fail_count(1)), Errc::invalid_argument, "starts with", "update ..");
}

void test_open_refusals(void**) {
  Fixture f;
  const uid_t me = ::geteuid();
  expect_error(FileStore::open(f.t / "missing", state_test::clone_key(f.key), me), Errc::not_found, "does not exist", "missing");
  assert_int_equal(::symlink(f.dir.c_str(), (f.t / "link").c_str()), 0);
  expect_error(FileStore::open(f.t / "link", state_test::clone_key(f.key), me), Errc::permission, "symbolic link", "symlinked dir");
  state_test::write_file(f.t / "plain", {1});
  expect_error(FileStore::open(f.t / "plain", state_test::clone_key(f.key), me), Errc::permission, "not a directory", "file");
  for (mode_t m : {0750, 0705, 0770, 0755, 0711, 0701}) {
    assert_int_equal(::chmod(f.dir.c_str(), m), 0);
    expect_error(FileStore::open(f.dir, state_test::clone_key(f.key), me), Errc::permission, "mode", "dir mode");
  }
  assert_int_equal(::chmod(f.dir.c_str(), 0700), 0);
  expect_error(FileStore::open(f.dir, state_test::clone_key(f.key), me + 1), Errc::permission, "owner", "dir owner");
  MasterKey short_key;
  short_key.bytes = SecureBytes(31);
  expect_error(FileStore::open(f.dir, std::move(short_key), me), Errc::invalid_argument, "wrong size", "short key");
  expect_ok(FileStore::open(f.dir, state_test::clone_key(f.key), me), "good");
}

void test_round_trips_through_store(void**) {
  Fixture f;
  FileStore s = f.store();
  auto none = s.load("alice");
  expect_ok(none);
  assert_false(none->has_value());
  int n = 0;
  for (Algorithm a : {Algorithm::sha1, Algorithm::sha256, Algorithm::sha512}) {
    for (int digits : {6, 7, 8}) {
      for (int period : {15, 30, 300}) {
        for (std::size_t hashes : {std::size_t{0}, std::size_t{10}, kMaxRecoveryCodes}) {
          Record r = state_test::sample_record(static_cast<std::uint8_t>(n), hashes);
          r.enrolment.otp = OtpParams{a, digits, period};
          r.enrolment.state = n % 2 ? EnrolmentState::pending : EnrolmentState::active;
          r.ledger.last_login_rhost = std::string(static_cast<std::size_t>(n) % (kMaxRhostSize + 1), 'r');
          if (n % 3 == 0) r.ledger.last_used_step.reset();
          r.ledger.fail_count = static_cast<std::uint32_t>(n);
          expect_ok(s.update("alice", put(r)), "write");
          state_test::expect_same_record(r, load_ok(s, "alice"));
          ++n;
        }
      }
    }
  }
  struct stat st {};
  assert_int_equal(::lstat(f.file("alice").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_uid, ::geteuid());
  assert_int_equal(::lstat((f.dir + "/.lock.alice").c_str(), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
}

// load() remembers what it read so that the next update need not
// authenticate the ledger slots again; the update must still act on what
// is on disk under the lock whenever that differs from what load saw.
void test_update_after_load_uses_what_is_on_disk(void**) {
  Fixture f;
  FileStore s = f.store();
  FileStore other = f.store();
  const Record r = state_test::sample_record();
  expect_ok(s.update("alice", put(r)), "create");
  expect_ok(s.update("alice", set_fail_count(1)), "fail 1");

  // Unchanged since load: the update sees exactly the record load returned
  // (secret included), and can be followed by more updates.
  Record loaded = load_ok(s, "alice");
  expect_ok(s.update("alice", [&](std::optional<Record>& rec) -> Result<Write> {
    assert_true(rec.has_value());
    state_test::expect_same_record(*rec, loaded);
    rec->ledger.fail_count = 2;
    return Write::ledger_only;
  }), "unchanged");
  expect_ok(s.update("alice", set_fail_count(3)), "again, nothing remembered");
  assert_int_equal(load_ok(other, "alice").ledger.fail_count, 3);

  // Another writer between load and update: the update sees its ledger.
  (void)load_ok(s, "alice");
  expect_ok(other.update("alice", set_fail_count(40)), "other writer");
  expect_ok(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
    assert_int_equal(rec->ledger.fail_count, 40);
    rec->ledger.fail_count = 41;
    return Write::ledger_only;
  }), "after another writer");
  assert_int_equal(load_ok(other, "alice").ledger.fail_count, 41);

  // The newest slot damaged after load: the update falls back to the older
  // slot, as a fresh read does; it never trusts the remembered ledger.
  (void)load_ok(s, "alice");
  Bytes file = state_test::read_file(f.file("alice"));
  auto d = decode_state_file(f.key, "alice", file);
  expect_ok(d);
  const Regions g = regions_of(file);
  file[(d->current_slot == 0 ? g.slot_a : g.slot_b) + 3] ^= 0x01;
  state_test::write_file(f.file("alice"), file);
  expect_ok(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
    assert_int_equal(rec->ledger.fail_count, 40);  // the slot before 41
    return Write::nothing;
  }), "damaged newest slot");

  // The enrolment damaged after load: the update refuses.
  (void)load_ok(s, "alice");
  file[kStateHeaderSize + 5] ^= 0x80;
  state_test::write_file(f.file("alice"), file);
  bool called = false;
  expect_error(s.update("alice", [&](std::optional<Record>&) -> Result<Write> {
    called = true;
    return Write::nothing;
  }), Errc::tampered, "enrolment", "damaged enrolment");
  assert_false(called);
}

// while_flushing runs once per write, after the new bytes are readable and
// before update returns; never when nothing is written.
void test_while_flushing(void**) {
  Fixture f;
  FileStore s = f.store();
  FileStore reader = f.store();
  const Record r = state_test::sample_record();
  int calls = 0;
  auto count = [&] { ++calls; };
  expect_ok(s.update("alice", put(r), count), "everything");
  assert_int_equal(calls, 1);
  expect_ok(s.update("alice", set_fail_count(5), [&] {
    ++calls;
    // The ledger is in the file already (durability is awaited after).
    assert_int_equal(load_ok(reader, "alice").ledger.fail_count, 5);
  }), "ledger_only");
  assert_int_equal(calls, 2);
  expect_ok(s.update("alice", set_fail_count(6, Write::nothing), count), "nothing");
  assert_int_equal(calls, 2);
  expect_error(s.update("alice", [](std::optional<Record>&) -> Result<Write> {
    return make_error(Errc::invalid_argument, "mutator refuses");
  }, count), Errc::invalid_argument, "mutator refuses", "mutator error");
  assert_int_equal(calls, 2);
  expect_ok(s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::remove; }, count), "remove");
  assert_int_equal(calls, 2);
}

void test_update_semantics(void**) {
  Fixture f;
  FileStore s = f.store();
  const Record r = state_test::sample_record();
  // The mutator sees nullopt for a new user.
  bool saw_none = false;
  expect_ok(s.update("alice", [&](std::optional<Record>& rec) -> Result<Write> {
    saw_none = !rec.has_value();
    rec = clone_record(r);
    return Write::everything;
  }));
  assert_true(saw_none);
  const Bytes v1 = state_test::read_file(f.file("alice"));
  const Regions g = regions_of(v1);
  assert_int_equal(v1.size(), kStateHeaderSize + g.enrolment_len + 2 * kLedgerSlotSize);

  // nothing: no byte changes.
  expect_ok(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
    rec->ledger.fail_count = 99;  // changed but not asked to be written
    return Write::nothing;
  }));
  assert_true(state_test::read_file(f.file("alice")) == v1);

  // ledger_only: header and enrolment untouched, exactly one slot rewritten,
  // the slots alternate.
  Bytes prev = v1;
  std::size_t last_slot = 0;
  for (std::uint32_t i = 1; i <= 4; ++i) {
    expect_ok(s.update("alice", set_fail_count(100 + i)), "ledger_only");
    const Bytes now = state_test::read_file(f.file("alice"));
    assert_int_equal(now.size(), v1.size());
    assert_memory_equal(now.data(), v1.data(), g.slot_a);  // header + enrolment
    const bool a_changed = std::memcmp(now.data() + g.slot_a, prev.data() + g.slot_a, kLedgerSlotSize) != 0;
    const bool b_changed = std::memcmp(now.data() + g.slot_b, prev.data() + g.slot_b, kLedgerSlotSize) != 0;
    assert_true(a_changed != b_changed);
    const std::size_t slot = a_changed ? 0 : 1;
    if (i > 1) assert_int_not_equal(slot, last_slot);
    last_slot = slot;
    assert_int_equal(load_ok(s, "alice").ledger.fail_count, 100 + i);
    auto d = decode_state_file(f.key, "alice", now);
    expect_ok(d);
    assert_int_equal(d->seq, 1 + i);
    prev = now;
  }

  // ledger_only but the enrolment changed: the whole file is rewritten.
  expect_ok(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
    rec->enrolment.recovery_hashes.pop_back();
    rec->ledger.fail_count = 7;
    return Write::ledger_only;
  }));
  Record after = load_ok(s, "alice");
  assert_int_equal(after.enrolment.recovery_hashes.size(), r.enrolment.recovery_hashes.size() - 1);
  assert_int_equal(after.ledger.fail_count, 7);

  // everything bumps the sequence in both slots.
  const Bytes before_all = state_test::read_file(f.file("alice"));
  auto d0 = decode_state_file(f.key, "alice", before_all);
  expect_ok(d0);
  expect_ok(s.update("alice", set_fail_count(8, Write::everything)));
  auto d1 = decode_state_file(f.key, "alice", state_test::read_file(f.file("alice")));
  expect_ok(d1);
  assert_int_equal(d1->seq, d0->seq + 1);

  // A mutator error is returned and nothing is written.
  const Bytes stable = state_test::read_file(f.file("alice"));
  expect_error(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
                 rec->ledger.fail_count = 1;
                 return make_error(Errc::locked, "mutator says locked");
               }),
               Errc::locked, "mutator says");
  assert_true(state_test::read_file(f.file("alice")) == stable);
  // An enrolment that would not parse back is never written.
  expect_error(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
                 rec->enrolment.otp.digits = 9;
                 return Write::everything;
               }),
               Errc::invalid_argument, "digits");
  assert_true(state_test::read_file(f.file("alice")) == stable);
  // Writing an empty record is a caller bug, not a silent remove.
  expect_error(s.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
                 rec.reset();
                 return Write::everything;
               }),
               Errc::invalid_argument, "nothing to write");
  expect_error(s.update("bob", set_fail_count(1)), Errc::not_found, "no record", "mutator refuses");
  expect_error(s.update("bob", [](std::optional<Record>&) -> Result<Write> { return Write::ledger_only; }),
               Errc::invalid_argument, "nothing to write", "ledger_only without a record");

  // remove: the file goes, load says no record; removing again is fine.
  expect_ok(s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::remove; }));
  struct stat st {};
  assert_int_not_equal(::lstat(f.file("alice").c_str(), &st), 0);
  auto gone = s.load("alice");
  expect_ok(gone);
  assert_false(gone->has_value());
  expect_ok(s.update("alice", [](std::optional<Record>&) -> Result<Write> { return Write::remove; }));
  // No temp files were left behind by any of this.
  int stray = 0;
  if (auto* d = ::opendir(f.dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      if (std::strstr(e->d_name, ".tmp") != nullptr) ++stray;
    }
    ::closedir(d);
  }
  assert_int_equal(stray, 0);
}

// Every bit of the file flipped, one at a time. Header and enrolment: refused
// with the region's reason. One ledger slot: the other slot is used (that is
// what makes in-place ledger writes crash-safe), and it holds the right
// ledger. Both slots: refused.
void test_every_bit_flip(void**) {
  Fixture f;
  FileStore s = f.store();
  Record r = state_test::sample_record();
  r.ledger.fail_count = 1;
  expect_ok(s.update("alice", put(r)));
  expect_ok(s.update("alice", set_fail_count(2)));  // slot B now newer (seq 2) than A (seq 1)
  const Bytes good = state_test::read_file(f.file("alice"));
  const Regions g = regions_of(good);
  const std::size_t enr = kStateHeaderSize;
  const std::size_t enr_tag = g.slot_a - kTagSize;

  struct Expect {
    Errc code;
    const char* word;
  };
  auto expectation = [&](std::size_t off) -> Expect {
    if (off < 8) return {Errc::tampered, "magic"};
    if (off < 10) return {Errc::unsupported, "version"};
    if (off < 12) return {Errc::tampered, "reserved"};
    if (off < 20) return {Errc::unsupported, "key id"};
    if (off < 24) return {Errc::tampered, ""};  // enrolment length: truncated / trailing / out of range
    (void)enr;
    (void)enr_tag;
    return {Errc::tampered, "enrolment authentication"};  // nonce, ciphertext, tag of the enrolment
  };

  int refused = 0, fell_back = 0;
  for (std::size_t off = 0; off < good.size(); ++off) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = good;
      bad[off] ^= static_cast<std::uint8_t>(1u << bit);
      state_test::write_file(f.file("alice"), bad);
      auto got = s.load("alice");
      if (off < g.slot_a) {
        const Expect e = expectation(off);
        if (got.ok()) fail_msg("flip at %zu bit %d accepted", off, bit);
        expect_error(got, e.code, e.word, "header/enrolment flip");
        ++refused;
      } else {
        // One slot damaged: the other slot's ledger is read.
        expect_ok(got, "single slot flip");
        const bool newer_damaged = off >= g.slot_b;
        assert_int_equal((*got)->ledger.fail_count, newer_damaged ? 1 : 2);
        ++fell_back;
      }
    }
  }
  assert_int_equal(refused, static_cast<int>(g.slot_a * 8));
  assert_int_equal(fell_back, static_cast<int>(2 * kLedgerSlotSize * 8));

  // Both slots damaged (nonce, ciphertext, tag of each): refused.
  for (std::size_t rel : {std::size_t{0}, kNonceSize + 3, kLedgerSlotSize - 1}) {
    Bytes bad = good;
    bad[g.slot_a + rel] ^= 0x10;
    bad[g.slot_b + rel] ^= 0x10;
    state_test::write_file(f.file("alice"), bad);
    expect_error(s.load("alice"), Errc::tampered, "no ledger slot", "both slots");
    expect_error(s.update("alice", set_fail_count(3)), Errc::tampered, "no ledger slot", "update on damaged");
    assert_true(state_test::read_file(f.file("alice")) == bad);  // update wrote nothing
  }
}

void test_every_truncation_and_size(void**) {
  Fixture f;
  FileStore s = f.store();
  expect_ok(s.update("alice", put(state_test::sample_record())));
  const Bytes good = state_test::read_file(f.file("alice"));
  for (std::size_t len = 0; len < good.size(); ++len) {
    state_test::write_file(f.file("alice"), Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
    auto r = s.load("alice");
    if (r.ok()) fail_msg("truncation to %zu accepted", len);
    expect_error(r, Errc::tampered, "truncated", "truncation");
  }
  state_test::write_file(f.file("alice"), Bytes(good.begin(), good.begin() + 100));
  bool called = false;
  expect_error(s.update("alice", [&](std::optional<Record>&) -> Result<Write> {
                 called = true;
                 return Write::everything;
               }),
               Errc::tampered, "truncated", "update on truncated");
  assert_false(called);

  Bytes longer = good;
  longer.push_back(0);
  state_test::write_file(f.file("alice"), longer);
  expect_error(s.load("alice"), Errc::tampered, "trailing", "one extra byte");
  Bytes huge = good;
  huge.resize(kMaxStateFileSize + 1, 0);
  state_test::write_file(f.file("alice"), huge);
  expect_error(s.load("alice"), Errc::too_large, "too large", "oversized");
  expect_error(s.update("alice", set_fail_count(1)), Errc::too_large, "too large", "update oversized");
  huge.resize(1 << 20, 0);
  state_test::write_file(f.file("alice"), huge);
  expect_error(s.load("alice"), Errc::too_large, "too large", "1 MiB");
}

void test_swapped_and_spliced_files(void**) {
  Fixture f;
  FileStore s = f.store();
  expect_ok(s.update("alice", put(state_test::sample_record(1))));
  expect_ok(s.update("bob", put(state_test::sample_record(2))));
  const Bytes alice = state_test::read_file(f.file("alice"));
  const Bytes bob = state_test::read_file(f.file("bob"));
  // alice's file under bob's name (and the other way round) does not open.
  state_test::write_file(f.file("bob"), alice);
  expect_error(s.load("bob"), Errc::tampered, "another user", "alice's file as bob");
  state_test::write_file(f.file("alice"), bob);
  expect_error(s.load("alice"), Errc::tampered, "another user", "bob's file as alice");
  // bob's ledger slots pasted behind alice's enrolment: the ledger AAD binds
  // the enrolment tag, so they do not open.
  state_test::write_file(f.file("alice"), alice);
  const Regions ga = regions_of(alice), gb = regions_of(bob);
  assert_int_equal(ga.enrolment_len, gb.enrolment_len);
  Bytes spliced = alice;
  std::memcpy(spliced.data() + ga.slot_a, bob.data() + gb.slot_a, 2 * kLedgerSlotSize);
  state_test::write_file(f.file("alice"), spliced);
  expect_error(s.load("alice"), Errc::tampered, "no ledger slot", "foreign slots");
  // alice's own older generation: slots from before an enrolment rewrite.
  state_test::write_file(f.file("alice"), alice);
  expect_ok(s.update("alice", set_fail_count(50, Write::everything)));
  const Bytes alice2 = state_test::read_file(f.file("alice"));
  Bytes old_slots = alice2;
  std::memcpy(old_slots.data() + ga.slot_a, alice.data() + ga.slot_a, 2 * kLedgerSlotSize);
  state_test::write_file(f.file("alice"), old_slots);
  expect_error(s.load("alice"), Errc::tampered, "no ledger slot", "older generation slots");
  // ... and one slot swapped for the other (A's bytes in B's place).
  Bytes swapped = alice2;
  std::memcpy(swapped.data() + ga.slot_b, alice2.data() + ga.slot_a, kLedgerSlotSize);
  std::memcpy(swapped.data() + ga.slot_a, alice2.data() + ga.slot_b, kLedgerSlotSize);
  state_test::write_file(f.file("alice"), swapped);
  expect_error(s.load("alice"), Errc::tampered, "no ledger slot", "slots swapped");
}

void test_wrong_and_missing_key(void**) {
  Fixture f;
  {
    FileStore s = f.store();
    expect_ok(s.update("alice", put(state_test::sample_record())));
  }
  auto other = FileStore::open(f.dir, state_test::random_key(), ::geteuid());
  expect_ok(other);
  expect_error(other->load("alice"), Errc::unsupported, "key id", "other key");
  expect_error(other->update("alice", set_fail_count(1)), Errc::unsupported, "key id", "update other key");
  // Another key that claims the same id (as a forged header would): GCM refuses.
  MasterKey forged = state_test::random_key();
  forged.id = f.key.id;
  auto liar = FileStore::open(f.dir, std::move(forged), ::geteuid());
  expect_ok(liar);
  expect_error(liar->load("alice"), Errc::tampered, "authentication", "same id, other key");
  // Missing key file: refused before any store exists.
  expect_error(load_master_key(f.t / "no-such-key", ::geteuid()), Errc::not_found, "does not exist", "missing key");
}

void test_file_type_owner_mode(void**) {
  Fixture f;
  FileStore s = f.store();
  const Record r = state_test::sample_record();
  expect_ok(s.update("alice", put(r)));
  const Bytes good = state_test::read_file(f.file("alice"));

  // Symlink where the file should be (pointing at a perfectly valid copy).
  state_test::write_file(f.t / "elsewhere", good);
  ::unlink(f.file("alice").c_str());
  assert_int_equal(::symlink((f.t / "elsewhere").c_str(), f.file("alice").c_str()), 0);
  expect_error(s.load("alice"), Errc::permission, "symbolic link", "symlinked file");
  expect_error(s.update("alice", set_fail_count(9)), Errc::permission, "symbolic link", "update symlinked file");
  assert_true(state_test::read_file(f.t / "elsewhere") == good);  // not written through
  ::unlink(f.file("alice").c_str());

  // A directory where the file should be.
  assert_int_equal(::mkdir(f.file("alice").c_str(), 0700), 0);
  expect_error(s.load("alice"), Errc::permission, "directory", "dir as file");
  expect_error(s.update("alice", set_fail_count(9)), Errc::permission, "directory", "update dir as file");
  ::rmdir(f.file("alice").c_str());

  // Group- or world-accessible file.
  for (mode_t m : {0640, 0604, 0660, 0644, 0606, 0620, 0602}) {
    state_test::write_file(f.file("alice"), good, m);
    expect_error(s.load("alice"), Errc::permission, "mode", "file mode");
    expect_error(s.update("alice", set_fail_count(9)), Errc::permission, "mode", "update file mode");
  }
  state_test::write_file(f.file("alice"), good, 0600);
  expect_ok(s.load("alice"), "restored");

  // A FIFO planted as the file must not hang the reader.
  ::unlink(f.file("bob").c_str());
  assert_int_equal(::mkfifo(f.file("bob").c_str(), 0600), 0);
  expect_error(s.load("bob"), Errc::permission, "regular", "fifo");

  // Lock file that is a symlink or has a bad mode: update refuses.
  assert_int_equal(::symlink((f.t / "elsewhere").c_str(), (f.dir + "/.lock.carol").c_str()), 0);
  expect_error(s.update("carol", put(r)), Errc::permission, "lock", "symlinked lock");
  state_test::write_file(f.dir + "/.lock.dave", {}, 0644);
  expect_error(s.update("dave", put(r)), Errc::permission, "lock", "lock mode");

  // State dir loosened after the store was opened: new opens of files keep
  // working through the fd, but a fresh FileStore refuses.
  assert_int_equal(::chmod(f.dir.c_str(), 0755), 0);
  expect_error(FileStore::open(f.dir, state_test::clone_key(f.key), ::geteuid()), Errc::permission, "mode", "loose dir");
  assert_int_equal(::chmod(f.dir.c_str(), 0700), 0);
}

void test_initialize(void**) {
  TempDir t;
  const std::string key = t / "pam_totp.key", dir = t / "state";
  std::vector<std::string> lines;
  auto report = [&](const std::string& l) { lines.push_back(l); };
  const mode_t old = ::umask(0);  // modes must not come from the umask
  expect_ok(initialize(key, dir, report), "first run");
  ::umask(old);
  assert_int_equal(lines.size(), 2);
  assert_true(lines[0].find("created") != std::string::npos && lines[0].find(key) != std::string::npos);
  assert_true(lines[1].find("created") != std::string::npos && lines[1].find(dir) != std::string::npos);
  struct stat st {};
  assert_int_equal(::lstat(key.c_str(), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_size, 32);
  assert_int_equal(st.st_uid, ::geteuid());
  assert_int_equal(::lstat(dir.c_str(), &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  assert_int_equal(st.st_uid, ::geteuid());
  const Bytes key_bytes = state_test::read_file(key);

  // Second run: a no-op that says so.
  lines.clear();
  expect_ok(initialize(key, dir, report), "second run");
  assert_int_equal(lines.size(), 2);
  assert_true(lines[0].find("kept") != std::string::npos);
  assert_true(lines[1].find("kept") != std::string::npos);
  assert_true(state_test::read_file(key) == key_bytes);
  // The created pair works together.
  auto k = load_master_key(key, ::geteuid());
  expect_ok(k);
  auto s = FileStore::open(dir, std::move(*k), ::geteuid());
  expect_ok(s);
  expect_ok(s->update("alice", put(state_test::sample_record())));

  // Wrong mode on the existing key: reported, not fixed.
  assert_int_equal(::chmod(key.c_str(), 0644), 0);
  expect_error(initialize(key, dir, report), Errc::permission, "mode", "loose key");
  assert_int_equal(::lstat(key.c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_true(state_test::read_file(key) == key_bytes);
  assert_int_equal(::chmod(key.c_str(), 0600), 0);
  // Wrong mode on the existing directory: reported, not fixed.
  assert_int_equal(::chmod(dir.c_str(), 0750), 0);
  expect_error(initialize(key, dir, report), Errc::permission, "mode", "loose dir");
  assert_int_equal(::lstat(dir.c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(::chmod(dir.c_str(), 0700), 0);
  // Symlinked key or dir, wrong key length, key that is a directory.
  const std::string key_link = t / "key-link", dir_link = t / "dir-link";
  assert_int_equal(::symlink(key.c_str(), key_link.c_str()), 0);
  assert_int_equal(::symlink(dir.c_str(), dir_link.c_str()), 0);
  expect_error(initialize(key_link, dir, report), Errc::permission, "symbolic link", "symlinked key");
  expect_error(initialize(key, dir_link, report), Errc::permission, "symbolic link", "symlinked dir");
  state_test::write_file(t / "short.key", Bytes(16, 1));
  expect_error(initialize(t / "short.key", dir, report), Errc::parse_error, "wrong length", "short key");
  // Missing parent directories are reported, not created.
  expect_error(initialize(t / "no/such.key", dir, report), Errc::not_found, "parent directory", "key parent");
  lines.clear();
  expect_error(initialize(key, t / "no/state", report), Errc::not_found, "parent directory", "dir parent");
  struct stat none {};
  assert_int_not_equal(::lstat((t / "no").c_str(), &none), 0);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_user_name),
      cmocka_unit_test(test_open_refusals),
      cmocka_unit_test(test_round_trips_through_store),
      cmocka_unit_test(test_update_semantics),
      cmocka_unit_test(test_update_after_load_uses_what_is_on_disk),
      cmocka_unit_test(test_while_flushing),
      cmocka_unit_test(test_every_bit_flip),
      cmocka_unit_test(test_every_truncation_and_size),
      cmocka_unit_test(test_swapped_and_spliced_files),
      cmocka_unit_test(test_wrong_and_missing_key),
      cmocka_unit_test(test_file_type_owner_mode),
      cmocka_unit_test(test_initialize),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
