// SPDX-License-Identifier: Apache-2.0
// totp-setup import (root): users of google-authenticator or pam_oath become
// pam_totp enrolments without scanning anything new.
//   import --from google-authenticator --user NAME [--file PATH] | --all
//          [--remove-source] [--yes] [--json]
//   import --from oath --file PATH [--yes] [--json]
// The files are read and parsed by core (import_file, import_google,
// import_oath), each user on their own: a file that is refused (one stderr
// line naming the user, the file and the problem) imports nothing for that
// user and the others go on; the exit status is then kExitError. The old
// scratch codes become Argon2id-hashed recovery codes (recovery.h: the
// 8-digit form). A record is written through the store's update only when
// the user has none, or with --yes; a write is whole or absent, so a run
// that is killed is finished by running it again.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/audit.h"
#include "core/import_file.h"
#include "core/import_google.h"
#include "core/import_oath.h"
#include "core/notify.h"
#include "core/record.h"
#include "core/recovery.h"
#include "core/store.h"
#include "core/store_factory.h"
#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"
#include "setup_tool/signal_block.h"

namespace totp::setup {

namespace {

constexpr const char* kGoogleFile = ".google_authenticator";

struct Imported {
  std::string user, from, path;
  std::size_t recovery_codes = 0;
};

// What the run did, for the text and the JSON.
struct Report {
  std::vector<Imported> imported;
  std::vector<std::pair<std::string, std::string>> skipped;  // user, reason
  std::vector<std::string> plaintext_left;
  int refused = 0;  // skips that make the exit status an error
};

class Importer {
 public:
  Importer(const Context& ctx, RecordStore& store, const Settings& settings, std::string from)
      : ctx_(ctx), store_(store), settings_(settings), from_(std::move(from)) {}

  // A user whose source could not be taken: one line on stderr. `refusal`
  // false for a skip that is not a problem (already enrolled).
  void skip(const std::string& user, const std::string& reason, bool refusal) {
    report.skipped.emplace_back(user, reason);
    if (refusal) ++report.refused;
    const std::string who = user.empty() ? std::string("import: ") : "import " + user + ": ";
    (void)fail(kExitError, who + reason);
  }

  void note(const std::string& user, const std::string& text) {
    if (!ctx_.opts.json) (void)print_out("  " + user + ": " + text + "\n");
  }

  void plaintext_left(const std::string& path) {
    if (std::find(report.plaintext_left.begin(), report.plaintext_left.end(), path) == report.plaintext_left.end()) {
      report.plaintext_left.push_back(path);
    }
  }

  // Makes the enrolment and writes it. `source` (google-authenticator's
  // file) is removed afterwards with --remove-source. False if skipped.
  // `path` names the source in messages; `file` is the file it is in.
  bool import_user(const std::string& user, const std::string& path, const std::string& file,
                   ImportedSecret& imp, int window_size, const ImportFile* source) {
    auto salt = make_recovery_salt();
    if (!salt) {
      skip(user, salt.error().message, true);
      return false;
    }
    // Argon2id before the store's lock: it takes a while per code.
    std::vector<RecoveryHash> hashes;
    for (const auto& code : imp.scratch_codes) {
      auto h = hash_recovery_code(code.view(), *salt);
      if (!h) {
        skip(user, "cannot hash a scratch code: " + h.error().message, true);
        return false;
      }
      hashes.push_back(*h);
    }
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    bool existed = false;
    const auto mutate = [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
      existed = rec.has_value();
      if (rec && !ctx_.opts.yes) return RecordStore::Write::nothing;
      Record fresh;
      fresh.enrolment.secret = imp.secret.clone();
      fresh.enrolment.otp = imp.otp;
      fresh.enrolment.created = now;
      fresh.enrolment.state = EnrolmentState::active;
      fresh.enrolment.recovery_salt = *salt;
      fresh.enrolment.recovery_hashes = hashes;
      if (rec) {
        fresh.ledger.last_login_time = rec->ledger.last_login_time;
        fresh.ledger.last_login_rhost = rec->ledger.last_login_rhost;
      }
      rec = std::move(fresh);
      return RecordStore::Write::everything;
    };
    Status st = [&] {
      SignalBlock block;  // Ctrl-C does not stop a write half-way
      return store_.update(user, mutate);
    }();
    if (!st) {
      skip(user, "not imported: " + st.error().message, true);
      return false;
    }
    if (existed && !ctx_.opts.yes) {
      skip(user, "already has a pam_totp enrolment: not replaced (add --yes to replace it)", false);
      plaintext_left(file);
      return false;
    }
    audit(current_actor(true), "import", user, {{"from", from_}});
    // For notify_command an import is an enrolment (or a replacement).
    NotifyEvent event;
    event.kind = existed ? NotifyKind::replace : NotifyKind::enrol;
    event.user = user;
    event.service = "totp-setup";
    event.time = now;
    notify(settings_, event);
    report.imported.push_back(Imported{user, from_, path, hashes.size()});
    if (!ctx_.opts.json) {
      std::string line = (existed ? "replaced the enrolment of " : "imported ") + user + " from " + path;
      if (from_ == "google-authenticator") {
        line += ": " + std::to_string(hashes.size()) + " recovery code" + (hashes.size() == 1 ? "" : "s") +
                " (the old scratch codes, each good once)";
      }
      (void)print_out(line + "\n");
    }
    for (const auto& n : imp.notes) note(user, n);
    if (window_size > 0 && google_window_either_side(window_size) != settings_.window) {
      note(user, "WINDOW_SIZE " + std::to_string(window_size) + " (" +
                     std::to_string(google_window_either_side(window_size)) +
                     " steps either side) is not used: pam_totp's window = " + std::to_string(settings_.window) +
                     " (steps either side) applies to every user");
    }
    if (source != nullptr && ctx_.opts.remove_source) {
      Status removed = remove_import_file(*source);
      if (removed) {
        note(user, "removed " + path);
        return true;
      }
      ++report.refused;
      (void)fail(kExitError, "import " + user + ": imported, but " + path + " was not removed: " + removed.error().message);
    }
    plaintext_left(file);
    return true;
  }

  Report report;

 private:
  const Context& ctx_;
  RecordStore& store_;
  const Settings& settings_;
  std::string from_;
};

struct PasswdUser {
  std::string name;
  uid_t uid = 0;
  std::string home;
};

std::optional<PasswdUser> lookup_user(const std::string& name) {
  const struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr || pw->pw_name == nullptr) return std::nullopt;
  return PasswdUser{pw->pw_name, pw->pw_uid, pw->pw_dir != nullptr ? pw->pw_dir : ""};
}

// Every passwd entry with an absolute home, once per name, sorted.
std::vector<PasswdUser> all_users() {
  std::map<std::string, PasswdUser> by_name;
  setpwent();
  while (const struct passwd* pw = getpwent()) {
    if (pw->pw_name == nullptr || pw->pw_dir == nullptr || pw->pw_dir[0] != '/') continue;
    by_name.emplace(pw->pw_name, PasswdUser{pw->pw_name, pw->pw_uid, pw->pw_dir});
  }
  endpwent();
  std::vector<PasswdUser> out;
  for (auto& [name, u] : by_name) out.push_back(std::move(u));
  return out;
}

std::string home_file(const std::string& home) {
  return (home.size() > 1 && home.back() == '/' ? home.substr(0, home.size() - 1) : home) + "/" + kGoogleFile;
}

void import_google(Importer& im, const PasswdUser& u, const std::string& path, bool missing_is_quiet,
                   std::set<std::pair<dev_t, ino_t>>& seen) {
  if (Status v = validate_user_name(u.name); !v) {
    if (missing_is_quiet) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) return;  // nothing to import
    }
    im.skip("", path + ": its user's name is not one pam_totp can keep (" + v.error().message + ")", true);
    return;
  }
  ImportFileRules rules;
  rules.owners = {u.uid, 0};
  rules.forbidden = 022;  // google-authenticator writes 0400 or 0600
  rules.warned = 044;
  auto file = read_import_file(path, rules);
  if (!file) {
    if (file.error().code == Errc::not_found && missing_is_quiet) return;
    im.skip(u.name, path + " " + file.error().message + ": not imported", true);
    return;
  }
  // Two users with one home: the file belongs to one of them at most.
  if (!seen.insert({file->dev, file->ino}).second) {
    im.skip(u.name, path + " is the same file as another user's: not imported", true);
    return;
  }
  auto parsed = parse_google_authenticator(file->bytes.span());
  file->bytes.clear();
  if (!parsed) {
    im.skip(u.name, path + ": " + parsed.error().message + ": not imported", true);
    return;
  }
  for (const auto& w : file->warnings) {
    parsed->imported.notes.push_back(path + " " + w + ": the secret may be known to others; consider re-enrolling");
  }
  im.import_user(u.name, path, path, parsed->imported, parsed->window_size, &*file);
}

void import_oath(Importer& im, const std::string& path) {
  ImportFileRules rules;
  rules.owners = {0};      // pam_oath's file is root's, 0600
  rules.forbidden = 022;
  rules.warned = 044;
  auto file = read_import_file(path, rules);
  if (!file) {
    im.skip("", path + " " + file.error().message + ": nothing imported", true);
    return;
  }
  auto parsed = parse_oath_users(file->bytes.span());
  file->bytes.clear();
  if (!parsed) {
    im.skip("", path + ": " + parsed.error().message + ": nothing imported", true);
    return;
  }
  for (const auto& w : file->warnings) {
    (void)fail(kExitOk, "warning: " + path + " " + w + ": its secrets may be known to others");
  }
  for (const auto& r : parsed->refused) {
    im.skip(r.user, path + " line " + std::to_string(r.line) + ": " + r.reason, true);
  }
  for (auto& u : parsed->users) {
    if (!lookup_user(u.user)) {
      im.skip(u.user, path + " line " + std::to_string(u.line) + ": no such user on this system: not imported", true);
      continue;
    }
    im.import_user(u.user, path + " line " + std::to_string(u.line), path, u.imported, 0, nullptr);
  }
}

}  // namespace

int run_import(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "import must be run as root (it reads other users' secret files)");
  const std::string& from = ctx.opts.import_from;
  if (from != "google-authenticator" && from != "oath") {
    return fail(kExitUsage, "--from takes google-authenticator or oath");
  }
  auto settings = load_tool_settings(ctx.opts.config_path);
  if (!settings) return fail_with(settings.error());
  auto store = open_record_store(*settings);
  if (!store) return fail_with(store.error());

  Importer im(ctx, **store, *settings, from);
  if (from == "oath") {
    if (!ctx.opts.file) return fail(kExitUsage, "'import --from oath' needs --file PATH");
    import_oath(im, *ctx.opts.file);
  } else {
    std::set<std::pair<dev_t, ino_t>> seen;
    if (ctx.opts.all) {
      for (const auto& u : all_users()) import_google(im, u, home_file(u.home), true, seen);
    } else {
      auto u = lookup_user(ctx.target);
      if (!u) return fail(kExitError, "no such user: " + ctx.target);
      const std::string path = ctx.opts.file ? *ctx.opts.file : home_file(u->home);
      import_google(im, *u, path, false, seen);
    }
  }

  Report& r = im.report;
  if (ctx.opts.json) {
    Json imported = Json::array();
    for (const auto& i : r.imported) {
      imported.push_back(Json{{"user", i.user}, {"from", i.from}, {"recovery_codes", i.recovery_codes}});
    }
    Json skipped = Json::array();
    for (const auto& [user, why] : r.skipped) skipped.push_back(Json{{"user", user}, {"reason", why}});
    Json j{{"imported", imported}, {"skipped", skipped}, {"plaintext_left", r.plaintext_left}};
    if (!print_json(j)) return fail(kExitError, "cannot write the output");
  } else {
    std::string text;
    for (const auto& p : r.plaintext_left) {
      text += "plaintext secret still in " + p + ": remove it once logins work\n";
    }
    text += std::to_string(r.imported.size()) + " imported, " + std::to_string(r.skipped.size()) + " skipped\n";
    if (!print_out(text)) return fail(kExitError, "cannot write the output");
  }
  if (r.refused > 0) return fail(kExitError, std::to_string(r.refused) + " not imported or not removed (see above)");
  return kExitOk;
}

}  // namespace totp::setup
