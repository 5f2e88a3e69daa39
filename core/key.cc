// SPDX-License-Identifier: Apache-2.0
// The master key file: created once from the CSPRNG, then only read. Loading
// checks everything about the file before trusting a byte of it.
#include "core/key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "core/fs.h"

namespace totp {

Status random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return ok_status();
  if (out.size() > static_cast<std::size_t>(INT_MAX)) return make_error(Errc::invalid_argument, "random_bytes: request too large");
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return make_error(Errc::crypto_error, "RAND_bytes failed (OS random generator unavailable)");
  }
  return ok_status();
}

namespace {

struct MdFree {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};

// SHA-256 fetched once per process: every login derives the key id, and an
// implicit fetch (EVP_sha256()) would search the provider store each time.
const EVP_MD* sha256() {
  static const std::unique_ptr<EVP_MD, MdFree> md(EVP_MD_fetch(nullptr, "SHA2-256", nullptr));
  return md.get();
}

}  // namespace

KeyId key_id_of(const SecureBytes& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  KeyId id{};
  // SHA-256 of 32 bytes cannot fail short of memory exhaustion; on failure
  // (or without SHA-256) the id stays zero, which matches no real key id
  // (and so fails closed).
  const EVP_MD* md = sha256();
  if (md != nullptr && EVP_Digest(key.data(), key.size(), digest, &len, md, nullptr) == 1 && len >= kKeyIdSize) {
    std::memcpy(id.data(), digest, kKeyIdSize);
  }
  cleanse(digest, sizeof digest);
  return id;
}

Result<MasterKey> load_master_key(const std::string& path, uid_t expected_owner) {
  // A generous size cap only to bound the read; the exact length is checked
  // below with its own message.
  std::size_t size = 0;
  auto fd = open_path_checked(path, Ownership{expected_owner, 077}, 1 << 20, &size);
  if (!fd) return make_error(fd.error().code, "master key " + fd.error().message);
  if (size != kMasterKeySize) {
    return make_error(Errc::parse_error, "master key " + path + ": wrong length " + std::to_string(size) +
                                             " bytes, expected " + std::to_string(kMasterKeySize));
  }
  auto bytes = read_all(fd->get(), kMasterKeySize, size);
  if (!bytes) return make_error(bytes.error().code, "master key " + path + ": " + bytes.error().message);
  if (bytes->size() != kMasterKeySize) {
    return make_error(Errc::parse_error, "master key " + path + ": wrong length " + std::to_string(bytes->size()) +
                                             " bytes, expected " + std::to_string(kMasterKeySize));
  }
  MasterKey key;
  key.id = key_id_of(*bytes);
  key.bytes = std::move(*bytes);
  return key;
}

Result<MasterKey> create_master_key(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    const int err = errno;
    if (err == EEXIST) return make_error(Errc::invalid_argument, "master key " + path + ": already exists (not overwritten)");
    if (err == ENOENT) return make_error(Errc::not_found, "master key " + path + ": parent directory does not exist");
    return make_error(err == EACCES || err == EPERM ? Errc::permission : Errc::io_error,
                      "master key " + path + ": cannot create: " + errno_text(err));
  }
  // From here on a failure must not leave a half-written key behind.
  bool keep = false;
  struct Unlinker {
    const std::string& p;
    bool& keep;
    ~Unlinker() {
      if (!keep) ::unlink(p.c_str());
    }
  } unlinker{path, keep};

  if (::fchmod(fd.get(), 0600) != 0) return make_error(Errc::io_error, "master key " + path + ": fchmod: " + errno_text(errno));
  // root:root when we are root; an unprivileged caller (tests) keeps its own ids.
  if (::geteuid() == 0 && ::fchown(fd.get(), 0, 0) != 0) {
    return make_error(Errc::io_error, "master key " + path + ": fchown: " + errno_text(errno));
  }
  MasterKey key;
  key.bytes = SecureBytes(kMasterKeySize);
  TOTP_TRY_STATUS(random_bytes(key.bytes.span()));
  if (auto st = write_all(fd.get(), key.bytes.span()); !st) {
    return make_error(Errc::io_error, "master key " + path + ": " + st.error().message);
  }
  if (::fsync(fd.get()) != 0) return make_error(Errc::io_error, "master key " + path + ": fsync: " + errno_text(errno));
  // Make the new directory entry durable too.
  const auto slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() || ::fsync(dir.get()) != 0) {
    return make_error(Errc::io_error, "master key " + path + ": fsync of " + parent + ": " + errno_text(errno));
  }
  key.id = key_id_of(key.bytes);
  keep = true;
  return key;
}

KeyRing::KeyRing(const MasterKey& key) : current{key.bytes.clone(), key.id} {}

const MasterKey* KeyRing::find(const KeyId& id) const noexcept {
  // Key ids are not secret (they are in every record's header).
  if (id == current.id) return &current;
  if (previous && id == previous->id) return &*previous;
  return nullptr;
}

std::string KeyRing::describe() const {
  std::string s = "key id " + key_id_hex(current.id);
  if (previous) s += ", previous key id " + key_id_hex(previous->id);
  return s;
}

std::string previous_key_path(const std::string& key_file) { return key_file + ".previous"; }
std::string next_key_path(const std::string& key_file) { return key_file + ".next"; }

Result<KeyRing> load_key_ring(const std::string& key_file, uid_t expected_owner) {
  // The identity of the key file before reading it: if rekey renames a new
  // key over it in between, the identity is the old one and the next
  // reload_if_rotated() looks again (never the other way round).
  struct stat st {};
  const bool have_identity = ::lstat(key_file.c_str(), &st) == 0;
  auto current = load_master_key(key_file, expected_owner);
  if (!current) return current.error();
  KeyRing ring(std::move(*current));
  ring.path = key_file;
  ring.owner = expected_owner;
  if (have_identity) {
    ring.dev = st.st_dev;
    ring.ino = st.st_ino;
  }
  const std::string prev_path = previous_key_path(key_file);
  if (::lstat(prev_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ring;
    return make_error(Errc::io_error, "previous master key " + prev_path + ": " + errno_text(errno));
  }
  // Present: it must pass every check the key does (a previous key that an
  // attacker could plant or read is as bad as a current one).
  auto previous = load_master_key(prev_path, expected_owner);
  if (!previous) return make_error(previous.error().code, "previous " + previous.error().message);
  // The same key twice (rekey stopped between its link and its rename).
  if (previous->id != ring.current.id) ring.previous = std::move(*previous);
  return ring;
}

Result<bool> reload_if_rotated(KeyRing& ring) {
  if (ring.path.empty()) return false;
  struct stat st {};
  // The same file: the same current key (rekey only ever renames a new
  // file over it, so a rotation always changes the inode).
  if (::lstat(ring.path.c_str(), &st) == 0 && st.st_dev == ring.dev && st.st_ino == ring.ino) return false;
  auto fresh = load_key_ring(ring.path, ring.owner);
  if (!fresh) return fresh.error();
  const bool changed = fresh->current.id != ring.current.id ||
                       fresh->previous.has_value() != ring.previous.has_value() ||
                       (fresh->previous && ring.previous && fresh->previous->id != ring.previous->id);
  ring = std::move(*fresh);
  return changed;
}

std::string key_id_hex(const KeyId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : id) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace totp
