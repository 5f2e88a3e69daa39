// SPDX-License-Identifier: Apache-2.0
// The terminal side of the wizard: tty checks, sizes, the locale's charset,
// and line input with echo off for codes. Prompts go to stderr so that
// stdout carries only the tool's output (QR code, JSON).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/secure_bytes.h"

namespace totp::setup {

constexpr std::size_t kMaxInputLine = 256;  // longer lines are refused

bool is_terminal(int fd) noexcept;
// Terminal size of stdout (then stderr, stdin); COLUMNS/LINES as a fallback;
// 0 when unknown.
int terminal_columns() noexcept;
int terminal_rows() noexcept;
// True when the locale (LANG/LC_ALL/LC_CTYPE, after setlocale) uses UTF-8.
bool locale_is_utf8();

// Installs SIGINT/SIGTERM/SIGHUP handlers that put the terminal back (echo
// on) before the process dies with the same signal, so Ctrl-C at a hidden
// prompt does not leave the terminal mute. Call once at start.
void install_terminal_restore_handlers();

enum class InputStatus { ok, eof, too_long };
struct SecretInput {
  InputStatus status = InputStatus::eof;
  SecureBytes text;  // without the newline
};

// Prints `prompt` on stderr (only when stdin is a terminal) and reads one
// line from stdin, echo off when stdin is a terminal.
SecretInput read_secret_line(std::string_view prompt);

// Asks "QUESTION [y/N] " (or [Y/n] when default_yes) on stderr and reads an
// answer from stdin. nullopt on EOF. Re-asks on anything but y/yes/n/no/empty.
std::optional<bool> ask_yes_no(std::string_view question, bool default_yes);

}  // namespace totp::setup
