// SecureBytes and the constant-time helpers: construction, move-only
// ownership, growth, truncation, clearing, comparisons.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_construction),
      cmocka_unit_test(test_move_and_clone),
      cmocka_unit_test(test_append_and_truncate),
      cmocka_unit_test(test_constant_time_equal),
      cmocka_unit_test(test_cleanse),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
