// SPDX-License-Identifier: Apache-2.0
// ldap_bench's syslog capture. The module runs in ldap_bench's own process
// (PAM dlopens it), so its syslog calls are answered here: this file
// defines syslog, vsyslog and their _FORTIFY_SOURCE forms (__syslog_chk,
// __vsyslog_chk), exported from the executable (bench/local.mk links with
// --export-dynamic-symbol), and the dynamic linker binds the module's
// calls, and libpam's, to them. Nothing reaches a syslog daemon: each
// message is formatted, tallied and dropped, which costs a server with a
// syslog daemon about what sending it would.
//
// What is tallied, per process (a forked child starts again from zero):
// every message; the module's LOG_DEBUG line "record changed by another
// login meanwhile: decided again N time(s)" (its N summed: the directory
// store's compare-and-swap retries); messages at LOG_ERR or worse (the
// first few kept for the report).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct SyslogTally {
  std::uint64_t messages = 0;
  std::uint64_t retry_lines = 0;  // logins that decided again at least once
  std::uint64_t retries = 0;      // sum of N over those lines
  std::uint64_t errors = 0;       // priority LOG_ERR or worse
};

// A snapshot of this process's tally.
SyslogTally syslog_tally();
// The first error messages seen (at most 5) since the last reset.
std::vector<std::string> syslog_first_errors();
void syslog_reset();
// Copy the next `n` messages to stderr (for --show-syslog).
void syslog_echo(unsigned n);

}  // namespace bench
