// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the per-user state formats: the enrolment and ledger
// parsers, the state-file layout parser and the whole-file decoder (with a
// fixed key, so the seed files decode completely). Properties checked beyond
// "no crash": whatever parses is within the caps and serialises back to the
// exact input (the encodings are canonical).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "core/record.h"
#include "core/store.h"
#include "fuzz/record_fuzz_key.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_enrolment(std::span<const std::uint8_t> in) {
  auto e = totp::parse_enrolment(in);
  if (!e) return;
  check(totp::validate_enrolment(*e).ok());
  const totp::SecureBytes again = totp::serialize_enrolment(*e);
  check(again.size() == in.size() && std::memcmp(again.data(), in.data(), in.size()) == 0);
}

void fuzz_ledger(std::span<const std::uint8_t> in) {
  auto l = totp::parse_ledger(in);
  if (!l) return;
  check(l->last_login_rhost.size() <= totp::kMaxRhostSize);
  const totp::SecureBytes again = totp::serialize_ledger(*l);
  check(again.size() == in.size() && std::memcmp(again.data(), in.data(), in.size()) == 0);
}

void fuzz_state_file(std::span<const std::uint8_t> in) {
  auto layout = totp::parse_state_layout(in);
  if (layout) {
    check(layout->header.size() == totp::kStateHeaderSize);
    check(layout->slots[0].size() == totp::kLedgerSlotSize && layout->slots[1].size() == totp::kLedgerSlotSize);
    check(totp::kStateHeaderSize + layout->enrolment.size() + 2 * totp::kLedgerSlotSize == in.size());
    check(layout->slot_offset[1] + totp::kLedgerSlotSize == in.size());
  }
  static const totp::MasterKey key = fuzz_record::fixed_key();
  auto decoded = totp::decode_state_file(key, fuzz_record::kUser, in);
  if (decoded) {
    check(layout.ok());
    check(totp::validate_enrolment(decoded->record.enrolment).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  fuzz_enrolment(in);
  fuzz_ledger(in);
  fuzz_state_file(in);
  return 0;
}
