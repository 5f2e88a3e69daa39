// SPDX-License-Identifier: Apache-2.0
// See ldap_store.h.
#include "core/ldap_store.h"

#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <utility>
#include <cerrno>

#include "core/fs.h"
#include "core/log.h"

namespace totp {

namespace {

// How many times one update reads and decides again after another server
// got in first. Fifty logins racing on one record settle in far fewer; the
// budget (ldap_timeout) bounds the time in any case.
constexpr int kMaxAttempts = 64;
constexpr std::size_t kMaxPasswordSize = 4096;

constexpr int kSuccess = 0;
constexpr int kNoSuchAttribute = 16;  // a CAS lost: the old value is gone
constexpr int kNoSuchObject = 32;
constexpr int kAlreadyExists = 68;
constexpr int kAssertionFailed = 122;
// Not an LDAP code: a write whose answer never came and that, read back,
// did not land (the round is decided again).
constexpr int kNotApplied = -1000;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string rc_text(int rc);

// A random pause before trying again, so that racing servers spread out;
// spent from the budget like any directory work.
void back_off(int attempt, LdapBudget& budget) {
  std::uint32_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) r = 0;
  const int cap_us = std::min(1000 << std::min(attempt, 5), 20000);
  const int pause_us = static_cast<int>(r % static_cast<std::uint32_t>(cap_us));
  const int left_us = budget.remaining_ms() * 1000;
  const int us = std::min(pause_us, left_us);
  struct timespec ts {};
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  const auto start = std::chrono::steady_clock::now();
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  budget.spend(std::chrono::steady_clock::now() - start);
}

Result<SecureBytes> read_password_file(const std::string& path, uid_t owner) {
  std::size_t size = 0;
  // A problem with the file is a failure to use the directory (exit 1 for
  // the tool), whatever the file's own error says.
  auto fd = open_path_checked(path, Ownership{owner, 077}, kMaxPasswordSize, &size);
  if (!fd) return make_error(Errc::io_error, "ldap_bind_password_file " + fd.error().message);
  auto bytes = read_all(fd->get(), kMaxPasswordSize, size);
  if (!bytes) return make_error(bytes.error().code, "ldap_bind_password_file " + path + ": " + bytes.error().message);
  // One line: the trailing newline an editor adds is not part of it.
  std::size_t n = bytes->size();
  while (n > 0 && ((*bytes)[n - 1] == '\n' || (*bytes)[n - 1] == '\r')) --n;
  bytes->truncate(n);
  if (bytes->empty()) return make_error(Errc::io_error, "ldap_bind_password_file " + path + ": empty");
  return bytes;
}

}  // namespace

Result<std::unique_ptr<LdapStore>> LdapStore::open(const Settings& settings, KeyRing keys, uid_t owner) {
  if (keys.current.bytes.size() != kMasterKeySize || (keys.previous && keys.previous->bytes.size() != kMasterKeySize)) {
    return make_error(Errc::invalid_argument, "master key has the wrong size");
  }
  LdapConfig config;
  config.uris = settings.ldap_uri;
  config.bind_dn = settings.ldap_bind_dn;
  config.ca_file = settings.ldap_ca_file;
  config.timeout_ms = settings.ldap_timeout * 1000;
  TOTP_TRY_STATUS(check_ldap_settings(settings, "directory settings"));
  if (!settings.ldap_bind_dn.empty()) {
    auto password = read_password_file(settings.ldap_bind_password_file, owner);
    if (!password) return password.error();
    config.password = std::move(*password);
  }
  auto connection = make_ldap_connection(config);
  if (!connection) return connection.error();
  return std::unique_ptr<LdapStore>(new LdapStore(std::move(keys), settings.ldap_base, std::move(*connection)));
}

LdapStore::LdapStore(KeyRing keys, std::string base, std::unique_ptr<LdapConnection> connection)
    : keys_(std::move(keys)), base_(std::move(base)), connection_(std::move(connection)) {}

std::string LdapStore::where() const { return connection_->server() + " " + base_; }

std::string LdapStore::dn_of(std::string_view user) const {
  // Valid user names ([A-Za-z0-9._-], not starting with '.' or '-') need
  // no escaping in a DN.
  return "uid=" + std::string(user) + "," + base_;
}

Error LdapStore::about(std::string_view user, const Error& e) const {
  return make_error(e.code, "directory " + connection_->server() + ": " + dn_of(user) + ": " + e.message);
}

Result<std::optional<LdapStore::Current>> LdapStore::read_current(std::string_view user) const {
  const std::string dn = dn_of(user);
  LdapEntry entry;
  auto rc = connection_->read(dn, {"uid", kLdapEnrolmentAttribute, kLdapLedgerAttribute}, entry);
  if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
  if (*rc == kNoSuchObject) {
    // Absent, or hidden from us: a search the ACL refuses answers the same.
    // Only the marker entry, which sits among the records, tells them apart.
    TOTP_TRY_STATUS(see_marker());
    return std::optional<Current>();
  }
  if (*rc != kSuccess) return about(user, make_error(Errc::io_error, "read refused: " + rc_text(*rc)));
  // The entry's own uid must be this very name, byte for byte.
  // An entry whose uid cannot be read is an error, never "not enrolled".
  const auto* uids = entry.values("uid");
  if (uids == nullptr || uids->empty()) {
    return about(user, make_error(Errc::io_error, "entry has no readable uid (the ACL hides it from this identity)"));
  }
  bool same_name = false;
  for (const auto& v : *uids) {
    same_name = same_name || std::string_view(reinterpret_cast<const char*>(v.data()), v.size()) == user;
  }
  if (!same_name) {
    // Never "not enrolled" (nullok would let the name in without a code),
    // never another user's record.
    return about(user, make_error(Errc::io_error,
                                  "the entry found is another name's (uid " +
                                      // the directory's bytes: made safe for a log line
                                      sanitize_for_log(std::string_view(
                                          reinterpret_cast<const char*>(uids->front().data()),
                                          std::min<std::size_t>(uids->front().size(), kMaxUserNameSize))) +
                                      "; LDAP compares uid without letter case): refused"));
  }
  const auto* enrolment = entry.values(kLdapEnrolmentAttribute);
  const auto* ledger = entry.values(kLdapLedgerAttribute);
  if (enrolment == nullptr || ledger == nullptr || enrolment->size() != 1 || ledger->size() != 1) {
    return about(user, make_error(Errc::tampered,
                                  "entry has no single readable pamTotpEnrolment and pamTotpLedger (not a "
                                  "pamTotpRecord, or the ACL hides them from this identity)"));
  }
  auto decoded = open_sealed_record(keys_, user, enrolment->front(), ledger->front());
  // Under a key this process does not know: another rekey may have rotated
  // the key since this process loaded its ring. Look once.
  if (!decoded && decoded.error().code == Errc::unsupported) {
    auto changed = reload_if_rotated(keys_);
    if (changed && *changed) decoded = open_sealed_record(keys_, user, enrolment->front(), ledger->front());
  }
  if (!decoded) return about(user, decoded.error());
  Current cur;
  cur.enrolment_value = enrolment->front();
  cur.ledger_value = ledger->front();
  cur.decoded = std::move(*decoded);
  return std::optional<Current>(std::move(cur));
}

Result<std::optional<Record>> LdapStore::load(std::string_view user) const {
  TOTP_TRY_STATUS(validate_user_name(user));
  last_load_.reset();
  auto cur = read_current(user);
  if (!cur) return cur.error();
  if (!*cur) return std::optional<Record>();
  last_load_ = LoadMemo{std::string(user), (*cur)->enrolment_value, (*cur)->ledger_value};
  return std::optional<Record>(std::move((*cur)->decoded.record));
}

Result<std::optional<LdapStore::Current>> LdapStore::first_read(std::string_view user) {
  std::optional<LoadMemo> memo = std::exchange(last_load_, std::nullopt);
  if (!memo || memo->user != user) return read_current(user);
  auto decoded = open_sealed_record(keys_, user, memo->enrolment_value, memo->ledger_value);
  if (!decoded) return read_current(user);
  Current cur;
  cur.enrolment_value = std::move(memo->enrolment_value);
  cur.ledger_value = std::move(memo->ledger_value);
  cur.decoded = std::move(*decoded);
  return std::optional<Current>(std::move(cur));
}

Status LdapStore::update_checked(std::string_view user, const CheckingMutator& mutate,
                                 const std::function<void()>& while_flushing) {
  TOTP_TRY_STATUS(validate_user_name(user));
  const std::string dn = dn_of(user);
  const std::string enrolment_attr = kLdapEnrolmentAttribute;
  const std::string ledger_attr = kLdapLedgerAttribute;
  const auto cas_ledger = [&](Current& cur, const std::vector<std::uint8_t>& next) -> Result<int> {
    return connection_->modify(dn, {{LdapChange::Op::delete_value, ledger_attr, cur.ledger_value},
                                    {LdapChange::Op::add_value, ledger_attr, next}});
  };
  const auto written = [&]() -> Status {
    if (while_flushing) while_flushing();
    return ok_status();
  };

  // A write whose answer never came (the connection broke: an idle
  // connection closed by the server or a firewall while the user typed, a
  // restarted slapd) is read back: what the directory holds says whether it
  // landed. Landed: kSuccess. Not: kNotApplied, and the round is decided
  // again on a fresh read. Only if the directory cannot be read either is
  // the outcome unknown: an error, and the login is refused.
  const auto confirmed = [&](Result<int> rc, const std::vector<std::uint8_t>* enrolment,
                             const std::vector<std::uint8_t>* ledger) -> Result<int> {
    if (rc || connection_->alive()) return rc;
    LdapEntry now;
    auto back = connection_->read(dn, {enrolment_attr, ledger_attr}, now);
    if (!back) {
      return make_error(back.error().code, "directory " + rc.error().message + "; outcome unknown (" +
                                               back.error().message + ")");
    }
    if (*back == kNoSuchObject) return ledger == nullptr ? kSuccess : kNotApplied;  // a delete landed
    if (*back != kSuccess || ledger == nullptr) return kNotApplied;
    const auto same = [&](const std::string& attr, const std::vector<std::uint8_t>& want) {
      const auto* v = now.values(attr);
      return v != nullptr && v->size() == 1 && v->front() == want;
    };
    const bool landed = same(ledger_attr, *ledger) && (enrolment == nullptr || same(enrolment_attr, *enrolment));
    return landed ? kSuccess : kNotApplied;
  };

  last_retries_ = 0;
  bool counted = false;  // this attempt's failure went on record in an earlier round
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    last_retries_ = attempt;
    if (attempt > 0) back_off(attempt, connection_->budget());
    auto read = attempt == 0 ? first_read(user) : read_current(user);
    if (!read) return read.error();
    std::optional<Current>& cur = *read;
    std::optional<Record> record;
    if (cur) record = clone_record(cur->decoded.record);

    bool lost_race = false;
    std::optional<SecureBytes> on_record_ledger;  // what the directory holds now, if we wrote it
    const OnRecord on_record(
        [&](const Ledger& counted_ledger) -> Status {
      if (!cur) return about(user, make_error(Errc::not_found, "no record to count against"));
      // Under the key the enrolment value is sealed under (the ledger is
      // bound to its header): during a rotation possibly the previous one.
      const MasterKey* entry_key = keys_.find(cur->decoded.key_id);
      if (entry_key == nullptr) return about(user, make_error(Errc::unsupported, "internal: the record's key left the ring"));
      auto next = seal_ledger_value(*entry_key, user, cur->enrolment_value, cur->decoded.seq + 1, counted_ledger);
      if (!next) return about(user, next.error());
      auto rc = confirmed(cas_ledger(*cur, *next), nullptr, &*next);
      if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
      if (*rc == kNoSuchAttribute || *rc == kNotApplied) {
        lost_race = true;
        return about(user, make_error(Errc::busy, "changed by another server meanwhile"));
      }
      if (*rc != kSuccess) return about(user, make_error(Errc::io_error, "cannot record the attempt: " + rc_text(*rc)));
      cur->ledger_value = std::move(*next);
      cur->decoded.seq += 1;
      on_record_ledger = serialize_ledger(counted_ledger);
      counted = true;
      return ok_status();
        },
        counted);

    auto asked = mutate(record, on_record);
    if (!asked) {
      if (lost_race) continue;
      return asked.error();
    }
    Write write = *asked;
    if (write == Write::nothing) return ok_status();

    if (write == Write::remove) {
      if (!cur) return ok_status();
      const std::string assertion = "(&(" + enrolment_attr + "=" + ldap_filter_escape(cur->enrolment_value) + ")(" +
                                    ledger_attr + "=" + ldap_filter_escape(cur->ledger_value) + "))";
      auto rc = confirmed(connection_->delete_if(dn, assertion), nullptr, nullptr);
      if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
      if (*rc == kSuccess) return ok_status();
      if (*rc == kAssertionFailed || *rc == kNoSuchObject || *rc == kNotApplied) continue;
      return about(user, make_error(Errc::io_error, "delete refused: " + rc_text(*rc)));
    }

    if (!record) return about(user, make_error(Errc::invalid_argument, "nothing to write (record is empty; use remove)"));
    if (auto st = validate_enrolment(record->enrolment); !st) return st;

    if (write == Write::ledger_only) {
      // Only if the enrolment in the directory is the one the caller kept.
      if (!cur || !same_enrolment_bytes(cur->decoded.record.enrolment, record->enrolment)) write = Write::everything;
    }
    // An entry under the previous key (a rotation is in progress): its
    // ledger cannot be sealed under another key than its enrolment value's,
    // so both values move to the current key in one compare-and-swap.
    if (write == Write::ledger_only && cur->decoded.key_id != keys_.current.id) write = Write::everything;

    if (write == Write::ledger_only) {
      // A wrong code's ledger is the one on_record already committed.
      const SecureBytes wanted = serialize_ledger(record->ledger);
      if (on_record_ledger && constant_time_equal(on_record_ledger->span(), wanted.span())) return written();
      auto next = seal_ledger_value(keys_.current, user, cur->enrolment_value, cur->decoded.seq + 1, record->ledger);
      if (!next) return about(user, next.error());
      auto rc = confirmed(cas_ledger(*cur, *next), nullptr, &*next);
      if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
      if (*rc == kNoSuchAttribute || *rc == kNotApplied) continue;
      if (*rc != kSuccess) return about(user, make_error(Errc::io_error, "ledger update refused: " + rc_text(*rc)));
      return written();
    }

    // everything: a new record, or enrolment and ledger swapped together,
    // always under the current key (looked at again: this process may have
    // loaded its keys before a rekey renamed a new one into place).
    if (auto reloaded = reload_if_rotated(keys_); !reloaded) return about(user, reloaded.error());
    auto sealed = seal_record(keys_.current, user, *record, cur ? cur->decoded.seq + 1 : 1);
    if (!sealed) return about(user, sealed.error());
    Result<int> rc = kSuccess;
    if (!cur) {
      rc = connection_->add(dn, {{LdapChange::Op::add_value, "objectClass", bytes_of(kLdapObjectClass)},
                                 {LdapChange::Op::add_value, "uid", bytes_of(user)},
                                 {LdapChange::Op::add_value, enrolment_attr, sealed->enrolment},
                                 {LdapChange::Op::add_value, ledger_attr, sealed->ledger}});
    } else {
      rc = connection_->modify(dn, {{LdapChange::Op::delete_value, enrolment_attr, cur->enrolment_value},
                                    {LdapChange::Op::add_value, enrolment_attr, sealed->enrolment},
                                    {LdapChange::Op::delete_value, ledger_attr, cur->ledger_value},
                                    {LdapChange::Op::add_value, ledger_attr, sealed->ledger}});
    }
    rc = confirmed(std::move(rc), &sealed->enrolment, &sealed->ledger);
    if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
    if (*rc == kSuccess) return written();
    if (*rc == kNotApplied || (!cur && *rc == kAlreadyExists) ||
        (cur && (*rc == kNoSuchAttribute || *rc == kNoSuchObject))) {
      continue;
    }
    return about(user, make_error(Errc::io_error, std::string(cur ? "record update" : "record creation") +
                                                      " refused: " + rc_text(*rc)));
  }
  return about(user, make_error(Errc::busy, "changed by other servers " + std::to_string(kMaxAttempts) +
                                               " times in a row; not updated"));
}

Result<std::optional<KeyId>> LdapStore::sealed_key_id(std::string_view user) const {
  TOTP_TRY_STATUS(validate_user_name(user));
  auto cur = read_current(user);
  if (!cur) return cur.error();
  if (!*cur) return std::optional<KeyId>();
  return std::optional<KeyId>((*cur)->decoded.key_id);
}

std::string LdapStore::marker_dn() const { return std::string("uid=") + kLdapMarkerUid + "," + base_; }

Status LdapStore::see_marker() const {
  if (marker_seen_) return ok_status();
  LdapEntry marker;
  auto rc = connection_->read(marker_dn(), {"1.1"}, marker);
  if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
  if (*rc != kSuccess || !marker.found) {
    return make_error(Errc::io_error, "directory " + connection_->server() + ": the marker entry " + marker_dn() +
                                          " cannot be read (" + rc_text(*rc) +
                                          "): ldap_base is wrong, 'totp-setup init' was not run with store = ldap, "
                                          "or the ACL hides the records from this identity; so no user can be "
                                          "taken as not enrolled");
  }
  marker_seen_ = true;
  return ok_status();
}

Result<std::string> LdapStore::check() const {
  LdapEntry marker;
  auto rc = connection_->read(marker_dn(), {"1.1"}, marker);
  if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
  std::string made;
  if (*rc == kNoSuchObject) {
    // init: the marker goes among the records (the service account may add there).
    auto added = connection_->add(marker_dn(), {{LdapChange::Op::add_value, "objectClass", bytes_of(kLdapObjectClass)},
                                                {LdapChange::Op::add_value, "uid", bytes_of(kLdapMarkerUid)}});
    if (!added) return make_error(added.error().code, "directory " + added.error().message);
    if (*added != kSuccess && *added != kAlreadyExists) {
      return make_error(Errc::io_error, "directory " + connection_->server() + ": cannot create the marker entry " +
                                            marker_dn() + ": " + rc_text(*added) +
                                            " (does ldap_base exist? may this identity add entries there?)");
    }
    made = "created the marker entry " + marker_dn() + "; ";
  } else if (*rc != kSuccess) {
    return make_error(Errc::io_error, "directory " + connection_->server() + ": " + marker_dn() +
                                          " cannot be read: " + rc_text(*rc));
  }
  marker_seen_ = false;
  TOTP_TRY_STATUS(see_marker());
  return "directory " + connection_->server() + ": " + made + "connected, bound, records under " + base_ + " readable";
}

Result<std::vector<std::string>> LdapStore::users() const {
  std::vector<std::string> names;
  auto rc = connection_->list(base_, std::string("(objectClass=") + kLdapObjectClass + ")", "uid", names);
  if (!rc) return make_error(rc.error().code, "directory " + rc.error().message);
  if (*rc != kSuccess) {
    return make_error(Errc::io_error, "directory " + connection_->server() + ": cannot list " + base_ + ": " + rc_text(*rc));
  }
  std::vector<std::string> valid;
  for (auto& n : names) {
    if (validate_user_name(n)) valid.push_back(std::move(n));
  }
  std::sort(valid.begin(), valid.end());
  valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
  return valid;
}

namespace {
std::string rc_text(int rc) {
  switch (rc) {
    case 0: return "success (0)";
    case 4: return "size limit exceeded (4): give this identity a 'limits ... size=unlimited' line in slapd";
    case 16: return "no such attribute (16)";
    case 32: return "no such object (32)";
    case 49: return "invalid credentials (49)";
    case 50: return "insufficient access (50)";
    case 65: return "object class violation (65)";
    case 68: return "already exists (68)";
    case 122: return "assertion failed (122)";
    default: return "LDAP result " + std::to_string(rc);
  }
}
}  // namespace

}  // namespace totp
