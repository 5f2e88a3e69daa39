// SPDX-License-Identifier: Apache-2.0
// See migrate.h.
#include "core/migrate.h"

namespace totp {

namespace {

// The same enrolment: the same secret, made at the same time with the same
// code parameters. What changes in use (recovery codes spent or renewed,
// pending -> active) does not make it another one: the directory's copy
// is then simply the newer.
bool same_enrolment(const Enrolment& a, const Enrolment& b) {
  return constant_time_equal(a.secret.span(), b.secret.span()) && a.created == b.created &&
         a.otp.digits == b.otp.digits && a.otp.period == b.otp.period && a.otp.algorithm == b.otp.algorithm;
}

enum class Outcome { copied, already };

// Copies one user's record; the outcome, or why not.
Result<Outcome> copy_one(const std::string& user, const Record& record, LdapStore& directory) {
  Outcome outcome = Outcome::copied;
  Status st = directory.update(user, [&](std::optional<Record>& there) -> Result<RecordStore::Write> {
    if (!there) {
      there = clone_record(record);
      outcome = Outcome::copied;
      return RecordStore::Write::everything;
    }
    if (same_enrolment(there->enrolment, record.enrolment)) {
      outcome = Outcome::already;
      return RecordStore::Write::nothing;
    }
    return make_error(Errc::invalid_argument, "the directory holds a different enrolment for " + user +
                                                  ": not overwritten (remove it there first if the local one is right)");
  });
  if (!st) return st.error();
  // Verified: what the directory now returns is this enrolment.
  auto back = directory.load(user);
  if (!back) return make_error(back.error().code, "verification read failed: " + back.error().message);
  if (!*back || !same_enrolment((*back)->enrolment, record.enrolment)) {
    return make_error(Errc::tampered, "verification failed: the directory does not return the copied enrolment");
  }
  return outcome;
}

// Removes the local file only if it still holds the enrolment that was verified.
Status remove_local_copy(const std::string& user, const Enrolment& verified, FileStore& local) {
  return local.update(user, [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
    if (!rec) return RecordStore::Write::nothing;
    if (!same_enrolment(rec->enrolment, verified)) {
      return make_error(Errc::busy, "the local record changed since it was copied: kept");
    }
    return RecordStore::Write::remove;
  });
}

}  // namespace

Result<MigrationReport> migrate_to_directory(FileStore& local, LdapStore& directory, bool remove_local,
                                             const std::function<void(const std::string&)>& progress) {
  auto users = local.users();
  if (!users) return users.error();
  const auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  MigrationReport report;
  // The directory usable, and its marker entry made (as `init` would), so
  // that the first user is judged like the others.
  auto ready = directory.check();
  if (!ready) return ready.error();
  say(*ready);
  for (const std::string& user : *users) {
    const auto fail = [&](const std::string& why) {
      report.failed.emplace_back(user, why);
      say("failed " + user + ": " + why);
    };
    auto record = local.load(user);
    if (!record) {
      fail("local record unusable: " + record.error().message);
      continue;
    }
    if (!*record) continue;  // removed since the listing
    directory.renew_budget();  // each user gets ldap_timeout of its own
    auto outcome = copy_one(user, **record, directory);
    if (!outcome) {
      fail(outcome.error().message);
      // A directory that stopped answering would cost every remaining user
      // its own ldap_timeout: stop here (a re-run resumes).
      directory.renew_budget();
      if (auto reachable = directory.check(); !reachable) {
        report.stopped = "stopped: " + reachable.error().message;
        say(*report.stopped);
        return report;
      }
      continue;
    }
    if (*outcome == Outcome::copied) {
      report.copied.push_back(user);
      say("copied " + user);
    } else {
      report.already.push_back(user);
      say("already in the directory: " + user);
    }
    if (remove_local) {
      if (Status st = remove_local_copy(user, (*record)->enrolment, local); !st) {
        fail("local record not removed: " + st.error().message);
        continue;
      }
      report.removed_local.push_back(user);
      say("removed local record of " + user);
    }
  }
  return report;
}

}  // namespace totp
