// SPDX-License-Identifier: Apache-2.0
// The per-user state store (layout and guarantees in store.h).
//
// Why two ledger slots: a login must write durably and fast. Rewriting the
// whole file (temp + fsync + rename + directory fsync) costs about four
// times a single pwrite + fdatasync. Writing the older slot in place keeps
// the newer one intact whatever happens to the write, so the newest slot that
// authenticates is always a complete, earlier-or-current ledger.
#include "core/store.h"
#include "core/store_internal.h"
#include "core/sealed_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/byte_io.h"
#include "core/vault.h"

namespace totp {

namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'P', 'A', 'M', 'T', 'O', 'T', 'P', 0};
constexpr std::size_t kMinEnrolmentBlob = kSealOverhead + 1;
constexpr std::size_t kMaxEnrolmentBlob = kSealOverhead + kMaxEnrolmentPlainSize;
constexpr char kEnrolmentLabel[] = "enrolment";
constexpr char kLedgerLabel[] = "ledger";

static_assert(kStateHeaderSize == 8 + 2 + 2 + kKeyIdSize + 4);
static_assert(kStateHeaderSize + kMaxEnrolmentBlob + 2 * kLedgerSlotSize <= kMaxStateFileSize);

// Associated data, built on the stack: header || label || [slot] || len(user) || user || [enrolment tag].
class Aad {
 public:
  Aad(std::span<const std::uint8_t> header, std::string_view label, int slot, std::string_view user,
      std::span<const std::uint8_t> enrolment_tag) {
    put(header);
    put(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
    if (slot >= 0) buf_[len_++] = static_cast<std::uint8_t>('A' + slot);
    buf_[len_++] = static_cast<std::uint8_t>(user.size());
    put(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(user.data()), user.size()));
    put(enrolment_tag);
  }
  std::span<const std::uint8_t> span() const noexcept { return {buf_.data(), len_}; }

 private:
  void put(std::span<const std::uint8_t> b) noexcept {
    // Inputs are bounded by the caller (validated user name, fixed header);
    // the check only keeps a future mistake from overflowing.
    const std::size_t n = b.size() <= buf_.size() - len_ ? b.size() : buf_.size() - len_;
    if (n > 0) std::memcpy(buf_.data() + len_, b.data(), n);
    len_ += n;
  }
  std::array<std::uint8_t, kStateHeaderSize + 16 + 2 + kMaxUserNameSize + kTagSize> buf_{};
  std::size_t len_ = 0;
};


std::array<std::uint8_t, kStateHeaderSize> make_header(const KeyId& id, std::size_t enrolment_blob_len) {
  std::array<std::uint8_t, kStateHeaderSize> h{};
  ByteWriter w(h);
  w.bytes(kMagic);
  w.u16(kStateFormatVersion);
  w.u16(0);
  w.bytes(id);
  w.u32(static_cast<std::uint32_t>(enrolment_blob_len));
  return h;
}

}  // namespace

std::span<const std::uint8_t> detail::tag_of(std::span<const std::uint8_t> sealed) { return sealed.last(kTagSize); }

Result<std::vector<std::uint8_t>> detail::seal_slot(const MasterKey& key, std::span<const std::uint8_t> header, int slot,
                                                    std::string_view user, std::span<const std::uint8_t> enrolment_tag,
                                                    std::uint64_t seq, const Ledger& ledger) {
  SecureBytes plain(kLedgerSlotPlainSize);
  ByteWriter w(plain.span());
  w.u64(seq);
  const SecureBytes l = serialize_ledger(ledger);
  w.bytes(l.span());
  if (!w.done()) return make_error(Errc::crypto_error, "ledger slot: internal size mismatch");
  return seal(key, Aad(header, kLedgerLabel, slot, user, enrolment_tag).span(), plain.span());
}

namespace {

using detail::seal_slot;
using detail::tag_of;

struct SlotContent {
  std::uint64_t seq = 0;
  Ledger ledger;
};

Result<SlotContent> open_slot(const MasterKey& key, const StateLayout& layout, int slot, std::string_view user) {
  auto plain = unseal(key, Aad(layout.header, kLedgerLabel, slot, user, tag_of(layout.enrolment)).span(),
                      layout.slots[slot]);
  if (!plain) return plain.error();
  SpanReader r(plain->span());
  SlotContent c;
  c.seq = r.u64();
  auto ledger = parse_ledger(r.bytes(r.remaining()));
  if (!r.done() || !ledger) return make_error(Errc::tampered, "ledger slot authenticated but does not parse");
  c.ledger = std::move(*ledger);
  return c;
}

Status check_user(std::string_view user) { return validate_user_name(user); }

}  // namespace

Status validate_user_name(std::string_view user) {
  if (user.empty()) return make_error(Errc::invalid_argument, "empty user name");
  if (user.size() > kMaxUserNameSize) {
    return make_error(Errc::invalid_argument, "user name longer than " + std::to_string(kMaxUserNameSize) + " bytes");
  }
  if (user[0] == '.' || user[0] == '-') return make_error(Errc::invalid_argument, "user name starts with '.' or '-'");
  for (char c : user) {
    const bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!good) return make_error(Errc::invalid_argument, "user name contains a character outside [A-Za-z0-9._-]");
  }
  return ok_status();
}

Result<StateLayout> parse_state_layout(std::span<const std::uint8_t> file) {
  if (file.size() > kMaxStateFileSize) return make_error(Errc::too_large, "state file too large");
  if (file.size() < kStateHeaderSize) return make_error(Errc::tampered, "state file truncated (no complete header)");
  SpanReader r(file);
  StateLayout l;
  auto magic = r.bytes(kMagic.size());
  l.version = r.u16();
  const std::uint16_t reserved = r.u16();
  r.copy_to(l.key_id);
  const std::uint32_t enrolment_len = r.u32();
  if (!r.ok()) return make_error(Errc::tampered, "state file truncated (no complete header)");
  if (std::memcmp(magic.data(), kMagic.data(), kMagic.size()) != 0) {
    return make_error(Errc::tampered, "not a pam_totp state file (bad magic)");
  }
  if (l.version != kStateFormatVersion) {
    return make_error(Errc::unsupported, "unsupported state format version " + std::to_string(l.version));
  }
  if (reserved != 0) return make_error(Errc::tampered, "reserved header field is not zero");
  if (enrolment_len < kMinEnrolmentBlob || enrolment_len > kMaxEnrolmentBlob) {
    return make_error(Errc::tampered, "enrolment length " + std::to_string(enrolment_len) + " out of range");
  }
  const std::size_t expected = kStateHeaderSize + enrolment_len + 2 * kLedgerSlotSize;
  if (file.size() < expected) {
    return make_error(Errc::tampered, "state file truncated (" + std::to_string(file.size()) + " of " +
                                          std::to_string(expected) + " bytes)");
  }
  if (file.size() > expected) return make_error(Errc::tampered, "state file has trailing data");
  l.header = file.first(kStateHeaderSize);
  l.enrolment = r.bytes(enrolment_len);
  l.slot_offset[0] = r.position();
  l.slots[0] = r.bytes(kLedgerSlotSize);
  l.slot_offset[1] = r.position();
  l.slots[1] = r.bytes(kLedgerSlotSize);
  if (!r.done()) return make_error(Errc::tampered, "state file layout inconsistent");
  return l;
}

namespace {

// Which of the ring's keys opens a record under `id`: Errc::unsupported
// naming the record's key id and this server's (its previous one too).
Result<const MasterKey*> key_for(const KeyRing& keys, const KeyId& id) {
  if (const MasterKey* k = keys.find(id)) return k;
  std::string mine = "key id " + key_id_hex(keys.current.id);
  if (keys.previous) mine += ") nor its previous key (key id " + key_id_hex(keys.previous->id);
  return make_error(Errc::unsupported,
                    "sealed under key id " + key_id_hex(id) + ", not this server's master key (" + mine + ")");
}

// The first half of decoding: layout, key id and the enrolment (the secret).
// `used` receives the key the record is sealed under.
Result<Enrolment> open_enrolment(const KeyRing& keys, std::string_view user, std::span<const std::uint8_t> file,
                                 StateLayout& layout, const MasterKey*& used) {
  TOTP_TRY_STATUS(check_user(user));
  auto parsed = parse_state_layout(file);
  if (!parsed) return parsed.error();
  layout = *parsed;
  auto key = key_for(keys, layout.key_id);
  if (!key) return key.error();
  used = *key;
  auto plain = unseal(**key, Aad(layout.header, kEnrolmentLabel, -1, user, {}).span(), layout.enrolment);
  if (!plain) {
    if (plain.error().code == Errc::tampered) {
      return make_error(Errc::tampered, "enrolment authentication failed (tampered, truncated, or another user's record)");
    }
    return plain.error();
  }
  auto enrolment = parse_enrolment(plain->span());
  if (!enrolment) return make_error(Errc::tampered, "enrolment authenticated but does not parse: " + enrolment.error().message);
  return enrolment;
}

}  // namespace

Result<DecodedState> decode_state_file(const KeyRing& keys, std::string_view user, std::span<const std::uint8_t> file) {
  StateLayout layout;
  const MasterKey* key = nullptr;
  auto enrolment = open_enrolment(keys, user, file, layout, key);
  if (!enrolment) return enrolment.error();

  auto a = open_slot(*key, layout, 0, user);
  auto b = open_slot(*key, layout, 1, user);
  if (!a && !b) return make_error(Errc::tampered, "no ledger slot authenticates (tampered file)");
  // Newest valid slot wins; on a tie (after a full rewrite) slot A.
  const int current = !a ? 1 : (!b ? 0 : (b->seq > a->seq ? 1 : 0));
  DecodedState d;
  d.record.enrolment = std::move(*enrolment);
  d.current_slot = current;
  d.key_id = key->id;
  auto& slot = current == 0 ? a : b;
  d.seq = slot->seq;
  d.record.ledger = std::move(slot->ledger);
  return d;
}

Result<std::vector<std::uint8_t>> encode_state_file(const MasterKey& key, std::string_view user, const Record& record,
                                                    std::uint64_t seq) {
  TOTP_TRY_STATUS(check_user(user));
  TOTP_TRY_STATUS(validate_enrolment(record.enrolment));
  const SecureBytes enrolment = serialize_enrolment(record.enrolment);
  const auto header = make_header(key.id, enrolment.size() + kSealOverhead);
  auto enrolment_blob = seal(key, Aad(header, kEnrolmentLabel, -1, user, {}).span(), enrolment.span());
  if (!enrolment_blob) return enrolment_blob.error();
  std::vector<std::uint8_t> file;
  file.reserve(kStateHeaderSize + enrolment_blob->size() + 2 * kLedgerSlotSize);
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), enrolment_blob->begin(), enrolment_blob->end());
  for (int slot = 0; slot < 2; ++slot) {
    auto sealed = seal_slot(key, header, slot, user, tag_of(*enrolment_blob), seq, record.ledger);
    if (!sealed) return sealed.error();
    file.insert(file.end(), sealed->begin(), sealed->end());
  }
  return file;
}

// --- The directory form (core/sealed_record.h): a state file's header and
// enrolment blob as one value, its slot A as the other. ---

namespace {

// The layout of "enrolment value || ledger value || (empty slot B)", so the
// directory form goes through the very checks a state file does.
Result<std::vector<std::uint8_t>> as_state_file(std::span<const std::uint8_t> enrolment_value,
                                                std::span<const std::uint8_t> ledger_value) {
  if (ledger_value.size() != kLedgerSlotSize) {
    return make_error(Errc::tampered, "ledger value has " + std::to_string(ledger_value.size()) + " bytes, not " +
                                          std::to_string(kLedgerSlotSize));
  }
  if (enrolment_value.size() + 2 * kLedgerSlotSize > kMaxStateFileSize) {
    return make_error(Errc::too_large, "enrolment value too large");
  }
  std::vector<std::uint8_t> file(enrolment_value.begin(), enrolment_value.end());
  file.insert(file.end(), ledger_value.begin(), ledger_value.end());
  file.resize(file.size() + kLedgerSlotSize, 0);
  return file;
}

}  // namespace

Result<SealedRecord> seal_record(const MasterKey& key, std::string_view user, const Record& record,
                                 std::uint64_t seq) {
  auto file = encode_state_file(key, user, record, seq);
  if (!file) return file.error();
  auto layout = parse_state_layout(*file);
  if (!layout) return layout.error();
  SealedRecord out;
  out.enrolment.assign(file->begin(), file->begin() + static_cast<std::ptrdiff_t>(layout->slot_offset[0]));
  out.ledger.assign(layout->slots[0].begin(), layout->slots[0].end());
  return out;
}

Result<std::vector<std::uint8_t>> seal_ledger_value(const MasterKey& key, std::string_view user,
                                                    std::span<const std::uint8_t> enrolment_value, std::uint64_t seq,
                                                    const Ledger& ledger) {
  TOTP_TRY_STATUS(check_user(user));
  std::vector<std::uint8_t> blank(kLedgerSlotSize, 0);
  auto file = as_state_file(enrolment_value, blank);
  if (!file) return file.error();
  auto layout = parse_state_layout(*file);
  if (!layout) return layout.error();
  // The ledger is bound to the header, key id included: it can only be
  // sealed under the key the enrolment value is sealed under.
  if (layout->key_id != key.id) {
    return make_error(Errc::invalid_argument, "ledger value: the enrolment is sealed under key id " +
                                                  key_id_hex(layout->key_id) + ", not " + key_id_hex(key.id));
  }
  return seal_slot(key, layout->header, 0, user, tag_of(layout->enrolment), seq, ledger);
}

Result<DecodedState> open_sealed_record(const KeyRing& keys, std::string_view user,
                                        std::span<const std::uint8_t> enrolment_value,
                                        std::span<const std::uint8_t> ledger_value) {
  auto file = as_state_file(enrolment_value, ledger_value);
  if (!file) return file.error();
  StateLayout layout;
  const MasterKey* key = nullptr;
  auto enrolment = open_enrolment(keys, user, *file, layout, key);
  if (!enrolment) return enrolment.error();
  auto slot = open_slot(*key, layout, 0, user);
  if (!slot) {
    return make_error(Errc::tampered, "ledger authentication failed (tampered, or not this enrolment's ledger)");
  }
  DecodedState d;
  d.record.enrolment = std::move(*enrolment);
  d.record.ledger = std::move(slot->ledger);
  d.seq = slot->seq;
  d.current_slot = 0;
  d.key_id = key->id;
  return d;
}

FileStore::FileStore(std::string dir, UniqueFd dirfd, KeyRing keys, uid_t owner)
    : state_dir_(std::move(dir)), dirfd_(std::move(dirfd)), keys_(std::move(keys)), owner_(owner) {}

Result<FileStore> FileStore::open(const std::string& state_dir, KeyRing keys, uid_t owner) {
  if (keys.current.bytes.size() != kMasterKeySize || (keys.previous && keys.previous->bytes.size() != kMasterKeySize)) {
    return make_error(Errc::invalid_argument, "master key has the wrong size");
  }
  auto dir = open_dir_checked(state_dir, Ownership{owner, 077});
  if (!dir) return make_error(dir.error().code, "state directory " + dir.error().message);
  return FileStore(state_dir, std::move(*dir), std::move(keys), owner);
}

Result<std::optional<Record>> FileStore::load(std::string_view user) const {
  TOTP_TRY_STATUS(check_user(user));
  const std::string name(user);
  std::size_t size = 0;
  auto fd = open_file_checked(dirfd_.get(), name, Ownership{owner_, 077}, kMaxStateFileSize, false, &size);
  if (!fd) {
    if (fd.error().code == Errc::not_found) return std::optional<Record>();
    return make_error(fd.error().code, state_dir_ + "/" + fd.error().message);
  }
  auto bytes = read_all(fd->get(), kMaxStateFileSize, size);
  if (!bytes) return detail::about(state_dir_, user, bytes.error());
  auto decoded = decode_state_file(keys_, user, bytes->span());
  // Under a key this process does not know: rekey may have rotated the key
  // since it loaded its ring (a login that started just before). Once.
  if (!decoded && decoded.error().code == Errc::unsupported && reload_keys_if_rotated()) {
    decoded = decode_state_file(keys_, user, bytes->span());
  }
  if (!decoded) return detail::about(state_dir_, user, decoded.error());
  last_load_ = LoadMemo{name, std::move(*bytes), decoded->seq, decoded->current_slot, decoded->record.ledger,
                        decoded->key_id};
  return std::optional<Record>(std::move(decoded->record));
}

Result<DecodedState> FileStore::decode_locked_read(std::string_view user, std::span<const std::uint8_t> file) const {
  // Only the newest load is worth remembering, and only once.
  std::optional<LoadMemo> memo = std::exchange(last_load_, std::nullopt);
  const bool unchanged = memo && memo->user == user && memo->bytes.size() == file.size() &&
                         std::memcmp(memo->bytes.data(), file.data(), file.size()) == 0;
  if (!unchanged) {
    auto decoded = decode_state_file(keys_, user, file);
    if (!decoded && decoded.error().code == Errc::unsupported && reload_keys_if_rotated()) {
      decoded = decode_state_file(keys_, user, file);
    }
    return decoded;
  }
  // The same bytes under the same key decode to the same ledger: only the
  // enrolment (whose secret load() did not keep) is opened again.
  StateLayout layout;
  const MasterKey* key = nullptr;
  auto enrolment = open_enrolment(keys_, user, file, layout, key);
  if (!enrolment) return enrolment.error();
  DecodedState d;
  d.key_id = key->id;
  d.record.enrolment = std::move(*enrolment);
  d.record.ledger = std::move(memo->ledger);
  d.seq = memo->seq;
  d.current_slot = memo->current_slot;
  return d;
}

bool FileStore::reload_keys_if_rotated() const {
  auto changed = reload_if_rotated(keys_);
  return changed && *changed;
}

Result<std::optional<KeyId>> FileStore::sealed_key_id(std::string_view user) const {
  auto record = load(user);
  if (!record) return record.error();
  if (!*record) return std::optional<KeyId>();
  // load() kept what it decoded (never the secret) for the next update.
  if (!last_load_ || last_load_->user != user) return make_error(Errc::io_error, "internal: no memo of the load");
  return std::optional<KeyId>(last_load_->key_id);
}

Status initialize(const std::string& key_file, const std::string& state_dir,
                  const std::function<void(const std::string&)>& report) {
  // Whoever runs init owns what it creates (the tool makes sure that is
  // root); what exists must belong to that same user.
  const uid_t self = ::geteuid();
  struct stat st {};
  const std::string previous = previous_key_path(key_file), next = next_key_path(key_file);
  const bool has_previous = ::lstat(previous.c_str(), &st) == 0;
  const bool has_next = ::lstat(next.c_str(), &st) == 0;
  if (::lstat(key_file.c_str(), &st) == 0) {
    // The ring, as every reader loads it: a bad .previous is reported now.
    auto keys = load_key_ring(key_file, self);
    if (!keys) return keys.error();
    if (report) report("kept master key " + key_file);
    if (report && has_previous) {
      report("kept previous master key " + previous + " (a key rotation is not finished: run 'totp-setup rekey')");
    }
    if (report && has_next) report("found " + next + " (a key rotation was started: run 'totp-setup rekey')");
  } else if (errno == ENOENT && (has_previous || has_next)) {
    // rekey never leaves key_file missing: someone removed it. A new key
    // now would leave the records under the old one unreadable.
    return make_error(Errc::not_found, "master key " + key_file + " is missing but " +
                                           (has_previous ? previous : next) +
                                           " exists: not creating a new key (restore " + key_file + " first)");
  } else if (errno == ENOENT) {
    auto key = create_master_key(key_file);
    if (!key) return key.error();
    if (report) report("created master key " + key_file);
  } else {
    return make_error(Errc::io_error, "master key " + key_file + ": " + errno_text(errno));
  }

  if (::lstat(state_dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return make_error(Errc::io_error, "state directory " + state_dir + ": " + errno_text(errno));
    if (::mkdir(state_dir.c_str(), 0700) != 0) {
      const int err = errno;
      return make_error(err == ENOENT ? Errc::not_found : Errc::io_error,
                        "state directory " + state_dir + ": cannot create: " +
                            (err == ENOENT ? std::string("parent directory does not exist") : errno_text(err)));
    }
    auto dir = open_dir_checked(state_dir, Ownership{self, 077});
    if (!dir) return make_error(dir.error().code, "state directory " + dir.error().message);
    // The umask could only have removed bits from 0700; set it exactly.
    if (::fchmod(dir->get(), 0700) != 0) return make_error(Errc::io_error, "state directory " + state_dir + ": fchmod: " + errno_text(errno));
    if (self == 0 && ::fchown(dir->get(), 0, 0) != 0) {
      return make_error(Errc::io_error, "state directory " + state_dir + ": fchown: " + errno_text(errno));
    }
    if (report) report("created state directory " + state_dir);
    return ok_status();
  }
  auto dir = open_dir_checked(state_dir, Ownership{self, 077});
  if (!dir) return make_error(dir.error().code, "state directory " + dir.error().message);
  if (report) report("kept state directory " + state_dir);
  return ok_status();
}

}  // namespace totp
