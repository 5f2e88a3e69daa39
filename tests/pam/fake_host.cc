// SPDX-License-Identifier: Apache-2.0
// Test-only overrides linked into pam_driver and exported dynamically
// (-export-dynamic): a dlopen'ed module resolves time(), clock_gettime(),
// gettimeofday() and syslog() to these before libc's, so tests control the
// clock (PAM_TOTP_TEST_NOW=unix seconds, PAM_TOTP_TEST_UPTIME=seconds since
// boot) and read the module's syslog lines
// (printed to stdout as "SYSLOG <level>: message") while nothing in the
// shipped module knows about tests.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define FAKE_HOST_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

bool fake_now(long long* out) {
  const char* v = std::getenv("PAM_TOTP_TEST_NOW");
  if (v == nullptr || *v == 0) return false;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (end == nullptr || *end != 0) return false;
  *out = n;
  return true;
}

int real_clock_gettime(clockid_t clk, struct timespec* ts) {
  return static_cast<int>(syscall(SYS_clock_gettime, clk, ts));
}

const char* level_name(int priority) {
  static const char* const names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
  return names[priority & 7];
}

void emit(int priority, const char* fmt, va_list ap) {
  char line[2048];
  std::vsnprintf(line, sizeof line, fmt, ap);
  std::printf("SYSLOG %s: %s\n", level_name(priority), line);
  std::fflush(stdout);
}

}  // namespace

FAKE_HOST_EXPORT int clock_gettime(clockid_t clk, struct timespec* ts) noexcept {
  long long now = 0;
  if ((clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE) && fake_now(&now)) {
    ts->tv_sec = static_cast<time_t>(now);
    ts->tv_nsec = 0;
    return 0;
  }
  // PAM_TOTP_TEST_UPTIME=seconds: the time since boot, so that tests put
  // the boot (now minus uptime) where they want it (the boot rule).
  if (clk == CLOCK_BOOTTIME) {
    const char* v = std::getenv("PAM_TOTP_TEST_UPTIME");
    char* end = nullptr;
    const long long up = v != nullptr && *v != 0 ? std::strtoll(v, &end, 10) : -1;
    if (up >= 0 && end != nullptr && *end == 0) {
      ts->tv_sec = static_cast<time_t>(up);
      ts->tv_nsec = 0;
      return 0;
    }
  }
  return real_clock_gettime(clk, ts);
}

FAKE_HOST_EXPORT time_t time(time_t* t) noexcept {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t != nullptr) *t = ts.tv_sec;
  return ts.tv_sec;
}

FAKE_HOST_EXPORT void vsyslog(int priority, const char* fmt, va_list ap) { emit(priority, fmt, ap); }
FAKE_HOST_EXPORT void __vsyslog_chk(int priority, int, const char* fmt, va_list ap) { emit(priority, fmt, ap); }
FAKE_HOST_EXPORT void syslog(int priority, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(priority, fmt, ap);
  va_end(ap);
}
FAKE_HOST_EXPORT void __syslog_chk(int priority, int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(priority, fmt, ap);
  va_end(ap);
}
