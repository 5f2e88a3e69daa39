// SPDX-License-Identifier: Apache-2.0
// The store's locked read-modify-write (see store.h): lock with a bounded
// wait, sweep a killed writer's temp file, read and authenticate, let the
// caller decide, write what it asked for (durably for everything but a
// ledger update), unlock.
//
// Pessimistic accounting (update_checked): a caller that checks a code first
// puts the failure on record in the spare ledger slot. Only then does it look
// at the code. The final write goes to that same spare slot, so the slot in
// use stays intact until the end: a crash at any point leaves either the old
// ledger, the counted failure or the final outcome, each authenticated.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "core/store.h"
#include "core/store_internal.h"

namespace totp {

namespace {

using detail::about;

// The user's lock file, opened (created if need be) and checked.
Result<UniqueFd> open_lock_file(int dirfd, const std::string& dir, const std::string& name, uid_t owner) {
  const std::string lock_name = std::string(detail::kLockPrefix) + name;
  UniqueFd fd(::openat(dirfd, lock_name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600));
  if (!fd.valid()) {
    const int err = errno;
    return make_error(err == ELOOP ? Errc::permission : Errc::io_error,
                      dir + "/" + lock_name + ": cannot open lock file: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(Errc::io_error, dir + "/" + lock_name + ": fstat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode) || st.st_uid != owner || (st.st_mode & 077) != 0) {
    return make_error(Errc::permission, dir + "/" + lock_name + ": lock file has the wrong type, owner or mode");
  }
  return fd;
}

}  // namespace

Status FileStore::update_checked(std::string_view user, const CheckingMutator& mutate,
                             const std::function<void()>& while_flushing) {
  TOTP_TRY_STATUS(validate_user_name(user));
  const std::string name(user);
  const Ownership own{owner_, 077};

  // Whatever file size limit the caller left us, the writes below (each
  // within the first kMaxStateFileSize bytes of a file) must not be cut
  // short or killed half-way: raise it for now, or refuse before anything
  // is read, counted or checked.
  auto fsize = FileSizeLimitGuard::make(kMaxStateFileSize);
  if (!fsize) return make_error(fsize.error().code, state_dir_ + "/" + name + ": " + fsize.error().message);

  // The lock file is never renamed or removed, so a writer that waited for
  // it always locks the same inode as the one holding it.
  auto lock_fd = open_lock_file(dirfd_.get(), state_dir_, name, owner_);
  if (!lock_fd) return lock_fd.error();
  auto lock = FileLock::acquire(std::move(*lock_fd), FileLock::Kind::exclusive, lock_wait_ms_);
  if (!lock) {
    return make_error(lock.error().code,
                      state_dir_ + "/" + std::string(detail::kLockPrefix) + name + ": " + lock.error().message);
  }
  // Every writer of this user holds the lock, so a temp file of the user's
  // found now belongs to a writer that died: it goes.
  if (auto st = remove_leftover_temp(dirfd_.get(), name); !st) return about(state_dir_, user, st.error());

  // Read the current state under the lock (read-write: a ledger update
  // writes into this very file).
  std::optional<Record> record;
  std::optional<DecodedState> current;
  UniqueFd file_fd;
  SecureBytes file_bytes;
  std::size_t size = 0;
  auto fd = open_file_checked(dirfd_.get(), name, own, kMaxStateFileSize, /*read_write=*/true, &size);
  if (fd) {
    file_fd = std::move(*fd);
    auto bytes = read_all(file_fd.get(), kMaxStateFileSize, size);
    if (!bytes) return about(state_dir_, user, bytes.error());
    file_bytes = std::move(*bytes);
    auto decoded = decode_locked_read(user, file_bytes.span());
    if (!decoded) return about(state_dir_, user, decoded.error());
    record = clone_record(decoded->record);
    current = std::move(*decoded);
  } else if (fd.error().code != Errc::not_found) {
    return make_error(fd.error().code, state_dir_ + "/" + fd.error().message);
  }

  // Where a ledger goes: the slot not in use, with the next sequence number.
  std::optional<StateLayout> layout;
  if (current) {
    auto parsed = parse_state_layout(file_bytes.span());
    if (!parsed) return about(state_dir_, user, parsed.error());
    layout = *parsed;
  }
  const int spare = current ? 1 - current->current_slot : 0;
  // A slot is bound to the header (key id included), so it is sealed under
  // the key the file is sealed under: during a rotation possibly the
  // previous one. Only a whole rewrite moves a record to the current key.
  const MasterKey* file_key = current ? keys_.find(current->key_id) : nullptr;
  if (current && file_key == nullptr) {
    return make_error(Errc::unsupported, state_dir_ + "/" + name + ": internal: the record's key left the ring");
  }
  std::optional<SecureBytes> on_record_ledger;  // what the spare slot holds now, if we wrote it
  const auto write_spare = [&](const Ledger& ledger) -> Status {
    auto sealed = detail::seal_slot(*file_key, layout->header, spare, user, detail::tag_of(layout->enrolment),
                                    current->seq + 1, ledger);
    if (!sealed) return about(state_dir_, user, sealed.error());
    const auto offset = static_cast<off_t>(layout->slot_offset[spare]);
    if (auto st = pwrite_all(file_fd.get(), *sealed, offset); !st) return about(state_dir_, user, st.error());
    return ok_status();
  };
  const OnRecord on_record = [&](const Ledger& counted) -> Status {
    if (!current) return make_error(Errc::not_found, state_dir_ + "/" + name + ": no record to count against");
    on_record_ledger.reset();
    TOTP_TRY_STATUS(write_spare(counted));
    on_record_ledger = serialize_ledger(counted);
    return ok_status();
  };
  // A failure put on record stays there whatever happens next: it is in
  // the file (the kernel's page cache), which no death of this process can
  // take back. Only a power loss could, which the boot rule covers (see
  // below); an error path does not wait for the disk either.
  const auto keep_counted = [&](Status outcome) -> Status { return outcome; };

  auto asked = mutate(record, on_record);
  if (!asked) return keep_counted(asked.error());
  Write write = *asked;
  if (write == Write::nothing) return keep_counted(ok_status());

  if (write == Write::remove) {
    if (!current) return ok_status();
    if (::unlinkat(dirfd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return keep_counted(make_error(Errc::io_error, state_dir_ + "/" + name + ": unlink: " + errno_text(errno)));
    }
    if (::fsync(dirfd_.get()) != 0) return make_error(Errc::io_error, state_dir_ + ": fsync: " + errno_text(errno));
    return ok_status();
  }

  if (!record) {
    return keep_counted(
        make_error(Errc::invalid_argument, state_dir_ + "/" + name + ": nothing to write (record is empty; use remove)"));
  }
  if (auto st = validate_enrolment(record->enrolment); !st) return keep_counted(st);

  if (write == Write::ledger_only) {
    // Only valid when the enrolment on disk is the one the caller kept:
    // otherwise the whole file is rewritten (never a lost enrolment change).
    if (!current || !same_enrolment_bytes(current->record.enrolment, record->enrolment)) write = Write::everything;
  }
  if (write == Write::ledger_only && current->key_id != keys_.current.id) {
    // The file is sealed under the previous key (a rotation is in
    // progress): a slot cannot be sealed under another key than its
    // header's, so the whole file goes under the current key, durably.
    write = Write::everything;
  }

  if (write == Write::ledger_only) {
    // A ledger update (a TOTP login, a failure, an unlock) does not wait
    // for the disk: the written slot is in the page cache, so every later
    // reader and every process crash sees it; only a power loss can lose
    // it, and then the other slot, intact, still holds the ledger before
    // it. What that could give back -- a code used just before the loss --
    // is refused after the reboot by the boot rule (core/boot_rule.h),
    // which the login applies because ledger_writes_durable() is false.
    // A wrong code's ledger is the one already on record: nothing is left.
    const SecureBytes wanted = serialize_ledger(record->ledger);
    const bool already_there = on_record_ledger && constant_time_equal(on_record_ledger->span(), wanted.span());
    if (!already_there) {
      if (auto st = write_spare(record->ledger); !st) return keep_counted(st);
    }
    if (while_flushing) while_flushing();
    return ok_status();
  }

  // everything, always under the current key. A process that loaded its
  // keys before a rekey renamed a new key into place must not seal under
  // the key being retired: look again (one lstat) and take the new ring.
  if (auto reloaded = reload_if_rotated(keys_); !reloaded) {
    return keep_counted(about(state_dir_, user, reloaded.error()));
  }
  const std::uint64_t seq = current ? current->seq + 1 : 1;
  auto file = encode_state_file(keys_.current, user, *record, seq);
  if (!file) return keep_counted(about(state_dir_, user, file.error()));
  // The caller's log line goes out once the data is written, while the
  // disk syncs (atomic_replace): a failing fsync or rename after it is
  // still an error, and the caller takes its verdict back.
  if (auto st = atomic_replace(dirfd_.get(), name, *file, 0600, while_flushing); !st) {
    return keep_counted(about(state_dir_, user, st.error()));
  }
  return ok_status();
}

}  // namespace totp
