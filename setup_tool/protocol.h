// SPDX-License-Identifier: Apache-2.0
// The pipe protocol between totp-setup or pam_totp.so running as a user
// (unprivileged) and totp-helper (setuid root). One request, one reply, each
// a single line of JSON of at most kMaxMessageSize bytes including the
// newline. The helper acts only for its real uid; a request never names a
// path or a setting, and the only user it may name (login ops) must be the
// caller's own account.
//
// Requests ("op"):
//   {"op":"status"}
//   {"op":"begin", "proof":CODE?, "yes":BOOL, "name":NAME?}
//                                                 new secret; yes: activate at once;
//                                                 name: another authenticator (--add)
//   {"op":"confirm", "code":CODE}                 code from the new secret
//   {"op":"recovery_codes", "proof":CODE}         new recovery codes
//   {"op":"remove", "proof":CODE, "name":NAME?}   name: only that authenticator
//   {"op":"devices"}                              trusted devices
//       -> {"ok":true, "user":U, "remember":N, "devices":[{"id","key","from","since","until"}...]}
//   {"op":"forget", "id":ID | "all":true}         end one or every trusted device
//       -> {"ok":true, "forgotten":N}
//   {"op":"login_state", "user":NAME}             before the prompt (PAM module)
//       -> {"ok":true, "build":B, "enrolled":BOOL, "locked":BOOL, "digits":N, "revoked":BOOL}
//   {"op":"login", "user":NAME, "answer":TEXT | "unseen":true,
//    "rhost":TEXT?, "service":TEXT?}              judge one typed answer
//       -> {"ok":true, "decision":D, "now_locked":BOOL, "recovery_left":N}
// Replies: {"ok":true, ...} or {"ok":false, "errc":NAME, "error":TEXT}.
// Anything else (too long, not JSON, not an object, unknown op, a field of
// the wrong type, an unexpected field) is refused and ends the helper.
//
// Secrets on the wire. The helper reads requests with parse_request, its
// own strict parser, which decodes string values straight into SecureBytes:
// no JSON library copy of a proof. Messages are written with
// serialize_json, also our own, into SecureBytes; a Json that holds secrets
// gets them through set_secret / push_secret (one allocation of the exact
// size, no temporary std::string) and is wiped by cleanse_json before it is
// destroyed. totp-setup reads the replies with parse_reply, which builds
// each string once at its final size.
//
// Implemented in: protocol.cc (MessageReader, parse_message, field access,
// Errc names, wire forms), request_parser.cc (Request, parse_request),
// reply_parser.cc (parse_reply), json_writer.cc (serialize_json,
// write_message, cleanse_json, set_secret, push_secret); json_text.h holds
// what the parsers and the writer share.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
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

// A request as the helper takes it (see parse_request).
struct Request {
  std::string op;  // status, begin, confirm, recovery_codes, remove, devices, forget, login_state or login
  std::map<std::string, SecureBytes, std::less<>> secrets;  // string fields but op: proof, code, user, answer, ...
  std::map<std::string, bool, std::less<>> flags;           // boolean fields: yes, unseen, all
  // nullptr when the field is absent.
  const SecureBytes* secret(std::string_view key) const;
  std::optional<bool> flag(std::string_view key) const;
};

constexpr std::size_t kMaxRequestSecret = 64;  // bytes in a proof or code

// Parses one request line (without its newline). Accepts exactly one flat
// JSON object whose values are strings or true/false, with optional JSON
// whitespace around the tokens, and checks it against the requests above:
// a known op; for it only its own fields, each of its own type; confirm
// with a non-empty code; a proof or code of at most kMaxRequestSecret
// bytes. Refused: anything longer than kMaxMessageSize, nesting, arrays,
// numbers, null, a duplicate key, trailing bytes, a raw byte under 0x20, 0x7f
// or over 0x7f anywhere in a string, and any escape but the two-character
// ones (\" \\ \/ \b \f \n \r \t; \u is refused). String values are decoded
// straight into SecureBytes; nothing of a value is left elsewhere.
// Errc::parse_error for a malformed line, invalid_argument for a well-formed
// one that is not a valid request; the message never quotes the input.
Result<Request> parse_request(std::span<const std::uint8_t> line);

// Parses a reply line (without its newline) into a Json object: strict
// JSON (RFC 8259) without fractions or exponents, no duplicate keys, at most
// 4 levels deep, valid UTF-8 only, at most kMaxMessageSize bytes. Every
// string is decoded straight into its final, exactly sized buffer (no
// parser buffer that grows and frees copies), so after cleanse_json
// nothing of a secret in the reply is left. totp-setup reads the helper's
// replies with it.
Result<Json> parse_reply(std::span<const std::uint8_t> line);
// Parses one message with nlohmann::json: must be a JSON object. Its lexer
// keeps copies it does not wipe: not for a message that holds a secret.
Result<Json> parse_message(std::string_view text);
// Serialises `j` into SecureBytes with no newline: compact (indent < 0, as
// the wire wants) or indented like Json::dump(indent). Strings are written
// as UTF-8 with only '"', '\\' and control bytes escaped; invalid UTF-8 is
// replaced by U+FFFD (as dump with error_handler_t::replace). Integers,
// booleans, null, arrays and objects as dump writes them; a binary value
// is refused. Nothing of the output passes through a std::string.
Result<SecureBytes> serialize_json(const Json& j, int indent = -1);
// Serialises (one line), checks the cap, writes, and cleanses the buffer.
Status write_message(int fd, const Json& message);
// Overwrites every string in `j` (secrets, codes), each over its whole
// capacity, before it is destroyed. Object keys are not secrets and stay.
void cleanse_json(Json& j) noexcept;
// Puts a secret into a Json without a temporary copy: the string is built
// in place with one allocation of its final size (or in the small-string
// buffer of the heap-held string), so cleanse_json reaches every copy.
// set_secret makes or replaces object member `key`; push_secret appends to
// an array (growing the array moves no string bytes).
void set_secret(Json& object, std::string_view key, std::string_view secret);
void push_secret(Json& array, std::string_view secret);

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
Json devices_to_wire(const DevicesReport& d);
Result<DevicesReport> devices_from_wire(const Json& j);
Result<Issued> codes_from_wire(const Json& j);

}  // namespace totp::setup
