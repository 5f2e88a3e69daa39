// SPDX-License-Identifier: Apache-2.0
// AccountService's trusted devices: `totp-setup devices` and `forget`
// (core/trusted_device.h). Neither needs a proof: they only list or end
// what lets a login in without a code.
#include <algorithm>

#include "setup_tool/account_service.h"
#include "setup_tool/signal_block.h"

namespace totp::setup {

Result<DevicesReport> AccountService::devices() const {
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  if (!loaded->has_value() || (*loaded)->enrolment.state != EnrolmentState::active) {
    return make_error(Errc::not_found, user_ + " is not enrolled");
  }
  const std::int64_t t = now();
  DevicesReport report;
  report.user = user_;
  report.remember = settings_.remember;
  for (const TrustedDevice& d : (*loaded)->enrolment.devices.list) {
    // Under the setting now: a lowered `remember` shortens every entry.
    const std::int64_t until = settings_.remember > 0 ? std::min(d.expires, d.created + settings_.remember) : d.expires;
    if (until <= t) continue;  // ended; gone at the next write
    report.devices.push_back(DeviceInfo{device_id(d.digest), key_fingerprint_text(d.key), d.address, d.created, until});
  }
  return report;
}

Result<std::size_t> AccountService::forget_devices(const std::string* id) {
  if (id != nullptr && !valid_device_id(*id)) {
    return make_error(Errc::invalid_argument, "a device ID is " + std::to_string(kDeviceIdSize) +
                                                  " hex digits, as `totp-setup devices` shows it");
  }
  const std::int64_t t = now();
  bool enrolled = false;
  std::size_t forgotten = 0;
  Status st = [&] {
    SignalBlock block;
    return store_->update(user_, [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
      enrolled = rec.has_value() && rec->enrolment.state == EnrolmentState::active;
      forgotten = 0;
      if (!enrolled) return RecordStore::Write::nothing;
      TrustedDevices& devices = rec->enrolment.devices;
      const std::size_t before = devices.list.size();
      forgotten = forget_trusted_devices(devices, id);
      prune_trusted_devices(devices, t);
      return devices.list.size() == before ? RecordStore::Write::nothing : RecordStore::Write::everything;
    });
  }();
  if (!st) return st.error();
  if (!enrolled) return make_error(Errc::not_found, user_ + " is not enrolled");
  if (id != nullptr && forgotten == 0) {
    return make_error(Errc::not_found, "no trusted device " + *id + " (see totp-setup devices)");
  }
  if (id != nullptr) {
    audit_change("forget", {{"id", *id}});
  } else {
    audit_change("forget", {{"devices", std::to_string(forgotten)}});
  }
  return forgotten;
}

}  // namespace totp::setup
