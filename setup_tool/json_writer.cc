// SPDX-License-Identifier: Apache-2.0
// Our own JSON serializer (serialize_json, write_message) and the helpers
// that keep secrets in a Json wipeable (cleanse_json, set_secret,
// push_secret). Json::dump builds its output in a std::string that grows,
// leaving freed, unwiped copies of any secret in the message; this writes
// into SecureBytes instead, with dump's output format (see protocol.h), and
// write_message sends one line and wipes it.
#include "setup_tool/protocol.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "setup_tool/json_text.h"

namespace totp::setup {

namespace {

using detail::utf8_sequence;

class JsonWriter {
 public:
  explicit JsonWriter(int indent) : indent_(indent) {}

  Status value(const Json& j, int depth) {
    switch (j.type()) {
      case Json::value_t::null: put("null"); return ok_status();
      case Json::value_t::boolean: put(j.get<bool>() ? "true" : "false"); return ok_status();
      case Json::value_t::number_integer: return number(j.get<std::int64_t>());
      case Json::value_t::number_unsigned: return number(j.get<std::uint64_t>());
      case Json::value_t::number_float: return number_float(j.get<double>());
      case Json::value_t::string: string(j.get_ref<const Json::string_t&>()); return ok_status();
      case Json::value_t::array:
      case Json::value_t::object: return container(j, depth);
      default: return make_error(Errc::invalid_argument, "message holds a value JSON cannot carry");
    }
  }

  SecureBytes out;

 private:
  void put(std::string_view s) { out.append(s); }
  void put(char c) { out.push_back(static_cast<std::uint8_t>(c)); }
  void line_break(int depth) {
    if (indent_ < 0) return;
    put('\n');
    for (int i = 0; i < indent_ * depth; ++i) put(' ');
  }

  template <class Int>
  Status number(Int v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    return ok_status();
  }
  Status number_float(double v) {
    if (!std::isfinite(v)) {
      put("null");  // as dump does
      return ok_status();
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    put(text);
    if (text.find_first_of(".eE") == std::string_view::npos) put(".0");
    return ok_status();
  }

  void string(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    put('"');
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        std::size_t skip = 0;
        const std::size_t n = utf8_sequence(s, i, skip);
        if (n == 0) {
          put("\xef\xbf\xbd");  // U+FFFD
          i += skip;
        } else {
          put(s.substr(i, n));
          i += n;
        }
        continue;
      }
      switch (c) {
        case '"': put("\\\""); break;
        case '\\': put("\\\\"); break;
        case '\b': put("\\b"); break;
        case '\f': put("\\f"); break;
        case '\n': put("\\n"); break;
        case '\r': put("\\r"); break;
        case '\t': put("\\t"); break;
        default:
          if (c < 0x20) {
            put("\\u00");
            put(kHex[c >> 4]);
            put(kHex[c & 0x0f]);
          } else {
            put(static_cast<char>(c));
          }
      }
      ++i;
    }
    put('"');
  }

  Status container(const Json& j, int depth) {
    const bool object = j.is_object();
    if (j.empty()) {
      put(object ? "{}" : "[]");
      return ok_status();
    }
    put(object ? '{' : '[');
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) put(',');
      first = false;
      line_break(depth + 1);
      if (object) {
        string(it.key());
        put(indent_ < 0 ? ":" : ": ");
      }
      TOTP_TRY_STATUS(value(*it, depth + 1));
    }
    line_break(depth);
    put(object ? '}' : ']');
    return ok_status();
  }

  int indent_;
};

}  // namespace

Result<SecureBytes> serialize_json(const Json& j, int indent) {
  JsonWriter w(indent);
  TOTP_TRY_STATUS(w.value(j, 0));
  return std::move(w.out);
}

Status write_message(int fd, const Json& message) {
  auto text = serialize_json(message);
  if (!text) return text.error();
  text->push_back('\n');
  if (text->size() > kMaxMessageSize) return make_error(Errc::too_large, "message too long");
  std::size_t done = 0;
  while (done < text->size()) {
    const ssize_t n = write(fd, text->data() + done, text->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      return make_error(Errc::io_error, std::string("write: ") + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

void cleanse_json(Json& j) noexcept {
  if (j.is_string()) {
    cleanse(j.get_ref<Json::string_t&>());
  } else if (j.is_object() || j.is_array()) {
    for (auto& v : j) cleanse_json(v);
  }
}

void set_secret(Json& object, std::string_view key, std::string_view secret) {
  Json& slot = object[std::string(key)];
  if (slot.is_string()) cleanse(slot.get_ref<Json::string_t&>());
  slot = Json::string_t();
  slot.get_ref<Json::string_t&>().assign(secret.data(), secret.size());
}

void push_secret(Json& array, std::string_view secret) {
  array.push_back(Json::string_t());
  array.back().get_ref<Json::string_t&>().assign(secret.data(), secret.size());
}

}  // namespace totp::setup
