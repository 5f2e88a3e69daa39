// SPDX-License-Identifier: Apache-2.0
// The one interface every reader and writer of enrolment records uses: the
// login flow (module and helper), the tool and the benchmarks. Two
// implementations: FileStore (core/store.h, one file per user on this
// server) and LdapStore (core/ldap_store.h, one entry per user in OpenLDAP,
// shared by a fleet). open_record_store (core/store_factory.h) picks one
// from the settings; nothing else knows which one is in use.
//
// Both give the same guarantees: every read-modify-write is atomic per user
// (a lock for files, a compare-and-swap for the directory), what a write
// asked for is durable before update returns, and every failure -- to
// reach, read, authenticate or write -- is an error, never "not enrolled".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record.h"
#include "core/result.h"

namespace totp {

class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // The user's record, read without a lock or a write. nullopt only when
  // the store knows for certain the user has none.
  virtual Result<std::optional<Record>> load(std::string_view user) const = 0;

  // What an update callback asks for.
  enum class Write { nothing, ledger_only, everything, remove };
  using Mutator = std::function<Result<Write>(std::optional<Record>& record)>;

  // Atomic read-modify-write of one user's record: reads it (nullopt if
  // none), calls `mutate`, writes what it asked for durably. `mutate` may
  // create a record (set it, return everything) or return remove. A store
  // whose atomicity is optimistic (the directory) may call `mutate` again
  // on a fresh read when another writer got in first, so `mutate` must
  // decide from the record it is given, not from an earlier call.
  // `while_flushing`, if set, is called once per write that happened, while
  // (or after) it becomes durable; it must not wait for a human. An error
  // after it ran means the write is not known to be durable.
  virtual Status update(std::string_view user, const Mutator& mutate,
                        const std::function<void()>& while_flushing = {});

  // Pessimistic accounting for anything that checks a code: `mutate` gets
  // `on_record`, which puts the ledger counting this attempt as a failure
  // on record before the code is looked at, so that whatever happens to
  // the process afterwards the failure counts. A right code's final write
  // then replaces it; a wrong code returns the counted ledger and nothing
  // more is written. on_record fails when there is no record.
  //
  // A store whose atomicity is optimistic (the directory) may call the
  // mutator again on a fresher record after on_record succeeded in an
  // earlier round. Then already_counted() is true: this attempt's failure
  // is on record already, so the mutator must neither count it again nor
  // refuse for a lock (that lock may be its own count, and the attempt
  // was judged unlocked when it began); on_record() does nothing, and a
  // wrong answer needs no further write. The files store, which locks,
  // never does this.
  class OnRecord {
   public:
    template <class F>
    OnRecord(F&& f, bool already_counted = false)  // NOLINT: lambdas convert
        : record_(std::forward<F>(f)), already_counted_(already_counted) {}
    Status operator()(const Ledger& counted) const { return already_counted_ ? ok_status() : record_(counted); }
    bool already_counted() const noexcept { return already_counted_; }

   private:
    std::function<Status(const Ledger&)> record_;
    bool already_counted_ = false;
  };
  using CheckingMutator = std::function<Result<Write>(std::optional<Record>& record, const OnRecord& on_record)>;
  virtual Status update_checked(std::string_view user, const CheckingMutator& mutate,
                                const std::function<void()>& while_flushing = {}) = 0;

  // How many times the last update read and decided again because another
  // writer got in first (always 0 for a store that locks). For debug logs
  // and benchmarks.
  virtual int last_update_retries() const { return 0; }

  // Whether a ledger-only update is on disk before update returns. The
  // files store says no (a TOTP login does not wait for the disk); the
  // directory yes (slapd commits each write). When it is no, a login
  // applies the boot rule (core/boot_rule.h): codes that could have been
  // used before this system started are not accepted.
  virtual bool ledger_writes_durable() const = 0;

  // Every user with a record, sorted (migrate, list).
  virtual Result<std::vector<std::string>> users() const = 0;

  // Checks that records can be read and written here (the directory:
  // connects, binds and sees ldap_base) and says so in one line, e.g.
  // "directory ldap://dir.example.com: bound as cn=pam_totp,...; ou=totp,... readable"
  // (empty when there is nothing to add to what opening the store checked).
  virtual Result<std::string> check() const = 0;

  // Where records live, for messages: "/var/lib/pam_totp" or
  // "ldap://dir.example.com ou=totp,dc=example,dc=com".
  virtual std::string where() const = 0;

 protected:
  RecordStore() = default;
  RecordStore(RecordStore&&) noexcept = default;
  RecordStore& operator=(RecordStore&&) noexcept = default;
};

inline Status RecordStore::update(std::string_view user, const Mutator& mutate,
                                  const std::function<void()>& while_flushing) {
  return update_checked(
      user, [&](std::optional<Record>& record, const OnRecord&) { return mutate(record); }, while_flushing);
}

}  // namespace totp
