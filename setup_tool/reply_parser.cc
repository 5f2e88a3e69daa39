// SPDX-License-Identifier: Apache-2.0
// totp-setup's reply parser (parse_reply): a strict reader of one JSON
// object into a Json (RFC 8259 without fractions or exponents, no duplicate
// keys, at most 4 levels deep, valid UTF-8 only). It is our own, not the
// JSON library's parser, whose lexer keeps copies it does not wipe: here
// every string is decoded straight into its final, exactly sized buffer, so
// after cleanse_json nothing of a secret in the reply (a new secret, its
// URI, recovery codes) is left.
#include "setup_tool/protocol.h"

#include <cstring>

#include "setup_tool/json_text.h"

namespace totp::setup {

namespace {

using detail::malformed;
using detail::utf8_sequence;

constexpr int kMaxReplyDepth = 4;

// A strict reader of one JSON object into a Json, for the helper's replies:
// objects, arrays, strings, integers, true, false, null; no fractions or
// exponents (the protocol has none), no duplicate keys, at most
// kMaxReplyDepth levels. Each string is measured first and then decoded
// into a string allocated once at its final size, so the only copy of a
// secret is the one cleanse_json wipes.
class ReplyParser : detail::JsonCursor {
 public:
  explicit ReplyParser(std::span<const std::uint8_t> in) : JsonCursor(in) {}

  Result<Json> run() {
    if (in_.size() > kMaxMessageSize) return make_error(Errc::too_large, "message too long");
    Json j;
    skip_ws();
    if (peek() != '{') return malformed("message is not a JSON object");
    TOTP_TRY_STATUS(value(j, 0));
    skip_ws();
    if (pos_ != in_.size()) {
      cleanse_json(j);
      return malformed("bytes after the message object");
    }
    return j;
  }

 private:
  Status value(Json& out, int depth) {
    skip_ws();
    const int c = peek();
    if (c == '{' || c == '[') {
      if (depth >= kMaxReplyDepth) return malformed("message nested too deeply");
      Status st = c == '{' ? object(out, depth + 1) : array(out, depth + 1);
      if (!st) cleanse_json(out);
      return st;
    }
    if (c == '"') {
      auto len = scan_string();
      if (!len) return len.error();
      out = Json::string_t();
      auto& s = out.get_ref<Json::string_t&>();
      s.resize(*len);  // one allocation of the final size
      decode_string(s.data());
      return ok_status();
    }
    if (eat_word("true")) {
      out = true;
    } else if (eat_word("false")) {
      out = false;
    } else if (eat_word("null")) {
      out = nullptr;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      return number(out);
    } else {
      return malformed("unexpected byte in the message");
    }
    return ok_status();
  }

  Status object(Json& out, int depth) {
    out = Json::object();
    ++pos_;  // '{'
    skip_ws();
    if (eat('}')) return ok_status();
    for (;;) {
      skip_ws();
      if (peek() != '"') return malformed("expected a string key");
      auto len = scan_string();
      if (!len) return len.error();
      std::string key(*len, '\0');
      decode_string(key.data());
      if (out.contains(key)) return malformed("duplicate key in the message");
      skip_ws();
      if (!eat(':')) return malformed("expected ':'");
      Json& slot = out[key];
      TOTP_TRY_STATUS(value(slot, depth));
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) return ok_status();
      return malformed("expected ',' or '}'");
    }
  }

  Status array(Json& out, int depth) {
    out = Json::array();
    ++pos_;  // '['
    skip_ws();
    if (eat(']')) return ok_status();
    for (;;) {
      out.push_back(nullptr);
      TOTP_TRY_STATUS(value(out.back(), depth));
      skip_ws();
      if (eat(',')) continue;
      if (eat(']')) return ok_status();
      return malformed("expected ',' or ']'");
    }
  }

  // -?(0|[1-9][0-9]*), within int64 (negative) or uint64.
  Status number(Json& out) {
    const bool negative = eat('-');
    if (peek() < '0' || peek() > '9') return malformed("bad number");
    if (peek() == '0' && pos_ + 1 < in_.size() && in_[pos_ + 1] >= '0' && in_[pos_ + 1] <= '9') {
      return malformed("bad number");
    }
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto d = static_cast<std::uint64_t>(peek() - '0');
      if (v > (UINT64_MAX - d) / 10) return malformed("number out of range");
      v = v * 10 + d;
      ++pos_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') return malformed("fractions are not used in messages");
    if (!negative) {
      out = v;
    } else {
      if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return malformed("number out of range");
      out = v == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(v);
    }
    return ok_status();
  }

  static int hex(std::uint8_t b) noexcept {
    if (b >= '0' && b <= '9') return b - '0';
    if (b >= 'a' && b <= 'f') return b - 'a' + 10;
    if (b >= 'A' && b <= 'F') return b - 'A' + 10;
    return -1;
  }
  // The code unit of "\uXXXX" at in_[i] (i at the backslash), or -1.
  long unit_at(std::size_t i) const noexcept {
    if (in_.size() - i < 6 || in_[i] != '\\' || in_[i + 1] != 'u') return -1;
    long u = 0;
    for (std::size_t k = 2; k < 6; ++k) {
      const int h = hex(in_[i + k]);
      if (h < 0) return -1;
      u = u * 16 + h;
    }
    return u;
  }
  static std::size_t utf8_length(long cp) noexcept { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

  // At a backslash-u: the code point of the escape (a surrogate pair is one),
  // and the bytes it takes in the input; -1 if it is not valid.
  long escaped_code_point(std::size_t i, std::size_t& taken) const noexcept {
    const long u = unit_at(i);
    if (u < 0 || (u >= 0xdc00 && u <= 0xdfff)) return -1;
    if (u < 0xd800 || u > 0xdbff) {
      taken = 6;
      return u;
    }
    const long low = unit_at(i + 6);
    if (low < 0xdc00 || low > 0xdfff) return -1;
    taken = 12;
    return 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
  }

  // At an opening quote: checks the token; returns its decoded length.
  Result<std::size_t> scan_string() const {
    std::size_t len = 0;
    std::size_t i = pos_ + 1;
    const std::string_view text(reinterpret_cast<const char*>(in_.data()), in_.size());
    for (;;) {
      if (i >= in_.size()) return malformed("unterminated string");
      const std::uint8_t b = in_[i];
      if (b == '"') return len;
      if (b < 0x20) return malformed("control byte in a string");
      if (b == '\\') {
        if (i + 1 >= in_.size()) return malformed("unterminated string");
        const std::uint8_t e = in_[i + 1];
        if (e == 'u') {
          std::size_t taken = 0;
          const long cp = escaped_code_point(i, taken);
          if (cp < 0) return malformed("bad \\u escape in a string");
          len += utf8_length(cp);
          i += taken;
          continue;
        }
        if (std::memchr("\"\\/bfnrt", e, 8) == nullptr) return malformed("bad escape in a string");
        ++len;
        i += 2;
        continue;
      }
      if (b >= 0x80) {
        std::size_t skip = 0;
        const std::size_t n = utf8_sequence(text, i, skip);
        if (n == 0) return malformed("invalid UTF-8 in a string");
        len += n;
        i += n;
        continue;
      }
      ++len;
      ++i;
    }
  }

  // Decodes the token scan_string accepted into `out`; moves past it.
  void decode_string(char* out) noexcept {
    std::size_t i = pos_ + 1;
    while (in_[i] != '"') {
      const std::uint8_t b = in_[i];
      if (b != '\\') {
        *out++ = static_cast<char>(b);
        ++i;
        continue;
      }
      const std::uint8_t e = in_[i + 1];
      if (e == 'u') {
        std::size_t taken = 0;
        const long cp = escaped_code_point(i, taken);
        const std::size_t n = utf8_length(cp);
        if (n == 1) {
          *out++ = static_cast<char>(cp);
        } else {
          static constexpr std::uint8_t kLead[] = {0, 0, 0xc0, 0xe0, 0xf0};
          for (std::size_t k = n; k-- > 1;) out[k] = static_cast<char>(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
          out[0] = static_cast<char>(kLead[n] | (cp >> (6 * (n - 1))));
          out += n;
        }
        i += taken;
        continue;
      }
      char c = static_cast<char>(e);
      switch (e) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: break;  // " \ /
      }
      *out++ = c;
      i += 2;
    }
    pos_ = i + 1;
  }
};

}  // namespace

Result<Json> parse_reply(std::span<const std::uint8_t> line) { return ReplyParser(line).run(); }

}  // namespace totp::setup
