// SPDX-License-Identifier: Apache-2.0
// The login flow: settings -> account -> record (read only) -> answer ->
// locked read-modify-write that counts the attempt, decides and records
// (its syslog line sent while the disk writes) -> messages to the user,
// result. Every failure is a refusal with one syslog line that says why;
// success is returned only after the record update is durable.
//
// Three shapes of the same flow (pam_totp(8)):
// - the usual line prompts for the code itself (or takes it from
//   PAM_AUTHTOK with use_first_pass / try_first_pass);
// - split_code asks for password and code at one prompt, hands the password
//   on, keeps the code and decides nothing, so that a wrong password (the
//   password module stops the stack) never counts and never tells anyone
//   whether the user is enrolled or locked;
// - kept_code, after the password module, judges the kept code.
#include "pam_module/authenticate.h"

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <syslog.h>
#include <unistd.h>

#include <ctime>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/key.h"
#include "core/log.h"
#include "core/login_decision.h"
#include "core/notify.h"
#include "core/policy.h"
#include "core/remembered_login.h"
#include "core/store_factory.h"
#include "pam_module/answer.h"
#include "pam_module/conversation.h"
#include "pam_module/helper_client.h"
#include "pam_module/user_name.h"

namespace totp::pam {

namespace {

std::string string_item(pam_handle_t* pamh, int item_type) {
  const void* item = nullptr;
  if (pam_get_item(pamh, item_type, &item) != PAM_SUCCESS || item == nullptr) return {};
  return std::string(static_cast<const char*>(item));
}

std::string state_error_reason(const Error& e) {
  // The directory store's messages start with "directory <server>".
  if (e.message.compare(0, 10, "directory ") == 0) {
    if (e.code == Errc::tampered) return "record tampered: " + e.message;
    return std::string("record unusable (") + errc_name(e.code) + "): " + e.message;
  }
  if (e.code == Errc::tampered) return "state file tampered: " + e.message;
  return std::string("state file unusable (") + errc_name(e.code) + "): " + e.message;
}

// The typed answer, or why there is none.
struct Answer {
  SecureBytes text;      // what is checked
  bool too_long = false; // longer than the conversation accepts: refused unseen
};

class Login {
 public:
  Login(pam_handle_t* pamh, int flags) : pamh_(pamh), conv_(pamh, (flags & PAM_SILENT) != 0) {
    ctx_.service = string_item(pamh, PAM_SERVICE);
    ctx_.user = string_item(pamh, PAM_USER);
    ctx_.rhost = string_item(pamh, PAM_RHOST);
  }

  int run(std::span<const std::string_view> args) {
    // A caller that is not root gets the system config only (it is what
    // the helper reads): no file of the caller's choosing.
    if (::geteuid() != 0) {
      for (const std::string_view arg : args) {
        if (arg.substr(0, 7) == "config=") {
          return refuse(LOG_ERR, "config= is refused for a PAM application that does not run as root (uid " +
                                     std::to_string(::getuid()) + "): its helper reads only " +
                                     std::string(kDefaultConfigPath));
        }
      }
    }
    auto loaded = load_settings(std::nullopt, args);
    if (!loaded) return refuse(LOG_ERR, "bad setting: " + loaded.error().message);
    settings_ = std::move(loaded.value());
    ctx_.debug = settings_.debug;

    const char* typed_user = nullptr;
    if (pam_get_user(pamh_, &typed_user, nullptr) != PAM_SUCCESS || typed_user == nullptr || *typed_user == 0) {
      return refuse(LOG_ERR, "no user name");
    }
    ctx_.user = typed_user;
    const bool as_root = ::geteuid() == 0;
    if (!as_root && (settings_.split_code || settings_.kept_code)) {
      return refuse(LOG_ERR, "split_code and kept_code need a PAM application that runs as root");
    }
    if (settings_.split_code) return split_code();
    if (settings_.kept_code && !(kept_ = take_kept_code(pamh_))) {
      return refuse(LOG_ERR, "kept_code: no code was kept: 'pam_totp.so split_code' must come before the password "
                             "module in this stack (see pam_totp(8))");
    }

    // Decide on the account the name resolves to, never on the typed form.
    auto name = record_name();
    if (!name) return refuse(LOG_ERR, name.error().message);
    if (name->empty()) return not_enrolled("user name cannot be enrolled");
    if (*name != ctx_.user) {
      log_event(ctx_, LOG_DEBUG, "canonical user name " + *name);
      ctx_.user = *name;
    }
    user_ = *name;
    // Without root the key and the state are out of reach: the setuid
    // helper judges (screen lockers, pamtester run by a user).
    if (!as_root) return run_through_helper();

    auto store = open_store();
    if (!store) return refuse(LOG_ERR, store.error().message);

    // Read without the lock: nothing is decided on this copy but whether to
    // ask at all.
    auto record = (*store)->load(user_);
    if (!record) return refuse(LOG_ERR, state_error_reason(record.error()));
    if (!record->has_value()) return not_enrolled("not enrolled");
    if ((*record)->enrolment.revoked) return revoked();
    if ((*record)->enrolment.state != EnrolmentState::active) return not_enrolled("enrolment pending");
    const int digits = (*record)->enrolment.otp.digits;
    // A trusted device gets in without a code, locked or not (remember).
    if (trusted_device(**record)) return PAM_SUCCESS;
    if (is_locked((*record)->ledger, std::time(nullptr))) return locked();
    record->reset();  // the secret is not needed any more in this copy

    auto answer = obtain_answer(digits);
    if (!answer) return refuse(LOG_NOTICE, answer.error().message);
    return judge(**store, *answer);
  }

 private:
  // The name the record is kept under: the account the system resolves the
  // typed name to ("Alice", "alice@corp", "CORP\\alice" -> "alice"). A name
  // the system does not know is taken as typed: a record under it is still
  // judged (a directory outage must not turn an enrolment into "not
  // enrolled"). Empty: a name that cannot have a record.
  Result<std::string> record_name() const {
    const ResolvedUser who = resolve_user(ctx_.user);
    if (who.kind == ResolvedUser::Kind::error) return make_error(Errc::io_error, who.reason);
    std::string name = who.kind == ResolvedUser::Kind::account ? who.name : ctx_.user;
    if (!validate_user_name(name)) name.clear();
    return name;
  }

  // The same flow for a PAM application that runs as the user: the helper
  // reads the system config, the key and the state, counts and judges; we
  // ask, prompt and report. Only the PAM line's nullok, debug, prompt and
  // first_pass flags apply here.
  int run_through_helper() {
    auto helper = HelperClient::start(kModuleHelperPath);
    if (!helper) return refuse(LOG_ERR, helper.error().message);
    auto state = helper->login_state(user_);
    if (!state) return refuse(LOG_ERR, state.error().message);
    if (state->revoked) return revoked();
    if (!state->enrolled) return not_enrolled("not enrolled");
    if (state->locked) return locked();
    auto answer = obtain_answer(state->digits);
    if (!answer) return refuse(LOG_NOTICE, answer.error().message);
    // Only printable ASCII of at most kMaxAnswerSize bytes can be a code;
    // anything else is judged (and counted) as malformed without being sent.
    bool sendable = !answer->too_long && answer->text.size() <= kMaxAnswerSize;
    for (std::size_t i = 0; sendable && i < answer->text.size(); ++i) {
      sendable = answer->text[i] >= 0x20 && answer->text[i] < 0x7f;
    }
    auto verdict = helper->login(user_, sendable ? &answer->text : nullptr, ctx_.rhost, ctx_.service);
    if (!verdict) return refuse(LOG_ERR, verdict.error().message);
    log_event(ctx_, LOG_DEBUG, std::string("judged by the helper: ") + decision_name(verdict->decision));
    return conclude(*verdict);
  }

  Result<std::unique_ptr<RecordStore>> open_store() {
    // The factory's errors name the part: "key file unusable: ...",
    // "state directory unusable: ...", "ldap_bind_password_file ...".
    return open_record_store(settings_);
  }

  // split_code: the same prompt for everyone, the code cut off only for an
  // enrolled user, nothing counted, nothing said. PAM_IGNORE: this line
  // judges nothing; kept_code does, once the password module let us by.
  int split_code() {
    const std::string prompt =
        settings_.prompt == kDefaultPrompt ? std::string(kSplitCodePrompt) : settings_.prompt;
    auto typed = conv_.ask_hidden(prompt);
    if (!typed) {
      if (typed.error().code != Errc::too_large) return refuse(LOG_NOTICE, "conversation failed");
      // Too long for a password and a code: the password module gets
      // nothing usable and kept_code an empty code.
      (void)keep_code(pamh_, SecureBytes());
      return PAM_IGNORE;
    }
    const std::optional<int> digits = enrolled_digits();
    std::optional<SplitAnswer> split;
    if (digits) split = split_password_and_code(typed->view(), *digits);
    if (split) {
      if (!hand_on_password(pamh_, split->password)) return refuse(LOG_ERR, "cannot set PAM_AUTHTOK");
      if (!keep_code(pamh_, std::move(split->code))) return refuse(LOG_ERR, "cannot keep the code (pam_set_data)");
    } else {
      // Not enrolled (or no code at the end): all of it is the password;
      // kept_code then judges an empty code or finds no enrolment.
      if (!hand_on_password(pamh_, *typed)) return refuse(LOG_ERR, "cannot set PAM_AUTHTOK");
      if (!keep_code(pamh_, SecureBytes())) return refuse(LOG_ERR, "cannot keep the code (pam_set_data)");
    }
    return PAM_IGNORE;
  }

  // The digit count of the user's active enrolment, for split_code only:
  // any problem (unknown user, no record, an unreadable one) means "do not
  // cut", and kept_code reports it once the password was right.
  std::optional<int> enrolled_digits() {
    auto name = record_name();
    if (!name || name->empty()) return std::nullopt;
    auto store = open_store();
    if (!store) return std::nullopt;
    auto record = (*store)->load(*name);
    if (!record || !record->has_value() || (*record)->enrolment.state != EnrolmentState::active) return std::nullopt;
    return (*record)->enrolment.otp.digits;
  }

  // The answer to check: the kept code (kept_code), PAM_AUTHTOK
  // (use_first_pass, try_first_pass) or one hidden prompt.
  Result<Answer> obtain_answer(int digits) {
    Answer a;
    if (settings_.kept_code) {
      a.text = std::move(*kept_);
      return a;
    }
    if (settings_.use_first_pass || settings_.try_first_pass) {
      if (auto code = code_from_authtok(pamh_, digits)) {
        a.text = std::move(*code);
        return a;
      }
      // use_first_pass: nothing that could be a code is not an attempt at
      // one (a password left by the module before), so it is not counted.
      if (settings_.use_first_pass) {
        return make_error(Errc::not_found, "PAM_AUTHTOK is not a " + std::to_string(digits) +
                                               "-digit code (use_first_pass): refused, not counted");
      }
    }
    auto typed = conv_.ask_hidden(settings_.prompt);
    if (!typed) {
      if (typed.error().code != Errc::too_large) return make_error(Errc::io_error, "conversation failed");
      a.too_long = true;
      return a;
    }
    a.text = std::move(typed.value());
    return a;
  }

  // The locked read-modify-write: counts, decides, records.
  int judge(RecordStore& store, const Answer& answer) {
    LoginVerdict verdict;
    bool logged = false;
    // `now` after the human answered.
    const LoginAttempt attempt = login_attempt(settings_, answer.too_long ? nullptr : &answer.text,
                                               std::time(nullptr), ctx_.rhost, store);
    auto written = store.update_checked(
        user_,
        [&](std::optional<Record>& rec, const RecordStore::OnRecord& on_record) {
          return judge_login(rec, attempt, on_record, verdict);
        },
        [&] {
          // The syslog line goes out while the disk writes the ledger. Only
          // the log: the conversation may wait for a human, so it comes
          // after the lock is released.
          log_verdict(verdict);
          logged = true;
        });
    if (const int retries = store.last_update_retries(); retries > 0) {
      log_event(ctx_, LOG_DEBUG, "record changed by another login meanwhile: decided again " + std::to_string(retries) +
                                     (retries == 1 ? " time" : " times"));
    }
    if (!written) {
      if (logged && is_acceptance(verdict.decision)) {
        return refuse(LOG_ERR, "login not recorded durably, so refused after all: " + state_error_reason(written.error()));
      }
      return refuse(LOG_ERR, state_error_reason(written.error()));
    }
    if (!logged) log_verdict(verdict);
    // Once the verdict is on record; never through the helper (it sends).
    notify_login(settings_, verdict, ctx_);
    if (verdict.decision == Decision::accepted_totp) remember_device(store);
    return conclude(verdict);
  }

  // remember (pam_totp(8) TRUSTED DEVICES): for the prompting flow and
  // use_first_pass / try_first_pass as root, never for kept_code (the code
  // was typed with the password already) nor through the helper (no ssh
  // there). Whether this login comes from a trusted device; `device_` is
  // kept for remember_device.
  bool trusted_device(const Record& record) {
    if (settings_.remember <= 0 || settings_.kept_code) return false;
    device_ = login_device(user_, pam_getenv(pamh_, "SSH_AUTH_INFO_0"), ctx_.rhost);
    if (!device_) {
      log_event(ctx_, LOG_DEBUG, "remember: no SSH public key (ExposeAuthInfo) or no remote address: not a device");
      return false;
    }
    auto trusted = trusted_device_login(record, *device_, std::time(nullptr), settings_.remember);
    if (!trusted) {
      log_event(ctx_, LOG_WARNING, "remember: " + trusted.error().message + "; a code is asked");
      return false;
    }
    if (!trusted->has_value()) return false;
    log_event(ctx_, LOG_INFO, trusted_login_log_line(**trusted));
    return true;
  }

  // After an accepted TOTP code: remember this device. The login stands
  // whatever happens here; a failed write only means it is not remembered.
  void remember_device(RecordStore& store) {
    if (!device_) return;
    TrustedLogin written;
    const std::int64_t now = std::time(nullptr);
    Status st = store.update(user_, [&](std::optional<Record>& rec) {
      written = TrustedLogin{};  // decided again on a fresher record: only the last round counts
      return remember_login_device(rec, *device_, now, settings_.remember, written);
    });
    if (!st) {
      log_event(ctx_, LOG_WARNING, "remember: device not remembered: " + state_error_reason(st.error()));
      return;
    }
    if (!written.id.empty()) {
      log_event(ctx_, LOG_INFO, "remembered device " + written.id + " (key " + written.key + ", until " +
                                    utc_time_text(written.until) + ")");
    }
  }

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

  // Never "not enrolled": nullok does not let a revoked account in.
  int revoked() {
    conv_.error(kRevokedMessage);
    return refuse(LOG_NOTICE, kRevokedLogReason);
  }

  void log_verdict(const LoginVerdict& v) { totp::log_verdict(ctx_, v, settings_.nullok); }

  // The user's side of a verdict (after the lock is released) and the result.
  int conclude(const LoginVerdict& v) {
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
      case Decision::too_early:
        conv_.error(kTooEarlyMessage);
        return PAM_AUTH_ERR;
      case Decision::revoked:
        conv_.error(kRevokedMessage);
        return PAM_AUTH_ERR;
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
  std::optional<SecureBytes> kept_;  // kept_code: the code split_code kept
  std::optional<LoginDevice> device_;  // remember: this login's SSH key and address
};

}  // namespace

int authenticate(pam_handle_t* pamh, int flags, std::span<const std::string_view> args) {
  if (pamh == nullptr) return PAM_AUTH_ERR;
  Login login(pamh, flags);
  return login.run(args);
}

}  // namespace totp::pam
