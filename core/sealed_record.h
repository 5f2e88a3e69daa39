// SPDX-License-Identifier: Apache-2.0
// A record in the directory form (core/ldap_store.h): the same sealed bytes
// as a state file (core/store.h), cut in two attribute values.
//   enrolment value = state header (magic, version, key id, length)
//                     || seal(AAD = header || "enrolment" || user, enrolment)
//   ledger value    = a state file's slot A: seal(AAD = header || "ledger" ||
//                     'A' || user || enrolment tag, seq || ledger)
// So the directory holds nothing a state file does not: AES-256-GCM under
// the master key, bound to the user name, the ledger bound to its enrolment.
// Only one ledger value: the compare-and-swap in the directory replaces it
// atomically, so the second slot a file needs against torn writes has no job.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/key.h"
#include "core/record.h"
#include "core/result.h"
#include "core/store.h"

namespace totp {

struct SealedRecord {
  std::vector<std::uint8_t> enrolment;
  std::vector<std::uint8_t> ledger;
};

Result<SealedRecord> seal_record(const MasterKey& key, std::string_view user, const Record& record, std::uint64_t seq);

// A new ledger value for the enrolment value already stored.
Result<std::vector<std::uint8_t>> seal_ledger_value(const MasterKey& key, std::string_view user,
                                                    std::span<const std::uint8_t> enrolment_value, std::uint64_t seq,
                                                    const Ledger& ledger);

// Both values authenticated for `user` under the key the header names (the
// ring's current or previous key): Errc::unsupported (with the key ids) for
// another master key, Errc::tampered for anything that does not
// authenticate or parse. The ledger value must be sealed under the same key
// as the enrolment value (seal_ledger_value with the key it names).
Result<DecodedState> open_sealed_record(const KeyRing& keys, std::string_view user,
                                        std::span<const std::uint8_t> enrolment_value,
                                        std::span<const std::uint8_t> ledger_value);

}  // namespace totp
