// SPDX-License-Identifier: Apache-2.0
// The directory store: one entry per enrolled user in OpenLDAP, shared by
// every server of a fleet (PRODUCT.md "Many servers", ../shared/LDAP.md).
//
//   dn: uid=<user>,<ldap_base>
//   objectClass: pamTotpRecord
//   pamTotpEnrolment: header || sealed enrolment   (core/sealed_record.h)
//   pamTotpLedger:    sealed seq || ledger
//
// The same sealed bytes as a state file, under the fleet's one master key.
// Atomicity is a compare-and-swap in one modify: delete the exact value
// read, add the new one. When another server changed the record in
// between, the directory refuses the modify (noSuchAttribute, 16), nothing
// changes, and the update reads again and decides again (bounded). So a
// code used on any server is refused on all of them, and failures from all
// of them count toward one lockout. Creation is an add (alreadyExists, 68,
// means someone else created it: again), removal a delete asserting both
// values (RFC 4528; 122: again).
//
// "Not enrolled" is said only when the bind succeeded, the user's entry is
// absent and the marker entry uid=.pam_totp,<ldap_base> (made by `totp-setup
// init`) is visible: a search the ACL refuses looks exactly like a missing
// entry, and a visible ldap_base alone would not prove the records are
// visible too. Anything else (unreachable, TLS, bind,
// timeout, an entry without both values, a value that does not
// authenticate) is an error, and an update whose outcome the directory
// never reported is an error too (the caller refuses the login).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/key.h"
#include "core/ldap_connection.h"
#include "core/record_store.h"
#include "core/sealed_record.h"

namespace totp {

inline constexpr const char* kLdapObjectClass = "pamTotpRecord";
inline constexpr const char* kLdapEnrolmentAttribute = "pamTotpEnrolment";
inline constexpr const char* kLdapLedgerAttribute = "pamTotpLedger";
// The marker entry uid=.pam_totp,<ldap_base> (a name no user can have),
// made by `totp-setup init`: seeing it proves this identity sees the
// records, so a user's missing entry really means "not enrolled".
inline constexpr const char* kLdapMarkerUid = ".pam_totp";

class LdapStore final : public RecordStore, public SealedKeyProbe {
 public:
  // Reads the bind password file (must be owned by `owner`, root in
  // production, and not readable by group or others); connects on first use.
  // Records open under the ring's current or previous key; every write
  // seals under the current key (a ledger update of an entry under the
  // previous key becomes an enrolment + ledger compare-and-swap).
  static Result<std::unique_ptr<LdapStore>> open(const Settings& settings, KeyRing keys, uid_t owner = 0);

  Result<std::optional<Record>> load(std::string_view user) const override;
  using RecordStore::update;
  Status update_checked(std::string_view user, const CheckingMutator& mutate,
                        const std::function<void()>& while_flushing = {}) override;
  Result<std::vector<std::string>> users() const override;
  std::string where() const override;
  int last_update_retries() const override { return last_retries_; }
  Result<std::string> check() const override;
  // slapd commits every write before it answers.
  bool ledger_writes_durable() const override { return true; }

  // The budget (ldap_timeout) covers one login's directory work. A tool
  // that does many independent operations (migrate) gives each its own.
  void renew_budget() { connection_->budget().reset(); }

  // The DN of a user's record.
  std::string dn_of(std::string_view user) const;

  // rekey: the key the user's entry is sealed under (authenticated whole).
  Result<std::optional<KeyId>> sealed_key_id(std::string_view user) const override;

 private:
  // What the directory holds for a user now.
  struct Current {
    std::vector<std::uint8_t> enrolment_value;
    std::vector<std::uint8_t> ledger_value;
    DecodedState decoded;
  };
  LdapStore(KeyRing keys, std::string base, std::unique_ptr<LdapConnection> connection);
  // nullopt only for a user known not to have a record. LDAP compares uid
  // without case, so uid=Alice's entry answers a read of uid=alice: that is
  // an error (not alice's record, and not "not enrolled" either).
  Result<std::optional<Current>> read_current(std::string_view user) const;
  // The first read of an update: what the last load() of this user read,
  // if there was one (its ciphertexts only; the enrolment is opened again),
  // else a read. A stale copy costs nothing but a lost compare-and-swap.
  Result<std::optional<Current>> first_read(std::string_view user);

  // What load() read last (never the secret in the clear).
  struct LoadMemo {
    std::string user;
    std::vector<std::uint8_t> enrolment_value;
    std::vector<std::uint8_t> ledger_value;
  };
  Error about(std::string_view user, const Error& e) const;
  std::string marker_dn() const;
  // The marker entry is visible (read once per store).
  Status see_marker() const;

  // Reloaded when key_file was rotated since (see FileStore).
  mutable KeyRing keys_;
  std::string base_;
  int last_retries_ = 0;
  mutable std::optional<LoadMemo> last_load_;
  mutable bool marker_seen_ = false;
  // Reads reconnect and spend budget: state, not the store's contents.
  mutable std::unique_ptr<LdapConnection> connection_;
};

}  // namespace totp
