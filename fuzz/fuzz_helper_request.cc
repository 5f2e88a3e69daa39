// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the line protocol between the unprivileged side and
// totp-helper (setup_tool/protocol.h): the bytes of a request are written by
// any local user and read by a setuid-root program, so this is the most
// exposed parser of all. The input is read three ways:
//   - as one request line: parse_request (the helper's own strict parser);
//   - as one reply line: parse_reply (what totp-setup and pam_totp.so read
//     from the helper), then the readers of the replies' fields
//     (status/offer/devices/codes_from_wire, the field accessors and
//     errc_from_name);
//   - as a byte stream through MessageReader (the framing: lines of at most
//     kMaxMessageSize bytes without NUL), each line again as both.
// Checked beyond "no crash":
//   - an accepted request is one the JSON library reads the same (same keys,
//     same strings and booleans), has a known op, only string values of at
//     most kMaxRequestSecret bytes, and survives serialize_json ->
//     parse_request unchanged;
//   - an accepted reply is an object the JSON library reads as equal, and
//     serialize_json -> parse_reply gives an equal value;
//   - what status/offer/devices/codes_from_wire accept, written back with the
//     *_to_wire functions and read again, is read the same;
//   - MessageReader's lines and their newlines are exactly a prefix of the
//     stream, each within the cap and without NUL.
// fuzz-sources: setup_tool/protocol.cc setup_tool/request_parser.cc setup_tool/reply_parser.cc setup_tool/json_writer.cc setup_tool/json_text.cc
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "setup_tool/protocol.h"

namespace {

using totp::setup::Json;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string_view text_of(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

constexpr std::string_view kOps[] = {"status",  "begin",  "confirm",     "recovery_codes", "remove",
                                     "devices", "forget", "login_state", "login"};

void fuzz_request(std::span<const std::uint8_t> line) {
  auto req = totp::setup::parse_request(line);
  if (!req) {
    check(req.error().code == totp::Errc::parse_error || req.error().code == totp::Errc::invalid_argument ||
          req.error().code == totp::Errc::too_large);
    return;
  }
  bool known = false;
  for (auto op : kOps) known = known || req->op == op;
  check(known);
  check(line.size() <= totp::setup::kMaxMessageSize);
  for (const auto& [k, v] : req->secrets) check(v.size() <= totp::setup::kMaxRequestSecret && k != "op");

  // The JSON library reads the same object.
  auto j = totp::setup::parse_message(text_of(line));
  check(j.ok() && j->is_object());
  check(j->size() == 1 + req->secrets.size() + req->flags.size());
  check(totp::setup::string_field(*j, "op") == std::optional<std::string_view>(req->op));
  for (const auto& [k, v] : req->secrets) check(totp::setup::string_field(*j, k.c_str()) == v.view());
  for (const auto& [k, v] : req->flags) check(totp::setup::bool_field(*j, k.c_str()) == v);

  // Written by our writer and read again: the same request.
  auto wire = totp::setup::serialize_json(*j);
  check(wire.ok());
  auto again = totp::setup::parse_request(wire->span());
  check(again.ok() && again->op == req->op && again->secrets.size() == req->secrets.size() &&
        again->flags == req->flags);
  for (const auto& [k, v] : req->secrets) {
    const totp::SecureBytes* w = again->secret(k);
    check(w != nullptr && w->view() == v.view());
  }
  totp::setup::cleanse_json(*j);
}

// Reads a reply's fields the way the tool and the module do; what a
// reader accepts must read the same after a trip through its writer.
void fuzz_reply_fields(const Json& r) {
  (void)totp::setup::bool_field(r, "ok");
  (void)totp::setup::int_field(r, "digits");
  (void)totp::setup::int_field(r, "recovery_left");
  if (auto errc = totp::setup::string_field(r, "errc")) {
    const totp::Errc e = totp::setup::errc_from_name(*errc);
    check(totp::setup::errc_from_name(totp::errc_name(e)) == e);
  }
  if (auto s = totp::setup::status_from_wire(r)) {
    const Json w = totp::setup::status_to_wire(*s);
    auto s2 = totp::setup::status_from_wire(w);
    check(s2.ok() && totp::setup::status_to_wire(*s2) == w);
  }
  if (auto o = totp::setup::offer_from_wire(r)) {
    Json w;
    totp::setup::offer_to_wire(w, *o);
    auto o2 = totp::setup::offer_from_wire(w);
    check(o2.ok());
    Json w2;
    totp::setup::offer_to_wire(w2, *o2);
    check(w2 == w);
    totp::setup::cleanse_json(w);
    totp::setup::cleanse_json(w2);
  }
  if (auto d = totp::setup::devices_from_wire(r)) {
    const Json w = totp::setup::devices_to_wire(*d);
    auto d2 = totp::setup::devices_from_wire(w);
    check(d2.ok() && totp::setup::devices_to_wire(*d2) == w);
  }
  if (auto c = totp::setup::codes_from_wire(r)) {
    Json w;
    totp::setup::codes_to_wire(w, *c);
    auto c2 = totp::setup::codes_from_wire(w);
    check(c2.ok() && c2->recovery_codes.size() == c->recovery_codes.size());
    for (std::size_t i = 0; i < c->recovery_codes.size(); ++i)
      check(c2->recovery_codes[i].view() == c->recovery_codes[i].view());
    totp::setup::cleanse_json(w);
  }
}

void fuzz_reply(std::span<const std::uint8_t> line) {
  auto r = totp::setup::parse_reply(line);
  if (!r) return;
  check(r->is_object());
  check(line.size() <= totp::setup::kMaxMessageSize);
  auto j = totp::setup::parse_message(text_of(line));
  check(j.ok() && *j == *r);
  auto wire = totp::setup::serialize_json(*r);
  check(wire.ok());
  auto again = totp::setup::parse_reply(wire->span());
  check(again.ok() && *again == *r);
  fuzz_reply_fields(*r);
  totp::setup::cleanse_json(*r);
  totp::setup::cleanse_json(*j);
  totp::setup::cleanse_json(*again);
}

void fuzz_stream(std::span<const std::uint8_t> bytes) {
  const int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  if (lseek(fd, 0, SEEK_SET) != 0) std::abort();
  totp::setup::MessageReader reader(fd);
  std::size_t offset = 0;
  for (;;) {
    auto line = reader.next();
    if (!line) {
      if (line.error().code == totp::Errc::not_found) check(offset == bytes.size());
      break;
    }
    check(line->size() < totp::setup::kMaxMessageSize);
    check(std::memchr(line->data(), '\0', line->size()) == nullptr);
    check(offset + line->size() < bytes.size() &&
          (line->empty() || std::memcmp(line->data(), bytes.data() + offset, line->size()) == 0) &&
          bytes[offset + line->size()] == '\n');
    offset += line->size() + 1;
    fuzz_request(line->span());
    fuzz_reply(line->span());
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  fuzz_request(in);
  fuzz_reply(in);
  fuzz_stream(in);
  return 0;
}
