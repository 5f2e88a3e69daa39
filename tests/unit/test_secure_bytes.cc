// SPDX-License-Identifier: Apache-2.0
// SecureBytes and the constant-time helpers: construction, move-only
// ownership, growth, truncation, clearing, comparisons; the secure pool
// (pages left out of core dumps, blocks wiped when freed, no overlap, no
// leak, threads); cleansing a std::string over its whole capacity.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/secure_bytes.h"

// cmocka last: its macros (fail, ...) clash with libstdc++ names.
extern "C" {
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
}

using totp::SecureBytes;

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

namespace {

static_assert(!std::is_copy_constructible_v<SecureBytes>, "secrets must not be copied by accident");
static_assert(!std::is_copy_assignable_v<SecureBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecureBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecureBytes>);

void test_construction(void**) {
  SecureBytes empty;
  assert_true(empty.empty());
  assert_int_equal(empty.size(), 0);
  assert_true(empty.view().empty());

  SecureBytes zeros(16);
  assert_int_equal(zeros.size(), 16);
  for (std::size_t i = 0; i < zeros.size(); ++i) assert_int_equal(zeros[i], 0);

  const std::uint8_t raw[] = {1, 2, 3, 0, 255};
  SecureBytes copy{std::span<const std::uint8_t>(raw)};
  assert_int_equal(copy.size(), 5);
  assert_memory_equal(copy.data(), raw, 5);

  auto text = SecureBytes::from_string(std::string_view("ab\0c", 4));
  assert_int_equal(text.size(), 4);
  assert_true(text.view() == std::string_view("ab\0c", 4));
  assert_int_equal(SecureBytes::from_string("").size(), 0);
}

void test_move_and_clone(void**) {
  auto a = SecureBytes::from_string("secret");
  SecureBytes b(std::move(a));
  assert_true(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  assert_true(b.view() == "secret");

  SecureBytes c = SecureBytes::from_string("other");
  c = std::move(b);
  assert_true(b.empty());  // NOLINT
  assert_true(c.view() == "secret");

  SecureBytes& self = c;
  c = std::move(self);  // self-move keeps the contents
  assert_true(c.view() == "secret");

  SecureBytes d = c.clone();
  assert_true(d.view() == "secret");
  assert_true(d.data() != c.data());
  d[0] = 'S';
  assert_true(c.view() == "secret");
}

void test_append_and_truncate(void**) {
  SecureBytes s;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const char ch = static_cast<char>('a' + i % 26);
    if (i % 3 == 0) {
      s.push_back(static_cast<std::uint8_t>(ch));
    } else {
      s.append(std::string_view(&ch, 1));
    }
    expected.push_back(ch);
  }
  s.append(std::span<const std::uint8_t>());
  s.append(std::string_view());
  assert_int_equal(s.size(), expected.size());
  assert_true(s.view() == expected);

  s.truncate(10);
  assert_int_equal(s.size(), 10);
  assert_true(s.view() == expected.substr(0, 10));
  s.truncate(20);  // growing through truncate is a no-op
  assert_int_equal(s.size(), 10);
  // The cut tail was cleansed: the bytes right after the end are zero now.
  assert_int_equal(s.data()[10], 0);
  assert_int_equal(s.data()[11], 0);

  s.clear();
  assert_true(s.empty());
  assert_null(s.data());
  s.append("again");
  assert_true(s.view() == "again");
}

void test_constant_time_equal(void**) {
  using totp::constant_time_equal;
  assert_true(constant_time_equal(std::string_view("123456"), std::string_view("123456")));
  assert_false(constant_time_equal(std::string_view("123456"), std::string_view("123457")));
  assert_false(constant_time_equal(std::string_view("923456"), std::string_view("123456")));
  assert_false(constant_time_equal(std::string_view("12345"), std::string_view("123456")));
  assert_true(constant_time_equal(std::string_view(), std::string_view()));
  assert_false(constant_time_equal(std::string_view(), std::string_view("a")));
  assert_true(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  assert_false(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  const auto x = SecureBytes::from_string("key"), y = SecureBytes::from_string("key"),
             z = SecureBytes::from_string("kez");
  assert_true(constant_time_equal(x.span(), y.span()));
  assert_false(constant_time_equal(x.span(), z.span()));
  assert_true(constant_time_equal(SecureBytes().span(), SecureBytes().span()));
}

void test_cleanse(void**) {
  char buf[8];
  std::memset(buf, 'x', sizeof buf);
  totp::cleanse(buf, sizeof buf);
  for (char c : buf) assert_int_equal(c, 0);
  totp::cleanse(nullptr, 0);  // harmless
  totp::cleanse(buf, 0);

  std::string typed = "123456";
  const char* storage = typed.data();
  totp::cleanse(typed);
  assert_true(typed.empty());
  // The characters were overwritten in place before the string was emptied.
  for (int i = 0; i < 6; ++i) assert_int_equal(storage[i], 0);
  std::string none;
  totp::cleanse(none);
  assert_true(none.empty());
}

// Every byte the string owns is wiped, not just size(): the tail a shorter
// value left behind on the heap, and the small-string buffer.
void test_cleanse_string_capacity(void**) {
  std::string heap;
  heap.reserve(100);
  heap.assign(80, 'S');
  heap.resize(3);  // "SSS", and 77 more S in the unused capacity
  const char* storage = heap.data();
  const std::size_t cap = heap.capacity();
  assert_true(cap >= 80);
  totp::cleanse(heap);
  assert_true(heap.empty());
  assert_true(heap.data() == storage);  // no reallocation on the way
  for (std::size_t i = 0; i < cap; ++i) assert_int_equal(storage[i], 0);

  std::string small = "0123456789";  // fits the small-string buffer
  small.resize(2);
  const char* sso = small.data();
  const std::size_t sso_cap = small.capacity();
  totp::cleanse(small);
  assert_true(small.data() == sso);
  for (std::size_t i = 0; i < sso_cap; ++i) assert_int_equal(sso[i], 0);
}

// The VmFlags of the mapping holding `p`, from /proc/self/smaps.
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = addr >= lo && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

// Small and large buffers live in pages marked MADV_DONTDUMP ("dd").
void test_pages_not_dumped(void**) {
  SecureBytes small(32), medium(700), large(5000), huge(100000);
  for (const SecureBytes* b : {&small, &medium, &large, &huge}) {
    const std::string flags = vm_flags_of(b->data());
    assert_false(flags.empty());
    assert_non_null(std::strstr(flags.c_str(), " dd"));
  }
}

// A new buffer is zero even where a freed one held a secret; a freed block
// is wiped whole at once (read through the stale pointer: the page stays
// mapped while a neighbour lives; not under ASan, which poisons it).
void test_freed_blocks_wiped(void**) {
  for (int round = 0; round < 3; ++round) {
    SecureBytes keep(20);  // holds the page
    auto s = SecureBytes::from_string("TOPSECRETTOPSECRET!");  // same class as keep
    s.truncate(4);  // the cut tail is wiped at once
    for (std::size_t i = 4; i < 19; ++i) assert_int_equal(s.data()[i], 0);
    auto t = SecureBytes::from_string("TOPSECRETTOPSECRET!");
    const std::uint8_t* old = t.data();
    t.append(std::string(64, 'x'));  // grows into another block
    assert_true(t.data() != old);
#ifndef TEST_ASAN
    // The old block: only its first word may be non-zero (the free list).
    for (std::size_t i = sizeof(void*); i < 32; ++i) assert_int_equal(old[i], 0);
#endif
    t.clear();
    SecureBytes fresh(32);
    for (std::size_t i = 0; i < fresh.size(); ++i) assert_int_equal(fresh[i], 0);
    SecureBytes big(3000);
    std::memset(big.data(), 0xA5, big.size());
    big.clear();
    SecureBytes big2(3000);  // may reuse the cached mapping: must be zero
    for (std::size_t i = 0; i < big2.size(); ++i) assert_int_equal(big2[i], 0);
  }
}

// Many buffers of mixed sizes at once: no two overlap (each keeps its own
// pattern), capacity covers the size, and everything is returned.
void test_pool_many_buffers(void**) {
  const auto before = totp::secure_memory_stats();
  {
    std::vector<SecureBytes> live;
    for (std::size_t i = 0; i < 3000; ++i) {
      const std::size_t size = (i * 7919) % 2100;
      live.emplace_back(size);
      assert_true(live.back().capacity() >= size);
      assert_non_null(live.back().data());
      std::memset(live.back().data(), static_cast<int>(i & 0xff), size);
    }
    for (std::size_t i = 0; i < live.size(); i += 2) live[i].clear();  // free every other
    for (std::size_t i = 0; i < live.size(); i += 2) {
      live[i] = SecureBytes((i * 31) % 1500);
      std::memset(live[i].data(), static_cast<int>(i & 0xff), live[i].size());
    }
    for (std::size_t i = 0; i < live.size(); ++i) {
      for (std::size_t k = 0; k < live[i].size(); ++k) assert_int_equal(live[i][k], i & 0xff);
    }
  }
  const auto after = totp::secure_memory_stats();
  assert_int_equal(after.live_blocks, before.live_blocks);
  assert_int_equal(after.large_mappings, before.large_mappings);
  // Empty pages beyond the small cache were given back.
  assert_true(after.cached_pages <= 16);
  assert_true(after.cached_large <= 4);
}

// Threads allocating and freeing at once.
void test_pool_threads(void**) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &bad] {
      std::vector<SecureBytes> mine;
      for (int i = 0; i < 20000; ++i) {
        const auto fill = static_cast<std::uint8_t>(t * 50 + i % 50);
        SecureBytes b(static_cast<std::size_t>(1 + (i * 13) % 1200));
        std::memset(b.data(), fill, b.size());
        mine.push_back(std::move(b));
        if (mine.size() > 40) {
          for (auto& m : mine) {
            const std::uint8_t f = m[0];
            for (std::size_t k = 0; k < m.size(); ++k) {
              if (m[k] != f) ++bad;
            }
          }
          mine.clear();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  assert_int_equal(bad.load(), 0);
}

// fork() while another thread is inside the pool: the child can still
// allocate (the pool's lock is not inherited held).
void test_fork_while_busy(void**) {
  std::atomic<bool> stop{false};
  std::thread churn([&stop] {
    while (!stop.load()) {
      SecureBytes a(100), b(3000);
      a[0] = b[0];
    }
  });
  for (int i = 0; i < 200; ++i) {
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      alarm(5);  // a deadlock ends as SIGALRM, not a hung test
      SecureBytes c(100), d(3000);
      _exit(c[0] == 0 && d[0] == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  stop = true;
  churn.join();
}

// Growth keeps the bytes and the size; an empty buffer still has storage.
void test_capacity_and_growth(void**) {
  SecureBytes zero(0);
  assert_non_null(zero.data());
  assert_int_equal(zero.size(), 0);
  SecureBytes s;
  std::string expected;
  for (std::size_t i = 0; i < 5000; ++i) {
    s.push_back(static_cast<std::uint8_t>('A' + i % 26));
    expected.push_back(static_cast<char>('A' + i % 26));
    assert_true(s.capacity() >= s.size());
  }
  assert_true(s.view() == expected);
  SecureBytes moved = std::move(s);
  assert_true(moved.view() == expected);
  assert_int_equal(s.capacity(), 0);  // NOLINT(bugprone-use-after-move)
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_construction),
      cmocka_unit_test(test_move_and_clone),
      cmocka_unit_test(test_append_and_truncate),
      cmocka_unit_test(test_constant_time_equal),
      cmocka_unit_test(test_cleanse),
      cmocka_unit_test(test_cleanse_string_capacity),
      cmocka_unit_test(test_pages_not_dumped),
      cmocka_unit_test(test_freed_blocks_wiped),
      cmocka_unit_test(test_pool_many_buffers),
      cmocka_unit_test(test_pool_threads),
      cmocka_unit_test(test_fork_while_busy),
      cmocka_unit_test(test_capacity_and_growth),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
