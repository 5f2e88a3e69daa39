// SPDX-License-Identifier: Apache-2.0
// The helper's request parser (parse_request): a strict reader of one flat
// JSON object whose values are strings or true/false, checked against the
// requests of protocol.h. It is our own, not the JSON library's, so that a
// proof or a code is decoded straight into SecureBytes and no copy of it is
// left in a parser buffer that is freed unwiped. Anything it does not take
// is refused with a message that never quotes the input.
#include "setup_tool/protocol.h"

#include "setup_tool/json_text.h"

namespace totp::setup {

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

using detail::malformed;

// What each op takes besides "op" (see protocol.h).
struct OpRule {
  std::string_view op;
  bool proof;   // optional string
  bool code;    // required non-empty string
  bool yes;     // optional boolean
  bool login;   // user (required, non-empty), answer (required unless
                // unseen), rhost and service (optional strings), unseen
                // (optional boolean)
};
constexpr OpRule kOpRules[] = {
    {"status", false, false, false, false},         {"begin", true, false, true, false},
    {"confirm", false, true, false, false},         {"recovery_codes", true, false, false, false},
    {"remove", true, false, false, false},          {"login_state", false, false, false, true},
    {"login", false, false, false, true},
    // Trusted devices: forget takes "id" or "all" (checked below).
    {"devices", false, false, false, false},        {"forget", false, false, false, false},
};
constexpr std::string_view kRequestKeys[] = {"op",     "proof", "code",    "yes",    "user", "answer",
                                             "rhost", "service", "unseen", "name", "id",   "all"};

Error invalid(std::string why) { return make_error(Errc::invalid_argument, std::move(why)); }

// One pass of a strict recursive-descent reading of a flat object. String
// tokens are scanned once to check them and size their value, then decoded
// into a buffer of exactly that size.
class RequestParser : detail::JsonCursor {
 public:
  explicit RequestParser(std::span<const std::uint8_t> in) : JsonCursor(in) {}

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
    const bool login = req.op == "login";
    for (const auto& [key, value] : req.secrets) {
      if (key == "yes" || key == "unseen" || key == "all") return invalid(key + " is not a boolean");
      const bool allowed = (key == "proof" && rule->proof) || (key == "code" && rule->code) ||
                           (key == "user" && rule->login) ||
                           // an authenticator's name: begin (--add) and remove (--name)
                           (key == "name" && (req.op == "begin" || req.op == "remove")) ||
                           (key == "id" && req.op == "forget") ||
                           ((key == "answer" || key == "rhost" || key == "service") && login);
      if (!allowed) return invalid("unexpected field" + where);
    }
    for (const auto& [key, value] : req.flags) {
      if (key != "yes" && key != "unseen" && key != "all") return invalid(key + " is not a string");
      if ((key == "yes" && !rule->yes) || (key == "unseen" && !login) || (key == "all" && req.op != "forget")) {
        return invalid("unexpected field" + where);
      }
    }
    if (rule->code) {
      const SecureBytes* code = req.secret("code");
      if (code == nullptr || code->empty()) return invalid(req.op + " needs a code");
    }
    if (rule->login) {
      const SecureBytes* user = req.secret("user");
      if (user == nullptr || user->empty()) return invalid(req.op + " needs a user");
    }
    if (req.op == "forget") {
      const bool all = req.flag("all").value_or(false);
      if (all == (req.secret("id") != nullptr)) return invalid("forget needs an id or all, not both");
    }
    if (login) {
      const bool unseen = req.flag("unseen").value_or(false);
      const bool answered = req.secret("answer") != nullptr;
      if (unseen == answered) return invalid("login needs an answer or unseen, not both");
    }
    return req;
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
};

}  // namespace

Result<Request> parse_request(std::span<const std::uint8_t> line) { return RequestParser(line).run(); }

}  // namespace totp::setup
