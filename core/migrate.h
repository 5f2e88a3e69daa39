// SPDX-License-Identifier: Apache-2.0
// `totp-setup migrate --to ldap`: every local record (the files store of
// this server) copied into the directory store, so that a server that
// already has enrolled users can join a fleet without anyone re-enrolling.
//
// Idempotent: a user whose record the directory already holds with the
// same enrolment is left alone (the directory's ledger is the newer one);
// a different enrolment there is never overwritten (failed, with the
// reason). Each copy is read back and compared before it counts.
// The local copy stays unless remove_local asks for it to go, and then only
// for users whose enrolment the directory verifiably holds.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/ldap_store.h"
#include "core/result.h"
#include "core/store.h"

namespace totp {

struct MigrationReport {
  std::vector<std::string> copied;
  std::vector<std::string> already;
  std::vector<std::pair<std::string, std::string>> failed;  // user, reason
  std::vector<std::string> removed_local;
  // Set when the directory stopped answering: the run ended there (the
  // users not reached are in no list; a re-run resumes).
  std::optional<std::string> stopped;
};

// Errors only for what prevents the run (the local store cannot be listed,
// the directory cannot be used at the start); per-user problems, and a
// directory that stops answering half-way (`stopped`), are in the report. `progress` gets one line
// per event ("copied alice").
Result<MigrationReport> migrate_to_directory(FileStore& local, LdapStore& directory, bool remove_local,
                                             const std::function<void(const std::string&)>& progress);

}  // namespace totp
