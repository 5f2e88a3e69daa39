#include "setup_tool/protocol.h"

#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <cmath>
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

// ---- Requests -----------------------------------------------------------

const SecureBytes* Request::secret(std::string_view key) const {
  auto it = secrets.find(key);
  return it == secrets.end() ? nullptr : &it->second;
}

std::optional<bool> Request::flag(std::string_view key) const {
  auto it = flags.find(key);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing over U+10FFFF), or 0; then `skip` is the
// number of bytes one U+FFFD replaces (the lead byte and any continuation
// bytes that were still valid: the "maximal subpart").
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& skip) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    skip = 1;
    return 0;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      skip = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
    if (b < l || b > h) {
      skip = k;
      return 0;
    }
  }
  return need + 1;
}

// What each op takes besides "op" (see protocol.h).
struct OpRule {
  std::string_view op;
  bool proof;  // optional string
  bool code;   // required non-empty string
  bool yes;    // optional boolean
};
constexpr OpRule kOpRules[] = {
    {"status", false, false, false},
    {"begin", true, false, true},
    {"confirm", false, true, false},
    {"recovery_codes", true, false, false},
    {"remove", true, false, false},
};
constexpr std::string_view kRequestKeys[] = {"op", "proof", "code", "yes"};

Error malformed(const char* why) { return make_error(Errc::parse_error, why); }
Error invalid(std::string why) { return make_error(Errc::invalid_argument, std::move(why)); }

// One pass of a strict recursive-descent reading of a flat object. String
// tokens are scanned once to check them and size their value, then decoded
// into a buffer of exactly that size.
class RequestParser {
 public:
  explicit RequestParser(std::span<const std::uint8_t> in) : in_(in) {}

  Result<Request> run() {
    if (in_.size() > kMaxMessageSize) return make_error(Errc::too_large, "request too long");
    Request req;
    bool have_op = false;
    skip_ws();
    if (!eat('{')) return malformed("request is not a JSON object");
    skip_ws();
    if (!eat('}')) {
      for (;;) {
        skip_ws();
        if (peek() != '"') return malformed("expected a string key");
        auto key_len = scan_string(16);
        if (!key_len) return key_len.error();
        std::string key(*key_len, '\0');
        decode_string(reinterpret_cast<std::uint8_t*>(key.data()));
        bool known = false;
        for (auto k : kRequestKeys) known = known || key == k;
        if (!known) return invalid("unexpected field");
        if ((key == "op" && have_op) || req.secrets.contains(key) || req.flags.contains(key)) {
          return malformed("duplicate field");
        }
        skip_ws();
        if (!eat(':')) return malformed("expected ':'");
        skip_ws();
        if (peek() == '"') {
          auto len = scan_string(kMaxRequestSecret);
          if (!len) return len.error();
          SecureBytes value(*len);
          decode_string(value.data());
          if (key == "op") {
            have_op = true;
            for (const auto& rule : kOpRules) {
              if (value.view() == rule.op) req.op = std::string(rule.op);
            }
            if (req.op.empty()) return invalid("unknown op");
          } else {
            req.secrets.emplace(std::move(key), std::move(value));
          }
        } else if (eat_word("true")) {
          if (key == "op") return invalid("op is not a string");
          req.flags.emplace(std::move(key), true);
        } else if (eat_word("false")) {
          if (key == "op") return invalid("op is not a string");
          req.flags.emplace(std::move(key), false);
        } else {
          return malformed("a value is not a string or a boolean");
        }
        skip_ws();
        if (eat(',')) continue;
        if (eat('}')) break;
        return malformed("expected ',' or '}'");
      }
    }
    skip_ws();
    if (pos_ != in_.size()) return malformed("bytes after the request object");
    if (!have_op) return invalid("request has no op");
    return check(std::move(req));
  }

 private:
  static Result<Request> check(Request req) {
    const OpRule* rule = nullptr;
    for (const auto& r : kOpRules) {
      if (req.op == r.op) rule = &r;
    }
    if (rule == nullptr) return invalid("unknown op");
    const std::string where = " in " + req.op;
    for (const auto& [key, value] : req.secrets) {
      if (key == "yes") return invalid("yes is not a boolean");
      if ((key == "proof" && !rule->proof) || (key == "code" && !rule->code)) return invalid("unexpected field" + where);
    }
    for (const auto& [key, value] : req.flags) {
      if (key != "yes") return invalid(key + " is not a string");
      if (!rule->yes) return invalid("unexpected field" + where);
    }
    if (rule->code) {
      const SecureBytes* code = req.secret("code");
      if (code == nullptr || code->empty()) return invalid(req.op + " needs a code");
    }
    return req;
  }

  int peek() const noexcept { return pos_ < in_.size() ? in_[pos_] : -1; }
  bool eat(char c) noexcept {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) noexcept {
    if (in_.size() - pos_ < w.size() || std::memcmp(in_.data() + pos_, w.data(), w.size()) != 0) return false;
    pos_ += w.size();
    return true;
  }
  void skip_ws() noexcept {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') ++pos_;
  }

  // At an opening quote: checks the string token and returns the length
  // of its value (at most max_len); pos_ does not move.
  Result<std::size_t> scan_string(std::size_t max_len) const {
    std::size_t len = 0;
    for (std::size_t i = pos_ + 1;; ++len) {
      if (i >= in_.size()) return malformed("unterminated string");
      const std::uint8_t b = in_[i];
      if (b == '"') break;
      if (len >= max_len) return malformed("a string is too long");
      if (b == '\\') {
        if (i + 1 >= in_.size()) return malformed("unterminated string");
        switch (in_[i + 1]) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
          case 'u': return malformed("\\u escapes are not accepted");
          default: return malformed("bad escape in a string");
        }
        i += 2;
        continue;
      }
      if (b < 0x20 || b >= 0x7f) return malformed("control or non-ASCII byte in a string");
      ++i;
    }
    return len;
  }

  // At an opening quote of a token scan_string accepted: writes its value
  // to `out` and moves past the closing quote.
  void decode_string(std::uint8_t* out) noexcept {
    std::size_t i = pos_ + 1;
    while (in_[i] != '"') {
      std::uint8_t b = in_[i++];
      if (b == '\\') {
        switch (in_[i++]) {
          case 'b': b = '\b'; break;
          case 'f': b = '\f'; break;
          case 'n': b = '\n'; break;
          case 'r': b = '\r'; break;
          case 't': b = '\t'; break;
          default: b = in_[i - 1]; break;  // " \ /
        }
      }
      *out++ = b;
    }
    pos_ = i + 1;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Request> parse_request(std::span<const std::uint8_t> line) { return RequestParser(line).run(); }

// ---- Replies ---------------------------------------------------------------

namespace {

constexpr int kMaxReplyDepth = 4;

// A strict reader of one JSON object into a Json, for the helper's replies:
// objects, arrays, strings, integers, true, false, null; no fractions or
// exponents (the protocol has none), no duplicate keys, at most
// kMaxReplyDepth levels. Each string is measured first and then decoded
// into a string allocated once at its final size, so the only copy of a
// secret is the one cleanse_json wipes.
class ReplyParser {
 public:
  explicit ReplyParser(std::span<const std::uint8_t> in) : in_(in) {}

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

  int peek() const noexcept { return pos_ < in_.size() ? in_[pos_] : -1; }
  bool eat(char c) noexcept {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) noexcept {
    if (in_.size() - pos_ < w.size() || std::memcmp(in_.data() + pos_, w.data(), w.size()) != 0) return false;
    pos_ += w.size();
    return true;
  }
  void skip_ws() noexcept {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') ++pos_;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Json> parse_reply(std::span<const std::uint8_t> line) { return ReplyParser(line).run(); }

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

namespace {

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
  return Json{{"ok", true},
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

}  // namespace totp::setup
