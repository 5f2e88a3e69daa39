// SPDX-License-Identifier: Apache-2.0
// The pipe protocol's framing and wire forms: MessageReader (one bounded
// line at a time), parse_message, strict field access, Errc names, and the
// conversions of the service's values to and from their wire form. The
// strict readers and the writer live in their own files: request_parser.cc
// (parse_request), reply_parser.cc (parse_reply) and json_writer.cc
// (serialize_json, write_message, cleanse_json, set_secret, push_secret).
#include "setup_tool/protocol.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/otp.h"
#include "core/store.h"

namespace totp::setup {

Result<SecureBytes> MessageReader::next() {
  for (;;) {
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i] != '\n') continue;
      SecureBytes line(std::span<const std::uint8_t>(pending_.data(), i));
      SecureBytes rest(std::span<const std::uint8_t>(pending_.data() + i + 1, pending_.size() - i - 1));
      pending_ = std::move(rest);
      if (std::memchr(line.data(), '\0', line.size()) != nullptr) {
        return make_error(Errc::parse_error, "message contains a NUL byte");
      }
      return line;
    }
    if (pending_.size() >= kMaxMessageSize) return make_error(Errc::too_large, "message too long");
    std::uint8_t buf[512];
    const std::size_t room = std::min(sizeof buf, kMaxMessageSize - pending_.size());
    const ssize_t n = read(fd_, buf, room);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(Errc::io_error, std::string("read: ") + std::strerror(errno));
    if (n == 0) {
      if (pending_.empty()) return make_error(Errc::not_found, "end of input");
      return make_error(Errc::parse_error, "truncated message");
    }
    pending_.append(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
    cleanse(buf, sizeof buf);
  }
}

// ---- Messages as JSON ---------------------------------------------------------

Result<Json> parse_message(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::parse_error, "message is not valid JSON");
  if (!j.is_object()) {
    cleanse_json(j);
    return make_error(Errc::parse_error, "message is not a JSON object");
  }
  return j;
}

std::optional<std::string_view> string_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return std::string_view(it->get_ref<const std::string&>());
}

std::optional<bool> bool_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

std::optional<std::int64_t> int_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

bool only_keys(const Json& j, std::initializer_list<std::string_view> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    for (auto a : allowed) found = found || it.key() == a;
    if (!found) return false;
  }
  return true;
}

Errc errc_from_name(std::string_view name) {
  for (Errc e : {Errc::invalid_argument, Errc::parse_error, Errc::io_error, Errc::not_found, Errc::permission,
                 Errc::tampered, Errc::unsupported, Errc::too_large, Errc::crypto_error, Errc::locked,
                 Errc::busy}) {
    if (name == errc_name(e)) return e;
  }
  return Errc::io_error;
}

Json error_reply(const Error& e) {
  return Json{{"ok", false}, {"errc", errc_name(e.code)}, {"error", e.message}};
}

namespace {

Error bad_reply(const char* what) { return make_error(Errc::parse_error, std::string("helper reply: ") + what); }

bool printable(std::string_view s, std::size_t max) {
  if (s.size() > max) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<OtpParams> params_from_wire(const Json& j) {
  auto alg = string_field(j, "algorithm");
  auto digits = int_field(j, "digits");
  auto period = int_field(j, "period");
  if (!alg || !digits || !period) return bad_reply("missing code parameters");
  auto a = parse_algorithm(*alg);
  if (!a) return bad_reply("unknown algorithm");
  OtpParams p;
  p.algorithm = *a;
  if (*digits < kMinDigits || *digits > kMaxDigits || *period < kMinPeriod || *period > kMaxPeriod) {
    return bad_reply("code parameters out of range");
  }
  p.digits = static_cast<int>(*digits);
  p.period = static_cast<int>(*period);
  return p;
}

}  // namespace

Json status_to_wire(const StatusReport& s) {
  Json auths = Json::array();
  for (const AuthenticatorInfo& a : s.authenticators) {
    auths.push_back(Json{{"name", a.name},
                         {"algorithm", algorithm_name(a.otp.algorithm)},
                         {"digits", a.otp.digits},
                         {"period", a.otp.period},
                         {"created", a.created}});
  }
  return Json{{"ok", true},
              {"revoked", s.revoked},
              {"authenticators", std::move(auths)},
              {"user", s.user},
              {"enrolled", s.enrolled},
              {"pending", s.pending},
              {"algorithm", algorithm_name(s.otp.algorithm)},
              {"digits", s.otp.digits},
              {"period", s.otp.period},
              {"created", s.created},
              {"last_login_time", s.last_login_time},
              {"last_login_rhost", s.last_login_rhost},
              {"recovery_codes_left", s.recovery_codes_left},
              {"locked_until", s.locked_until},
              {"failures", s.failures}};
}

Result<StatusReport> status_from_wire(const Json& j) {
  StatusReport s;
  auto user = string_field(j, "user");
  auto enrolled = bool_field(j, "enrolled");
  auto pending = bool_field(j, "pending");
  auto created = int_field(j, "created");
  auto last = int_field(j, "last_login_time");
  auto rhost = string_field(j, "last_login_rhost");
  auto left = int_field(j, "recovery_codes_left");
  auto locked = int_field(j, "locked_until");
  auto failures = int_field(j, "failures");
  if (!user || !enrolled || !pending || !created || !last || !rhost || !left || !locked || !failures) {
    return bad_reply("status fields missing");
  }
  if (!printable(*user, kMaxUserNameSize) || !printable(*rhost, 256) || *left < 0 ||
      *left > static_cast<std::int64_t>(kMaxRecoveryCodes) || *failures < 0 || *failures > UINT32_MAX) {
    return bad_reply("status fields out of range");
  }
  auto p = params_from_wire(j);
  if (!p) return p.error();
  s.user = std::string(*user);
  s.enrolled = *enrolled;
  s.pending = *pending;
  s.otp = *p;
  s.created = *created;
  s.last_login_time = *last;
  s.last_login_rhost = std::string(*rhost);
  s.recovery_codes_left = static_cast<std::size_t>(*left);
  s.locked_until = *locked;
  s.failures = static_cast<std::uint32_t>(*failures);
  auto revoked = bool_field(j, "revoked");
  auto auths = j.find("authenticators");
  if (!revoked || auths == j.end() || !auths->is_array() || auths->size() > kMaxAuthenticators) {
    return bad_reply("status fields missing");
  }
  s.revoked = *revoked;
  for (const Json& a : *auths) {
    if (!a.is_object()) return bad_reply("bad authenticator");
    auto name = string_field(a, "name");
    auto made = int_field(a, "created");
    auto params = params_from_wire(a);
    if (!name || !made || !params || !validate_authenticator_name(*name)) return bad_reply("bad authenticator");
    s.authenticators.push_back(AuthenticatorInfo{std::string(*name), *params, *made});
  }
  return s;
}

void offer_to_wire(Json& reply, const Offer& o) {
  reply["user"] = o.user;
  reply["issuer"] = o.issuer;
  reply["algorithm"] = algorithm_name(o.otp.algorithm);
  reply["digits"] = o.otp.digits;
  reply["period"] = o.otp.period;
  set_secret(reply, "secret", o.secret_base32.view());
  set_secret(reply, "uri", o.uri.view());
  reply["replacing"] = o.replacing;
}

Result<Offer> offer_from_wire(const Json& j) {
  auto user = string_field(j, "user");
  auto issuer = string_field(j, "issuer");
  auto secret = string_field(j, "secret");
  auto uri = string_field(j, "uri");
  auto replacing = bool_field(j, "replacing");
  if (!user || !issuer || !secret || !uri || !replacing) return bad_reply("enrolment fields missing");
  if (!printable(*user, kMaxUserNameSize) || issuer->size() > 1024 || !printable(*secret, 128) ||
      !printable(*uri, 2048) || !uri->starts_with("otpauth://totp/")) {
    return bad_reply("enrolment fields out of range");
  }
  auto p = params_from_wire(j);
  if (!p) return p.error();
  Offer o;
  o.user = std::string(*user);
  o.issuer = std::string(*issuer);
  o.otp = *p;
  o.secret_base32 = SecureBytes::from_string(*secret);
  o.uri = SecureBytes::from_string(*uri);
  o.replacing = *replacing;
  return o;
}

void codes_to_wire(Json& reply, const Issued& issued) {
  Json codes = Json::array();
  for (const auto& c : issued.recovery_codes) push_secret(codes, c.view());
  reply["recovery_codes"] = std::move(codes);
}

Result<Issued> codes_from_wire(const Json& j) {
  auto it = j.find("recovery_codes");
  if (it == j.end() || !it->is_array() || it->size() > kMaxRecoveryCodes) return bad_reply("recovery codes missing");
  Issued issued;
  for (const auto& c : *it) {
    if (!c.is_string() || !printable(c.get_ref<const std::string&>(), 32)) return bad_reply("bad recovery code");
    issued.recovery_codes.push_back(SecureBytes::from_string(c.get_ref<const std::string&>()));
  }
  return issued;
}

Json devices_to_wire(const DevicesReport& d) {
  Json list = Json::array();
  for (const DeviceInfo& x : d.devices) {
    list.push_back(Json{{"id", x.id}, {"key", x.key}, {"from", x.from}, {"since", x.since}, {"until", x.until}});
  }
  return Json{{"ok", true}, {"user", d.user}, {"remember", d.remember}, {"devices", std::move(list)}};
}

Result<DevicesReport> devices_from_wire(const Json& j) {
  auto user = string_field(j, "user");
  auto remember = int_field(j, "remember");
  auto list = j.find("devices");
  if (!user || !remember || list == j.end() || !list->is_array()) return bad_reply("devices fields missing");
  if (!printable(*user, kMaxUserNameSize) || *remember < 0 || *remember > kMaxRememberSeconds ||
      list->size() > kMaxTrustedDevices) {
    return bad_reply("devices fields out of range");
  }
  DevicesReport d;
  d.user = std::string(*user);
  d.remember = *remember;
  for (const Json& x : *list) {
    if (!x.is_object()) return bad_reply("bad device");
    auto id = string_field(x, "id");
    auto key = string_field(x, "key");
    auto from = string_field(x, "from");
    auto since = int_field(x, "since");
    auto until = int_field(x, "until");
    if (!id || !key || !from || !since || !until || !valid_device_id(*id) || !printable(*key, 64) ||
        !key->starts_with("SHA256:") || !valid_device_address(*from)) {
      return bad_reply("bad device");
    }
    d.devices.push_back(DeviceInfo{std::string(*id), std::string(*key), std::string(*from), *since, *until});
  }
  return d;
}

}  // namespace totp::setup
