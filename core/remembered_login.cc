// SPDX-License-Identifier: Apache-2.0
// Trusted devices at login: see remembered_login.h.
#include "core/remembered_login.h"

#include <ctime>

namespace totp {

std::optional<LoginDevice> login_device(std::string_view user, const char* ssh_auth_info, std::string_view rhost) {
  if (user.empty() || !valid_device_address(rhost)) return std::nullopt;
  auto key = ssh_key_from_auth_info(ssh_auth_info);
  if (!key) return std::nullopt;
  return LoginDevice{std::string(user), std::move(*key), std::string(rhost)};
}

Result<std::optional<TrustedLogin>> trusted_device_login(const Record& record, const LoginDevice& device,
                                                         std::int64_t now, std::int64_t remember) {
  const Enrolment& e = record.enrolment;
  if (remember <= 0 || e.revoked || e.state != EnrolmentState::active || e.devices.list.empty()) {
    return std::optional<TrustedLogin>();
  }
  auto digest = device_digest(e.devices.key.span(), device.user, device.key.blob, device.address);
  if (!digest) return digest.error();
  const TrustedDevice* found = find_trusted_device(e.devices, *digest, now, remember);
  if (found == nullptr) return std::optional<TrustedLogin>();
  return std::optional<TrustedLogin>(
      TrustedLogin{device_id(found->digest), key_fingerprint_text(found->key), std::min(found->expires, found->created + remember)});
}

Result<RecordStore::Write> remember_login_device(std::optional<Record>& record, const LoginDevice& device,
                                                 std::int64_t now, std::int64_t remember, TrustedLogin& out) {
  if (!record || record->enrolment.revoked || record->enrolment.state != EnrolmentState::active) {
    return RecordStore::Write::nothing;
  }
  auto entry = remember_trusted_device(record->enrolment.devices, device.user, device.key, device.address, now,
                                       std::min<std::int64_t>(remember, kMaxTrustedDeviceLifetime));
  if (!entry) return entry.error();
  out = TrustedLogin{device_id(entry->digest), key_fingerprint_text(entry->key), entry->expires};
  return RecordStore::Write::everything;
}

std::string utc_time_text(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  struct tm tm {};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  char buf[40];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return std::to_string(t);
  return buf;
}

std::string trusted_login_log_line(const TrustedLogin& t) {
  return "accepted trusted device " + t.id + " (key " + t.key + ", until " + utc_time_text(t.until) + ")";
}

}  // namespace totp
