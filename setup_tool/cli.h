// SPDX-License-Identifier: Apache-2.0
// Command line of totp-setup: a command and options, options allowed before
// or after the command ("totp-setup --config X status" and "totp-setup
// status --config X" mean the same). Parsing only; no side effects.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "setup_tool/qr.h"

namespace totp::setup {

enum class Command { enroll, init, status, recovery_codes, remove, unlock, migrate, list, import, rekey, revoke, devices, forget, help };

// Exit statuses (documented in totp-setup(1)).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // something failed; one line on stderr says what
constexpr int kExitUsage = 2;      // bad command line
constexpr int kExitRefused = 3;    // wrong code, too many tries, locked out, not allowed
constexpr int kExitCancelled = 4;  // the user said no or closed the input (EOF)

struct Options {
  Command command = Command::enroll;
  bool command_given = false;
  std::optional<std::string> config_path;
  std::optional<std::string> user;
  std::optional<QrMode> qr;  // nullopt: choose by locale
  bool force = false;
  bool yes = false;
  bool json = false;
  std::string migrate_to;     // migrate --to STORE ("ldap")
  bool remove_local = false;  // migrate --remove-local
  std::optional<std::string> from_key;  // migrate --from-key PATH: the key the local records are sealed under
  // import --from google-authenticator|oath [--file PATH] [--all] [--remove-source]
  std::string import_from;
  std::optional<std::string> file;
  bool all = false;            // import --all, revoke --all, forget --all
  std::optional<std::string> id;  // forget --id ID (a trusted device)
  bool remove_source = false;  // import --remove-source
  bool sessions = false;       // revoke --sessions
  // enroll --add --name NAME (another authenticator), remove --name NAME
  bool add = false;
  std::optional<std::string> name;
  // enroll --algorithm A --digits N --period S (root): this enrolment's parameters
  std::optional<std::string> algorithm;
  std::optional<int> digits;
  std::optional<int> period;
  bool help = false;     // --help: help for `command`
  bool version = false;  // --version
  std::optional<Command> help_topic;  // "totp-setup help status"
};

struct ParseOutcome {
  Options options;
  std::string error;  // non-empty: usage error, one line
};

// argv without argv[0].
ParseOutcome parse_command_line(std::span<const std::string_view> args);

const char* command_name(Command c) noexcept;
std::optional<Command> parse_command(std::string_view name) noexcept;

// Usage text: the overview (nullopt) or one command's help.
std::string usage_text(std::optional<Command> command);
std::string version_text();

}  // namespace totp::setup
