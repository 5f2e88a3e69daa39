// SPDX-License-Identifier: Apache-2.0
// The notify relay of the setuid helper (core/notify.h, start_notify_relay):
// a root process forked before the helper gives up its capabilities, which
// runs notify() for the events the helper hands it over a socket. Split
// from notify.cc, which starts the command itself.
#include "core/notify_relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/log.h"
#include "core/notify.h"

namespace totp {
namespace {

// The relay (start_notify_relay): in the setuid helper, the socket to it;
// -1 everywhere else.
int g_relay_fd = -1;
// The relay keeps its socket on this descriptor (nothing else of the helper).
constexpr int kRelayFd = 3;
constexpr std::size_t kMaxRelayLine = 16384;
constexpr std::size_t kMaxRelayField = 4096;

std::string hex_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2 + 1);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 0x0f];
  }
  return out.empty() ? std::string("-") : out;
}

std::optional<std::string> hex_decode(std::string_view s) {
  if (s == "-") return std::string();
  if (s.empty() || s.size() % 2 != 0 || s.size() > 2 * kMaxRelayField) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::optional<std::uint64_t> decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Hands the event to the relay; never blocks for long (a few hundred bytes
// into a socket buffer).
}  // namespace

void send_to_relay(const NotifyEvent& event) {
  const std::string line = encode_notify_event(event);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(g_relay_fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      LogContext ctx;
      ctx.service = event.service;
      ctx.user = event.user;
      ctx.rhost = event.rhost;
      log_event(ctx, LOG_ERR, std::string("notify_command (event ") + notify_kind_name(event.kind) +
                                  ") not run: the relay process is gone");
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

namespace {

[[noreturn]] void relay_main(const Settings& settings, int fd) noexcept {
  try {
    // Nothing of the helper's but the socket: the module reading the
    // helper's stdout must see its end when the helper ends.
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) ::_exit(1);
    for (int std_fd = 0; std_fd <= 2; ++std_fd) (void)::dup2(null, std_fd);
    if (fd != kRelayFd && ::dup2(fd, kRelayFd) < 0) ::_exit(1);
    fd = kRelayFd;
    if (::syscall(SYS_close_range, kRelayFd + 1, ~0U, 0) != 0) {
      for (int other = kRelayFd + 1; other < 1024; ++other) (void)::close(other);
    }
    std::string buf;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
        const auto event = decode_notify_event(std::string_view(buf).substr(0, nl));
        buf.erase(0, nl + 1);
        if (event) {
          notify(settings, *event);
        } else {
          LogContext ctx;
          ctx.service = "totp-helper";
          log_event(ctx, LOG_ERR, "notify relay: malformed event from the helper: ignored");
        }
      }
      if (buf.size() > kMaxRelayLine) break;
    }
  } catch (...) {
  }
  ::_exit(0);
}


}  // namespace

bool notify_relay_active() noexcept { return g_relay_fd >= 0; }


std::string encode_notify_event(const NotifyEvent& event) {
  std::string line = notify_kind_name(event.kind);
  line += ' ' + hex_encode(event.user.substr(0, kMaxRelayField));
  line += ' ' + hex_encode(event.rhost.substr(0, kMaxRelayField));
  line += ' ' + hex_encode(event.service.substr(0, kMaxRelayField));
  line += ' ' + std::to_string(event.time < 0 ? 0 : event.time);
  line += ' ' + (event.recovery_left ? std::to_string(*event.recovery_left) : std::string("-"));
  line += '\n';
  return line;
}

std::optional<NotifyEvent> decode_notify_event(std::string_view line) {
  std::vector<std::string_view> f;
  while (f.size() < 7) {
    const std::size_t sp = line.find(' ');
    f.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  if (f.size() != 6) return std::nullopt;
  NotifyEvent e;
  bool known = false;
  for (const NotifyKind k : {NotifyKind::lockout, NotifyKind::recovery_code_used, NotifyKind::enrol, NotifyKind::replace,
                             NotifyKind::remove, NotifyKind::revoke}) {
    if (f[0] == notify_kind_name(k)) {
      e.kind = k;
      known = true;
    }
  }
  auto user = hex_decode(f[1]);
  auto rhost = hex_decode(f[2]);
  auto service = hex_decode(f[3]);
  const auto time = decimal(f[4], 18);
  if (!known || !user || !rhost || !service || !time) return std::nullopt;
  e.user = std::move(*user);
  e.rhost = std::move(*rhost);
  e.service = std::move(*service);
  e.time = static_cast<std::int64_t>(*time);
  if (f[5] != "-") {
    const auto left = decimal(f[5], 6);
    if (!left) return std::nullopt;
    e.recovery_left = static_cast<std::size_t>(*left);
  }
  return e;
}

void start_notify_relay(const Settings& settings) noexcept {
  if (settings.notify_command.empty() || g_relay_fd >= 0) return;
  LogContext ctx;
  ctx.service = "totp-helper";
  try {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      log_event(ctx, LOG_ERR, "notify_command: cannot start the relay: socketpair: " + std::string(std::strerror(errno)));
      return;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      log_event(ctx, LOG_ERR, "notify_command: cannot start the relay: fork: " + std::string(std::strerror(errno)));
      ::close(sv[0]);
      ::close(sv[1]);
      return;
    }
    if (pid == 0) {
      ::close(sv[1]);
      relay_main(settings, sv[0]);
    }
    ::close(sv[0]);
    // The relay only reads: shut our reading side.
    (void)::shutdown(sv[1], SHUT_RD);
    g_relay_fd = sv[1];
  } catch (...) {
  }
}

}  // namespace totp
