// SPDX-License-Identifier: Apache-2.0
// totp-setup list [--json]: every user in the store with what `status`
// says about them (status_report_of, the same computation). Root only.
//
// Built for 100,000 users: one store, each record loaded once (no
// AccountService per user), output written in large blocks, and the JSON
// made element by element (never one document of 100,000 objects in
// memory). A record that cannot be read is listed as an error with its
// reason; the others are still listed, and the exit status says so.
#include <algorithm>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.h"
#include "core/store_factory.h"
#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"
#include "setup_tool/status_report.h"

namespace totp::setup {

namespace {

constexpr std::size_t kFlushAt = 64 * 1024;
constexpr std::int64_t kUntilUnlocked = INT64_MAX;

// Buffers stdout; remembers a failed write.
class Out {
 public:
  void add(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= kFlushAt) flush();
  }
  bool flush() {
    if (ok_ && !buf_.empty()) ok_ = print_out(buf_);
    buf_.clear();
    return ok_;
  }

 private:
  std::string buf_;
  bool ok_ = true;
};

// One user in the store: a report, or why the record could not be read.
struct Entry {
  std::string user;
  std::optional<StatusReport> report;
  std::string error;
};

// The state column: one word.
std::string state_of(const StatusReport& s) {
  if (s.revoked) return "revoked";
  if (s.enrolled) return s.locked_until != 0 ? "locked" : "active";
  return s.pending ? "pending" : "none";
}

std::string date_of(std::int64_t t) { return iso_time(t).substr(0, 10); }

// A remote host comes from a PAM client: printable, and no space, so that
// the columns stay columns.
std::string host_text(std::string_view h) {
  if (h.empty()) return "-";
  std::string out;
  for (const unsigned char c : h) out += (c <= 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

constexpr std::size_t kColumns = 8;
using Row = std::vector<std::string>;

Row text_row(const Entry& e) {
  if (!e.report) return {e.user, "error", sanitize_for_log(e.error)};
  const StatusReport& s = *e.report;
  const bool has = s.enrolled || s.pending || s.revoked;  // a revoked record keeps its date and codes
  std::string locked = "-";
  if (s.locked_until == kUntilUnlocked) {
    locked = "until-unlock";
  } else if (s.locked_until != 0) {
    locked = iso_time(s.locked_until);
  }
  return {s.user,
          state_of(s),
          has ? date_of(s.created) : "-",
          s.last_login_time != 0 ? iso_time(s.last_login_time) : "never",
          s.last_login_time != 0 ? host_text(s.last_login_rhost) : "-",
          std::to_string(s.failures),
          locked,
          has ? std::to_string(s.recovery_codes_left) : "-"};
}

bool print_text(const std::vector<Entry>& entries) {
  std::vector<Row> rows;
  rows.reserve(entries.size() + 1);
  rows.push_back({"USER", "STATE", "CREATED", "LAST-LOGIN", "FROM", "FAILURES", "LOCKED-UNTIL", "CODES-LEFT"});
  for (const Entry& e : entries) rows.push_back(text_row(e));
  // Widths from the full rows only: an error row's reason runs to the end
  // of its line and does not widen the columns.
  std::size_t width[kColumns] = {};
  for (const Row& r : rows) {
    if (r.size() != kColumns) {
      width[0] = std::max(width[0], r[0].size());
      width[1] = std::max(width[1], r[1].size());
      continue;
    }
    for (std::size_t i = 0; i < kColumns; ++i) width[i] = std::max(width[i], r[i].size());
  }
  Out out;
  std::string line;
  for (const Row& r : rows) {
    line.clear();
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 == r.size()) break;
      line.append(width[i] - r[i].size() + 2, ' ');
    }
    line += '\n';
    out.add(line);
  }
  return out.flush();
}

bool print_json_list(const std::vector<Entry>& entries) {
  Out out;
  out.add("{\"users\": [");
  bool first = true;
  for (const Entry& e : entries) {
    Json j;
    if (e.report) {
      j = status_json(*e.report);
    } else {
      j = Json{{"user", e.user}, {"state", "error"}, {"error", e.error}};
    }
    // Our writer (not Json::dump): a reason holding invalid UTF-8 is
    // replaced, never thrown on. Nothing here is a secret.
    auto text = serialize_json(j, -1);
    if (!text) return false;
    out.add(first ? "\n  " : ",\n  ");
    first = false;
    out.add(text->view());
  }
  out.add(first ? "]}\n" : "\n]}\n");
  return out.flush();
}

}  // namespace

int run_list(const Context& ctx) {
  if (!ctx.root) return fail(kExitRefused, "list must be run as root (it reads every user's record)");
  auto settings = load_tool_settings(ctx.opts.config_path);
  if (!settings) return fail_with(settings.error());
  auto store = open_record_store(*settings);
  if (!store) return fail_with(store.error());
  auto users = (*store)->users();
  if (!users) return fail_with(users.error());

  const std::int64_t now = static_cast<std::int64_t>(::time(nullptr));
  std::vector<Entry> entries;
  entries.reserve(users->size());
  std::size_t errors = 0;
  for (const std::string& user : *users) {
    auto loaded = (*store)->load(user);
    if (!loaded) {
      entries.push_back(Entry{user, std::nullopt, loaded.error().message});
      ++errors;
      continue;
    }
    // Gone since the listing (removed meanwhile): no longer in the store.
    if (!*loaded) continue;
    entries.push_back(Entry{user, status_report_of(user, *loaded, now), {}});
  }

  const bool printed = ctx.opts.json ? print_json_list(entries) : print_text(entries);
  if (!printed) return fail(kExitError, "cannot write the output");
  if (errors != 0) {
    return fail(kExitError, std::to_string(errors) + " record(s) could not be read (state \"error\" above)");
  }
  return kExitOk;
}

}  // namespace totp::setup
