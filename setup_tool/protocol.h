// The pipe protocol between totp-setup (unprivileged) and totp-helper
// (setuid root). One request, one reply, each a single line of JSON of at
// most kMaxMessageSize bytes including the newline. The helper acts only for
// its real uid; a request never names a user, a path or a setting.
//
// Requests ("op"):
//   {"op":"status"}
//   {"op":"begin", "proof":CODE?, "yes":BOOL}    new secret; yes: activate at once
//   {"op":"confirm", "code":CODE}                 code from the new secret
//   {"op":"recovery_codes", "proof":CODE}         new recovery codes
//   {"op":"remove", "proof":CODE}
// Replies: {"ok":true, ...} or {"ok":false, "errc":NAME, "error":TEXT}.
// Anything else (too long, not JSON, not an object, unknown op, a field of
// the wrong type, an unexpected field) is refused and ends the helper.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secure_bytes.h"
#include "setup_tool/account_service.h"

namespace totp::setup {

constexpr std::size_t kMaxMessageSize = 4096;
constexpr int kProtocolVersion = 1;

using Json = nlohmann::json;

// Reads newline-terminated messages from a fd (EINTR-safe, bounded).
class MessageReader {
 public:
  explicit MessageReader(int fd) : fd_(fd) {}
  // Errc::not_found on a clean EOF before any byte, too_large over the cap,
  // parse_error on NUL bytes or a truncated last line, io_error otherwise.
  Result<SecureBytes> next();

 private:
  int fd_;
  SecureBytes pending_;  // bytes read past the last newline
};

// Parses one message: must be a JSON object.
Result<Json> parse_message(std::string_view text);
// Serialises (one line), checks the cap, writes, and cleanses the buffer.
Status write_message(int fd, const Json& message);
// Overwrites every string in `j` (secrets, codes) before it is destroyed.
void cleanse_json(Json& j) noexcept;

// Strict field access: nullopt when missing or of another type.
std::optional<std::string_view> string_field(const Json& j, const char* key);
std::optional<bool> bool_field(const Json& j, const char* key);
std::optional<std::int64_t> int_field(const Json& j, const char* key);
// True if `j` has only keys from `allowed`.
bool only_keys(const Json& j, std::initializer_list<std::string_view> allowed);

// Errc <-> stable name on the wire.
Errc errc_from_name(std::string_view name);

// Wire forms of the service's values.
Json error_reply(const Error& e);
Json status_to_wire(const StatusReport& s);
Result<StatusReport> status_from_wire(const Json& j);
void offer_to_wire(Json& reply, const Offer& o);
Result<Offer> offer_from_wire(const Json& j);
void codes_to_wire(Json& reply, const Issued& issued);
Result<Issued> codes_from_wire(const Json& j);

}  // namespace totp::setup
