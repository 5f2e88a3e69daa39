// SPDX-License-Identifier: Apache-2.0
// The per-user state store: one file per user in state_dir, root-owned 0600
// in a root-owned 0700 directory. Readers and writers go through here only.
//
// File layout (format version 1), all integers little endian:
//   header   magic "PAMTOTP\0" (8) | version u16 | reserved u16 | key id (8)
//            | enrolment blob length u32
//   enrolment blob  = seal(AAD = header || "enrolment" || user, enrolment)
//   ledger slot A   = seal(AAD = header || "ledger" || slot || user || enrolment tag, seq u64 || ledger)
//   ledger slot B   = same, other slot
// A login updates only the ledger: the older slot is overwritten in place
// (pwrite, without waiting for the disk: see ledger_writes_durable), so a
// crash leaves the other slot intact and the newest valid slot wins. Anything else (enrol, recovery code used, regen,
// remove) rewrites the whole file with atomic_replace. Both happen under a
// per-user lock file (state_dir/.lock.<user>) that is never renamed, so the
// lock holds across the rename.
#pragma once

#include <sys/types.h>

#include <functional>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/key.h"
#include "core/record.h"
#include "core/record_store.h"
#include "core/result.h"
#include "core/vault.h"

namespace totp {

constexpr std::size_t kMaxUserNameSize = 64;
constexpr std::size_t kMaxStateFileSize = 16 * 1024;

// A user name that may become a file name: 1..64 bytes of [A-Za-z0-9._-],
// not starting with '.' or '-', not "." or "..". Errc::invalid_argument with
// a reason otherwise.
Status validate_user_name(std::string_view user);

struct DecodedState;

class FileStore final : public RecordStore, public SealedKeyProbe {
 public:
  // Opens state_dir (must exist, be a directory owned by `owner`, mode
  // without group/other bits) and remembers the keys. `owner` is 0 in
  // production; tests that run unprivileged pass their own uid.
  // A record opens under the ring's current or previous key (the one its
  // header names); every write seals under the current key: a ledger
  // update of a record under the previous key rewrites the whole file.
  static Result<FileStore> open(const std::string& state_dir, KeyRing keys, uid_t owner = 0);

  // Reads without locking or writing. nullopt when the user has no file.
  // Every failure to open or authenticate is an error with its reason.
  // Remembers what it read (the file's bytes and the decoded ledger, never
  // the secret) for the next update of the same user: if the file is still
  // byte for byte the same under the lock, its ledger slots need not be
  // authenticated a second time.
  Result<std::optional<Record>> load(std::string_view user) const override;

  // The files store's update (RecordStore::update): takes the user's lock
  // (bounded wait: busy after kLockWaitMilliseconds), removes a killed
  // writer's leftover temp file, reads, calls `mutate` once, writes,
  // releases. A ledger update is a pwrite into the spare slot, not waited
  // for on the disk (ledger_writes_durable() is false); everything and
  // remove are durable (fsync) before update returns. `while_flushing`
  // runs under the user's lock after the ledger's pwrite, or for a whole
  // file once its data is written and before its fsyncs and rename: an
  // error after it means the write is not known to be durable.
  //
  // update_checked: `on_record` pwrites the counted ledger into the spare
  // slot at once. A right code's ledger_only overwrites the same spare
  // slot (the failure is taken back), everything/remove replace the file; a
  // wrong code returns the counted ledger and nothing is left to write.
  using RecordStore::update;
  Status update_checked(std::string_view user, const CheckingMutator& mutate,
                        const std::function<void()>& while_flushing = {}) override;

  // Names of the state files that are valid user names (not lock or temp files).
  Result<std::vector<std::string>> users() const override;
  std::string where() const override { return state_dir_; }
  bool ledger_writes_durable() const override { return false; }
  // Opening the store checked the directory already: nothing more to say.
  Result<std::string> check() const override { return std::string(); }

  // rekey: the key the user's record is sealed under (the whole record
  // authenticated first).
  Result<std::optional<KeyId>> sealed_key_id(std::string_view user) const override;

  const std::string& state_dir() const noexcept { return state_dir_; }
  // How long update() waits for the user's lock (tests shorten it).
  void set_lock_wait_ms(int ms) noexcept { lock_wait_ms_ = ms; }

  FileStore(FileStore&&) noexcept = default;
  FileStore& operator=(FileStore&&) noexcept = default;

 private:
  // What the last load() read (ciphertext and non-secret ledger only).
  struct LoadMemo {
    std::string user;
    SecureBytes bytes;
    std::uint64_t seq = 0;
    int current_slot = 0;
    Ledger ledger;
    KeyId key_id{};
  };

  FileStore(std::string dir, UniqueFd dirfd, KeyRing keys, uid_t owner);
  // decode_state_file for the bytes read under the lock, reusing the last
  // load's ledger when the bytes are unchanged.
  Result<DecodedState> decode_locked_read(std::string_view user, std::span<const std::uint8_t> file) const;
  // reload_if_rotated on keys_; true when the ring changed.
  bool reload_keys_if_rotated() const;

  std::string state_dir_;
  UniqueFd dirfd_;
  // Reloaded when key_file was rotated since (a process that lives across
  // a rekey: never writes under a key that is being retired).
  mutable KeyRing keys_;
  uid_t owner_ = 0;
  int lock_wait_ms_ = kLockWaitMilliseconds;
  mutable std::optional<LoadMemo> last_load_;
};

// --- The file format as pure functions (FileStore uses them; tests and the
// fuzzer drive them directly). ---
constexpr std::size_t kStateHeaderSize = 24;
constexpr std::uint16_t kStateFormatVersion = 1;
constexpr std::size_t kLedgerSlotPlainSize = 8 + kLedgerPlainSize;      // seq || ledger
constexpr std::size_t kLedgerSlotSize = kSealOverhead + kLedgerSlotPlainSize;

// Where each part of a state file lies; only sizes and header fields are
// checked here (no key needed). Spans point into the parsed bytes.
struct StateLayout {
  std::uint16_t version = 0;
  KeyId key_id{};
  std::span<const std::uint8_t> header, enrolment, slots[2];
  std::size_t slot_offset[2] = {0, 0};
};
// Errc::tampered (bad magic, reserved bits, truncation, length mismatch,
// trailing data), Errc::unsupported (format version), Errc::too_large.
Result<StateLayout> parse_state_layout(std::span<const std::uint8_t> file);

struct DecodedState {
  Record record;
  std::uint64_t seq = 0;   // sequence number of the ledger slot in use
  int current_slot = 0;    // 0 or 1: the slot holding `seq` (the other is older or equal)
  KeyId key_id{};          // the key it is sealed under (its header's)
};
// Decodes a whole state file for `user`: layout, key id (unsupported, naming
// the ids, if it is neither of the ring's keys), enrolment and both ledger
// slots (tampered unless the enrolment and at least one slot authenticate).
Result<DecodedState> decode_state_file(const KeyRing& keys, std::string_view user, std::span<const std::uint8_t> file);
// A whole state file with both ledger slots carrying `seq`.
Result<std::vector<std::uint8_t>> encode_state_file(const MasterKey& key, std::string_view user, const Record& record,
                                                    std::uint64_t seq);

// `totp-setup init`: creates the master key (32 random bytes, 0600) and the
// state directory (0700), both root-owned; changes nothing that exists.
// Problems with what exists (wrong mode/owner, symlink) are reported as
// errors, not fixed. `report` gets one line per action ("created ...",
// "kept ...").
Status initialize(const std::string& key_file, const std::string& state_dir,
                  const std::function<void(const std::string&)>& report);

}  // namespace totp
