// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/terminal.h"

#include <langinfo.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace totp::setup {

namespace {

// Saved terminal state for the signal handler: written before echo goes off
// and cleared after it comes back on.
volatile sig_atomic_t g_echo_disabled = 0;
struct termios g_saved_termios;

extern "C" void restore_terminal_and_die(int sig) {
  if (g_echo_disabled) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    g_echo_disabled = 0;
  }
  const char nl = '\n';
  ssize_t ignored = write(STDERR_FILENO, &nl, 1);
  (void)ignored;
  signal(sig, SIG_DFL);
  raise(sig);
}

class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return;
    struct termios t = g_saved_termios;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ECHONL;
    g_echo_disabled = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) {
      g_echo_disabled = 0;
      return;
    }
    active_ = true;
  }
  ~EchoOff() {
    if (!active_) return;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    g_echo_disabled = 0;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  bool active_ = false;
};

void write_prompt(std::string_view prompt) {
  std::fflush(stdout);
  std::size_t done = 0;
  while (done < prompt.size()) {
    const ssize_t n = write(STDERR_FILENO, prompt.data() + done, prompt.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads one line byte by byte (no stdio buffer, so nothing of the next line
// is swallowed and nothing secret lingers in a FILE buffer).
SecretInput read_line_raw() {
  SecretInput in;
  bool too_long = false;
  for (;;) {
    unsigned char c = 0;
    const ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // EOF: a partial last line still counts as a line (piped input).
      if (in.text.empty() && !too_long) {
        in.status = InputStatus::eof;
        return in;
      }
      break;
    }
    if (c == '\n') break;
    if (too_long) continue;
    if (in.text.size() >= kMaxInputLine) {
      too_long = true;
      in.text.clear();
      continue;
    }
    in.text.push_back(c);
  }
  if (too_long) {
    in.status = InputStatus::too_long;
    return in;
  }
  if (!in.text.empty() && in.text[in.text.size() - 1] == '\r') in.text.truncate(in.text.size() - 1);
  in.status = InputStatus::ok;
  return in;
}

int size_from_env(const char* name) noexcept {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0' || std::strlen(v) > 5) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == nullptr || *end != '\0' || n <= 0 || n > 10000) return 0;
  return static_cast<int>(n);
}

struct winsize window_size() noexcept {
  struct winsize ws {};
  for (int fd : {STDOUT_FILENO, STDERR_FILENO, STDIN_FILENO}) {
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws;
  }
  return winsize{};
}

}  // namespace

bool is_terminal(int fd) noexcept { return isatty(fd) == 1; }

int terminal_columns() noexcept {
  const struct winsize ws = window_size();
  if (ws.ws_col > 0) return ws.ws_col;
  return size_from_env("COLUMNS");
}

int terminal_rows() noexcept {
  const struct winsize ws = window_size();
  if (ws.ws_row > 0) return ws.ws_row;
  return size_from_env("LINES");
}

bool locale_is_utf8() {
  if (std::setlocale(LC_CTYPE, "") == nullptr) return false;
  const char* cs = nl_langinfo(CODESET);
  const bool utf8 = cs != nullptr && (std::strcmp(cs, "UTF-8") == 0 || std::strcmp(cs, "utf8") == 0);
  // Back to "C" so nothing else in the tool depends on the user's locale.
  std::setlocale(LC_CTYPE, "C");
  return utf8;
}

void install_terminal_restore_handlers() {
  struct sigaction sa {};
  sa.sa_handler = restore_terminal_and_die;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
}

SecretInput read_secret_line(std::string_view prompt) {
  const bool tty = is_terminal(STDIN_FILENO);
  if (tty) write_prompt(prompt);
  if (!tty) return read_line_raw();
  EchoOff echo_off;
  return read_line_raw();
}

std::optional<bool> ask_yes_no(std::string_view question, bool default_yes) {
  std::string prompt(question);
  prompt += default_yes ? " [Y/n] " : " [y/N] ";
  for (int tries = 0; tries < 5; ++tries) {
    write_prompt(prompt);
    SecretInput in = read_line_raw();
    if (in.status == InputStatus::eof) return std::nullopt;
    if (in.status == InputStatus::too_long) continue;
    std::string answer;
    for (char c : in.text.view()) {
      if (c != ' ' && c != '\t') answer += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (answer.empty()) return default_yes;
    if (answer == "y" || answer == "yes") return true;
    if (answer == "n" || answer == "no") return false;
    write_prompt("Please answer y or n.\n");
  }
  return std::nullopt;
}

}  // namespace totp::setup
