// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/cli.h"

#include <string>

#include "core/trusted_device.h"

namespace totp::setup {

namespace {

constexpr std::size_t kMaxArgSize = 4096;

// Which options each command takes: a wrong combination is a usage error
// rather than silently ignored.
struct Allowed {
  bool user, force, yes, qr;
};

bool is_digits(std::string_view v) {
  if (v.empty() || v.size() > 9) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Allowed allowed_for(Command c) {
  switch (c) {
    case Command::enroll: return {true, true, true, true};
    case Command::init: return {false, false, false, false};
    case Command::status: return {true, false, false, false};
    case Command::recovery_codes: return {true, false, true, false};
    case Command::remove: return {true, false, true, false};
    case Command::unlock: return {true, false, false, false};
    case Command::migrate: return {false, false, false, false};
    case Command::list: return {false, false, false, false};
    case Command::import: return {true, false, true, false};
    case Command::rekey: return {false, false, true, false};
    case Command::revoke: return {true, false, true, false};
    case Command::devices: return {true, false, false, false};
    case Command::forget: return {true, false, true, false};
    case Command::help: return {false, false, false, false};
  }
  return {false, false, false, false};
}

bool has_control_bytes(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

const char* command_name(Command c) noexcept {
  switch (c) {
    case Command::enroll: return "enroll";
    case Command::init: return "init";
    case Command::status: return "status";
    case Command::recovery_codes: return "recovery-codes";
    case Command::remove: return "remove";
    case Command::unlock: return "unlock";
    case Command::migrate: return "migrate";
    case Command::list: return "list";
    case Command::import: return "import";
    case Command::rekey: return "rekey";
    case Command::revoke: return "revoke";
    case Command::devices: return "devices";
    case Command::forget: return "forget";
    case Command::help: return "help";
  }
  return "?";
}

std::optional<Command> parse_command(std::string_view name) noexcept {
  for (Command c : {Command::enroll, Command::init, Command::status, Command::recovery_codes, Command::remove,
                    Command::unlock, Command::migrate, Command::list, Command::import, Command::rekey,
                    Command::revoke, Command::devices, Command::forget, Command::help}) {
    if (name == command_name(c)) return c;
  }
  return std::nullopt;
}

ParseOutcome parse_command_line(std::span<const std::string_view> args) {
  ParseOutcome out;
  Options& o = out.options;
  auto fail = [&out](std::string msg) {
    out.error = std::move(msg);
    return out;
  };
  bool seen_config = false, seen_user = false, seen_qr = false, seen_to = false;
  bool only_positional = false;
  // Every argument, option values included, is checked before any is used.
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].size() > kMaxArgSize) return fail("argument " + std::to_string(i + 1) + " is too long");
    if (has_control_bytes(args[i])) {
      return fail("argument " + std::to_string(i + 1) + " contains control characters");
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    const bool is_option = !only_positional && a.size() > 1 && a[0] == '-';
    if (!is_option) {
      if (!o.command_given) {
        auto c = parse_command(a);
        if (!c) return fail("unknown command '" + std::string(a) + "' (try --help)");
        o.command = *c;
        o.command_given = true;
      } else if (o.command == Command::help && !o.help_topic) {
        auto c = parse_command(a);
        if (!c) return fail("unknown command '" + std::string(a) + "' (try --help)");
        o.help_topic = *c;
      } else {
        return fail("unexpected argument '" + std::string(a) + "'");
      }
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    // --name=value or --name value
    std::string_view name = a;
    std::optional<std::string_view> inline_value;
    if (a.starts_with("--")) {
      const auto eq = a.find('=');
      if (eq != std::string_view::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
      }
    }
    auto take_value = [&](std::string_view opt) -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 >= args.size()) return std::nullopt;
      (void)opt;
      return args[++i];
    };
    auto flag = [&](bool& target) -> bool {
      if (inline_value) return false;
      target = true;
      return true;
    };
    if (name == "--config" || name == "-c") {
      if (seen_config) return fail("--config given twice");
      auto v = take_value(name);
      if (!v || v->empty()) return fail("--config needs a path");
      o.config_path = std::string(*v);
      seen_config = true;
    } else if (name == "--user" || name == "-u") {
      if (seen_user) return fail("--user given twice");
      auto v = take_value(name);
      if (!v || v->empty()) return fail("--user needs a user name");
      o.user = std::string(*v);
      seen_user = true;
    } else if (name == "--qr") {
      if (seen_qr) return fail("--qr given twice");
      auto v = take_value(name);
      if (!v) return fail("--qr needs a mode: ascii, utf8 or none");
      auto m = parse_qr_mode(*v);
      if (!m) return fail("--qr: unknown mode '" + std::string(*v) + "' (ascii, utf8 or none)");
      o.qr = *m;
      seen_qr = true;
    } else if (name == "--to") {
      if (seen_to) return fail("--to given twice");
      auto v = take_value(name);
      if (!v || v->empty()) return fail("--to needs a store: ldap");
      if (*v != "ldap") return fail("--to: unknown store '" + std::string(*v) + "' (only ldap)");
      o.migrate_to = std::string(*v);
      seen_to = true;
    } else if (name == "--from-key") {
      if (o.from_key) return fail("--from-key given twice");
      auto v = take_value(name);
      if (!v || v->empty() || v->front() != '/') return fail("--from-key needs an absolute path");
      o.from_key = std::string(*v);
    } else if (name == "--from") {
      if (!o.import_from.empty()) return fail("--from given twice");
      auto v = take_value(name);
      if (!v || (*v != "google-authenticator" && *v != "oath")) {
        return fail("--from needs a source: google-authenticator or oath");
      }
      o.import_from = std::string(*v);
    } else if (name == "--file") {
      if (o.file) return fail("--file given twice");
      auto v = take_value(name);
      if (!v || v->empty() || v->front() != '/') return fail("--file needs an absolute path");
      o.file = std::string(*v);
    } else if (name == "--name") {
      if (o.name) return fail("--name given twice");
      auto v = take_value(name);
      if (!v || v->empty()) return fail("--name needs an authenticator name");
      o.name = std::string(*v);
    } else if (name == "--id") {
      if (o.id) return fail("--id given twice");
      auto v = take_value(name);
      if (!v || v->empty()) return fail("--id needs a device ID (see totp-setup devices)");
      std::string id(*v);
      for (char& c : id) c = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
      if (!valid_device_id(id)) return fail("--id: a device ID is 8 hex digits, as 'totp-setup devices' shows it");
      o.id = std::move(id);
    } else if (name == "--algorithm") {
      if (o.algorithm) return fail("--algorithm given twice");
      auto v = take_value(name);
      if (!v || (*v != "SHA1" && *v != "SHA256" && *v != "SHA512")) {
        return fail("--algorithm needs SHA1, SHA256 or SHA512");
      }
      o.algorithm = std::string(*v);
    } else if (name == "--digits" || name == "--period") {
      std::optional<int>& target = name == "--digits" ? o.digits : o.period;
      if (target) return fail(std::string(name) + " given twice");
      auto v = take_value(name);
      if (!v || !is_digits(*v)) return fail(std::string(name) + " needs a number");
      target = std::stoi(std::string(*v));
    } else if (name == "--all") {
      if (!flag(o.all)) return fail("--all takes no value");
    } else if (name == "--remove-source") {
      if (!flag(o.remove_source)) return fail("--remove-source takes no value");
    } else if (name == "--sessions") {
      if (!flag(o.sessions)) return fail("--sessions takes no value");
    } else if (name == "--add") {
      if (!flag(o.add)) return fail("--add takes no value");
    } else if (name == "--remove-local") {
      if (!flag(o.remove_local)) return fail("--remove-local takes no value");
    } else if (name == "--force" || name == "-f") {
      if (!flag(o.force)) return fail("--force takes no value");
    } else if (name == "--yes" || name == "-y") {
      if (!flag(o.yes)) return fail("--yes takes no value");
    } else if (name == "--json") {
      if (!flag(o.json)) return fail("--json takes no value");
    } else if (name == "--help" || name == "-h") {
      if (!flag(o.help)) return fail("--help takes no value");
    } else if (name == "--version" || name == "-V") {
      if (!flag(o.version)) return fail("--version takes no value");
    } else {
      return fail("unknown option '" + std::string(name) + "' (try --help)");
    }
  }
  if (o.help || o.version || o.command == Command::help) return out;
  const Allowed ok = allowed_for(o.command);
  const std::string cmd = command_name(o.command);
  if (o.user && !ok.user) return fail("'" + cmd + "' does not take --user");
  if (o.force && !ok.force) return fail("'" + cmd + "' does not take --force");
  if (o.yes && !ok.yes) return fail("'" + cmd + "' does not take --yes");
  if (o.qr && !ok.qr) return fail("'" + cmd + "' does not take --qr");
  if (o.command == Command::unlock && !o.user) return fail("'unlock' needs --user NAME");
  if (o.command != Command::migrate && (seen_to || o.remove_local || o.from_key)) {
    return fail("'" + cmd + "' does not take --to, --from-key or --remove-local");
  }
  if (o.command == Command::migrate && !seen_to) return fail("'migrate' needs --to ldap");
  if (o.command != Command::import && (!o.import_from.empty() || o.file || o.remove_source)) {
    return fail("'" + cmd + "' does not take --from, --file or --remove-source");
  }
  if (o.all && o.command != Command::import && o.command != Command::revoke && o.command != Command::forget) {
    return fail("'" + cmd + "' does not take --all");
  }
  if (o.sessions && o.command != Command::revoke) return fail("'" + cmd + "' does not take --sessions");
  if (o.add && o.command != Command::enroll) return fail("'" + cmd + "' does not take --add");
  if (o.name && o.command != Command::enroll && o.command != Command::remove) {
    return fail("'" + cmd + "' does not take --name");
  }
  if (o.add && !o.name) return fail("'enroll --add' needs --name NAME");
  if ((o.algorithm || o.digits || o.period) && o.command != Command::enroll) {
    return fail("'" + cmd + "' does not take --algorithm, --digits or --period");
  }
  if (o.command == Command::import) {
    if (o.import_from.empty()) return fail("'import' needs --from google-authenticator or --from oath");
    if (o.import_from == "oath") {
      if (!o.file) return fail("'import --from oath' needs --file PATH (the users.oath file)");
      if (o.user || o.all) return fail("'import --from oath' takes the users from the file: no --user or --all");
      if (o.remove_source) return fail("'import --from oath' does not take --remove-source (the file holds other users)");
    } else {
      if (o.all == o.user.has_value()) return fail("'import --from google-authenticator' needs --user NAME or --all");
      if (o.all && o.file) return fail("'import --all' reads every user's home: no --file");
    }
  }
  if (o.command == Command::revoke && o.all == o.user.has_value()) return fail("'revoke' needs --user NAME or --all");
  if (o.id && o.command != Command::forget) return fail("'" + cmd + "' does not take --id");
  if (o.command == Command::forget && o.all == o.id.has_value()) return fail("'forget' needs --all or --id ID");
  return out;
}

std::string version_text() { return std::string("totp-setup (pam_totp) ") + PACKAGE_VERSION_STRING + "\n"; }

std::string usage_text(std::optional<Command> command) {
  const std::string common =
      "  --config PATH   read this config file instead of the system one (root only)\n"
      "  --json          print one JSON object on stdout instead of text\n"
      "  --help          show this help\n";
  if (!command) {
    return "Usage: totp-setup [COMMAND] [OPTIONS]\n"
           "Enrol an account for time-based one-time codes (TOTP) and manage it.\n"
           "\n"
           "Commands:\n"
           "  enroll          the enrolment wizard (the default command)\n"
           "  status          show the enrolment, last login, recovery codes left, lockout\n"
           "  recovery-codes  make a new set of recovery codes (the old ones stop working)\n"
           "  remove          remove the enrolment\n"
           "  unlock          end a lockout after too many wrong codes (root)\n"
           "  init            create the master key and the state directory (root)\n"
           "  migrate         copy this server's records into the directory (root)\n"
           "  list            every enrolment and its state (root)\n"
           "  import          take over google-authenticator or pam_oath users (root)\n"
           "  rekey           a new master key; every record sealed again (root)\n"
           "  revoke          revoke users' second factor after a breach (root)\n"
           "  devices         the trusted devices that log in without a code (remember)\n"
           "  forget          end trusted devices: they are asked for a code again\n"
           "  help [COMMAND]  show help for a command\n"
           "\n"
           "Options:\n"
           "  --user NAME     act on this user (root; default: yourself)\n"
           "  --yes           answer yes to every question; enroll asks for no code\n"
           "  --force         replace an existing enrolment (root)\n"
           "  --qr MODE       QR code drawing: utf8, ascii or none\n" +
           common +
           "  --version       show the version\n"
           "\n"
           "Exit status: 0 success, 1 failure, 2 usage error, 3 refused (wrong code,\n"
           "locked out, not allowed), 4 cancelled (answered no, or end of input).\n";
  }
  switch (*command) {
    case Command::enroll:
      return "Usage: totp-setup [enroll] [--user NAME] [--qr utf8|ascii|none] [--yes] [--force] [--json]\n"
             "                         [--add --name NAME] [--algorithm A] [--digits N] [--period S]\n"
             "Make a new TOTP secret, show it as a QR code, an otpauth URI and text, ask for\n"
             "a code from the authenticator app, then activate the enrolment and show 10\n"
             "single-use recovery codes. Nothing is active until a code has been confirmed.\n"
             "An existing enrolment is replaced only after a current code or a recovery code\n"
             "(or, for root, --force).\n"
             "\n"
             "  --user NAME     enrol this user (root; default: yourself)\n"
             "  --qr MODE       utf8 (default on a UTF-8 terminal), ascii, or none\n"
             "  --yes           no questions and no code: the enrolment is active at once\n"
             "  --force         replace an existing enrolment without a code (root)\n"
             "  --add --name NAME  add another authenticator (a spare phone, another admin\n"
             "                  of a shared account) beside the ones enrolled; for yourself\n"
             "                  this needs a current code\n"
             "  --algorithm A   SHA1, SHA256 or SHA512 (root; default: the algorithm setting)\n"
             "  --digits N      6, 7 or 8 (root; default: the digits setting)\n"
             "  --period S      seconds per code, 15 to 300 (root; default: the period setting)\n" +
             common;
    case Command::status:
      return "Usage: totp-setup status [--user NAME] [--json]\n"
             "Show whether the user is enrolled, the code parameters, when the enrolment was\n"
             "made, the last successful login and from where, recovery codes left, and any\n"
             "lockout.\n"
             "\n"
             "  --user NAME     show this user (root; default: yourself)\n" +
             common;
    case Command::recovery_codes:
      return "Usage: totp-setup recovery-codes [--user NAME] [--yes] [--json]\n"
             "Make 10 new single-use recovery codes; the old ones stop working. For yourself\n"
             "this needs a current code from your app (or an unused recovery code).\n"
             "\n"
             "  --user NAME     for this user (root; default: yourself)\n"
             "  --yes           do not ask for confirmation (a code is still needed)\n" +
             common;
    case Command::remove:
      return "Usage: totp-setup remove [--user NAME] [--name NAME] [--yes] [--json]\n"
             "Remove the enrolment, or with --name one of its authenticators. For yourself\n"
             "this needs a current code from your app (or an unused recovery code).\n"
             "\n"
             "  --user NAME     remove this user's enrolment (root; default: yourself)\n"
             "  --name NAME     remove only this authenticator (`status` lists them)\n"
             "  --yes           do not ask for confirmation (a code is still needed)\n" +
             common;
    case Command::unlock:
      return "Usage: totp-setup unlock --user NAME [--json]\n"
             "End a lockout (too many wrong codes) and clear the failure count. Root only.\n"
             "\n" +
             common;
    case Command::init:
      return "Usage: totp-setup init [--config PATH] [--json]\n"
             "Create the master key and the state directory named in the config, root-owned\n"
             "with safe modes. Running it again changes nothing that exists. Root only.\n"
             "\n" +
             common;
    case Command::migrate:
      return "Usage: totp-setup migrate --to ldap [--from-key PATH] [--remove-local] [--config PATH] [--json]\n"
             "Copy every record of this server's state directory into the directory store\n"
             "named by the ldap_* settings (store may still be files), read each back and\n"
             "compare. A user the directory already holds with the same enrolment is left\n"
             "alone; a different enrolment there is never overwritten. Safe to run again.\n"
             "Root only.\n"
             "\n"
             "  --to ldap       the directory store (the only target)\n"
             "  --from-key PATH the key this server's records are sealed under, when the\n"
             "                  fleet's key (key_file) replaced it; they are sealed anew\n"
             "  --remove-local  remove each local record once the directory holds it\n" +
             common;
    case Command::list:
      return "Usage: totp-setup list [--config PATH] [--json]\n"
             "Every enrolment in the store with its state: when it was made, its\n"
             "authenticators, the last login and from where, failures, lockout, recovery\n"
             "codes left, revoked. Root only.\n"
             "\n" +
             common;
    case Command::import:
      return "Usage: totp-setup import --from google-authenticator (--user NAME [--file PATH] | --all)\n"
             "                          [--remove-source] [--yes] [--json]\n"
             "       totp-setup import --from oath --file PATH [--yes] [--json]\n"
             "Take over users of google-authenticator-libpam or pam_oath without a new QR\n"
             "code: the secret and its parameters become an encrypted enrolment, and\n"
             "google-authenticator's scratch codes become recovery codes (each works once,\n"
             "typed as before). Root only.\n"
             "\n"
             "  --user NAME     import this user's ~/.google_authenticator\n"
             "  --file PATH     read this file instead (google-authenticator's secret=,\n"
             "                  or the users.oath file of pam_oath)\n"
             "  --all           every user whose home holds a .google_authenticator\n"
             "  --remove-source remove each google-authenticator file once imported\n"
             "  --yes           replace an existing enrolment of the same user\n" +
             common;
    case Command::rekey:
      return "Usage: totp-setup rekey [--config PATH] [--yes] [--json]\n"
             "Make a new master key and seal every record under it. Logins keep working\n"
             "while it runs (records under the previous key still open); if it is\n"
             "interrupted, run it again to finish. Root only.\n"
             "\n" +
             common;
    case Command::revoke:
      return "Usage: totp-setup revoke (--user NAME | --all) [--sessions] [--yes] [--json]\n"
             "Revoke the second factor after a breach: the user's logins are refused, with\n"
             "a message saying why, until they enrol again (as root, or with one of their\n"
             "recovery codes). Root only.\n"
             "\n"
             "  --user NAME     revoke this user\n"
             "  --all           revoke every enrolled user\n"
             "  --sessions      also end the user's running sessions\n"
             "  --yes           do not ask for confirmation\n" +
             common;
    case Command::devices:
      return "Usage: totp-setup devices [--user NAME] [--json]\n"
             "List the trusted devices (the remember setting): an SSH key and the address\n"
             "it came from that log in without a code until the time shown. Each has an ID\n"
             "for 'forget'.\n"
             "\n"
             "  --user NAME     this user's devices (root; default: yours)\n" +
             common;
    case Command::forget:
      return "Usage: totp-setup forget (--all | --id ID) [--user NAME] [--yes] [--json]\n"
             "End trusted devices: their next login is asked for a code again. No code is\n"
             "needed (this makes nothing weaker).\n"
             "\n"
             "  --all           every trusted device\n"
             "  --id ID         the device with this ID (see 'totp-setup devices')\n"
             "  --user NAME     this user's devices (root; default: yours)\n"
             "  --yes           do not ask for confirmation\n" +
             common;
    case Command::help:
      return "Usage: totp-setup help [COMMAND]\n";
  }
  return {};
}

}  // namespace totp::setup
