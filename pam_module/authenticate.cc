// The login flow: settings -> user -> record (read only) -> prompt -> locked
// read-modify-write that decides and records (its syslog line sent while the
// disk writes) -> messages to the user, result.
// Every failure is a refusal with one syslog line that says why; success
// is returned only after the record update is durable.
#include "pam_module/authenticate.h"

#include <pwd.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/key.h"
#include "core/log.h"
#include "core/otp.h"
#include "core/policy.h"
#include "core/recovery.h"
#include "core/store.h"
#include "pam_module/conversation.h"

namespace totp::pam {

namespace {

std::string string_item(pam_handle_t* pamh, int item_type) {
  const void* item = nullptr;
  if (pam_get_item(pamh, item_type, &item) != PAM_SUCCESS || item == nullptr) return {};
  return std::string(static_cast<const char*>(item));
}

// The name the system knows the user by. Name services may match names
// case-insensitively or with aliases; the record must be looked up under
// the canonical name, or "Alice" would be a way around alice's enrolment.
// A name unknown to the system is kept as typed (it has no record).
std::string canonical_user_name(const std::string& user) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 4096;
  for (int tries = 0; tries < 6; ++tries, size *= 4) {
    std::vector<char> buf(size);
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr || found->pw_name == nullptr) return user;
    return std::string(found->pw_name);
  }
  return user;
}

std::string state_error_reason(const Error& e) {
  if (e.code == Errc::tampered) return "state file tampered: " + e.message;
  return std::string("state file unusable (") + errc_name(e.code) + "): " + e.message;
}

// What the locked read-modify-write decided.
enum class Decision { not_enrolled, locked, accepted_totp, accepted_recovery, wrong, replayed, malformed };

struct Verdict {
  Decision decision = Decision::not_enrolled;
  bool now_locked = false;           // this failure reached `deny`
  std::size_t recovery_left = 0;     // unused recovery codes after the decision
  std::uint64_t argon2_runs = 0;     // Argon2id computations made for this attempt
};

// The typed answer, or why there is none.
struct Answer {
  SecureBytes text;      // what is checked (the code part under forward_pass)
  bool too_long = false; // longer than the conversation accepts: refused unseen
};

// Sets PAM_AUTHTOK for the next module (forward_pass).
bool hand_on_password(pam_handle_t* pamh, const SecureBytes& password) {
  SecureBytes c_string = password.clone();
  c_string.push_back(0);
  return pam_set_item(pamh, PAM_AUTHTOK, c_string.data()) == PAM_SUCCESS;
}

class Login {
 public:
  Login(pam_handle_t* pamh, int flags) : pamh_(pamh), conv_(pamh, (flags & PAM_SILENT) != 0) {
    ctx_.service = string_item(pamh, PAM_SERVICE);
    ctx_.user = string_item(pamh, PAM_USER);
    ctx_.rhost = string_item(pamh, PAM_RHOST);
  }

  int run(std::span<const std::string_view> args) {
    auto loaded = load_settings(std::nullopt, args);
    if (!loaded) return refuse(LOG_ERR, "bad setting: " + loaded.error().message);
    settings_ = std::move(loaded.value());
    ctx_.debug = settings_.debug;

    const char* typed_user = nullptr;
    if (pam_get_user(pamh_, &typed_user, nullptr) != PAM_SUCCESS || typed_user == nullptr || *typed_user == 0) {
      return refuse(LOG_ERR, "no user name");
    }
    ctx_.user = typed_user;
    if (!validate_user_name(ctx_.user)) return not_enrolled("user name cannot be enrolled");
    user_ = canonical_user_name(ctx_.user);
    if (user_ != ctx_.user) {
      if (!validate_user_name(user_)) return not_enrolled("user name cannot be enrolled");
      log_event(ctx_, LOG_DEBUG, "canonical user name " + user_);
      ctx_.user = user_;
    }

    auto key = load_master_key(settings_.key_file);
    if (!key) return refuse(LOG_ERR, "key file unusable: " + key.error().message);
    auto store = Store::open(settings_.state_dir, std::move(key.value()));
    if (!store) return refuse(LOG_ERR, "state directory unusable: " + store.error().message);

    // Read without the lock: nothing is decided on this copy but whether to
    // ask at all.
    auto record = store->load(user_);
    if (!record) return refuse(LOG_ERR, state_error_reason(record.error()));
    if (!record->has_value()) return not_enrolled("not enrolled");
    if ((*record)->enrolment.state != EnrolmentState::active) return not_enrolled("enrolment pending");
    const int digits = (*record)->enrolment.otp.digits;
    if (is_locked((*record)->ledger, std::time(nullptr))) return locked();
    record->reset();  // the secret is not needed any more in this copy

    auto answer = obtain_answer(digits);
    if (!answer) return refuse(LOG_NOTICE, answer.error().message);

    Verdict verdict;
    bool logged = false;
    const std::int64_t now = std::time(nullptr);  // after the human answered
    auto written = store->update(
        user_, [&](std::optional<Record>& rec) -> Result<Store::Write> { return decide(rec, *answer, digits, now, verdict); },
        [&] {
          // The syslog line goes out while the disk writes the ledger. Only
          // the log: the conversation may wait for a human, so it comes
          // after the lock is released.
          log_verdict(verdict);
          logged = true;
        });
    if (!written) {
      if (logged && is_acceptance(verdict.decision)) {
        return refuse(LOG_ERR, "login not recorded durably, so refused after all: " + state_error_reason(written.error()));
      }
      return refuse(LOG_ERR, state_error_reason(written.error()));
    }
    if (!logged) log_verdict(verdict);
    return conclude(verdict);
  }

 private:
  int refuse(int priority, const std::string& reason) {
    log_event(ctx_, priority, reason);
    return PAM_AUTH_ERR;
  }

  int not_enrolled(const std::string& reason) {
    log_not_enrolled(reason);
    return not_enrolled_result();
  }
  void log_not_enrolled(const std::string& reason) {
    if (settings_.nullok) {
      log_event(ctx_, LOG_INFO, reason + " (nullok)");
    } else {
      log_event(ctx_, LOG_NOTICE, reason);
    }
  }
  int not_enrolled_result() const { return settings_.nullok ? PAM_IGNORE : PAM_AUTH_ERR; }

  int locked() {
    conv_.error(kLockedMessage);
    return refuse(LOG_WARNING, "locked");
  }

  // The answer to check: from PAM_AUTHTOK (use_first_pass, try_first_pass)
  // or from one hidden prompt (forward_pass splits it into password + code).
  Result<Answer> obtain_answer(int digits) {
    if (settings_.use_first_pass || settings_.try_first_pass) {
      const void* item = nullptr;
      const bool have = pam_get_item(pamh_, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != nullptr;
      if (have) {
        const std::string_view token(static_cast<const char*>(item), strnlen(static_cast<const char*>(item),
                                                                             kMaxAnswerBytes + 1));
        const bool code_shaped = classify_answer(token, digits) != AnswerKind::malformed;
        // use_first_pass takes whatever is there; try_first_pass only a
        // code-shaped token (a password from the previous module is not
        // a failed code), else it asks.
        if (settings_.use_first_pass || code_shaped) {
          Answer a;
          if (token.size() > kMaxAnswerBytes) {
            a.too_long = true;
          } else {
            a.text = SecureBytes::from_string(token);
          }
          return a;
        }
      } else if (settings_.use_first_pass) {
        return make_error(Errc::not_found, "no code in PAM_AUTHTOK (use_first_pass)");
      }
    }

    const bool forward = settings_.forward_pass;
    const std::string prompt =
        forward && settings_.prompt == kDefaultPrompt ? std::string(kForwardPassPrompt) : settings_.prompt;
    auto typed = conv_.ask_hidden(prompt);
    Answer a;
    if (!typed) {
      if (typed.error().code != Errc::too_large) return make_error(Errc::io_error, "conversation failed");
      a.too_long = true;
      return a;
    }
    if (!forward) {
      a.text = std::move(typed.value());
      return a;
    }
    auto split = split_password_and_code(typed->view(), digits);
    if (split) {
      (void)hand_on_password(pamh_, split->password);
      a.text = std::move(split->code);
    } else {
      // No code at the end: hand everything on as the password and let
      // the empty code fail like any wrong one.
      (void)hand_on_password(pamh_, *typed);
    }
    return a;
  }

  // Runs under the user's lock on a freshly read record.
  Result<Store::Write> decide(std::optional<Record>& rec, const Answer& answer, int digits, std::int64_t now,
                              Verdict& verdict) {
    verdict = Verdict{};
    if (!rec || rec->enrolment.state != EnrolmentState::active) return Store::Write::nothing;
    Enrolment& enrolment = rec->enrolment;
    Ledger& ledger = rec->ledger;
    verdict.recovery_left = enrolment.recovery_hashes.size();
    // The lock may have been set by a racing login since the first read.
    if (is_locked(ledger, now)) {
      verdict.decision = Decision::locked;
      return Store::Write::nothing;
    }
    // Enrolment parameters may have changed since the first read.
    digits = enrolment.otp.digits;

    const std::string_view typed = answer.too_long ? std::string_view() : answer.text.view();
    const AnswerKind kind = answer.too_long ? AnswerKind::malformed : classify_answer(typed, digits);
    verdict.decision = Decision::malformed;
    if (kind == AnswerKind::totp) {
      auto candidate = totp_candidate(typed, digits);
      if (!candidate) return make_error(Errc::invalid_argument, "internal: code routing");
      auto checked = totp_verify(enrolment.secret.span(), enrolment.otp, candidate->view(), now, settings_.window,
                                 ledger.last_used_step);
      if (!checked) return checked.error();
      if (checked->outcome == VerifyOutcome::accepted) {
        ledger.last_used_step = checked->step;
        record_success(ledger, now, ctx_.rhost);
        verdict.decision = Decision::accepted_totp;
        return Store::Write::ledger_only;
      }
      verdict.decision = checked->outcome == VerifyOutcome::replayed ? Decision::replayed : Decision::wrong;
    } else if (kind == AnswerKind::recovery) {
      auto normalized = normalize_recovery_code(typed);
      if (normalized) {
        const std::uint64_t before = argon2_computations();
        auto found = find_recovery_code(normalized->view(), enrolment.recovery_salt, enrolment.recovery_hashes);
        verdict.argon2_runs = argon2_computations() - before;
        if (!found) return found.error();
        if (found->has_value()) {
          const auto index = static_cast<std::ptrdiff_t>(**found);
          enrolment.recovery_hashes.erase(enrolment.recovery_hashes.begin() + index);
          record_success(ledger, now, ctx_.rhost);
          verdict.decision = Decision::accepted_recovery;
          verdict.recovery_left = enrolment.recovery_hashes.size();
          return Store::Write::everything;
        }
        verdict.decision = Decision::wrong;
      }
    }
    const LockoutPolicy policy{settings_.deny, settings_.fail_interval, settings_.unlock_time};
    verdict.now_locked = record_failure(ledger, policy, now) == FailureOutcome::now_locked;
    return Store::Write::ledger_only;
  }

  static bool is_acceptance(Decision d) { return d == Decision::accepted_totp || d == Decision::accepted_recovery; }

  // The syslog side of a verdict: one line (plus a debug line for Argon2).
  void log_verdict(const Verdict& v) {
    if (v.argon2_runs != 0 || v.decision == Decision::accepted_recovery) {
      log_event(ctx_, LOG_DEBUG, "argon2id computations: " + std::to_string(v.argon2_runs));
    }
    switch (v.decision) {
      case Decision::not_enrolled:
        log_not_enrolled("not enrolled");
        return;
      case Decision::locked:
        log_event(ctx_, LOG_WARNING, "locked");
        return;
      case Decision::accepted_totp:
        log_event(ctx_, LOG_INFO, "accepted totp");
        return;
      case Decision::accepted_recovery:
        log_event(ctx_, LOG_NOTICE, "accepted recovery code (" + std::to_string(v.recovery_left) + " left)");
        return;
      case Decision::wrong:
      case Decision::replayed:
      case Decision::malformed:
        break;
    }
    std::string reason = v.decision == Decision::replayed    ? "replayed code"
                         : v.decision == Decision::malformed ? "wrong code (malformed answer)"
                                                             : "wrong code";
    if (v.now_locked) reason += "; now locked";
    log_event(ctx_, LOG_NOTICE, reason);
  }

  // The user's side of a verdict (after the lock is released) and the result.
  int conclude(const Verdict& v) {
    switch (v.decision) {
      case Decision::not_enrolled:
        return not_enrolled_result();
      case Decision::locked:
        conv_.error(kLockedMessage);
        return PAM_AUTH_ERR;
      case Decision::accepted_totp:
        if (v.recovery_left == 0) conv_.info(kNoRecoveryCodesLeft);
        return PAM_SUCCESS;
      case Decision::accepted_recovery:
        conv_.info("Recovery code accepted; " + std::to_string(v.recovery_left) + " left");
        return PAM_SUCCESS;
      case Decision::wrong:
      case Decision::replayed:
      case Decision::malformed:
        break;
    }
    if (v.now_locked) conv_.error(kLockedMessage);
    return PAM_AUTH_ERR;
  }

  pam_handle_t* pamh_;
  Conversation conv_;
  LogContext ctx_;
  Settings settings_;
  std::string user_;
};

}  // namespace

int authenticate(pam_handle_t* pamh, int flags, std::span<const std::string_view> args) {
  if (pamh == nullptr) return PAM_AUTH_ERR;
  Login login(pamh, flags);
  return login.run(args);
}

}  // namespace totp::pam
