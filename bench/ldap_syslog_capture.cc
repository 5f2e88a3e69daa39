// SPDX-License-Identifier: Apache-2.0
// See ldap_syslog_capture.h. <syslog.h> is deliberately not included: its
// fortified inline wrappers would clash with the definitions below.
#include "bench/ldap_syslog_capture.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace bench {
namespace {

constexpr int kPriorityMask = 0x07;  // LOG_PRIMASK
constexpr int kErr = 3;              // LOG_ERR
constexpr char kRetryNeedle[] = "decided again ";

std::mutex g_mu;
SyslogTally g_tally;
std::vector<std::string> g_errors;
unsigned g_echo = 0;

void take(int priority, const char* fmt, va_list ap) {
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::lock_guard<std::mutex> g(g_mu);
  ++g_tally.messages;
  if (g_echo > 0) {
    --g_echo;
    std::fprintf(stderr, "syslog <%d>: %s\n", priority & kPriorityMask, buf);
  }
  if ((priority & kPriorityMask) <= kErr) {
    ++g_tally.errors;
    if (g_errors.size() < 5) g_errors.emplace_back(buf);
  }
  if (const char* p = std::strstr(buf, kRetryNeedle)) {
    ++g_tally.retry_lines;
    g_tally.retries += std::strtoull(p + sizeof kRetryNeedle - 1, nullptr, 10);
  }
}

}  // namespace

SyslogTally syslog_tally() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_tally;
}

std::vector<std::string> syslog_first_errors() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_errors;
}

void syslog_reset() {
  std::lock_guard<std::mutex> g(g_mu);
  g_tally = SyslogTally{};
  g_errors.clear();
}

void syslog_echo(unsigned n) {
  std::lock_guard<std::mutex> g(g_mu);
  g_echo = n;
}

}  // namespace bench

#define BENCH_EXPORT __attribute__((visibility("default")))

extern "C" {

BENCH_EXPORT void syslog(int priority, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bench::take(priority, fmt, ap);
  va_end(ap);
}

BENCH_EXPORT void vsyslog(int priority, const char* fmt, va_list ap) { bench::take(priority, fmt, ap); }

BENCH_EXPORT void __syslog_chk(int priority, int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bench::take(priority, fmt, ap);
  va_end(ap);
}

BENCH_EXPORT void __vsyslog_chk(int priority, int, const char* fmt, va_list ap) { bench::take(priority, fmt, ap); }

}  // extern "C"
