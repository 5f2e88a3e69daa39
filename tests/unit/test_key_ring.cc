// SPDX-License-Identifier: Apache-2.0
// The key ring (core/key.h) and the rotation (core/rekey.h): loading
// <key_file>.previous with every check the key gets (its errors name it);
// records opened under the previous key; a ledger write into a record under
// the previous key becomes a whole rewrite under the current key; a store
// that outlives a rotation seals under the new key; rekey() from every
// state a crash can leave, and with a record it cannot open.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "core/key.h"
#include "core/rekey.h"
#include "core/sealed_record.h"
#include "core/store.h"
#include "tests/unit/state_test_util.h"

using namespace totp;
using state_test::expect_error;
using state_test::expect_ok;
using state_test::TempDir;
using Write = FileStore::Write;
using Bytes = std::vector<std::uint8_t>;

namespace {

const uid_t me = ::geteuid();

// Writes `key` as a key file (0600).
void write_key(const std::string& path, const MasterKey& key, mode_t mode = 0600) {
  state_test::write_file(path, Bytes(key.bytes.data(), key.bytes.data() + key.bytes.size()), mode);
}

KeyRing ring_of(const MasterKey& current, const MasterKey* previous = nullptr) {
  KeyRing r(current);
  if (previous != nullptr) r.previous = state_test::clone_key(*previous);
  return r;
}

KeyId header_key_id(const std::string& file) {
  auto bytes = state_test::read_file(file);
  auto layout = parse_state_layout(bytes);
  expect_ok(layout, "layout");
  return layout->key_id;
}

void test_load_ring(void**) {
  TempDir t;
  const std::string k = t / "key";
  const MasterKey a = state_test::random_key(), b = state_test::random_key();
  write_key(k, a);
  auto one = load_key_ring(k, me);
  expect_ok(one, "no previous");
  assert_true(one->current.id == a.id);
  assert_false(one->previous.has_value());
  assert_string_equal(one->path.c_str(), k.c_str());
  assert_true(one->find(a.id) == &one->current);
  assert_null(one->find(b.id));

  write_key(previous_key_path(k), b);
  auto two = load_key_ring(k, me);
  expect_ok(two, "with previous");
  assert_true(two->previous.has_value());
  assert_true(two->previous->id == b.id);
  assert_true(two->find(b.id) == &*two->previous);
  assert_true(two->describe().find(key_id_hex(b.id)) != std::string::npos);

  // The same key under both names (rekey stopped between link and rename).
  write_key(previous_key_path(k), a);
  auto same = load_key_ring(k, me);
  expect_ok(same, "previous = current");
  assert_false(same->previous.has_value());

  // .next is nobody's business but rekey's.
  write_key(next_key_path(k), b, 0644);
  expect_ok(load_key_ring(k, me), ".next ignored");
}

void test_bad_previous(void**) {
  TempDir t;
  const std::string k = t / "key", p = previous_key_path(k);
  const MasterKey a = state_test::random_key(), b = state_test::random_key();
  write_key(k, a);
  for (mode_t m : {0640, 0604, 0660, 0644}) {
    write_key(p, b, m);
    expect_error(load_key_ring(k, me), Errc::permission, ".previous", "previous mode");
  }
  write_key(p, b);
  expect_error(load_key_ring(k, me + 1), Errc::permission, "owner", "key owner");  // the key itself first
  state_test::write_file(p, Bytes(31, 1));
  expect_error(load_key_ring(k, me), Errc::parse_error, ".previous: wrong length 31", "short previous");
  state_test::write_file(p, Bytes(33, 1));
  expect_error(load_key_ring(k, me), Errc::parse_error, ".previous: wrong length 33", "long previous");
  ::unlink(p.c_str());
  write_key(t / "elsewhere", b);
  assert_int_equal(::symlink((t / "elsewhere").c_str(), p.c_str()), 0);
  expect_error(load_key_ring(k, me), Errc::permission, ".previous", "symlinked previous");
  ::unlink(p.c_str());
  assert_int_equal(::mkdir(p.c_str(), 0700), 0);
  expect_error(load_key_ring(k, me), Errc::permission, ".previous", "directory previous");
  ::rmdir(p.c_str());
  assert_int_equal(::mkfifo(p.c_str(), 0600), 0);
  expect_error(load_key_ring(k, me), Errc::permission, ".previous", "fifo previous");
  ::unlink(p.c_str());
  if (state_test::is_root()) {
    write_key(p, b);
    assert_int_equal(::chown(p.c_str(), 1, 0), 0);
    expect_error(load_key_ring(k, 0), Errc::permission, ".previous", "previous owned by uid 1");
  }
  ::unlink(p.c_str());
  expect_ok(load_key_ring(k, me), "previous gone");
}

void test_decode_under_previous(void**) {
  const MasterKey a = state_test::random_key(), b = state_test::random_key(), c = state_test::random_key();
  const Record r = state_test::sample_record();
  auto file = encode_state_file(a, "alice", r, 7);
  expect_ok(file, "encode under a");

  auto d = decode_state_file(ring_of(b, &a), "alice", *file);
  expect_ok(d, "ring {b, a}");
  assert_true(d->key_id == a.id);
  assert_int_equal(d->seq, 7);
  state_test::expect_same_record(d->record, r);

  auto only_b = decode_state_file(ring_of(b), "alice", *file);
  expect_error(only_b, Errc::unsupported, key_id_hex(a.id).c_str(), "ring {b}");
  expect_error(only_b, Errc::unsupported, key_id_hex(b.id).c_str(), "ring {b} names b");
  auto b_c = decode_state_file(ring_of(b, &c), "alice", *file);
  expect_error(b_c, Errc::unsupported, key_id_hex(c.id).c_str(), "ring {b, c} names c");
  expect_error(b_c, Errc::unsupported, "previous", "ring {b, c}");

  // The directory form too; a ledger value is sealed under its enrolment's key only.
  auto sealed = seal_record(a, "alice", r, 3);
  expect_ok(sealed, "seal_record a");
  auto o = open_sealed_record(ring_of(b, &a), "alice", sealed->enrolment, sealed->ledger);
  expect_ok(o, "open sealed under previous");
  assert_true(o->key_id == a.id);
  expect_error(seal_ledger_value(b, "alice", sealed->enrolment, 4, r.ledger), Errc::invalid_argument, "key id",
               "ledger under another key than its enrolment");
  expect_error(open_sealed_record(ring_of(c), "alice", sealed->enrolment, sealed->ledger), Errc::unsupported,
               "key id", "sealed record, unknown key");
}

void test_ledger_write_promotes(void**) {
  state_test::StoreFixture f;
  const MasterKey b = state_test::random_key();
  {
    FileStore old_store = f.store();  // key a = f.key
    expect_ok(old_store.update("alice", [](std::optional<Record>& rec) -> Result<Write> {
      rec = state_test::sample_record();
      rec->ledger.fail_count = 0;
      return Write::everything;
    }));
  }
  assert_true(header_key_id(f.file("alice")) == f.key.id);

  auto ring = FileStore::open(f.dir, ring_of(b, &f.key), me);
  expect_ok(ring, "store {b, a}");
  auto probe = ring->sealed_key_id("alice");
  expect_ok(probe, "probe");
  assert_true(probe->has_value() && **probe == f.key.id);
  auto none = ring->sealed_key_id("nobody");
  expect_ok(none, "probe nobody");
  assert_false(none->has_value());

  // A wrong code: counted in the spare slot, under the file's key (a).
  expect_ok(ring->update_checked("alice", [](std::optional<Record>& rec, const FileStore::OnRecord& on_record) -> Result<Write> {
    Ledger counted = rec->ledger;
    counted.fail_count += 1;
    if (auto st = on_record(counted); !st) return st.error();
    return Write::nothing;
  }));
  assert_true(header_key_id(f.file("alice")) == f.key.id);
  {
    FileStore a_only = f.store();
    auto rec = a_only.load("alice");
    expect_ok(rec, "a still opens it");
    assert_int_equal((*rec)->ledger.fail_count, 1);
  }

  // A ledger-only write (a login): the whole file, under b.
  expect_ok(ring->update("alice", [](std::optional<Record>& rec) -> Result<Write> {
    rec->ledger.fail_count = 0;
    rec->ledger.last_login_time = 1700001234;
    return Write::ledger_only;
  }));
  assert_true(header_key_id(f.file("alice")) == b.id);
  auto b_only = FileStore::open(f.dir, ring_of(b), me);
  expect_ok(b_only);
  auto rec = b_only->load("alice");
  expect_ok(rec, "b opens it");
  assert_int_equal((*rec)->ledger.fail_count, 0);
  assert_true((*rec)->ledger.last_login_time == 1700001234);
  // ... with the enrolment intact.
  Record want = state_test::sample_record();
  assert_true(constant_time_equal((*rec)->enrolment.secret.span(), want.enrolment.secret.span()));
  expect_error(f.store().load("alice"), Errc::unsupported, "key id", "a alone no longer opens it");

  // Under the current key, a ledger write stays a slot write (same header).
  const Bytes before = state_test::read_file(f.file("alice"));
  expect_ok(b_only->update("alice", [](std::optional<Record>& r2) -> Result<Write> {
    r2->ledger.fail_count = 1;
    return Write::ledger_only;
  }));
  const Bytes after = state_test::read_file(f.file("alice"));
  auto lb = parse_state_layout(before);
  assert_memory_equal(before.data(), after.data(), lb->slot_offset[0]);  // header + enrolment untouched
}

// A store opened before a rotation seals whole writes under the new key.
void test_store_outlives_rotation(void**) {
  TempDir t;
  const std::string k = t / "key", dir = t / "state";
  assert_int_equal(::mkdir(dir.c_str(), 0700), 0);
  const MasterKey a = state_test::random_key(), b = state_test::random_key();
  write_key(k, a);
  auto ring = load_key_ring(k, me);
  expect_ok(ring);
  auto store = FileStore::open(dir, std::move(*ring), me);
  expect_ok(store);
  expect_ok(store->update("bob", [](std::optional<Record>& rec) -> Result<Write> {
    rec = state_test::sample_record();
    return Write::everything;
  }));
  assert_true(header_key_id(dir + "/bob") == a.id);
  // rekey's b1 and b2, by hand.
  assert_int_equal(::link(k.c_str(), previous_key_path(k).c_str()), 0);
  write_key(t / "new", b);
  assert_int_equal(::rename((t / "new").c_str(), k.c_str()), 0);
  expect_ok(store->update("carol", [](std::optional<Record>& rec) -> Result<Write> {
    rec = state_test::sample_record(0x11);
    return Write::everything;
  }));
  assert_true(header_key_id(dir + "/carol") == b.id);
  // A record written by a process with the new ring opens in the old store too.
  auto rec = store->load("carol");
  expect_ok(rec, "old store reads the new key's record");
}

Settings settings_in(const TempDir& t) {
  Settings s;
  s.key_file = t / "key";
  s.state_dir = t / "state";
  return s;
}

// n users under `key` in t/state.
void enrol_all(const TempDir& t, const MasterKey& key, int n) {
  auto store = FileStore::open(t / "state", KeyRing(key), me);
  expect_ok(store);
  for (int i = 0; i < n; ++i) {
    expect_ok(store->update("u" + std::to_string(i), [i](std::optional<Record>& rec) -> Result<Write> {
      rec = state_test::sample_record(static_cast<std::uint8_t>(i));
      return Write::everything;
    }));
  }
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Every record opens with the key file alone and is sealed under it.
void expect_all_under_current(const TempDir& t, int n) {
  auto ring = load_key_ring(t / "key", me);
  expect_ok(ring);
  assert_false(ring->previous.has_value());
  const KeyId id = ring->current.id;
  auto store = FileStore::open(t / "state", std::move(*ring), me);
  expect_ok(store);
  for (int i = 0; i < n; ++i) {
    const std::string u = "u" + std::to_string(i);
    auto probe = store->sealed_key_id(u);
    expect_ok(probe, u.c_str());
    assert_true(probe->has_value() && **probe == id);
    auto rec = store->load(u);
    expect_ok(rec);
    state_test::expect_same_record(**rec, state_test::sample_record(static_cast<std::uint8_t>(i)));
  }
}

void test_rekey_runs(void**) {
  TempDir t;
  assert_int_equal(::mkdir((t / "state").c_str(), 0700), 0);
  const MasterKey a = state_test::random_key();
  write_key(t / "key", a);
  enrol_all(t, a, 80);  // enough for the worker processes
  const Settings s = settings_in(t);
  std::vector<std::string> lines;
  auto report = rekey(s, [&](const std::string& l) { lines.push_back(l); }, me);
  expect_ok(report, "rekey");
  assert_true(report->rotated);
  assert_true(report->previous_removed);
  assert_true(report->previous_key_id && *report->previous_key_id == a.id);
  assert_false(report->key_id == a.id);
  assert_int_equal(report->resealed.size(), 80);
  assert_int_equal(report->already.size(), 0);
  assert_int_equal(report->failed.size(), 0);
  assert_false(exists(t / "key.previous"));
  assert_false(exists(t / "key.next"));
  expect_all_under_current(t, 80);

  // Again: another rotation.
  auto again = rekey(s, {}, me);
  expect_ok(again, "rekey again");
  assert_true(again->rotated);
  assert_true(*again->previous_key_id == report->key_id);
  assert_int_equal(again->resealed.size(), 80);
  expect_all_under_current(t, 80);
}

// Each state a killed run can leave behind, finished by the next run.
void test_rekey_resumes(void**) {
  for (int state = 0; state < 5; ++state) {
    TempDir t;
    assert_int_equal(::mkdir((t / "state").c_str(), 0700), 0);
    const MasterKey a = state_test::random_key(), b = state_test::random_key();
    write_key(t / "key", a);
    enrol_all(t, a, 6);
    const std::string k = t / "key", p = k + ".previous", n = k + ".next";
    switch (state) {
      case 0:  // killed while writing .next.tmp
        state_test::write_file(n + ".tmp", Bytes(5, 0));
        break;
      case 1:  // .next complete
        write_key(n, b);
        break;
      case 2:  // .previous linked, .next not renamed yet
        write_key(n, b);
        assert_int_equal(::link(k.c_str(), p.c_str()), 0);
        break;
      case 3: {  // renamed, half the records resealed
        write_key(n, b);
        assert_int_equal(::link(k.c_str(), p.c_str()), 0);
        assert_int_equal(::rename(n.c_str(), k.c_str()), 0);
        auto store = FileStore::open(t / "state", ring_of(b, &a), me);
        for (int i = 0; i < 3; ++i) {
          expect_ok(store->update("u" + std::to_string(i), [](std::optional<Record>&) -> Result<Write> {
            return Write::everything;
          }));
        }
        break;
      }
      case 4:  // all resealed, .previous not removed yet
        write_key(n, b);
        assert_int_equal(::link(k.c_str(), p.c_str()), 0);
        assert_int_equal(::rename(n.c_str(), k.c_str()), 0);
        {
          auto store = FileStore::open(t / "state", ring_of(b, &a), me);
          for (int i = 0; i < 6; ++i) {
            expect_ok(store->update("u" + std::to_string(i), [](std::optional<Record>&) -> Result<Write> {
              return Write::everything;
            }));
          }
        }
        break;
    }
    auto report = rekey(settings_in(t), {}, me);
    expect_ok(report, "resumed rekey");
    assert_true(report->previous_removed);
    if (state >= 1) assert_true(report->key_id == b.id);
    assert_false(report->key_id == a.id);
    assert_int_equal(report->resealed.size() + report->already.size(), 6);
    if (state == 3) assert_int_equal(report->already.size(), 3);
    if (state == 4) assert_int_equal(report->already.size(), 6);
    assert_false(exists(p));
    assert_false(exists(n));
    assert_false(exists(n + ".tmp"));
    expect_all_under_current(t, 6);
  }
}

void test_rekey_failures(void**) {
  TempDir t;
  assert_int_equal(::mkdir((t / "state").c_str(), 0700), 0);
  const MasterKey a = state_test::random_key(), stranger = state_test::random_key();
  write_key(t / "key", a);
  enrol_all(t, a, 4);
  // One record under a key the server never had, one damaged.
  {
    auto other = FileStore::open(t / "state", KeyRing(stranger), me);
    expect_ok(other->update("zz-foreign", [](std::optional<Record>& rec) -> Result<Write> {
      rec = state_test::sample_record();
      return Write::everything;
    }));
  }
  Bytes damaged = state_test::read_file(t / "state/u1");
  damaged[60] ^= 1;
  state_test::write_file(t / "state/u1", damaged);

  auto report = rekey(settings_in(t), {}, me);
  expect_ok(report, "rekey with failures");
  assert_int_equal(report->failed.size(), 2);
  assert_string_equal(report->failed[0].first.c_str(), "u1");
  assert_string_equal(report->failed[1].first.c_str(), "zz-foreign");
  assert_true(report->failed[1].second.find(key_id_hex(stranger.id)) != std::string::npos);
  assert_int_equal(report->resealed.size(), 3);
  assert_false(report->previous_removed);
  assert_true(exists(t / "key.previous"));

  // Dealt with (removed): the next run finishes.
  ::unlink((t / "state/u1").c_str());
  ::unlink((t / "state/zz-foreign").c_str());
  auto again = rekey(settings_in(t), {}, me);
  expect_ok(again, "rekey after the fix");
  assert_false(again->rotated);
  assert_int_equal(again->already.size(), 3);
  assert_true(again->previous_removed);
  assert_false(exists(t / "key.previous"));

  // A bad .next is refused, naming it; nothing changes.
  state_test::write_file(t / "key.next", Bytes(32, 7), 0644);
  expect_error(rekey(settings_in(t), {}, me), Errc::permission, "key.next", "loose .next");
  // A third key while a rotation is unfinished.
  const MasterKey c = state_test::random_key(), d = state_test::random_key();
  write_key(t / "key.next", c);
  write_key(t / "key.previous", d);
  expect_error(rekey(settings_in(t), {}, me), Errc::invalid_argument, "third key", "third key");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_ring),
      cmocka_unit_test(test_bad_previous),
      cmocka_unit_test(test_decode_under_previous),
      cmocka_unit_test(test_ledger_write_promotes),
      cmocka_unit_test(test_store_outlives_rotation),
      cmocka_unit_test(test_rekey_runs),
      cmocka_unit_test(test_rekey_resumes),
      cmocka_unit_test(test_rekey_failures),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
