// SPDX-License-Identifier: Apache-2.0
// See rekey.h. The order of the steps is the whole point of this file.
//
// K = key_file, P = K.previous, N = K.next, T = K.next.tmp; "old" is the
// key every record is sealed under when the run starts, "new" the one it
// ends with. A reader's ring is K plus P if present (core/key.h). Crash
// (kill -9, power loss) between any two of these system calls:
//
//   0. start: K=old                            ring {old}: every record opens
//   a1. unlink a stale T; create T (O_EXCL, 0600), write, fsync T, fsync dir
//       crash: K=old, maybe T -> ring {old}; next run removes T, starts over
//   a2. rename T -> N, fsync dir
//       crash: K=old, N=new -> ring {old}; nothing is sealed under new yet;
//       next run finds N and uses it (checked like any key)
//   b1. link K -> P (a second name for the old key's file), fsync dir
//       crash: K=old, P=old, N=new -> ring {old} (P equal to K is
//       ignored); next run sees P equal to K with N present: goes on at b2
//   b2. rename N -> K (atomic: K is the old or the new key, never neither),
//       fsync dir
//       crash: K=new, P=old -> ring {new, old}: every record opens, every
//       write seals under new; next run sees P without N: goes on at c
//   c.  per user, under the store's update (the user's lock, or the
//       directory's compare-and-swap): a record under old is written whole
//       under new (atomic_replace + fsync / one modify). Crash: each record
//       is under old or new, both in the ring; next run skips those under
//       new (their header says so) and reseals the rest
//   d.  only when no record is left under old (none failed): unlink P,
//       fsync dir
//       crash before: as after b2; after: K=new, every record under new.
//
// Concurrent writers during the rotation: a login that loaded its ring
// before b2 and writes a ledger into a record under old writes under old
// (its header's key), which c then reseals (the user's lock or the
// compare-and-swap orders the two). A whole write always seals under K as
// it is on disk at that moment (the stores look again: reload_if_rotated),
// so a process that started before b2 (an enrolment waiting for its
// confirmation code) does not seal a record under a key being retired.
// Names that appear while c runs are picked up by a second listing.
#include "core/rekey.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <set>
#include <span>
#include <utility>

#include "core/fs.h"
#include "core/ldap_store.h"
#include "core/record_store.h"
#include "core/store.h"
#include "core/store_factory.h"

namespace totp {

namespace {

// How many times the store is listed: the first listing does the work, the
// others pick up names that appeared meanwhile.
constexpr int kMaxListings = 3;
// Worker processes for the files store's records, and from how many records
// on they are worth starting.
constexpr std::size_t kWorkers = 16;
constexpr std::size_t kMinUsersForWorkers = 64;

// key_file's directory, held open: every step below is a *at() call in it,
// and its fd is what is fsync'ed and locked.
class KeyDir {
 public:
  static Result<KeyDir> open(const std::string& key_file, uid_t owner) {
    const auto slash = key_file.find_last_of('/');
    KeyDir d;
    d.dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : key_file.substr(0, slash));
    d.base_ = slash == std::string::npos ? key_file : key_file.substr(slash + 1);
    if (d.base_.empty()) return make_error(Errc::invalid_argument, "key_file " + key_file + " names a directory");
    d.fd_.reset(::open(d.dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d.fd_.valid()) return make_error(Errc::io_error, "key directory " + d.dir_ + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(d.fd_.get(), &st) != 0) return make_error(Errc::io_error, "key directory " + d.dir_ + ": " + errno_text(errno));
    // Whoever may write here could swap keys under us.
    if (st.st_uid != owner || (st.st_mode & 022) != 0) {
      return make_error(Errc::permission, "key directory " + d.dir_ +
                                              ": must be owned by root and writable by no one else (owner uid " +
                                              std::to_string(st.st_uid) + ", mode " + mode_text(st.st_mode) + ")");
    }
    return d;
  }

  // One rekey at a time (two would make two different .next files).
  Status lock() {
    while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) return make_error(Errc::busy, "another 'totp-setup rekey' is running (" + dir_ + " is locked)");
      return make_error(Errc::io_error, "key directory " + dir_ + ": flock: " + errno_text(errno));
    }
    return ok_status();
  }

  Status sync() const {
    if (::fsync(fd_.get()) != 0) return make_error(Errc::io_error, "key directory " + dir_ + ": fsync: " + errno_text(errno));
    return ok_status();
  }

  // Present (lstat, not following a symbolic link: a link there is then
  // refused by the key checks), absent, or an error.
  Result<bool> exists(const std::string& name) const {
    struct stat st {};
    if (::fstatat(fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
    if (errno == ENOENT) return false;
    return make_error(Errc::io_error, path(name) + ": " + errno_text(errno));
  }

  Status remove(const std::string& name) const {
    if (::unlinkat(fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return make_error(Errc::io_error, path(name) + ": cannot remove: " + errno_text(errno));
    }
    return sync();
  }

  Status rename(const std::string& from, const std::string& to) const {
    if (::renameat(fd_.get(), from.c_str(), fd_.get(), to.c_str()) != 0) {
      return make_error(Errc::io_error, "rename " + path(from) + " -> " + path(to) + ": " + errno_text(errno));
    }
    return sync();
  }

  // A second name for a file (no following of a symbolic link).
  Status link(const std::string& from, const std::string& to) const {
    if (::linkat(fd_.get(), from.c_str(), fd_.get(), to.c_str(), 0) != 0) {
      return make_error(Errc::io_error, "link " + path(from) + " -> " + path(to) + ": " + errno_text(errno));
    }
    return sync();
  }

  std::string path(const std::string& name) const { return dir_ == "/" ? "/" + name : dir_ + "/" + name; }
  const std::string& base() const { return base_; }

 private:
  static std::string mode_text(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
  }
  std::string dir_, base_;
  UniqueFd fd_;
};

// Steps a and b: afterwards K is the key every record is to be sealed
// under, and P (if present) the one being retired. Sets report.rotated.
Status rotate_files(const KeyDir& dir, uid_t owner, RekeyReport& report,
                    const std::function<void(const std::string&)>& progress) {
  const std::string k = dir.base(), p = k + ".previous", n = k + ".next", t = k + ".next.tmp";
  auto current = load_master_key(dir.path(k), owner);
  if (!current) return current.error();
  auto has_p = dir.exists(p);
  if (!has_p) return has_p.error();
  auto has_n = dir.exists(n);
  if (!has_n) return has_n.error();

  std::optional<MasterKey> next;
  if (*has_n) {
    auto loaded = load_master_key(dir.path(n), owner);
    if (!loaded) return make_error(loaded.error().code, "new " + loaded.error().message);
    next = std::move(*loaded);
  }

  if (*has_p) {
    auto previous = load_master_key(dir.path(p), owner);
    if (!previous) return make_error(previous.error().code, "previous " + previous.error().message);
    if (!next) return ok_status();  // stopped in c or d: finish those
    if (previous->id != current->id) {
      if (next->id == current->id) {
        // .next is the current key already (copied there by hand): nothing to rename.
        return dir.remove(n);
      }
      return make_error(Errc::invalid_argument,
                        "a rotation from key id " + key_id_hex(previous->id) + " to key id " + key_id_hex(current->id) +
                            " is not finished, and " + dir.path(n) + " holds a third key (key id " +
                            key_id_hex(next->id) + "): move it away, run 'totp-setup rekey' to finish, then put it back");
    }
    // Stopped between b1 and b2.
  } else {
    if (!next) {
      // a: a new key, complete before it has its name.
      if (auto st = dir.remove(t); !st) return st;
      auto made = create_master_key(dir.path(t));
      if (!made) return make_error(made.error().code, "new " + made.error().message);
      if (auto st = dir.rename(t, n); !st) return st;
      next = std::move(*made);
      progress("made a new master key (key id " + key_id_hex(next->id) + ") in " + dir.path(n));
    }
    if (next->id == current->id) {
      // Nothing to rotate to (a fleet's new key copied as .next to the
      // server it was made on): check the records only.
      return dir.remove(n);
    }
    // b1
    if (auto st = dir.link(k, p); !st) return st;
  }
  // b2
  if (auto st = dir.rename(n, k); !st) return st;
  report.rotated = true;
  progress("master key key id " + key_id_hex(next->id) + " in place; previous key id " + key_id_hex(current->id) +
           " kept in " + dir.path(p) + " until every record is sealed again");
  return ok_status();
}

// The store, opened with `keys` (who must own its files: `owner`).
Result<std::unique_ptr<RecordStore>> open_store(const Settings& settings, KeyRing keys, uid_t owner) {
  if (owner == 0) return open_record_store(settings, std::move(keys));
  if (settings.store == Settings::StoreKind::ldap) {
    auto store = LdapStore::open(settings, std::move(keys), owner);
    if (!store) return store.error();
    return std::unique_ptr<RecordStore>(std::move(*store));
  }
  auto store = FileStore::open(settings.state_dir, std::move(keys), owner);
  if (!store) return make_error(store.error().code, "state directory unusable: " + store.error().message);
  return std::unique_ptr<RecordStore>(std::make_unique<FileStore>(std::move(*store)));
}

// What became of one user's record.
struct Outcome {
  enum Kind : char { resealed = 'R', already = 'A', gone = 'G', failed = 'F' } kind = failed;
  std::string why;  // failed: the reason
};

// Step c for one user: read (authenticated whole) to learn its key; under
// the current key, nothing to do; else rewritten whole, which the store
// seals under the current key. Decided on the record read under the lock
// (or the compare-and-swap): nothing else changes.
Outcome reseal_one(RecordStore& store, const SealedKeyProbe& probe, const std::string& user, const KeyId& current) {
  auto sealed_under = probe.sealed_key_id(user);
  if (!sealed_under) return {Outcome::failed, sealed_under.error().message};
  if (!*sealed_under) return {Outcome::gone, {}};
  if (**sealed_under == current) return {Outcome::already, {}};
  Status st = store.update(user, [](std::optional<Record>& record) -> Result<RecordStore::Write> {
    return record ? RecordStore::Write::everything : RecordStore::Write::nothing;
  });
  if (!st) return {Outcome::failed, st.error().message};
  return {Outcome::resealed, {}};
}

void record_outcome(const Outcome& o, const std::string& user, RekeyReport& report,
                    const std::function<void(const std::string&)>& say) {
  switch (o.kind) {
    case Outcome::resealed: report.resealed.push_back(user); break;
    case Outcome::already: report.already.push_back(user); break;
    case Outcome::gone: break;  // removed meanwhile
    case Outcome::failed:
      report.failed.emplace_back(user, o.why);
      say("failed " + user + ": " + o.why);
      break;
  }
}

// A worker's report, one line per user: kind, user, TAB, reason (newlines
// made spaces), and "D" when it has done all its users.
std::string line_of(const Outcome& o, const std::string& user) {
  std::string why = o.why;
  for (char& c : why) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return std::string(1, static_cast<char>(o.kind)) + user + "\t" + why + "\n";
}

bool write_fully(int fd, const std::string& s) {
  return write_all(fd, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())).ok();
}

// The child's whole life: its own store (its own ring, from the files),
// users k, k + workers, ... ; never returns.
[[noreturn]] void run_worker(const Settings& settings, uid_t owner, const std::vector<std::string>& users,
                             std::size_t k, std::size_t workers, int out) {
  // Dies with the rekey that made it: a killed rekey leaves no one writing.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) _exit(3);
  auto keys = load_key_ring(settings.key_file, owner);
  if (!keys) {
    (void)write_fully(out, "X\t" + keys.error().message + "\n");
    _exit(2);
  }
  const KeyId current = keys->current.id;
  auto store = open_store(settings, std::move(*keys), owner);
  const auto* probe = store ? dynamic_cast<const SealedKeyProbe*>(store->get()) : nullptr;
  if (!store || probe == nullptr) {
    (void)write_fully(out, "X\t" + (store ? std::string("no key probe") : store.error().message) + "\n");
    _exit(2);
  }
  std::string batch;
  for (std::size_t i = k; i < users.size(); i += workers) {
    batch += line_of(reseal_one(**store, *probe, users[i], current), users[i]);
    if (batch.size() >= 4096 && !write_fully(out, std::exchange(batch, std::string()))) _exit(2);
  }
  batch += "D\n";
  _exit(write_fully(out, batch) ? 0 : 2);
}

// Step c for `users` in kWorkers processes; their outcomes into `report`.
// An error when a worker could not work or did not finish (the users it
// did not report are then unknown: the caller stops, .previous stays).
Status reseal_in_workers(const Settings& settings, uid_t owner, const std::vector<std::string>& users,
                         RekeyReport& report, const std::function<void(const std::string&)>& say) {
  const std::size_t workers = std::min<std::size_t>(kWorkers, users.size());
  std::vector<pid_t> pids;
  std::vector<UniqueFd> pipes;
  Status trouble = ok_status();
  for (std::size_t k = 0; k < workers; ++k) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      trouble = make_error(Errc::io_error, "pipe: " + errno_text(errno));
      break;
    }
    UniqueFd rd(fds[0]), wr(fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
      trouble = make_error(Errc::io_error, "fork: " + errno_text(errno));
      break;
    }
    if (pid == 0) {
      for (auto& p : pipes) p.reset();
      rd.reset();
      run_worker(settings, owner, users, k, workers, wr.get());
    }
    pids.push_back(pid);
    pipes.push_back(std::move(rd));
  }
  // Each pipe read to its end in turn: a worker whose pipe is full waits
  // for its turn, never forever.
  for (std::size_t k = 0; k < pipes.size(); ++k) {
    std::string text;
    char buf[8192];
    for (;;) {
      const ssize_t got = ::read(pipes[k].get(), buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      text.append(buf, static_cast<std::size_t>(got));
    }
    bool done = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;
      const std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line == "D") {
        done = true;
        continue;
      }
      const std::size_t tab = line.find('\t');
      if (line.empty() || tab == std::string::npos) continue;
      if (line[0] == 'X') {
        trouble = make_error(Errc::io_error, "rekey worker: " + line.substr(tab + 1));
        continue;
      }
      Outcome o;
      o.kind = static_cast<Outcome::Kind>(line[0]);
      o.why = line.substr(tab + 1);
      record_outcome(o, line.substr(1, tab - 1), report, say);
    }
    if (!done && trouble.ok()) trouble = make_error(Errc::io_error, "a rekey worker stopped before it was done");
  }
  for (pid_t pid : pids) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  return trouble;
}

}  // namespace

Result<RekeyReport> rekey(const Settings& settings, const std::function<void(const std::string&)>& progress,
                          uid_t owner) {
  const auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  auto dir = KeyDir::open(settings.key_file, owner);
  if (!dir) return dir.error();
  TOTP_TRY_STATUS(dir->lock());

  RekeyReport report;
  TOTP_TRY_STATUS(rotate_files(*dir, owner, report, say));

  // From here on the files say it all: the ring as any reader loads it.
  auto keys = load_key_ring(settings.key_file, owner);
  if (!keys) return keys.error();
  report.key_id = keys->current.id;
  if (keys->previous) report.previous_key_id = keys->previous->id;
  // (A .previous equal to the current key is not in the ring, but its
  // file still goes in d.)
  auto has_previous = dir->exists(dir->base() + ".previous");
  if (!has_previous) return has_previous.error();

  auto store = open_store(settings, std::move(*keys), owner);
  if (!store) return store.error();
  const auto* probe = dynamic_cast<const SealedKeyProbe*>(store->get());
  if (probe == nullptr) return make_error(Errc::unsupported, "this store cannot tell which key a record is sealed under");
  auto* directory = dynamic_cast<LdapStore*>(store->get());

  // c: every record, once; names that appear meanwhile in a later listing.
  // The files store's first listing is shared out among worker processes
  // (a durable rewrite mostly waits for the disk, and the disk commits
  // concurrent fsyncs together); the directory's is done here, in order.
  std::set<std::string> seen;
  for (int listing = 0; listing < kMaxListings; ++listing) {
    auto users = (*store)->users();
    if (!users) return users.error();
    std::vector<std::string> fresh;
    for (const std::string& user : *users) {
      if (seen.insert(user).second) fresh.push_back(user);
    }
    if (fresh.empty()) break;
    if (directory == nullptr && fresh.size() >= kMinUsersForWorkers) {
      TOTP_TRY_STATUS(reseal_in_workers(settings, owner, fresh, report, say));
      continue;
    }
    for (const std::string& user : fresh) {
      if (directory != nullptr) directory->renew_budget();  // each user its own ldap_timeout
      record_outcome(reseal_one(**store, *probe, user, report.key_id), user, report, say);
    }
  }

  // d: the previous key goes only when nothing needs it any more.
  if (*has_previous && report.failed.empty()) {
    TOTP_TRY_STATUS(dir->remove(dir->base() + ".previous"));
    report.previous_removed = true;
  }
  return report;
}

}  // namespace totp
