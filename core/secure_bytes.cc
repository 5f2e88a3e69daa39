// SPDX-License-Identifier: Apache-2.0
// SecureBytes and the pool its storage comes from.
//
// The pool. Secret buffers must stay out of core dumps (MADV_DONTDUMP) and
// preferably out of swap (mlock), and both work on whole pages; a mapping of
// their own per buffer costs ~20 us (mmap + madvise + mlock + munmap), and a
// login makes a few dozen. So small buffers share pages:
//   - A page serves one size class (16, 32, ..., 1024 bytes). Its first 64
//     bytes are a header (class, blocks in use, free list); the block size
//     and the page are found from a block's address, so free() needs no
//     lookup. Blocks come from a bump index, then from the page's free list.
//   - Pages are mapped 64 KiB at a time (one mmap, one madvise, one mlock),
//     and a page whose last block is freed goes back to a cache of empty
//     pages; beyond kMaxCachedPages it is unmapped.
//   - Over 1 KiB: a mapping per buffer (rare: the helper's message lines);
//     up to kMaxCachedLarge freed ones (cleansed, at most 64 KiB each) are
//     kept for reuse.
//   - Every block is cleansed whole (not just the bytes in use) on free, so
//     the free list only ever links zeroed blocks and a new block is zero.
// One mutex guards the page lists (the cleansing is done outside it); it is
// taken around fork() (pthread_atfork), so the child of a threaded program
// never inherits it locked. The pool's state is constant-initialised and
// trivially destructible, so it works before and after any static
// constructor or destructor; a static guard unmaps the cached pages at exit
// or dlclose (the PAM module) and makes later empty pages unmap at once, so
// no cached page is left behind. Each binary or module that links
// libtotpcore has its own pool: a SecureBytes must be freed by the code
// that made it (none crosses the PAM boundary).
// mlock is best effort: without CAP_IPC_LOCK the caller's RLIMIT_MEMLOCK
// decides, and a refusal only means the pages may be swapped.
#include "core/secure_bytes.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define TOTP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOTP_ASAN 1
#endif
#endif
#ifdef TOTP_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace totp {

namespace {

// Under AddressSanitizer the pool poisons free blocks and the unused tail
// of a block, so an overflow or a use after free is still reported.
#ifdef TOTP_ASAN
constexpr bool kAsan = true;
void poison(const void* p, std::size_t n) noexcept { ASAN_POISON_MEMORY_REGION(p, n); }
void unpoison(const void* p, std::size_t n) noexcept { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
constexpr bool kAsan = false;
void poison(const void*, std::size_t) noexcept {}
void unpoison(const void*, std::size_t) noexcept {}
#endif

// explicit_bzero: a plain (vectorised) memset the compiler may not drop.
// Every free wipes a whole block: measured on a 1 KiB block, ~75 ns with
// OPENSSL_cleanse, a few ns with this.
void wipe(void* p, std::size_t n) noexcept { explicit_bzero(p, n); }

constexpr std::size_t kHeaderSize = 64;
constexpr std::size_t kMinBlock = 16;
constexpr std::size_t kMaxSmall = 1024;
constexpr unsigned kClasses = 7;  // 16 .. 1024
constexpr std::size_t kBatchBytes = 64 * 1024;
constexpr std::size_t kMaxCachedPages = 16;
constexpr std::size_t kMaxCachedLarge = 4;
constexpr std::size_t kMaxCachedLargeBytes = 64 * 1024;
constexpr std::uint32_t kSmallMagic = 0x53425331;  // "SBS1"
constexpr std::uint32_t kLargeMagic = 0x53424c31;  // "SBL1"

struct alignas(16) PageHeader {
  std::uint32_t magic;   // kSmallMagic / kLargeMagic; 0 while cached
  std::uint32_t cls;     // size class (small)
  std::uint32_t used;    // blocks handed out and not freed
  std::uint32_t bumped;  // blocks handed out at least once since the page was set up
  std::uint32_t blocks;  // blocks the page holds
  void* free_list;       // freed blocks; the link is a block's first word
  PageHeader* prev;      // in its class's list of pages with room
  PageHeader* next;      // ... or in the cache of empty pages
  std::size_t map_len;   // large: the length of the mapping
};
static_assert(sizeof(PageHeader) <= kHeaderSize);

struct Pool {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  std::size_t page_size = 0;
  PageHeader* partial[kClasses] = {};  // pages of each class with a free block
  PageHeader* cache = nullptr;         // empty pages
  std::size_t cached = 0;
  PageHeader* large_cache = nullptr;   // freed large mappings (cleansed)
  std::size_t large_cached = 0;
  std::size_t pool_pages = 0;
  std::size_t live_blocks = 0;
  std::size_t large = 0;
  bool exiting = false;
};
constinit Pool g_pool{};

class Lock {
 public:
  Lock() noexcept { pthread_mutex_lock(&g_pool.mu); }
  ~Lock() { pthread_mutex_unlock(&g_pool.mu); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
};

std::size_t page_size() noexcept {
  // Read once; a race only stores the same value twice.
  std::size_t p = __atomic_load_n(&g_pool.page_size, __ATOMIC_RELAXED);
  if (p == 0) {
    const long v = sysconf(_SC_PAGESIZE);
    p = v > 0 ? static_cast<std::size_t>(v) : 4096;
    __atomic_store_n(&g_pool.page_size, p, __ATOMIC_RELAXED);
  }
  return p;
}

std::size_t class_size(unsigned cls) noexcept { return kMinBlock << cls; }

unsigned class_of(std::size_t n) noexcept {
  return static_cast<unsigned>(std::bit_width((n - 1) | (kMinBlock - 1))) - 4;
}

// Anonymous pages, out of core dumps, locked if the limit allows.
void* map_secret_pages(std::size_t len) noexcept {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_DONTDUMP
  (void)madvise(p, len, MADV_DONTDUMP);
#endif
  (void)mlock(p, len);  // ENOMEM/EPERM under RLIMIT_MEMLOCK: swappable, still not dumped
  return p;
}

void unmap_pages(void* p, std::size_t len) noexcept {
  unpoison(p, len);  // a later mapping at this address starts clean
  (void)munmap(p, len);
}

void list_push(PageHeader*& head, PageHeader* pg) noexcept {
  pg->prev = nullptr;
  pg->next = head;
  if (head != nullptr) head->prev = pg;
  head = pg;
}

void list_unlink(PageHeader*& head, PageHeader* pg) noexcept {
  if (pg->prev != nullptr) pg->prev->next = pg->next;
  else head = pg->next;
  if (pg->next != nullptr) pg->next->prev = pg->prev;
  pg->prev = pg->next = nullptr;
}

// An empty page for the caller to set up, or nullptr. Holds the lock.
PageHeader* take_page_locked() noexcept {
  if (g_pool.cache != nullptr) {
    PageHeader* pg = g_pool.cache;
    g_pool.cache = pg->next;
    --g_pool.cached;
    return pg;
  }
  const std::size_t ps = page_size();
  const std::size_t count = std::max<std::size_t>(1, kBatchBytes / ps);
  auto* base = static_cast<std::uint8_t*>(map_secret_pages(count * ps));
  if (base == nullptr) return nullptr;
  g_pool.pool_pages += count;
  for (std::size_t i = 1; i < count; ++i) {
    auto* pg = reinterpret_cast<PageHeader*>(base + i * ps);
    poison(base + i * ps + kHeaderSize, ps - kHeaderSize);
    pg->next = g_pool.cache;
    g_pool.cache = pg;
    ++g_pool.cached;
  }
  return reinterpret_cast<PageHeader*>(base);
}

// A page with no block in use: cache it, or unmap it. Holds the lock.
void release_page_locked(PageHeader* pg) noexcept {
  pg->magic = 0;  // a stray free() into a cached page aborts
  if (!g_pool.exiting && g_pool.cached < kMaxCachedPages) {
    pg->next = g_pool.cache;
    g_pool.cache = pg;
    ++g_pool.cached;
    return;
  }
  --g_pool.pool_pages;
  unmap_pages(pg, page_size());
}

struct Block {
  std::uint8_t* data;
  std::size_t capacity;
};

Block alloc_large(std::size_t n) {
  const std::size_t ps = page_size();
  if (n > SIZE_MAX - kHeaderSize - ps) throw std::bad_alloc();
  const std::size_t len = (kHeaderSize + n + ps - 1) / ps * ps;
  std::uint8_t* base = nullptr;
  {
    Lock lock;
    for (PageHeader* pg = g_pool.large_cache; pg != nullptr; pg = pg->next) {
      if (pg->map_len < len) continue;
      list_unlink(g_pool.large_cache, pg);
      --g_pool.large_cached;
      base = reinterpret_cast<std::uint8_t*>(pg);
      break;
    }
    ++g_pool.large;
  }
  if (base == nullptr) {
    base = static_cast<std::uint8_t*>(map_secret_pages(len));
    if (base == nullptr) {
      Lock lock;
      --g_pool.large;
      throw std::bad_alloc();
    }
    reinterpret_cast<PageHeader*>(base)->map_len = len;
  }
  auto* pg = reinterpret_cast<PageHeader*>(base);
  pg->magic = kLargeMagic;
  const std::size_t usable = pg->map_len - kHeaderSize;
  poison(base + kHeaderSize, usable);
  unpoison(base + kHeaderSize, kAsan ? n : usable);
  return {base + kHeaderSize, kAsan ? n : usable};
}

// n bytes (at least 1), zero-filled; capacity may be larger (the rest of
// the block), except under ASan where it is exactly n.
Block secure_alloc(std::size_t n) {
  if (n == 0) n = 1;
  if (n > kMaxSmall) return alloc_large(n);
  const unsigned cls = class_of(n);
  const std::size_t size = class_size(cls);
  std::uint8_t* block = nullptr;
  {
    Lock lock;
    PageHeader* pg = g_pool.partial[cls];
    if (pg == nullptr) {
      pg = take_page_locked();
      if (pg == nullptr) throw std::bad_alloc();
      pg->magic = kSmallMagic;
      pg->cls = cls;
      pg->used = 0;
      pg->bumped = 0;
      pg->blocks = static_cast<std::uint32_t>((page_size() - kHeaderSize) / size);
      pg->free_list = nullptr;
      pg->map_len = 0;
      poison(reinterpret_cast<std::uint8_t*>(pg) + kHeaderSize, page_size() - kHeaderSize);
      list_push(g_pool.partial[cls], pg);
    }
    if (pg->free_list != nullptr) {
      block = static_cast<std::uint8_t*>(pg->free_list);
      unpoison(block, sizeof(void*));
      std::memcpy(&pg->free_list, block, sizeof(void*));
      std::memset(block, 0, sizeof(void*));
    } else {
      block = reinterpret_cast<std::uint8_t*>(pg) + kHeaderSize + static_cast<std::size_t>(pg->bumped) * size;
      ++pg->bumped;
    }
    ++pg->used;
    ++g_pool.live_blocks;
    if (pg->used == pg->blocks) list_unlink(g_pool.partial[cls], pg);
  }
  poison(block, size);
  unpoison(block, kAsan ? n : size);
  return {block, kAsan ? n : size};
}

[[noreturn]] void corrupt() noexcept {
  static const char msg[] = "SecureBytes: free of a pointer the secure pool does not own\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  std::abort();
}

void secure_free(std::uint8_t* p) noexcept {
  const std::size_t ps = page_size();
  auto* pg = reinterpret_cast<PageHeader*>(reinterpret_cast<std::uintptr_t>(p) & ~(ps - 1));
  if (pg->magic == kLargeMagic) {
    if (p != reinterpret_cast<std::uint8_t*>(pg) + kHeaderSize) corrupt();
    const std::size_t len = pg->map_len;
    unpoison(p, len - kHeaderSize);
    wipe(p, len - kHeaderSize);
    poison(p, len - kHeaderSize);
    pg->magic = 0;
    {
      Lock lock;
      --g_pool.large;
      if (!g_pool.exiting && g_pool.large_cached < kMaxCachedLarge && len <= kMaxCachedLargeBytes) {
        list_push(g_pool.large_cache, pg);
        ++g_pool.large_cached;
        return;
      }
    }
    unmap_pages(pg, len);
    return;
  }
  // While this block is in use its page keeps its class; the other fields
  // are read under the lock.
  if (pg->magic != kSmallMagic || pg->cls >= kClasses) corrupt();
  const std::size_t size = class_size(pg->cls);
  unpoison(p, size);
  wipe(p, size);
  Lock lock;
  const std::size_t offset = static_cast<std::size_t>(p - reinterpret_cast<std::uint8_t*>(pg));
  if (offset < kHeaderSize || (offset - kHeaderSize) % size != 0 || (offset - kHeaderSize) / size >= pg->bumped ||
      pg->used == 0) {
    corrupt();
  }
  std::memcpy(p, &pg->free_list, sizeof(void*));
  pg->free_list = p;
  poison(p, size);
  const bool was_full = pg->used == pg->blocks;
  --pg->used;
  --g_pool.live_blocks;
  if (pg->used == 0) {
    if (!was_full) list_unlink(g_pool.partial[pg->cls], pg);
    release_page_locked(pg);
  } else if (was_full) {
    list_push(g_pool.partial[pg->cls], pg);
  }
}

// fork() in one thread while another holds the pool's mutex would leave
// the child a mutex nobody unlocks: take it around fork, as malloc does.
// (glibc drops these handlers when the PAM module is unloaded.)
struct ForkGuard {
  ForkGuard() noexcept {
    (void)pthread_atfork([] { pthread_mutex_lock(&g_pool.mu); }, [] { pthread_mutex_unlock(&g_pool.mu); },
                         [] { pthread_mutex_unlock(&g_pool.mu); });
  }
};
ForkGuard g_fork_guard;

// At exit (or when the PAM module is unloaded): unmap the cached pages, and
// from then on unmap each page as soon as it is empty.
struct PoolReleaser {
  ~PoolReleaser() {
    Lock lock;
    g_pool.exiting = true;
    while (g_pool.cache != nullptr) {
      PageHeader* pg = g_pool.cache;
      g_pool.cache = pg->next;
      --g_pool.cached;
      --g_pool.pool_pages;
      unmap_pages(pg, page_size());
    }
    while (g_pool.large_cache != nullptr) {
      PageHeader* pg = g_pool.large_cache;
      g_pool.large_cache = pg->next;
      --g_pool.large_cached;
      unmap_pages(pg, pg->map_len);
    }
  }
};
PoolReleaser g_releaser;

}  // namespace

SecureMemoryStats secure_memory_stats() noexcept {
  Lock lock;
  SecureMemoryStats s;
  s.live_blocks = g_pool.live_blocks;
  s.pool_pages = g_pool.pool_pages;
  s.cached_pages = g_pool.cached;
  s.large_mappings = g_pool.large;
  s.cached_large = g_pool.large_cached;
  return s;
}

SecureBytes::SecureBytes(std::size_t size) { reserve_exact(size); size_ = size; }

SecureBytes::SecureBytes(std::span<const std::uint8_t> bytes) : SecureBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(buf_, bytes.data(), bytes.size());
}

SecureBytes SecureBytes::from_string(std::string_view s) {
  return SecureBytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

SecureBytes::~SecureBytes() { clear(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : buf_(other.buf_), size_(other.size_), capacity_(other.capacity_) {
  other.buf_ = nullptr;
  other.size_ = 0;
  other.capacity_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    clear();
    buf_ = other.buf_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.buf_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  return *this;
}

SecureBytes SecureBytes::clone() const { return SecureBytes(span()); }

// Moves the contents into a fresh zeroed block of at least `capacity`
// bytes; the old block is cleansed whole as it is freed.
void SecureBytes::reserve_exact(std::size_t capacity) {
  const Block fresh = secure_alloc(std::max(capacity, size_));
  if (size_ > 0) std::memcpy(fresh.data, buf_, size_);
  if (buf_ != nullptr) secure_free(buf_);
  buf_ = fresh.data;
  capacity_ = fresh.capacity;
}

void SecureBytes::append(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (bytes.size() > capacity_ - size_) {
    if (bytes.size() > SIZE_MAX / 2 - size_) throw std::bad_alloc();
    reserve_exact(std::max(size_ + bytes.size(), capacity_ * 2));
  }
  std::memcpy(buf_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

void SecureBytes::append(std::string_view s) {
  append(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void SecureBytes::push_back(std::uint8_t b) {
  if (size_ < capacity_) {
    buf_[size_++] = b;
    return;
  }
  append(std::span<const std::uint8_t>(&b, 1));
}

void SecureBytes::truncate(std::size_t n) noexcept {
  if (n >= size_) return;
  OPENSSL_cleanse(buf_ + n, size_ - n);
  size_ = n;
}

void SecureBytes::clear() noexcept {
  if (buf_ != nullptr) secure_free(buf_);  // cleanses the whole block
  buf_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void cleanse(void* p, std::size_t n) noexcept {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

void cleanse(std::string& s) noexcept {
  // Growing to the capacity never reallocates, and makes every byte the
  // string owns (the unused tail, the small-string buffer) part of its
  // contents, so the cleanse reaches them without reading past size().
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace totp
